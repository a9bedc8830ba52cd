# launch/pbs/train.pbs without a PBS server: run with a PBS-like environment
# (a node file, a job name, qsub as a stand-in that records its arguments),
# the job's session gets the SIGTERM that PBS sends before a kill, and the
# script must end with 75 after dmlp's checkpoint and resubmit itself.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
session=
trap '[ -n "$session" ] && kill -KILL -- "-$session" 2>/dev/null; rm -rf "$WORK"' EXIT
"$DMLP" synth --kind blobs --rows 20000 --features 10 --classes 4 --out "$WORK/train.h5" > /dev/null
printf 'localhost\nlocalhost\n' > "$WORK/nodes"
mkdir -p "$WORK/bin"
printf '#!/bin/sh\necho "qsub $*" >> %s/qsub.log\n' "$WORK" > "$WORK/bin/qsub"
chmod +x "$WORK/bin/qsub"
ln -s "$(command -v "$MPIEXEC")" "$WORK/bin/mpirun" 2>/dev/null

(cd "$repo" && PATH="$WORK/bin:$PATH" PBS_NODEFILE="$WORK/nodes" PBS_JOBNAME=pbs-test DMLP="$DMLP" \
  DMLP_RUN_DIR="$WORK/run" DMLP_ARGS="--train $WORK/train.h5 --test $WORK/train.h5 --layers 10,64,4 --epochs 1000000000 --log-every 1000000" \
  exec setsid bash launch/pbs/train.pbs > "$WORK/out" 2>&1) &
session=$!
# dmlp has printed its summary: it catches the stop signals, and so do both scripts
# (their traps are set before dmlp starts). The run has no end of its own.
for _ in $(seq 600); do grep -q "^  optimizer" "$WORK/out" 2>/dev/null && break; sleep 0.2; done
kill -TERM -- "-$session"  # PBS signals the job's whole session
timeout 60 tail --pid="$session" -f /dev/null
wait "$session"
rc=$?
session=
[ "$rc" -eq 75 ] && pass "SIGTERM to the job's session: the script exits 75" || { fail "exit $rc"; tail -5 "$WORK/out"; }
ls "$WORK/run/checkpoints"/ckpt-*.h5 > /dev/null 2>&1 && pass "a checkpoint was written" || fail "no checkpoint"
grep -q "qsub -V -N pbs-test launch/pbs/train.pbs" "$WORK/qsub.log" 2>/dev/null && pass "it resubmitted itself" \
  || fail "no resubmission: $(cat "$WORK/qsub.log" 2>/dev/null)"
grep -q "stopped at step .* (exit 75)" "$WORK/out" && pass "dmlp said where it stopped" || fail "no stop message"
finish
