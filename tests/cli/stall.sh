# The stall watchdog: a rank that stops answering (SIGSTOP) is named, and the
# job ends with exit code 4 within --stall-timeout + 30 s, instead of spinning
# forever in the all-reduce.
source "$(dirname "$0")/lib.sh"
stopped=()
trap 'for p in "${stopped[@]}"; do kill -CONT "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT

# A run with no end of its own: whatever the machine's speed, it is still
# training when the test stops a rank.
train=(train --synthetic blobs --layers 30,128,5 --samples 100000 --epochs 1000000000 --batch-size 64 --threads 1
       --log-every 1000000 --stall-timeout 3)

# rank_pid LAUNCHER RANK: the pid of that rank among the children of the
# launcher (timeout) and of its child (mpirun)
rank_pid() {
  local pid
  for pid in $(pgrep -P "$(pgrep -P "$1" | tr '\n' ',' | sed 's/,$//')"); do
    tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$pid"; return; }
  done
}

# stall NP RANK: SIGSTOP rank RANK of NP once training runs; sets out, rc, elapsed
stall() {
  local np=$1 rank=$2 launcher pid=
  timeout 90 "$MPIEXEC" -np "$np" "$DMLP" "${train[@]}" > "$WORK/stall.out" 2>&1 &
  launcher=$!
  for _ in $(seq 150); do grep -q "^step" "$WORK/stall.out" 2>/dev/null && break; sleep 0.2; done
  pid=$(rank_pid "$launcher" "$rank")
  [ -n "$pid" ] && kill -STOP "$pid" && stopped+=("$pid")
  local start=$(date +%s)
  wait "$launcher"
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  out=$(cat "$WORK/stall.out")
  [ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null
  [ -n "$pid" ] || fail "rank $rank of $np not found"
}

stall 2 1
[ "$rc" -eq 4 ] && pass "rank 1 stopped: exit 4" || { fail "rank 1 stopped: exit $rc"; tail -5 <<<"$out"; }
[ "$elapsed" -le 33 ] && pass "ended ${elapsed}s after the stop" || fail "ended ${elapsed}s after the stop"
grep -q "^\[rank 0\] error: stalled: rank 0 waited" <<<"$out" && grep -Eq "^  rank 1 on [^:]+: (reached it, then went silent|never reached it)" <<<"$out" \
  && pass "rank 0 names rank 1 and its host" || { fail "rank 1 not named"; grep -A3 stalled <<<"$out"; }

# Of 3 ranks, rank 2 stops: rank 1, held up by it in an earlier collective,
# is alive and waiting, and is not named.
stall 3 2
[ "$rc" -eq 4 ] && pass "rank 2 of 3 stopped: exit 4" || { fail "rank 2 of 3 stopped: exit $rc"; tail -5 <<<"$out"; }
grep -Eq "^  rank 2 on [^:]+: " <<<"$out" && ! grep -Eq "^  rank 1 on " <<<"$out" \
  && pass "only rank 2 is named" || { fail "names"; grep -A4 stalled <<<"$out"; }

# Rank 0, which collects the heartbeats, is the one stopped: the others say so.
stall 3 0
[ "$rc" -eq 4 ] && pass "rank 0 stopped: exit 4" || { fail "rank 0 stopped: exit $rc"; tail -5 <<<"$out"; }
[ "$elapsed" -le 33 ] && pass "ended ${elapsed}s after the stop" || fail "ended ${elapsed}s after the stop"
grep -Eq "^\[rank [12]\] error: stalled: .*rank 0 on [^ ]+ may itself be stalled" <<<"$out" \
  && pass "a waiting rank points at rank 0" || { fail "rank 0 not named"; grep stalled <<<"$out"; }

# A rank hung in the file system while writing a checkpoint (rank 0, the
# writer, stops itself inside the write: DMLP_TEST_STOP_AT, core/test_hooks.hpp),
# and a rank stopped during start-up (before it reads the data), are named
# with what they were doing, and the job ends with exit 4 within
# --stall-timeout + 30 s.
stop_at() {  # NP SPEC [dmlp train options]: sets out, rc, elapsed
  local start=$(date +%s) np=$1 spec=$2
  shift 2
  out=$(DMLP_TEST_STOP_AT=$spec timeout 90 "$MPIEXEC" -np "$np" "$DMLP" train --synthetic blobs --layers 10,16,4 \
        --samples 2000 --max-steps 100 --threads 1 --stall-timeout 3 --checkpoint-dir "$WORK/stop-$np-$spec$*" \
        --checkpoint-every 20 "$@" 2>&1)
  rc=$?
  elapsed=$(( $(date +%s) - start ))
}
for np in 2 3; do
  stop_at $np checkpoint-write
  [ "$rc" -eq 4 ] && [ "$elapsed" -le 33 ] && pass "P=$np: rank 0 hung writing a checkpoint: exit 4 in ${elapsed}s" \
    || { fail "P=$np: rank 0 hung writing a checkpoint: exit $rc in ${elapsed}s"; tail -3 <<<"$out"; }
  grep -q "^\[rank 1\] error: stalled: rank 1 waited [0-9.]* s (--stall-timeout 3) for rank 0 to write the checkpoint of step 20, .*rank 0 on [^ ]* may itself be stalled or unreachable; it last said, [0-9.]* s ago, that it was writing the checkpoint of step 20" <<<"$out" \
    && pass "P=$np: rank 1 names rank 0 and the checkpoint it was writing" || { fail "P=$np: message"; grep error <<<"$out"; }
  ls -a "$WORK/stop-$np-checkpoint-write" | grep -q "ckpt-000000020.h5$" && fail "P=$np: a checkpoint appeared" \
    || pass "P=$np: no checkpoint of step 20 appeared"
done
# --reduction node: a rank stopped as it was about to sum its part of a bucket
# from its peers' shared memory; its peers wait for it in the node's barrier.
stop_at 3 node-sum@1
[ "$rc" -eq 4 ] && [ "$elapsed" -le 33 ] && pass "rank 1 stopped in the node's sum: exit 4 in ${elapsed}s" \
  || { fail "rank 1 stopped in the node's sum: exit $rc in ${elapsed}s"; tail -3 <<<"$out"; }
grep -q "reduction  node: 3 ranks per node" <<<"$out" && grep -q "^\[rank 0\] error: stalled: rank 0 waited" <<<"$out" \
  && grep -Eq "^  rank 1 on [^:]+: " <<<"$out" && ! grep -Eq "^  rank 2 on " <<<"$out" \
  && pass "rank 0 names rank 1 alone: $(grep -E '^  rank 1 on ' <<<"$out")" || { fail "node-sum message"; grep -A3 error <<<"$out"; }
# --reproducible on one node: a rank stopped as it was about to say its exact
# sums are final; its peers wait for it before reading them
stop_at 3 node-sum@1 --reproducible
[ "$rc" -eq 4 ] && [ "$elapsed" -le 33 ] && pass "--reproducible: rank 1 stopped before the node's exact sums: exit 4 in ${elapsed}s" \
  || { fail "--reproducible: rank 1 stopped before the node's exact sums: exit $rc in ${elapsed}s"; tail -3 <<<"$out"; }
grep -q "from the node's shared memory" <<<"$out" && grep -q "^\[rank 0\] error: stalled: rank 0 waited" <<<"$out" \
  && grep -Eq "^  rank 1 on [^:]+: " <<<"$out" && ! grep -Eq "^  rank 2 on " <<<"$out" \
  && pass "--reproducible: rank 0 names rank 1 alone: $(grep -E '^  rank 1 on ' <<<"$out")" \
  || { fail "--reproducible node-sum message"; grep -A3 "error\|allreduce  exact" <<<"$out"; }
stop_at 3 startup@1
[ "$rc" -eq 4 ] && [ "$elapsed" -le 33 ] && pass "rank 1 stopped in start-up: exit 4 in ${elapsed}s" \
  || { fail "rank 1 stopped in start-up: exit $rc in ${elapsed}s"; tail -3 <<<"$out"; }
grep -q "^\[rank 0\] error: stalled: rank 0 waited [0-9.]* s (--stall-timeout 3) in a collective while the ranks read a data set; the stalled rank:" <<<"$out" \
  && grep -Eq "^  rank 1 on [^:]+: never reached it; last heard [0-9.]+ s ago, starting up" <<<"$out" \
  && grep -q "^  waiting: ranks 0,2" <<<"$out" && pass "rank 0 names rank 1, starting up" || { fail "start-up message"; grep -A3 error <<<"$out"; }
stop_at 2 startup@0
[ "$rc" -eq 4 ] && [ "$elapsed" -le 33 ] && pass "rank 0 stopped in start-up: exit 4 in ${elapsed}s" \
  || { fail "rank 0 stopped in start-up: exit $rc in ${elapsed}s"; tail -3 <<<"$out"; }
grep -q "^\[rank 1\] error: stalled: .*rank 0 on [^ ]* may itself be stalled or unreachable; it last said, [0-9.]* s ago, that it was starting up" <<<"$out" \
  && pass "rank 1 names rank 0, starting up" || { fail "start-up message (rank 0)"; grep error <<<"$out"; }

# The thread that runs MPI stands still inside the wait for a gradient sum,
# as one spinning inside an MPI call that never returns would (Open MPI's TCP
# transport can, after a peer's connection broke): DMLP_TEST_STUCK_AT. On rank
# 0 the watchdog's guard reports it and ends the job; elsewhere rank 0, whose
# deadline comes first, names the rank that went silent (a rank of the node path
# waits for a sum only when it is not done yet: the first such wait, at
# whichever step, is the one that sticks; on rank 0 too).
stuck_at() {  # NP SPEC: sets out, rc, elapsed
  local start=$(date +%s)
  out=$(DMLP_TEST_STUCK_AT=$2 timeout 90 "$MPIEXEC" -np "$1" "$DMLP" train --synthetic blobs --layers 10,16,4 \
        --samples 2000 --max-steps 100 --threads 1 --stall-timeout 3 "${@:3}" 2>&1)
  rc=$?
  elapsed=$(( $(date +%s) - start ))
}
for reduction in node allreduce; do
  stuck_at 2 gradient-wait --reduction $reduction
  [ "$rc" -eq 4 ] && [ "$elapsed" -le 33 ] && pass "rank 0 stuck inside MPI ($reduction): exit 4 in ${elapsed}s" \
    || { fail "rank 0 stuck inside MPI ($reduction): exit $rc in ${elapsed}s"; show_output "$out"; }
  grep -q "^\[rank 0\] error: stalled: rank 0 has been inside one MPI call for [0-9.]* s (--stall-timeout 3), waiting in the gradient all-reduce of step [0-9]*: MPI itself does not return" <<<"$out" \
    && pass "rank 0 says it is stuck inside an MPI call ($reduction)" || { fail "stuck message ($reduction)"; show_output "$out"; }
done
stuck_at 2 gradient-wait@1
[ "$rc" -eq 4 ] && [ "$elapsed" -le 33 ] && grep -q "^\[rank 0\] error: stalled: rank 0 waited" <<<"$out" \
  && grep -Eq "^  rank 1 on [^:]+: (reached it, then went silent|never reached it)" <<<"$out" \
  && ! grep -q "inside one MPI call" <<<"$out" && pass "rank 1 stuck inside MPI: rank 0 names it first" \
  || { fail "rank 1 stuck inside MPI: exit $rc in ${elapsed}s"; show_output "$out"; }

# The whole job suspended (Ctrl-Z, a scheduler's suspend) for longer than the
# timeout, then resumed: no rank stalled, and training goes on (it reports two
# more progress lines; then stopped with SIGUSR1, exit 75) whatever the build's speed.
steps() { grep -c "^step" "$WORK/suspend.out"; }
for attempt in 1 2; do
  timeout 120 "$MPIEXEC" -np 2 "$DMLP" "${train[@]}" --log-every 200 --checkpoint-dir "$WORK/suspend-$attempt" \
    > "$WORK/suspend.out" 2>&1 &
  launcher=$!
  # up to 120 s for the first step: a sanitizer build on a loaded machine starts slowly
  for _ in $(seq 600); do grep -q "^step" "$WORK/suspend.out" 2>/dev/null && break; sleep 0.2; done
  ranks=$(rank_pid "$launcher" 0; rank_pid "$launcher" 1)
  [ "$(wc -w <<<"$ranks")" -eq 2 ] || { fail "the ranks were not found running (try $attempt)"; kill "$launcher"; wait "$launcher"; continue; }
  kill -STOP $ranks && stopped+=($ranks)
  # Not a wait for an event: the suspension must outlast --stall-timeout 3 by the clock.
  sleep 5
  before=$(steps)
  kill -CONT $ranks
  for _ in $(seq 600); do [ "$(steps)" -ge $((before + 2)) ] && break; kill -0 $ranks 2>/dev/null || break; sleep 0.2; done
  if [ "$(steps)" -ge $((before + 2)) ] && kill -0 $ranks 2>/dev/null; then
    pass "suspended 5 s with --stall-timeout 3, resumed: still training, $(( $(steps) - before )) progress lines later (try $attempt)"
  else
    fail "the job did not go on after suspend and resume (try $attempt)"; grep -A3 stalled "$WORK/suspend.out"
  fi
  kill -USR1 $(pgrep -P "$launcher")  # mpirun, under timeout
  wait "$launcher"
  rc=$?
  [ "$rc" -eq 75 ] && pass "then stopped on SIGUSR1 with exit 75" || { fail "exit $rc after SIGUSR1"; grep -A3 stalled "$WORK/suspend.out"; }
done

# The watchdog's setting: announced, validated, and off at 0.
out=$(timeout 60 "$MPIEXEC" -np 2 "$DMLP" train --synthetic blobs --layers 10,5 --samples 500 --max-steps 3 \
      --stall-timeout 0 2>&1)
grep -q "watchdog   off (--stall-timeout 0)" <<<"$out" && pass "--stall-timeout 0 turns it off" || fail "summary: $out"
for bad in -1 nan inf 0.001; do
  expect_exit 2 "--stall-timeout $bad must be 0 \(no stall watchdog\) or at least 1 second" -- \
    "$DMLP" train --synthetic blobs --layers 10,5 --samples 500 --max-steps 3 --stall-timeout "$bad"
done
finish
