//! SnapStart: a cold start restores a snapshot instead of running INIT, its hooks are billed,
//! Python and .NET pay the cache and restore charges (Java does not), and the platform's
//! refusals are input errors naming the key. Numbers are checked against the distributions'
//! closed-form means and against the documented prices worked out by hand
//! (<https://aws.amazon.com/lambda/pricing/>, "SnapStart Pricing").

mod common;

use assert_cmd::Command;
use lambdasim::model::Model;
use lambdasim::run::{simulate, RunOutput};
use lambdasim::scenario::load_str;
use lambdasim::stats::NoRecorder;
use std::path::Path;

fn run(toml: &str) -> RunOutput {
    let s = load_str(toml, Path::new("test.toml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let m = Model::build(&s, Path::new("."), Path::new("test.toml")).unwrap();
    let out = simulate(&m, &mut NoRecorder);
    common::assert_run_conserved(&out.summary);
    out
}

/// One request per second, evenly spaced, and environments reclaimed 100 ms after they go idle:
/// every request is a cold start (a cold start ends at most 550 ms after its arrival).
fn all_cold(runtime: &str, extra: &str, seconds: u32) -> String {
    format!(
        r#"
name = "ss"
duration = "{seconds}s"
seed = 3
[[functions]]
name = "f"
runtime = "{runtime}"
memory_mb = 1024
duration = "100ms"
idle_timeout = "100ms"
{extra}
[[traffic]]
function = "f"
arrivals = "uniform"
load = {{ kind = "constant", rps = 1 }}
"#
    )
}

#[test]
fn a_snapstart_cold_start_takes_the_restore_plus_the_hooks_instead_of_init() {
    // Restore uniform 200..400 ms (mean 300 ms, sd 200/sqrt(12) = 57.7 ms) + hooks 50 ms +
    // duration 100 ms = 450 ms mean. INIT (5 s) would make it 5.1 s. Over 3000 cold starts the
    // standard error of the mean is 57.7 / sqrt(3000) = 1.05 ms: tolerance 5 ms (about 4.7
    // standard errors, plus the histogram's resolution).
    let extra = r#"init = "5s"
snapstart = true
snapstart_restore = { dist = "uniform", min = "200ms", max = "400ms" }
snapstart_hooks = "50ms""#;
    let out = run(&all_cold("java21", extra, 3000));
    let f = &out.summary.functions[0].1;
    assert!(
        f.cold_starts >= 2990,
        "every request cold: {}",
        f.cold_starts
    );
    assert_eq!(f.cold_starts, f.invocations);
    let mean_ms = out.latency_cold[0].mean() / 1000.0;
    assert!(
        (mean_ms - 450.0).abs() < 5.0,
        "mean cold latency {mean_ms} ms"
    );
    // The same function without SnapStart runs INIT: 5 s + 100 ms.
    let off = run(&all_cold("java21", r#"init = "5s""#, 300));
    let mean_off = off.latency_cold[0].mean() / 1000.0;
    assert!(
        (mean_off - 5100.0).abs() < 50.0,
        "INIT cold latency {mean_off} ms"
    );
}

#[test]
fn the_runtime_preset_gives_the_restore_time_when_none_is_set() {
    // python3.12's assumed restore: uniform 100..400 ms (mean 250 ms, sd 86.6 ms); over 3000
    // cold starts the standard error is 1.6 ms: tolerance 8 ms around 250 + 100 ms.
    let out = run(&all_cold("python3.12", "snapstart = true", 3000));
    let mean_ms = out.latency_cold[0].mean() / 1000.0;
    assert!(
        (mean_ms - 350.0).abs() < 8.0,
        "mean cold latency {mean_ms} ms"
    );
}

#[test]
fn python_snapstart_pays_hooks_cache_and_restores_as_documented() {
    // 1 GB Python function, 600 s window, every request cold: each invocation bills
    // 100 ms + 50 ms of hooks = 150 ms (restore not billed); the cache is charged for the
    // 3-hour minimum; each cold start is one restore of 1 GB.
    let extra = r#"snapstart = true
snapstart_restore = "300ms"
snapstart_hooks = "50ms""#;
    let out = run(&all_cold("python3.12", extra, 600));
    let f = &out.summary.functions[0].1;
    let n = f.invocations as f64;
    let restores = f.cold_starts as f64;
    assert_eq!(f.cold_starts, f.invocations);
    let requests = n * 0.20 / 1e6;
    let compute = n * 0.150 * 1.0 * 0.0000166667;
    let cache = 1.0 * 3.0 * 3600.0 * 0.0000015046;
    let restore = restores * 1.0 * 0.0001397998;
    let c = &f.cost_usd;
    assert!((c.requests - requests).abs() < 1e-12, "{c:?}");
    assert!(
        (c.compute - compute).abs() < 1e-9,
        "{} vs {compute}",
        c.compute
    );
    assert!((c.snapstart - (cache + restore)).abs() < 1e-9, "{c:?}");
    assert!((c.total - (requests + compute + cache + restore)).abs() < 1e-9);
    // 600 requests: cache 0.016250 + restores 600 x 0.0001397998 = 0.083880.
    assert!((cache - 0.01624968).abs() < 1e-6);
}

#[test]
fn java_snapstart_pays_only_its_hooks() {
    let extra = r#"snapstart = true
snapstart_restore = "300ms"
snapstart_hooks = "50ms""#;
    let out = run(&all_cold("java21", extra, 600));
    let f = &out.summary.functions[0].1;
    let n = f.invocations as f64;
    assert_eq!(f.cost_usd.snapstart, 0.0);
    let compute = n * 0.150 * 0.0000166667;
    assert!((f.cost_usd.compute - compute).abs() < 1e-9);
}

/// `toml` is refused by `check` with exit 2 and one line naming the file, `line` and `key`.
fn check_refused(toml: &str, key: &str, line: u32) {
    let dir = tempfile::tempdir().unwrap();
    let p = common::write(dir.path(), "s.toml", toml);
    let out = Command::cargo_bin("lambdasim")
        .unwrap()
        .arg("check")
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(key), "{key} not named: {err}");
    assert!(
        err.contains(&format!("s.toml:{line}:")),
        "file and line {line} not named: {err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn snapstart_is_refused_where_the_platform_refuses_it() {
    check_refused(
        &all_cold("nodejs20.x", "snapstart = true", 60),
        "functions[0].snapstart",
        11,
    );
    check_refused(
        &all_cold("python3.11", "whatif_snapstart = true", 60),
        "functions[0].whatif_snapstart",
        11,
    );
    check_refused(
        &all_cold(
            "java21",
            "snapstart = true\nprovisioned_concurrency = 5",
            60,
        ),
        "functions[0].snapstart",
        11,
    );
    check_refused(
        &all_cold("java21", "snapstart = true\nsnapstart_hooks = \"11s\"", 60),
        "functions[0].snapstart_hooks",
        12,
    );
}

#[test]
fn the_whatifs_compare_snapstart_with_and_without_and_provisioned() {
    let toml = format!(
        "{}\n",
        all_cold("java21", "snapstart = true\nreserved_concurrency = 20", 120)
    );
    let s = load_str(&toml, Path::new("t.toml"), &[]).unwrap();
    let m = Model::build(&s, Path::new("."), Path::new("t.toml")).unwrap();
    let out = simulate(&m, &mut NoRecorder);
    let w = lambdasim::whatif::whatifs(&m, &out);
    let v = &w[0].1.provisioned;
    let this = v.iter().find(|v| !v.simulated).unwrap();
    assert_eq!((this.lever, this.snapstart), ("snapstart", true));
    let off = v
        .iter()
        .find(|v| v.simulated && v.lever == "snapstart")
        .expect("a variant without SnapStart");
    assert!(!off.snapstart && off.provisioned_concurrency == 0);
    // Without SnapStart every cold start runs the Java INIT (500..1000 ms) instead of a
    // restore (100..400 ms): the same arrivals, slower cold starts.
    assert!(
        off.latency_p99_ms > this.latency_p99_ms,
        "{off:?} vs {this:?}"
    );
    let prov = v.iter().find(|v| v.provisioned_concurrency > 0).unwrap();
    assert_eq!((prov.lever, prov.snapstart), ("provisioned", false));
}

#[test]
fn the_price_swap_keeps_the_snapstart_charges() {
    // A Python SnapStart function on x86_64: the what-if "this run on x86_64" is this run's
    // total, SnapStart charges included; on arm64 only the duration price changes.
    let toml = all_cold(
        "python3.12",
        "snapstart = true\nsnapstart_restore = \"300ms\"",
        300,
    );
    let s = load_str(&toml, Path::new("t.toml"), &[]).unwrap();
    let m = Model::build(&s, Path::new("."), Path::new("t.toml")).unwrap();
    let out = simulate(&m, &mut NoRecorder);
    let c = &out.summary.functions[0].1.cost_usd;
    assert!(c.snapstart > 0.0);
    let w = lambdasim::whatif::whatifs(&m, &out);
    assert!(
        (w[0].1.x86_64 - c.total).abs() < 1e-12,
        "{} vs {}",
        w[0].1.x86_64,
        c.total
    );
    let arm = c.requests + c.compute * 0.0000133334 / 0.0000166667 + c.snapstart;
    assert!(
        (w[0].1.arm64 - arm).abs() < 1e-9,
        "{} vs {arm}",
        w[0].1.arm64
    );
}
