//! API Gateway in front of sync traffic, checked against hand calculations: the token bucket
//! admits `burst + rate x t` of a constant overload, the integration timeout answers every
//! invocation longer than it with a 504 at the timeout while Lambda bills the whole invocation,
//! and every request is still accounted for.

mod common;
use common::{assert_conserved, assert_run_conserved};

use lambdasim::model::Model;
use lambdasim::run::{simulate, RunOutput};
use lambdasim::scenario::load_str;
use lambdasim::stats::{BucketRow, ThrottleReason};
use std::path::Path;

fn run(toml: &str) -> (RunOutput, Vec<BucketRow>) {
    let s = load_str(toml, Path::new("gw.toml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let m = Model::build(&s, Path::new("scenarios"), Path::new("gw.toml")).unwrap();
    let mut rows = Vec::new();
    let out = simulate(&m, &mut rows);
    (out, rows)
}

fn load_err(toml: &str) -> String {
    match load_str(toml, Path::new("gw.toml"), &[]) {
        Ok(_) => panic!("accepted:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

/// Evenly spaced arrivals at `rps` into a gateway of `rate`/s and `burst`, for `secs` seconds;
/// the function is fast and far from every Lambda limit, and clients do not retry.
fn overload(rps: u32, rate: u32, burst: u32, secs: u32, arrivals: &str) -> String {
    format!(
        r#"
name = "bucket"
duration = "{secs}s"
seed = 3
[account]
concurrency_limit = 10000
rps_limit_factor = 0
[[functions]]
name = "f"
duration = "5ms"
init = "0s"
[[traffic]]
function = "f"
arrivals = "{arrivals}"
retry = {{ mode = "none" }}
gateway = {{ rate = {rate}, burst = {burst} }}
load = {{ kind = "constant", rps = {rps} }}
"#
    )
}

#[test]
fn a_constant_overload_is_admitted_at_burst_plus_rate_times_t() {
    // Token bucket, full at t = 0: over [0, T] under an overload it admits burst + rate x T.
    // 500/s offered into 100/s with a burst of 50 for 60 s: 50 + 6,000 = 6,050 admitted; with
    // evenly spaced arrivals the only slack is the arrival grid (a token may wait up to 2 ms
    // for its request), so the tolerance is 2 requests.
    let (out, rows) = run(&overload(500, 100, 50, 60, "uniform"));
    let f = out.summary.function("f").unwrap();
    let admitted = f.invocations as f64;
    assert!((admitted - 6050.0).abs() <= 2.0, "admitted {admitted}");
    assert_eq!(f.throttles.gateway, f.requests - f.invocations);
    assert_eq!(
        f.throttles.total, f.throttles.gateway,
        "Lambda never throttles"
    );
    assert_eq!(f.failed_throttled, f.throttles.gateway, "no retries");
    assert_conserved("f", f);
    // Once the burst is spent (after 50 / 400 s), each second admits `rate`: 100 per 1 s
    // bucket from 1 s on, within 1 for the arrival grid.
    for r in rows
        .iter()
        .filter(|r| r.function.is_some() && r.start.0 >= 1_000_000)
    {
        assert!(
            r.invocations.abs_diff(100) <= 1,
            "{} at {}",
            r.invocations,
            r.start
        );
        assert_eq!(
            r.throttles[ThrottleReason::Gateway],
            r.arrivals - r.invocations
        );
    }
}

#[test]
fn a_shared_gateway_admits_the_closed_form_over_all_its_entries() {
    // Two Poisson sources of 300/s each, to two functions, share one bucket of 200/s and
    // burst 1,000 for 100 s: 1,000 + 20,000 = 21,000 admitted in all. Offered 600/s is three
    // times the rate, so the bucket is empty almost always after the first seconds; a token
    // refilled while no request is waiting is lost only when the bucket is full, which at
    // this overload does not happen. Tolerance 0.5 % (105 requests).
    let toml = r#"
name = "shared"
duration = "100s"
seed = 9
[account]
concurrency_limit = 10000
rps_limit_factor = 0
[[gateways]]
name = "api"
rate = 200
burst = 1000
[[functions]]
name = "a"
duration = "5ms"
init = "0s"
[[functions]]
name = "b"
duration = "5ms"
init = "0s"
[[traffic]]
function = "a"
gateway = "api"
retry = { mode = "none" }
load = { kind = "constant", rps = 300 }
[[traffic]]
function = "b"
gateway = "api"
retry = { mode = "none" }
load = { kind = "constant", rps = 300 }
"#;
    let (out, _) = run(toml);
    let s = &out.summary;
    let admitted = s.account.invocations as f64;
    assert!((admitted - 21_000.0).abs() <= 105.0, "admitted {admitted}");
    // Each function gets about half (Poisson sources of the same rate).
    for n in ["a", "b"] {
        let f = s.function(n).unwrap();
        assert!(
            (f.invocations as f64 - 10_500.0).abs() < 400.0,
            "{n}: {}",
            f.invocations
        );
        assert_eq!(f.throttles.gateway + f.invocations, f.requests);
    }
    assert_run_conserved(s);
}

/// A slow function (fixed 40 s) and a fast one (fixed 5 s), each behind a gateway with the
/// default 29 s integration timeout; 1 request per second for the first 100 s, no INIT.
fn slow_and_fast(retry: &str) -> String {
    format!(
        r#"
name = "timeouts"
duration = "500s"
seed = 4
[[functions]]
name = "slow"
memory_mb = 1024
timeout = "60s"
duration = "40s"
init = "0s"
[[functions]]
name = "fast"
memory_mb = 1024
timeout = "60s"
duration = "5s"
init = "0s"
[[traffic]]
function = "slow"
arrivals = "uniform"
retry = {retry}
gateway = {{ timeout = "29s" }}
load = {{ kind = "steps", steps = [{{ at = "0s", rps = 1 }}, {{ at = "100s", rps = 0 }}] }}
[[traffic]]
function = "fast"
arrivals = "uniform"
retry = {retry}
gateway = {{}}
load = {{ kind = "steps", steps = [{{ at = "0s", rps = 1 }}, {{ at = "100s", rps = 0 }}] }}
"#
    )
}

/// On-demand x86_64 price per GB-second (the default `[pricing]`).
const GB_SECOND: f64 = 0.0000166667;

#[test]
fn the_integration_timeout_answers_at_29s_while_lambda_bills_the_whole_run() {
    let (out, _) = run(&slow_and_fast(r#"{ mode = "none" }"#));
    let slow = out.summary.function("slow").unwrap();
    let n = slow.requests;
    assert!((99..=101).contains(&n), "{n} requests");
    // Every slow invocation (40 s) outlasts the 29 s timeout: each request gets a 504.
    assert_eq!(slow.gateway_timeouts, n);
    assert_eq!(slow.failed, n);
    assert_eq!(slow.succeeded, 0);
    assert_eq!(slow.in_flight, 0);
    // Lambda saw successful invocations: no function errors.
    assert_eq!(slow.invocations, n);
    assert_eq!(slow.errors, 0);
    // The client waited exactly the timeout (histogram resolution: 1 %).
    for v in [slow.latency_ms.p50, slow.latency_ms.max] {
        assert!((v - 29_000.0).abs() < 290.0, "latency {v} ms");
    }
    // Billed to the end: n x 40 s x 1 GB, not n x 29 s.
    let by_hand = n as f64 * 40.0 * GB_SECOND;
    assert!(
        (slow.cost_usd.compute - by_hand).abs() < 1e-9,
        "compute {} vs {by_hand} (29 s would be {})",
        slow.cost_usd.compute,
        n as f64 * 29.0 * GB_SECOND
    );
    // The fast function (5 s < 29 s) is never cut off.
    let fast = out.summary.function("fast").unwrap();
    assert_eq!(fast.gateway_timeouts, 0);
    assert_eq!(fast.succeeded, fast.requests);
    assert_run_conserved(&out.summary);
}

#[test]
fn a_504_is_retried_under_the_clients_policy() {
    // Legacy mode: 5 attempts, no retry quota. Every attempt of the slow function outlasts
    // the timeout, so each request makes 5 attempts, runs 5 invocations (each billed 40 s)
    // and ends failed; 4 retries each.
    let (out, _) = run(&slow_and_fast(r#"{ mode = "legacy" }"#));
    let slow = out.summary.function("slow").unwrap();
    let n = slow.requests;
    assert_eq!(slow.attempts, 5 * n);
    assert_eq!(slow.invocations, 5 * n);
    assert_eq!(slow.gateway_timeouts, 5 * n);
    assert_eq!(slow.retries, 4 * n);
    assert_eq!(slow.failed, n);
    assert_eq!(slow.in_flight, 0);
    let by_hand = 5.0 * n as f64 * 40.0 * GB_SECOND;
    assert!((slow.cost_usd.compute - by_hand).abs() < 1e-9);
    assert_run_conserved(&out.summary);
}

#[test]
fn requests_are_conserved_behind_a_gateway_with_retries_and_timeouts() {
    // Poisson overload of a gateway in front of a function whose durations straddle the
    // timeout, with standard retries (quota) and an adaptive fleet; the run ends while
    // requests are waiting, running and detached: requests = succeeded + failed + in flight.
    let toml = r#"
name = "mixed"
duration = "120s"
seed = 12
[[gateways]]
name = "api"
rate = 40
burst = 20
timeout = "2s"
[[functions]]
name = "f"
timeout = "10s"
duration = { dist = "lognormal", median = "1s", p99 = "6s" }
[[traffic]]
function = "f"
gateway = "api"
retry = { mode = "standard" }
load = { kind = "spike", base = 20, peak = 120, at = "30s", length = "20s" }
[[traffic]]
function = "f"
gateway = "api"
retry = { mode = "adaptive", clients = 4 }
load = { kind = "constant", rps = 15 }
"#;
    let (out, _) = run(toml);
    let f = out.summary.function("f").unwrap();
    assert!(f.throttles.gateway > 0 && f.gateway_timeouts > 0, "{f:?}");
    assert_conserved("f", f);
}

#[test]
fn bad_gateways_are_refused_with_the_key_and_line() {
    let base = |traffic_extra: &str, top: &str| {
        format!(
            "name = \"x\"\nduration = \"10s\"\n{top}\n[[functions]]\nname = \"f\"\nduration = \"10ms\"\n[[traffic]]\nfunction = \"f\"\n{traffic_extra}\nload = {{ kind = \"constant\", rps = 1 }}\n"
        )
    };
    let e = load_err(&base("invocation = \"async\"\ngateway = {}", ""));
    assert!(
        e.contains("traffic[0].gateway") && e.contains("sync"),
        "{e}"
    );
    let e = load_err(&base("gateway = \"nope\"", ""));
    assert!(
        e.contains("traffic[0].gateway") && e.contains("nope"),
        "{e}"
    );
    let e = load_err(&base("gateway = { rate = 0 }", ""));
    assert!(e.contains("traffic[0].gateway.rate"), "{e}");
    let e = load_err(&base("gateway = { burst = 0 }", ""));
    assert!(e.contains("traffic[0].gateway.burst"), "{e}");
    let e = load_err(&base("gateway = { timeout = \"10ms\" }", ""));
    assert!(e.contains("traffic[0].gateway.timeout"), "{e}");
    let e = load_err(&base("gateway = { rat = 5 }", ""));
    assert!(e.contains("rat"), "{e}");
    let e = load_err(&base(
        "gateway = \"a\"",
        "[[gateways]]\nname = \"a\"\n[[gateways]]\nname = \"a\"",
    ));
    assert!(e.contains("gateways[1].name"), "{e}");
    // Every message is one line naming the file and the line.
    assert!(!e.trim_end().contains('\n') && e.contains("gw.toml"), "{e}");
}
