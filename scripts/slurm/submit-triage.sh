#!/bin/sh
# Submits a triage of SOURCE... split into N shards (a Slurm job array) and
# the merge as a job that starts once every shard has ended; prints the two
# job ids.
#
#   scripts/slurm/submit-triage.sh N OUT_DIR SOURCE... [hilum triage options]
#
# The merge runs even when a shard failed (afterany), so that its report
# names what is missing instead of the merge waiting forever. Partition,
# account, time limit, CPUs per task: Slurm's own input variables
# (SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT, SBATCH_CPUS_PER_TASK).
# HILUM names the binary, as in triage-array.sbatch.
set -eu
if [ $# -lt 3 ]; then
    echo "usage: $0 N OUT_DIR SOURCE... [hilum triage options]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
shards=$1
out_dir=$2
shift 2
case "$shards" in
    '' | *[!0-9]* | 0) echo "$0: N must be a whole number of at least 1, not '$shards'" >&2; exit 2 ;;
esac
mkdir -p "$out_dir"
array=$(sbatch --parsable --array="0-$((shards - 1))" \
    --output="$out_dir/slurm-%A_%a.out" \
    "$here/triage-array.sbatch" "$out_dir" "$@")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterany:$array" \
    --output="$out_dir/slurm-%j-merge.out" \
    "$here/triage-merge.sbatch" "$out_dir")
echo "$array ${merge%%;*}"
