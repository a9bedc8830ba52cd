# A real one-node Slurm: launch/slurm/train.sbatch runs its ranks as one MPI
# job through srun --mpi=pmix, with options appended on the sbatch line
# overriding its defaults; a time-limit signal (--signal=USR1@N) makes it save,
# exit 75 and requeue itself, and the resumed run ends bitwise where an
# uninterrupted one does; scancel --signal=TERM saves too; a job-array sweep
# runs its tasks and collects one CSV.
source "$(dirname "$0")/../cli/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "skipped: the test Slurm runs its daemons as root"; exit 77; }
source "$(dirname "$0")/slurm.sh"
trap cluster_cleanup_checked EXIT
slurm_up || { fail "Slurm did not start"; finish; }
make_job_data
small=(--layers 784,32,10 --batch-size 64 --log-every 20 --checkpoint-every-seconds 0)

# 1. sbatch with overrides: 2 ranks as one MPI job
id=$(DMLP_RUN_DIR=$WORK/run-basic submit --wait launch/slurm/train.sbatch "${small[@]}" --epochs 1)
log=$WORK/job-$id.out
grep -q "2 ranks on 1 node" "$log" && grep -q "^finished: 47 steps" "$log" \
  && pass "sbatch: 2 ranks as one job, --epochs 1 overriding the script's 30" || { fail "sbatch run"; tail -5 "$log"; }
grep -q "hosts      $(hostname): ranks 0-1 (1 thread each" "$log" && pass "srun placed 1 thread per rank (--cpus-per-task)" \
  || fail "hosts line: $(grep hosts "$log")"

# srun directly, and one rank with two threads through the script
out=$(srun -n 2 --mpi=pmix --chdir="$REPO" "$DMLP" train --synthetic blobs --layers 20,8,3 --samples 500 2>&1)
grep -q "2 ranks on 1 node" <<<"$out" && grep -q "^finished" <<<"$out" && pass "srun -n 2 --mpi=pmix: one job of 2 ranks" \
  || { fail "srun direct"; tail -3 <<<"$out"; }
id=$(DMLP_RUN_DIR=$WORK/run-hybrid submit --wait --ntasks-per-node=1 --cpus-per-task=2 launch/slurm/train.sbatch \
     "${small[@]}" --epochs 1)
grep -q "hosts      $(hostname): rank 0 (2 threads each" "$WORK/job-$id.out" \
  && pass "--cpus-per-task=2: the rank runs 2 threads" || { fail "hybrid: $(grep -E "threads|hosts" "$WORK/job-$id.out")"; }

# 2. preemption: USR1 before the time limit saves, exits 75, requeues; the
# resumed run ends where an uninterrupted one does. Slurm checks time limits
# every 30 s, so with --time=2 and USR1@80 the signal comes 10-40 s in. The run
# holds after step 200 until it does (DMLP_TEST_HOLD_AFTER_STEP, exported to the
# job and kept across the requeue, where the resumed run never meets step 200
# again), so it stops there whatever the machine's speed. The uninterrupted run
# goes first, outside Slurm, with the same options (the script's defaults
# overridden): an mpirun starting while srun launches a step can make the
# step's launch fail.
long=(--layers 784,64,10 --batch-size 128 --lr 0.05 --momentum 0.9 --nesterov --lr-schedule cosine
      --weight-decay 5e-4 --epochs 400 --max-steps 600 --log-every 100 --checkpoint-every-seconds 0)
last=ckpt-000000600.h5
timeout 120 "$MPIEXEC" -np 2 --bind-to none "$DMLP" train --train "$DMLP_DATA/train.h5" --test "$DMLP_DATA/test.h5" \
  "${long[@]}" --checkpoint-dir "$WORK/run-whole" > "$WORK/whole.out" 2>&1 || fail "the uninterrupted run"
id=$(DMLP_TEST_HOLD_AFTER_STEP=200 DMLP_RUN_DIR=$WORK/run-preempted submit --time=2 --signal=USR1@80 \
     launch/slurm/train.sbatch "${long[@]}")
# running, then held at step 200 (an event in its log), then requeued by the signal
wait_state "$id" RUNNING || { fail "job $id did not start"; grep -i error "$SLURM_DIR/slurmd.log" | tail -8; }
for _ in $(seq 600); do grep -q "^test hold: after step 200" "$WORK/job-$id.out" 2>/dev/null && break; sleep 0.2; done
wait_state "$id" PENDING COMPLETED FAILED && [ "$(job_state "$id")" = PENDING ] \
  || { fail "job $id was not requeued: $(job_state "$id")"; tail -5 "$WORK/job-$id.out"; }
grep -q "stopped at step 200 of 600 on a signal" "$WORK/job-$id.out" && grep -q "requeueing job $id" "$WORK/job-$id.out" \
  && pass "USR1@80: checkpoint, exit 75, requeued ($(grep -o "stopped at step [0-9]*" "$WORK/job-$id.out"))" \
  || fail "no stop and requeue in the log"
# No second signal, and not Slurm's requeue hold; but the restart at least two seconds after the
# requeue: slurmd revokes the job's credential when it requeues, at a one-second resolution, and a
# restart within that second fails ("Job credential revoked"; the requeued job ended FAILED).
scontrol update JobId="$id" TimeLimit=10 StartTime=now+2
wait_state "$id" COMPLETED FAILED && [ "$(job_state "$id")" = COMPLETED ] && pass "the requeued job finished" \
  || { fail "requeued job: $(job_state "$id")"; tail -5 "$WORK/job-$id.out"; }
grep -q "resuming from .*run-preempted/checkpoints/ckpt-000000200.h5" "$WORK/job-$id.out" \
  && pass "it resumed from its checkpoint" || fail "no resume in the log"
[ "$(grep -c "^dmlp job $id" "$WORK/job-$id.out")" -eq 2 ] && pass "one log across the requeue (--open-mode=append)" \
  || fail "log of the first attempt lost"
expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/run-whole/$last" --compare "$WORK/run-preempted/checkpoints/$last"

# 3. scancel --signal=TERM saves, then the job requeues; cancel it for good.
# The job holds after step 20 until the signal, and the test sends it once the
# job's log says so.
id=$(DMLP_TEST_HOLD_AFTER_STEP=20 DMLP_RUN_DIR=$WORK/run-term submit launch/slurm/train.sbatch "${long[@]}" --log-every 20)
wait_state "$id" RUNNING
for _ in $(seq 600); do grep -q "^test hold: after step 20" "$WORK/job-$id.out" 2>/dev/null && break; sleep 0.2; done
scancel --signal=TERM "$id"
wait_state "$id" PENDING && [ -f "$WORK/run-term/checkpoints/ckpt-000000020.h5" ] \
  && grep -q "stopped at step 20 of 600 on a signal" "$WORK/job-$id.out" \
  && pass "scancel --signal=TERM: checkpoint written, job requeued" || { fail "TERM"; tail -5 "$WORK/job-$id.out"; }
scancel "$id"
wait_state "$id" CANCELLED && pass "a plain scancel ends it" || fail "scancel: $(job_state "$id")"

# 4. a job array over a grid of two settings, then the collect step as a dependent job
printf '%s\n' "# two learning rates" "--lr 0.05" "" "--lr 0.2 --seed 3" > "$WORK/grid.txt"
array=$(DMLP_SWEEP_DIR=$WORK/sweep submit --array=1-2 launch/slurm/sweep.sbatch "$WORK/grid.txt" \
        "${small[@]}" --epochs 1)
submit --wait --dependency=afterany:"$array" \
  --wrap "python3 launch/slurm/collect-sweep.py $WORK/sweep $WORK/sweep.csv" > /dev/null
python3 - "$WORK/sweep.csv" <<'PY' && pass "job array: 2 tasks, one CSV with their final metrics" || { fail "sweep CSV"; cat "$WORK/sweep.csv"; }
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["options"] for r in rows] == ["--lr 0.05", "--lr 0.2 --seed 3"], rows
assert all(r["finished"] == "True" and r["steps"] == "47" and 0 <= float(r["test_accuracy"]) <= 1 for r in rows), rows
PY
finish
