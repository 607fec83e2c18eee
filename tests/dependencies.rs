//! Downstream limits (`[[dependencies]]`), checked against numbers computed without the engine:
//! Erlang-B for a dependency without a pool (a refused invocation holds no connection: a loss
//! system), reserved concurrency as a hard cap on connections, a pool trading errors for waits,
//! conservation of requests, and the validation of names.

mod common;

use common::{assert_run_conserved, erlang_b};
use lambdasim::model::Model;
use lambdasim::run::simulate;
use lambdasim::scenario::load_str;
use lambdasim::stats::{DependencySummary, NoRecorder, Summary};
use std::path::Path;

fn run(text: &str) -> Summary {
    let s = load_str(text, Path::new("deps.toml"), &[]).expect("valid scenario");
    let m = Model::build(&s, Path::new("."), Path::new("deps.toml")).unwrap();
    let out = simulate(&m, &mut NoRecorder);
    assert_run_conserved(&out.summary);
    out.summary
}

fn dep<'a>(s: &'a Summary, name: &str) -> &'a DependencySummary {
    &s.dependencies
        .iter()
        .find(|(n, _)| n == name)
        .expect("dependency in summary")
        .1
}

/// Poisson arrivals at `rps`, exponential handler durations of mean `mean_ms`, one function
/// using `db` with `max` connections; nothing else limits (account limit 10,000, no INIT, no
/// retries).
fn loss_system(rps: f64, mean_ms: u32, max: u32, secs: u32, seed: u64, extra: &str) -> String {
    format!(
        r#"
name = "erlang"
duration = "{secs}s"
warmup = "20s"
seed = {seed}
[account]
concurrency_limit = 10000
[[functions]]
name = "f"
init = "0s"
duration = {{ dist = "exponential", mean = "{mean_ms}ms" }}
uses = ["db"]
[[dependencies]]
name = "db"
max_connections = {max}
{extra}
[[traffic]]
function = "f"
load = {{ kind = "constant", rps = {rps} }}
retry = {{ mode = "none" }}
"#
    )
}

#[test]
fn without_a_pool_the_share_of_connection_errors_is_erlang_b() {
    // Erlang-B (insensitive to the holding-time distribution): 10 connections at 10 Erlang
    // block 21.46 %; 100 connections at 100 Erlang block 7.57 %. About 300,000 requests each;
    // the blocking estimate's standard error is below 0.2 points, tolerance 0.6 points.
    for (rps, mean_ms, max, secs) in [(100.0, 100, 10, 3000), (1000.0, 100, 100, 320)] {
        let s = run(&loss_system(rps, mean_ms, max, secs, 11, ""));
        let d = dep(&s, "db");
        let offered = rps * mean_ms as f64 / 1000.0;
        let expected = erlang_b(max, offered);
        assert!(
            (d.error_ratio - expected).abs() < 0.006,
            "{max} connections at {offered} Erlang: error ratio {} vs Erlang-B {expected}",
            d.error_ratio
        );
        assert_eq!(d.peak_connections, max);
        assert_eq!(d.waits, 0, "no pool: nobody waits");
        // Every connection error is a function error of the function, and nothing else is.
        let f = s.function("f").unwrap();
        assert_eq!(f.errors, d.connection_errors);
        // Every invocation asked once: it got a connection or failed (or is still running).
        assert!(d.acquired + d.connection_errors <= f.invocations);
        assert!(f.invocations - (d.acquired + d.connection_errors) <= f.in_flight + max as u64);
    }
}

#[test]
fn reserved_concurrency_at_most_max_connections_gives_no_connection_errors() {
    // 500 requests/s of ~100 ms need ~50 at once; the reservation caps it at 20 = the limit.
    // Errors, timeouts (the lognormal tail passes the 1 s timeout) and cold starts (INIT holds
    // no connection) all give their connection back. Two functions share a second database
    // whose connections their reservations (15 + 15) cannot exceed.
    let text = r#"
name = "protected"
duration = "120s"
seed = 3
[[functions]]
name = "api"
timeout = "1s"
init = "300ms"
error_rate = 0.1
duration = { dist = "lognormal", median = "80ms", p99 = "1500ms" }
reserved_concurrency = 20
uses = ["db", "shared"]
[[functions]]
name = "worker"
duration = { dist = "exponential", mean = "200ms" }
reserved_concurrency = 10
uses = ["shared"]
[[dependencies]]
name = "db"
max_connections = 20
[[dependencies]]
name = "shared"
max_connections = 30
[[traffic]]
function = "api"
load = { kind = "constant", rps = 500 }
[[traffic]]
function = "worker"
load = { kind = "constant", rps = 200 }
"#;
    let s = run(text);
    for name in ["db", "shared"] {
        let d = dep(&s, name);
        assert_eq!(d.connection_errors, 0, "{name}");
        assert!(d.peak_connections <= d.max_connections, "{name}");
        assert!(d.acquired > 1000, "{name}: the dependency was used");
    }
    assert_eq!(dep(&s, "db").peak_connections, 20, "the reservation binds");
    let api = s.function("api").unwrap();
    assert!(api.throttles.total > 0, "Lambda throttles instead");
    assert!(api.timed_out > 0 && api.errors > api.timed_out);
    // Without the reservation the same load overruns the database.
    let open = run(&text.replace("reserved_concurrency = 20\n", ""));
    assert!(dep(&open, "db").connection_errors > 1000);
}

#[test]
fn a_pool_turns_connection_errors_into_waits() {
    // 10 connections at 9 Erlang: without a pool 17.4 % fail (Erlang-B); with a 500 ms pool
    // most blocked invocations get a connection within a few mean holding times.
    let plain = run(&loss_system(90.0, 100, 10, 600, 5, ""));
    let pooled = run(&loss_system(
        90.0,
        100,
        10,
        600,
        5,
        "pool_timeout = \"500ms\"",
    ));
    let (a, b) = (dep(&plain, "db"), dep(&pooled, "db"));
    assert!((a.error_ratio - erlang_b(10, 9.0)).abs() < 0.01);
    assert!(b.waits > 1000, "waits {}", b.waits);
    assert!(
        b.connection_errors * 3 < a.connection_errors,
        "errors {} with a pool vs {} without",
        b.connection_errors,
        a.connection_errors
    );
    assert_eq!(b.connection_errors, b.wait_timeouts);
    assert!(
        b.wait_ms.max <= 500.0 + 1e-9,
        "no wait exceeds the pool timeout"
    );
    assert!(b.wait_ms.p50 > 0.0);
    // Waiting is billed: the pooled run's handler time includes the waits.
    let (fa, fb) = (plain.function("f").unwrap(), pooled.function("f").unwrap());
    assert!(fb.duration_ms.mean > fa.duration_ms.mean);
    assert!(fb.succeeded > fa.succeeded);
}

#[test]
fn unknown_and_duplicate_names_are_refused_with_their_key_and_line() {
    let base = loss_system(10.0, 100, 10, 60, 1, "");
    let err = load_str(
        &base.replace("uses = [\"db\"]", "uses = [\"db\", \"cache\"]"),
        Path::new("deps.toml"),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("deps.toml:"), "{err}");
    assert!(err.contains("functions[0].uses[1]"), "{err}");
    assert!(err.contains("no dependency named \"cache\""), "{err}");
    let dup = format!("{base}\n[[dependencies]]\nname = \"db\"\nmax_connections = 5\n");
    let err = load_str(&dup, Path::new("deps.toml"), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("dependencies[1].name"), "{err}");
    assert!(err.contains("duplicate"), "{err}");
    let zero = base.replace("max_connections = 10", "max_connections = 0");
    let err = load_str(&zero, Path::new("deps.toml"), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("dependencies[0].max_connections"), "{err}");
}
