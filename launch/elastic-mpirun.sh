#!/bin/bash
# Elastic training under plain mpirun: when a host is lost, go on without it.
#   launch/elastic-mpirun.sh --hostfile HOSTS --run-dir DIR [mpirun options] -- build/dmlp train [options]
# HOSTS holds one host a line, "name slots=N" (N ranks on it; 1 without slots=).
# The script runs mpirun on them, with --checkpoint-dir DIR/checkpoints (and
# --resume from it when it holds a checkpoint). When dmlp stalls (exit 4: a
# rank stopped answering) or mpirun fails while a host no longer answers, it
# asks each host whether it is there (an mpirun of `true` on it through the
# same launcher agent, at most DMLP_PROBE_SECONDS, 30) and runs again on the
# hosts that are, from the newest good checkpoint, with as many ranks on each
# as before. It does so at most DMLP_MAX_RESTARTS times (3) and while at least
# DMLP_MIN_NODES hosts (1) remain, and logs each restart. With --reproducible,
# the result is bit for bit that of a run that lost nothing.
# Bad input (exit 2) and divergence (exit 3) would fail again: they end it, as
# does any other failure with every host answering; a stop on a signal (75)
# ends it too, for the batch system to requeue. It exits with dmlp's code.
# SIGTERM or SIGUSR1 to this script reaches dmlp as SIGUSR1 (see
# launch/mpirun-stoppable.sh): it saves, stops, and this exits 75; a signal
# between two runs stops it with 75 too, the newest checkpoint being intact.
# Environment: MPIEXEC (mpirun), DMLP_MIN_NODES, DMLP_MAX_RESTARTS, DMLP_PROBE_SECONDS.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ELASTIC_NAME=elastic-mpirun.sh ELASTIC_UNIT=host
source "$here/elastic-restart.sh"
usage() { echo "usage: $0 --hostfile HOSTS --run-dir DIR [mpirun options] -- DMLP train [train options]" >&2; exit 2; }
hostfile= run_dir= mpirun_options=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  case $1 in
    --hostfile|--run-dir)
      [ $# -ge 2 ] || usage
      [ "$1" = --hostfile ] && hostfile=$2 || run_dir=$2
      shift 2 ;;
    -np|-n|--np|-c|-H|-host|--host|--host=*|-hostfile|--hostfile=*|-machinefile|--machinefile|--machinefile=*|--default-hostfile|--default-hostfile=*|--run-dir=*)
      echo "elastic-mpirun.sh: $1 is set by this script (from --hostfile and --run-dir)" >&2; exit 2 ;;
    *) mpirun_options+=("$1"); shift ;;
  esac
done
[ "${1:-}" = -- ] && [ $# -ge 2 ] && [ -n "$hostfile" ] && [ -n "$run_dir" ] || usage
shift
command=("$@")
for option in "${command[@]}"; do
  case $option in
    --checkpoint-dir|--checkpoint-dir=*|--resume|--resume=*|--init|--init=*)
      echo "elastic-mpirun.sh: $option is set by this script (its run directory is --run-dir)" >&2; exit 2 ;;
  esac
done
[ -r "$hostfile" ] || { echo "elastic-mpirun.sh: cannot read the hostfile $hostfile" >&2; exit 2; }
mpiexec=${MPIEXEC:-mpirun}
elastic_settings

# One entry a host, its slots added up where the file names it twice (as Open MPI does).
hosts=()
declare -A slots_on
while read -r name rest || [ -n "${name:-}" ]; do
  [ -z "$name" ] || [[ $name == \#* ]] && continue
  slots=$(sed -n 's/\(^\|.*[[:space:]]\)slots=\([0-9][0-9]*\).*/\2/p' <<<"$rest")
  [ -n "${slots_on[$name]:-}" ] || hosts+=("$name")
  slots_on[$name]=$(( ${slots_on[$name]:-0} + ${slots:-1} ))
done < "$hostfile"
[ ${#hosts[@]} -gt 0 ] || { echo "elastic-mpirun.sh: $hostfile names no host" >&2; exit 2; }

mkdir -p "$run_dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stop_requested=0 launcher=
trap 'stop_requested=1; [ -n "$launcher" ] && kill -USR1 "$launcher" 2>/dev/null' TERM USR1
host_answers() {  # HOST: a process starts on it, and its daemon reaches us, within probe_seconds
  timeout -k 5 "$probe_seconds" "$mpiexec" ${mpirun_options[@]+"${mpirun_options[@]}"} --host "$1:1" -np 1 true \
    > /dev/null 2>&1
}
rank_count() { local n=0 h; for h in "$@"; do n=$((n + slots_on[$h])); done; echo "$n"; }

while :; do
  for h in "${hosts[@]}"; do echo "$h slots=${slots_on[$h]}"; done > "$work/hosts"
  resume=()
  [ -n "$(newest_checkpoint "$run_dir/checkpoints")" ] && resume=(--resume "$run_dir/checkpoints")
  # In a session of its own, so that a stop signal reaches it from this script
  # alone, as SIGUSR1, which it forwards (launch/mpirun-stoppable.sh). Its
  # output goes through a process substitution, not a pipe: a daemon left on
  # a host cut off from this one holds its end of the output until it
  # notices, which may be never, and a pipe's tee would wait for it.
  setsid "$mpiexec" ${mpirun_options[@]+"${mpirun_options[@]}"} --hostfile "$work/hosts" \
    -np "$(rank_count "${hosts[@]}")" "${command[@]}" --checkpoint-dir "$run_dir/checkpoints" \
    ${resume[@]+"${resume[@]}"} > >(tee "$work/attempt.log") 2>&1 &
  launcher=$!
  while :; do
    wait "$launcher"
    rc=$?
    kill -0 "$launcher" 2>/dev/null || break  # else the wait was cut short by the trap
  done
  launcher=
  case $rc in
    0|75) exit "$rc" ;;
  esac
  fails_again "$rc" && exit "$rc"
  [ "$stop_requested" = 1 ] && { echo "elastic-mpirun.sh: stopped on a signal (mpirun exited $rc)" >&2; exit 75; }
  probe_all host_answers "${hosts[@]}"
  [ "$stop_requested" = 1 ] && { echo "elastic-mpirun.sh: stopped on a signal" >&2; exit 75; }
  elastic_decide "$rc" "$(rank_count "${hosts[@]}")" "$(rank_count ${alive[@]+"${alive[@]}"})" "$work/attempt.log" \
    "$run_dir/checkpoints" || exit "$rc"
  hosts=("${alive[@]}")
done
