//! Helpers shared by the integration tests (each test file includes this module).
// Each test binary uses only some of these helpers.
#![allow(dead_code)]

use lambdasim::stats::summary::FunctionSummary;

/// The conservation laws (RELIABILITY.md) for one function (or the account): nothing is lost, attempts add up,
/// throttle reasons add up, timeouts are failures.
pub fn assert_conserved(name: &str, f: &FunctionSummary) {
    assert_eq!(
        f.requests,
        f.succeeded + f.failed + f.dropped + f.dlq + f.in_flight,
        "{name}: requests = succeeded + failed + dropped + dlq + in flight"
    );
    assert_eq!(
        f.attempts,
        f.invocations + f.throttles.total,
        "{name}: attempts = invocations + throttles"
    );
    assert_eq!(
        f.throttles.total,
        f.throttles.burst
            + f.throttles.account
            + f.throttles.reserved
            + f.throttles.rate
            + f.throttles.gateway
            + f.throttles.capacity,
        "{name}: throttle reasons"
    );
    assert!(
        f.timed_out + f.failed_throttled <= f.failed,
        "{name}: timed out and throttled are parts of failed"
    );
}

/// [`assert_conserved`] for every function and the account of a run.
pub fn assert_run_conserved(s: &lambdasim::stats::Summary) {
    for (name, f) in &s.functions {
        assert_conserved(name, f);
    }
    assert_conserved("account", &s.account);
}

/// Every shipped scenario in `scenarios/` (sweep files, which name a base scenario instead of
/// defining functions, are skipped), sorted.
pub fn shipped_scenarios() -> Vec<std::path::PathBuf> {
    let mut v: Vec<std::path::PathBuf> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        // Hidden files are other tests' temporary edits (tests/extreme.rs).
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("[[functions]]")
        })
        .collect();
    v.sort();
    assert!(v.len() >= 8, "expected the shipped scenarios, found {v:?}");
    v
}

/// Erlang-B blocking probability B(c, a) by the stable recursion
/// B(k) = a B(k-1) / (k + a B(k-1)), B(0) = 1: the closed form loss-system tests check against.
pub fn erlang_b(c: u32, a: f64) -> f64 {
    (1..=c).fold(1.0, |b, k| a * b / (k as f64 + a * b))
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A short scenario with cold starts and throttles (a spike against reserved concurrency 40),
/// the base of the sweep tests' grids.
pub const SMALL: &str = r#"
name = "small"
duration = "60s"
seed = 5

[account]
concurrency_limit = 200

[[functions]]
name = "api"
runtime = "python3.12"
duration = { dist = "lognormal", median = "80ms", p99 = "400ms" }
reserved_concurrency = 40

[[traffic]]
function = "api"
load = { kind = "spike", base = 50, peak = 400, at = "20s", length = "10s" }
"#;

/// Peak resident memory (VmHWM, kB) of a child, read from /proc until it exits.
#[cfg(target_os = "linux")]
pub fn peak_rss_kb(mut cmd: std::process::Command) -> (std::process::Output, u64) {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Ok(s) = std::fs::read_to_string(&status) {
            if let Some(l) = s.lines().find(|l| l.starts_with("VmHWM:")) {
                let kb: u64 = l.split_whitespace().nth(1).unwrap().parse().unwrap();
                peak = peak.max(kb);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    (child.wait_with_output().unwrap(), peak)
}
