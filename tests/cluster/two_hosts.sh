# Two hosts (network namespaces, Open MPI over TCP between them): the same
# parameters as on one host at the same P, bit for bit, and within rounding of
# one process; a start-up summary that names both hosts and their ranks; the
# all-reduce share in --metrics; and a killed rank on the second host, or the
# link to it going down, ending the whole job.
source "$(dirname "$0")/../cli/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "skipped: network namespaces need root"; exit 77; }
source "$(dirname "$0")/netns.sh"
trap 'hosts_down; rm -rf "$WORK"' EXIT
hosts_up || { fail "could not create the network namespaces"; finish; }
printf 'h1 slots=1\nh2 slots=1\n' > "$WORK/hosts-2x1"
printf 'h1 slots=2\nh2 slots=2\n' > "$WORK/hosts-2x2"

model=(train --synthetic blobs --layers 30,64,64,5 --samples 4000 --test-samples 500 --batch-size 64
       --max-steps 60 --momentum 0.9 --nesterov --log-every 10 --threads 1)
last=ckpt-000000060.h5
relative() { sed -n 's/.*relative to max |parameter| \([0-9.e+-]*\).*/\1/p'; }
allreduce_share() {  # mean all-reduce wait / mean step time over the logged steps
  python3 - "$1" <<'PY'
import json, sys
steps = [r["phase_seconds"]["mean"] for r in map(json.loads, open(sys.argv[1])) if r["event"] == "step"]
print(f'{sum(s["allreduce_wait"] for s in steps) / sum(sum(s.values()) for s in steps):.4f}')
PY
}

for layout in 2x1 2x2; do
  np=$(( ${layout%x*} * ${layout#*x} ))
  out=$(on_hosts "$WORK/hosts-$layout" "$np" "$DMLP" "${model[@]}" --checkpoint-dir "$WORK/two-$layout" \
        --metrics "$WORK/metrics-$layout.jsonl" 2>&1)
  rc=$?
  [ "$rc" -eq 0 ] && pass "$layout: trained across two hosts" || { fail "$layout: exit $rc"; echo "$out" | tail -5; continue; }
  grep -q "$np ranks on 2 nodes" <<<"$out" && pass "$layout: $np ranks on 2 nodes" || fail "$layout: node count"
  if [ "$layout" = 2x1 ]; then h1="h1: rank 0 " h2="h2: rank 1 "; else h1="h1: ranks 0-1 " h2="h2: ranks 2-3 "; fi
  grep -q "hosts      $h1(1 thread each" <<<"$out" && grep -q "             $h2(1 thread each" <<<"$out" \
    && pass "$layout: the summary lists both hosts and their ranks" || { fail "$layout: hosts"; grep -A2 hosts <<<"$out"; }
  share=$(allreduce_share "$WORK/metrics-$layout.jsonl")
  python3 -c "import sys; sys.exit(0 if 0 < $share < 1 else 1)" && pass "$layout: --metrics all-reduce share $share" \
    || fail "$layout: all-reduce share '$share'"
  timeout 120 "$MPIEXEC" -np "$np" "$DMLP" "${model[@]}" --checkpoint-dir "$WORK/one-$layout" > /dev/null 2>&1
  expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/two-$layout/$last" --compare "$WORK/one-$layout/$last"
done

"$DMLP" "${model[@]}" --checkpoint-dir "$WORK/alone" > /dev/null 2>&1
rel=$("$DMLP" inspect "$WORK/two-2x1/$last" --compare "$WORK/alone/$last" | relative)
python3 -c "import sys; sys.exit(0 if float('${rel:-1}') <= 1e-5 else 1)" && pass "2 hosts within $rel of one process" \
  || fail "2 hosts differ from one process by '$rel'"

# A rank killed on the second host, once training runs (a progress line), ends
# the whole job. The runs below have no end of their own, whatever the speed.
on_hosts "$WORK/hosts-2x1" 2 "$DMLP" train --synthetic blobs --layers 30,64,5 --samples 100000 --epochs 1000000000 \
  --batch-size 64 --threads 1 --log-every 100 > "$WORK/killed.out" 2>&1 &
launcher=$!
for _ in $(seq 600); do grep -q "^step" "$WORK/killed.out" 2>/dev/null && break; sleep 0.2; done
start=$(date +%s)
kill_dmlp_on h2 KILL
timeout 60 tail --pid="$launcher" -f /dev/null
wait "$launcher"
rc=$?
elapsed=$(( $(date +%s) - start ))
[ "$rc" -ne 0 ] && [ "$elapsed" -le 30 ] && pass "a rank killed on h2 ended the job in ${elapsed}s (exit $rc)" \
  || { fail "after SIGKILL on h2: exit $rc after ${elapsed}s"; tail -5 "$WORK/killed.out"; }

# The link to h2 goes down mid-run: the stall watchdog names ranks 2 and 3 on
# h2, rank 1 (on h1 with rank 0) leaves mpirun its chance rather than abort
# across the dead link, and the job ends within --stall-timeout + 30 s.
on_hosts "$WORK/hosts-2x2" 4 "$DMLP" train --synthetic blobs --layers 30,64,5 --samples 100000 --epochs 1000000000 \
  --batch-size 64 --threads 1 --log-every 1000000 --stall-timeout 5 > "$WORK/cut.out" 2>&1 &
launcher=$!
for _ in $(seq 600); do grep -q "^step" "$WORK/cut.out" 2>/dev/null && break; sleep 0.2; done
start=$(date +%s)
cut_h2
timeout 60 tail --pid="$launcher" -f /dev/null
wait "$launcher"
rc=$?
elapsed=$(( $(date +%s) - start ))
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$elapsed" -le 35 ] \
  && pass "link to h2 down: the job ended in ${elapsed}s (exit $rc)" || fail "link to h2 down: exit $rc after ${elapsed}s"
grep -Eq "^  rank 2 on h2: " "$WORK/cut.out" && grep -Eq "^  rank 3 on h2: " "$WORK/cut.out" \
  && grep -q "^  waiting: ranks 0-1" "$WORK/cut.out" \
  && pass "the unreachable ranks are named: $(grep -E '^  rank [23] on h2: ' "$WORK/cut.out" | tr -s ' ' | tr '\n' ';')" \
  || { fail "ranks 2-3 on h2 not named"; grep -v "^step\|^epoch" "$WORK/cut.out" | tail -12; }
grep -q "^\[rank 1\] error" "$WORK/cut.out" && fail "rank 1 reported too: $(grep '^\[rank 1\]' "$WORK/cut.out")" \
  || pass "rank 1 left the report to rank 0"
finish
