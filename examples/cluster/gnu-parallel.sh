#!/bin/bash
# A lambdasim sweep spread with GNU parallel: N shards, on this machine or on remote hosts, then
# the merge step. Run from the repository root:
#
#   examples/cluster/gnu-parallel.sh scenarios/sweep-provisioned.toml 4
#   examples/cluster/gnu-parallel.sh SWEEP N [PARALLEL OPTION...]        # general form
#   examples/cluster/gnu-parallel.sh --rerun 3,5 SWEEP N                 # re-run shards 3 and 5
#
# - Shard K of N runs `--shard K/N` with JOBS_PER_SHARD threads (default 1); parallel runs
#   (cores / JOBS_PER_SHARD) shards at once. Options after N go to parallel and override those
#   defaults, e.g. `-j 2`, or `--sshloginfile hosts.txt --workdir .` to use remote hosts (the
#   repository and the output folder on a filesystem every host shares).
# - Outputs: $OUT/shard-K-of-N/ per shard and the merged files in $OUT (default
#   output/<sweep file name>/); logs in $OUT/logs/ (shard-K-of-N.log and parallel's joblog).
# - If a shard fails, the others still run, the merge does not, and the script exits 1 naming
#   the failed shards. Re-run them with --rerun K[,K...]: the merge
#   then uses the shards already on disk for the others (merge refuses shards run from different
#   sweep or scenario contents, and names any that are missing).
# - Environment: LAMBDASIM (the binary, default target/release/lambdasim), OUT, JOBS_PER_SHARD.
set -euo pipefail

die() {
    echo "gnu-parallel.sh: $*" >&2
    exit 2
}
is_count() { [[ "$1" =~ ^[1-9][0-9]{0,5}$ ]]; }

RERUN=
if [[ "${1:-}" == --rerun ]]; then
    RERUN=${2:?--rerun needs shard numbers, e.g. --rerun 3,5}
    shift 2
fi
SWEEP=${1:?usage: gnu-parallel.sh [--rerun K,...] SWEEP N [PARALLEL OPTION...]}
SHARDS=${2:?usage: gnu-parallel.sh [--rerun K,...] SWEEP N [PARALLEL OPTION...]}
shift 2
is_count "$SHARDS" || die "N must be a whole number from 1 to 999999, got '$SHARDS'"
[[ -f "$SWEEP" ]] || die "sweep file '$SWEEP' not found"
KS=()
if [[ -n "$RERUN" ]]; then
    IFS=, read -ra KS <<<"$RERUN"
    for k in "${KS[@]}"; do
        { is_count "$k" && ((k <= SHARDS)); } || die "--rerun: '$k' is not a shard of 1..$SHARDS"
    done
else
    for ((k = 1; k <= SHARDS; k++)); do KS+=("$k"); done
fi

OUT=${OUT:-output/$(basename "$SWEEP" .toml)}
LAMBDASIM=${LAMBDASIM:-target/release/lambdasim}
JOBS_PER_SHARD=${JOBS_PER_SHARD:-1}
is_count "$JOBS_PER_SHARD" || die "JOBS_PER_SHARD must be a whole number, got '$JOBS_PER_SHARD'"
CORES=$(nproc)
AT_ONCE=$((CORES / JOBS_PER_SHARD > 0 ? CORES / JOBS_PER_SHARD : 1))
mkdir -p -- "$OUT/logs"

# -q quotes every word of the command, so paths with spaces or quotes stay one argument; parallel
# still replaces {} inside them (the single-quoted sh script expands its own arguments). Every
# shard runs even if one fails, so only the failed ones need a re-run.
# shellcheck disable=SC2016
if ! printf '%s\n' "${KS[@]}" | parallel -q -j "$AT_ONCE" --joblog "$OUT/logs/parallel.joblog" "$@" \
    sh -c 'log=$1; shift; exec "$@" >"$log" 2>&1' sh "$OUT/logs/shard-{}-of-$SHARDS.log" \
    "$LAMBDASIM" sweep "$SWEEP" --shard "{}/$SHARDS" --jobs "$JOBS_PER_SHARD" \
    --out "$OUT/shard-{}-of-$SHARDS"; then
    FAILED=$(awk -F'\t' 'NR > 1 && $7 != 0' "$OUT/logs/parallel.joblog" |
        grep -o -- '--shard [0-9]*' | cut -d' ' -f2 | sort -n | paste -sd, -)
    echo "gnu-parallel.sh: shard(s) ${FAILED:-?} of $SHARDS failed, no merge; see" \
        "$OUT/logs/shard-K-of-$SHARDS.log, then re-run them with --rerun ${FAILED:-K}" >&2
    exit 1
fi

DIRS=()
for ((k = 1; k <= SHARDS; k++)); do DIRS+=("$OUT/shard-$k-of-$SHARDS"); done
"$LAMBDASIM" merge "${DIRS[@]}" --out "$OUT" 2>&1 | tee "$OUT/logs/merge.log"
