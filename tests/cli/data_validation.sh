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
# messages are printed once, by one rank
out=$(train "$WORK/label_too_big.h5" 2>&1)
[ "$(grep -c 'row 17 holds 7' <<<"$out")" -eq 1 ] && pass "printed once" || fail "printed $(grep -c 'row 17' <<<"$out") times"
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
