#!/usr/bin/env bash
# Fashion-MNIST as dmlp data sets: 60000 training and 10000 test images of
# clothing, 28x28 grey levels, 10 classes (Zalando Research, MIT licence).
#
#   bash datasets/fashion-mnist.sh [OUT_DIR] [DMLP]
#
# converts the IDX files that Debian's dataset-fashion-mnist package installs
# into OUT_DIR/train.h5 and OUT_DIR/test.h5 (uint8 pixels, scale 1/255; see
# datasets/README.md). Defaults: OUT_DIR build/data/fashion-mnist, DMLP
# build/dmlp, both below the repository root. FASHION_MNIST_DIR overrides where
# the IDX files are read from. Does nothing when both outputs are up to date.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT_DIR=${1:-$ROOT/build/data/fashion-mnist}
DMLP=${2:-$ROOT/build/dmlp}
SRC=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}

die() { echo "fashion-mnist.sh: $*" >&2; exit 1; }

# split name -> the IDX file prefix the data set uses for it
declare -A PREFIX=([train]=train [test]=t10k)
inputs=()
for split in train test; do
  inputs+=("$SRC/${PREFIX[$split]}-images-idx3-ubyte.gz" "$SRC/${PREFIX[$split]}-labels-idx1-ubyte.gz")
done

missing=()
for f in "${inputs[@]}"; do [ -r "$f" ] || missing+=("$f"); done
if [ ${#missing[@]} -ne 0 ]; then
  die "missing ${missing[*]}
  Install them with:  sudo apt-get install dataset-fashion-mnist
  or set FASHION_MNIST_DIR to a directory holding the four *-ubyte.gz files."
fi

# Up to date: both outputs exist and are newer than every input.
up_to_date() {
  local out f
  for out in "$OUT_DIR/train.h5" "$OUT_DIR/test.h5"; do
    [ -f "$out" ] || return 1
    for f in "${inputs[@]}"; do [ "$out" -nt "$f" ] || return 1; done
  done
}
if up_to_date; then
  echo "fashion-mnist: $OUT_DIR/train.h5 and test.h5 are up to date"
  exit 0
fi

[ -x "$DMLP" ] || die "no dmlp executable at $DMLP; build it first (cmake --build build) or pass its path as the second argument"
mkdir -p "$OUT_DIR"
for split in train test; do
  out=$OUT_DIR/$split.h5
  # Written under a temporary name and renamed when complete, so an
  # interrupted run never leaves a partial file that looks up to date.
  tmp=$OUT_DIR/.$split.h5.partial
  "$DMLP" convert idx --images "$SRC/${PREFIX[$split]}-images-idx3-ubyte.gz" \
    --labels "$SRC/${PREFIX[$split]}-labels-idx1-ubyte.gz" --out "$tmp" >/dev/null ||
    { rm -f "$tmp"; die "converting the $split set failed"; }
  mv -f "$tmp" "$out"
  echo "fashion-mnist: wrote $out"
done
