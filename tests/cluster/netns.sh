# Two "hosts" on this machine: network namespaces (named for this test run)
# joined by a veth pair on 10.77.0.0/24; each rank runs in its host's
# namespace under the host name h1 or h2.
# Source after lib.sh (it needs WORK and its cleanup list).
#   hosts_up                  create the namespaces and the rsh agent
#   on_hosts ARGS...          mpirun as the head node h1, over TCP on the test subnet only
#   kill_dmlp_on HOST SIGNAL  signal the dmlp ranks running in HOST's namespace
#   lose_h2, h2_back          end everything on h2 and refuse the launcher agent there, as a
#                             crashed node; and take it back
#   as_head SECONDS CMD...    CMD as the head node h1, with HEAD_OPTIONS for its mpirun
#   cut_h2                    take h2's end of the link down, as a pulled cable or dead switch port
#   restore_h2                bring it up again
# Everything is removed by hosts_down, which the EXIT trap runs.
SUBNET=10.77.0.0/24
AGENT=$WORK/netns-rsh
NS1=dmlp$$h1 NS2=dmlp$$h2  # this run's own: never another's

hosts_down() {
  local ns pid
  for ns in "$NS1" "$NS2"; do
    [ -e "/run/netns/$ns" ] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  ip link del "dv$$a" 2>/dev/null  # left in this namespace when set-up failed half-way
  return 0
}

hosts_up() {
  ip netns add "$NS1" && ip netns add "$NS2" &&
    ip link add "dv$$a" type veth peer name "dv$$b" &&
    ip link set "dv$$a" netns "$NS1" && ip link set "dv$$b" netns "$NS2" &&
    ip -n "$NS1" addr add 10.77.0.1/24 dev "dv$$a" && ip -n "$NS2" addr add 10.77.0.2/24 dev "dv$$b" &&
    ip -n "$NS1" link set lo up && ip -n "$NS2" link set lo up &&
    ip -n "$NS1" link set "dv$$a" up && ip -n "$NS2" link set "dv$$b" up || return 1
  # two CPUs this process may use: one per host
  read -r CPU1 CPU2 _ < <(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' |
    awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) printf "%d ", c }')
  [ -n "${CPU2:-}" ] || CPU2=$CPU1
  # Open MPI's launcher agent: runs orted in the named host's namespace, under its host name.
  cat > "$AGENT" <<AGENT
#!/bin/bash
while [[ \$1 == -* ]]; do shift; done
host=\$1; shift
case \$host in h1|10.77.0.1) host=h1 ns=$NS1 cpu=$CPU1;; h2|10.77.0.2) host=h2 ns=$NS2 cpu=$CPU2;; *) exit 255;; esac
# a lost host (lose_h2) answers no more, as ssh to a dead node fails
[ -e "$WORK/lost-\$host" ] && { echo "ssh: connect to host \$host port 22: No route to host" >&2; exit 255; }
exec ip netns exec "\$ns" unshare --uts taskset -c "\$cpu" /bin/sh -c "hostname \$host; \$*"
AGENT
  chmod +x "$AGENT"
}

# on_hosts HOSTFILE NP COMMAND...: mpirun from h1, for at most 120 s. Both "hosts" share one
# 2-core machine: no binding by Open MPI (taskset places each host), and
# yielding when idle so that busy-polling ranks do not starve each other.
# The TCP keep-alive settings are README's advice for multi-host mpirun: they
# let mpirun notice an unreachable node in under 30 s instead of 8 minutes.
HEAD_OPTIONS=(--mca plm_rsh_agent "$AGENT" --mca btl tcp,self --mca btl_tcp_if_include "$SUBNET"
  --mca oob_tcp_if_include "$SUBNET" --mca mpi_yield_when_idle 1 --bind-to none
  --mca oob_tcp_keepalive_time 10 --mca oob_tcp_keepalive_intvl 5 --mca oob_tcp_keepalive_probes 3)
on_hosts() {
  local hostfile=$1 np=$2
  shift 2
  as_head 120 "$MPIEXEC" "${HEAD_OPTIONS[@]}" --hostfile "$hostfile" -np "$np" "$@"
}

# as_head SECONDS COMMAND...: COMMAND as the head node h1 (where mpirun runs), for at most SECONDS
as_head() {
  local seconds=$1
  shift
  timeout "$seconds" ip netns exec "$NS1" unshare --uts taskset -c "$CPU1" /bin/sh -c 'hostname h1; exec "$0" "$@"' "$@"
}

kill_dmlp_on() {  # HOST (h1 or h2) SIGNAL
  local ns signal=$2 pid
  [ "$1" = h1 ] && ns=$NS1 || ns=$NS2
  for pid in $(ip netns pids "$ns"); do
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$DMLP")" ] && kill "-$signal" "$pid"
  done
}

lose_h2() {  # everything on h2 ends, and the launcher agent reaches it no more
  local pid
  touch "$WORK/lost-h2"
  for pid in $(ip netns pids "$NS2"); do kill -9 "$pid" 2>/dev/null; done
}
h2_back() { rm -f "$WORK/lost-h2"; }

cut_h2() { ip -n "$NS2" link set "dv$$b" down; }
restore_h2() { ip -n "$NS2" link set "dv$$b" up; }
