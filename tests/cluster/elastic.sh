# Losing a node and finishing without it. A run on 2 nodes x 1 rank loses h2
# mid-run, between two checkpoints (it holds after step 50, the newest
# checkpoint at step 40); the batch script, or launch/elastic-mpirun.sh, finds
# h1 alone still there and goes on from step 40 at 1 rank:
#   - under Slurm (train.sbatch, --no-kill), h2 lost by killing its slurmd and
#     everything it started, then by taking its link down: with --reproducible,
#     the final parameters are bitwise those of a run that lost nothing; without
#     it, within rounding of them;
#   - under mpirun with the two-host agent (elastic-mpirun.sh), both ways, bitwise;
#   - a run whose only host is lost ends with its failure's exit code and a
#     message, with no restart; so does a Slurm job left with fewer nodes than
#     DMLP_MIN_NODES.
# The time from the loss to training again is printed, not judged. srun
# waits KillWait + 2 s for the lost node's part of a step: Slurm's default
# KillWait is 30 s; this test runs at SLURM_TEST_KILL_WAIT (10) to save time.
# Now and then (1 in 7 to 1 in 20 tries of the kill case under load) rank 0
# on h1 got stuck inside one MPI call after its TCP transport's "writev
# failed: Connection reset by peer": the stall watchdog's guard thread ends
# the job then (mpi/call_guard.hpp). Should the report still be missed, Slurm
# ends the step once it declares h2 down (SlurmdTimeout, 60 s here rather
# than the default 300), and the script restarts all the same, from srun's
# exit 137: the test accepts both.
source "$(dirname "$0")/../cli/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "skipped: the test Slurm and the namespaces need root"; exit 77; }
source "$(dirname "$0")/netns.sh"
source "$(dirname "$0")/slurm.sh"
trap cluster_cleanup_checked EXIT
export SLURM_TEST_KILL_WAIT=${SLURM_TEST_KILL_WAIT:-10} SLURM_TEST_SLURMD_TIMEOUT=${SLURM_TEST_SLURMD_TIMEOUT:-60}
two_node_test_up

run=(--layers 784,32,10 --batch-size 64 --max-steps 100 --log-every 10 --checkpoint-every 20
     --checkpoint-every-seconds 0 --stall-timeout 5)
last=ckpt-000000100.h5
"$DMLP" train "${SBATCH_DEFAULTS[@]}" "${run[@]}" --reproducible --checkpoint-dir "$WORK/undisturbed" > /dev/null 2>&1 \
  || fail "the undisturbed --reproducible run"
"$DMLP" train "${SBATCH_DEFAULTS[@]}" "${run[@]}" --checkpoint-dir "$WORK/undisturbed-plain" > /dev/null 2>&1 \
  || fail "the undisturbed run"

# wait_for PATTERN FILE: at most 120 s for a line of FILE to match
wait_for() { for _ in $(seq 600); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.2; done; return 1; }
# since T: seconds from T (date +%s.%N) to now
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# slurm_loses_h2 NAME HOW EXTRA_OPTIONS...: a 2x1 job that loses h2 (HOW: kill or link) after step 50
slurm_loses_h2() {
  local name=$1 how=$2 id log lost_at
  shift 2
  id=$(DMLP_TEST_HOLD_AFTER_STEP=50 DMLP_TEST_HOLD_RELEASE=$WORK/release-$name DMLP_RUN_DIR=$WORK/$name \
       submit --nodes=2 --ntasks-per-node=1 launch/slurm/train.sbatch "${run[@]}" "$@")
  log=$WORK/job-$id.out
  wait_for "^test hold: after step 50" "$log" || { fail "$name: the job did not reach step 50"; tail -5 "$log"; return; }
  lost_at=$(date +%s.%N)
  if [ "$how" = kill ]; then slurmd_down h2; else cut_h2; fi
  touch "$WORK/release-$name"  # the resumed run goes past step 50
  wait_for "^step 60/" "$log" && echo "      $name: training again $(since "$lost_at") s after h2 was lost (--stall-timeout 5, KillWait $SLURM_TEST_KILL_WAIT)"
  # the batch script ends; the job completes once h2, which holds a part of its first step, is back
  wait_state "$id" COMPLETING COMPLETED FAILED
  [ "$how" = link ] && restore_h2
  slurmd_back h2 > /dev/null || fail "h2 did not come back"
  wait_state "$id" COMPLETED FAILED
  [ "$(job_state "$id")" = COMPLETED ] || { fail "$name: job $id ended $(job_state "$id")"; tail -8 "$log"; }
  grep -q "^elastic restart 1 of at most 3: lost h2 (exit \(4 at step 50\|137 after step 50 (the last logged)\)); resuming from the newest good checkpoint in .*/$name/checkpoints (newest file ckpt-000000040.h5) on 1 node(s) (h1): 2 ranks -> 1$" "$log" \
    && pass "$name: h2 lost at step 50 ($how), restarted on h1 from the step-40 checkpoint at 1 rank" \
    || { fail "$name: no restart line"; grep -E "elastic|stalled|srun: error" "$log"; }
}

# 1. Slurm, --reproducible: h2 killed, then its link down; both bitwise the undisturbed run
slurm_loses_h2 slurm-kill kill --reproducible
grep -q "was written by 2 ranks and this run has 1; reproducible (--reproducible, micro-batch 32): bit for bit" \
  "$WORK"/job-*.out && pass "the resumed run says: 2 ranks then, 1 now, bit for bit" || fail "no rank-count line"
expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/undisturbed/$last" --compare "$WORK/slurm-kill/checkpoints/$last"
slurm_loses_h2 slurm-link link --reproducible
expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/undisturbed/$last" --compare "$WORK/slurm-link/checkpoints/$last"
# without --reproducible: within rounding
slurm_loses_h2 slurm-plain kill
within_rounding "$WORK/undisturbed-plain/$last" "$WORK/slurm-plain/checkpoints/$last" "slurm, without --reproducible"

# 2. fewer nodes left than DMLP_MIN_NODES: the job ends with the stall's code, without a restart
id=$(DMLP_MIN_NODES=2 DMLP_TEST_HOLD_AFTER_STEP=50 DMLP_RUN_DIR=$WORK/slurm-min submit --nodes=2 --ntasks-per-node=1 \
     launch/slurm/train.sbatch "${run[@]}")
log=$WORK/job-$id.out
wait_for "^test hold: after step 50" "$log" || fail "slurm-min: the job did not reach step 50"
slurmd_down h2
wait_state "$id" COMPLETING FAILED COMPLETED
slurmd_back h2 > /dev/null || fail "h2 did not come back"
wait_state "$id" FAILED COMPLETED
code=$(sed -n 's/.*lost h2 (exit \([0-9]*\).*); 1 node(s) left, fewer than DMLP_MIN_NODES=2: not restarting$/\1/p' "$log")
[ "$(job_state "$id")" = FAILED ] && [ -n "$code" ] && scontrol show job "$id" | grep -q "ExitCode=$code:0" \
  && ! grep -q "^elastic restart" "$log" && pass "DMLP_MIN_NODES=2 with one node left: exit $code, no restart" \
  || { fail "slurm-min: $(job_state "$id"), $(scontrol show job "$id" | grep -o "ExitCode=[0-9:]*")"; tail -5 "$log"; }

# 3. plain mpirun with the two-host agent
printf 'h1 slots=1\nh2 slots=1\n' > "$WORK/hosts"
mpirun_loses_h2() {  # NAME HOW
  local name=$1 how=$2 out=$WORK/$1.out lost_at rc
  DMLP_TEST_HOLD_AFTER_STEP=50 DMLP_TEST_HOLD_RELEASE=$WORK/release-$name as_head 300 env MPIEXEC="$MPIEXEC" \
    "$REPO/launch/elastic-mpirun.sh" --hostfile "$WORK/hosts" --run-dir "$WORK/$name" "${HEAD_OPTIONS[@]}" \
    -x DMLP_TEST_HOLD_AFTER_STEP -x DMLP_TEST_HOLD_RELEASE -- "$DMLP" train "${SBATCH_DEFAULTS[@]}" "${run[@]}" --reproducible \
    > "$out" 2>&1 &
  local pid=$!
  wait_for "^test hold: after step 50" "$out" || fail "$name: the run did not reach step 50"
  lost_at=$(date +%s.%N)
  if [ "$how" = kill ]; then lose_h2; else cut_h2; fi
  touch "$WORK/release-$name"
  wait_for "^step 60/" "$out" && echo "      $name: training again $(since "$lost_at") s after h2 was lost (--stall-timeout 5)"
  wait "$pid"
  rc=$?
  [ "$rc" -eq 0 ] && grep -q "^elastic restart 1 of at most 3: lost h2 (exit [0-9]*\( at step 50\| after step 50 (the last logged)\)); resuming from the newest good checkpoint in .*/$name/checkpoints (newest file ckpt-000000040.h5) on 1 host(s) (h1): 2 ranks -> 1$" "$out" \
    && pass "$name: elastic-mpirun.sh went on without h2 ($how) from the step-40 checkpoint" \
    || { fail "$name: exit $rc"; grep -E "elastic|stalled|lost" "$out" | head -5; }
  expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/undisturbed/$last" --compare "$WORK/$name/checkpoints/$last"
  if [ "$how" = kill ]; then h2_back; else restore_h2; fi
}
mpirun_loses_h2 mpirun-kill kill
mpirun_loses_h2 mpirun-link link

# 4. its only host lost: the failure's code and a message, no restart
printf 'h2 slots=1\n' > "$WORK/only-h2"
DMLP_TEST_HOLD_AFTER_STEP=50 as_head 300 env MPIEXEC="$MPIEXEC" "$REPO/launch/elastic-mpirun.sh" --hostfile "$WORK/only-h2" \
  --run-dir "$WORK/only" "${HEAD_OPTIONS[@]}" -x DMLP_TEST_HOLD_AFTER_STEP -- "$DMLP" train "${SBATCH_DEFAULTS[@]}" "${run[@]}" > "$WORK/only.out" 2>&1 &
pid=$!
wait_for "^test hold: after step 50" "$WORK/only.out" || fail "only: the run did not reach step 50"
lose_h2
wait "$pid"
rc=$?
[ "$rc" -ne 0 ] && grep -q "lost h2 (exit $rc.*); 0 host(s) left, fewer than DMLP_MIN_NODES=1: not restarting" "$WORK/only.out" \
  && ! grep -q "^elastic restart" "$WORK/only.out" && pass "its only host lost: exit $rc, a message, no restart" \
  || { fail "only host: exit $rc"; tail -5 "$WORK/only.out"; }
h2_back
finish
