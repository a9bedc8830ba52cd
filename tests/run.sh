#!/usr/bin/env bash
# The whole test suite from a clean clone: installs what is missing, builds
# with warnings as errors, runs every test (the cluster tier included), then
# builds and runs them again under AddressSanitizer + UBSan (without the
# cluster tier, which tests launching, not memory). Both presets always run,
# so that a failure in one does not hide the other's results; the exit status
# is non-zero when either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh || exit 1
# The cluster tier (ctest -L cluster) needs network namespaces, Slurm and munge;
# without them (no root, no sudo) its tests fail, and the rest still run.
bash launch/setup.sh --cluster || echo "warning: the cluster tier's packages are missing" >&2
# The scaling sweep's test draws its figure with matplotlib (skipped without it).
bash launch/setup.sh --plot || echo "warning: python3-matplotlib is missing: the sweep's figure is not tested" >&2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=$(nproc)
failed=()
for preset in ci sanitize; do
  echo "=== $preset: configure, build, test"
  if cmake --preset "$preset" && cmake --build --preset "$preset" -j "$jobs" && ctest --preset "$preset"; then
    echo "=== $preset: passed"
  else
    echo "=== $preset: FAILED"
    failed+=("$preset")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "=== failed: ${failed[*]}" >&2
  exit 1
fi
echo "=== all passed: ci, sanitize"
