#!/bin/sh
# Stop the cluster that tools/slurm-up.sh started from DIR: the processes
# whose pids it recorded (slurmd, slurmctld, munged), nothing found by name.
#
#   tools/slurm-down.sh [DIR]   default DIR: $EIN_SLURM_DIR, else /tmp/ein-slurm
set -u
dir=${1:-${EIN_SLURM_DIR:-/tmp/ein-slurm}}
case "$dir" in /*) ;; *) dir="$(pwd)/$dir" ;; esac
stopped=""
for d in slurmd slurmctld munged; do
    f="$dir/run/$d.pid"
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
        stopped="$stopped $d($pid)"
    fi
    rm -f "$f"
done
echo "slurm-down: stopped${stopped:- nothing} ($dir)" >&2
exit 0
