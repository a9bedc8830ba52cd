# Sourced by launch/slurm/train.sbatch and launch/elastic-mpirun.sh: what the
# two share in going on without a lost node. The caller sets ELASTIC_NAME
# (its name, for messages) and ELASTIC_UNIT (node or host).
#   elastic_settings            DMLP_MIN_NODES, DMLP_MAX_RESTARTS, DMLP_PROBE_SECONDS, checked
#   newest_checkpoint DIR       the newest ckpt-*.h5 file in DIR, or nothing
#   fails_again RC              0 and a line saying so for exits that a restart would
#                               repeat: 2 (bad input), 3 (divergence)
#   probe_all ANSWERS NAME...   runs `ANSWERS NAME` for every name at once; sets the
#                               arrays alive and lost
#   elastic_decide RC OLD NEW LOG DIR
#                               after a failed run (exit RC, its output in LOG) and the
#                               probes: 0 and a line saying so when the run goes on on
#                               the nodes alive (OLD ranks, NEW now); 1 and a line saying
#                               why not
elastic_settings() {
  min_nodes=${DMLP_MIN_NODES:-1} max_restarts=${DMLP_MAX_RESTARTS:-3} probe_seconds=${DMLP_PROBE_SECONDS:-30}
  restarts=0
  local name value least
  for name in DMLP_MIN_NODES:min_nodes:1 DMLP_MAX_RESTARTS:max_restarts:0 DMLP_PROBE_SECONDS:probe_seconds:1; do
    IFS=: read -r name value least <<<"$name"
    value=${!value}
    [[ $value =~ ^[0-9]+$ ]] && [ "$value" -ge "$least" ] || {
      echo "$ELASTIC_NAME: $name is '$value'; it must be a whole number, at least $least" >&2
      exit 2
    }
  done
}

newest_checkpoint() { ls "$1"/ckpt-*.h5 2>/dev/null | sort | tail -1 || true; }

# "at step 50" from a stall report, else "after step 40 (the last logged)", else nothing
failure_step() {
  local step
  step=$(grep "stalled: " "$1" 2>/dev/null | grep -oE "step [0-9]+" | tail -1 || true)
  [ -n "$step" ] && { echo " at $step"; return; }
  step=$(grep -oE "^step [0-9]+" "$1" 2>/dev/null | tail -1 || true)
  [ -n "$step" ] && echo " after $step (the last logged)"
  return 0
}

fails_again() {
  case $1 in
    2|3) echo "$ELASTIC_NAME: dmlp exited $1 ($([ "$1" = 2 ] && echo "bad input" || echo "divergence")): not restarting" >&2
      return 0 ;;
  esac
  return 1
}

probe_all() {
  local answers=$1 name answered probes=()
  shift
  answered=$(mktemp -d)
  for name in "$@"; do ("$answers" "$name" && touch "$answered/$name") 2> /dev/null & probes+=($!); done
  wait "${probes[@]}" || true
  alive=() lost=()
  for name in "$@"; do
    if [ -e "$answered/$name" ]; then alive+=("$name"); else lost+=("$name"); fi
  done
  rm -rf "$answered"
}

elastic_decide() {
  local rc=$1 old=$2 new=$3 log=$4 dir=$5 what checkpoint
  if [ ${#lost[@]} -eq 0 ] && [ "$rc" -ne 4 ]; then  # not a stall, and no node lost: it would fail again
    echo "$ELASTIC_NAME: the run exited $rc with every $ELASTIC_UNIT answering: not restarting" >&2
    return 1
  fi
  what="every $ELASTIC_UNIT answers"
  [ ${#lost[@]} -eq 0 ] || what="lost ${lost[*]}"
  what="$what (exit $rc$(failure_step "$log"))"
  if [ ${#alive[@]} -lt "$min_nodes" ] || [ ${#alive[@]} -eq 0 ]; then
    echo "$ELASTIC_NAME: $what; ${#alive[@]} $ELASTIC_UNIT(s) left, fewer than DMLP_MIN_NODES=$min_nodes: not restarting" >&2
    return 1
  fi
  if [ "$restarts" -ge "$max_restarts" ]; then
    echo "$ELASTIC_NAME: $what; already restarted $restarts times (DMLP_MAX_RESTARTS): not restarting" >&2
    return 1
  fi
  restarts=$((restarts + 1))
  checkpoint=$(newest_checkpoint "$dir")
  # dmlp itself takes the newest checkpoint that reads back whole, and says which
  if [ -n "$checkpoint" ]; then
    checkpoint="the newest good checkpoint in $dir (newest file $(basename "$checkpoint"))"
  else
    checkpoint="the start (no checkpoint yet)"
  fi
  echo "elastic restart $restarts of at most $max_restarts: $what; resuming from $checkpoint" \
    "on ${#alive[@]} $ELASTIC_UNIT(s) ($(IFS=,; echo "${alive[*]}")): $old ranks -> $new"
}
