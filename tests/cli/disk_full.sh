# Full disks and unwritable places: a checkpoint that does not fit on a small
# tmpfs gives one line naming the file and the cause, leaves no temporary file
# and keeps the earlier checkpoints; an unwritable --checkpoint-dir is refused
# before step 1; temporary files of writers killed mid-write are removed.
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "skipped: mounting a tmpfs needs root"; exit 77; }
mounted=()
trap 'for m in "${mounted[@]}"; do umount "$m"; done; rm -rf "$WORK"' EXIT
mkdir "$WORK/small" "$WORK/readonly"
mount -t tmpfs -o size=300k dmlp-test "$WORK/small" && mounted+=("$WORK/small") || { fail "cannot mount a tmpfs"; finish; }
mount -t tmpfs -o ro,size=64k dmlp-test "$WORK/readonly" && mounted+=("$WORK/readonly") || { fail "cannot mount a tmpfs"; finish; }

for np in 1 2; do
  rm -rf "$WORK/small/ck"
  out=$(timeout 60 "$MPIEXEC" -np "$np" "$DMLP" train --synthetic blobs --layers 20,64,5 --samples 2000 --max-steps 200 \
        --checkpoint-dir "$WORK/small/ck" --checkpoint-every 10 --keep-checkpoints 100 2>&1)
  rc=$?
  [ "$rc" -eq 1 ] && pass "P=$np: disk full: exit 1" || fail "P=$np: disk full: exit $rc"
  errors=$(grep -c "error" <<<"$out")
  grep -Eq "^\[rank 0\] error: cannot write checkpoint .*/ckpt-[0-9]+\.h5: No space left on device; the earlier checkpoints are intact$" <<<"$out" \
    && [ "$errors" -eq 1 ] && pass "P=$np: one line naming the file and the cause" \
    || { fail "P=$np: message"; grep -i error <<<"$out" | head -3; }
  ls -a "$WORK/small/ck" | grep -q tmp && fail "P=$np: a temporary file was left" || pass "P=$np: no temporary file left"
  good=0
  for f in "$WORK/small/ck"/ckpt-*.h5; do "$DMLP" inspect "$f" > /dev/null 2>&1 && good=$((good + 1)); done
  [ "$good" -ge 3 ] && [ "$good" -eq "$(ls "$WORK/small/ck" | wc -l)" ] \
    && pass "P=$np: the $good earlier checkpoints are intact" || fail "P=$np: $good good of $(ls "$WORK/small/ck" | wc -l)"
done

# metrics on the full disk: a warning, and the run trains on to the end
expect_exit 0 "warning: --metrics .*small/m.jsonl: cannot write \(No space left on device\); no more metrics are recorded.*finished: 480 steps" -- \
  "$DMLP" train --synthetic blobs --layers 20,5 --samples 2000 --epochs 30 --log-every 1 --metrics "$WORK/small/m.jsonl"

# no free inodes: a write failure (exit 1), not bad input
mkdir "$WORK/no-inodes"
mount -t tmpfs -o size=1m,nr_inodes=2 dmlp-test "$WORK/no-inodes" && mounted+=("$WORK/no-inodes") || fail "cannot mount a tmpfs"
mkdir "$WORK/no-inodes/ck"  # the last free inode
expect_exit 1 "--checkpoint-dir .*no-inodes/ck: cannot create a file there \(No space left on device\)" -- \
  "$DMLP" train --synthetic blobs --layers 20,5 --samples 500 --max-steps 3 --checkpoint-dir "$WORK/no-inodes/ck"
expect_exit 1 "cannot write data set .*no-inodes/ck/x.h5: cannot create a file in .*no-inodes/ck \(No space left on device\)" -- \
  "$DMLP" synth --kind blobs --rows 10 --features 3 --out "$WORK/no-inodes/ck/x.h5"

expect_exit 2 "--checkpoint-dir .*/readonly: cannot create files there \(Read-only file system\)" -- \
  "$DMLP" train --synthetic blobs --layers 20,5 --samples 500 --max-steps 3 --checkpoint-dir "$WORK/readonly"
expect_exit 2 "--checkpoint-dir .*notes.txt/ck: cannot create the directory" -- \
  bash -c "echo x > '$WORK/notes.txt' && '$DMLP' train --synthetic blobs --layers 20,5 --samples 500 --max-steps 3 --checkpoint-dir '$WORK/notes.txt/ck'"

# leftovers of writers killed mid-write: a dead writer's are removed, a live one's kept
mkdir "$WORK/left"
host=$(hostname)
touch "$WORK/left/.ckpt-000000050.h5.tmp-999999" "$WORK/left/.ckpt-000000060.h5.tmp-$host-999998" \
      "$WORK/left/.ckpt-000000070.h5.tmp-$host-$$" "$WORK/left/.ckpt-000000080.h5.tmp-elsewhere-7"
out=$("$DMLP" train --synthetic blobs --layers 20,5 --samples 500 --max-steps 3 --checkpoint-dir "$WORK/left" 2>&1)
grep -q "removed .ckpt-000000050.h5.tmp-999999 from" <<<"$out" && grep -q "removed .ckpt-000000060.h5.tmp-$host-999998" <<<"$out" \
  && pass "dead writers' temporary files removed, and said so" || fail "not removed: $(ls -a "$WORK/left")"
[ -e "$WORK/left/.ckpt-000000070.h5.tmp-$host-$$" ] && [ -e "$WORK/left/.ckpt-000000080.h5.tmp-elsewhere-7" ] \
  && pass "a live writer's and another host's are kept" || fail "removed too much: $(ls -a "$WORK/left")"

# Shared memory too small (a container's /dev/shm; here osc/sm's backing
# directory on a small tmpfs, OMPI_MCA_osc_sm_backing_directory): a window's
# pages are taken on first touch, so a full tmpfs would end a step with SIGBUS.
# The room is checked first: the data set that does not fit is held by each
# rank, the model that does not fit runs on the plain all-reduce, each with a
# warning that names the directory, and the run trains to the end.
mkdir "$WORK/shm-40m" "$WORK/shm-8m"
mount -t tmpfs -o size=40m dmlp-test "$WORK/shm-40m" && mounted+=("$WORK/shm-40m") || fail "cannot mount a tmpfs"
mount -t tmpfs -o size=8m dmlp-test "$WORK/shm-8m" && mounted+=("$WORK/shm-8m") || fail "cannot mount a tmpfs"
"$DMLP" synth --kind blobs --rows 12000 --features 1000 --classes 4 --seed 2 --out "$WORK/wide.h5" > /dev/null  # 45.8 MiB
wide=(train --train "$WORK/wide.h5" --load all --layers 1000,8,4 --batch-size 64 --max-steps 5 --threads 1)
out=$(OMPI_MCA_osc_sm_backing_directory="$WORK/shm-40m" timeout 120 "$MPIEXEC" -np 2 "$DMLP" "${wide[@]}" 2>&1)
rc=$?
[ "$rc" -eq 0 ] && grep -q "warning: .*shm-40m has [0-9.]* MiB free and the data set .*wide.h5 needs 45.8 MiB there.*: every rank holds a copy of the rows" <<<"$out" \
  && grep -q "data       train: .*wide.h5, 12000 x 1000, 4 classes (in memory; " <<<"$out" && grep -q "reduction  node: 2 ranks per node" <<<"$out" \
  && pass "data set too large for shared memory: a copy per rank, the model still shared" \
  || { fail "data set too large for shared memory: exit $rc"; grep -i "warning\|reduction\|data \|error" <<<"$out"; }
out=$(OMPI_MCA_osc_sm_backing_directory="$WORK/shm-8m" timeout 120 "$MPIEXEC" -np 2 "$DMLP" train --synthetic blobs \
      --layers 20,64,5 --samples 2000 --max-steps 5 --threads 1 2>&1)
rc=$?
[ "$rc" -eq 0 ] && grep -q "reduction  allreduce (.*shm-8m has [0-9.]* MiB free and the node's shared model needs" <<<"$out" \
  && grep -q "warning: --reduction node: .*shm-8m has .*; the plain all-reduce runs instead" <<<"$out" \
  && grep -q "needs [0-9.]* MiB there, with 16 MiB kept free for MPI" <<<"$out" \
  && pass "no room for the shared model: the plain all-reduce, with a warning" \
  || { fail "no room for the shared model: exit $rc"; grep -i "warning\|reduction\|error" <<<"$out"; }
# --reproducible: the model fits, its exact sums' words (in float 16 bytes a
# weight at P = 2: 4.9 MiB here, after the model's 6.1 MiB and the 16 MiB kept
# free for MPI) do not: they go by all-reduce, with a warning; where they fit,
# they are read from shared memory. Either way the run trains to the end.
mkdir "$WORK/shm-24m"
mount -t tmpfs -o size=24m dmlp-test "$WORK/shm-24m" && mounted+=("$WORK/shm-24m") || fail "cannot mount a tmpfs"
exact=(train --synthetic blobs --layers 1000,300,4 --samples 2000 --max-steps 5 --threads 1 --reproducible --momentum 0.9)
out=$(OMPI_MCA_osc_sm_backing_directory="$WORK/shm-24m" timeout 120 "$MPIEXEC" -np 2 "$DMLP" "${exact[@]}" 2>&1)
rc=$?
[ "$rc" -eq 0 ] && grep -q "reduction  node: 2 ranks per node" <<<"$out" \
  && grep -q "warning: .*shm-24m has [0-9.]* MiB free and --reproducible's accumulator needs [0-9.]* MiB there.*; the exact sums go by all-reduce instead" <<<"$out" \
  && grep -q "each as soon as its tiles are summed, by all-reduce$" <<<"$out" \
  && pass "no room for the exact sums: by all-reduce, with a warning, the model still shared" \
  || { fail "no room for the exact sums: exit $rc"; grep -i "warning\|reduction\|allreduce\|error" <<<"$out"; }
out=$(OMPI_MCA_osc_sm_backing_directory="$WORK/shm-40m" timeout 120 "$MPIEXEC" -np 2 "$DMLP" "${exact[@]}" 2>&1)
rc=$?
[ "$rc" -eq 0 ] && grep -q "from the node's shared memory$" <<<"$out" && ! grep -q "warning: .*accumulator" <<<"$out" \
  && pass "room for the exact sums: read from shared memory, no warning" \
  || { fail "room for the exact sums: exit $rc"; grep -i "warning\|allreduce\|error" <<<"$out"; }
# MPI's shared-memory window component switched off (--mca osc ^sm): the
# allocation fails with room to spare, and the message says so rather than
# blaming a full directory.
expect_exit 1 "cannot place [0-9]+ MiB of the node's shared memory in .* \(it has room: is MPI's shared-memory window component off.*--reduction allreduce" \
  -- timeout 120 "$MPIEXEC" -np 2 --mca osc ^sm "$DMLP" train --synthetic blobs --layers 20,10 --samples 300 --max-steps 3 --threads 1
# A backing directory that is missing, not a directory, or read-only is named as such.
mkdir "$WORK/shm-ro"
mount -t tmpfs -o ro,size=40m dmlp-test "$WORK/shm-ro" && mounted+=("$WORK/shm-ro") || fail "cannot mount a tmpfs"
for dir in "$WORK/no-such-dir:does not exist" "$WORK/wide.h5:is not a directory" \
           "$WORK/shm-ro:cannot be used: Read-only file system"; do
  out=$(OMPI_MCA_osc_sm_backing_directory="${dir%%:*}" timeout 120 "$MPIEXEC" -np 2 "$DMLP" "${wide[@]}" 2>&1)
  rc=$?
  [ "$rc" -eq 0 ] && grep -q "warning: --reduction node: .*, where MPI keeps shared memory (OMPI_MCA_osc_sm_backing_directory), ${dir#*:}; the plain all-reduce runs instead" <<<"$out" \
    && pass "backing directory that ${dir#*:}: a warning, the plain way" \
    || { fail "backing directory that ${dir#*:}: exit $rc"; grep -i "warning\|error" <<<"$out"; }
done
finish
