#!/usr/bin/env bash
# What --reproducible costs, and what gradient accumulation costs, on the
# 784-1024-1024-10 MLP at global batch 256.
#
#   bash bench/reproducible_cost.sh [BUILD_DIR]      (default: build)
#
# For 1 rank x 1 thread, 1 x 2 and 2 x 1 (and 2 x 1 with --reduction
# allreduce, whose exact sums go by all-reduce rather than through the
# node's shared memory): samples/s plain, with
# --micro-batch 32 (accumulation), and with --reproducible at micro-batches of
# 32 (the default), 64 and 128; and the reproducible runs' parameter checksum,
# which must be one value per micro-batch across the configurations.
# Each figure is the median over the logged intervals of a 60-step run,
# skipping the first 10 steps. Then the cost of --reproducible against plain,
# per configuration and m, and the BLAS kernels that ran. REPEATS=N (default
# 1) runs N rounds of every cell and reports medians. Run it with the CPU's
# own BLAS kernels:
#   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE REPEATS=3 bash bench/reproducible_cost.sh
source "$(dirname "$0")/lib.sh" "${1:-build}"

# run NAME RANKS THREADS [extra dmlp options]: prints "samples/s checksum"
run() {
  local name=$1 ranks=$2 threads=$3
  shift 3
  bench_train "$name" "$ranks" "$threads" --samples 15360 --batch-size 256 --max-steps 60 --log-every 5 \
    --checkpoint-dir "$work/$name" --checkpoint-every 60 "$@"
  local sum rate
  sum=$("$dmlp" inspect "$work/$name/ckpt-000000060.h5" | grep -o 'checksum [0-9a-f]*' | head -1 | cut -c10-17)
  read -r rate _ < <(step_medians "$name" 10)
  echo "$rate $sum"
}

configs=("1 1" "1 2" "2 1" "2 1 allreduce")
extras=("" "--micro-batch 32" "--reproducible" "--reproducible --micro-batch 64" "--reproducible --micro-batch 128")
# Every cell runs once a round, rounds of all cells in turn, so that a machine
# whose speed drifts (a shared VM) moves all of a round alike: a cost is
# taken within its round, then the median over the rounds.
repeats=${REPEATS:-1}
declare -A rates sums
for round in $(seq "$repeats"); do
  for config in "${configs[@]}"; do
    set -- $config
    key="$1x$2${3:+-$3}"
    for i in "${!extras[@]}"; do
      # shellcheck disable=SC2086
      read -r rate sum < <(run "r$1$2${3:-}_${i}_$round" "$1" "$2" ${extras[$i]} --reduction "${3:-node}")
      rates[$key,$i]+="$rate "
      sums[$key,$i]+="$sum "
    done
  done
done
median() { tr ' ' '\n' <<< "$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-22s' "ranks x threads"
columns=("plain" "--micro-batch 32" "--reproducible m=32" "--reproducible m=64" "--reproducible m=128")
for c in "${columns[@]}"; do printf '%24s' "$c"; done
echo
for config in "${configs[@]}"; do
  set -- $config
  key="$1x$2${3:+-$3}"
  printf '%-22s' "$1 x $2${3:+ $3}"
  for i in "${!extras[@]}"; do
    rate=$(median "${rates[$key,$i]}")
    distinct=$(tr ' ' '\n' <<< "${sums[$key,$i]}" | grep . | sort -u | tr '\n' ' ' | sed 's/ $//')
    if [[ "${extras[$i]}" == *reproducible* ]]; then printf '%24s' "$rate ($distinct)"; else printf '%24s' "$rate"; fi
  done
  echo
done
echo "samples/s, the median of $repeats round(s) (parameter checksum after 60 steps, the same per micro-batch at every ranks x threads)"
echo
echo "cost against plain (1 - samples/s / plain's, within each round; the median, then the lowest and highest):"
echo "accumulated m = 32, then --reproducible m = 32, 64, 128"
for config in "${configs[@]}"; do
  set -- $config
  key="$1x$2${3:+-$3}"
  printf '%-22s' "$1 x $2${3:+ $3}"
  for i in 1 2 3 4; do
    costs=$(paste -d' ' <(tr ' ' '\n' <<< "${rates[$key,$i]}" | grep .) <(tr ' ' '\n' <<< "${rates[$key,0]}" | grep .) |
      awk '{ printf "%d\n", 100 * (1 - $1 / $2) + 0.5 }' | sort -n)
    mid=$(median "$(tr '\n' ' ' <<< "$costs")")
    if ((repeats > 1)); then printf '%24s' "$mid% ($(head -1 <<< "$costs")..$(tail -1 <<< "$costs"))"; else printf '%24s' "$mid%"; fi
  done
  echo
done
grep -h "^  blas" "$work/r12_2_1.out" | sed 's/^  blas */kernels: /'
