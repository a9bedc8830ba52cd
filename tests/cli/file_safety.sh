# Files are never lost to a command's own outputs: an output that is an input
# (any spelling, a hard or symbolic link) or another output is refused before
# any work, naming both options, and the input is left as it was; devices are
# written in place, never replaced; inputs that are not regular files (FIFOs,
# devices) are refused at once instead of blocking in open(2); one run at a
# time writes a checkpoint directory; what --resume DIR passes over, it names.
source "$(dirname "$0")/lib.sh"
DMLP=$(readlink -f "$DMLP")
cd "$WORK" || exit 1
"$DMLP" synth --kind blobs --rows 400 --features 4 --classes 3 --out train.h5 --test-rows 100 --test-out test.h5 > /dev/null
printf '1,2,0\n3,4,1\n5,6,0\n' > data.csv
printf 'x' > images.idx
"$DMLP" train --train train.h5 --layers 4,8,3 --max-steps 20 --checkpoint-dir ck > /dev/null 2>&1
ln test.h5 hard.h5
ln -s train.h5 soft.h5
sums() { md5sum train.h5 test.h5 data.csv images.idx ck/ckpt-000000020.h5; }
before=$(sums)
t=(train --train train.h5 --test test.h5 --layers 4,8,3 --max-steps 5)

# ---- outputs that are inputs, or each other
expect_exit 2 "--out data.csv is the --in file: writing it would destroy that file" -- \
  "$DMLP" convert csv --in data.csv --out data.csv
expect_exit 2 "--out ./data.csv is the --in file \(data.csv\)" -- "$DMLP" convert csv --in data.csv --out ./data.csv
expect_exit 2 "--out images.idx is the --images file" -- "$DMLP" convert idx --images images.idx --labels data.csv --out images.idx
expect_exit 2 "--out $WORK/data.csv is the --labels file \(data.csv\)" -- \
  "$DMLP" convert idx --images images.idx --labels data.csv --out "$WORK/data.csv"
expect_exit 2 "--out test.h5 is the --test-out file: give each output a file of its own" -- \
  "$DMLP" synth --kind blobs --rows 10 --features 4 --out test.h5 --test-rows 5 --test-out test.h5
expect_exit 2 "--metrics train.h5 is the --train file" -- "$DMLP" "${t[@]}" --metrics train.h5
expect_exit 2 "--metrics hard.h5 is the --test file \(test.h5\)" -- "$DMLP" "${t[@]}" --metrics hard.h5
expect_exit 2 "--metrics soft.h5 is the --train file \(train.h5\)" -- "$DMLP" "${t[@]}" --metrics soft.h5
expect_exit 2 "--metrics ck/ckpt-000000020.h5 is the --resume file" -- \
  "$DMLP" train --train train.h5 --layers 4,8,3 --max-steps 25 --resume ck/ckpt-000000020.h5 --metrics ck/ckpt-000000020.h5
expect_exit 2 "--trace x.json is the --metrics file \(./x.json\)" -- "$DMLP" "${t[@]}" --trace x.json --metrics ./x.json
expect_exit 2 "--metrics ck/ckpt-000000007.h5 lies in --checkpoint-dir ck under a checkpoint's name" -- \
  "$DMLP" "${t[@]}" --checkpoint-dir ck --metrics ck/ckpt-000000007.h5
expect_exit 2 "--out test.h5 is the --data file" -- "$DMLP" predict --checkpoint ck/ckpt-000000020.h5 --data test.h5 --out test.h5
expect_exit 2 "--out ck/../ck/ckpt-000000020.h5 is the --checkpoint file" -- \
  "$DMLP" predict --checkpoint ck/ckpt-000000020.h5 --data test.h5 --out ck/../ck/ckpt-000000020.h5
[ "$(sums)" = "$before" ] && [ ! -e x.json ] && pass "every input is as it was" || fail "an input changed"

# ---- inputs that are not regular files: refused at once, not a hang in open(2)
mkfifo fifo
for args in "train --train fifo --layers 4,3" "train --train train.h5 --layers 4,8,3 --resume fifo" \
            "inspect fifo" "inspect ck/ckpt-000000020.h5 --compare fifo" "convert csv --in fifo --out o.h5" \
            "convert idx --images images.idx --labels fifo --out o.h5" "eval --checkpoint fifo --data test.h5"; do
  # shellcheck disable=SC2086
  expect_exit 2 "fifo: is a FIFO \(named pipe\); expected a regular file" -- timeout 30 "$DMLP" $args
done
ln -s /dev/zero zero.csv
expect_exit 2 "zero.csv: is a character device; expected a regular file" -- timeout 30 "$DMLP" convert csv --in zero.csv --out o.h5
# an output FIFO with no reader is refused; with one, it is written in place
expect_exit 2 "--metrics fifo: it is a FIFO with no reader" -- timeout 30 "$DMLP" "${t[@]}" --metrics fifo
cat fifo > from-fifo.txt &
reader=$!
expect_exit 0 "finished: 5 steps" -- timeout 30 "$DMLP" "${t[@]}" --metrics fifo
wait "$reader"
[ -p fifo ] && grep -q '"event":"final"' from-fifo.txt && pass "--metrics to a FIFO with a reader: written through it" \
  || fail "the FIFO's reader got: $(head -c 200 from-fifo.txt)"

# ---- a character device is written in place, never replaced by a regular file
if [ "$(id -u)" -eq 0 ] && mknod null c 1 3 2>/dev/null; then
  expect_exit 0 "wrote null: 100 rows x 3 outputs" -- "$DMLP" predict --checkpoint ck/ckpt-000000020.h5 --data test.h5 --out null
  expect_exit 0 "wrote null" -- "$DMLP" convert csv --in data.csv --out null
  expect_exit 0 "wrote null" -- "$DMLP" synth --kind blobs --rows 10 --features 4 --out null
  expect_exit 0 "trace of steps 1-5 written to null" -- "$DMLP" "${t[@]}" --trace null --trace-steps 1:5
  [ -c null ] && pass "the device node is still a character device" || fail "the device node was replaced: $(ls -l null)"
else
  echo "skipped: the device node cases need root (mknod)"
fi

# ---- one run at a time in a checkpoint directory: a second is told who holds it
long=(train --synthetic blobs --layers 4,8,3 --samples 400 --max-steps 200 --threads 1)
DMLP_TEST_HOLD_AFTER_STEP=10 "$DMLP" "${long[@]}" --checkpoint-dir shared > first.out 2>&1 &
first=$!
for _ in $(seq 600); do grep -q "^test hold: after step 10" first.out 2>/dev/null && break; sleep 0.2; done
expect_exit 2 "--checkpoint-dir shared is in use by another run \(host $(hostname) pid $first\)" -- \
  timeout 60 "$MPIEXEC" -np 2 "$DMLP" "${long[@]}" --checkpoint-dir shared
kill -USR1 "$first"
wait "$first"
[ $? -eq 75 ] && [ "$(ls shared)" = ckpt-000000010.h5 ] && pass "the first run kept its directory and stopped cleanly" \
  || fail "the first run: $(tail -2 first.out); $(ls shared)"
expect_exit 0 "resuming from shared/ckpt-000000010.h5 at step 10.*finished: 200 steps" -- \
  "$DMLP" "${long[@]}" --checkpoint-dir shared --resume shared
# runs one after another, each starting afresh: each sets the other's checkpoints aside, none lost
expect_exit 0 "renamed to \*.superseded" -- "$DMLP" "${long[@]}" --max-steps 10 --checkpoint-dir shared
expect_exit 0 "renamed to \*.superseded" -- "$DMLP" "${long[@]}" --max-steps 5 --checkpoint-dir shared
kept=$(ls shared | tr '\n' ' ')
[ "$kept" = "ckpt-000000005.h5 ckpt-000000010.h5.superseded ckpt-000000010.h5.superseded-2 ckpt-000000200.h5.superseded " ] \
  && pass "set-aside files never overwrite each other: $kept" || fail "set aside: $kept"

# the lock file is never followed: a planted link's target stays as it was
mkdir planted
echo precious > victim.txt
ln -s ../victim.txt planted/.dmlp-lock
expect_exit 2 "--checkpoint-dir planted: its lock file planted/.dmlp-lock is a symbolic link; remove it" -- \
  "$DMLP" "${long[@]}" --checkpoint-dir planted
[ "$(cat victim.txt)" = precious ] && pass "the link's target is untouched" || fail "victim.txt: $(cat victim.txt)"
# a lock removed under a running job: it stops before writing, rather than share the directory
DMLP_TEST_HOLD_AFTER_STEP=10 "$DMLP" "${long[@]}" --checkpoint-dir unlocked > held.out 2>&1 &
held=$!
for _ in $(seq 600); do grep -q "^test hold: after step 10" held.out 2>/dev/null && break; sleep 0.2; done
rm unlocked/.dmlp-lock
kill -USR1 "$held"
wait "$held"
rc=$?
[ "$rc" -eq 1 ] && grep -q "error: --checkpoint-dir unlocked: its lock file unlocked/.dmlp-lock was removed or replaced while this run held it" held.out \
  && [ -z "$(ls unlocked)" ] && pass "lock removed mid-run: exit 1, no checkpoint written" || fail "lock removed: exit $rc; $(grep error held.out)"
# outputs into the directory a run resumes from, under a checkpoint's name
expect_exit 2 "--trace ck/ckpt-000000020.h5 lies in --resume ck under a checkpoint's name: writing it would destroy a checkpoint this run resumes from" -- \
  "$DMLP" train --train train.h5 --layers 4,8,3 --max-steps 25 --resume ck --trace ck/ckpt-000000020.h5
expect_exit 2 "--metrics ck/ckpt-000000020.h5 lies in --resume ck" -- \
  "$DMLP" train --train train.h5 --layers 4,8,3 --max-steps 25 --resume ck --metrics ck/ckpt-000000020.h5
[ "$(sums)" = "$before" ] && pass "the checkpoint to resume from is as it was" || fail "ck changed"
# a FIFO with a reader takes a data set written in place (HDF5's image is made in memory first)
cat fifo > through-fifo.h5 &
reader=$!
expect_exit 0 "wrote fifo: 100 rows" -- timeout 30 "$DMLP" synth --kind blobs --rows 100 --features 4 --out fifo
wait "$reader"
expect_exit 0 "features +Dataset \{100, 4\}" -- h5ls through-fifo.h5
# two outputs that are one character device: nothing to destroy
if [ -c null ]; then
  expect_exit 0 "wrote null" -- "$DMLP" synth --kind blobs --rows 10 --features 4 --out null --test-rows 5 --test-out null
fi

# ---- what --resume DIR passes over, it names; any number of digits is a step
mkdir odd
cp ck/ckpt-000000020.h5 odd/ckpt-00000000000000000000020.h5
mkdir odd/ckpt-000000030.h5
ln -s nowhere.h5 odd/ckpt-000000040.h5
cp ck/ckpt-000000020.h5 odd/ckpt-000000099.h5  # renamed: its name says another step
out=$("$DMLP" train --train train.h5 --layers 4,8,3 --max-steps 25 --resume odd 2>&1)
grep -q "warning: skipping .*odd/ckpt-000000040.h5: a symbolic link to nothing" <<<"$out" \
  && grep -q "warning: skipping .*odd/ckpt-000000030.h5: a directory" <<<"$out" \
  && grep -q "warning: skipping checkpoint .*odd/ckpt-000000099.h5: its name says step 99 but it holds step 20" <<<"$out" \
  && pass "--resume DIR names the entries it skips" || fail "no warnings: $(grep -i skip <<<"$out")"
grep -q "resuming from .*odd/ckpt-00000000000000000000020.h5 at step 20" <<<"$out" \
  && pass "a checkpoint named with 23 digits is found" || fail "not resumed: $(grep -E 'resum|error' <<<"$out")"
finish
