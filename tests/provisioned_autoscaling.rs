//! Provisioned concurrency that changes over time (engine/provisioned.rs).
//!
//! Laws checked against numbers computed here, not by the engine:
//! - Target tracking acts on one-minute datapoints: after a step of load on a minute boundary at
//!   T, the first scale-out comes no earlier than T + scale_out_datapoints x 60 s, and after the
//!   load falls at T', the first scale-in no earlier than T' + scale_in_datapoints x 60 s.
//! - The configured part of the provisioned cost is the time integral of the configured value
//!   x memory x the configured price (docs/platform.md "Prices"): a schedule's cost is the
//!   hand sum of its steps.
//! - Conservation: every request ends in exactly one of the summary's outcomes.

mod common;

use assert_cmd::Command;
use common::{assert_run_conserved, write};
use lambdasim::stats::BucketRow;

// docs/platform.md "Prices", x86_64, provisioned concurrency configured, per GB-second.
const CONFIGURED: f64 = 0.0000041667;

fn rows_of(path: &std::path::Path) -> (lambdasim::RunOutput, Vec<BucketRow>) {
    let (_, model) = lambdasim::run::load_model(path, &[], None).expect("scenario loads");
    let mut rows: Vec<BucketRow> = Vec::new();
    let out = lambdasim::simulate(&model, &mut rows);
    (out, rows)
}

/// A step from 50 to 500 requests/s at 10m and back to 50 at 30m, 100 ms each: about 5 busy
/// environments, then 50. Buckets of 10 s.
fn step(out: u32, inn: u32) -> String {
    format!(
        r#"
name = "step"
duration = "60m"
bucket = "10s"
seed = 7

[account]
concurrency_limit = 1000

[[functions]]
name = "api"
runtime = "python3.12"
duration = "100ms"
provisioned_concurrency = 20
provisioned_autoscaling = {{ target = 0.7, min = 10, max = 500, scale_out_datapoints = {out}, scale_in_datapoints = {inn} }}

[[traffic]]
function = "api"
load = {{ kind = "steps", steps = [{{ at = "0s", rps = 50 }}, {{ at = "10m", rps = 500 }}, {{ at = "30m", rps = 50 }}] }}
"#
    )
}

/// Start (s) of the first bucket of function 0 from `after` (s) where the configured value
/// is above (`up`) or below `from`.
fn first_change(rows: &[BucketRow], after: f64, from: u32, up: bool) -> Option<f64> {
    rows.iter()
        .filter(|r| r.function == Some(0) && r.start.as_secs_f64() >= after)
        .find(|r| {
            if up {
                r.provisioned > from
            } else {
                r.provisioned < from
            }
        })
        .map(|r| r.start.as_secs_f64())
}

#[test]
fn scale_out_and_scale_in_wait_for_their_datapoints() {
    let dir = tempfile::tempdir().unwrap();
    for (out, inn) in [(3, 15), (5, 12)] {
        let p = write(dir.path(), "step.toml", &step(out, inn));
        let (o, rows) = rows_of(&p);
        assert_run_conserved(&o.summary);
        // Before the step: 5 busy of 20 (25 %) is below the scale-in threshold (63 %), but
        // 10 datapoints are fewer than `inn`, and the step at 600 s ends the run of low ones.
        // Scale-out: from minute 10 every provisioned environment is busy (utilization 1 >
        // 0.7), so the first action is at 600 + out x 60.
        let t_out = first_change(&rows, 0.0, 20, true).expect("a scale-out");
        let law = 600.0 + 60.0 * out as f64;
        assert!(
            t_out >= law,
            "out={out}: scaled out at {t_out} s, before {law} s"
        );
        // It acts at the minute its last datapoint ends: within one bucket of the law.
        assert!(
            t_out < law + 10.0,
            "out={out}: scaled out late, at {t_out} s"
        );
        // The first action sets ceil(20 x utilization / target). The provisioned pool is a
        // loss system (what does not fit spills over): 50 Erlang offered to 20 environments
        // keep them busy A (1 - B(20, A)) / 20 of the time (Erlang-B), about 0.976.
        let a = 50.0;
        let u = a * (1.0 - common::erlang_b(20, a)) / 20.0;
        let first = rows
            .iter()
            .find(|r| r.function == Some(0) && r.start.as_secs_f64() == t_out)
            .unwrap()
            .provisioned;
        let want = 20.0 * u / 0.7;
        assert!(
            (first as f64 - want).abs() <= 1.0,
            "first scale-out to {first}, Erlang-B says ceil({want:.2})"
        );
        // The peak it reaches covers 50 busy at the target: >= 50 / 0.7.
        let peak = rows
            .iter()
            .filter(|r| r.function == Some(0))
            .map(|r| r.provisioned)
            .max()
            .unwrap();
        assert!(peak as f64 >= 50.0 / 0.7, "peak {peak}");
        // Scale-in: the load falls at 1800 s; no action before `inn` low datapoints.
        let t_in = first_change(&rows, 1800.0, peak, false).expect("a scale-in");
        let law_in = 1800.0 + 60.0 * inn as f64;
        assert!(
            t_in >= law_in,
            "inn={inn}: scaled in at {t_in} s, before {law_in} s"
        );
        assert!(
            t_in <= law_in + 10.0,
            "inn={inn}: scaled in late, at {t_in} s"
        );
    }
}

#[test]
fn a_schedule_costs_the_integral_of_what_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    // 10 configured for 10 minutes, 50 for 30, 0 for the last 20; 2 GB; the duration price
    // on provisioned environments set to 0 so the provisioned cost is the configured part.
    let text = r#"
name = "schedule"
duration = "60m"
bucket = "1m"
seed = 3

[account]
concurrency_limit = 1000

[[functions]]
name = "api"
runtime = "python3.12"
memory_mb = 2048
duration = "100ms"
provisioned_concurrency = 10
provisioned_schedule = [{ at = "10m", concurrency = 50 }, { at = "40m", concurrency = 0 }]

[[traffic]]
function = "api"
load = { kind = "constant", rps = 100 }

[pricing]
provisioned_duration_gb_second_x86_64 = 0.0
"#;
    let p = write(dir.path(), "schedule.toml", text);
    let (o, rows) = rows_of(&p);
    assert_run_conserved(&o.summary);
    let hand = (10.0 * 600.0 + 50.0 * 1800.0 + 0.0 * 1200.0) * 2.0 * CONFIGURED;
    let got = o.summary.functions[0].1.cost_usd.provisioned;
    assert!(
        (got - hand).abs() < 1e-9 * hand.max(1.0),
        "provisioned cost {got} vs hand integral {hand}"
    );
    // The column follows the schedule bucket by bucket (a change on a bucket boundary
    // belongs to the bucket it starts).
    for r in rows.iter().filter(|r| r.function == Some(0)) {
        let t = r.start.as_secs_f64();
        let want = if t < 600.0 {
            10
        } else if t <= 2400.0 {
            // At 2400 s too: the maximum of a bucket includes its first instant.
            50
        } else {
            0
        };
        assert_eq!(r.provisioned, want, "configured at {t} s");
    }
    // With nothing configured after 40m, nothing runs on provisioned environments; before,
    // 10 busy of 50 at most (100 rps x 100 ms).
    let late = rows
        .iter()
        .filter(|r| r.function == Some(0) && r.start.as_secs_f64() > 2400.0);
    for r in late {
        assert_eq!(r.provisioned_max, 0, "provisioned busy at {:?}", r.start);
    }
}

#[test]
fn validation_names_the_key_and_refuses_what_the_platform_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let base = |extra: &str| {
        format!(
            r#"name = "v"
duration = "10m"

[account]
concurrency_limit = 1000

[[functions]]
name = "api"
duration = "100ms"
{extra}

[[traffic]]
function = "api"
load = {{ kind = "constant", rps = 10 }}
"#
        )
    };
    for (extra, key, words) in [
        (
            "provisioned_autoscaling = { target = 0.7, min = 20, max = 10 }",
            "functions[0].provisioned_autoscaling.min",
            "min must be <= max",
        ),
        (
            "provisioned_autoscaling = { target = 1.5, min = 1, max = 10 }",
            "functions[0].provisioned_autoscaling.target",
            "0.1..=0.9",
        ),
        (
            "provisioned_schedule = [{ at = \"5m\", concurrency = 5 }, { at = \"2m\", concurrency = 1 }]",
            "functions[0].provisioned_schedule[1].at",
            "sorted",
        ),
        (
            "provisioned_schedule = [{ at = \"20m\", concurrency = 5 }]",
            "functions[0].provisioned_schedule[0].at",
            "within the run",
        ),
        (
            "reserved_concurrency = 50\nprovisioned_autoscaling = { target = 0.7, min = 1, max = 60 }",
            "functions[0].provisioned_autoscaling.max",
            "provisioned must be <= reserved",
        ),
        (
            "provisioned_schedule = [{ at = \"1m\", concurrency = 950 }]",
            "functions[0].provisioned_concurrency",
            "unreserved_minimum",
        ),
        (
            "provisioned_autoscaling = { target = 0.7, min = 1, max = 10, bogus = 1 }",
            "provisioned_autoscaling",
            "bogus",
        ),
    ] {
        let p = write(dir.path(), "v.toml", &base(extra));
        let out = Command::cargo_bin("lambdasim")
            .unwrap()
            .args(["check"])
            .arg(&p)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra}: {err}");
        assert!(err.contains("v.toml"), "{extra}: names the file: {err}");
        assert!(err.contains(key), "{extra}: names {key}: {err}");
        assert!(err.contains(words), "{extra}: says {words:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
}

/// The what-ifs of an auto-scaled function compare it with fixed settings for the same
/// traffic: each fixed variant equals a separate run of the scenario with that fixed
/// provisioned concurrency and no auto scaling (same seed), and this run is named "autoscaling".
#[test]
fn autoscaling_what_ifs_equal_separate_fixed_runs() {
    let d = tempfile::tempdir().unwrap();
    let text = |prov: &str| {
        format!(
            "name = \"w\"\nduration = \"20m\"\nbucket = \"10s\"\nseed = 3\n[account]\nconcurrency_limit = 1000\n\
             [[functions]]\nname = \"api\"\nduration = \"150ms\"\ninit = \"1s\"\n{prov}\n\
             [[traffic]]\nfunction = \"api\"\nload = {{ kind = \"steps\", steps = [{{ at = \"0s\", rps = 20 }}, {{ at = \"5m\", rps = 200 }}] }}\n"
        )
    };
    let run = |name: &str, toml: String| -> serde_json::Value {
        let p = write(d.path(), &format!("{name}.toml"), &toml);
        let out = d.path().join(name);
        Command::cargo_bin("lambdasim")
            .unwrap()
            .args(["run", "--no-charts", "--quiet", "--out"])
            .arg(&out)
            .arg(&p)
            .assert()
            .success();
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
    };
    let auto = run(
        "auto",
        text("provisioned_concurrency = 5\nprovisioned_autoscaling = { target = 0.7, min = 5, max = 100 }"),
    );
    let variants = auto["functions"]["api"]["cost_whatif"]["provisioned"]
        .as_array()
        .unwrap()
        .clone();
    let this: Vec<_> = variants
        .iter()
        .filter(|v| v["simulated"] == false)
        .collect();
    assert_eq!(this.len(), 1);
    assert_eq!(this[0]["lever"], "autoscaling");
    let fixed: Vec<_> = variants.iter().filter(|v| v["simulated"] == true).collect();
    assert!(
        fixed.iter().any(|v| v["provisioned_concurrency"] == 0),
        "{variants:?}"
    );
    for v in fixed {
        assert_eq!(v["lever"], "provisioned");
        let n = v["provisioned_concurrency"].as_u64().unwrap();
        let s = run(
            &format!("fixed{n}"),
            text(&format!("provisioned_concurrency = {n}")),
        );
        let f = &s["functions"]["api"];
        for key in ["succeeded", "failed", "cold_starts"] {
            assert_eq!(v[key], f[key], "{key} at provisioned {n}");
        }
        let cost = f["cost_usd"]["total"].as_f64().unwrap();
        let got = v["cost_usd"].as_f64().unwrap();
        assert!(
            (got - cost).abs() <= 1e-9 * cost.max(1.0),
            "cost at {n}: {got} vs {cost}"
        );
    }
}
