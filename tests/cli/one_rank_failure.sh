# A failure on rank 1 alone ends the whole job, non-zero, within seconds, with its message.
source "$(dirname "$0")/lib.sh"

start=$(date +%s)
out=$(DMLP_TEST_FAIL_RANK=1 DMLP_TEST_FAIL_STEP=5 timeout 30 "$MPIEXEC" -np 2 "$DMLP" train \
      --synthetic blobs --layers 20,32,5 --samples 100000 --epochs 50 --batch-size 64 2>&1)
rc=$?
elapsed=$(( $(date +%s) - start ))
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && pass "mpirun exited with $rc" || fail "mpirun exit code $rc (124: timed out)"
[ "$elapsed" -lt 30 ] && pass "ended in ${elapsed}s" || fail "took ${elapsed}s"
grep -q "\[rank 1\] error: injected failure at step 5" <<<"$out" && pass "rank 1's message printed" \
  || { fail "message missing"; echo "$out" | tail -5; }
count=$(grep -c "\[rank 1\] error" <<<"$out")
[ "$count" -eq 1 ] && pass "printed once" || fail "printed $count times"

# and the same with the failure on rank 2 of 3, while rank 0 sits in the all-reduce
out=$(DMLP_TEST_FAIL_RANK=2 DMLP_TEST_FAIL_STEP=3 timeout 30 "$MPIEXEC" -np 3 "$DMLP" train \
      --synthetic blobs --layers 20,32,5 --samples 100000 --epochs 50 --batch-size 64 --no-overlap 2>&1)
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && pass "3 ranks: exited with $rc" || fail "3 ranks: exit code $rc"
grep -q "\[rank 2\] error: injected failure" <<<"$out" && pass "rank 2's message printed" || fail "rank 2 message missing"
finish
