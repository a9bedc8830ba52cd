# What a user sees: the start-up summary, plain progress lines without a TTY,
# the metrics file, the final line; and the no-hidden-layer models.
source "$(dirname "$0")/lib.sh"

out=$("$MPIEXEC" -np 2 "$DMLP" train --synthetic blobs --layers 20,32,5 --samples 2000 --epochs 2 \
      --batch-size 50 --log-every 10 --metrics "$WORK/m.jsonl" 2>&1)
rc=$?
[ "$rc" -eq 0 ] && pass "2-rank training ran" || { fail "exit $rc"; echo "$out" | tail; }
for pattern in "Open MPI" "2 ranks on 1 node" "threads +1 per rank" "hosts +[^ ]+: ranks 0-1 \(1 thread each; [0-9]+ cores?\)" \
               "openmp build" "20-32-5, relu hidden" \
               "837 parameters" "global 50, per rank 25" "bucket" "^step 10/80 +epoch 1 +loss [0-9.]+ +acc" \
               "^epoch 2 done: train loss .* test loss [0-9.]+ accuracy" "^finished: 80 steps"; do
  grep -Eq -- "$pattern" <<<"$out" && pass "output has /$pattern/" || fail "output lacks /$pattern/"
done
lines=$(wc -l < "$WORK/m.jsonl")
[ "$lines" -eq 12 ] && pass "metrics: 1 start + 8 step + 2 epoch + 1 final lines" || fail "metrics has $lines lines"
grep -Eq -- "^finished: 80 steps .*; slowest rank [01] busy [0-9]+% of its step; peak memory [0-9]+ MiB \(rank [01]\), [0-9.]+x the [0-9.]+ MiB of model state, activations and data$" <<<"$out" \
  && pass "the final line names the slowest rank and the peak memory" || fail "final line: $(grep ^finished <<<"$out")"
python3 - "$WORK/m.jsonl" <<'PY' && pass "metrics lines are JSON with phase times" || fail "metrics content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps = [r for r in rows if r["event"] == "step"]
epochs = [r for r in rows if r["event"] == "epoch"]
assert len(steps) == 8 and len(epochs) == 2, (len(steps), len(epochs))
for r in steps + epochs:
    for key in ("loss", "accuracy", "lr", "samples_per_s"):
        assert isinstance(r[key], float), key
    for stat in ("max", "mean"):
        assert set(r["phase_seconds"][stat]) == {"data", "forward", "backward", "reduction", "allreduce_wait", "update"}
        assert r["phase_seconds"]["max"]["backward"] >= r["phase_seconds"]["mean"]["backward"]
    assert set(r["slowest_rank"]) == {"data", "forward", "backward", "reduction", "allreduce_wait", "update"}
    assert all(rank in (0, 1) for rank in r["slowest_rank"].values()), r["slowest_rank"]
assert 0.0 <= epochs[-1]["test"]["accuracy"] <= 1.0
start, final = rows[0], rows[-1]
assert start["event"] == "start" and start["ranks"] == 2 and start["parameters"] == 837, start
assert start["gradient_bytes"] == 837 * 4 and start["global_batch"] == 50 and start["per_rank_batch"] == {"min": 25, "max": 25}
assert [h["ranks"] for h in start["hosts"]] == [[0, 1]] and start["blas"]["kernel"], start
assert final["event"] == "final" and final["slowest_rank"]["rank"] in (0, 1), final
assert 0 < final["slowest_rank"]["busy_fraction"] <= 1, final
# the peak resident set: more than the accounted buffers, within reason (libraries, MPI, BLAS buffers)
assert final["memory"]["peak_rss_bytes"] > final["memory"]["accounted_bytes"] > 2000 * 21 * 4, final
PY

# Linear regression, logistic regression and the SVM: --layers d,1 with no hidden layer.
expect_exit 0 "test mse [0-9.e-]+ r2 0\.9" -- "$DMLP" train --synthetic regression --layers 10,1 --loss mse \
  --samples 2000 --epochs 5 --batch-size 32 --lr 0.05
expect_exit 0 "test loss [0-9.]+ accuracy" -- "$DMLP" train --synthetic blobs --layers 10,1 --loss bce --samples 2000 --epochs 3
expect_exit 0 "test loss [0-9.]+ accuracy" -- "$DMLP" train --synthetic blobs --layers 10,1 --loss hinge --samples 2000 --epochs 3
# --bucket-mb from the command line: 3 buckets or 1, the same sums (at P = 2
# the sum of two numbers does not depend on how the buffer is cut: bitwise).
small=(train --synthetic blobs --layers 20,64,64,5 --samples 2000 --batch-size 50 --max-steps 40 --threads 1
       --momentum 0.9)
out=$(timeout 60 "$MPIEXEC" -np 2 "$DMLP" "${small[@]}" --bucket-mb 0.001 --checkpoint-dir "$WORK/b-small" 2>&1)
grep -q "allreduce  3 buckets (--bucket-mb 0.001)" <<<"$out" && pass "--bucket-mb 0.001: 3 buckets" \
  || fail "bucket line: $(grep allreduce <<<"$out")"
timeout 60 "$MPIEXEC" -np 2 "$DMLP" "${small[@]}" --bucket-mb 100 --checkpoint-dir "$WORK/b-big" > /dev/null 2>&1
expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/b-small/ckpt-000000040.h5" --compare "$WORK/b-big/ckpt-000000040.h5"
# --precision double: float64 checkpoints, within float rounding of the float run
timeout 60 "$MPIEXEC" -np 2 "$DMLP" "${small[@]}" --precision double --checkpoint-dir "$WORK/double" > /dev/null 2>&1
expect_exit 0 "parameters +[0-9]+ float64, checksum [0-9a-f]+ verified" -- "$DMLP" inspect "$WORK/double/ckpt-000000040.h5"
rel=$("$DMLP" inspect "$WORK/double/ckpt-000000040.h5" --compare "$WORK/b-big/ckpt-000000040.h5" |
      sed -n 's/.*relative to max |parameter| \([0-9.e+-]*\).*/\1/p')
python3 -c "import sys; sys.exit(0 if 0 < float('${rel:-1}') <= 1e-4 else 1)" \
  && pass "--precision double within $rel of float32" || fail "double vs float: '$rel'"
# The final line's peak memory is this run's (VmHWM), not that of a large
# process that exec'ed dmlp (getrusage's ru_maxrss survives exec).
out=$(python3 -c "
import os, sys
ballast = bytearray(800 * 2**20)
for i in range(0, len(ballast), 4096): ballast[i] = 1
os.execv(sys.argv[1], sys.argv[1:])" "$DMLP" train --synthetic blobs --layers 4,8,3 --samples 500 --max-steps 5 2>&1)
peak=$(sed -n 's/.*peak memory \([0-9]*\) MiB.*/\1/p' <<<"$out")
[ -n "$peak" ] && [ "$peak" -lt 400 ] && pass "peak memory ${peak} MiB after exec from an 800 MiB process" \
  || fail "peak memory '$peak' MiB after exec from an 800 MiB process"
finish
