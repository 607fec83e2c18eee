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
