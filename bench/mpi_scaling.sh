#!/usr/bin/env bash
# Data-parallel throughput of the 784-1024-1024-10 MLP at global batch 256.
#
#   bash bench/mpi_scaling.sh [BUILD_DIR]      (default: build)
#
# Prints samples/s at 1 rank x 1 thread, 1 x 2 and 2 x 1; the share of step
# time spent waiting on the gradient all-reduce, overlapped and not; weak
# scaling at 128 samples per rank on 1 and 2 ranks; and 2 x 1 against the
# GEMM-only bound of bench/dmlp_bench_step (B = 128, 2 threads).
# Each figure is the median over the logged intervals of a 120-step run,
# skipping the first 20 steps. Runs `dmlp train` itself, as a user would.
source "$(dirname "$0")/lib.sh" "${1:-build}"

# run NAME RANKS THREADS BATCH [extra dmlp options]: prints "samples/s wait-fraction"
run() {
  local name=$1 ranks=$2 threads=$3 batch=$4
  shift 4
  bench_train "$name" "$ranks" "$threads" --samples 30720 --batch-size "$batch" --max-steps 120 --log-every 10 "$@"
  step_medians "$name" 20
}

printf '%-34s %12s %16s\n' "configuration (global batch 256)" "samples/s" "allreduce wait"
read -r r11 _ < <(run r11 1 1 256);                 printf '%-34s %12s %16s\n' "1 rank  x 1 thread" "$r11" "-"
read -r r12 _ < <(run r12 1 2 256);                 printf '%-34s %12s %16s\n' "1 rank  x 2 threads" "$r12" "-"
read -r r21 w21 < <(run r21 2 1 256);               printf '%-34s %12s %15.1f%%\n' "2 ranks x 1 thread, overlapped" "$r21" "$(calc "$w21*100")"
read -r r21w w21w < <(run r21w 2 1 256 --no-early-update); printf '%-34s %12s %15.1f%%\n' "  the same, --no-early-update" "$r21w" "$(calc "$w21w*100")"
read -r r21s w21s < <(run r21s 2 1 256 --progress-slices 4); printf '%-34s %12s %15.1f%%\n' "  the same, --progress-slices 4" "$r21s" "$(calc "$w21s*100")"
read -r r21b w21b < <(run r21b 2 1 256 --no-overlap); printf '%-34s %12s %15.1f%%\n' "2 ranks x 1 thread, --no-overlap" "$r21b" "$(calc "$w21b*100")"
echo
echo "weak scaling, 128 samples per rank"
read -r w1 _ < <(run w1 1 1 128)
read -r w2 _ < <(run w2 2 1 256)
printf '  1 rank : %6s samples/s\n  2 ranks: %6s samples/s, efficiency %.0f%%\n' "$w1" "$w2" "$(calc "100*$w2/(2*$w1)")"
printf 'data parallelism: 2 x 1 at B = 256 against twice 1 x 1 at B = 128 (the per-rank share): %.1f%%; --no-early-update %.1f%%\n' \
  "$(calc "100*$r21/(2*$w1)")" "$(calc "100*$r21w/(2*$w1)")"
echo
bound=$("$build/bench/dmlp_bench_step" --batches 128 --threads 2 --seconds 3 | awk '$1 == 128 {print $7}')
printf 'GEMM-only bound (B = 128, 2 threads): %s samples/s; 2 x 1 overlapped reaches %.1f%% of it\n' \
  "$bound" "$(calc "100*$r21/$bound")"
