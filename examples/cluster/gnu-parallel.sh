#!/bin/bash
# A lambdasim sweep spread with GNU parallel: N shards, on this machine or on remote hosts
# (add e.g. `--sshloginfile hosts.txt --workdir .` with the repository on a shared filesystem),
# then the merge step.
#
#   examples/cluster/gnu-parallel.sh scenarios/sweep-provisioned.toml 4
set -euo pipefail

SWEEP=${1:-scenarios/sweep-provisioned.toml}
SHARDS=${2:-4}
OUT=${OUT:-output/$(basename "$SWEEP" .toml)}
LAMBDASIM=${LAMBDASIM:-target/release/lambdasim}
# Threads per shard: the cores of a host divided among the shards parallel runs there at once.
JOBS_PER_SHARD=${JOBS_PER_SHARD:-1}

seq 1 "$SHARDS" | parallel --halt now,fail=1 --line-buffer \
    "$LAMBDASIM" sweep "$SWEEP" --shard {}/"$SHARDS" --jobs "$JOBS_PER_SHARD" \
    --out "$OUT"/shard-{}-of-"$SHARDS"

"$LAMBDASIM" merge "$OUT"/shard-*-of-"$SHARDS" --out "$OUT"
