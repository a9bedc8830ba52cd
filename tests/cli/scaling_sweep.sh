# launch/scaling-sweep.sh at 1-2 ranks with a few steps: the CSV has the
# documented header and one row per run, with sane numbers; the figure is a
# real PNG; launch/plot-metrics.py draws a training curve. Skipped (77) after
# the CSV checks when no python3 has matplotlib.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

OUT="$WORK/sweep" DMLP="$DMLP" LAUNCH="$MPIEXEC -np" LAYERS=20,64,10 BATCH=64 PER_RANK=32 STEPS=10 PLOT=auto \
  bash "$root/launch/scaling-sweep.sh" 2 1 > "$WORK/sweep.log" 2>&1 || { fail "the sweep failed"; tail "$WORK/sweep.log"; }
python3 - "$WORK/sweep/scaling.csv" <<'PY' && pass "scaling.csv: header and 4 rows (strong and weak at 1 and 2 ranks)" || fail "scaling.csv"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
phases = ["data", "forward", "backward", "reduction", "allreduce_wait", "update"]
expected = (["mode", "nodes", "ranks", "threads_per_rank", "global_batch", "per_rank_batch", "micro_batch",
             "reproducible", "precision", "parameters", "steps", "samples_per_s", "speedup", "efficiency", "step_s"]
            + [f"{p}_{s}_s" for p in phases for s in ("max", "mean")]
            + ["gradient_bytes", "buckets", "overlap", "dmlp_version", "hosts", "blas", "blas_kernel", "mpi"])
header = list(rows[0].keys()) if rows else []
assert header == expected, f"header {header}"
assert [(r["mode"], r["ranks"]) for r in rows] == [("strong", "1"), ("strong", "2"), ("weak", "1"), ("weak", "2")], rows
for r in rows:
    assert float(r["samples_per_s"]) > 0 and float(r["step_s"]) > 0, r
    assert int(r["parameters"]) == 20 * 64 + 64 + 64 * 10 + 10 and r["precision"] == "float", r
    assert int(r["gradient_bytes"]) == 4 * int(r["parameters"]), r["gradient_bytes"]
    assert r["blas_kernel"] and r["dmlp_version"] and r["hosts"], r
    assert float(r["data_max_s"]) >= float(r["data_mean_s"]) * 0.999, r
assert rows[0]["speedup"] == "1" and rows[0]["efficiency"] == "1", rows[0]
assert rows[1]["per_rank_batch"] == "32" and rows[3]["global_batch"] == "64", rows
PY
grep -q "strong     2     64       32" "$WORK/sweep.log" && pass "the printed table" || fail "table: $(cat "$WORK/sweep.log")"
expect_exit 2 "'p' is not a positive count" -- bash "$root/launch/scaling-sweep.sh" p

python=""
for p in python3 /usr/bin/python3; do "$p" -c "import matplotlib" 2>/dev/null && python=$p && break; done
if [ -z "$python" ]; then
  echo "SKIP: no python3 with matplotlib (bash launch/setup.sh --plot): the figures are not checked"
  [ "$failures" -eq 0 ] && exit 77 || finish
fi
is_png() {  # FILE MIN_BYTES
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] && [ "$(stat -c %s "$1")" -gt "$2" ]
}
is_png "$WORK/sweep/scaling.png" 10000 && pass "scaling.png: PNG signature, $(stat -c %s "$WORK/sweep/scaling.png") bytes" \
  || fail "scaling.png missing or not a PNG: $(ls -la "$WORK/sweep")"
"$python" "$root/launch/plot-metrics.py" "$WORK/sweep/metrics/strong-2.jsonl" "$WORK/curve.png" > /dev/null \
  && is_png "$WORK/curve.png" 10000 && pass "plot-metrics.py: a training-curve PNG" || fail "plot-metrics.py"
finish
