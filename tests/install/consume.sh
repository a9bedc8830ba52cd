#!/usr/bin/env bash
# The installed package as a user meets it: `cmake --install` into a temporary
# prefix, then examples/train-from-cpp configured with find_package(dmlp),
# built, and run on 2 ranks.
#   bash consume.sh BUILD_DIR EXAMPLE_DIR [MPIEXEC]
set -euo pipefail
build=$1 example=$2 mpiexec=${3:-mpiexec}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
for f in bin/dmlp include/dmlp/dmlp.hpp include/dmlp/run/training_run.hpp lib/libdmlp_run.a lib/libdmlp_core.a \
         lib/cmake/dmlp/dmlpConfig.cmake lib/cmake/dmlp/dmlpConfigVersion.cmake lib/cmake/dmlp/dmlpTargets.cmake; do
  [ -e "$prefix/$f" ] || { echo "FAIL: not installed: $f"; exit 1; }
done
echo "ok:   installed the libraries, headers, dmlp and the CMake package"

cmake -S "$example" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" \
  || { tail -20 "$work/configure.log"; echo "FAIL: find_package(dmlp)"; exit 1; }
cmake --build "$work/build" -j 2 > "$work/build.log" || { tail -30 "$work/build.log"; echo "FAIL: build"; exit 1; }
echo "ok:   the example configured with find_package(dmlp) and built against dmlp::dmlp"

out=$("$mpiexec" -np 2 --oversubscribe "$work/build/train_from_cpp" 2>&1) || { echo "$out" | tail; echo "FAIL: run"; exit 1; }
echo "$out" | tail -3
accuracy=$(sed -n 's/.*on 2 ranks: test accuracy \([0-9.]*\).*/\1/p' <<<"$out")
python3 -c "import sys; sys.exit(0 if float('${accuracy:-0}') >= 0.9 else 1)" \
  || { echo "FAIL: test accuracy '${accuracy}' below 0.9"; exit 1; }
echo "ok:   the example trained on 2 ranks to test accuracy $accuracy"

"$prefix/bin/dmlp" --version | grep -q "0\.1" || { echo "FAIL: the installed dmlp does not run"; exit 1; }
echo "ok:   the installed dmlp runs"
