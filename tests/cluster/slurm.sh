# A one-node Slurm (slurmctld, slurmd, munge from Debian's packages), its
# configuration and state under $WORK/slurm, started by slurm_up and stopped
# by slurm_down, by the PIDs it started. Source after lib.sh.
#   slurm_up             start the daemons; wait until the node is idle
#   job_state ID         PENDING, RUNNING, COMPLETED, FAILED, ... (from scontrol)
#   wait_state ID S...   wait (at most 150 s) until the job's state is one of S
SLURM_DIR=$WORK/slurm
export SLURM_CONF=$SLURM_DIR/slurm.conf
SLURM_TEST_PORT=${SLURM_TEST_PORT:-$(( 20000 + $$ % 10000 * 2 ))}  # this run's own ports

slurm_down() {
  local pidfile pid jobs
  if [ -f "$SLURM_DIR/slurmctld.pid" ]; then  # this test cluster's jobs: end them, then the daemons
    jobs=$(squeue -h -o %A 2>/dev/null)
    [ -n "$jobs" ] && scancel --full $jobs 2>/dev/null
    for _ in $(seq 50); do [ -z "$(squeue -h -t R,CG -o %A 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  for pidfile in "$SLURM_DIR/slurmd.pid" "$SLURM_DIR/slurmctld.pid" "$SLURM_DIR/munge/run/munged.pid"; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null && for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  return 0
}

slurm_up() {
  local m=$SLURM_DIR/munge node
  # TmpFS: the PMIx plugin's per-step directories (spmix_appdir_UID_JOB.STEP) stay
  # inside this test's tree; in /tmp, one left by a killed run would collide
  # with the same job number of the next (job numbers start at 1 each time).
  mkdir -p "$m"/{etc,run,log,lib} "$SLURM_DIR"/{state,spool,tmp}
  chmod 755 "$WORK" "$SLURM_DIR"
  mungekey --create --keyfile "$m/etc/munge.key" --force 2>/dev/null || return 1
  chown -R munge:munge "$m"
  chmod 700 "$m"/{etc,lib,log}
  chmod 600 "$m/etc/munge.key"
  runuser -u munge -- munged --socket="$m/run/munge.socket.2" --key-file="$m/etc/munge.key" \
    --log-file="$m/log/munged.log" --pid-file="$m/run/munged.pid" --seed-file="$m/lib/munged.seed" || return 1
  node=$(slurmd -C | head -1)
  cat > "$SLURM_CONF" <<CONF
ClusterName=dmlptest
SlurmctldHost=$(hostname)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$SLURM_TEST_PORT
SlurmdPort=$(( SLURM_TEST_PORT + 1 ))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$m/run/munge.socket.2
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/slurmctld.log
SlurmdLogFile=$SLURM_DIR/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
MinJobAge=3600
TmpFS=$SLURM_DIR/tmp
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  slurmctld -f "$SLURM_CONF" || return 1
  slurmd -f "$SLURM_CONF" || return 1
  for _ in $(seq 150); do
    sinfo -h -o %t 2>/dev/null | grep -q idle && return 0
    sleep 0.2
  done
  echo "the node did not come up:"; tail -5 "$SLURM_DIR/slurmctld.log" "$SLURM_DIR/slurmd.log"
  return 1
}

job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }

wait_state() {  # returns at once, failing, when the job ends in a state not asked for
  local id=$1 state
  shift
  for _ in $(seq 750); do
    state=$(job_state "$id")
    for wanted in "$@"; do [ "$state" = "$wanted" ] && return 0; done
    case $state in
      COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)
        echo "job $id ended $state"; return 1 ;;
    esac
    sleep 0.2
  done
  echo "job $id still $state after 150 s"
  return 1
}
