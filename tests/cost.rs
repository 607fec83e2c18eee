//! Cost what-ifs: the break-even of provisioned concurrency, architecture price swaps and INIT
//! billing, checked against closed-form price arithmetic (docs/platform.md "Prices") and against
//! real reruns of the binary.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

const SCENARIO: &str = "scenarios/provisioned-pays-off.toml";

// docs/platform.md "Prices", x86_64, per GB-second.
const ON_DEMAND: f64 = 0.0000166667;
const CONFIGURED: f64 = 0.0000041667;
const PROV_DURATION: f64 = 0.0000097222;

fn run(dir: &Path, extra: &[&str]) -> Value {
    Command::cargo_bin("lambdasim")
        .unwrap()
        .args(["run", SCENARIO, "--no-charts", "--out"])
        .arg(dir)
        .args(extra)
        .assert()
        .success();
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn f64_at(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for p in path.split('.') {
        cur = &cur[p];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number"))
}

#[test]
fn break_even_is_sixty_percent_utilization() {
    let be = CONFIGURED / (ON_DEMAND - PROV_DURATION);
    assert!((be - 0.6).abs() < 1e-3, "{be}");
    let dir = tempfile::tempdir().unwrap();
    let s = run(dir.path(), &[]);
    for f in ["steady", "spiky"] {
        let w = &s["functions"][f]["cost_whatif"];
        assert!((f64_at(w, "provisioned_break_even_utilization") - be).abs() < 1e-9);
    }
}

#[test]
fn provisioned_pays_off_exactly_when_utilization_is_above_break_even() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(dir.path(), &[]);
    let window_s = f64_at(&s, "duration_s");
    let be = CONFIGURED / (ON_DEMAND - PROV_DURATION);
    let mut directions = Vec::new();
    for f in ["steady", "spiky"] {
        let fs = &s["functions"][f];
        let u = f64_at(fs, "provisioned.utilization_mean");
        let this = f64_at(fs, "cost_usd.total");
        let variants = fs["cost_whatif"]["provisioned"].as_array().unwrap();
        let p = variants.iter().find(|v| v["simulated"] == false).unwrap()
            ["provisioned_concurrency"]
            .as_f64()
            .unwrap();
        let none = variants
            .iter()
            .find(|v| v["provisioned_concurrency"] == 0)
            .expect("an on-demand-only variant");
        assert_eq!(none["simulated"], true);
        let on_demand_only = f64_at(none, "cost_usd");
        // Closed form, 1 GB functions: each provisioned environment costs CONFIGURED per
        // second and saves (ON_DEMAND - PROV_DURATION) per busy second.
        let predicted_saving = p * window_s * (u * (ON_DEMAND - PROV_DURATION) - CONFIGURED);
        let measured_saving = on_demand_only - this;
        assert_eq!(
            measured_saving > 0.0,
            u > be,
            "{f}: utilization {u:.3} vs break-even {be:.3}, saving {measured_saving:.4}"
        );
        // The re-simulation differs from the closed form only by INIT billing of the extra
        // cold starts: within 5 %.
        assert!(
            (measured_saving - predicted_saving).abs() <= 0.05 * predicted_saving.abs() + 0.002,
            "{f}: measured saving {measured_saving:.4} vs closed form {predicted_saving:.4}"
        );
        directions.push((f, u > be));
    }
    assert_eq!(
        directions,
        [("steady", true), ("spiky", false)],
        "the scenario shows both sides of the break-even"
    );
}

#[test]
fn arm64_price_swap_equals_a_real_arm64_run() {
    // The model's durations do not depend on the architecture, so pricing this run's billed
    // seconds at arm64 rates must give what an arm64 run costs.
    let dir = tempfile::tempdir().unwrap();
    let x86 = run(&dir.path().join("x86"), &[]);
    let arm = run(
        &dir.path().join("arm"),
        &[
            "--set",
            "functions.steady.architecture=arm64",
            "--set",
            "functions.spiky.architecture=arm64",
        ],
    );
    for f in ["steady", "spiky"] {
        let swap = f64_at(&x86["functions"][f]["cost_whatif"], "arm64");
        let real = f64_at(&arm["functions"][f], "cost_usd.total");
        assert!(
            (swap - real).abs() <= 1e-9 * real,
            "{f}: swap {swap} vs real {real}"
        );
        let back = f64_at(&arm["functions"][f]["cost_whatif"], "x86_64");
        let x = f64_at(&x86["functions"][f], "cost_usd.total");
        assert!((back - x).abs() <= 1e-9 * x, "{f}: {back} vs {x}");
        assert!(
            swap < 0.85 * x,
            "arm64 is about 20 % cheaper: {swap} vs {x}"
        );
    }
}

#[test]
fn init_billing_is_what_bill_init_false_saves() {
    let dir = tempfile::tempdir().unwrap();
    let billed = run(&dir.path().join("a"), &[]);
    let unbilled = run(&dir.path().join("b"), &["--set", "pricing.bill_init=false"]);
    for f in ["steady", "spiky"] {
        let init = f64_at(&billed["functions"][f]["cost_whatif"], "init_billed");
        assert!(init > 0.0, "{f}: cold starts bill INIT");
        let a = f64_at(&billed["functions"][f], "cost_usd.total");
        let b = f64_at(&unbilled["functions"][f], "cost_usd.total");
        assert!((a - b - init).abs() < 1e-12, "{f}: {a} - {b} != {init}");
        let w = &unbilled["functions"][f]["cost_whatif"];
        assert_eq!(f64_at(w, "init_billed"), 0.0);
        assert!((f64_at(w, "init_if_billed") - init).abs() < 1e-12);
    }
}

#[test]
fn whatifs_add_a_key_and_change_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let mut with = run(&dir.path().join("a"), &[]);
    let without = run(&dir.path().join("b"), &["--no-whatif"]);
    for f in ["steady", "spiky"] {
        assert!(without["functions"][f].get("cost_whatif").is_none());
        with["functions"][f]
            .as_object_mut()
            .unwrap()
            .remove("cost_whatif")
            .expect("cost_whatif present by default");
    }
    assert_eq!(with, without);
}

#[test]
fn the_sweep_crosses_over_at_the_break_even_utilization() {
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("lambdasim")
        .unwrap()
        .args([
            "sweep",
            "scenarios/sweep-provisioned-pays-off.toml",
            "--replications",
            "1",
            "--no-charts",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header = rows.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (rps, prov) = (
        col("traffic.steady.load.rps"),
        col("functions.steady.provisioned_concurrency"),
    );
    let (cost, util) = (
        col("functions.steady.cost_usd.total"),
        col("functions.steady.provisioned.utilization_mean"),
    );
    // (rps) -> (cost without, cost with 40, utilization with 40)
    let mut by_rps: std::collections::BTreeMap<u64, (f64, f64, f64)> = Default::default();
    for r in rows.records() {
        let r = r.unwrap();
        let x: f64 = r[rps].parse().unwrap();
        let e = by_rps.entry(x as u64).or_default();
        if r[prov].parse::<f64>().unwrap() == 0.0 {
            e.0 = r[cost].parse().unwrap();
        } else {
            e.1 = r[cost].parse().unwrap();
            e.2 = r[util].parse().unwrap();
        }
    }
    assert_eq!(by_rps.len(), 9);
    let be = CONFIGURED / (ON_DEMAND - PROV_DURATION);
    let mut seen = (false, false);
    for (x, (without, with, u)) in &by_rps {
        // Close to the break-even INIT billing of the extra cold starts can tip the balance.
        if (u - be).abs() < 0.03 {
            continue;
        }
        assert_eq!(
            with < without,
            *u > be,
            "{x} requests/s: utilization {u:.3}, {with:.4} vs {without:.4}"
        );
        seen = (seen.0 || *u < be, seen.1 || *u > be);
    }
    assert_eq!(
        seen,
        (true, true),
        "the sweep covers both sides of the break-even"
    );
}

/// A what-if variant is exactly the run with that setting: its throughput, throttles (by
/// reason), p99 and cost equal a separate `run --set functions.render.provisioned_concurrency=N`
/// with the same seed, and its cost per million succeeded requests is cost / succeeded x 1e6.
#[test]
fn whatif_throughput_equals_a_separate_run_with_that_setting() {
    let scenario = "scenarios/burst-staircase.toml";
    let go = |dir: &Path, extra: &[&str]| -> Value {
        Command::cargo_bin("lambdasim")
            .unwrap()
            .args(["run", scenario, "--no-charts", "--out"])
            .arg(dir)
            .args(extra)
            .assert()
            .success();
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let s = go(&dir.path().join("base"), &[]);
    let variants = s["functions"]["render"]["cost_whatif"]["provisioned"]
        .as_array()
        .unwrap()
        .clone();
    let simulated: Vec<&Value> = variants.iter().filter(|v| v["simulated"] == true).collect();
    assert!(!simulated.is_empty());
    // The run itself throttles (the burst staircase): the what-if must show a difference.
    assert!(f64_at(&s, "functions.render.throttles.total") > 0.0);
    for v in simulated {
        let n = v["provisioned_concurrency"].as_u64().unwrap();
        let set = format!("functions.render.provisioned_concurrency={n}");
        let r = go(
            &dir.path().join(format!("p{n}")),
            &["--no-whatif", "--set", &set],
        );
        let f = &r["functions"]["render"];
        assert_eq!(v["succeeded"], f["succeeded"], "provisioned {n}");
        assert_eq!(v["failed"], f["failed"], "provisioned {n}");
        assert_eq!(v["throttles"], f["throttles"], "provisioned {n}");
        assert_eq!(
            v["latency_p99_ms"], f["latency_ms"]["p99"],
            "provisioned {n}"
        );
        assert_eq!(v["cost_usd"], f["cost_usd"]["total"], "provisioned {n}");
        let per_m = f64_at(f, "cost_usd.total") / f64_at(f, "succeeded") * 1e6;
        assert!((f64_at(v, "cost_per_million_succeeded_usd") - per_m).abs() < 1e-9 * per_m);
    }
}
