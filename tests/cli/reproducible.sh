# --reproducible: the same bits at every rank and thread count. A 3-layer ReLU
# net with Nesterov momentum trains 60 steps (crossing an epoch, so an
# evaluation too) at six (ranks, threads) pairs; the parameter checksums, the
# last step's loss and the test loss (full precision, from --metrics) must be
# identical strings. A P = 2 checkpoint resumed at P = 3 must land on the same
# bits. Without the flag, P = 1 and P = 3 differ in the last bits only.
source "$(dirname "$0")/lib.sh"

run=(train --synthetic spirals --samples 3000 --layers 2,64,64,3 --activation relu --loss softmax-ce
     --lr 0.05 --momentum 0.9 --nesterov --batch-size 100 --max-steps 60 --log-every 20)
# checksum, last step loss, test loss of a run in directory $1
fingerprint() {
  local sum loss test
  sum=$("$DMLP" inspect "$1/ckpt/ckpt-000000060.h5" | grep -o 'checksum [0-9a-f]*' | head -1)
  loss=$(grep '"event":"step"' "$1/metrics.jsonl" | tail -1 | grep -o '"loss":[^,]*')
  test=$(grep '"event":"final"' "$1/metrics.jsonl" | grep -o '"test":{[^}]*}')
  echo "$sum $loss $test"
}
train() {  # DIR NP THREADS ARGS...
  local dir=$1 np=$2 threads=$3
  shift 3
  mkdir -p "$dir"
  "$MPIEXEC" -np "$np" "$DMLP" "${run[@]}" --threads "$threads" --checkpoint-dir "$dir/ckpt" --checkpoint-every 25 \
    --metrics "$dir/metrics.jsonl" "$@" > "$dir/log" 2>&1 || { fail "P=$np threads=$threads $*: exit $?"; tail -5 "$dir/log"; }
}

for precision in float double; do
  reference=""
  # one host: the sums over the ranks read from the node's shared memory
  # (the default), and by all-reduce (--reduction allreduce)
  for pt in "1 1" "1 2" "2 1" "3 1" "4 1" "2 2" "2 1 allreduce" "3 1 allreduce"; do
    set -- $pt
    reduction=${3:-node}
    dir="$WORK/$precision-$1-$2${3:+-$3}"
    train "$dir" "$1" "$2" --reproducible --precision "$precision" --reduction "$reduction"
    got=$(fingerprint "$dir")
    [ -z "$reference" ] && reference=$got
    if [ "$got" = "$reference" ] && [[ "$got" == *checksum* ]]; then pass "$precision P=$1 threads=$2 $reduction: $got"
    else fail "$precision P=$1 threads=$2 $reduction: $got, expected $reference"; fi
    if [ "$1" -gt 1 ]; then  # the summary says which way the sums went
      way="from the node's shared memory"
      [ "$reduction" = allreduce ] && way="by all-reduce"
      grep -q "each as soon as its tiles are summed, .*$way\$" "$dir/log" && pass "$precision P=$1 $reduction: summed $way" \
        || fail "$precision P=$1 $reduction: the summary does not say $way: $(grep 'allreduce  exact' "$dir/log")"
    fi
  done
  # a rank holding its micro-shards in several groups a step (each group's
  # tiles added to the sums the last one left): the same bits
  for pt in "1 2 1" "1 1 3" "2 1 1"; do  # groups of 1 and of 3 (4 micro-shards a step at P = 1)
    set -- $pt
    dir="$WORK/$precision-$1-$2-groups-of-$3"
    DMLP_TEST_GROUP_SHARDS=$3 train "$dir" "$1" "$2" --reproducible --precision "$precision"
    got=$(fingerprint "$dir")
    grep -q "held $3 at a time" "$dir/log" || fail "$precision P=$1 in groups of $3: the summary does not say so: $(grep micro "$dir/log")"
    [ "$got" = "$reference" ] && pass "$precision P=$1 threads=$2 in groups of $3 micro-shards: the same bits" \
      || fail "$precision P=$1 threads=$2 in groups of $3: $got, expected $reference"
  done
done
# A layer wide enough for OpenBLAS to use several threads, and batches that
# leave a rank one micro-batch in a round: that micro-batch's GEMMs must still
# run on one BLAS thread (the test for a bug where they did not), and the
# test evaluation must not depend on the threads either.
wide=(train --synthetic blobs --samples 192 --test-samples 200 --layers 784,1024,10 --batch-size 96 --epochs 2
      --log-every 2 --reproducible)
reference=""
for pt in "1 1" "1 2" "3 2" "2 2" "4 1"; do  # at P = 4 one rank holds none of the 3 micro-shards
  set -- $pt
  dir="$WORK/wide-$1-$2"
  mkdir -p "$dir"
  "$MPIEXEC" -np "$1" "$DMLP" "${wide[@]}" --threads "$2" --checkpoint-dir "$dir/ckpt" --metrics "$dir/metrics.jsonl" \
    > "$dir/log" 2>&1 || fail "wide P=$1 threads=$2: exit $?"
  got="$("$DMLP" inspect "$dir/ckpt/ckpt-000000004.h5" | grep -o 'checksum [0-9a-f]*' | head -1) \
$(grep '"event":"final"' "$dir/metrics.jsonl" | grep -o '"test":{[^}]*}')"
  [ -z "$reference" ] && reference=$got
  [ "$got" = "$reference" ] && [[ "$got" == *checksum* ]] && pass "wide P=$1 threads=$2: ${got//$'\n'/ }" \
    || fail "wide P=$1 threads=$2: $got, expected $reference"
done
grep -q "reproducible: yes (micro-batch 32, exact sums)" "$WORK/float-1-1/log" && pass "the summary says reproducible: yes" \
  || fail "summary: $(grep reproducible "$WORK/float-1-1/log")"

# resume at P = 3 from the P = 2 run's step-25 checkpoint: bit for bit the P = 1 run
dir="$WORK/resumed"
train "$dir" 3 1 --reproducible --resume "$WORK/float-2-1/ckpt/ckpt-000000025.h5"
got=$(fingerprint "$dir" | cut -d' ' -f1-2)
expected=$(fingerprint "$WORK/float-1-1" | cut -d' ' -f1-2)
[ "$got" = "$expected" ] && pass "P=2 checkpoint resumed at P=3: $got" || fail "resumed: $got, expected $expected"
grep -q "resuming at another rank count: .* was written by 2 ranks and this run has 3; reproducible (--reproducible, micro-batch 32): bit for bit" "$dir/log" \
  && ! grep -q "match to rounding" "$dir/log" && pass "the resume says: 2 ranks then, 3 now, bit for bit" \
  || fail "resume line: $(grep "rank count\|rounding" "$dir/log")"
# the same with another --weight-decay: the resume line must not promise the bits
dir="$WORK/resumed-changed"
train "$dir" 3 1 --reproducible --resume "$WORK/float-2-1/ckpt/ckpt-000000025.h5" --weight-decay 0.001 --max-steps 26
grep -q "resuming at another rank count: .* was written by 2 ranks and this run has 3: results match to rounding, not bit for bit (settings differ: .*weight_decay" "$dir/log" \
  && ! grep -q "bit for bit as without" "$dir/log" && pass "a resume with another setting does not promise the bits" \
  || fail "resume line with another setting: $(grep "rank count" "$dir/log")"

# without --reproducible: P = 1 and P = 3 differ in the last bits, and agree to 1e-5
train "$WORK/plain-1" 1 1
train "$WORK/plain-3" 3 1
compared=$("$DMLP" inspect "$WORK/plain-1/ckpt/ckpt-000000060.h5" --compare "$WORK/plain-3/ckpt/ckpt-000000060.h5" | grep '^compared')
relative=$(sed -n 's/.*relative to max |parameter| \([0-9.e+-]*\).*/\1/p' <<<"$compared")
if [[ "$compared" != *"bitwise identical"* ]] && awk -v r="$relative" 'BEGIN { exit !(r > 0 && r < 1e-5) }'; then
  pass "plain P=1 vs P=3: not bitwise, relative difference $relative < 1e-5"
else
  fail "plain P=1 vs P=3: $compared"
fi
grep -q "reproducible: no" "$WORK/plain-1/log" && pass "the summary says reproducible: no" || fail "no 'reproducible: no' line"

# gradient accumulation without --reproducible: micro-batches of 8 rows, one
# gradient sum per step; the same training to rounding
train "$WORK/accumulate" 2 1 --micro-batch 8
grep -q "micro      8 rows per micro-batch (--micro-batch), up to 7 per rank per step" "$WORK/accumulate/log" \
  && pass "the summary reports the micro-batches" || fail "summary: $(grep micro "$WORK/accumulate/log")"
compared=$("$DMLP" inspect "$WORK/plain-1/ckpt/ckpt-000000060.h5" --compare "$WORK/accumulate/ckpt/ckpt-000000060.h5" | grep '^compared')
relative=$(sed -n 's/.*relative to max |parameter| \([0-9.e+-]*\).*/\1/p' <<<"$compared")
awk -v r="$relative" 'BEGIN { exit !(r < 1e-5) }' && pass "accumulated over micro-batches: within $relative of the plain run" \
  || fail "accumulated: $compared"

# dmlp eval --reproducible: the same JSON at P = 1, 2, 3, chunks of 37 rows
"$DMLP" synth --kind spirals --rows 1000 --out "$WORK/eval.h5" > /dev/null
"$DMLP" synth --kind blobs --features 784 --classes 10 --rows 500 --out "$WORK/eval-wide.h5" > /dev/null
for data in eval eval-wide; do
  checkpoint="$WORK/float-1-1/ckpt/ckpt-000000060.h5"
  [ "$data" = eval-wide ] && checkpoint="$WORK/wide-1-1/ckpt/ckpt-000000004.h5"
  reference=""
  for pt in "1 1" "2 1" "3 1" "1 2" "2 2"; do
    set -- $pt
    got=$("$MPIEXEC" -np "$1" "$DMLP" eval --checkpoint "$checkpoint" --data "$WORK/$data.h5" \
          --batch-size 37 --threads "$2" --reproducible --json 2>&1 | sed 's/"checkpoint":"[^"]*",//')
    [ -z "$reference" ] && reference=$got
    [ "$got" = "$reference" ] && [[ "$got" == *'"loss"'* ]] && pass "eval --reproducible $data P=$1 threads=$2: ${got:0:60}" \
      || fail "eval --reproducible $data P=$1 threads=$2: $got, expected $reference"
  done
done

# An outlier row of 1e38 (finite) among N(0,1) rows, classified right at
# once, so its deltas are zero: the fixed-point sums' scale must not blow up
# on it (the hostile review's finding: the layer went NaN and the run stopped
# as diverged at step 1). It trains as plain float does, to 1e-5 of double,
# one checksum at P = 1 and 2.
awk 'BEGIN { srand(7); for (i = 0; i < 128; i++) {
  if (i == 5) { print "1e38,0,0,0,2"; continue }
  x1 = rand() - 0.5; x2 = rand() - 0.5; x3 = rand() - 0.5; x4 = rand() - 0.5
  printf "%.6f,%.6f,%.6f,%.6f,%d\n", x1, x2, x3, x4, (x2 + x3 > 0.2 ? 0 : (x4 > 0 ? 1 : 2)) } }' > "$WORK/outlier.csv"
"$DMLP" convert csv --in "$WORK/outlier.csv" --out "$WORK/outlier.h5" --num-classes 3 > /dev/null || fail "convert outlier.csv"
outlier=(train --train "$WORK/outlier.h5" --test-samples 0 --layers 4,3 --batch-size 128 --max-steps 5 --lr 0.1
         --checkpoint-every 5)
"$DMLP" "${outlier[@]}" --precision double --checkpoint-dir "$WORK/outlier-double" > "$WORK/outlier-double.log" 2>&1 \
  || fail "outlier, double: exit $?"
for np in 1 2; do
  "$MPIEXEC" -np "$np" "$DMLP" "${outlier[@]}" --reproducible --checkpoint-dir "$WORK/outlier-$np" > "$WORK/outlier-$np.log" 2>&1 \
    || { fail "outlier, --reproducible P=$np: exit $?"; grep -i "error\|diverged" "$WORK/outlier-$np.log"; }
done
sums=$(for np in 1 2; do "$DMLP" inspect "$WORK/outlier-$np/ckpt-000000005.h5" | grep -o 'checksum [0-9a-f]*' | head -1; done | sort -u)
compared=$("$DMLP" inspect "$WORK/outlier-double/ckpt-000000005.h5" --compare "$WORK/outlier-1/ckpt-000000005.h5" | grep '^compared')
relative=$(sed -n 's/.*relative to max |parameter| \([0-9.e+-]*\).*/\1/p' <<<"$compared")
[ "$(wc -l <<<"$sums")" -eq 1 ] && [[ "$sums" == checksum* ]] && awk -v r="$relative" 'BEGIN { exit !(r < 1e-5) }' \
  && pass "an outlier row of 1e38: trains, one checksum at P = 1 and 2, within $relative of double" \
  || fail "outlier row: checksums $sums, against double: $compared"

# bad values
expect_exit 2 "--reproducible needs --micro-batch of at least 1" -- "$DMLP" "${run[@]}" --reproducible --micro-batch 0
expect_exit 2 "--micro-batch -3 must be positive" -- "$DMLP" "${run[@]}" --micro-batch -3
expect_exit 2 "--micro-batch 4294967296 is too large" -- "$DMLP" "${run[@]}" --micro-batch 4294967296
finish
