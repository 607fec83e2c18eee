//! The real binary: exit codes, one-line errors naming file, key and line, determinism of the
//! output files, and the other commands.

use assert_cmd::Command;
use std::path::Path;

fn lambdasim() -> Command {
    Command::cargo_bin("lambdasim").unwrap()
}

const GOOD: &str = r#"name = "t"
duration = "30s"
seed = 5

[[functions]]
name = "f"
duration = { dist = "exponential", mean = "50ms" }

[[traffic]]
function = "f"
load = { kind = "constant", rps = 200 }
"#;

/// (description, scenario text, text the error must contain)
const BAD: &[(&str, &str, &str)] = &[
    ("not TOML", "name = \n", "t.toml:1"),
    ("unknown top-level key", "name = \"t\"\nduraton = \"1s\"\n", "unknown field `duraton`"),
    ("unknown key in a function", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nmemroy_mb = 5\nduration = 1\n", "functions[0]"),
    ("memory below range", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nmemory_mb = 64\nduration = 1\n", "functions[0].memory_mb"),
    ("memory above range", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nmemory_mb = 20000\nduration = 1\n", "128..=10240"),
    ("provisioned over reserved", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\nreserved_concurrency = 5\nprovisioned_concurrency = 6\n", "provisioned_concurrency"),
    ("reservation leaves too little unreserved", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\nreserved_concurrency = 950\n", "unreserved_minimum"),
    ("bad duration unit", "name = \"t\"\nduration = \"10 parsecs\"\n[[functions]]\nname = \"f\"\nduration = 1\n", "duration"),
    ("negative duration", "name = \"t\"\nduration = -5\n[[functions]]\nname = \"f\"\nduration = 1\n", "negative"),
    ("traffic to an unknown function", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\n[[traffic]]\nfunction = \"g\"\nload = { kind = \"constant\", rps = 1 }\n", "traffic[0].function"),
    ("absurd rate", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"constant\", rps = 1e12 }\n", "traffic[0].load.rps"),
    ("NaN rate", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"constant\", rps = nan }\n", "finite"),
    ("unknown distribution", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = { dist = \"weibull\", k = 1 }\n", "weibull"),
    ("lognormal missing p99", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = { dist = \"lognormal\", median = \"1s\" }\n", "functions[0].duration"),
    ("unknown runtime without init", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nruntime = \"cobol\"\nduration = 1\n", "functions[0].runtime"),
    ("error rate above 1", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\nerror_rate = 1.5\n", "error_rate"),
    ("duplicate function", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\n[[functions]]\nname = \"f\"\nduration = 1\n", "duplicate"),
    ("missing trace file", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"trace\", path = \"nope.csv\" }\n", "nope.csv"),
    ("wrong type", "name = \"t\"\nduration = \"1s\"\n[account]\nconcurrency_limit = \"lots\"\n[[functions]]\nname = \"f\"\nduration = 1\n", "account.concurrency_limit"),
    ("no functions", "name = \"t\"\nduration = \"1s\"\nfunctions = []\n", "functions"),
    ("timeout above 15 minutes", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\ntimeout = \"20m\"\n", "functions[0].timeout"),
    ("sqs visibility timeout below the function timeout", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\ntimeout = \"60s\"\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"constant\", rps = 1 }\ninvocation = \"sqs\"\nsqs = { visibility_timeout = \"30s\" }\n", "traffic[0].sqs.visibility_timeout"),
    ("stream parallelization above 10", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\ntimeout = \"60s\"\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"constant\", rps = 1 }\ninvocation = \"stream\"\nstream = { parallelization_factor = 11 }\n", "traffic[0].stream.parallelization_factor"),
    ("async table on sync traffic", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\ntimeout = \"60s\"\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"constant\", rps = 1 }\nasync = { dlq = true }\n", "traffic[0].invocation"),
    ("async retry attempts above 2", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\ntimeout = \"60s\"\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"constant\", rps = 1 }\ninvocation = \"async\"\nasync = { maximum_retry_attempts = 3 }\n", "traffic[0].async.maximum_retry_attempts"),
    ("poison rate above 1", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\ntimeout = \"60s\"\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"constant\", rps = 1 }\ninvocation = \"stream\"\nstream = { poison_rate = 2.0 }\n", "traffic[0].stream.poison_rate"),
    ("unknown invocation model", "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = 1\ntimeout = \"60s\"\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"constant\", rps = 1 }\ninvocation = \"carrier-pigeon\"\n", "carrier-pigeon"),
];

#[test]
fn bad_scenarios_exit_2_with_one_line_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    for (what, text, needle) in BAD {
        std::fs::write(&path, text).unwrap();
        let out = lambdasim()
            .args(["run", path.to_str().unwrap(), "--out"])
            .arg(dir.path().join("o"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains("t.toml"),
            "{what}: {err}"
        );
        assert!(err.contains(needle), "{what}: {err:?} lacks {needle:?}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{what}: not one line: {err}"
        );
        assert!(!err.contains("panicked"), "{what}: {err}");
    }
}

#[test]
fn validation_errors_carry_the_line_of_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, "name = \"t\"\nduration = \"1s\"\n\n[[functions]]\nname = \"f\"\nmemory_mb = 64\nduration = 1\n").unwrap();
    let out = lambdasim()
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("t.toml:6:1: functions[0].memory_mb: must be in 128..=10240"),
        "{err}"
    );
}

#[test]
fn missing_file_and_bad_set_exit_2() {
    let out = lambdasim()
        .args(["run", "does-not-exist.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, GOOD).unwrap();
    for set in [
        "functions.nope.memory_mb=256",
        "functions.f.memory_mb=1",
        "account.concurrency_limit=x",
        "novalue",
    ] {
        let out = lambdasim()
            .args(["check", path.to_str().unwrap(), "--set", set])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "--set {set}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn unwritable_output_folder_fails_before_simulating() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, GOOD).unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let out = lambdasim()
        .args(["run", path.to_str().unwrap(), "--out"])
        .arg(blocker.join("sub"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot create output folder"));
}

fn run_to(dir: &Path, scenario: &Path, extra: &[&str]) -> Vec<(String, Vec<u8>)> {
    lambdasim()
        .args(["run", scenario.to_str().unwrap(), "--no-charts", "--out"])
        .arg(dir)
        .args(extra)
        .assert()
        .success();
    ["summary.json", "timeseries.csv", "scenario.resolved.toml"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap()))
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    // A sync scenario and one of each queued invocation model.
    for name in [
        "noisy-neighbour",
        "async-backlog",
        "sqs-low-concurrency",
        "stream-poison-record",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = format!("scenarios/{name}.toml");
        let scenario = Path::new(&path);
        let a = run_to(&dir.path().join("a"), scenario, &[]);
        let b = run_to(&dir.path().join("b"), scenario, &[]);
        assert_eq!(a, b, "{name}: same seed must give byte-identical files");
        let c = run_to(&dir.path().join("c"), scenario, &["--seed", "99"]);
        assert_ne!(a[0].1, c[0].1, "{name}");
        assert_ne!(a[1].1, c[1].1, "{name}");
    }
}

#[test]
fn resolved_scenario_reproduces_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let a = run_to(
        &dir.path().join("a"),
        Path::new("scenarios/provisioned-vs-on-demand.toml"),
        &[],
    );
    let resolved = dir.path().join("a/scenario.resolved.toml");
    let b = run_to(&dir.path().join("b"), &resolved, &[]);
    assert_eq!(a[0], b[0]);
    assert_eq!(a[1], b[1]);
}

#[test]
fn outputs_have_the_spec_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, GOOD).unwrap();
    let files = run_to(&dir.path().join("o"), &path, &[]);
    let csv = String::from_utf8(files[1].1.clone()).unwrap();
    assert!(csv.starts_with("time_s,function,Invocations,Errors,Throttles,Duration,ConcurrentExecutions,UnreservedConcurrentExecutions,ClaimedAccountConcurrency,ProvisionedConcurrentExecutions,ProvisionedConcurrencyInvocations,ProvisionedConcurrencySpilloverInvocations,ProvisionedConcurrencyUtilization,AsyncEventsReceived,AsyncEventAge,AsyncEventsDropped,DeadLetterErrors,IteratorAge,Arrivals,Retries,ThrottlesBurst,ThrottlesAccount,ThrottlesReserved,ThrottlesRate,ColdStarts,ConcurrentExecutionsMean,ProvisionedConcurrencyUtilizationMean,ScalingTokensAvailable,LatencyP50Ms,LatencyP99Ms,DeadLetters,Dropped,QueueDepth,QueueOldestAgeMs,AsyncEventAgeMs,IteratorAgeMs,ProvisionedConcurrencyConfigured,ThrottlesGateway,ThrottlesCapacity,ManagedInstances,ManagedExecutionEnvironments,InFlightPerExecutionEnvironment,ExecutionEnvironmentVCPUUtilization
"));
    // 30 one-second buckets x (1 function + account row) + header.
    assert_eq!(csv.lines().count(), 61);
    let v: serde_json::Value = serde_json::from_slice(&files[0].1).unwrap();
    let f = &v["functions"]["f"];
    for key in [
        "requests",
        "attempts",
        "invocations",
        "succeeded",
        "failed",
        "timed_out",
        "throttle_ratio",
        "cold_starts",
        "cold_start_ratio",
        "retries",
        "dropped",
        "dlq",
        "environments_created",
    ] {
        assert!(f[key].is_number(), "missing {key}");
    }
    for (obj, keys) in [
        (
            "throttles",
            &["total", "burst", "account", "reserved", "rate"][..],
        ),
        ("latency_ms", &["mean", "p50", "p90", "p99", "p999", "max"]),
        ("duration_ms", &["mean", "p50", "p90", "p99", "p999", "max"]),
        ("concurrency", &["peak", "mean"]),
        (
            "provisioned",
            &["utilization_mean", "spillover_invocations"],
        ),
        ("cost_usd", &["requests", "compute", "provisioned", "total"]),
    ] {
        for k in keys {
            assert!(f[obj][k].is_number(), "missing {obj}.{k}");
        }
    }
    assert_eq!(v["scenario"], "t");
    assert!(v["account"]["requests"].is_number());
    // The timeseries sums agree with the summary (no warmup here).
    let inv: u64 = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some("f"))
        .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(inv, f["invocations"].as_u64().unwrap());
}

#[test]
fn json_format_and_presets_and_check() {
    let out = lambdasim().args(["presets"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("us-east-1") && text.contains("3000") && text.contains("java21"));
    let out = lambdasim()
        .args(["check", "scenarios/burst-staircase.toml"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("burst_quota = 3000") && text.contains("scale_refill = \"step\""),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = lambdasim()
        .args([
            "run",
            "scenarios/reserved-concurrency.toml",
            "--no-charts",
            "--format",
            "json",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["functions"]["legacy-import"]["throttle_ratio"], 1.0);
}
