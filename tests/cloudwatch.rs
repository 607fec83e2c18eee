//! The CloudWatch columns of `timeseries.csv` against numbers computed here independently of
//! the engine: the scenario's closed forms (evenly spaced arrivals, fixed durations), the
//! summary's totals (no warmup, so every bucket counts), and ClaimedAccountConcurrency rebuilt
//! from its documented definition.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::HashMap;

/// One run's CSV as rows of named cells, and its summary.json.
struct Run {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    summary: Value,
}

impl Run {
    fn new(toml: &str) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, toml).unwrap();
        let out = dir.path().join("out");
        Command::cargo_bin("lambdasim")
            .unwrap()
            .args(["run", "--no-charts", "--no-whatif", "--out"])
            .arg(&out)
            .arg(&path)
            .assert()
            .success();
        let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
        let mut lines = csv.lines();
        let header = lines.next().unwrap().split(',').map(String::from).collect();
        let rows = lines
            .map(|l| l.split(',').map(String::from).collect())
            .collect();
        let summary =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        Run {
            header,
            rows,
            summary,
        }
    }

    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    /// The cells of column `name` on the rows of `function` ("*": the account).
    fn cells(&self, function: &str, name: &str) -> Vec<&str> {
        let (f, c) = (self.col("function"), self.col(name));
        self.rows
            .iter()
            .filter(|r| r[f] == function)
            .map(|r| r[c].as_str())
            .collect()
    }

    fn sum(&self, function: &str, name: &str) -> u64 {
        self.cells(function, name)
            .iter()
            .map(|c| c.parse::<u64>().unwrap_or_else(|_| panic!("{name}: {c:?}")))
            .sum()
    }

    fn total(&self, function: &str, key: &str) -> u64 {
        self.summary["functions"][function][key]
            .as_u64()
            .unwrap_or_else(|| panic!("summary functions.{function}.{key}"))
    }
}

const SCENARIO: &str = r#"
name = "cloudwatch"
duration = "20m"
seed = 5
bucket = "1s"

[account]
concurrency_limit = 1000

# Unreserved, with provisioned concurrency it never outgrows: no spillover.
[[functions]]
name = "prov"
runtime = "python3.12"
duration = { dist = "fixed", value = "50ms" }
provisioned_concurrency = 20

# Reserved, fixed 100 ms handler and a 700 ms INIT (Duration must not include it).
[[functions]]
name = "res"
runtime = "python3.12"
init = { dist = "fixed", value = "700ms" }
duration = { dist = "fixed", value = "100ms" }
reserved_concurrency = 30
idle_timeout = "2s"

# Async, every invocation fails, no retries: every event goes to the DLQ.
[[functions]]
name = "bad"
runtime = "python3.12"
duration = { dist = "fixed", value = "10ms" }
reserved_concurrency = 10
error_rate = 1.0

[[traffic]]
function = "prov"
arrivals = "uniform"
load = { kind = "constant", rps = 40 }

[[traffic]]
function = "res"
arrivals = "uniform"
load = { kind = "constant", rps = 0.25 }

[[traffic]]
function = "bad"
invocation = "async"
arrivals = "uniform"
load = { kind = "constant", rps = 2 }
async = { maximum_retry_attempts = 0, dlq = true }
"#;

/// Seconds simulated and the buckets of each series.
const SECONDS: u64 = 1200;

#[test]
fn counts_sum_to_the_summary_and_to_the_offered_load() {
    let r = Run::new(SCENARIO);
    for f in ["prov", "res", "bad"] {
        assert_eq!(r.cells(f, "Invocations").len() as u64, SECONDS, "{f}");
        for (col, key) in [
            ("Invocations", "invocations"),
            ("Errors", "errors"),
            ("Arrivals", "requests"),
            ("Retries", "retries"),
            ("ColdStarts", "cold_starts"),
        ] {
            assert_eq!(r.sum(f, col), r.total(f, key), "{f}: {col} vs {key}");
        }
        let throttles: u64 = r.summary["functions"][f]["throttles"]["total"]
            .as_u64()
            .unwrap();
        assert_eq!(r.sum(f, "Throttles"), throttles, "{f}");
        assert!(
            r.cells(f, "DeadLetterErrors").iter().all(|c| *c == "0"),
            "the model never fails a DLQ delivery"
        );
    }
    // Offered load in closed form: evenly spaced arrivals at a constant rate.
    for (f, rps) in [("prov", 40.0), ("res", 0.25), ("bad", 2.0)] {
        let offered = rps * SECONDS as f64;
        let got = r.sum(f, "Arrivals") as f64;
        assert!(
            (got - offered).abs() <= 1.0,
            "{f}: {got} arrivals vs {offered}"
        );
    }
    // Sync: every attempt is a new request or a retry.
    for f in ["prov", "res"] {
        assert_eq!(
            r.sum(f, "Arrivals") + r.sum(f, "Retries"),
            r.total(f, "attempts"),
            "{f}"
        );
    }
    // The account row adds the functions' counts.
    for col in [
        "Invocations",
        "Arrivals",
        "AsyncEventsReceived",
        "DeadLetters",
    ] {
        let by_function: u64 = ["prov", "res", "bad"].iter().map(|f| r.sum(f, col)).sum();
        assert_eq!(r.sum("*", col), by_function, "{col}");
    }
}

#[test]
fn async_metrics_follow_the_events() {
    let r = Run::new(SCENARIO);
    let received = r.sum("bad", "AsyncEventsReceived");
    assert!(
        received.abs_diff(2 * SECONDS) <= 1,
        "one event every 0.5 s: {received}"
    );
    assert_eq!(received, r.total("bad", "requests"));
    // No retries and every invocation fails: each event leaves for the DLQ, and
    // AsyncEventsDropped counts it (events are dropped after delivery to the DLQ), except the
    // ones still running at the end.
    let dropped = r.sum("bad", "AsyncEventsDropped");
    assert_eq!(dropped, r.sum("bad", "DeadLetters"));
    assert_eq!(dropped, r.total("bad", "dlq") + r.total("bad", "dropped"));
    assert!(
        received - dropped <= 1,
        "{received} received, {dropped} dropped"
    );
    assert_eq!(r.sum("prov", "AsyncEventsReceived"), 0, "sync is not async");
    // Ages: a sync function has no async events, so its AsyncEventAge is empty, not 0;
    // the async function is tried as soon as it arrives (age 0).
    assert!(r
        .cells("prov", "AsyncEventAge")
        .iter()
        .all(|c| c.is_empty()));
    assert!(r
        .cells("bad", "AsyncEventAge")
        .iter()
        .all(|c| *c == "0.000"));
    assert!(r.cells("bad", "IteratorAge").iter().all(|c| c.is_empty()));
}

#[test]
fn duration_is_handler_time_without_init() {
    let r = Run::new(SCENARIO);
    let cold = r.sum("res", "ColdStarts");
    assert!(
        cold > 10,
        "idle_timeout 2s and one request per 4 s: mostly cold ({cold})"
    );
    for (f, ms) in [("prov", "50.000"), ("res", "100.000"), ("bad", "10.000")] {
        let cells = r.cells(f, "Duration");
        assert!(cells.iter().any(|c| !c.is_empty()));
        for c in cells.iter().filter(|c| !c.is_empty()) {
            assert_eq!(*c, ms, "{f}: Duration excludes INIT");
        }
    }
}

#[test]
fn buckets_without_samples_have_empty_percentiles() {
    let r = Run::new(SCENARIO);
    // "res" gets one request every 4 s: 3 buckets in 4 see no request end. Its requests
    // last 100 ms (800 ms when cold) and start on whole quarter-minutes of the clock, so a
    // request ends in the bucket it started in or the next one: the buckets with a latency
    // sample are exactly the buckets with a Duration sample, one in four.
    let p50 = r.cells("res", "LatencyP50Ms");
    let p99 = r.cells("res", "LatencyP99Ms");
    let dur = r.cells("res", "Duration");
    let empty = p50.iter().filter(|c| c.is_empty()).count() as f64;
    let expected = SECONDS as f64 * 0.75;
    assert!(
        (empty - expected).abs() <= 2.0,
        "{empty} empty buckets, expected {expected}"
    );
    for i in 0..p50.len() {
        assert_eq!(p50[i].is_empty(), dur[i].is_empty(), "bucket {i}");
        assert_eq!(p50[i].is_empty(), p99[i].is_empty(), "bucket {i}");
        if !p50[i].is_empty() {
            let v: f64 = p50[i].parse().unwrap();
            assert!(
                v >= 100.0,
                "bucket {i}: p50 {v} ms below the 100 ms handler"
            );
        }
    }
}

#[test]
fn concurrency_metrics_follow_their_definitions() {
    let r = Run::new(SCENARIO);
    // Account-level metrics only on the account row.
    for f in ["prov", "res", "bad"] {
        for col in [
            "UnreservedConcurrentExecutions",
            "ClaimedAccountConcurrency",
        ] {
            assert!(r.cells(f, col).iter().all(|c| c.is_empty()), "{f} {col}");
        }
    }
    // Provisioned metrics only where provisioned concurrency is configured.
    for f in ["res", "bad"] {
        for col in [
            "ProvisionedConcurrentExecutions",
            "ProvisionedConcurrencyInvocations",
            "ProvisionedConcurrencySpilloverInvocations",
            "ProvisionedConcurrencyUtilization",
        ] {
            assert!(r.cells(f, col).iter().all(|c| c.is_empty()), "{f} {col}");
        }
    }
    // "prov" never spills over: every invocation is a provisioned one, and the only
    // unreserved function runs only on provisioned environments, which are allocated, not
    // unreserved, concurrency.
    assert_eq!(
        r.sum("prov", "ProvisionedConcurrencySpilloverInvocations"),
        0
    );
    assert_eq!(
        r.sum("prov", "ProvisionedConcurrencyInvocations"),
        r.sum("prov", "Invocations")
    );
    let unreserved: Vec<u64> = r
        .cells("*", "UnreservedConcurrentExecutions")
        .iter()
        .map(|c| c.parse().unwrap())
        .collect();
    assert!(unreserved.iter().all(|&u| u == 0), "{unreserved:?}");
    // Per bucket: utilization = executions / 20, and executions <= ConcurrentExecutions.
    let execs = r.cells("prov", "ProvisionedConcurrentExecutions");
    let util = r.cells("prov", "ProvisionedConcurrencyUtilization");
    let conc = r.cells("prov", "ConcurrentExecutions");
    for i in 0..execs.len() {
        let e: u32 = execs[i].parse().unwrap();
        let u: f64 = util[i].parse().unwrap();
        assert!((u - e as f64 / 20.0).abs() < 1e-4, "bucket {i}");
        assert_eq!(
            e,
            conc[i].parse::<u32>().unwrap(),
            "bucket {i}: all on provisioned"
        );
    }
    // 40 requests/s of 50 ms: about 2 busy on average, so a peak above 1 and well below 20.
    let peak = execs
        .iter()
        .map(|c| c.parse::<u32>().unwrap())
        .max()
        .unwrap();
    assert!((2..20).contains(&peak), "peak {peak}");
    // ClaimedAccountConcurrency = UnreservedConcurrentExecutions + allocated concurrency:
    // reserved 30 + reserved 10 + provisioned 20 (of the function without a reservation).
    let claimed = r.cells("*", "ClaimedAccountConcurrency");
    for (i, c) in claimed.iter().enumerate() {
        assert_eq!(
            c.parse::<u64>().unwrap(),
            unreserved[i] + 30 + 10 + 20,
            "bucket {i}"
        );
    }
}

#[test]
fn claimed_concurrency_counts_on_demand_unreserved_executions() {
    // Two unreserved on-demand functions and one reserved: Claimed = the account's
    // UnreservedConcurrentExecutions + 50, and UnreservedConcurrentExecutions is at most the
    // sum of the unreserved functions' peaks (and at least the larger one).
    let r = Run::new(
        r#"
name = "claimed"
duration = "5m"
seed = 3
[account]
concurrency_limit = 500
[[functions]]
name = "a"
duration = { dist = "exponential", mean = "200ms" }
[[functions]]
name = "b"
duration = { dist = "exponential", mean = "300ms" }
[[functions]]
name = "c"
duration = { dist = "exponential", mean = "300ms" }
reserved_concurrency = 50
[[traffic]]
function = "a"
load = { kind = "constant", rps = 50 }
[[traffic]]
function = "b"
load = { kind = "constant", rps = 30 }
[[traffic]]
function = "c"
load = { kind = "constant", rps = 30 }
"#,
    );
    let num = |v: &[&str]| -> Vec<u64> { v.iter().map(|c| c.parse().unwrap()).collect() };
    let u = num(&r.cells("*", "UnreservedConcurrentExecutions"));
    let claimed = num(&r.cells("*", "ClaimedAccountConcurrency"));
    let a = num(&r.cells("a", "ConcurrentExecutions"));
    let b = num(&r.cells("b", "ConcurrentExecutions"));
    let mut by: HashMap<bool, u32> = HashMap::new();
    for i in 0..u.len() {
        assert_eq!(claimed[i], u[i] + 50, "bucket {i}");
        assert!(u[i] <= a[i] + b[i] && u[i] >= a[i].max(b[i]), "bucket {i}");
        *by.entry(u[i] > 0).or_default() += 1;
    }
    assert!(
        by[&true] > 200,
        "the unreserved functions are busy most seconds"
    );
}

#[test]
fn arrivals_and_retries_make_every_sync_attempt() {
    // Reserved 5 environments of 1 s handlers at 20 requests/s: most tries are throttled and
    // the SDK retries them. Arrivals is the offered load in closed form (20 x 300 s, evenly
    // spaced), and Arrivals + Retries is every attempt.
    let r = Run::new(
        r#"
name = "retries"
duration = "5m"
seed = 9
[[functions]]
name = "f"
runtime = "python3.12"
duration = { dist = "fixed", value = "1s" }
reserved_concurrency = 5
[[traffic]]
function = "f"
arrivals = "uniform"
load = { kind = "constant", rps = 20 }
retry = { mode = "standard" }
"#,
    );
    let arrivals = r.sum("f", "Arrivals");
    assert!(arrivals.abs_diff(20 * 300) <= 1, "{arrivals}");
    let retries = r.sum("f", "Retries");
    assert!(retries > 100, "throttled tries are retried: {retries}");
    assert_eq!(arrivals + retries, r.total("f", "attempts"));
    assert_eq!(
        r.sum("f", "Invocations") + r.sum("f", "Throttles"),
        r.total("f", "attempts"),
        "an attempt runs or is throttled"
    );
}
