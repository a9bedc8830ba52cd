# dmlp convert: IDX and CSV files become HDF5 data sets whose values read back
# exactly; a bad file stops with exit code 2 and a message naming the file and
# where in it the problem is.
source "$(dirname "$0")/lib.sh"

# values H5DUMP_ARGS...: the numbers h5dump prints for one dataset or attribute,
# on one line, space-separated; floats with 17 digits, enough to tell apart any
# two doubles (and so any two float32s).
values() {
  h5dump -m %.17g -y -w 0 "$@" | awk '/DATA \{/ { on = 1; next } on && /^ *\}/ { exit } on' |
    tr -d ',\n' | tr -s ' ' | sed 's/^ //; s/ $//'
}
# expect_values WHAT EXPECTED -- H5DUMP_ARGS...
expect_values() {
  local what=$1 expected=$2 got
  shift 3
  got=$(values "$@")
  if [ "$got" = "$expected" ]; then pass "$what: $expected"; else fail "$what: got '$got', expected '$expected'"; fi
}

# ---- Inputs, with the values they must convert to -------------------------------
python3 - "$WORK" <<'PY'
import gzip, struct, sys
work = sys.argv[1]

def write(name, data, gz=False):
    with open(f"{work}/{name}", "wb") as f:
        f.write(gzip.compress(data) if gz else data)

def expect(name, numbers):
    with open(f"{work}/{name}.expected", "w") as f:
        f.write(" ".join(numbers))

def f32(text):  # the float32 nearest the text, printed as h5dump -m %.17g prints it
    return "%.17g" % struct.unpack("f", struct.pack("f", float(text)))[0]

# IDX: 3 images of 2x3 pixels; labels up to 4, so 5 classes (not MNIST's 10).
pixels = [0, 1, 2, 127, 128, 255, 10, 20, 30, 40, 50, 60, 255, 254, 253, 0, 0, 7]
labels = [4, 0, 2]
images = struct.pack(">IIII", 0x803, 3, 2, 3) + bytes(pixels)
label_file = struct.pack(">II", 0x801, 3) + bytes(labels)
for ext, gz in (("gz", True), ("idx", False)):
    write(f"images.{ext}", images, gz)
    write(f"labels.{ext}", label_file, gz)
expect("idx-features", map(str, pixels))
expect("idx-labels", map(str, labels))
expect("idx-scale", ["%.17g" % (1 / 255)])
write("bad-magic.gz", struct.pack(">IIII", 0x802, 3, 2, 3) + bytes(pixels), gz=True)
write("truncated.gz", images[:-5], gz=True)
write("two-labels.idx", struct.pack(">II", 0x801, 2) + bytes(labels[:2]))

# CSV with a header, blank last line, spaces around cells and a CRLF line end.
rows = [["0.5", "-1.25", "3", "0.1", "2"],
        ["1e-3", "+7", "-0.333333", "1234.5", "0"],
        ["-2", "0", "65504", "-1e-7", "1"],
        ["42", "3.25", " 8 ", "0.2", "2"]]
with open(f"{work}/data.csv", "w", newline="") as f:
    f.write("a,b,c,d,class\n")
    for i, row in enumerate(rows):
        f.write(",".join(row) + ("\r\n" if i == 2 else "\n"))
    f.write("\n")
# the same numbers aligned in blank-separated columns
with open(f"{work}/aligned.txt", "w") as f:
    f.writelines("  ".join(c.strip().rjust(10) for c in row) + "\n" for row in rows)
# classification: the last column is the class, the others features
expect("csv-class-features", [f32(c) for row in rows for c in row[:4]])
expect("csv-class-labels", [row[4] for row in rows])
# regression with --target-columns 3,1: targets in that order, features 0, 2, 4
expect("csv-reg-features", [f32(row[c]) for row in rows for c in (0, 2, 4)])
expect("csv-reg-targets", [f32(row[c]) for row in rows for c in (3, 1)])

# broken CSV files
write("bad-cell.csv", b"a,b,c\n1,2,0\n3,abc,1\n")
write("ragged.csv", b"1,2,3,0\n4,5,6,1\n7,8,1\n")
write("negative-label.csv", b"1,2,0\n3,4,-1\n")
write("fractional-label.csv", b"1,2,0\n3,4,2.5\n")
write("label-2.csv", b"1,2,0\n3,4,2\n")
write("nan.csv", b"1,nan,0\n")
write("empty.csv", b"")
write("header-only.csv", b"a,b,class\n")
PY
expected() { cat "$WORK/$1.expected"; }

# ---- IDX ------------------------------------------------------------------------
for ext in gz idx; do
  out=$WORK/idx-$ext.h5
  expect_exit 0 "wrote .*idx-$ext.h5: 3 rows x 6 features, 5 classes" -- \
    "$DMLP" convert idx --images "$WORK/images.$ext" --labels "$WORK/labels.$ext" --out "$out"
  expect_values "IDX ($ext) pixels" "$(expected idx-features)" -- -A 0 -d /features "$out"
  expect_values "IDX ($ext) labels" "$(expected idx-labels)" -- -A 0 -d /labels "$out"
  expect_values "IDX ($ext) num_classes" 5 -- -a /labels/num_classes "$out"
  expect_values "IDX ($ext) scale" "$(expected idx-scale)" -- -a /features/scale "$out"
  expect_values "IDX ($ext) offset" 0 -- -a /features/offset "$out"
done
# under mpirun: one rank reads and writes, and says so once
out=$("$MPIEXEC" -np 2 "$DMLP" convert idx --images "$WORK/images.gz" --labels "$WORK/labels.idx" \
  --out "$WORK/idx-mpi.h5" 2>&1)
if [ "$(grep -c "^wrote" <<<"$out")" -eq 1 ] && [ "$(values -A 0 -d /labels "$WORK/idx-mpi.h5")" = "4 0 2" ]; then
  pass "2 ranks convert once"
else
  fail "2 ranks: $out"
fi

# ---- CSV ------------------------------------------------------------------------
expect_exit 0 "wrote .*csv-class.h5: 4 rows x 4 features, 3 classes" -- \
  "$DMLP" convert csv --in "$WORK/data.csv" --header --out "$WORK/csv-class.h5"
expect_values "CSV features" "$(expected csv-class-features)" -- -A 0 -d /features "$WORK/csv-class.h5"
expect_values "CSV labels" "$(expected csv-class-labels)" -- -A 0 -d /labels "$WORK/csv-class.h5"
expect_values "CSV num_classes" 3 -- -a /labels/num_classes "$WORK/csv-class.h5"
expect_exit 0 "wrote .*csv-reg.h5: 4 rows x 3 features, 2 targets" -- \
  "$DMLP" convert csv --in "$WORK/data.csv" --header --target-columns 3,1 --out "$WORK/csv-reg.h5"
expect_values "CSV regression features" "$(expected csv-reg-features)" -- -A 0 -d /features "$WORK/csv-reg.h5"
expect_values "CSV regression targets" "$(expected csv-reg-targets)" -- -A 0 -d /targets "$WORK/csv-reg.h5"
expect_exit 0 "4 rows x 4 features, 3 classes" -- "$DMLP" convert csv --in "$WORK/aligned.txt" --delimiter ' ' \
  --out "$WORK/aligned.h5"
expect_values "aligned columns" "$(expected csv-class-features)" -- -A 0 -d /features "$WORK/aligned.h5"
tr ',' ';' <"$WORK/data.csv" >"$WORK/semicolon.csv"
expect_exit 0 "4 rows x 4 features, 7 classes" -- "$DMLP" convert csv --in "$WORK/semicolon.csv" --header \
  --delimiter ';' --num-classes 7 --out "$WORK/semicolon.h5"

# ---- Bad input: exit 2, naming the file and the place ----------------------------
convert_csv() { "$DMLP" convert csv --in "$WORK/$1" --out "$WORK/bad.h5" "${@:2}"; }
expect_exit 2 "bad-cell.csv line 3, column 2 \(b\): 'abc' is not a number" -- convert_csv bad-cell.csv --header
expect_exit 2 "ragged.csv line 3 has 3 columns; expected 4" -- convert_csv ragged.csv
expect_exit 2 "line 2, column 3: label '-1' is negative" -- convert_csv negative-label.csv
expect_exit 2 "line 2, column 3: label '2.5' is not an integer" -- convert_csv fractional-label.csv
expect_exit 2 "line 1, column 2: 'nan' is not a finite number" -- convert_csv nan.csv
expect_exit 2 "line 2, column 3: label '2' is not a class in \[0, 2\)" -- convert_csv label-2.csv --num-classes 2
expect_exit 2 "empty.csv: the file is empty" -- convert_csv empty.csv
expect_exit 2 "header-only.csv: has a header line but no data rows" -- convert_csv header-only.csv --header
expect_exit 2 "target column 5 is not among its 3 columns" -- convert_csv bad-cell.csv --header --target-columns 5
expect_exit 2 "--target-columns: 'x' in '1,x' is not a column number" -- convert_csv bad-cell.csv --target-columns 1,x
expect_exit 2 "no such file" -- convert_csv missing.csv
expect_exit 2 "bad-magic.gz: magic number 0x00000802; expected 0x00000803" -- \
  "$DMLP" convert idx --images "$WORK/bad-magic.gz" --labels "$WORK/labels.gz" --out "$WORK/bad.h5"
expect_exit 2 "labels.gz: magic number 0x00000801; expected 0x00000803 .*this is an IDX1 label file" -- \
  "$DMLP" convert idx --images "$WORK/labels.gz" --labels "$WORK/labels.gz" --out "$WORK/bad.h5"
expect_exit 2 "truncated.gz: expected 18 bytes of pixel data .*, found 13" -- \
  "$DMLP" convert idx --images "$WORK/truncated.gz" --labels "$WORK/labels.gz" --out "$WORK/bad.h5"
expect_exit 2 "images.gz holds 3 images but .*two-labels.idx holds 2 labels" -- \
  "$DMLP" convert idx --images "$WORK/images.gz" --labels "$WORK/two-labels.idx" --out "$WORK/bad.h5"
expect_exit 2 "directory .*/nowhere does not exist" -- \
  "$DMLP" convert idx --images "$WORK/images.gz" --labels "$WORK/labels.gz" --out "$WORK/nowhere/x.h5"
expect_exit 2 "^\[rank 0\] error: .*bad-cell.csv line 3, column 2" -- \
  "$MPIEXEC" -np 2 "$DMLP" convert csv --in "$WORK/bad-cell.csv" --header --out "$WORK/bad.h5"

# ---- The converted sets train ----------------------------------------------------
expect_exit 0 "finished" -- "$DMLP" train --train "$WORK/csv-class.h5" --layers 4,8,3 --epochs 1 --batch-size 2
expect_exit 0 "finished" -- "$DMLP" train --train "$WORK/csv-reg.h5" --layers 3,8,2 --loss mse --epochs 1 \
  --batch-size 2
finish
