# Two "hosts" on this machine: network namespaces h1 and h2 joined by a veth
# pair on 10.77.0.0/24, each rank in its namespace with its own host name.
# Source after lib.sh (it needs WORK and its cleanup list).
#   hosts_up                  create the namespaces and the rsh agent
#   on_hosts ARGS...          mpirun as the head node h1, over TCP on the test subnet only
#   kill_dmlp_on HOST SIGNAL  signal the dmlp ranks running in HOST's namespace
# Everything is removed by hosts_down, which the EXIT trap runs.
SUBNET=10.77.0.0/24
AGENT=$WORK/netns-rsh

hosts_down() {
  for ns in h1 h2; do
    ip netns list 2>/dev/null | grep -qw "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
}

hosts_up() {
  hosts_down
  ip netns add h1 && ip netns add h2 || return 1
  ip link add dmlp-veth1 type veth peer name dmlp-veth2
  ip link set dmlp-veth1 netns h1
  ip link set dmlp-veth2 netns h2
  ip -n h1 addr add 10.77.0.1/24 dev dmlp-veth1
  ip -n h2 addr add 10.77.0.2/24 dev dmlp-veth2
  for ns in h1 h2; do ip -n "$ns" link set lo up; done
  ip -n h1 link set dmlp-veth1 up
  ip -n h2 link set dmlp-veth2 up
  # Open MPI's launcher agent: runs orted in the named host's namespace, under its host name.
  cat > "$AGENT" <<'AGENT'
#!/bin/bash
while [[ $1 == -* ]]; do shift; done
host=$1; shift
case $host in h1|10.77.0.1) host=h1 cpu=0;; h2|10.77.0.2) host=h2 cpu=1;; *) exit 255;; esac
exec ip netns exec "$host" unshare --uts taskset -c "$cpu" /bin/sh -c "hostname $host; $*"
AGENT
  chmod +x "$AGENT"
}

# on_hosts HOSTFILE NP COMMAND...: mpirun from h1, for at most 120 s. Both "hosts" share one
# 2-core machine: no binding by Open MPI (taskset places each host), and
# yielding when idle so that busy-polling ranks do not starve each other.
on_hosts() {
  local hostfile=$1 np=$2
  shift 2
  timeout 120 ip netns exec h1 unshare --uts taskset -c 0 /bin/sh -c 'hostname h1; exec "$0" "$@"' "$MPIEXEC" \
    --mca plm_rsh_agent "$AGENT" --mca btl tcp,self --mca btl_tcp_if_include "$SUBNET" \
    --mca oob_tcp_if_include "$SUBNET" --mca mpi_yield_when_idle 1 --bind-to none \
    --hostfile "$hostfile" -np "$np" "$@"
}

kill_dmlp_on() {
  local ns=$1 signal=$2 pid
  for pid in $(ip netns pids "$ns"); do
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$DMLP")" ] && kill "-$signal" "$pid"
  done
}
