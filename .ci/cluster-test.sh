#!/usr/bin/env bash
# End-to-end test of examples/cluster/ on a real single-node Slurm and on GNU parallel.
#
# As root: installs slurm-wlm, munge and parallel from the distribution's packages if missing
# (no daemon starts at install), starts munged, slurmctld and slurmd by hand (no systemd) on a
# private socket, ports and configuration under a temporary folder, then for each example:
# submits it unmodified with a small sweep whose paths contain spaces, waits with a time bound,
# compares the merged files byte for byte with an unsharded sweep, makes one shard fail (the
# merge must end, not pend), re-runs that shard alone and compares again. Stops every daemon it
# started and removes its files on exit. Needs target/release/lambdasim (cargo build --release).
#
# Not root: fails under CI=true; otherwise skips with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BIN=$REPO/target/release/lambdasim
T0=$SECONDS

fail() {
    echo "cluster-test: FAIL: $*" >&2
    exit 1
}
say() { echo "cluster-test: [$((SECONDS - T0))s] $*"; }

[[ -x "$BIN" ]] || fail "$BIN is missing: run cargo build --release first"
if [[ $(id -u) != 0 ]]; then
    [[ -n "${CI:-}" ]] && fail "must run as root under CI (it installs Slurm and starts its daemons)"
    echo "cluster-test: SKIPPED: not root (run as root, or with CI=true to make this an error)"
    exit 0
fi

# --- Packages ------------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null ||
    ! command -v parallel >/dev/null; then
    command -v apt-get >/dev/null || fail "slurm-wlm, munge and parallel are missing and apt-get is not available"
    # Keep the packages from starting daemons at install (they have no configuration yet).
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
    fi
    say "installing slurm-wlm munge parallel"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=120 update -qq </dev/null >/dev/null ||
        fail "apt-get update failed"
    apt-get -o DPkg::Lock::Timeout=120 install -y -qq slurm-wlm munge parallel </dev/null \
        >/dev/null || fail "apt-get install slurm-wlm munge parallel failed"
fi
for c in slurmctld slurmd sbatch squeue scontrol sinfo munged munge parallel; do
    command -v "$c" >/dev/null || fail "$c not found after installing the packages"
done

# --- Temporary folder, daemons and cleanup --------------------------------------------------------
TMP=$(mktemp -d /tmp/lambdasim-cluster.XXXXXX)
PIDS=()
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [[ $rc != 0 && -d "$TMP" ]]; then
        for f in "$TMP"/state/*.log; do
            [[ -f "$f" ]] && { echo "--- $f (last lines)"; tail -n 15 "$f"; }
        done >&2
    fi
    rm -rf -- "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}

mkdir -p "$TMP/state/spool" "$TMP/state/slurmd" "$TMP/munge"
chown munge:munge "$TMP/munge"
chmod 755 "$TMP"
MUNGE_SOCKET=$TMP/munge/munge.socket
runuser -u munge -- /usr/sbin/munged --socket="$MUNGE_SOCKET" \
    --pid-file="$TMP/munge/munged.pid" --log-file="$TMP/munge/munged.log" \
    --seed-file="$TMP/munge/munged.seed" --foreground >"$TMP/munge/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [[ -S "$MUNGE_SOCKET" ]] && break; sleep 0.1; done
munge -S "$MUNGE_SOCKET" -n | unmunge -S "$MUNGE_SOCKET" | grep -q 'STATUS: *Success' ||
    fail "munge does not work (see $TMP/munge/munged.log)"

HOST=$(hostname -s)
CTLD_PORT=$(free_port 6817)
SLURMD_PORT=$(free_port $((CTLD_PORT + 1)))
export SLURM_CONF=$TMP/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=lambdasim-ci
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$TMP/state/spool
SlurmdSpoolDir=$TMP/state/slurmd
SlurmctldPidFile=$TMP/state/slurmctld.pid
SlurmdPidFile=$TMP/state/slurmd.pid
SlurmctldLogFile=$TMP/state/slurmctld.log
SlurmdLogFile=$TMP/state/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SchedulerParameters=sched_min_interval=0
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=ci Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -c -f "$SLURM_CONF" >"$TMP/state/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >"$TMP/state/slurmd.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 150); do
    [[ "$(sinfo -h -o %t 2>/dev/null)" == idle ]] && break
    sleep 0.2
done
[[ "$(sinfo -h -o %t 2>/dev/null)" == idle ]] || fail "the Slurm node did not become idle in 30 s"
say "Slurm up (node $HOST idle, ports $CTLD_PORT/$SLURMD_PORT)"

# --- A small sweep, with spaces in every path -----------------------------------------------------
W="$TMP/work dir"
mkdir -p "$W"
cp scenarios/spiky-api.toml "$W/spiky api.toml"
cat >"$W/small sweep.toml" <<'EOF'
scenario = "spiky api.toml"
replications = 2
metrics = ["functions.api.latency_ms.p99", "functions.api.cold_starts", "functions.api.cost_usd.total"]

[[vary]]
key = "functions.api.provisioned_concurrency"
values = [0, 10, 20, 30, 40, 50]
EOF
SWEEP="$W/small sweep.toml"
"$BIN" sweep "$SWEEP" --jobs 1 --out "$W/unsharded" >/dev/null

# A lambdasim that fails shard 2 (the example's LAMBDASIM variable points at it).
mkdir -p "$W/bin dir"
FAILING="$W/bin dir/lambdasim"
cat >"$FAILING" <<EOF
#!/bin/sh
case " \$* " in *" --shard 2/"*) echo "injected failure of shard 2" >&2; exit 3 ;; esac
exec "$BIN" "\$@"
EOF
chmod +x "$FAILING"

# Every file of the unsharded sweep is in $1 with the same bytes, and $1 has nothing else
# besides the shard folders and logs.
same_as_unsharded() {
    local out=$1 f n=0
    while IFS= read -r -d '' f; do
        cmp -s "$W/unsharded/$f" "$out/$f" || fail "$out/$f differs from the unsharded sweep's"
        n=$((n + 1))
    done < <(cd "$W/unsharded" && find . -type f -print0)
    local extra
    extra=$(cd "$out" && find . -type f ! -path './shard-*' ! -path './logs/*' | wc -l)
    [[ $extra == "$n" ]] || fail "$out has $extra files besides shards and logs, expected $n"
    say "$n files identical to the unsharded sweep in $out"
}

# "3 COMPLETED, 1 FAILED": the states of the tasks of job $1.
job_state() {
    scontrol show job -o "$1" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 | sort | uniq -c |
        awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }'
}
# Waits until no job of $@ is in the queue (pending, running or completing), at most $LIMIT s.
wait_gone() {
    local start=$SECONDS
    while [[ -n "$(squeue -h -j "$(
        IFS=,
        echo "$*"
    )" -o %i 2>/dev/null)" ]]; do
        if ((SECONDS - start > LIMIT)); then
            squeue -j "$(
                IFS=,
                echo "$*"
            )" -o '%i %T %r' >&2 || true
            fail "jobs $* still queued after $LIMIT s"
        fi
        sleep 0.25
    done
}
LIMIT=40
submit_slurm() { # OUT LAMBDASIM ARGS... -> sets ARRAY_JOB MERGE_JOB
    local out=$1 bin=$2
    shift 2
    local text
    text=$(OUT="$out" LAMBDASIM="$bin" examples/cluster/slurm-array.sh "$@")
    ARRAY_JOB=$(sed -n 's/^array job: \([0-9]*\).*/\1/p' <<<"$text")
    MERGE_JOB=$(sed -n 's/^merge job: \([0-9]*\).*/\1/p' <<<"$text")
    [[ -n "$ARRAY_JOB" && -n "$MERGE_JOB" ]] || fail "slurm-array.sh printed no job ids: $text"
}

# --- Slurm: the argument checks -------------------------------------------------------------------
rc=0
SLURM_ARRAY_TASK_ID=0 OUT="$W/x" LAMBDASIM="$BIN" examples/cluster/slurm-array.sh --task "$SWEEP" 4 \
    2>"$W/err" || rc=$?
{ [[ $rc == 2 ]] && grep -q 'outside 1..4' "$W/err"; } || fail "array task 0 of 4 was not refused"
rc=0
examples/cluster/slurm-array.sh "$SWEEP" 4 --array=0-3 2>"$W/err" || rc=$?
[[ $rc == 2 ]] || fail "an --array option was not refused"
rc=0
examples/cluster/slurm-array.sh --rerun 5 "$SWEEP" 4 2>"$W/err" || rc=$?
[[ $rc == 2 ]] || fail "--rerun 5 of 4 was not refused"

# --- Slurm: 4 shards, merged, identical to the unsharded sweep ------------------------------------
# The node has fewer CPUs than the script's #SBATCH --cpus-per-task: the command line resizes it.
OUT1="$W/slurm out/ok"
submit_slurm "$OUT1" "$BIN" "$SWEEP" 4 --cpus-per-task=1 --time=00:05:00
wait_gone "$ARRAY_JOB" "$MERGE_JOB"
[[ "$(job_state "$MERGE_JOB")" == "1 COMPLETED" ]] ||
    fail "merge job $MERGE_JOB: $(job_state "$MERGE_JOB")"
[[ "$(job_state "$ARRAY_JOB")" == "4 COMPLETED" ]] ||
    fail "array job $ARRAY_JOB: $(job_state "$ARRAY_JOB")"
[[ -s "$OUT1/logs/shard-3-of-4.log" && -s "$OUT1/logs/merge-$ARRAY_JOB.log" ]] ||
    fail "no logs in $OUT1/logs"
same_as_unsharded "$OUT1"

# --- Slurm: shard 2 fails; the merge is cancelled, then shard 2 alone is re-run -------------------
OUT2="$W/slurm out/fail"
submit_slurm "$OUT2" "$FAILING" "$SWEEP" 4 --cpus-per-task=1
wait_gone "$ARRAY_JOB" "$MERGE_JOB"
say "after a failed shard: array $(job_state "$ARRAY_JOB"); merge $(job_state "$MERGE_JOB")"
[[ "$(job_state "$ARRAY_JOB")" == "3 COMPLETED, 1 FAILED" ]] ||
    fail "array job $ARRAY_JOB: $(job_state "$ARRAY_JOB")"
[[ "$(job_state "$MERGE_JOB")" == "1 CANCELLED" ]] ||
    fail "merge job $MERGE_JOB: $(job_state "$MERGE_JOB")"
grep -q 'injected failure of shard 2' "$OUT2/logs/shard-2-of-4.log" ||
    fail "shard 2's log does not say why it failed"
[[ ! -e "$OUT2/results.csv" ]] || fail "a merge ran although shard 2 failed"
submit_slurm "$OUT2" "$BIN" --rerun 2 "$SWEEP" 4 --cpus-per-task=1
wait_gone "$ARRAY_JOB" "$MERGE_JOB"
[[ "$(job_state "$MERGE_JOB")" == "1 COMPLETED" ]] ||
    fail "merge after re-running shard 2: $(job_state "$MERGE_JOB")"
same_as_unsharded "$OUT2"

# --- GNU parallel: the same, without a scheduler --------------------------------------------------
OUT3="$W/parallel out/ok"
OUT="$OUT3" LAMBDASIM="$BIN" timeout 60 examples/cluster/gnu-parallel.sh "$SWEEP" 3 >/dev/null ||
    fail "gnu-parallel.sh failed"
same_as_unsharded "$OUT3"
OUT4="$W/parallel out/fail"
rc=0
OUT="$OUT4" LAMBDASIM="$FAILING" timeout 60 examples/cluster/gnu-parallel.sh "$SWEEP" 3 \
    >/dev/null 2>"$W/err" || rc=$?
[[ $rc == 1 ]] || fail "gnu-parallel.sh with a failing shard exited $rc, expected 1"
grep -q 'injected failure of shard 2' "$OUT4/logs/shard-2-of-3.log" ||
    fail "shard 2's log does not say why it failed"
[[ ! -e "$OUT4/results.csv" ]] || fail "a merge ran although shard 2 failed"
say "GNU parallel with a failing shard: exit 1, $(cat "$W/err")"
OUT="$OUT4" LAMBDASIM="$BIN" timeout 60 examples/cluster/gnu-parallel.sh --rerun 2 "$SWEEP" 3 \
    >/dev/null || fail "gnu-parallel.sh --rerun 2 failed"
same_as_unsharded "$OUT4"

say "PASS"
