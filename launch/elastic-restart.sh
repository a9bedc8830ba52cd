# Sourced by launch/slurm/train.sbatch and launch/elastic-mpirun.sh: what the
# two share in going on without a lost node. The caller sets ELASTIC_NAME
# (its name, for messages) and ELASTIC_UNIT (node or host).
#   elastic_settings            DMLP_MIN_NODES, DMLP_MAX_RESTARTS, DMLP_PROBE_SECONDS, checked
#   newest_checkpoint DIR       the newest ckpt-*.h5 file in DIR, or nothing
#   elastic_decide RC OLD NEW LOG DIR
#                               after a failed run (exit RC, its output in LOG) and the
#                               probes (the arrays alive and lost): 0 and a line saying so
#                               when the run goes on on the nodes alive (OLD ranks, NEW
#                               now); 1 and a line saying why not
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

elastic_decide() {
  local rc=$1 old=$2 new=$3 log=$4 dir=$5 what checkpoint
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
