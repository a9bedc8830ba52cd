#!/usr/bin/env bash
# What the node path (--reduction node) buys over the plain all-reduce, on the
# two cores of one node: samples/s of 1 rank x 2 threads against 2 ranks x 1
# thread on each path, with the per-step phases (ms, medians over the logged
# intervals, of the median of REPEATS rounds, default 3), for two jobs:
#   main   README's main job: Fashion-MNIST, 784-512-256-10, B = 128, SGD Nesterov
#   wide   784-1024-1024-10, B = 256, momentum 0.9, synthetic blobs
#
#   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE bash bench/node_reduction.sh [BUILD_DIR]
#
# Run it with the CPU's own BLAS kernels, as above; the kernels the runs used
# are printed first. Fashion-MNIST is converted into BUILD_DIR/data if missing
# (bash launch/setup.sh --data installs it).
source "$(dirname "$0")/lib.sh" "${1:-build}"
data=$build/data/fashion-mnist
[ -f "$data/train.h5" ] || bash "$(dirname "$0")/../datasets/fashion-mnist.sh" "$data" "$dmlp" > /dev/null

# phases NAME SKIP: "samples/s forward backward reduction wait update" (ms),
# medians after step SKIP
phases() {
  python3 - "$work/$1.jsonl" "$2" <<'PY'
import json, statistics, sys
steps = [r for r in map(json.loads, open(sys.argv[1])) if r["event"] == "step" and r["step"] > int(sys.argv[2])]
med = lambda f: statistics.median(f(r) for r in steps)
ms = lambda key: med(lambda r: 1e3 * r["phase_seconds"]["mean"][key])
print(f'{med(lambda r: r["samples_per_s"]):.0f} {ms("forward"):.2f} {ms("backward"):.2f} {ms("reduction"):.2f} '
      f'{ms("allreduce_wait"):.2f} {ms("update"):.2f}')
PY
}

main_job() {
  local name=$1 ranks=$2 threads=$3
  shift 3
  mpirun -np "$ranks" --map-by "slot:PE=$threads" --bind-to core "$dmlp" train \
    --train "$data/train.h5" --test "$data/test.h5" --layers 784,512,256,10 --activation relu --loss softmax-ce \
    --epochs 3 --batch-size 128 --lr 0.05 --momentum 0.9 --nesterov --lr-schedule cosine --weight-decay 5e-4 \
    --seed 1 --threads "$threads" --log-every 50 --metrics "$work/$name.jsonl" "$@" > "$work/$name.out"
}

wide_job() {
  local name=$1 ranks=$2 threads=$3
  shift 3
  bench_train "$name" "$ranks" "$threads" --samples 30720 --batch-size 256 --max-steps 240 --log-every 20 "$@"
}

main_job kernels 1 1 --max-steps 1
grep -o 'blas .*' "$work/kernels.out" | head -1

# The layouts run in turn, $repeats rounds of them, so that a machine whose
# speed drifts (a shared host) slows them alike; each layout's figures are
# those of its median round by samples/s.
repeats=${REPEATS:-3}
configs=("1 2 node" "2 1 allreduce" "2 1 node")
for job in main wide; do
  for round in $(seq "$repeats"); do
    for config in "${configs[@]}"; do
      set -- $config
      "${job}_job" "$job$1$2$3-$round" "$1" "$2" --reduction "$3"
      phases "$job$1$2$3-$round" 50 >> "$work/$job$1$2$3.rounds"
    done
  done
  echo
  echo "$job: samples/s, and per step: forward, backward, reduction (the node's slice sums), all-reduce wait,"
  echo "update (ms); the median of $repeats rounds"
  echo "vs 1x2: the median over the rounds of each round's ratio to that round's 1 x 2, then the lowest and highest"
  printf '%-28s %10s %8s %9s %9s %8s %8s  %s\n' layout samples/s forward backward reduction wait update "vs 1x2 (range)"
  base=$work/$job${configs[0]// /}.rounds
  for config in "${configs[@]}"; do
    set -- $config
    read -r rate fwd bwd red wait upd < <(sort -n "$work/$job$1$2$3.rounds" | sed -n "$(( (repeats + 1) / 2 ))p")
    label="$1 x $2"
    [ "$1" -gt 1 ] && label="$label --reduction $3"
    # rounds ran the layouts in turn: a ratio within a round is the least drifted
    ratios=$(paste -d' ' "$work/$job$1$2$3.rounds" "$base" | awk '{ printf "%.3f\n", $1 / $7 }' | sort -n)
    printf '%-28s %10s %8s %9s %9s %8s %8s  %s (%s-%s)\n' "$label" "$rate" "$fwd" "$bwd" "$red" "$wait" "$upd" \
      "$(sed -n "$(( (repeats + 1) / 2 ))p" <<< "$ratios")" "$(head -1 <<< "$ratios")" "$(tail -1 <<< "$ratios")"
  done
done
