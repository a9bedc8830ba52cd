# A test Slurm (slurmctld, slurmd, munge from Debian's packages), its
# configuration and state under $WORK/slurm, started by slurm_up and stopped
# by slurm_down, by the PIDs it started. Source after lib.sh.
#   slurm_up             one node, this machine: start the daemons; wait until the node is idle
#   slurm_up_two_nodes   two nodes, h1 and h2 (source netns.sh and run hosts_up first):
#                        slurmctld and h1's slurmd in h1's namespace, h2's slurmd in h2's,
#                        each under its host name and on its own core; the client
#                        commands (sbatch, squeue, ...) then run in h1's namespace
#   slurmd_down NODE     kill NODE's slurmd and everything it started, as a lost node
#   slurmd_back NODE     NODE back in service after a loss: its slurmd started
#                        again, its lost jobs' leftovers cleared, the node idle
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
  for pidfile in "$SLURM_DIR"/slurmd*.pid "$SLURM_DIR/slurmctld.pid" "$SLURM_DIR/munge/run/munged.pid"; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null && for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  return 0
}

munge_up() {
  local m=$SLURM_DIR/munge
  mkdir -p "$m"/{etc,run,log,lib} "$SLURM_DIR"/{state,tmp}
  chmod 755 "$WORK" "$SLURM_DIR"
  mungekey --create --keyfile "$m/etc/munge.key" --force 2>/dev/null || return 1
  chown -R munge:munge "$m"
  chmod 700 "$m"/{etc,lib,log}
  chmod 600 "$m/etc/munge.key"
  runuser -u munge -- munged --socket="$m/run/munge.socket.2" --key-file="$m/etc/munge.key" \
    --log-file="$m/log/munged.log" --pid-file="$m/run/munged.pid" --seed-file="$m/lib/munged.seed"
}

# write_slurm_conf CONTROLLER NODE_LINES...: per-node spool, pid and log files (%n: the node's name)
write_slurm_conf() {
  local controller=$1
  shift
  # TmpFS: the PMIx plugin's per-step directories (spmix_appdir_UID_JOB.STEP) stay
  # inside this test's tree; in /tmp, one left by a killed run would collide
  # with the same job number of the next (job numbers start at 1 each time).
  cat > "$SLURM_CONF" <<CONF
ClusterName=dmlptest
SlurmctldHost=$controller
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$SLURM_TEST_PORT
SlurmdPort=$(( SLURM_TEST_PORT + 1 ))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SLURM_DIR/munge/run/munge.socket.2
ProctrackType=proctrack/linuxproc
TaskPlugin=${SLURM_TASK_PLUGIN:-task/affinity}
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
SchedulerType=sched/backfill
ReturnToService=2
SlurmdTimeout=${SLURM_TEST_SLURMD_TIMEOUT:-300}
KillWait=${SLURM_TEST_KILL_WAIT:-30}
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool-%n
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd-%n.pid
SlurmctldLogFile=$SLURM_DIR/slurmctld.log
SlurmdLogFile=$SLURM_DIR/slurmd-%n.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
MinJobAge=3600
TmpFS=$SLURM_DIR/tmp
$(printf '%s\n' "$@")
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

wait_nodes_idle() {  # COUNT: at most 30 s
  for _ in $(seq 150); do
    # %t: "idle" answers; "idle*" is not responding
    [ "$(sinfo -h -N -o '%N %t' 2>/dev/null | sort -u | grep -c ' idle$')" -ge "$1" ] && return 0
    sleep 0.2
  done
  echo "the nodes did not come up:"; sinfo -N 2>&1; tail -5 "$SLURM_DIR"/*.log
  return 1
}

slurm_up() {
  munge_up || return 1
  mkdir -p "$SLURM_DIR/spool-$(hostname)"
  write_slurm_conf "$(hostname)" "$(slurmd -C | head -1) State=UNKNOWN"
  slurmctld -f "$SLURM_CONF" || return 1
  slurmd -f "$SLURM_CONF" || return 1
  wait_nodes_idle 1
}

# Two nodes on this one machine. The client commands run in h1's namespace,
# where slurmctld listens; each slurmd runs on its host's core (taskset: no
# binding by Slurm, task/none), so that its ranks see one core, as on the
# two-host tests.
in_h1() { ip netns exec "$NS1" "$@"; }

# on_node NODE COMMAND...: COMMAND in NODE's namespace, under its host name, on its core
on_node() {
  local node=$1 ns cpu
  shift
  [ "$node" = h1 ] && ns=$NS1 cpu=$CPU1 || ns=$NS2 cpu=$CPU2
  # nsenter, not ip netns exec, which mounts a sysfs of its own and so hides
  # /sys/fs/cgroup, without which slurmd does not start. A mount namespace of
  # its own gives each node its own TmpFS (where the PMIx plugin makes
  # directories named by job and step only); the bind mount goes with the
  # namespace's last process.
  nsenter --net="/run/netns/$ns" unshare --uts --mount taskset -c "$cpu" /bin/sh -c \
    "hostname $node && mount --bind '$SLURM_DIR/tmp-$node' '$SLURM_DIR/tmp' && exec \"\$0\" \"\$@\"" "$@"
}

slurmd_up() { on_node "$1" slurmd -N "$1" -f "$SLURM_CONF"; }

slurmd_down() {  # NODE: its slurmd, its job steps and their ranks, all at once
  local ns pid
  [ "$1" = h1 ] && ns=$NS1 || ns=$NS2
  for pid in $(ip netns pids "$ns"); do
    [ "$pid" = "$(cat "$SLURM_DIR/slurmctld.pid" 2>/dev/null)" ] || kill -9 "$pid" 2>/dev/null
  done
}

slurmd_back() {  # as an administrator would: the node is marked down, which ends what it lost, then resumed
  local node=$1
  kill -0 "$(cat "$SLURM_DIR/slurmd-$node.pid" 2>/dev/null)" 2>/dev/null || slurmd_up "$node" || return 1
  # (a node that answers again goes back to service by itself: ReturnToService=2)
  scontrol update NodeName="$node" State=DOWN Reason="lost in a test"
  scontrol update NodeName="$node" State=RESUME 2> /dev/null
  wait_nodes_idle 2
}

slurm_up_two_nodes() {
  local hw command
  munge_up && mkdir -p "$SLURM_DIR"/{spool,tmp}-{h1,h2} || return 1
  hw=$(slurmd -C | head -1 | cut -d' ' -f2-)  # the machine's CPUs, sockets, cores, memory: each node has them
  SLURM_TASK_PLUGIN=task/none write_slurm_conf "h1(10.77.0.1)" \
    "NodeName=h1 NodeAddr=10.77.0.1 $hw State=UNKNOWN" "NodeName=h2 NodeAddr=10.77.0.2 $hw State=UNKNOWN"
  on_node h1 slurmctld -f "$SLURM_CONF" || return 1
  slurmd_up h1 && slurmd_up h2 || return 1
  for command in squeue scontrol scancel sinfo; do eval "$command() { in_h1 $command \"\$@\"; }"; done
  # a job's ranks talk on the test subnet only, and yield when idle, as both nodes' ranks share 2 cores
  for command in sbatch srun; do
    eval "$command() { in_h1 env OMPI_MCA_btl_tcp_if_include=\$SUBNET OMPI_MCA_mpi_yield_when_idle=1 $command \"\$@\"; }"
  done
  wait_nodes_idle 2
}

# two_node_test_up: the namespaces, the two-node Slurm and the jobs' data, for a test script
two_node_test_up() {
  hosts_up || { fail "could not create the network namespaces"; finish; exit 1; }
  slurm_up_two_nodes || { fail "the two-node Slurm did not start"; finish; exit 1; }
  make_job_data
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

# Jobs of launch/slurm/train.sbatch:
#   make_job_data          small data in $DMLP_DATA, exported with DMLP for the batch script
#   submit SBATCH_ARGS...  sbatch from the repository root, its output in $WORK/job-ID.out
#   SBATCH_DEFAULTS        the script's own dmlp options, for the same run outside Slurm
#   within_rounding A B WHAT  the two checkpoints differ, relative to the largest parameter, by less than 1e-5
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export DMLP_DATA=$WORK/data
make_job_data() {
  export DMLP=$(readlink -f "$DMLP")
  mkdir -p "$DMLP_DATA"
  "$DMLP" synth --kind blobs --rows 3000 --features 784 --classes 10 --seed 4 --out "$DMLP_DATA/train.h5" \
    --test-rows 500 --test-out "$DMLP_DATA/test.h5" > /dev/null
}
submit() { sbatch --parsable --chdir="$REPO" --output="$WORK/job-%j.out" "$@"; }
SBATCH_DEFAULTS=(--train "$DMLP_DATA/train.h5" --test "$DMLP_DATA/test.h5" --layers 784,512,256,10 --epochs 30
  --batch-size 128 --lr 0.05 --momentum 0.9 --nesterov --lr-schedule cosine --weight-decay 5e-4 --log-every 469
  --checkpoint-every-seconds 600)
within_rounding() {
  local compared relative
  compared=$("$DMLP" inspect "$1" --compare "$2" 2>&1 | grep '^compared')
  relative=$(sed -n 's/.*relative to max |parameter| \([0-9.e+-]*\).*/\1/p' <<<"$compared")
  awk -v r="$relative" 'BEGIN { exit !(r != "" && r >= 0 && r < 1e-5) }' \
    && pass "$3: within rounding of the reference (relative difference $relative)" || fail "$3: $compared"
}

# The EXIT trap of a cluster test: ends the jobs, stops the daemons by their
# PIDs, removes the namespaces and $WORK, then fails the test if any of them,
# or a mount under $WORK, is still there.
cluster_cleanup_checked() {
  local rc=$? pids="" pidfile pid ns left=""
  for pidfile in "$SLURM_DIR"/*.pid "$SLURM_DIR/munge/run/munged.pid"; do
    [ -f "$pidfile" ] && pids+=" $(cat "$pidfile")"
  done
  slurm_down
  declare -F hosts_down > /dev/null && hosts_down
  rm -rf "$WORK"
  for pid in $pids; do kill -0 "$pid" 2>/dev/null && left+=" process $pid ($(ps -o comm= -p "$pid"))"; done
  for ns in ${NS1:-} ${NS2:-}; do [ -e "/run/netns/$ns" ] && left+=" namespace $ns"; done
  ip link show "dv$$a" > /dev/null 2>&1 && left+=" link dv$$a"
  grep -qF "$WORK" /proc/mounts && left+=" a mount under $WORK"
  [ -e "$WORK" ] && left+=" $WORK"
  if [ -n "$left" ]; then
    echo "FAIL: left behind:$left"
    exit 1
  fi
  echo "ok:   nothing left behind (daemons, namespaces, mounts, files)"
  exit "$rc"
}
