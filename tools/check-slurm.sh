#!/bin/sh
# make check-slurm: boot a one-node Slurm cluster (tools/slurm-up.sh), run the
# cluster suite against it, stop the cluster (tools/slurm-down.sh) whatever
# happened, and say how long it all took.
#
#   tools/check-slurm.sh SUITE EINRUN
set -u
suite=$1
einrun=$2
dir=${EIN_SLURM_DIR:-/tmp/ein-slurm-check.$$}
here=$(cd "$(dirname "$0")" && pwd)
t0=$(date +%s)
down() { sh "$here/slurm-down.sh" "$dir"; }
trap 'down; exit 130' INT TERM
if ! sh "$here/slurm-up.sh" "$dir"; then
    down
    echo "check-slurm: the cluster did not boot (logs in $dir/log)"
    echo "0 passed, 1 failed"
    exit 1
fi
(. "$dir/env" && EIN_EINRUN=$einrun EIN_SLURM_DIR=$dir "$suite")
rc=$?
down
[ $rc -eq 0 ] && rm -rf "$dir"
echo "check-slurm: $(( $(date +%s) - t0 )) s in all (cluster boot, suite, shutdown)"
exit $rc
