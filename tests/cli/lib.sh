# Helpers for the command-line tests. Each test script: bash SCRIPT DMLP MPIEXEC
set -u
DMLP=$1
MPIEXEC=${2:-mpiexec}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# When a rank exits non-zero, mpirun signals the others and waits this long
# before SIGKILL; by default a second (plus another at 1 rank) per failing run,
# which the many bad-input cases would add up.
export OMPI_MCA_odls_base_sigkill_timeout=${OMPI_MCA_odls_base_sigkill_timeout:-0}
# Run inside a Slurm allocation, these would announce its size to dmlp train.
unset SLURM_NTASKS PMI_SIZE PMIX_SIZE
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Each script's mpiruns keep their session directories under its own
# directory: mpiruns of tests running at once (ctest -j) share the default
# /tmp/ompi.HOST.UID, and one that ends removes it while another creates its
# own below it ("orte_session_dir failed", open-mpi/ompi#8510).
mkdir -p "$WORK/mpi-sessions"
export OMPI_MCA_orte_tmpdir_base="$WORK/mpi-sessions"
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok:   $*"; }

# expect_exit CODE PATTERN -- COMMAND...: the command exits with CODE and its
# output (stdout and stderr) matches the extended regex PATTERN.
show_output() {
  if [ "$(wc -l <<<"$1")" -le 60 ]; then sed 's/^/      /' <<<"$1"
  else head -30 <<<"$1" | sed 's/^/      /'; echo "      [...]"; tail -30 <<<"$1" | sed 's/^/      /'; fi
}

expect_exit() {
  local code=$1 pattern=$2
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$code" ]; then
    fail "exit $rc, expected $code: $*"; show_output "$out"; return
  fi
  if ! grep -Eq -- "$pattern" <<<"$(tr '\n' ' ' <<<"$out")" && ! grep -Eq -- "$pattern" <<<"$out"; then
    # all of it (up to 60 lines), so that a rare miss can be read from the CI log
    fail "output lacks /$pattern/: $*"; show_output "$out"; return
  fi
  pass "exit $code /$pattern/: ${*:2}"
}

finish() {
  if [ "$failures" -ne 0 ]; then echo "$failures failed"; exit 1; fi
  echo "all passed"
}
