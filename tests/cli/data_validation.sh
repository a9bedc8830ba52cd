# Bad data files: one clear message naming the file, the dataset, what was
# expected and what was found; exit code 2; every rank stops; no hang.
source "$(dirname "$0")/lib.sh"
MAKE_FILES=$3
"$MAKE_FILES" "$WORK" > /dev/null || { fail "could not write the test files"; finish; }
echo "not HDF5" > "$WORK/notes.txt"
head -c 1500 "$WORK/good.h5" > "$WORK/truncated.h5"

train() { timeout 60 "$MPIEXEC" -np 2 "$DMLP" train --train "$@" --layers 4,8,3 --epochs 1 --batch-size 8; }

expect_exit 0 "finished: 5 steps" -- train "$WORK/good.h5"
expect_exit 2 "nope.h5: no such file" -- train "$WORK/nope.h5"
expect_exit 2 "no_features.h5: no dataset /features" -- train "$WORK/no_features.h5"
expect_exit 2 "features_3d.h5: dataset /features has shape \[40, 2, 2\]; expected 2 dimensions" -- train "$WORK/features_3d.h5"
expect_exit 2 "features_int64.h5: dataset /features has type int64; expected float32, float64 or uint8" -- train "$WORK/features_int64.h5"
expect_exit 2 "float_labels.h5: dataset /labels has type float32; expected an integer type" -- train "$WORK/float_labels.h5"
expect_exit 2 "short_labels.h5: dataset /features has 40 rows but /labels has 39; expected the same number" -- train "$WORK/short_labels.h5"
expect_exit 2 "no_num_classes.h5: dataset /labels has no num_classes attribute" -- train "$WORK/no_num_classes.h5"
expect_exit 2 "label_too_big.h5: dataset /labels row 17 holds 7; expected a class in \[0, 3\)" -- train "$WORK/label_too_big.h5"
expect_exit 2 "label_negative.h5: dataset /labels row 5 holds -1; expected a class in \[0, 3\)" -- train "$WORK/label_negative.h5"
expect_exit 2 "nan_feature.h5: dataset /features row 23 column 2 is NaN; expected finite values" -- train "$WORK/nan_feature.h5"
expect_exit 2 "inf_feature.h5: dataset /features row 31 column 0 is infinite" -- train "$WORK/inf_feature.h5"
# streamed, a row is checked by the rank that reads it
expect_exit 2 "nan_feature.h5: dataset /features row 23 column 2 is NaN" -- train "$WORK/nan_feature.h5" --load stream
expect_exit 2 "label_too_big.h5: dataset /labels row 17 holds 7" -- train "$WORK/label_too_big.h5" --load stream
expect_exit 2 "empty.h5: dataset /features has 0 rows; expected at least 1" -- train "$WORK/empty.h5"
# attributes: one value, of their class, in their range (once a stack buffer overflow)
expect_exit 2 "num_classes_array.h5: attribute num_classes of /labels holds 2 values; expected one integer" -- \
  train "$WORK/num_classes_array.h5"
expect_exit 2 "num_classes_string.h5: attribute num_classes of /labels is a string; expected an integer" -- \
  train "$WORK/num_classes_string.h5"
expect_exit 2 "num_classes_float.h5: attribute num_classes of /labels is a floating-point number; expected an integer" -- \
  train "$WORK/num_classes_float.h5"
expect_exit 2 "num_classes_huge.h5: attribute num_classes of /labels is 4294967299; expected 1 to 65536" -- \
  train "$WORK/num_classes_huge.h5"
expect_exit 2 "num_classes_zero.h5: attribute num_classes of /labels is 0; expected 1 to 65536" -- \
  train "$WORK/num_classes_zero.h5"
expect_exit 2 "format_version_array.h5: attribute format_version holds 2 values; expected one integer" -- \
  train "$WORK/format_version_array.h5"
expect_exit 2 "scale_nan.h5: attribute scale of /features is nan; expected a finite, non-zero number" -- \
  train "$WORK/scale_nan.h5"
expect_exit 2 "features_group.h5: /features is a group; expected a dataset" -- train "$WORK/features_group.h5"
expect_exit 2 "corrupt_chunk.h5: cannot read rows [0-9]+ to [0-9]+ \(damaged\?\): .*inflate\(\) failed" -- \
  train "$WORK/corrupt_chunk.h5"
expect_exit 2 "corrupt_chunk.h5: cannot read rows [0-9]+ to [0-9]+ \(damaged\?\): .*inflate\(\) failed" -- \
  train "$WORK/corrupt_chunk.h5" --load stream
ln -s "$WORK/nowhere.h5" "$WORK/dangling.h5"
ln -s "$WORK/loop-b.h5" "$WORK/loop-a.h5"
ln -s "$WORK/loop-a.h5" "$WORK/loop-b.h5"
expect_exit 2 "dangling.h5: is a symbolic link to .*nowhere.h5, which does not exist" -- train "$WORK/dangling.h5"
expect_exit 2 "loop-a.h5: cannot be followed: Too many levels of symbolic links" -- train "$WORK/loop-a.h5"
expect_exit 2 "$WORK: is a directory; expected a file" -- train "$WORK"
expect_exit 0 "warning: .*u8_unscaled.h5: uint8 /features without scale or offset attributes: training on raw values 0-255" -- \
  train "$WORK/u8_unscaled.h5"
expect_exit 2 "no_answers.h5: has neither /labels \(classification\) nor /targets" -- train "$WORK/no_answers.h5"
expect_exit 2 "one_row.h5 has 1 samples, fewer than the 2 ranks" -- train "$WORK/one_row.h5"
expect_exit 2 "notes.txt: not an HDF5 file" -- train "$WORK/notes.txt"
expect_exit 2 "truncated.h5: cannot be read as HDF5 \(damaged or truncated\?\)" -- train "$WORK/truncated.h5"
expect_exit 2 "takes 5 inputs .*good.h5 has 4 features" -- timeout 60 "$MPIEXEC" -np 2 "$DMLP" train --train "$WORK/good.h5" --layers 5,8,3
expect_exit 2 "good.h5 has 3 classes but the model's output \(2 with softmax-ce\) fits 2" -- \
  timeout 60 "$MPIEXEC" -np 2 "$DMLP" train --train "$WORK/good.h5" --layers 4,8,2
expect_exit 2 "test.*nan_feature.h5: dataset /features row 23|nan_feature.h5: dataset /features row 23" -- \
  timeout 60 "$MPIEXEC" -np 2 "$DMLP" train --train "$WORK/good.h5" --test "$WORK/nan_feature.h5" --layers 4,8,3
# messages are printed once, by one rank, whichever ranks met the problem
for mode in all stream; do
  for file in label_too_big corrupt_chunk; do
    out=$(train "$WORK/$file.h5" --load "$mode" 2>&1)
    count=$(grep -c "error: .*$file.h5" <<<"$out")
    [ "$count" -eq 1 ] && pass "--load $mode, $file.h5: printed once" || fail "--load $mode, $file.h5: printed $count times"
  done
done

# Virtual datasets (HDF5's VDS) load as any other, in memory and streamed, at
# 1 and 2 ranks, with the same rows as the plain file; one whose source is
# missing (HDF5 would read zeros) is refused.
for mode in all stream; do
  expect_exit 0 "finished: 5 steps" -- train "$WORK/vds.h5" --load "$mode"
  expect_exit 0 "finished: 5 steps" -- "$DMLP" train --train "$WORK/vds.h5" --load "$mode" --layers 4,8,3 --epochs 1 --batch-size 8
done
timeout 60 "$MPIEXEC" -np 2 "$DMLP" train --train "$WORK/good.h5" --layers 4,8,3 --max-steps 20 --batch-size 8 \
  --checkpoint-dir "$WORK/plain" > /dev/null 2>&1
timeout 60 "$MPIEXEC" -np 2 "$DMLP" train --train "$WORK/vds.h5" --layers 4,8,3 --max-steps 20 --batch-size 8 \
  --checkpoint-dir "$WORK/virtual" > /dev/null 2>&1
expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/plain/ckpt-000000020.h5" --compare "$WORK/virtual/ckpt-000000020.h5"
expect_exit 2 "vds_missing.h5: dataset /features is a virtual dataset whose source file vds_gone.h5, which is missing" -- \
  train "$WORK/vds_missing.h5"
# Through HDF5's indirections: a virtual dataset's source, external raw
# storage or an external link that is a FIFO would block every rank in
# open(2) forever; a source that is truncated would read as zeros. Each is
# refused at once, naming the file and the source.
mkfifo "$WORK/fifo"
for mode in all stream; do
  expect_exit 2 "vds_fifo.h5: dataset /features is a virtual dataset whose source file fifo, which is a FIFO" -- \
    train "$WORK/vds_fifo.h5" --load "$mode"
  expect_exit 2 "external_fifo.h5: dataset /features stores its values in the file fifo, which is a FIFO" -- \
    train "$WORK/external_fifo.h5" --load "$mode"
  expect_exit 2 "link_fifo.h5: /features is an external link to a dataset in fifo, which is a FIFO" -- \
    train "$WORK/link_fifo.h5" --load "$mode"
  expect_exit 2 "vds_truncated.h5: dataset /features is a virtual dataset whose source file vds_truncated_part.h5, which cannot be read .*: HDF5 would read zeros there" -- \
    train "$WORK/vds_truncated.h5" --load "$mode"
done
expect_exit 0 "finished: 5 steps" -- train "$WORK/link_good.h5"
# what a data set reads from is an input too: no output may overwrite it
cp "$WORK/vds_part1.h5" "$WORK/vds_part1.keep"
expect_exit 2 "--trace .*vds_part1.h5 is a source of --train .*vds.h5: writing it would destroy that file" -- \
  "$DMLP" train --train "$WORK/vds.h5" --layers 4,8,3 --max-steps 2 --trace "$WORK/vds_part1.h5"
expect_exit 2 "--metrics .*good.h5 is a source of --train .*link_good.h5" -- \
  "$DMLP" train --train "$WORK/link_good.h5" --layers 4,8,3 --max-steps 2 --metrics "$WORK/good.h5"
cmp -s "$WORK/vds_part1.h5" "$WORK/vds_part1.keep" && pass "the virtual dataset's source is intact" || fail "a source was written"

# 10^12 rows, stored sparsely (a few KiB): too large, said before anything is read
expect_exit 2 "the epoch order of .*huge_sparse.h5's 1000000000000 rows needs [0-9.]+ TiB, more than the" -- \
  timeout 60 "$MPIEXEC" -np 2 "$DMLP" train --train "$WORK/huge_sparse.h5" --layers 1,2

# Resume checks the data, not only its path: the training file regenerated at
# the same path is refused, naming it and what changed; the same file resumes
# bitwise; --init still starts from the parameters alone.
"$DMLP" synth --kind blobs --rows 600 --features 4 --classes 3 --seed 5 --out "$WORK/regen.h5" > /dev/null
regen=(train --train "$WORK/regen.h5" --layers 4,8,3 --batch-size 32 --momentum 0.9 --max-steps 40)
timeout 60 "$MPIEXEC" -np 2 "$DMLP" "${regen[@]}" --checkpoint-dir "$WORK/regen-a" --checkpoint-every 20 > /dev/null 2>&1
"$DMLP" synth --kind blobs --rows 600 --features 4 --classes 3 --seed 6 --out "$WORK/regen.h5" > /dev/null
expect_exit 2 "cannot resume from .*ckpt-000000020.h5: --train .*regen.h5 is not the data it trained on \(the same shape and storage, other values \(content hash [0-9a-f]{16}, now [0-9a-f]{16}\)\)" -- \
  timeout 60 "$MPIEXEC" -np 2 "$DMLP" "${regen[@]}" --resume "$WORK/regen-a/ckpt-000000020.h5"
"$DMLP" synth --kind blobs --rows 700 --features 4 --classes 3 --seed 5 --out "$WORK/regen.h5" > /dev/null
expect_exit 2 "--train .*regen.h5 is not the data it trained on \(rows 600, now 700" -- \
  "$DMLP" "${regen[@]}" --resume "$WORK/regen-a/ckpt-000000020.h5"
expect_exit 0 "starting at step 0 from the parameters of .*finished: 40 steps" -- \
  "$DMLP" "${regen[@]}" --init "$WORK/regen-a/ckpt-000000020.h5"
"$DMLP" synth --kind blobs --rows 600 --features 4 --classes 3 --seed 5 --out "$WORK/regen.h5" > /dev/null
expect_exit 0 "resuming from .*ckpt-000000020.h5 at step 20" -- \
  timeout 60 "$MPIEXEC" -np 2 "$DMLP" "${regen[@]}" --resume "$WORK/regen-a/ckpt-000000020.h5" --checkpoint-dir "$WORK/regen-b"
expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/regen-a/ckpt-000000040.h5" --compare "$WORK/regen-b/ckpt-000000040.h5"
# the same content at another path resumes (its fingerprint decides), with a word
cp "$WORK/regen.h5" "$WORK/moved.h5"
expect_exit 0 "warning: --train .*moved.h5; .*ckpt-000000020.h5 trained on .*regen.h5 \(resuming on the same content, which its fingerprint checks\)" -- \
  "$DMLP" train --train "$WORK/moved.h5" --layers 4,8,3 --batch-size 32 --momentum 0.9 --max-steps 40 \
  --resume "$WORK/regen-a/ckpt-000000020.h5"
# a synthetic set's defaults given explicitly are the same data
"$DMLP" train --synthetic blobs --layers 4,8,3 --samples 500 --max-steps 20 --checkpoint-dir "$WORK/syn" > /dev/null 2>&1
expect_exit 0 "resuming from .*syn/ckpt-000000020.h5 at step 20" -- \
  "$DMLP" train --synthetic blobs --layers 4,8,3 --samples 500 --classes 3 --test-samples 100 --max-steps 30 \
  --resume "$WORK/syn"
# streamed, the fingerprint is the same: a run may resume in either mode
expect_exit 0 "resuming from .*ckpt-000000020.h5 at step 20" -- \
  "$DMLP" "${regen[@]}" --load stream --resume "$WORK/regen-a/ckpt-000000020.h5"

# A stale copy on one node, with the same first and last rows: streamed, each
# block of the file is hashed by two ranks, which must agree.
if [ "$(id -u)" -eq 0 ]; then
  python3 - "$WORK" <<'PY'
import random, sys
w = sys.argv[1]
random.seed(7)
rows = [[random.uniform(-1, 1) for _ in range(4)] + [random.randrange(3)] for _ in range(3000)]
for name, change in (("a", 0.0), ("b", 5.0)):
    with open(f"{w}/copy-{name}.csv", "w") as out:
        for i, r in enumerate(rows):
            out.write(",".join(repr(v + (change if i == 1500 and j == 0 else 0)) for j, v in enumerate(r[:4])) + f",{r[4]}\n")
PY
  for name in a b; do "$DMLP" convert csv --in "$WORK/copy-$name.csv" --out "$WORK/copy-$name.h5" > /dev/null; done
  printf '#!/bin/bash\n[ "$OMPI_COMM_WORLD_RANK" = 1 ] && exec unshare -m sh -c "mount --bind %s %s && exec \\"\\$0\\" \\"\\$@\\"" "$@"\nexec "$@"\n' \
    "$WORK/copy-b.h5" "$WORK/copy-a.h5" > "$WORK/stale-node.sh"
  chmod +x "$WORK/stale-node.sh"
  expect_exit 2 "ranks 0 and 1 read different rows 0 to 2999 of .*copy-a.h5: every node must see the same file" -- \
    timeout 60 "$MPIEXEC" -np 2 "$WORK/stale-node.sh" "$DMLP" train --train "$WORK/copy-a.h5" --layers 4,3 --load stream
fi

# A streamed file that changes under a running job stops it (exit 2), naming
# the file and what changed, instead of training on whatever the reads return.
# The run holds after step 3 until the test has changed the file
# (DMLP_TEST_HOLD_AFTER_STEP and DMLP_TEST_HOLD_RELEASE, core/test_hooks.hpp).
"$DMLP" synth --kind blobs --rows 2000 --features 4 --classes 3 --out "$WORK/live.h5" > /dev/null
for change in truncate replace; do
  cp "$WORK/live.h5" "$WORK/moving.h5"
  rm -f "$WORK/release"
  DMLP_TEST_HOLD_AFTER_STEP=3 DMLP_TEST_HOLD_RELEASE="$WORK/release" timeout 120 "$MPIEXEC" -np 2 "$DMLP" train \
    --train "$WORK/moving.h5" --load stream --read-ahead-mb 0.001 --layers 4,8,3 --batch-size 16 --epochs 2 \
    --checkpoint-dir "$WORK/moving-$change" > "$WORK/moving.out" 2>&1 &
  launcher=$!
  for _ in $(seq 600); do grep -q "^test hold: after step 3" "$WORK/moving.out" 2>/dev/null && break; sleep 0.2; done
  if [ "$change" = truncate ]; then truncate -s 5000 "$WORK/moving.h5"; else
    "$DMLP" synth --kind blobs --rows 2000 --features 4 --classes 3 --seed 9 --out "$WORK/moving.h5" > /dev/null; fi
  touch "$WORK/release"
  wait "$launcher"
  rc=$?
  what=$([ "$change" = truncate ] && echo "its size went from [0-9]+ to 5000 bytes" || echo "another file took its name")
  [ "$rc" -eq 2 ] && grep -Eq "error: .*moving.h5: changed while this run was reading it: $what" "$WORK/moving.out" \
    && [ "$(grep -c "error: " "$WORK/moving.out")" -eq 1 ] && pass "$change under a streamed run: exit 2, said once" \
    || { fail "$change under a streamed run: exit $rc"; grep -E "error|finished" "$WORK/moving.out" | head -3; }
done
# Every rank must read the same data: rank 1 sees another file under the same
# path (its own mount namespace), as a node with a stale copy would.
if [ "$(id -u)" -eq 0 ]; then
  "$DMLP" synth --kind blobs --rows 100 --features 10 --classes 3 --seed 4 --out "$WORK/other.h5" > /dev/null
  "$DMLP" synth --kind blobs --rows 100 --features 10 --classes 3 --seed 3 --out "$WORK/same.h5" > /dev/null
  printf '#!/bin/bash\n[ "$OMPI_COMM_WORLD_RANK" = 1 ] && exec unshare -m sh -c "mount --bind %s %s && exec \\"\\$0\\" \\"\\$@\\"" "$@"\nexec "$@"\n' \
    "$WORK/other.h5" "$WORK/same.h5" > "$WORK/other-node.sh"
  chmod +x "$WORK/other-node.sh"
  expect_exit 2 "ranks disagree on the data in .*same.h5 \(its shape, types, or first and last rows\): rank 1's differs from rank 0's; every node must see the same file" -- \
    timeout 60 "$MPIEXEC" -np 2 "$WORK/other-node.sh" "$DMLP" train --train "$WORK/same.h5" --layers 10,3
  expect_exit 0 "finished" -- timeout 60 "$MPIEXEC" -np 2 "$DMLP" train --train "$WORK/same.h5" --layers 10,3
fi

# In memory and streamed, the same training to the bit: read-ahead windows
# from 26 rows (not a multiple of the batch or of the file's chunks) to all of
# it, batches that leave a partial last one, at P = 1, 2, 3.
"$DMLP" synth --kind blobs --rows 1003 --features 10 --classes 3 --out "$WORK/stream.h5" > /dev/null
same=(train --train "$WORK/stream.h5" --layers 10,8,3 --epochs 2 --batch-size 24 --momentum 0.9 --threads 1)
for np in 1 2 3; do
  timeout 60 "$MPIEXEC" -np "$np" "$DMLP" "${same[@]}" --load all --checkpoint-dir "$WORK/all$np" > /dev/null 2>&1
  for mb in 0.001 0.01 256; do
    timeout 60 "$MPIEXEC" -np "$np" "$DMLP" "${same[@]}" --load stream --read-ahead-mb "$mb" \
      --checkpoint-dir "$WORK/stream$np-$mb" > /dev/null 2>&1
    expect_exit 0 "bitwise identical" -- "$DMLP" inspect "$WORK/all$np/ckpt-000000084.h5" \
      --compare "$WORK/stream$np-$mb/ckpt-000000084.h5"
  done
done
finish
