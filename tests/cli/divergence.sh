# Divergence: a run whose gradients become NaN or infinite stops with exit 3,
# names the step and the last finite loss, writes no checkpoint of non-finite
# parameters and prunes none of the good ones.
source "$(dirname "$0")/lib.sh"

run=(train --synthetic blobs --layers 20,32,5 --samples 2000 --batch-size 50 --threads 1
     --checkpoint-dir "$WORK/ckpt" --checkpoint-every 10 --keep-checkpoints 3 --log-every 5)
"$DMLP" "${run[@]}" --epochs 1 > /dev/null 2>&1 || fail "the healthy run failed"
before=$(cd "$WORK/ckpt" && ls && md5sum ckpt-*.h5)
[ "$(ls "$WORK/ckpt" | wc -l)" -eq 3 ] && pass "three good checkpoints" || fail "checkpoints: $(ls "$WORK/ckpt")"

for np in 1 2; do
  expect_exit 3 "\[rank 0\] error: diverged at step 4[1-9]: the gradient summed over the ranks holds NaN or infinite values; (the last loss reported, at step 4[0-9], was [0-9.e+-]+|no loss was logged before it \\(--log-every\\))\. Nothing non-finite was written" -- \
    timeout 60 "$MPIEXEC" -np "$np" "$DMLP" "${run[@]}" --epochs 3 --resume "$WORK/ckpt" --lr 1e6
  after=$(cd "$WORK/ckpt" && ls && md5sum ckpt-*.h5)
  [ "$after" = "$before" ] && pass "P=$np: the good checkpoints are untouched, none added" \
    || { fail "P=$np: checkpoints changed"; echo "$after"; }
done
# a divergence in a fresh run, before any loss was reported, and one after
expect_exit 3 "diverged at step 18: .*the last loss reported, at step 10, was [0-9.e+]+\." -- \
  "$DMLP" train --synthetic blobs --layers 20,32,5 --samples 2000 --batch-size 50 --lr 100 --epochs 5 --log-every 10
expect_exit 3 "diverged at step [12]: .*no loss was logged before it \\(--log-every\\)" -- \
  "$DMLP" train --synthetic blobs --layers 20,32,5 --samples 2000 --batch-size 50 --lr 1e30 --log-every 100
# parameters that overflow on the very last update (the gradient was finite):
# features of 1e30 give gradients near 1e29, and --lr 1e10 takes them past float's 3.4e38
printf '1e30,2e30,0\n-2e30,1e30,1\n3e30,-1e30,0\n-1e30,-3e30,1\n' > "$WORK/huge.csv"
"$DMLP" convert csv --in "$WORK/huge.csv" --out "$WORK/huge.h5" > /dev/null
expect_exit 3 "diverged at step 1: the parameters hold NaN or infinite values after the last update" -- \
  "$DMLP" train --train "$WORK/huge.h5" --layers 2,2 --lr 1e10 --max-steps 1
# finite parameters too large for the test set's outputs to be finite: the final evaluation says so
expect_exit 3 "diverged at step 1: the test loss on synthetic blobs \(seed 1\) is -?nan: the parameters are too large" -- \
  "$DMLP" train --synthetic blobs --layers 20,32,5 --lr 3e38 --max-steps 1
# a rate beyond float itself (here after scaling by the batch) is bad input, not a divergence
expect_exit 2 "--lr 1e\+38 \(--lr-scaling linear made it 1.28e\+40\) is beyond the range of float32" -- \
  "$DMLP" train --synthetic blobs --layers 20,32,5 --lr 1e38 --lr-scaling linear --lr-reference-batch 1 --max-steps 1
# and the good checkpoints still resume
expect_exit 0 "finished: 80 steps" -- "$DMLP" "${run[@]}" --epochs 2 --resume "$WORK/ckpt"
finish
