# Two hosts (network namespaces, Open MPI over TCP between them): on the
# plain path the same parameters as on one host at the same P, bit for bit; on
# the node path (two ranks a host) the same bits for the same layout twice;
# both within rounding of one process; a start-up summary that names both hosts and their ranks; the
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
  if [ "$layout" = 2x1 ]; then
    # One rank per host has no node to share; one host's two ranks share one,
    # and at two ranks the node path gives the plain path's bits.
    grep -q "reduction  allreduce (one rank per node)" <<<"$out" && pass "2x1: the plain all-reduce across hosts" \
      || fail "2x1: $(grep reduction <<<"$out")"
    timeout 120 "$MPIEXEC" -np "$np" "$DMLP" "${model[@]}" --checkpoint-dir "$WORK/one-$layout" > /dev/null 2>&1
    expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/two-$layout/$last" --compare "$WORK/one-$layout/$last"
    continue
  fi
  grep -q "reduction  node: 2 ranks per node .*then all-reduces it with its 1 peer on the other nodes" <<<"$out" \
    && pass "2x2: the node path, its slice all-reduced across hosts" || fail "2x2: $(grep reduction <<<"$out")"
  # The same layout twice gives the same bits; the plain path gives one host's
  # bits on two hosts (a node's sum and the cross-node sum add in another
  # order than one node of four, so the node path is compared within rounding).
  on_hosts "$WORK/hosts-2x2" 4 "$DMLP" "${model[@]}" --checkpoint-dir "$WORK/again-2x2" > /dev/null 2>&1
  expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/two-2x2/$last" --compare "$WORK/again-2x2/$last"
  on_hosts "$WORK/hosts-2x2" 4 "$DMLP" "${model[@]}" --reduction allreduce --checkpoint-dir "$WORK/plain-2x2" \
    > /dev/null 2>&1
  timeout 120 "$MPIEXEC" -np 4 "$DMLP" "${model[@]}" --reduction allreduce --checkpoint-dir "$WORK/one-2x2" \
    > /dev/null 2>&1
  expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/plain-2x2/$last" --compare "$WORK/one-2x2/$last"
done

"$DMLP" "${model[@]}" --checkpoint-dir "$WORK/alone" > /dev/null 2>&1
for layout in 2x1 2x2; do
  rel=$("$DMLP" inspect "$WORK/two-$layout/$last" --compare "$WORK/alone/$last" | relative)
  python3 -c "import sys; sys.exit(0 if float('${rel:-1}') <= 1e-5 else 1)" \
    && pass "2 hosts ($layout) within $rel of one process" || fail "2 hosts ($layout) differ from one process by '$rel'"
done

# --reproducible: one result on two hosts x two ranks (the node path), on one
# host's four, on the plain path, and in one process, bit for bit.
exact=("${model[@]}" --reproducible --max-steps 20)
on_hosts "$WORK/hosts-2x2" 4 "$DMLP" "${exact[@]}" --checkpoint-dir "$WORK/exact-two" > /dev/null 2>&1 \
  || fail "--reproducible on two hosts"
timeout 120 "$MPIEXEC" -np 4 "$DMLP" "${exact[@]}" --reduction allreduce --checkpoint-dir "$WORK/exact-one" \
  > /dev/null 2>&1 || fail "--reproducible on one host"
"$DMLP" "${exact[@]}" --checkpoint-dir "$WORK/exact-alone" > /dev/null 2>&1 || fail "--reproducible alone"
for other in exact-one exact-alone; do
  expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/exact-two/ckpt-000000020.h5" \
    --compare "$WORK/$other/ckpt-000000020.h5"
done

# Hosts that hold different numbers of ranks (two on h1, one on h2): the
# plain all-reduce, said so, and a data set held once on each host, read
# there by its own ranks.
printf 'h1 slots=2\nh2 slots=1\n' > "$WORK/hosts-2+1"
"$DMLP" synth --kind blobs --rows 3000 --features 30 --classes 5 --seed 4 --out "$WORK/set.h5" > /dev/null
out=$(on_hosts "$WORK/hosts-2+1" 3 "$DMLP" train --train "$WORK/set.h5" --load all --layers 30,32,5 --batch-size 60 \
      --max-steps 30 --threads 1 --checkpoint-dir "$WORK/uneven" 2>&1)
rc=$?
[ "$rc" -eq 0 ] && grep -q "reduction  allreduce (the nodes hold different numbers of ranks" <<<"$out" \
  && grep -q "in memory once per node, shared by its 2 ranks" <<<"$out" \
  && pass "2 + 1 ranks: trained, on the plain all-reduce, the set once per host" \
  || { fail "2 + 1 ranks: exit $rc"; grep -i "reduction\|train \|error" <<<"$out" | head -5; }
timeout 120 "$MPIEXEC" -np 3 "$DMLP" train --train "$WORK/set.h5" --load all --layers 30,32,5 --batch-size 60 \
  --max-steps 30 --threads 1 --reduction allreduce --checkpoint-dir "$WORK/uneven-one" > /dev/null 2>&1
expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/uneven/ckpt-000000030.h5" --compare "$WORK/uneven-one/ckpt-000000030.h5"

# The ranks killed on the second host, once training runs (a progress line),
# end the whole job: two ranks a host, on the node path, their peers on h1
# inside its shared-memory sums. The runs below have no end of their own.
on_hosts "$WORK/hosts-2x2" 4 "$DMLP" train --synthetic blobs --layers 30,64,5 --samples 100000 --epochs 1000000000 \
  --batch-size 64 --threads 1 --log-every 100 > "$WORK/killed.out" 2>&1 &
launcher=$!
for _ in $(seq 600); do grep -q "^step" "$WORK/killed.out" 2>/dev/null && break; sleep 0.2; done
start=$(date +%s)
kill_dmlp_on h2 KILL
timeout 60 tail --pid="$launcher" -f /dev/null
wait "$launcher"
rc=$?
elapsed=$(( $(date +%s) - start ))
[ "$rc" -ne 0 ] && [ "$elapsed" -le 30 ] && pass "the ranks killed on h2 ended the job in ${elapsed}s (exit $rc)" \
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
