# Checkpoints: bitwise resume at the same P, resume at another P within the
# equivalence tolerance, fallback past damaged checkpoints, --init, stopping on
# a signal, and the eval / predict / inspect commands.
source "$(dirname "$0")/lib.sh"
MAKE_FILES=$3
"$MAKE_FILES" "$WORK" > /dev/null
"$DMLP" synth --kind blobs --rows 1200 --features 10 --classes 4 --seed 3 --out "$WORK/train.h5" \
  --test-rows 300 --test-out "$WORK/test.h5" > /dev/null
common=(--train "$WORK/train.h5" --test "$WORK/test.h5" --layers 10,16,4 --batch-size 32 --momentum 0.9
        --lr-schedule cosine --max-steps 100 --log-every 1000)
run() { local np=$1; shift; timeout 120 "$MPIEXEC" -np "$np" "$DMLP" train "${common[@]}" "$@"; }
relative() { sed -n 's/.*relative to max |parameter| \([0-9.e+-]*\).*/\1/p'; }

run 2 --checkpoint-dir "$WORK/a" --checkpoint-every 50 > "$WORK/a.out" 2>&1 && pass "100 steps, checkpoints at 50 and 100" || fail "first run"
[ -f "$WORK/a/ckpt-000000050.h5" ] && [ -f "$WORK/a/ckpt-000000100.h5" ] && pass "both files there" || fail "checkpoints missing"
ls -a "$WORK/a" | grep -q tmp && fail "a temporary file was left behind" || pass "no temporary files left"

run 2 --checkpoint-dir "$WORK/b" --resume "$WORK/a/ckpt-000000050.h5" > "$WORK/b.out" 2>&1
expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/a/ckpt-000000100.h5" --compare "$WORK/b/ckpt-000000100.h5"
# files that differ: exit 1, so that scripts can tell
expect_exit 1 "different; max \|difference\|" -- "$DMLP" inspect "$WORK/a/ckpt-000000100.h5" --compare "$WORK/a/ckpt-000000050.h5"
expect_exit 1 "different" -- timeout 60 "$MPIEXEC" -np 2 "$DMLP" inspect "$WORK/a/ckpt-000000100.h5" \
  --compare "$WORK/a/ckpt-000000050.h5"

for np in 1 3; do
  out=$(run $np --checkpoint-dir "$WORK/p$np" --resume "$WORK/a/ckpt-000000050.h5" 2>&1)
  grep -q "written by 2 ranks and this run has $np" <<<"$out" && pass "P=$np: warned about the rank count" || fail "P=$np: no warning"
  rel=$("$DMLP" inspect "$WORK/a/ckpt-000000100.h5" --compare "$WORK/p$np/ckpt-000000100.h5" | relative)
  python3 -c "import sys; sys.exit(0 if float('$rel') <= 1e-5 else 1)" && pass "P=$np resume within 1e-5 ($rel)" \
    || fail "P=$np resume differs by $rel"
done

# Settings that define the data order may not change on resume (the saved
# position would index another order); others, such as --lr, may, with a warning.
mid=(--resume "$WORK/a/ckpt-000000050.h5")
expect_exit 2 "cannot resume from .*ckpt-000000050.h5: its position \(epoch [0-9]+, step [0-9]+ of it\).*--batch-size \(/training/global_batch: 32 in the checkpoint, 64 now\).*--init" -- \
  run 2 "${mid[@]}" --batch-size 64
expect_exit 2 "differ: --seed \(/training/seed: 1 in the checkpoint, 7 now\)" -- run 1 "${mid[@]}" --seed 7
expect_exit 2 "cannot resume from .*ckpt-000000050.h5: --train .*test.h5 is not the data it trained on \(rows 1200, now 300\)" -- \
  run 2 "${mid[@]}" --train "$WORK/test.h5"
expect_exit 2 "differ: --drop-last" -- run 1 "${mid[@]}" --drop-last
# the same file under another spelling is the same data
expect_exit 0 "finished" -- bash -c "cd '$WORK' && timeout 60 '$MPIEXEC' -np 2 '$(readlink -f "$DMLP")' train --train ./train.h5 \
  --test '$WORK/test.h5' --layers 10,16,4 --batch-size 32 --momentum 0.9 --lr-schedule cosine --max-steps 100 \
  --log-every 1000 --resume '$WORK/a/ckpt-000000050.h5'"
expect_exit 0 "warning: settings differ from the checkpoint's: /optimizer/lr_weights" -- \
  run 2 "${mid[@]}" --lr 0.02 --lr-bias 0.05 --checkpoint-dir "$WORK/lr"

# Each optimizer's whole state is in the checkpoint: resuming continues bit for bit,
# and resuming with another optimizer is refused.
opt_common=(--train "$WORK/train.h5" --test "$WORK/test.h5" --layers 10,16,4 --batch-size 32 --max-steps 60
            --log-every 1000 --weight-decay 0.01 --warmup-steps 10 --lr-schedule cosine --lr-scaling sqrt
            --lr-reference-batch 16)
declare -A opt_args=([adamw]="--lr 0.01 --lr-bias 0.005" [lars]="--lr 5 --lr-bias 0.05 --trust-coefficient 0.002"
                     [lamb]="--lr 0.02 --lr-bias 0.01 --beta2 0.99")
declare -A opt_state=([adamw]="exp_avg, exp_avg_sq" [lars]="velocity" [lamb]="exp_avg, exp_avg_sq")
for opt in adamw lars lamb; do
  # shellcheck disable=SC2086
  orun() { timeout 120 "$MPIEXEC" -np 2 "$DMLP" train "${opt_common[@]}" --optimizer $opt ${opt_args[$opt]} "$@"; }
  orun --checkpoint-dir "$WORK/$opt-a" --checkpoint-every 30 > "$WORK/$opt-a.out" 2>&1 || fail "$opt: first run"
  orun --checkpoint-dir "$WORK/$opt-b" --resume "$WORK/$opt-a/ckpt-000000030.h5" > "$WORK/$opt-b.out" 2>&1 || fail "$opt: resume"
  expect_exit 0 "optimizer   $opt, update count 60; state ${opt_state[$opt]}, checksums verified.*bitwise identical" --     "$DMLP" inspect "$WORK/$opt-a/ckpt-000000060.h5" --compare "$WORK/$opt-b/ckpt-000000060.h5"
done
# The node path at three ranks (one node's shared model, each rank holding a
# third of LAMB's state and its norm blocks): its checkpoint holds the whole
# state, resumes bit for bit on the node path and within rounding on the plain
# one, and a plain path's checkpoint resumes on the node path within rounding.
nrun() { timeout 120 "$MPIEXEC" -np 3 "$DMLP" train "${opt_common[@]}" --optimizer lamb ${opt_args[lamb]} "$@"; }
nrun --checkpoint-dir "$WORK/node-a" --checkpoint-every 30 > "$WORK/node-a.out" 2>&1 || fail "node: first run"
grep -q "reduction  node: 3 ranks per node" "$WORK/node-a.out" && pass "node: the node path ran" \
  || fail "node: $(grep reduction "$WORK/node-a.out")"
nrun --checkpoint-dir "$WORK/node-b" --resume "$WORK/node-a/ckpt-000000030.h5" > /dev/null 2>&1 || fail "node: resume"
expect_exit 0 "state exp_avg, exp_avg_sq, checksums verified.*bitwise identical" -- \
  "$DMLP" inspect "$WORK/node-a/ckpt-000000060.h5" --compare "$WORK/node-b/ckpt-000000060.h5"
nrun --checkpoint-dir "$WORK/node-plain" --resume "$WORK/node-a/ckpt-000000030.h5" --reduction allreduce > /dev/null 2>&1 \
  || fail "node: resume on the plain path"
nrun --checkpoint-dir "$WORK/plain-a" --checkpoint-every 30 --reduction allreduce > /dev/null 2>&1 || fail "plain: first run"
nrun --checkpoint-dir "$WORK/plain-node" --resume "$WORK/plain-a/ckpt-000000030.h5" > /dev/null 2>&1 \
  || fail "plain: resume on the node path"
for pair in "node-a node-plain" "plain-a plain-node" "node-a plain-a"; do
  set -- $pair
  compared=$("$DMLP" inspect "$WORK/$1/ckpt-000000060.h5" --compare "$WORK/$2/ckpt-000000060.h5")
  grep -q "bitwise identical" <<<"$compared" && rel=0 || rel=$(relative <<<"$compared")
  python3 -c "import sys; sys.exit(0 if float('${rel:-1}') <= 1e-5 else 1)" && pass "$1 against $2 within 1e-5 ($rel)" \
    || fail "$1 against $2 differ by '$rel'"
done
expect_exit 2 "cannot resume from .*ckpt-000000030.h5: it was trained with --optimizer adamw and this run asks for --optimizer lamb.*--init" -- \
  timeout 60 "$MPIEXEC" -np 2 "$DMLP" train "${opt_common[@]}" --optimizer lamb --resume "$WORK/adamw-a/ckpt-000000030.h5"
expect_exit 2 "it was trained with --optimizer sgd and this run asks for --optimizer lars" -- run 1 "${mid[@]}" --optimizer lars
expect_exit 0 "optimizer  LAMB lr 0.0282843 \(bias 0.0141421\), betas 0.9/0.99, eps 1e-08, weight decay 0.01, cosine schedule after 10 warm-up steps; lr scaled sqrt for batch 32 against 16: x1.41421 of --lr 0.02 \(bias 0.01\)" -- \
  grep "optimizer " "$WORK/lamb-a.out"

# Damaged checkpoints: --resume DIR falls back to the newest good one, naming the bad ones.
cp -r "$WORK/a" "$WORK/d"
head -c 3000 "$WORK/a/ckpt-000000100.h5" > "$WORK/d/ckpt-000000100.h5"
cp "$WORK/a/ckpt-000000050.h5" "$WORK/d/ckpt-000000075.h5"
offset=$(h5dump -p -H -d /parameters/layer1/W "$WORK/d/ckpt-000000075.h5" | sed -n 's/.*OFFSET \([0-9]*\).*/\1/p')
printf '\x7f\x7f\x7f\x7f' | dd of="$WORK/d/ckpt-000000075.h5" bs=1 seek="$((offset + 40))" conv=notrunc status=none
expect_exit 2 "ckpt-000000075.h5: parameter checksum mismatch .*the file is damaged" -- "$DMLP" inspect "$WORK/d/ckpt-000000075.h5"
expect_exit 2 "ckpt-000000100.h5: .*" -- "$DMLP" inspect "$WORK/d/ckpt-000000100.h5"
out=$(run 2 --checkpoint-dir "$WORK/d" --resume "$WORK/d" 2>&1)
grep -q "warning: skipping checkpoint .*ckpt-000000100.h5" <<<"$out" && pass "named the truncated checkpoint" || fail "no warning for the truncated one"
grep -q "warning: skipping checkpoint .*ckpt-000000075.h5: parameter checksum mismatch" <<<"$out" && pass "named the altered checkpoint" || fail "no warning for the altered one"
grep -q "resuming from .*ckpt-000000050.h5 at step 50" <<<"$out" && pass "fell back to step 50" || fail "did not fall back"
grep -q "2 checkpoints .* renamed to \*.superseded" <<<"$out" && [ -f "$WORK/d/ckpt-000000075.h5.superseded" ] \
  && pass "set the later, damaged checkpoints aside" || fail "later checkpoints not set aside"
expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/a/ckpt-000000100.h5" --compare "$WORK/d/ckpt-000000100.h5"
expect_exit 2 "ckpt-000000075.h5.superseded: parameter checksum mismatch" -- run 2 --resume "$WORK/d/ckpt-000000075.h5.superseded"
expect_exit 2 "nothing-here: no such checkpoint" -- run 2 --resume "$WORK/b/nothing-here"
mkdir -p "$WORK/empty"
expect_exit 2 "no checkpoints \(ckpt-\*.h5\)" -- run 2 --resume "$WORK/empty"
expect_exit 2 "holds the model 10-16-4.* but the options describe 10-32-4" -- \
  timeout 60 "$MPIEXEC" -np 2 "$DMLP" train --train "$WORK/train.h5" --layers 10,32,4 --resume "$WORK/a/ckpt-000000050.h5"

# --init: a fresh run from stored parameters
expect_exit 0 "starting at step 0 from the parameters of.*finished: 20 steps" -- timeout 60 "$MPIEXEC" -np 2 "$DMLP" train \
  --train "$WORK/train.h5" --layers 10,16,4 --max-steps 20 --init "$WORK/a/ckpt-000000100.h5"

# A signal (as a batch system sends before the wall-time limit) saves and stops
# cleanly with exit 75, and the resumed run ends bitwise where an uninterrupted
# one does: SIGUSR1 to mpirun (which forwards it), and SIGTERM to the ranks
# (what srun and PBS deliver to each task). The run holds after step 150 until
# the signal comes (DMLP_TEST_HOLD_AFTER_STEP, core/test_hooks.hpp), so it stops
# at that step whatever the machine's speed, and the test signals only once the
# run says it is there.
long=(train --synthetic blobs --layers 10,16,4 --samples 2000 --max-steps 400 --batch-size 32
      --momentum 0.9 --log-every 1000000 --threads 1)
timeout 120 "$MPIEXEC" -np 2 "$DMLP" "${long[@]}" --checkpoint-dir "$WORK/whole" > /dev/null 2>&1
stoppable=$(dirname "$0")/../../launch/mpirun-stoppable.sh
# wait_for PATTERN FILE: up to 120 s for a line matching PATTERN in FILE
wait_for() { for _ in $(seq 600); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.2; done; return 1; }
for signal in USR1 TERM TERM-wrapper; do
  if [ "$signal" = TERM-wrapper ]; then
    DMLP_TEST_HOLD_AFTER_STEP=150 MPIRUN=$MPIEXEC "$stoppable" -np 2 "$DMLP" "${long[@]}" \
      --checkpoint-dir "$WORK/s$signal" > "$WORK/s.out" 2>&1 &
  else
    DMLP_TEST_HOLD_AFTER_STEP=150 "$MPIEXEC" -np 2 "$DMLP" "${long[@]}" --checkpoint-dir "$WORK/s$signal" \
      > "$WORK/s.out" 2>&1 &
  fi
  launcher=$!
  wait_for "^test hold: after step 150" "$WORK/s.out" || fail "SIG$signal: the run never reached step 150"
  case $signal in
    USR1) kill -USR1 "$launcher" ;;                 # to mpirun, which forwards it
    TERM) kill -TERM $(pgrep -P "$launcher") ;;     # to the ranks, as srun and PBS deliver it
    TERM-wrapper) kill -TERM "$launcher" ;;         # to the launcher, as kill and schedulers send it
  esac
  wait "$launcher"
  rc=$?
  [ "$rc" -eq 75 ] && pass "SIG$signal: stopped with exit 75 (resume me)" || fail "exit $rc after SIG$signal"
  grep -q "stopped at step 150 of 400 on a signal" "$WORK/s.out" && pass "SIG$signal: said where it stopped" \
    || fail "SIG$signal: no stop message: $(tail -3 "$WORK/s.out")"
  [ "$(ls "$WORK/s$signal")" = ckpt-000000150.h5 ] && pass "SIG$signal: its checkpoint is the step's" \
    || fail "SIG$signal: checkpoints $(ls "$WORK/s$signal" | tr '\n' ' ')"
  timeout 120 "$MPIEXEC" -np 2 "$DMLP" "${long[@]}" --checkpoint-dir "$WORK/s$signal" --resume "$WORK/s$signal" > /dev/null 2>&1
  expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/whole/ckpt-000000400.h5" \
    --compare "$WORK/s$signal/ckpt-000000400.h5"
done

# Checkpoints by time, and keep-K pruning: a run with no end that saves every
# half second, stopped once it has written three by time, keeps exactly the
# newest 2, the last at the step it stopped at.
endless=(train --synthetic blobs --layers 10,16,4 --samples 2000 --epochs 1000000000 --batch-size 32
         --log-every 1000000 --threads 1)
"$MPIEXEC" -np 2 "$DMLP" "${endless[@]}" --checkpoint-dir "$WORK/timed" --checkpoint-every-seconds 0.5 \
  --keep-checkpoints 2 > "$WORK/timed.out" 2>&1 &
launcher=$!
for _ in $(seq 600); do [ "$(grep -c "^checkpoint .* written" "$WORK/timed.out")" -ge 3 ] && break; sleep 0.2; done
kill -USR1 "$launcher"
wait "$launcher"
rc=$?
written=$(grep -c "^checkpoint .* written" "$WORK/timed.out")
stopped=$(sed -n 's/^stopped at step \([0-9]*\) of .*/\1/p' "$WORK/timed.out")
[ "$rc" -eq 75 ] && [ "$written" -ge 4 ] && pass "--checkpoint-every-seconds 0.5: $((written - 1)) by time, then the stop's" \
  || fail "timed run: exit $rc, $written written"
kept=$(ls "$WORK/timed" | tr '\n' ' ')
[ "$(ls "$WORK/timed" | wc -l)" -eq 2 ] && [ -n "$stopped" ] && [ -f "$WORK/timed/$(printf 'ckpt-%09d.h5' "$stopped")" ] \
  && pass "--keep-checkpoints 2 kept $kept" || fail "kept: $kept (stopped at '$stopped')"

# eval: the same numbers at any rank count; predict and inspect
e1=$("$DMLP" eval --checkpoint "$WORK/a/ckpt-000000100.h5" --data "$WORK/test.h5" --json)
e3=$(timeout 60 "$MPIEXEC" -np 3 "$DMLP" eval --checkpoint "$WORK/a/ckpt-000000100.h5" --data "$WORK/test.h5" --json --batch-size 7)
python3 - "$e1" "$e3" <<'PY' && pass "eval: 1 and 3 ranks agree" || fail "eval differs: $e1 / $e3"
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["confusion"] == b["confusion"] and a["rows"] == b["rows"] == 300
assert abs(a["loss"] - b["loss"]) < 1e-6 and abs(a["accuracy"] - b["accuracy"]) < 1e-12
assert abs(sum(map(sum, a["confusion"])) - 300) == 0
PY
final=$(grep "^finished" "$WORK/a.out" | sed 's/.*accuracy \([0-9.]*\).*/\1/')
python3 -c "import json,sys; a=json.loads('''$e1'''); sys.exit(0 if abs(a['accuracy']-float('$final'))<1e-4 else 1)" \
  && pass "eval matches the accuracy training reported" || fail "eval accuracy differs from $final"
expect_exit 0 "confusion matrix" -- "$DMLP" eval --checkpoint "$WORK/a/ckpt-000000100.h5" --data "$WORK/test.h5"
expect_exit 0 "wrote .*pred.h5: 300 rows x 4 outputs" -- timeout 60 "$MPIEXEC" -np 2 "$DMLP" predict \
  --checkpoint "$WORK/a/ckpt-000000100.h5" --data "$WORK/test.h5" --out "$WORK/pred.h5"
h5ls "$WORK/pred.h5" | grep -q "outputs *Dataset {300, 4}" && pass "predictions have the right shape" || fail "predictions shape"
expect_exit 0 "parameters  244 float32, checksum [0-9a-f]{16} verified" -- "$DMLP" inspect "$WORK/a/ckpt-000000100.h5"
expect_exit 2 "good.h5: dmlp_format is 'dataset'; expected 'checkpoint'" -- "$DMLP" inspect "$WORK/good.h5"
expect_exit 2 "features_3d.h5: attribute dmlp_format is missing; not a dmlp checkpoint" -- "$DMLP" inspect "$WORK/features_3d.h5"
finish
