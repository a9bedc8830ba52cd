#!/bin/bash
# mpirun that a stop signal ends cleanly, with dmlp's exit code:
#   launch/mpirun-stoppable.sh -np 4 build/dmlp train ... --checkpoint-dir DIR
# Open MPI's mpirun, sent SIGTERM itself, forwards it to the ranks (which save
# a checkpoint and exit 75) but then ends with 1 whatever they return. This
# runs mpirun in a session of its own and passes SIGTERM (and SIGUSR1) on as
# SIGUSR1, which mpirun forwards: dmlp saves, stops, and this exits 75, so a
# script or scheduler can tell "stopped, resume me" from a failure.
# MPIRUN overrides the launcher (default: mpirun).
set -u
setsid "${MPIRUN:-mpirun}" "$@" &
launcher=$!
trap 'kill -USR1 "$launcher" 2>/dev/null' TERM USR1
while :; do
  wait "$launcher"
  rc=$?
  kill -0 "$launcher" 2>/dev/null || break  # else the wait was cut short by the trap
done
exit "$rc"
