#!/usr/bin/env bash
# Strong and weak scaling of data-parallel training over 1..N ranks on one
# node (or a Slurm allocation: LAUNCH="srun -n"), on synthetic data so that no
# files are needed. Prints one row per rank count:
#   ranks  strong: samples/s, speed-up, efficiency | weak: samples/s, efficiency | allreduce wait
#
#   bash launch/scaling-sweep.sh [MAX_RANKS] [THREADS_PER_RANK]
#   LAYERS=784,1024,1024,10 BATCH=256 PER_RANK=128 STEPS=100 bash launch/scaling-sweep.sh 16
set -euo pipefail
calc() { awk "BEGIN { print $1 }"; }
cd "$(dirname "$0")/.."
max=${1:-$(nproc)}
threads=${2:-1}
layers=${LAYERS:-784,1024,1024,10}
batch=${BATCH:-256}        # strong scaling: this global batch at every rank count
per_rank=${PER_RANK:-128}  # weak scaling: this many samples per rank
steps=${STEPS:-100}
launch=${LAUNCH:-mpirun --oversubscribe --bind-to none -np}
dmlp=${DMLP:-build/dmlp}
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# measure RANKS GLOBAL_BATCH -> "samples/s allreduce-wait-fraction" (medians after 20 warm-up steps)
measure() {
  $launch "$1" "$dmlp" train --synthetic blobs --layers "$layers" --samples $(( $2 * 40 )) --test-samples 0 \
    --batch-size "$2" --max-steps "$steps" --log-every 10 --threads "$threads" --metrics "$work/m.jsonl" > /dev/null
  python3 - "$work/m.jsonl" <<'PY'
import json, statistics, sys
steps = [r for r in map(json.loads, open(sys.argv[1])) if r["event"] == "step" and r["step"] > 20]
m = [r["phase_seconds"]["mean"] for r in steps]
print(f'{statistics.median(r["samples_per_s"] for r in steps):.0f} '
      f'{statistics.median(x["allreduce_wait"] / sum(x.values()) for x in m):.3f}')
PY
  rm -f "$work/m.jsonl"
}

printf '%5s | %10s %8s %6s | %10s %6s | %s\n' ranks "strong s/s" speed-up eff "weak s/s" eff "wait"
base_strong='' base_weak=''
for ((p = 1; p <= max; p = p < 4 ? p + 1 : p * 2)); do
  read -r strong wait < <(measure "$p" "$batch")
  read -r weak _ < <(measure "$p" $(( per_rank * p )))
  base_strong=${base_strong:-$strong}
  base_weak=${base_weak:-$weak}
  printf '%5d | %10s %8.2f %5.0f%% | %10s %5.0f%% | %5.1f%%\n' "$p" "$strong" \
    "$(calc "$strong/$base_strong")" "$(calc "100*$strong/($base_strong*$p)")" \
    "$weak" "$(calc "100*$weak/($base_weak*$p)")" "$(calc "100*$wait")"
done
