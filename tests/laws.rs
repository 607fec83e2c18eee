//! The model checked against closed-form laws, not against its own output. Each test states
//! the law, the sample size and its tolerance.

mod common;
use common::erlang_b;

use lambdasim::model::Model;
use lambdasim::run::{simulate, RunOutput};
use lambdasim::scenario::load_str;
use lambdasim::stats::BucketRow;
use std::path::Path;

fn run(toml: &str) -> (RunOutput, Vec<BucketRow>) {
    let s = load_str(toml, Path::new("test.toml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let m = Model::build(&s, Path::new("scenarios"), Path::new("test.toml")).unwrap();
    let mut rows = Vec::new();
    let out = simulate(&m, &mut rows);
    (out, rows)
}

#[test]
fn erlang_b_reference_value() {
    // The textbook figure quoted in the brief: 100 servers at 100 Erlang block 7.57 %.
    assert!((erlang_b(100, 100.0) - 0.0757).abs() < 0.0001);
}

/// A loss system M/M/c: reserved concurrency c, Poisson arrivals, exponential service, no INIT.
fn loss_system(c: u32, provisioned: u32, init: &str) -> String {
    format!(
        r#"
name = "erlang"
duration = "620s"
warmup = "20s"
seed = 2024
[account]
concurrency_limit = 1000
[[functions]]
name = "f"
duration = {{ dist = "exponential", mean = "100ms" }}
init = {init}
reserved_concurrency = {c}
provisioned_concurrency = {provisioned}
idle_timeout = {{ dist = "fixed", value = "1h" }}
max_lifetime = "10h"
[[traffic]]
function = "f"
load = {{ kind = "constant", rps = 1000 }}
"#
    )
}

#[test]
fn erlang_b_blocking_with_all_provisioned() {
    // Erlang-B: 100 servers at 100 Erlang (1000/s x 100 ms) block 7.57 %. 600k arrivals;
    // tolerance 0.3 percentage points (about 4 standard errors of the batch estimate).
    let (out, _) = run(&loss_system(
        100,
        100,
        r#"{ dist = "fixed", value = "0s" }"#,
    ));
    let f = out.summary.function("f").unwrap();
    let want = erlang_b(100, 100.0);
    assert!(f.requests > 590_000);
    assert_eq!(f.throttles.total, f.throttles.reserved);
    assert!(
        (f.throttle_ratio - want).abs() < 0.003,
        "blocking {} vs Erlang-B {want}",
        f.throttle_ratio
    );
    assert_eq!(f.cold_starts, 0, "all environments are provisioned");
}

#[test]
fn erlang_b_blocking_with_on_demand_and_zero_init() {
    // The same loss system served by on-demand environments with INIT 0: still Erlang-B.
    let (out, _) = run(&loss_system(100, 0, r#"{ dist = "fixed", value = "0s" }"#));
    let f = out.summary.function("f").unwrap();
    let want = erlang_b(100, 100.0);
    assert!(
        (f.throttle_ratio - want).abs() < 0.003,
        "blocking {} vs Erlang-B {want}",
        f.throttle_ratio
    );
    assert!(f.concurrency.peak <= 100);
}

#[test]
fn mm_infinity_mean_busy_is_lambda_times_mean_service() {
    // M/M/inf: mean busy environments = lambda x E[S] = 500/s x 0.2 s = 100, within 2 %
    // (300k arrivals). Little's law with W = E[S] since INIT is 0.
    let (out, _) = run(r#"
name = "mminf"
duration = "610s"
warmup = "10s"
seed = 9
[account]
concurrency_limit = 100000
[[functions]]
name = "f"
duration = { dist = "exponential", mean = "200ms" }
init = { dist = "fixed", value = "0s" }
[[traffic]]
function = "f"
load = { kind = "constant", rps = 500 }
"#);
    let f = out.summary.function("f").unwrap();
    assert!(
        (f.concurrency.mean / 100.0 - 1.0).abs() < 0.02,
        "mean busy {}",
        f.concurrency.mean
    );
    assert_eq!(f.throttles.total, 0);
}

#[test]
fn littles_law_with_cold_starts_and_lognormal_durations() {
    // Little's law L = lambda W: time-average concurrency = throughput x mean time in an
    // environment (INIT + duration = client latency here). Within 2 % over 10 minutes; short
    // idle timeouts make cold starts frequent so INIT counts.
    let (out, _) = run(r#"
name = "little"
duration = "600s"
seed = 77
[account]
concurrency_limit = 100000
[[functions]]
name = "f"
runtime = "java21"
duration = { dist = "lognormal", median = "120ms", p99 = "900ms" }
idle_timeout = { dist = "exponential", mean = "200ms" }
[[traffic]]
function = "f"
load = { kind = "diurnal", mean = 300, amplitude = 200, period = "5m" }
"#);
    let f = out.summary.function("f").unwrap();
    assert!(
        f.cold_starts > 10_000,
        "cold starts must matter: {}",
        f.cold_starts
    );
    let throughput = (f.invocations - f.in_flight) as f64 / 600.0;
    let l = throughput * f.latency_ms.mean / 1000.0;
    assert!(
        (f.concurrency.mean / l - 1.0).abs() < 0.02,
        "L {} vs lambda W {l}",
        f.concurrency.mean
    );
}

fn staircase(region: &str) -> String {
    format!(
        r#"
name = "staircase"
duration = "8m"
[account]
region = "{region}"
concurrency_limit = 100000
scaling = "burst"
[[functions]]
name = "f"
timeout = "15m"
duration = {{ dist = "fixed", value = "14m" }}
[[traffic]]
function = "f"
arrivals = "uniform"
load = {{ kind = "constant", rps = 2000 }}
"#
    )
}

#[test]
fn legacy_burst_staircase_us_east_1_and_a_500_region() {
    // Legacy burst: concurrency = burst quota at once, then +500 at each whole minute, exactly
    // (no invocation ends within the run, demand is far above the curve).
    for (region, quota) in [
        ("us-east-1", 3000u32),
        ("eu-central-1", 1000),
        ("sa-east-1", 500),
    ] {
        let (out, rows) = run(&staircase(region));
        // From t = 2 s on, demand (2000/s, none finishing) is above the curve.
        for r in rows
            .iter()
            .filter(|r| r.function == Some(0) && r.start.0 >= 2_000_000)
        {
            let minute = r.start.0 / 60_000_000;
            let want = quota + 500 * minute as u32;
            assert_eq!(r.concurrency_max, want, "{region} at {}", r.start);
        }
        let f = out.summary.function("f").unwrap();
        assert_eq!(f.throttles.total, f.throttles.burst);
        // Environments created never exceed the tokens granted: quota + 500 x 7 whole minutes.
        assert_eq!(f.environments_created, (quota + 500 * 7) as u64);
    }
}

#[test]
fn legacy_burst_is_shared_by_the_account() {
    // Two functions share the 3000 bucket: together they reach 3000 at t = 0, not 6000.
    let mut s = staircase("us-east-1");
    s.push_str("[[functions]]\nname = \"g\"\ntimeout = \"15m\"\nduration = { dist = \"fixed\", value = \"14m\" }\n");
    s.push_str("[[traffic]]\nfunction = \"g\"\narrivals = \"uniform\"\nload = { kind = \"constant\", rps = 2000 }\n");
    let (_, rows) = run(&s);
    let acc: Vec<_> = rows.iter().filter(|r| r.function.is_none()).collect();
    assert_eq!(acc[30].concurrency_max, 3000);
    assert_eq!(acc[90].concurrency_max, 3500);
}

#[test]
fn per_function_scaling_curve_and_independence() {
    // Per-function: 1000 at once, then +100 per second (1000 per 10 s), continuous, for each
    // function independently. At the end of second k concurrency is 1000 + 100 k (+-1).
    let (_, rows) = run(r#"
name = "pf"
duration = "60s"
[account]
concurrency_limit = 100000
[[functions]]
name = "a"
timeout = "15m"
duration = { dist = "fixed", value = "14m" }
[[functions]]
name = "b"
timeout = "15m"
duration = { dist = "fixed", value = "14m" }
[[traffic]]
function = "a"
arrivals = "uniform"
load = { kind = "constant", rps = 20000 }
[[traffic]]
function = "b"
arrivals = "uniform"
load = { kind = "constant", rps = 20000 }
"#);
    for f in [0u32, 1] {
        for r in rows.iter().filter(|r| r.function == Some(f)) {
            let k = r.start.0 / 1_000_000 + 1;
            let want = 1000 + 100 * k as i64;
            assert!(
                (r.concurrency_max as i64 - want).abs() <= 1,
                "fn {f} second {k}: {}",
                r.concurrency_max
            );
        }
    }
}

fn conservation(out: &RunOutput) {
    common::assert_run_conserved(&out.summary);
}

#[test]
fn every_shipped_scenario_conserves_requests_and_respects_caps() {
    // Conservation (RELIABILITY.md) and caps: no bucket's concurrency exceeds a function's
    // reservation or the account limit.
    for entry in std::fs::read_dir("scenarios").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml")
            || path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sweep")
        {
            continue;
        }
        let s = lambdasim::scenario::load(&path, &[]).unwrap();
        let m = Model::build(&s, Path::new("scenarios"), &path).unwrap();
        let mut rows = Vec::new();
        let out = simulate(&m, &mut rows);
        conservation(&out);
        for r in &rows {
            match r.function {
                Some(i) => {
                    if let Some(res) = m.functions[i as usize].reserved {
                        assert!(r.concurrency_max <= res, "{path:?}: reservation exceeded");
                    }
                }
                None => assert!(
                    r.concurrency_max <= m.account.concurrency_limit,
                    "{path:?}: account limit exceeded"
                ),
            }
        }
    }
}

#[test]
fn account_pool_is_shared_and_reservations_protect() {
    // Noisy neighbour: without a reservation the API is throttled for "account"; with
    // reserved_concurrency = 100 it is never throttled, and the batch job gets 900 at most.
    let text = std::fs::read_to_string("scenarios/noisy-neighbour.toml").unwrap();
    let (out, _) = run(&text);
    assert!(out.summary.function("shop-api").unwrap().throttles.account > 1000);
    let s = load_str(
        &text,
        Path::new("n.toml"),
        &["functions.shop-api.reserved_concurrency=100"
            .parse()
            .unwrap()],
    )
    .unwrap();
    let m = Model::build(&s, Path::new("scenarios"), Path::new("n.toml")).unwrap();
    let out = simulate(&m, &mut lambdasim::stats::NoRecorder);
    conservation(&out);
    assert_eq!(out.summary.function("shop-api").unwrap().throttles.total, 0);
    assert!(
        out.summary
            .function("batch-import")
            .unwrap()
            .concurrency
            .peak
            <= 900
    );
}

#[test]
fn no_cold_starts_while_load_stays_under_provisioned() {
    // 100/s x 100 ms = 10 busy on average; 50 provisioned environments are never all busy.
    let (out, _) = run(r#"
name = "prov"
duration = "10m"
[[functions]]
name = "f"
runtime = "java21"
duration = { dist = "fixed", value = "100ms" }
provisioned_concurrency = 50
[[traffic]]
function = "f"
load = { kind = "constant", rps = 100 }
"#);
    let f = out.summary.function("f").unwrap();
    assert!(f.invocations > 50_000);
    assert_eq!(f.cold_starts, 0);
    assert_eq!(f.provisioned.spillover_invocations, 0);
    // Utilization = mean busy / provisioned = 10 / 50, within 3 %.
    assert!(
        (f.provisioned.utilization_mean / 0.2 - 1.0).abs() < 0.03,
        "{}",
        f.provisioned.utilization_mean
    );
}

#[test]
fn reserved_zero_is_an_off_switch() {
    let text = std::fs::read_to_string("scenarios/reserved-concurrency.toml").unwrap();
    let (out, _) = run(&text);
    let off = out.summary.function("legacy-import").unwrap();
    assert!(off.requests > 1000);
    assert_eq!(off.throttles.reserved, off.requests);
    assert_eq!(off.invocations, 0);
    let capped = out.summary.function("reports").unwrap();
    assert_eq!(capped.concurrency.peak, 100);
}

#[test]
fn rate_limit_throttles_above_factor_times_limit() {
    // rps limit = 2 x 100 = 200 accepted per second; 500/s evenly spaced arrive, so exactly 300
    // of every 500 are throttled for "rate" (durations are tiny, concurrency never binds).
    let (out, _) = run(r#"
name = "rate"
duration = "20s"
[account]
concurrency_limit = 100
rps_limit_factor = 2
[[functions]]
name = "f"
duration = { dist = "fixed", value = "1ms" }
init = { dist = "fixed", value = "0s" }
[[traffic]]
function = "f"
arrivals = "uniform"
load = { kind = "constant", rps = 500 }
"#);
    let f = out.summary.function("f").unwrap();
    assert_eq!(f.requests, 10_000);
    assert_eq!(f.throttles.rate, 6_000);
    assert_eq!(f.throttles.total, 6_000);
}

#[test]
fn timeouts_fail_and_reset_the_environment() {
    // Every invocation lasts 2 s against a 1 s timeout: all time out, and since a timed-out
    // environment is reset (its next invocation runs INIT again) every invocation is a cold
    // start, on the same few environments: an environment's first use holds it INIT (at most
    // 300 ms) + 1 s, later ones 1 s (INIT runs inside the invocation, under the timeout), so
    // 10/s need at most ceil(10 x 1.3) = 13, never one per invocation.
    let (out, _) = run(r#"
name = "to"
duration = "60s"
[[functions]]
name = "f"
timeout = "1s"
duration = { dist = "fixed", value = "2s" }
[[traffic]]
function = "f"
arrivals = "uniform"
load = { kind = "constant", rps = 10 }
"#);
    let f = out.summary.function("f").unwrap();
    assert_eq!(f.timed_out, f.invocations - f.in_flight);
    assert_eq!(f.cold_starts, f.invocations);
    assert!(f.environments_created <= 13, "{}", f.environments_created);
    assert_eq!(f.succeeded, 0);
    conservation(&out);
}

#[test]
fn error_rate_is_respected() {
    // Function errors with probability 0.1: Errors / invocations within 0.005 (100k invocations).
    let (out, _) = run(r#"
name = "err"
duration = "100s"
[[functions]]
name = "f"
duration = { dist = "fixed", value = "10ms" }
error_rate = 0.1
[[traffic]]
function = "f"
load = { kind = "constant", rps = 1000 }
"#);
    let f = out.summary.function("f").unwrap();
    let r = f.errors as f64 / f.invocations as f64;
    assert!((r - 0.1).abs() < 0.005, "{r}");
    conservation(&out);
}

#[test]
fn poisson_arrival_counts_match_the_rate_integral() {
    // Poisson with a ramp 0 -> 1000/s over 100 s then flat for 100 s: expected count is
    // 50,000 + 100,000 = 150,000; a Poisson count is within 4 sigma (about 1,550).
    let (out, _) = run(r#"
name = "ramp"
duration = "200s"
[account]
concurrency_limit = 100000
[[functions]]
name = "f"
duration = { dist = "fixed", value = "1ms" }
[[traffic]]
function = "f"
load = { kind = "ramp", from = 0, to = 1000, over = "100s" }
"#);
    let n = out.summary.function("f").unwrap().requests as f64;
    assert!((n - 150_000.0).abs() < 1550.0, "{n}");
}

#[test]
fn trace_replay_reproduces_every_recorded_count() {
    // Each second of the trace gets exactly its recorded count (order statistics for Poisson
    // placement, even spacing for uniform), so per-bucket requests = the file, exactly.
    let text = std::fs::read_to_string("scenarios/traces/sample-per-second.csv").unwrap();
    let want: Vec<u64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    for arrivals in ["poisson", "uniform"] {
        let scenario = format!(
            "name = \"tr\"\nduration = \"5m\"\n[account]\nconcurrency_limit = 100000\n[[functions]]\nname = \"f\"\nduration = \"1ms\"\ninit = \"0s\"\n[[traffic]]\nfunction = \"f\"\narrivals = \"{arrivals}\"\nload = {{ kind = \"trace\", path = \"traces/sample-per-second.csv\" }}\n"
        );
        let (out, rows) = run(&scenario);
        let got: Vec<u64> = rows
            .iter()
            .filter(|r| r.function == Some(0))
            .map(|r| r.invocations)
            .collect();
        assert_eq!(got, want, "{arrivals}");
        assert_eq!(
            out.summary.function("f").unwrap().requests,
            want.iter().sum::<u64>()
        );
    }
}

#[test]
fn azure_trace_rows_are_per_minute_counts() {
    let scenario = "name = \"az\"\nduration = \"10m\"\n[account]\nconcurrency_limit = 100000\n[[functions]]\nname = \"f\"\nduration = \"1ms\"\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"trace\", path = \"traces/sample-azure.csv\", select = \"fn-timer\" }\n";
    let (out, _) = run(scenario);
    // fn-timer has 60 invocations in minutes 0 and 5 of the first ten.
    assert_eq!(out.summary.function("f").unwrap().requests, 120);
}

fn off_switch_with_retries(retry: &str) -> String {
    format!(
        "name = \"r\"\nduration = \"100s\"\n[[functions]]\nname = \"f\"\nduration = \"10ms\"\nreserved_concurrency = 0\n[[traffic]]\nfunction = \"f\"\narrivals = \"uniform\"\nload = {{ kind = \"constant\", rps = 10 }}\nretry = {retry}\n"
    )
}

#[test]
fn attempts_per_request_with_certain_throttling() {
    // With throttle probability p and k attempts, attempts per request = (1 - p^k)/(1 - p),
    // which is k for p = 1 (reserved_concurrency = 0). Legacy mode has no retry quota, so every
    // request makes exactly k attempts; requests still waiting for a retry at the end are in
    // flight, and conservation holds.
    for k in [1u64, 2, 5] {
        let (out, _) = run(&off_switch_with_retries(&format!(
            "{{ mode = \"legacy\", max_attempts = {k} }}"
        )));
        let f = out.summary.function("f").unwrap();
        conservation(&out);
        let done = f.failed;
        assert!(done > 900);
        // Attempts of finished requests: all k; of in-flight ones: fewer. Bound both ways.
        assert!(
            f.attempts >= done * k && f.attempts <= (done + f.in_flight) * k,
            "k={k}: {} attempts",
            f.attempts
        );
        assert_eq!(f.retries, f.attempts - f.requests);
        assert_eq!(f.throttles.reserved, f.attempts);
        assert_eq!(f.failed_throttled, f.failed, "every failure was a throttle");
    }
}

#[test]
fn standard_retry_quota_stops_a_retry_storm() {
    // Standard mode: 500 quota tokens, 5 per retry, refunds only on success. With every
    // attempt throttled the client makes exactly 100 retries in the whole run.
    let (out, _) = run(&off_switch_with_retries("{ mode = \"standard\" }"));
    let f = out.summary.function("f").unwrap();
    assert_eq!(f.retries, 100);
    assert_eq!(f.attempts, f.requests + 100);
    conservation(&out);
}

#[test]
fn retries_amplify_an_overload_and_add_latency() {
    // A function capped at 100 concurrent receives 20 % more than it can serve. Standard
    // retries turn each throttle into more attempts (more throttles than without retries),
    // and requests that eventually run see the backoff in their latency.
    let text = std::fs::read_to_string("scenarios/retry-storm.toml").unwrap();
    let (with, _) = run(&text);
    let s = load_str(
        &text,
        Path::new("r.toml"),
        &["traffic.api.retry.mode=none".parse().unwrap()],
    )
    .unwrap();
    let m = Model::build(&s, Path::new("scenarios"), Path::new("r.toml")).unwrap();
    let without = simulate(&m, &mut lambdasim::stats::NoRecorder);
    conservation(&with);
    let (w, n) = (
        with.summary.function("api").unwrap(),
        without.summary.function("api").unwrap(),
    );
    assert!(
        w.throttles.total as f64 > 1.5 * n.throttles.total as f64,
        "{} vs {}",
        w.throttles.total,
        n.throttles.total
    );
    assert!(w.retries > 0 && n.retries == 0);
    assert!(w.latency_ms.p99 > 2.0 * n.latency_ms.p99);
}

#[test]
fn a_fleet_of_clients_has_a_retry_quota_each() {
    // Every attempt is throttled (reserved_concurrency = 0), 10 requests/s for 100 s, 3
    // attempts: each client's 500-token quota pays for exactly 100 retries of 5 tokens.
    // 5 clients share ~1,000 requests (~200 each, far more than the 50 that drain a quota):
    // exactly 5 x 100 retries.
    let (out, _) = run(&off_switch_with_retries(
        "{ mode = \"standard\", clients = 5 }",
    ));
    let f = out.summary.function("f").unwrap();
    assert_eq!(f.retries, 500);
    conservation(&out);
    // 1,000 clients (~1 request each, 10 tokens at most): the quota never binds and every
    // finished request made both retries; in-flight ones made 0 to 2.
    let (out, _) = run(&off_switch_with_retries(
        "{ mode = \"standard\", clients = 1000 }",
    ));
    let f = out.summary.function("f").unwrap();
    let done = f.failed;
    assert!(f.retries >= 2 * done && f.retries <= 2 * (done + f.in_flight));
    // 20 clients: client i gets K_i ~ Binomial(1000, 1/20) requests and makes min(2 K_i, 100)
    // retries. The expectation of the sum, computed here from the binomial law, matches the
    // engine's split within 5 % (the sd of the sum is about 2 %; requests in flight at the end
    // shave a few retries).
    let (out, _) = run(&off_switch_with_retries(
        "{ mode = \"standard\", clients = 20 }",
    ));
    let f = out.summary.function("f").unwrap();
    let (n, p) = (f.requests as i64, 1.0 / 20.0);
    let mut pmf = (1.0f64 - p).powi(n as i32);
    let mut expected = 0.0;
    for k in 0..=n {
        expected += pmf * (2 * k).min(100) as f64;
        pmf *= (n - k) as f64 / (k + 1) as f64 * p / (1.0 - p);
    }
    expected *= 20.0;
    assert!(
        (f.retries as f64 / expected - 1.0).abs() < 0.05,
        "{} retries vs {expected:.0} expected",
        f.retries
    );
}
