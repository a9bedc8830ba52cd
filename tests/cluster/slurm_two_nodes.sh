# A two-node Slurm: slurmctld and two slurmd, h1 and h2, each slurmd in its
# own network namespace under its own host name. sbatch --nodes=2 of
# launch/slurm/train.sbatch at one and two tasks a node: the summary lists h1
# and h2 with their ranks, the parameters are bitwise those of the same layout
# under mpirun with the two-host agent, and within rounding of one rank; the
# wall-time signal saves and requeues the job, which resumes on both nodes and
# ends bitwise where the undisturbed job did.
source "$(dirname "$0")/../cli/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "skipped: the test Slurm and the namespaces need root"; exit 77; }
source "$(dirname "$0")/netns.sh"
source "$(dirname "$0")/slurm.sh"
trap cluster_cleanup_checked EXIT
two_node_test_up

# 1. two nodes at one and at two tasks a node; the same layout under mpirun; one rank
run=(--layers 784,32,10 --batch-size 64 --max-steps 200 --log-every 50 --checkpoint-every-seconds 0)
last=ckpt-000000200.h5
"$DMLP" train "${SBATCH_DEFAULTS[@]}" "${run[@]}" --checkpoint-dir "$WORK/one" > /dev/null 2>&1 || fail "one rank"
for per_node in 1 2; do
  layout=2x$per_node np=$((2 * per_node))
  id=$(DMLP_RUN_DIR=$WORK/slurm-$layout submit --wait --nodes=2 --ntasks-per-node="$per_node" launch/slurm/train.sbatch "${run[@]}")
  log=$WORK/job-$id.out
  [ "$(job_state "$id")" = COMPLETED ] && grep -q "$np ranks on 2 nodes" "$log" \
    && pass "sbatch --nodes=2 --ntasks-per-node=$per_node: $np ranks on 2 nodes" || { fail "$layout: $(job_state "$id")"; tail -5 "$log"; }
  if [ "$per_node" = 1 ]; then h1="h1: rank 0 " h2="h2: rank 1 "; else h1="h1: ranks 0-1 " h2="h2: ranks 2-3 "; fi
  grep -q "hosts      $h1(1 thread each" "$log" && grep -q "             $h2(1 thread each" "$log" \
    && pass "$layout: the summary lists h1 and h2 with their ranks" || { fail "$layout: hosts"; grep -A2 "hosts  " "$log"; }
  printf 'h1 slots=%s\nh2 slots=%s\n' "$per_node" "$per_node" > "$WORK/hosts-$layout"
  on_hosts "$WORK/hosts-$layout" "$np" "$DMLP" train "${SBATCH_DEFAULTS[@]}" "${run[@]}" \
    --checkpoint-dir "$WORK/mpirun-$layout" > "$WORK/mpirun-$layout.out" 2>&1 || fail "$layout under mpirun"
  expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/slurm-$layout/checkpoints/$last" --compare "$WORK/mpirun-$layout/$last"
  within_rounding "$WORK/one/$last" "$WORK/slurm-$layout/checkpoints/$last" "$layout under Slurm"
done

# 2. the wall-time signal across two nodes: USR1 before the time limit saves,
# exits 75 and requeues; the job resumes on both nodes and ends bitwise where
# the undisturbed 2x1 job above did. Slurm checks time limits every 30 s, so
# with --time=2 and USR1@80 the signal comes 10-40 s in; the job holds after
# step 100 until it does (see slurm_jobs.sh).
id=$(DMLP_TEST_HOLD_AFTER_STEP=100 DMLP_RUN_DIR=$WORK/preempted submit --time=2 --signal=USR1@80 --nodes=2 \
     --ntasks-per-node=1 launch/slurm/train.sbatch "${run[@]}")
log=$WORK/job-$id.out
wait_state "$id" RUNNING || fail "job $id did not start"
for _ in $(seq 600); do grep -q "^test hold: after step 100" "$log" 2>/dev/null && break; sleep 0.2; done
wait_state "$id" PENDING COMPLETED FAILED && [ "$(job_state "$id")" = PENDING ] \
  && grep -q "stopped at step 100 of 200 on a signal" "$log" && grep -q "requeueing job $id" "$log" \
  && pass "two nodes, USR1@80: checkpoint, exit 75, requeued" || { fail "job $id not requeued: $(job_state "$id")"; tail -5 "$log"; }
scontrol update JobId="$id" TimeLimit=10 StartTime=now+2  # see slurm_jobs.sh
wait_state "$id" COMPLETED FAILED && [ "$(job_state "$id")" = COMPLETED ] \
  && grep -q "resuming from .*preempted/checkpoints/ckpt-000000100.h5" "$log" \
  && [ "$(grep -c "2 ranks on 2 nodes" "$log")" -eq 2 ] && pass "the requeued job resumed on both nodes" \
  || { fail "requeued job: $(job_state "$id")"; tail -5 "$log"; }
expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/slurm-2x1/checkpoints/$last" --compare "$WORK/preempted/checkpoints/$last"
finish
