#!/bin/bash
# A lambdasim sweep spread over a Slurm job array: task K of N runs shard K/N, then one
# dependent job merges the shards into the files of an unsharded sweep. Run it (do not sbatch it)
# from the repository root on a filesystem every node shares; it submits the jobs itself:
#
#   examples/cluster/slurm-array.sh scenarios/sweep-provisioned.toml 8
#   examples/cluster/slurm-array.sh SWEEP N [SBATCH OPTION...]          # general form
#   examples/cluster/slurm-array.sh --rerun 3,5 SWEEP N                # re-run shards 3 and 5 of N
#
# - N shards are submitted as the array 1-N; task K runs `--shard K/N` (a task numbered outside
#   1..N fails with a message, so a mis-numbered array cannot lose a shard silently).
# - Resizing: N is the second argument; every option after it goes to sbatch for the shard tasks
#   (e.g. `--cpus-per-task=2 --time=00:20:00 --partition=short`), and command-line options
#   override the #SBATCH lines below. A task asking for more CPUs than any node has pends forever
#   (Reason=PartitionConfig), so size --cpus-per-task to your nodes. Each shard uses all the CPUs
#   of its task (--jobs $SLURM_CPUS_PER_TASK). Options for both the shards and the merge job
#   (account, partition, memory) go in sbatch's input variables, e.g. SBATCH_ACCOUNT=proj
#   SBATCH_PARTITION=short SBATCH_MEM_PER_NODE=2G (merge holds about 1 KB per result row).
# - Outputs: $OUT/shard-K-of-N/ per shard and the merged files in $OUT (default
#   output/<sweep file name>/); logs in $OUT/logs/, a folder this script creates before
#   submitting (Slurm does not create the folder of --output; a job whose log folder is missing
#   fails with no log at all).
# - The merge is submitted with --dependency=afterok and --kill-on-invalid-dep=yes: if a shard
#   fails, Slurm cancels the merge instead of leaving it pending forever
#   (DependencyNeverSatisfied). Re-run the failed shards with --rerun K[,K...]; the new merge
#   uses the shards already on disk for the others (merge refuses shards run from different
#   sweep or scenario contents, and names any that are missing).
# - Environment: LAMBDASIM (the binary, default target/release/lambdasim), OUT.
#
#SBATCH --job-name=lambdasim-sweep
#SBATCH --cpus-per-task=4
#SBATCH --time=01:00:00
set -euo pipefail

die() {
    echo "slurm-array.sh: $*" >&2
    exit 2
}
is_count() { [[ "$1" =~ ^[1-9][0-9]{0,5}$ ]]; }

# Inside a job: the wrapper below passes `--task` (a shard) or `--merge` first.
if [[ "${1:-}" == --task || "${1:-}" == --merge ]]; then
    MODE=$1 SWEEP=$2 SHARDS=$3
    if [[ "$MODE" == --merge ]]; then
        DIRS=()
        for ((k = 1; k <= SHARDS; k++)); do DIRS+=("$OUT/shard-$k-of-$SHARDS"); done
        exec "$LAMBDASIM" merge "${DIRS[@]}" --out "$OUT"
    fi
    K=${SLURM_ARRAY_TASK_ID:?--task runs inside a Slurm array job}
    if ! [[ "$K" =~ ^[0-9]+$ ]] || ((K < 1 || K > SHARDS)); then
        die "array task $K is outside 1..$SHARDS: number the array 1-$SHARDS"
    fi
    exec "$LAMBDASIM" sweep "$SWEEP" --shard "$K/$SHARDS" --jobs "${SLURM_CPUS_PER_TASK:-1}" \
        --out "$OUT/shard-$K-of-$SHARDS"
fi
if [[ -n "${SLURM_JOB_ID:-}" ]]; then
    die "run this script directly (it submits the jobs): examples/cluster/slurm-array.sh SWEEP N"
fi

RERUN=
if [[ "${1:-}" == --rerun ]]; then
    RERUN=${2:?--rerun needs shard numbers, e.g. --rerun 3,5}
    shift 2
fi
SWEEP=${1:?usage: slurm-array.sh [--rerun K,...] SWEEP N [SBATCH OPTION...]}
SHARDS=${2:?usage: slurm-array.sh [--rerun K,...] SWEEP N [SBATCH OPTION...]}
shift 2
is_count "$SHARDS" || die "N must be a whole number from 1 to 999999, got '$SHARDS'"
[[ -f "$SWEEP" ]] || die "sweep file '$SWEEP' not found"
for opt in "$@"; do
    case "$opt" in
    -a | -a* | --array | --array=*) die "give the shard count N, not $opt (and --rerun K to re-run one)" ;;
    esac
done
ARRAY=1-$SHARDS
if [[ -n "$RERUN" ]]; then
    IFS=, read -ra KS <<<"$RERUN"
    for k in "${KS[@]}"; do
        { is_count "$k" && ((k <= SHARDS)); } || die "--rerun: '$k' is not a shard of 1..$SHARDS"
    done
    ARRAY=$RERUN
fi

OUT=${OUT:-output/$(basename "$SWEEP" .toml)}
LAMBDASIM=${LAMBDASIM:-target/release/lambdasim}
# Absolute paths, so the jobs do not depend on the folder they start in.
SWEEP=$(realpath -- "$SWEEP")
OUT=$(realpath -m -- "$OUT")
[[ "$LAMBDASIM" == */* ]] && LAMBDASIM=$(realpath -- "$LAMBDASIM")
export OUT LAMBDASIM
mkdir -p -- "$OUT/logs"

SCRIPT=$(realpath -- "${BASH_SOURCE[0]}")
ARRAY_JOB=$(sbatch --parsable --array="$ARRAY" --output="$OUT/logs/shard-%a-of-$SHARDS.log" \
    "$@" "$SCRIPT" --task "$SWEEP" "$SHARDS")
ARRAY_JOB=${ARRAY_JOB%%;*}
MERGE_JOB=$(sbatch --parsable --job-name=lambdasim-merge --cpus-per-task=1 --time=00:30:00 \
    --dependency=afterok:"$ARRAY_JOB" --kill-on-invalid-dep=yes \
    --output="$OUT/logs/merge-$ARRAY_JOB.log" "$SCRIPT" --merge "$SWEEP" "$SHARDS")
MERGE_JOB=${MERGE_JOB%%;*}
echo "array job: $ARRAY_JOB (shards $ARRAY of $SHARDS)"
echo "merge job: $MERGE_JOB (after every shard succeeded; cancelled if one fails)"
echo "logs: $OUT/logs"
