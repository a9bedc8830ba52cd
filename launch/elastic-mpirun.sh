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
# Environment: MPIEXEC (mpirun), DMLP_MIN_NODES, DMLP_MAX_RESTARTS, DMLP_PROBE_SECONDS.
set -uo pipefail
usage() { echo "usage: $0 --hostfile HOSTS --run-dir DIR [mpirun options] -- DMLP train [train options]" >&2; exit 2; }
hostfile= run_dir= mpirun_options=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  case $1 in
    --hostfile) hostfile=${2:-}; shift 2 ;;
    --run-dir) run_dir=${2:-}; shift 2 ;;
    -np|-n|--np|-H|--host|--hostfile=*|--run-dir=*)
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
min_nodes=${DMLP_MIN_NODES:-1} max_restarts=${DMLP_MAX_RESTARTS:-3} probe_seconds=${DMLP_PROBE_SECONDS:-30}

hosts=()
declare -A slots_on
while read -r name rest; do
  [ -z "$name" ] || [[ $name == \#* ]] && continue
  slots=$(sed -n 's/.*slots=\([0-9]*\).*/\1/p' <<<"$rest")
  hosts+=("$name") slots_on[$name]=${slots:-1}
done < "$hostfile"
[ ${#hosts[@]} -gt 0 ] || { echo "elastic-mpirun.sh: $hostfile names no host" >&2; exit 2; }

mkdir -p "$run_dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
newest_checkpoint() { ls "$run_dir"/checkpoints/ckpt-*.h5 2>/dev/null | sort | tail -1; }
host_answers() {  # HOST: a process starts on it, and its daemon reaches us, within probe_seconds
  timeout "$probe_seconds" "$mpiexec" "${mpirun_options[@]}" --host "$1:1" -np 1 true > /dev/null 2>&1
}
rank_count() { local n=0 h; for h in "$@"; do n=$((n + slots_on[$h])); done; echo "$n"; }

restarts=0
while :; do
  for h in "${hosts[@]}"; do echo "$h slots=${slots_on[$h]}"; done > "$work/hosts"
  resume=()
  [ -n "$(newest_checkpoint)" ] && resume=(--resume "$run_dir/checkpoints")
  # Through a process substitution, not a pipe: a daemon left on a host cut
  # off from this one holds its end of the output until it notices, which
  # may be never, and a pipe's tee would wait for it.
  "$mpiexec" "${mpirun_options[@]}" --hostfile "$work/hosts" -np "$(rank_count "${hosts[@]}")" "${command[@]}" \
    --checkpoint-dir "$run_dir/checkpoints" ${resume[@]+"${resume[@]}"} > >(tee "$work/attempt.log") 2>&1
  rc=$?
  case $rc in
    0|75) exit "$rc" ;;
    2|3) echo "elastic-mpirun.sh: dmlp exited $rc ($([ "$rc" = 2 ] && echo "bad input" || echo "divergence")): not restarting" >&2
      exit "$rc" ;;
  esac
  alive=() lost=()
  probes=()
  for h in "${hosts[@]}"; do (host_answers "$h" && touch "$work/answered-$h") & probes+=($!); done
  wait "${probes[@]}"
  for h in "${hosts[@]}"; do
    if [ -e "$work/answered-$h" ]; then alive+=("$h"); else lost+=("$h"); fi
    rm -f "$work/answered-$h"
  done
  if [ ${#lost[@]} -eq 0 ] && [ "$rc" -ne 4 ]; then
    echo "elastic-mpirun.sh: mpirun exited $rc with every host answering: not restarting" >&2
    exit "$rc"
  fi
  at_step=$(grep -E "^step [0-9]+|stalled: " "$work/attempt.log" | grep -oE "step [0-9]+" | tail -1)
  what="every host answers"
  [ ${#lost[@]} -eq 0 ] || what="lost ${lost[*]}"
  what="$what (exit $rc${at_step:+ at $at_step})"
  if [ ${#alive[@]} -lt "$min_nodes" ]; then
    echo "elastic-mpirun.sh: $what; ${#alive[@]} host(s) left, fewer than DMLP_MIN_NODES=$min_nodes: not restarting" >&2
    exit "$rc"
  fi
  if [ "$restarts" -ge "$max_restarts" ]; then
    echo "elastic-mpirun.sh: $what; already restarted $restarts times (DMLP_MAX_RESTARTS): not restarting" >&2
    exit "$rc"
  fi
  restarts=$((restarts + 1))
  checkpoint=$(newest_checkpoint)
  echo "elastic restart $restarts of at most $max_restarts: $what;" \
    "resuming from ${checkpoint:-the start (no checkpoint yet)} on ${#alive[@]} host(s) ($(IFS=,; echo "${alive[*]}")):" \
    "$(rank_count "${hosts[@]}") ranks -> $(rank_count "${alive[@]}")"
  hosts=("${alive[@]}")
done
