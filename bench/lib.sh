# The benchmark scripts' shared set-up: source it with the build directory,
#   source "$(dirname "$0")/lib.sh" "${1:-build}"
# It gives $build, $dmlp, a temporary $work (removed at exit), calc, and
# bench_train / step_medians for runs of `dmlp train` as a user starts them.
set -euo pipefail
build=${1:-build}
dmlp=$build/dmlp
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

calc() { awk "BEGIN { print $1 }"; }

# bench_train NAME RANKS THREADS [dmlp train options]: the 784-1024-1024-10
# MLP with momentum on synthetic blobs, each rank bound to THREADS cores;
# metrics in $work/NAME.jsonl, the output in $work/NAME.out.
bench_train() {
  local name=$1 ranks=$2 threads=$3
  shift 3
  mpirun -np "$ranks" --map-by "slot:PE=$threads" --bind-to core "$dmlp" train --synthetic blobs \
    --layers 784,1024,1024,10 --test-samples 0 --threads "$threads" --momentum 0.9 \
    --metrics "$work/$name.jsonl" "$@" > "$work/$name.out"
}

# step_medians NAME SKIP: "samples/s allreduce-wait-fraction", the medians over
# the logged intervals of NAME's run after step SKIP.
step_medians() {
  python3 - "$work/$1.jsonl" "$2" <<'PY'
import json, statistics, sys
steps = [r for r in map(json.loads, open(sys.argv[1])) if r["event"] == "step" and r["step"] > int(sys.argv[2])]
rate = statistics.median(r["samples_per_s"] for r in steps)
mean = [r["phase_seconds"]["mean"] for r in steps]
wait = statistics.median(m["allreduce_wait"] / sum(m.values()) for m in mean)
print(f"{rate:.0f} {wait:.3f}")
PY
}
