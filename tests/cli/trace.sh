# --trace: a Chrome trace-event JSON file that parses, holds one process per
# rank, and for each traced step the expected spans, correctly nested; the
# all-reduce buckets on their own lane; nothing outside the window.
source "$(dirname "$0")/lib.sh"

check_trace() {  # FILE RANKS FIRST LAST LAYERS [--exact]
  python3 - "$@" <<'PY'
import json, sys
path, ranks, first, last, layers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
exact = "--exact" in sys.argv
events = json.load(open(path))["traceEvents"]
spans = [e for e in events if e["ph"] == "X"]
pids = sorted({e["pid"] for e in events})
assert pids == list(range(ranks)), f"pids {pids}, expected 0..{ranks - 1}"
names = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
assert all(names[r].startswith(f"rank {r} (") for r in range(ranks)), names
steps = sorted({e["args"]["step"] for e in spans})
assert steps == list(range(first, last + 1)), f"traced steps {steps}, expected {first}..{last}"
if exact:
    expected = {"step", "data", "micro-batches", "exact sums", "allreduce wait", "update"}
    parents = {}
else:
    expected = {"step", "data", "forward", "loss", "backward", "allreduce wait", "update"}
    expected |= {f"forward layer {k}" for k in range(1, layers + 1)} | {f"backward layer {k}" for k in range(1, layers + 1)}
    parents = {f"forward layer {k}": "forward" for k in range(1, layers + 1)}
    parents.update({f"backward layer {k}": "backward" for k in range(1, layers + 1)})
    parents["loss"] = "forward"
def base(name):  # "micro-batches 2" (threads at once) -> "micro-batches"
    return "micro-batches" if name.startswith("micro-batches ") else name
for name in ("data", "forward", "backward", "allreduce wait", "update", "micro-batches", "exact sums"):
    parents.setdefault(name, "step")
for rank in range(ranks):
    for step in steps:
        mine = sorted((e for e in spans if e["pid"] == rank and e["args"]["step"] == step and e["tid"] == 0),
                      key=lambda e: (e["ts"], -e["dur"]))
        got = {base(e["name"]) for e in mine}
        missing = expected - got
        assert not missing, f"rank {rank} step {step}: missing {sorted(missing)}"
        stack = []  # nesting: each span lies inside the innermost open one that contains it
        for e in mine:
            while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"] - 1e-3:
                stack.pop()
            if stack:
                assert e["ts"] + e["dur"] <= stack[-1]["ts"] + stack[-1]["dur"] + 1e-3, \
                    f"rank {rank} step {step}: {e['name']} overlaps {stack[-1]['name']} without nesting"
            want = parents.get(base(e["name"]))
            if want:
                assert stack and stack[-1]["name"].startswith(want), \
                    f"rank {rank} step {step}: {e['name']} inside {stack[-1]['name'] if stack else 'nothing'}, expected {want}"
            stack.append(e)
        comm = [e for e in spans if e["pid"] == rank and e["args"]["step"] == step and e["tid"] >= 1]
        if ranks > 1 and not exact:
            # one lane per bucket: spans on a lane never overlap (viewers drop overlapping ones)
            assert len({e["tid"] for e in comm}) == 2, f"rank {rank} step {step}: lanes {[e['tid'] for e in comm]}"
            # the plain all-reduce's buckets, or the node path's sums (--reduction node, the default)
            assert all(e["name"] in (f"all-reduce bucket {e['tid']}", f"node sum bucket {e['tid']}") and e["dur"] >= 0
                       for e in comm), comm
for rank in range(ranks):
    for tid in {e["tid"] for e in spans if e["pid"] == rank and e["tid"] >= 1}:
        lane = sorted((e for e in spans if e["pid"] == rank and e["tid"] == tid), key=lambda e: e["ts"])
        for a, b in zip(lane, lane[1:]):
            assert b["ts"] >= a["ts"] + a["dur"] - 1e-3, f"rank {rank} lane {tid}: {a} overlaps {b}"
print(f"ok: {len(spans)} spans, ranks {pids}, steps {steps}")
PY
}

run=(train --synthetic blobs --layers 20,64,32,5 --samples 1000 --batch-size 100 --epochs 2 --threads 1 --log-every 5)
for np in 1 2 3; do
  out=$("$MPIEXEC" -np "$np" "$DMLP" "${run[@]}" --bucket-mb 0.001 --trace "$WORK/t$np.json" --trace-steps 9:11 \
        --checkpoint-dir "$WORK/ckpt$np" --checkpoint-every 10 2>&1)
  grep -q "trace of steps 9-11 written to $WORK/t$np.json" <<<"$out" || fail "P=$np: no trace note: $out"
  result=$(check_trace "$WORK/t$np.json" "$np" 9 11 3 2>&1) && pass "P=$np: $result" || fail "P=$np: $result"
  # the step that ends an epoch also holds its evaluation, and the checkpoint write
  python3 -c "
import json, sys
e = [x for x in json.load(open(sys.argv[1]))['traceEvents'] if x['ph'] == 'X' and x['args']['step'] == 10]
names = {x['name'] for x in e}
assert {'evaluation', 'checkpoint write'} <= names, names" "$WORK/t$np.json" \
    && pass "P=$np: step 10 holds the evaluation and the checkpoint write" || fail "P=$np: step 10 lacks them"
done
# --reproducible steps have their own phases
"$MPIEXEC" -np 2 "$DMLP" "${run[@]}" --reproducible --trace "$WORK/exact.json" --trace-steps 2:3 > /dev/null 2>&1 \
  || fail "the reproducible traced run failed"
result=$(check_trace "$WORK/exact.json" 2 2 3 3 --exact 2>&1) && pass "--reproducible: $result" || fail "--reproducible: $result"
# a window the run never reaches: said so, and the file is still valid JSON
out=$("$DMLP" "${run[@]}" --trace "$WORK/late.json" --trace-steps 100:200 2>&1)
grep -q "warning: --trace $WORK/late.json: no step of this run fell in --trace-steps 100:200 (it ran steps 1-20)" <<<"$out" \
  && python3 -c "import json, sys; json.load(open(sys.argv[1]))" "$WORK/late.json" \
  && pass "a window past the run: warned, valid JSON" || fail "window past the run: $out"
# a diverging run still leaves its timeline
expect_exit 3 "diverged at step" -- "$DMLP" "${run[@]}" --lr 1e20 --trace "$WORK/diverged.json" --trace-steps 1:5
python3 -c "import json, sys; assert any(e['ph'] == 'X' for e in json.load(open(sys.argv[1]))['traceEvents'])" \
  "$WORK/diverged.json" && pass "the diverged run wrote its trace" || fail "no trace after divergence"
# files the trace must not overwrite
"$DMLP" "${run[@]}" --max-steps 3 --checkpoint-dir "$WORK/ck" > /dev/null 2>&1
expect_exit 2 "--trace $WORK/m.jsonl is the --metrics file" -- "$DMLP" "${run[@]}" --trace "$WORK/m.jsonl" --metrics "$WORK/m.jsonl"
expect_exit 2 "is the --resume file: writing it would destroy that file" -- \
  "$DMLP" "${run[@]}" --resume "$WORK/ck/ckpt-000000003.h5" --trace "$WORK/ck/ckpt-000000003.h5"
expect_exit 2 "--trace-steps 2:3 needs --trace FILE" -- "$DMLP" "${run[@]}" --trace-steps 2:3
# bad values
expect_exit 2 "--trace-steps '5' \(expected A:B" -- "$DMLP" "${run[@]}" --trace "$WORK/x.json" --trace-steps 5
expect_exit 2 "--trace-steps 7:3 must be A:B with 1 <= A <= B" -- "$DMLP" "${run[@]}" --trace "$WORK/x.json" --trace-steps 7:3
expect_exit 2 "--trace $WORK is a directory" -- "$DMLP" "${run[@]}" --trace "$WORK"
finish
