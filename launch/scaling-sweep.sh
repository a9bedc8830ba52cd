#!/usr/bin/env bash
# Strong and weak scaling of data-parallel training over 1..N ranks, on
# synthetic data so that no files are needed. Writes OUT/scaling.csv (one row
# per run: ranks, batches, samples/s, speed-up, efficiency, per-phase seconds
# per step as max and mean over ranks, gradient bytes, buckets, versions,
# hosts, BLAS kernel), OUT/scaling.png (with python3-matplotlib), the runs'
# --metrics files under OUT/metrics/, and prints a table.
#
#   bash launch/scaling-sweep.sh [MAX_RANKS] [THREADS_PER_RANK]
#   OUT=results LAYERS=784,1024,1024,10 BATCH=256 PER_RANK=128 STEPS=100 bash launch/scaling-sweep.sh 16
#   LAUNCH="mpirun --hostfile hosts -np" bash launch/scaling-sweep.sh 64     # several nodes
#   LAUNCH="srun -n" bash launch/scaling-sweep.sh 64                         # inside a Slurm allocation
#   PLOT=yes|no|auto (default auto: the figure when matplotlib is there); EXTRA="--reproducible" adds options
#
# Rank counts: 1, 2, 3, 4, then doubling up to MAX_RANKS.
set -euo pipefail
max=${1:-$(nproc)}
threads=${2:-1}
for value in "$max" "$threads" "${BATCH:-1}" "${PER_RANK:-1}" "${STEPS:-1}"; do
  [[ "$value" =~ ^[1-9][0-9]{0,5}$ ]] || { echo "scaling-sweep: '$value' is not a positive count (MAX_RANKS, THREADS, BATCH, PER_RANK, STEPS)" >&2; exit 2; }
done
# OUT and DMLP are the caller's paths; the rest is the repository's
out=$(realpath -m "${OUT:-scaling-results}")
dmlp=$(realpath -m "${DMLP:-$(dirname "$0")/../build/dmlp}")
cd "$(dirname "$0")/.."

layers=${LAYERS:-784,1024,1024,10}
batch=${BATCH:-256}        # strong scaling: this global batch at every rank count
per_rank=${PER_RANK:-128}  # weak scaling: this many samples per rank
steps=${STEPS:-100}
launch=${LAUNCH:-mpirun --oversubscribe --bind-to none -np}
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$out/metrics"
rm -f "$out"/metrics/strong-*.jsonl "$out"/metrics/weak-*.jsonl "$out/scaling.csv" "$out/scaling.png"

# run MODE RANKS GLOBAL_BATCH
run() {
  local log=$out/metrics/$1-$2.log
  # shellcheck disable=SC2086
  if ! $launch "$2" "$dmlp" train --synthetic blobs --layers "$layers" --samples $(( $3 * 40 )) --test-samples 0 \
      --batch-size "$3" --max-steps "$steps" --log-every $(( steps / 10 > 0 ? steps / 10 : 1 )) --threads "$threads" \
      --metrics "$out/metrics/$1-$2.jsonl" ${EXTRA:-} > "$log" 2>&1; then
    echo "scaling-sweep: the $1 run at $2 ranks failed; its output:" >&2
    tail -20 "$log" >&2
    exit 1
  fi
}

for ((p = 1; p <= max; p = p < 4 ? p + 1 : p * 2)); do
  echo "ranks $p: strong (global batch $batch), weak ($per_rank per rank)"
  run strong "$p" "$batch"
  run weak "$p" $(( per_rank * p ))
done
# Debian's matplotlib belongs to /usr/bin/python3, which a python3 earlier in
# PATH (pyenv, a module, a venv) may not see.
python=${PYTHON:-python3}
if ! "$python" -c "import matplotlib" 2>/dev/null && /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  python=/usr/bin/python3
fi
"$python" launch/scaling-report.py "$out" --plot "${PLOT:-auto}"
