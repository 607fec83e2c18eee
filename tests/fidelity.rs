//! Fidelity of the execution environment and of edge semantics, each checked against a number
//! computed independently of the engine: the reset of an environment after a timeout, the INIT
//! time limit, memory-scaled CPU, and the edges of reserved concurrency, event age and
//! provisioned concurrency.

mod common;

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
fn a_timeout_resets_the_environment_in_place_and_spends_no_scaling_token() {
    // A 500-burst region (legacy burst, step refill of 500 at each whole minute) at 1,500
    // requests/s of lognormal durations (median 1 s, p99 3 s) against the default 3 s timeout:
    // demand (1,500 x mean 1.27 s ~ 1,900) is far above the burst quota, so during the first
    // minute every one of the 500 environments the quota grants must stay busy. A timed-out
    // environment is reset in place (its next invocation re-runs INIT), so no environment is
    // lost. Independent figure: the quota itself, 500. (Discarding timed-out environments made
    // the busy count decay to about 313 within the minute, as their replacements found no
    // token.)
    let (out, rows) = run(r#"
name = "reset"
duration = "59s"
[account]
region = "sa-east-1"
concurrency_limit = 10000
scaling = "burst"
[[functions]]
name = "f"
duration = { dist = "lognormal", median = "1s", p99 = "3s" }
[[traffic]]
function = "f"
load = { kind = "constant", rps = 1500 }
"#);
    let f = out.summary.function("f").unwrap();
    // Tokens granted in the first minute: exactly the quota.
    assert_eq!(f.environments_created, 500);
    let late: Vec<&BucketRow> = rows
        .iter()
        .filter(|r| r.function == Some(0) && r.start.0 >= 10_000_000)
        .collect();
    assert!(late.len() >= 45);
    for r in &late {
        // Tolerance: an environment is free only between a completion and the next arrival
        // (1,500/s), a few milliseconds per completion.
        assert!(
            r.concurrency_mean >= 0.98 * 500.0,
            "busy environments at {}: {} (want ~500)",
            r.start,
            r.concurrency_mean
        );
        assert_eq!(r.concurrency_max, 500, "at {}", r.start);
    }
    // Every timeout is followed by one INIT on the same environment: cold starts beyond the
    // 500 new environments are the timeouts, less those whose environment had no next
    // invocation before the end (at most the 500 environments).
    assert!(f.timed_out > 100, "timeouts: {}", f.timed_out);
    let reinits = f.cold_starts - f.environments_created;
    assert!(
        reinits <= f.timed_out && f.timed_out - reinits <= 500,
        "re-INITs {reinits} vs timeouts {}",
        f.timed_out
    );
    common::assert_run_conserved(&out.summary);
}

fn init_limit(init: &str) -> String {
    format!(
        r#"
name = "init-limit"
duration = "60s"
[[functions]]
name = "f"
timeout = "3s"
init = "{init}"
duration = "100ms"
[[traffic]]
function = "f"
arrivals = "uniform"
load = {{ kind = "constant", rps = 1 }}
"#
    )
}

#[test]
fn an_init_past_the_10s_limit_reruns_inside_the_invocation_and_times_out() {
    // A 15 s INIT is cut at the 10 s limit, then runs again inside the first invocation under
    // the 3 s timeout: every cold start fails after 10 + 3 = 13 s, and the reset environment's
    // next invocation re-runs INIT under the timeout and fails after 3 s. Closed form: at one
    // request per second, an environment's first use holds it 13 s, so exactly 13 environments
    // are created; no request succeeds. (Without the limit: 16 environments, all succeed.)
    let (out, _) = run(&init_limit("15s"));
    let f = out.summary.function("f").unwrap();
    assert_eq!(f.succeeded, 0);
    assert_eq!(f.timed_out, f.invocations - f.in_flight);
    assert_eq!(f.environments_created, 13);
    assert_eq!(f.cold_starts, f.invocations, "every invocation runs INIT");
    // Billed per invocation: the 3 s under the timeout (INIT of the failed first phase is
    // billed too, since `bill_init`): first uses 13 s, reuses 3 s.
    let billed_s = f.duration_ms.mean / 1000.0;
    assert!((3.0..=13.0).contains(&billed_s), "{billed_s}");
    common::assert_run_conserved(&out.summary);

    // Under the limit: an 8 s INIT completes before the invocation and all succeed; each
    // first use holds an environment 8.1 s, so 9 environments (ceil(8.1)).
    let (out, _) = run(&init_limit("8s"));
    let f = out.summary.function("f").unwrap();
    assert_eq!(f.succeeded, f.requests - f.in_flight);
    assert_eq!(f.timed_out, 0);
    assert_eq!(f.environments_created, 9);
}

/// Mean of a lognormal given its median and p99: median x exp(sigma^2 / 2), sigma =
/// ln(p99 / median) / z(0.99).
fn lognormal_mean(median_ms: f64, p99_ms: f64) -> f64 {
    let sigma = (p99_ms / median_ms).ln() / 2.326_347_874;
    median_ms * (sigma * sigma / 2.0).exp()
}

/// The closed form of the issue, written out independently of the engine: vCPU(m) =
/// min(m / 1769, 6); the CPU-bound share scales by min(vCPU(ref), threads) / min(vCPU(m),
/// threads).
fn closed_form_factor(mem: f64, reference: f64, threads: f64, cpu_bound: f64) -> f64 {
    let v = |m: f64| (m / 1769.0).min(6.0);
    (1.0 - cpu_bound) + cpu_bound * v(reference).min(threads) / v(mem).min(threads)
}

fn memory_run(mem: u32, threads: u32, cpu_bound: f64) -> f64 {
    let (out, _) = run(&format!(
        r#"
name = "mem"
duration = "600s"
[[functions]]
name = "f"
memory_mb = {mem}
timeout = "30s"
init = "0ms"
duration = {{ dist = "lognormal", median = "100ms", p99 = "300ms" }}
cpu_bound = {cpu_bound}
duration_reference_mb = 1769
threads = {threads}
[[traffic]]
function = "f"
load = {{ kind = "constant", rps = 50 }}
"#
    ));
    let f = out.summary.function("f").unwrap();
    assert!(f.invocations > 25_000);
    f.duration_ms.mean
}

#[test]
fn memory_scales_the_cpu_bound_share_of_duration_as_the_closed_form() {
    // Mean billed duration (30,000 lognormal samples: standard error 0.3 %; billing rounds each
    // up to the next ms, +0.5 ms on average) against the closed form at 512 MB (1 thread),
    // 3,538 MB (2 threads: 2 vCPUs used) and 10,240 MB (8 threads: capped at 6 vCPUs).
    let base = lognormal_mean(100.0, 300.0);
    for (mem, threads) in [(512u32, 1u32), (3538, 2), (10240, 8), (3538, 1)] {
        let want = base * closed_form_factor(mem as f64, 1769.0, threads as f64, 0.8) + 0.5;
        let got = memory_run(mem, threads, 0.8);
        assert!(
            (got / want - 1.0).abs() < 0.02,
            "{mem} MB, {threads} threads: mean {got:.2} ms, closed form {want:.2} ms"
        );
    }
    // cpu_bound = 0 (the default): memory changes no duration.
    let got = memory_run(512, 1, 0.0);
    assert!((got / (base + 0.5) - 1.0).abs() < 0.02, "{got}");
}

#[test]
fn memory_keys_are_bounded() {
    for (key, value) in [
        ("cpu_bound", "1.5"),
        ("cpu_bound", "nan"),
        ("duration_reference_mb", "64"),
        ("threads", "0"),
        ("threads", "5000"),
    ] {
        let toml = format!(
            "name = \"x\"\nduration = \"60s\"\n[[functions]]\nname = \"f\"\nduration = \"1s\"\n{key} = {value}\n"
        );
        let e = load_str(&toml, Path::new("x.toml"), &[]).unwrap_err();
        assert!(e.to_string().contains(key), "{key} = {value}: {e}");
    }
}

#[test]
fn async_events_to_a_switched_off_function_leave_at_maximum_event_age() {
    // Reserved concurrency 0 throttles every try; Lambda keeps a throttled async event for
    // maximum_event_age (60 s here), then sends it to the DLQ. Throttle retries come at
    // 1, 3, 7, 15, 31 s (doubling delays); the next would be at 63 s, after the maximum age,
    // so the event leaves at 60 s itself, not at its last try (31 s). Closed form: 10 events/s
    // evenly spaced; the DLQ receives nothing before 60 s and then 10 per second; the events
    // of the last 60 s are still waiting at the end.
    let (out, rows) = run(r#"
name = "off"
duration = "300s"
[[functions]]
name = "f"
duration = "100ms"
reserved_concurrency = 0
[[traffic]]
function = "f"
invocation = "async"
arrivals = "uniform"
load = { kind = "constant", rps = 10 }
async = { maximum_event_age = "60s", dlq = true }
"#);
    let f = out.summary.function("f").unwrap();
    assert_eq!(f.invocations, 0);
    assert_eq!(f.throttles.reserved, f.throttles.total);
    assert!((f.dlq as i64 - 2400).abs() <= 10, "dlq {}", f.dlq);
    assert!(
        (f.in_flight as i64 - 600).abs() <= 10,
        "in flight {}",
        f.in_flight
    );
    for r in rows.iter().filter(|r| r.function == Some(0)) {
        if r.start.0 < 60_000_000 {
            assert_eq!(r.dead_letters, 0, "at {}", r.start);
        } else {
            assert!(
                (9..=11).contains(&r.dead_letters),
                "at {}: {}",
                r.start,
                r.dead_letters
            );
        }
    }
    common::assert_run_conserved(&out.summary);
}

#[test]
fn event_source_mappings_do_not_invoke_a_switched_off_function() {
    // Reserved concurrency 0: SQS and stream pollers do not invoke the function, so there is
    // no invocation and no throttle; every message and record waits (in flight at the end).
    for (kind, extra) in [("sqs", ""), ("stream", "stream = { shards = 2 }\n")] {
        let (out, _) = run(&format!(
            r#"
name = "off"
duration = "120s"
[[functions]]
name = "f"
duration = "100ms"
reserved_concurrency = 0
[[traffic]]
function = "f"
invocation = "{kind}"
arrivals = "uniform"
load = {{ kind = "constant", rps = 10 }}
{extra}"#
        ));
        let f = out.summary.function("f").unwrap();
        assert_eq!(f.invocations, 0, "{kind}");
        assert_eq!(f.throttles.total, 0, "{kind}");
        assert_eq!(f.in_flight, f.requests, "{kind}");
        assert!(
            (f.requests as i64 - 1200).abs() <= 1,
            "{kind}: {}",
            f.requests
        );
        common::assert_run_conserved(&out.summary);
    }
}

#[test]
fn provisioned_concurrency_must_leave_the_unreserved_minimum() {
    // Account limit 1,000, no reservations: provisioned concurrency of unreserved functions may
    // take at most 1,000 - 100 = 900.
    let toml = |p: u32| {
        format!(
            "name = \"p\"\nduration = \"60s\"\n[account]\nconcurrency_limit = 1000\n[[functions]]\nname = \"a\"\nduration = \"1s\"\nprovisioned_concurrency = {p}\n"
        )
    };
    assert!(load_str(&toml(900), Path::new("p.toml"), &[]).is_ok());
    let e = load_str(&toml(901), Path::new("p.toml"), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("provisioned_concurrency"), "{e}");
    assert!(e.contains("unreserved_minimum"), "{e}");
}
