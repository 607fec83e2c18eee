#!/bin/bash
# A lambdasim sweep spread over a Slurm job array: task K of N runs shard K/N on all the cores
# of its node, then one dependent job merges the shards into the files of an unsharded sweep.
#
#   sbatch examples/cluster/slurm-array.sh scenarios/sweep-provisioned.toml
#
# Submit from the repository root on a shared filesystem. Set N (the number of array tasks)
# both in --array and in SHARDS below.
#SBATCH --job-name=lambdasim-sweep
#SBATCH --array=1-8
#SBATCH --cpus-per-task=16
#SBATCH --time=01:00:00
#SBATCH --output=output/slurm-%A_%a.log
set -euo pipefail

SWEEP=${1:-scenarios/sweep-provisioned.toml}
SHARDS=${SLURM_ARRAY_TASK_COUNT:-8}
OUT=${OUT:-output/$(basename "$SWEEP" .toml)}
LAMBDASIM=${LAMBDASIM:-target/release/lambdasim}

K=${SLURM_ARRAY_TASK_ID:?run through sbatch --array}
"$LAMBDASIM" sweep "$SWEEP" --shard "$K/$SHARDS" --jobs "${SLURM_CPUS_PER_TASK:-1}" \
    --out "$OUT/shard-$K-of-$SHARDS"

# The first task submits the merge, to run once every task of the array has succeeded.
if [[ "$K" == 1 ]]; then
    sbatch --dependency=afterok:"$SLURM_ARRAY_JOB_ID" --job-name=lambdasim-merge \
        --cpus-per-task=2 --output=output/slurm-%j-merge.log \
        --wrap "$LAMBDASIM merge $OUT/shard-*-of-$SHARDS --out $OUT"
fi
