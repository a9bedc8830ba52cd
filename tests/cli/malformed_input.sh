# The malformed-input suite: data files, CSV and IDX files, checkpoints,
# command-line values and paths, each at 1 and at 2 ranks. Every case asserts
# the exit code and that the one message names what is wrong (the file, and
# the dataset, attribute or option); under mpirun it is printed once. The
# sanitizer preset runs the same suite.
source "$(dirname "$0")/lib.sh"
MAKE_FILES=$3
"$MAKE_FILES" "$WORK" > /dev/null || { fail "could not write the test files"; finish; }
W=$WORK
echo "not HDF5" > "$W/notes.txt"
head -c 1500 "$W/good.h5" > "$W/truncated.h5"
ln -s "$W/nowhere.h5" "$W/dangling.h5"
ln -s "$W/loop-b.h5" "$W/loop-a.h5" && ln -s "$W/loop-a.h5" "$W/loop-b.h5"
mkdir "$W/adir"
printf 'a,b,label\n1,2,0\n3,abc,1\n' > "$W/bad-cell.csv"
printf '1,2,0\n3,4\n' > "$W/ragged.csv"
printf '1,nan,0\n' > "$W/nan.csv"
printf '1,2,-1\n' > "$W/negative-label.csv"
printf '\x00\x00\x08\x02\x00\x00\x00\x01' | gzip > "$W/bad-magic.gz"
"$DMLP" train --train "$W/good.h5" --layers 4,8,3 --max-steps 50 --momentum 0.9 --checkpoint-dir "$W/ck" > /dev/null 2>&1
good_ck=$W/ck/ckpt-000000050.h5
"$MAKE_FILES" "$W" "$good_ck" > /dev/null || fail "could not damage the checkpoint"
head -c 4000 "$good_ck" > "$W/ck_truncated.h5"
echo x > "$W/plain-file"

t=(train --layers 4,8,3 --epochs 1 --batch-size 8)           # on a data file
s=(train --synthetic blobs --layers 20,5 --samples 200 --epochs 1)  # on synthetic data
cases=0
# check CODE PATTERN ARGS...: at 1 rank (started alone, as a singleton) and at
# 2 (under mpirun), exit CODE and the message (printed once) matching PATTERN
check() {
  local code=$1 pattern=$2 np out rc count
  shift 2
  cases=$((cases + 1))
  for np in 1 2; do
    if [ "$np" -eq 1 ]; then out=$(timeout 60 "$DMLP" "$@" 2>&1); else out=$(timeout 60 "$MPIEXEC" -np "$np" "$DMLP" "$@" 2>&1); fi
    rc=$?
    count=$(grep -cE -- "error: .*$pattern" <<<"$out")
    if [ "$rc" -eq "$code" ] && [ "$count" -eq 1 ]; then
      pass "P=$np exit $code /$pattern/"
    else
      fail "P=$np: exit $rc (expected $code), $count matching lines: $*"
      grep -E "error" <<<"$out" | head -3 | sed 's/^/      /'
    fi
  done
}

# ---- command-line values
check 2 "width 0 in '784,0,10' must be positive" "${s[@]}" --layers 784,0,10
check 2 "'x' in '20,x,3' is not an integer" "${s[@]}" --layers 20,x,3
check 2 "needs at least 2 widths" "${s[@]}" --layers 20
check 2 "unknown activation 'relu6'" "${s[@]}" --activation relu6
check 2 "unknown loss 'crossentropy'" "${s[@]}" --loss crossentropy
check 2 "--lr -0.5 must be positive" "${s[@]}" --lr -0.5
check 2 "--lr nan must be positive" "${s[@]}" --lr nan
check 2 "--momentum 1 must be in \[0, 1\)" "${s[@]}" --momentum 1
check 2 "--batch-size 0 must be positive" "${s[@]}" --batch-size 0
check 2 "--batch-size 4294967424 is too large: at most 2147483647" "${s[@]}" --batch-size 4294967424
check 2 "--batch-size 9223372036854775807 is too large" "${s[@]}" --batch-size 9223372036854775807
check 2 "--epochs 0 must be positive" "${s[@]}" --epochs 0
check 2 "--samples -5 must be positive" "${s[@]}" --samples -5
check 2 "the model 4-100000-100000-3.* needs [0-9.]+ GiB, more than the" "${s[@]}" --layers 4,100000,100000,3
check 2 "the synthetic set of .* rows \(--samples, --test-samples\) needs [0-9.]+ TiB" "${s[@]}" --samples 1000000000000
check 2 "--bucket-mb 1e\+30 must be a number of MiB in \[0, 1048576\]" "${s[@]}" --bucket-mb 1e30
check 2 "--bucket-mb nan must be a number of MiB" "${s[@]}" --bucket-mb nan
check 2 "--stall-timeout -1 must be 0 \(no stall watchdog\) or at least 1 second" "${s[@]}" --stall-timeout -1
check 2 "--stall-timeout 0.5 must be 0" "${s[@]}" --stall-timeout 0.5
check 2 "--checkpoint-every-seconds" "${s[@]}" --checkpoint-every-seconds nan --checkpoint-dir "$W/cks"
check 2 "--keep-checkpoints 0 must be at least 1" "${s[@]}" --keep-checkpoints 0 --checkpoint-dir "$W/cks"
check 2 "--classes -3 must be positive" "${s[@]}" --classes -3
check 2 "--noise nan must be a finite number >= 0" "${s[@]}" --noise nan
check 2 "--seed: -1 is negative; expected >= 0" "${s[@]}" --seed -1
check 2 "--warmup-steps -1 must be >= 0" "${s[@]}" --warmup-steps -1
check 2 "--lambda nan must be >= 0" "${s[@]}" --lambda nan
check 2 "--weight-decay inf must be >= 0" "${s[@]}" --weight-decay inf
check 2 "unknown --load 'some'" "${t[@]}" --train "$W/good.h5" --load some
check 2 "unknown --precision 'half'" "${s[@]}" --precision half
check 2 "--bogus" "${s[@]}" --bogus
check 2 "unknown command 'frobnicate'; the commands are train" frobnicate
check 2 "give --resume or --init, not both" "${s[@]}" --resume "$good_ck" --init "$good_ck"
check 2 "give --synthetic or --train, not both" "${s[@]}" --train "$W/good.h5"
check 2 "no training data" train --layers 4,3
check 2 "--test .*good.h5 goes with --train; --synthetic makes its own test set" "${s[@]}" --test "$W/good.h5"
check 2 "--epochs 9223372036854775807 is too large" "${s[@]}" --epochs 9223372036854775807
check 2 "synthetic blobs: 1000000 classes; at most 65536" "${s[@]}" --layers 20,1000000 --samples 20
check 2 "--batch-size 5000000000 is too large" eval --checkpoint "$good_ck" --data "$W/good.h5" --batch-size 5000000000
check 2 "--threads -1 must be positive" eval --checkpoint "$good_ck" --data "$W/good.h5" --threads -1
check 2 "--batch-size 3000000000 is too large" gradcheck --layers 4,3 --batch-size 3000000000
check 2 "a synthetic set of 1099511627776 rows x 10 features needs" synth --kind blobs --rows 1099511627776 --features 10 --out "$W/x.h5"
check 2 "--noise inf must be a finite number" synth --kind blobs --rows 10 --features 3 --noise inf --out "$W/x.h5"
# numbers written out plainly, within their type: CLI11 alone reads '' as 0, clamps 2^64, takes hex
check 2 "--stall-timeout: '' is not a number" "${s[@]}" --stall-timeout ""
check 2 "--max-steps: '' is not a whole number" "${s[@]}" --max-steps ""
check 2 "--lr: '0x1p-4' is not a number" "${s[@]}" --lr 0x1p-4
check 2 "--keep-checkpoints: '0x10' is not a whole number" "${s[@]}" --keep-checkpoints 0x10 --checkpoint-dir "$W/cks"
check 2 "--seed: 18446744073709551616 is out of range: at most 18446744073709551615" "${s[@]}" --seed 18446744073709551616
check 2 "--seed: 18446744073709551616 is out of range" synth --kind blobs --rows 10 --features 3 --seed 18446744073709551616 --out "$W/x.h5"
check 2 "--max-steps: 9223372036854775808 is out of range" "${s[@]}" --max-steps 9223372036854775808
check 2 "--lambda: 1e400 is out of range for a double" "${s[@]}" --lambda 1e400
# counters bounded where they are given, so that no step or sample count can overflow
check 2 "--max-steps 9223372036854775807 is too large: at most 281474976710656" "${s[@]}" --max-steps 9223372036854775807
check 2 "--epochs 1000000000000000 is too large: at most 281474976710656" "${s[@]}" --epochs 1000000000000000
check 2 "--epochs 200000000000000 is too large: 200000000000000 x 2 steps per epoch is more than 281474976710656 steps" \
  "${s[@]}" --epochs 200000000000000
check 2 "281474976710656 steps of --batch-size 1000000 are more than 4611686018427387904 samples" \
  "${s[@]}" --max-steps 281474976710656 --batch-size 1000000
# values the readers would refuse, or no model could learn from, refused where they are given
check 2 "synthetic blobs: 16777217 features; at most 16777216" synth --kind blobs --rows 10 --features 16777217 --out "$W/x.h5"
check 2 "synthetic blobs: 65537 classes; at most 65536" synth --kind blobs --rows 10 --features 3 --classes 65537 --out "$W/x.h5"
check 2 "--num-classes 65537 is more than the 65536 classes a data set may have" \
  convert csv --in "$W/negative-label.csv" --out "$W/o.h5" --num-classes 65537
# messages name every setting by its flag, with the value given
printf '1,2,0\n3,4,1\n5,6,2\n' > "$W/three-classes.csv"
check 2 "--delimiter is empty; expected a separator" convert csv --in "$W/three-classes.csv" --out "$W/o.h5" --delimiter ''
check 2 "--threads -1 must be positive \(0: choose\)" "${s[@]}" --threads -1
check 2 "--checkpoint-every-seconds -1 must be >= 0" "${s[@]}" --checkpoint-every-seconds -1
check 2 "--noise 1e\+300 is more than 1000" synth --kind blobs --rows 10 --features 3 --noise 1e300 --out "$W/x.h5"
check 2 "--noise 1e\+30 is more than 1000" "${s[@]}" --noise 1e30
check 2 "--test-samples -2 must be >= 0 \(0: no test set\)" "${s[@]}" --test-samples -2
check 2 "--test-out .*y.h5 needs --test-rows N" synth --kind blobs --rows 10 --features 3 --out "$W/x.h5" --test-out "$W/y.h5"
check 2 "--target-columns: an empty value; give one, or leave the option out" convert csv --in "$W/ragged.csv" --out "$W/o.h5" --target-columns ""
check 2 "--resume: an empty value" "${s[@]}" --resume ""
check 2 "--checkpoint-dir: an empty value" "${s[@]}" --checkpoint-dir ""
check 2 "--out: an empty value" predict --checkpoint "$good_ck" --data "$W/good.h5" --out ""
check 2 "--lr: 1e-400 is out of range for a double \(it would be 0\)" "${s[@]}" --lr 1e-400
check 2 "--threads: 2147483648 is out of range for it" "${s[@]}" --threads 2147483648
check 2 "--per-layer -1 must be >= 0" gradcheck --layers 4,3 --per-layer -1

# ---- data files
check 2 "nope.h5: no such file" "${t[@]}" --train "$W/nope.h5"
check 2 "notes.txt: not an HDF5 file" "${t[@]}" --train "$W/notes.txt"
check 2 "truncated.h5: cannot be read as HDF5 \(damaged or truncated\?\)" "${t[@]}" --train "$W/truncated.h5"
check 2 "adir: is a directory; expected a file" "${t[@]}" --train "$W/adir"
check 2 "dangling.h5: is a symbolic link to .*nowhere.h5, which does not exist" "${t[@]}" --train "$W/dangling.h5"
check 2 "loop-a.h5: cannot be followed: Too many levels of symbolic links" "${t[@]}" --train "$W/loop-a.h5"
check 2 "no_features.h5: no dataset /features" "${t[@]}" --train "$W/no_features.h5"
check 2 "features_group.h5: /features is a group; expected a dataset" "${t[@]}" --train "$W/features_group.h5"
check 2 "features_3d.h5: dataset /features has shape \[40, 2, 2\]; expected 2 dimensions" "${t[@]}" --train "$W/features_3d.h5"
check 2 "features_int64.h5: dataset /features has type int64" "${t[@]}" --train "$W/features_int64.h5"
check 2 "float_labels.h5: dataset /labels has type float32; expected an integer type" "${t[@]}" --train "$W/float_labels.h5"
check 2 "short_labels.h5: dataset /features has 40 rows but /labels has 39" "${t[@]}" --train "$W/short_labels.h5"
check 2 "no_num_classes.h5: dataset /labels has no num_classes attribute" "${t[@]}" --train "$W/no_num_classes.h5"
check 2 "num_classes_array.h5: attribute num_classes of /labels holds 2 values; expected one integer" "${t[@]}" --train "$W/num_classes_array.h5"
check 2 "num_classes_string.h5: attribute num_classes of /labels is a string" "${t[@]}" --train "$W/num_classes_string.h5"
check 2 "num_classes_float.h5: attribute num_classes of /labels is a floating-point number" "${t[@]}" --train "$W/num_classes_float.h5"
check 2 "num_classes_huge.h5: attribute num_classes of /labels is 4294967299; expected 1 to 65536" "${t[@]}" --train "$W/num_classes_huge.h5"
check 2 "num_classes_zero.h5: attribute num_classes of /labels is 0" "${t[@]}" --train "$W/num_classes_zero.h5"
check 2 "format_version_array.h5: attribute format_version holds 2 values" "${t[@]}" --train "$W/format_version_array.h5"
check 2 "scale_nan.h5: attribute scale of /features is nan" "${t[@]}" --train "$W/scale_nan.h5"
check 2 "label_too_big.h5: dataset /labels row 17 holds 7; expected a class in \[0, 3\)" "${t[@]}" --train "$W/label_too_big.h5"
check 2 "label_negative.h5: dataset /labels row 5 holds -1" "${t[@]}" --train "$W/label_negative.h5"
check 2 "nan_feature.h5: dataset /features row 23 column 2 is NaN" "${t[@]}" --train "$W/nan_feature.h5"
check 2 "inf_feature.h5: dataset /features row 31 column 0 is infinite" "${t[@]}" --train "$W/inf_feature.h5" --load stream
check 2 "corrupt_chunk.h5: cannot read rows [0-9]+ to [0-9]+ \(damaged\?\)" "${t[@]}" --train "$W/corrupt_chunk.h5"
check 2 "empty.h5: dataset /features has 0 rows" "${t[@]}" --train "$W/empty.h5"
check 2 "takes 5 inputs .*good.h5 has 4 features" train --train "$W/good.h5" --layers 5,8,3
check 2 "nan_feature.h5: dataset /features row 23" "${t[@]}" --train "$W/good.h5" --test "$W/nan_feature.h5"

# ---- CSV and IDX files
check 2 "bad-cell.csv line 3, column 2 \(b\): 'abc' is not a number" convert csv --in "$W/bad-cell.csv" --out "$W/o.h5" --header
check 2 "ragged.csv line 2 has 2 columns; expected 3" convert csv --in "$W/ragged.csv" --out "$W/o.h5"
check 2 "nan.csv line 1, column 2: 'nan' is not a finite number" convert csv --in "$W/nan.csv" --out "$W/o.h5"
check 2 "negative-label.csv line 1, column 3: label '-1' is negative" convert csv --in "$W/negative-label.csv" --out "$W/o.h5"
check 2 "adir: is a directory; expected a file" convert csv --in "$W/adir" --out "$W/o.h5"
check 2 "bad-magic.gz: magic number 0x00000802; expected 0x00000803" convert idx --images "$W/bad-magic.gz" --labels "$W/bad-magic.gz" --out "$W/o.h5"

# ---- checkpoints
check 2 "missing.h5: no such checkpoint" "${t[@]}" --train "$W/good.h5" --resume "$W/missing.h5"
check 2 "ck_truncated.h5: cannot be read as HDF5" "${t[@]}" --train "$W/good.h5" --resume "$W/ck_truncated.h5"
check 2 "good.h5: dmlp_format is 'dataset'; expected 'checkpoint'" "${t[@]}" --train "$W/good.h5" --resume "$W/good.h5"
check 2 "ck_step_array.h5: attribute step holds 2 values; expected one integer" "${t[@]}" --train "$W/good.h5" --resume "$W/ck_step_array.h5"
check 2 "ck_step_string.h5: attribute step is a string; expected an integer" inspect "$W/ck_step_string.h5"
check 2 "ck_step_float.h5: attribute step is a floating-point number" inspect "$W/ck_step_float.h5"
check 2 "ck_step_negative.h5: attribute step is -40; expected 0 to" "${t[@]}" --train "$W/good.h5" --resume "$W/ck_step_negative.h5"
check 2 "ck_step_changed.h5: state checksum mismatch" "${t[@]}" --train "$W/good.h5" --resume "$W/ck_step_changed.h5"
check 2 "ck_version_lowered.h5: format_version 2, but it holds format 4.s optimizer attributes: the file is damaged" inspect "$W/ck_version_lowered.h5"
check 2 "ck_width_fraction.h5: the model has a width of 8.5; expected whole numbers" inspect "$W/ck_width_fraction.h5"
# an array that is an external link (to a FIFO: HDF5 would block opening it) is refused at once
mkfifo "$W/fifo"
check 2 "ck_external_link.h5: /parameters/layer1/W is a link, not an array of the file" inspect "$W/ck_external_link.h5"
# forged: attributes changed and every checksum recomputed; still refused
check 2 "ck_forged_rng.h5: attribute rng is 'garbage'; expected" inspect "$W/ck_forged_rng.h5"
check 2 "ck_forged_seed.h5: attribute seed 12345 differs from the configuration's 1: the file is damaged" \
  inspect "$W/ck_forged_seed.h5"
forged_resume=(train --train "$W/good.h5" --layers 4,8,3 --max-steps 60 --momentum 0.9)
check 2 "ck_forged_step_in_epoch.h5: its position \(step 50, epoch 50 with 2 steps into it, 2000 samples\) is not one this run's batches reach" \
  "${forged_resume[@]}" --resume "$W/ck_forged_step_in_epoch.h5"
check 2 "cannot resume from .*ck_forged_far_step.h5: it is at step 1099511627776, past this run's last step 60" \
  "${forged_resume[@]}" --resume "$W/ck_forged_far_step.h5"
check 2 "cannot resume from .*ck_forged_format1.h5: .*--batch-size \(/training/global_batch: 128 in the checkpoint, 16 now\)" \
  "${forged_resume[@]}" --batch-size 16 --resume "$W/ck_forged_format1.h5"
"$DMLP" train --train "$W/good.h5" --layers 4,8,3 --max-steps 10 --optimizer adamw --lr 0.01 --checkpoint-dir "$W/ck-adam" \
  > /dev/null 2>&1
"$MAKE_FILES" "$W" --adamw "$W/ck-adam/ckpt-000000010.h5" > /dev/null || fail "could not forge the AdamW checkpoint"
check 2 "ck_forged_exp_avg_sq.h5: 1 of its 67 exp_avg_sq values are negative; a second moment never is" \
  train --train "$W/good.h5" --layers 4,8,3 --max-steps 20 --optimizer adamw --lr 0.01 --resume "$W/ck_forged_exp_avg_sq.h5"
check 2 "ckpt-000000050.h5: dmlp_format is 'checkpoint'; expected 'dataset'" "${t[@]}" --train "$good_ck"
check 2 "--out .*ckpt-000000050.h5 is the --checkpoint file: writing it would destroy that file" \
  predict --checkpoint "$good_ck" --data "$W/good.h5" --out "$good_ck"
check 2 "--out .*adir is a directory; expected a file name" predict --checkpoint "$good_ck" --data "$W/good.h5" --out "$W/adir"
check 2 "cannot resume from .*ckpt-000000050.h5: .*--batch-size \(/training/global_batch: 128 in the checkpoint, 16 now\)" \
  train --train "$W/good.h5" --layers 4,8,3 --epochs 1 --batch-size 16 --resume "$good_ck"
check 2 "holds the model 4-8-3.* but the options describe 4-16-3" train --train "$W/good.h5" --layers 4,16,3 --resume "$good_ck"

# --resume DIR skips a malformed newest file, naming it, and takes the good one
mkdir "$W/mixed"
cp "$good_ck" "$W/mixed/"
cp "$W/ck_step_array.h5" "$W/mixed/ckpt-000000070.h5"
cp "$W/ck_step_changed.h5" "$W/mixed/ckpt-000000060.h5"
for np in 1 2; do
  out=$(timeout 60 "$MPIEXEC" -np "$np" "$DMLP" train --train "$W/good.h5" --layers 4,8,3 --max-steps 60 --momentum 0.9 \
        --resume "$W/mixed" 2>&1)
  rc=$?
  grep -q "skipping checkpoint .*ckpt-000000070.h5: .*attribute step holds 2 values" <<<"$out" \
    && grep -q "skipping checkpoint .*ckpt-000000060.h5: .*state checksum mismatch" <<<"$out" \
    && grep -q "resuming from .*ckpt-000000050.h5 at step 50" <<<"$out" && [ "$rc" -eq 0 ] \
    && pass "P=$np: --resume DIR skipped both malformed files, named each, resumed at 50" \
    || { fail "P=$np: --resume DIR past malformed files: exit $rc"; grep -E "warning|error" <<<"$out" | head -4; }
done

# ---- paths
check 2 "--checkpoint-dir .*plain-file/ck: cannot create the directory" "${s[@]}" --checkpoint-dir "$W/plain-file/ck"
check 2 "--metrics .*plain-file/m.jsonl: cannot open it for writing \(Not a directory\)" "${s[@]}" --metrics "$W/plain-file/m.jsonl"
check 2 "--out .*plain-file/p.h5: the directory .*plain-file: cannot create files there \(Not a directory\)" predict --checkpoint "$good_ck" --data "$W/good.h5" --out "$W/plain-file/p.h5"

echo "$cases cases, each at 1 and 2 ranks"
[ "$cases" -ge 60 ] || fail "only $cases cases"
finish
