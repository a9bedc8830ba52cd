# Bad input: one clear line naming the problem, exit code 2, alone or under mpirun.
source "$(dirname "$0")/lib.sh"

blobs=(train --synthetic blobs --samples 200 --epochs 1)
expect_exit 2 "width 0 in '784,0,10' must be positive" -- "$DMLP" "${blobs[@]}" --layers 784,0,10
expect_exit 2 "'x' in '20,x,3' is not an integer" -- "$DMLP" "${blobs[@]}" --layers 20,x,3
expect_exit 2 "needs at least 2 widths" -- "$DMLP" "${blobs[@]}" --layers 20
expect_exit 2 "unknown activation 'relu6'" -- "$DMLP" "${blobs[@]}" --layers 20,3 --activation relu6
expect_exit 2 "unknown loss 'crossentropy'" -- "$DMLP" "${blobs[@]}" --layers 20,3 --loss crossentropy
expect_exit 2 "hinge needs 1 output.*10" -- "$DMLP" "${blobs[@]}" --layers 20,10 --loss hinge
expect_exit 2 "bce needs 1 output" -- "$DMLP" "${blobs[@]}" --layers 20,3 --loss bce
expect_exit 2 "--lr -0.5 must be positive" -- "$DMLP" "${blobs[@]}" --layers 20,3 --lr -0.5
expect_exit 2 "--lr-bias -1 must be positive" -- "$DMLP" "${blobs[@]}" --layers 20,3 --lr-bias -1
expect_exit 2 "--batch-size 0 must be positive" -- "$DMLP" "${blobs[@]}" --layers 20,3 --batch-size 0
expect_exit 2 "--epochs 0 must be positive" -- "$DMLP" train --synthetic blobs --layers 20,3 --epochs 0
expect_exit 2 "--samples -5 must be positive" -- "$DMLP" train --synthetic blobs --layers 20,3 --samples -5
expect_exit 2 "has 12 classes.*fits 10" -- "$DMLP" "${blobs[@]}" --layers 20,10 --classes 12
expect_exit 2 "xor needs at least 2 inputs" -- "$DMLP" train --synthetic xor --layers 1,4,2 --samples 100
expect_exit 2 "does not fit regression data" -- "$DMLP" train --synthetic regression --layers 5,2 --samples 100
expect_exit 2 "no training data" -- "$DMLP" train --layers 20,3
expect_exit 2 "The following argument was not expected: --bogus|--bogus" -- "$DMLP" train --bogus
expect_exit 2 "unknown synthetic data set 'moons'" -- "$DMLP" train --synthetic moons --layers 2,2
# optimizer settings out of range, and options the chosen optimizer does not use
expect_exit 2 "--beta2 1 must be in \[0, 1\)" -- "$DMLP" "${blobs[@]}" --layers 20,3 --optimizer adamw --beta2 1
expect_exit 2 "--beta1 -0.1 must be in \[0, 1\)" -- "$DMLP" "${blobs[@]}" --layers 20,3 --optimizer lamb --beta1 -0.1
expect_exit 2 "--eps -1e-08 must be positive" -- "$DMLP" "${blobs[@]}" --layers 20,3 --optimizer adamw --eps -1e-8
expect_exit 2 "--trust-coefficient 0 must be positive" -- "$DMLP" "${blobs[@]}" --layers 20,3 --optimizer lars --trust-coefficient 0
expect_exit 2 "unknown --optimizer 'adam' \(expected sgd\|adamw\|lars\|lamb\)" -- "$DMLP" "${blobs[@]}" --layers 20,3 --optimizer adam
expect_exit 2 "--beta1 is an option of adamw and lamb; --optimizer sgd does not use it" -- "$DMLP" "${blobs[@]}" --layers 20,3 --beta1 0.8
expect_exit 2 "--momentum is an option of sgd and lars; --optimizer adamw does not use it" -- \
  "$DMLP" "${blobs[@]}" --layers 20,3 --optimizer adamw --momentum 0.9
expect_exit 2 "--trust-coefficient is an option of lars; --optimizer lamb does not use it" -- \
  "$DMLP" "${blobs[@]}" --layers 20,3 --optimizer lamb --trust-coefficient 0.01
expect_exit 2 "--nesterov is an option of sgd; --optimizer lars does not use it" -- \
  "$DMLP" "${blobs[@]}" --layers 20,3 --optimizer lars --nesterov
expect_exit 2 "--lr-reference-batch is used by --lr-scaling linear or sqrt" -- "$DMLP" "${blobs[@]}" --layers 20,3 --lr-reference-batch 64
expect_exit 2 "unknown --lr-scaling 'log'" -- "$DMLP" "${blobs[@]}" --layers 20,3 --lr-scaling log
expect_exit 2 "--lr-reference-batch 0 must be positive" -- "$DMLP" "${blobs[@]}" --layers 20,3 --lr-scaling linear --lr-reference-batch 0
expect_exit 2 "--lr x --weight-decay is 1.5: AdamW scales" -- "$DMLP" "${blobs[@]}" --layers 20,3 --optimizer adamw --lr 0.5 --weight-decay 3
# valid but likely wrong: LARS's large rate on the biases, which have no trust ratio
expect_exit 0 "warning: --optimizer lars trains the biases at --lr 5 with no trust ratio.*give --lr-bias" -- \
  "$DMLP" train --synthetic blobs --samples 200 --max-steps 2 --layers 20,3 --optimizer lars --lr 5
out=$("$DMLP" train --synthetic blobs --samples 200 --max-steps 2 --layers 20,3 --optimizer lars --lr 5 --lr-bias 0.1 2>&1)
grep -q "trains the biases" <<<"$out" && fail "LARS warned although --lr-bias was given" || pass "no LARS warning with --lr-bias"
# the same under mpirun: every rank stops, one line is printed
expect_exit 2 "^\[rank 0\] error: --layers: width 0" -- "$MPIEXEC" -np 2 "$DMLP" "${blobs[@]}" --layers 784,0,10
out=$("$MPIEXEC" -np 3 "$DMLP" "${blobs[@]}" --layers 20,3 --lr 0 2>&1)
count=$(grep -c "error: --lr 0 must be positive" <<<"$out")
[ "$count" -eq 1 ] && pass "3 ranks print the error once" || fail "error printed $count times by 3 ranks"
# a launcher that announces N tasks while MPI starts each process alone (srun without --mpi=pmix)
expect_exit 2 "SLURM_NTASKS=2 says this job has 2 tasks, but MPI started this process alone.*srun --mpi=pmix" -- \
  env -u OMPI_COMM_WORLD_SIZE -u PMIX_SIZE -u PMI_SIZE SLURM_NTASKS=2 "$DMLP" "${blobs[@]}" --layers 20,3
expect_exit 0 "finished" -- env SLURM_NTASKS=1 "$DMLP" "${blobs[@]}" --layers 20,3
# an option given twice: the last value wins (launch scripts append overrides to their defaults)
expect_exit 0 "finished: 4 steps" -- "$DMLP" train --synthetic blobs --samples 200 --batch-size 50 --layers 20,3 \
  --epochs 3 --epochs 1
# gradcheck: exits non-zero when the error is above its threshold
expect_exit 0 "PASSED" -- "$DMLP" gradcheck --layers 4,6,5,3 --activation sigmoid --batch-size 3
expect_exit 1 "FAILED" -- "$DMLP" gradcheck --layers 4,6,5,3 --activation sigmoid --batch-size 3 --threshold 1e-30
# more threads than cores: capped, with a word, not thousands of threads that fail to start
expect_exit 0 "warning: --threads 100000 is more than the [0-9]+ cores here; using [0-9]+.*PASSED" -- \
  "$DMLP" gradcheck --layers 4,6,3 --batch-size 3 --threads 100000
expect_exit 0 "Usage|usage" -- "$DMLP" train --help
finish
