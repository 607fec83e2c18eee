//! Stream polling against closed forms: an idle shard is polled once per second and a
//! `batching_window` gathers records, so a slow stream makes about one invocation per second
//! (or per window), not one per record.
//!
//! The closed form (renewal-reward; Poisson arrivals at rate λ on one shard, handler time d,
//! batches never full, window W >= 0): after the lane goes idle it polls every second; a poll
//! finds records with probability 1 - e^(-λ), so E[polls until one finds records] =
//! 1 / (1 - e^(-λ)). That poll opens a window W, then the batch runs for d; records that came
//! meanwhile (probability p = 1 - e^(-λ d)) are taken at once (after a new window), so a busy
//! spell has E[B] = 1 / (1 - p) batches. Invocations per second = E[B] / (E[polls] + E[B] (W + d)).

use assert_cmd::Command;

/// Invocations and arrivals (sums of timeseries.csv) of a one-shard stream.
fn run(rps: f64, window_s: u32, hours: u32) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        format!(
            r#"
name = "poll"
duration = "{hours}h"
seed = 21
[[functions]]
name = "f"
runtime = "python3.12"
duration = {{ dist = "fixed", value = "10ms" }}
[[traffic]]
function = "f"
invocation = "stream"
load = {{ kind = "constant", rps = {rps} }}
stream = {{ shards = 1, batch_size = 10000, batching_window = "{window_s}s" }}
"#
        ),
    )
    .unwrap();
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
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (f, inv, arr) = (col("function"), col("Invocations"), col("Arrivals"));
    let (mut i, mut a) = (0.0, 0.0);
    for l in lines {
        let c: Vec<&str> = l.split(',').collect();
        if c[f] == "f" {
            i += c[inv].parse::<f64>().unwrap();
            a += c[arr].parse::<f64>().unwrap();
        }
    }
    (i, a)
}

fn closed_form(rps: f64, window_s: f64, d: f64) -> f64 {
    let polls = 1.0 / (1.0 - (-rps).exp());
    let busy = 1.0 / (-rps * d).exp();
    busy / (polls + busy * (window_s + d))
}

#[test]
fn an_idle_shard_is_polled_once_per_second() {
    let (inv, arrivals) = run(5.0, 0, 2);
    let per_s = inv / 7200.0;
    let expected = closed_form(5.0, 0.0, 0.01);
    assert!((expected - 1.0334).abs() < 1e-3, "{expected}");
    assert!(
        (per_s - expected).abs() < 0.03 * expected,
        "{per_s} invocations/s, closed form {expected}"
    );
    // Not one invocation per record: about five records per batch.
    let per_batch = arrivals / inv;
    assert!(
        (4.5..5.5).contains(&per_batch),
        "{per_batch} records per batch"
    );
}

#[test]
fn a_batching_window_gathers_records() {
    let (inv, arrivals) = run(5.0, 2, 2);
    let per_s = inv / 7200.0;
    let expected = closed_form(5.0, 2.0, 0.01);
    assert!((expected - 0.33697).abs() < 1e-3, "{expected}");
    assert!(
        (per_s - expected).abs() < 0.03 * expected,
        "{per_s} invocations/s, closed form {expected}"
    );
    let per_batch = arrivals / inv;
    assert!(per_batch > 13.0, "{per_batch} records per batch");
}

#[test]
fn a_window_past_300s_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        r#"
name = "poll"
duration = "1m"
[[functions]]
name = "f"
duration = "10ms"
[[traffic]]
function = "f"
invocation = "stream"
load = { kind = "constant", rps = 5 }
stream = { batching_window = "301s" }
"#,
    )
    .unwrap();
    let out = Command::cargo_bin("lambdasim")
        .unwrap()
        .arg("check")
        .arg(&path)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(
        err.contains("traffic[0].stream.batching_window") && err.contains("300s"),
        "{err}"
    );
}
