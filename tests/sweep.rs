//! `lambdasim sweep` and `lambdasim merge`: per-point results equal single runs, independence of
//! `--jobs` and of sharding (byte for byte), clear errors for bad sweep files, invalid points
//! recorded without losing the others, and coverage of the 95% confidence intervals.

mod common;

use assert_cmd::Command;
use common::{erlang_b, write, SMALL};
use lambdasim::app::load_model;
use lambdasim::rng::replication_seed;
use lambdasim::stats::NoRecorder;
use lambdasim::sweep::{self, SweepOptions};
use std::path::{Path, PathBuf};

/// An Erlang-B loss system: c = 10 always-warm environments (provisioned = reserved = c, so no
/// INIT), exponential durations of mean 100 ms, Poisson arrivals, no retries and no rate limit.
/// The throttled fraction of attempts is B(c, a) with a = rps x 0.1 s.
const ERLANG: &str = r#"
name = "erlang-b"
duration = "300s"
warmup = "20s"
seed = 1

[account]
concurrency_limit = 1000
rps_limit_factor = 0

[[functions]]
name = "f"
runtime = "python3.12"
memory_mb = 128
timeout = "900s"
duration = { dist = "exponential", mean = "100ms" }
reserved_concurrency = 10
provisioned_concurrency = 10

[[traffic]]
function = "f"
invocation = "sync"
arrivals = "poisson"
load = { kind = "constant", rps = 80 }
retry = { mode = "none" }
"#;

const GRID: &str = r#"
scenario = "small.toml"
replications = 3
metrics = ["functions.api.throttle_ratio", "functions.api.latency_ms.p99", "account.cold_starts"]

[[vary]]
key = "functions.api.reserved_concurrency"
values = [20, 40, 80]

[[vary]]
key = "functions.api.memory_mb"
range = { from = 512, to = 1024, step = 512 }
"#;

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let sweep = write(dir.path(), "grid.toml", GRID);
    (dir, sweep)
}

fn lambdasim() -> Command {
    Command::cargo_bin("lambdasim").unwrap()
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for name in [
        "results.csv",
        "results_summary.csv",
        "manifest.json",
        "report.html",
    ] {
        out.push((name.to_string(), std::fs::read(dir.join(name)).unwrap()));
    }
    let charts = dir.join("charts");
    let mut names: Vec<_> = std::fs::read_dir(&charts)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    names.sort();
    for n in names {
        out.push((
            format!("charts/{}", n.to_string_lossy()),
            std::fs::read(charts.join(&n)).unwrap(),
        ));
    }
    out
}

fn assert_same(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    assert_eq!(
        fa.iter().map(|f| &f.0).collect::<Vec<_>>(),
        fb.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{name} differs between {a:?} and {b:?}");
    }
}

#[test]
fn every_point_equals_a_single_run_with_its_overrides_and_seed() {
    let (dir, sweep_file) = setup();
    let report = sweep::run(&SweepOptions {
        sweep: sweep_file.clone(),
        out: Some(dir.path().join("out")),
        jobs: Some(2),
        charts: false,
        ..Default::default()
    })
    .unwrap();
    let res = &report.results;
    assert_eq!(res.rows.len(), 3 * 2 * 3);
    assert!(report.failed_points.is_empty());
    let s = sweep::load(&sweep_file).unwrap();
    for row in &res.rows {
        assert_eq!(row.seed, replication_seed(5, row.replication));
        let overrides = s.overrides(row.point);
        let (_, model) =
            load_model(&dir.path().join("small.toml"), &overrides, Some(row.seed)).unwrap();
        let single = lambdasim::simulate(&model, &mut NoRecorder).summary;
        for (k, v) in res.metrics.iter().zip(&row.metrics) {
            assert_eq!(single.metric(k), *v, "point {} metric {k}", row.point);
        }
    }
    // Row-major grid: the first vary entry changes slowest.
    let p4 = &res.rows.iter().find(|r| r.point == 4).unwrap().values;
    assert_eq!(p4, &vec!["80".to_string(), "512".to_string()]);
    // The CLI prints the same numbers as `run --set ... --seed ...`.
    let out = lambdasim()
        .args(["run", "--format", "json", "--no-charts", "--seed"])
        .arg(res.rows[10].seed.to_string())
        .args(["--set", "functions.api.reserved_concurrency=40"])
        .args(["--set", "functions.api.memory_mb=1024"])
        .arg("--out")
        .arg(dir.path().join("single"))
        .arg(dir.path().join("small.toml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &res.rows[10];
    assert_eq!((row.point, row.replication), (3, 1));
    assert_eq!(
        json["functions"]["api"]["throttle_ratio"].as_f64(),
        row.metrics[0]
    );
}

#[test]
fn results_do_not_depend_on_jobs_or_sharding() {
    let (dir, sweep_file) = setup();
    let d = dir.path();
    let run = |args: &[&str], out: &str| {
        lambdasim()
            .arg("sweep")
            .arg(&sweep_file)
            .arg("--out")
            .arg(d.join(out))
            .args(args)
            .assert()
            .success();
    };
    run(&["--jobs", "1"], "j1");
    run(&["--jobs", "2"], "j2");
    assert_same(&d.join("j1"), &d.join("j2"));
    // 6 points over 4 shards: shards of 2, 2, 1 and 1 points.
    for k in 1..=4 {
        run(
            &["--shard", &format!("{k}/4"), "--jobs", "1"],
            &format!("s{k}"),
        );
    }
    let shard2 = std::fs::read_to_string(d.join("s2/results.csv")).unwrap();
    assert_eq!(shard2.lines().count(), 1 + 2 * 3);
    assert!(!d.join("s2/results_summary.csv").exists());
    // Merge in any order.
    lambdasim()
        .arg("merge")
        .args(["s3", "s1", "s4", "s2"].map(|s| d.join(s)))
        .arg("--out")
        .arg(d.join("merged"))
        .assert()
        .success();
    assert_same(&d.join("j2"), &d.join("merged"));
    // A missing shard is an error, not a silently smaller result.
    let out = lambdasim()
        .arg("merge")
        .args(["s1", "s2", "s3"].map(|s| d.join(s)))
        .arg("--out")
        .arg(d.join("partial"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing shards: 4/4"));
}

#[test]
fn charts_are_drawn_per_metric() {
    let (dir, sweep_file) = setup();
    let out = dir.path().join("out");
    lambdasim()
        .arg("sweep")
        .arg(&sweep_file)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    // Titles and axes in words with units, the replications in the title.
    for (m, title, y) in [
        (
            "functions.api.throttle_ratio",
            "api: throttle ratio (mean and 95 % CI over 3 replications)",
            "api: throttle ratio (throttled / attempts)",
        ),
        (
            "functions.api.latency_ms.p99",
            "api: p99 latency (mean and 95 % CI over 3 replications)",
            "api: p99 latency (ms)",
        ),
        (
            "account.cold_starts",
            "account: cold starts (mean and 95 % CI over 3 replications)",
            "account: cold starts (invocations)",
        ),
    ] {
        let png = std::fs::read(out.join(format!("charts/{m}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let svg = std::fs::read_to_string(out.join(format!("charts/{m}.svg"))).unwrap();
        assert!(svg.contains(&format!("\n{title}\n")), "{m} title: {title}");
        assert!(svg.contains(&format!("\n{y}\n")), "{m} y axis: {y}");
        assert!(
            svg.contains("\napi: reserved concurrency (environments)\n"),
            "x axis"
        );
        assert!(svg.contains("\nmemory = 1024 MB\n"), "legend");
        assert!(!svg.contains(m), "no raw key in {m}.svg");
    }
}

fn expect_input_error(sweep_text: &str, needles: &[&str]) {
    let (dir, _) = setup();
    let f = write(dir.path(), "bad.toml", sweep_text);
    let out = lambdasim()
        .arg("sweep")
        .arg(&f)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{sweep_text}\n{err}");
    assert!(err.contains("bad.toml"), "names the file: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.path().join("out/results.csv").exists());
}

#[test]
fn bad_sweep_files_exit_2_naming_file_and_key() {
    let vary = "[[vary]]\nkey = \"functions.api.memory_mb\"\nvalues = [512]\n";
    expect_input_error(
        &format!("scenario = \"nope.toml\"\n{vary}"),
        &["bad.toml:1:1", "scenario", "nope.toml"],
    );
    expect_input_error(
        &format!("scenario = \"small.toml\"\nreplicatons = 3\n{vary}"),
        &["bad.toml:2:1", "replicatons"],
    );
    expect_input_error(
        "scenario = \"small.toml\"\n[[vary]]\nkey = \"functions.api.memroy_mb\"\nvalues = [512]\n",
        &["bad.toml:3:1", "vary[0].key", "memroy_mb"],
    );
    expect_input_error(
        "scenario = \"small.toml\"\n[[vary]]\nkey = \"functions.nosuch.memory_mb\"\nvalues = [512]\n",
        &["vary[0].key", "nosuch"],
    );
    expect_input_error(
        "scenario = \"small.toml\"\n[[vary]]\nkey = \"functions.api.memory_mb\"\nvalues = []\n",
        &["bad.toml:4:1", "vary[0].values", "empty"],
    );
    expect_input_error(
        "scenario = \"small.toml\"\n[[vary]]\nkey = \"functions.api.memory_mb\"\nrange = { from = 128, to = 512, step = 0 }\n",
        &["vary[0].range", "step must be > 0"],
    );
    expect_input_error(
        "scenario = \"small.toml\"\n[[vary]]\nkey = \"functions.api.memory_mb\"\n",
        &["vary[0]", "values", "range"],
    );
    expect_input_error(
        &format!("scenario = \"small.toml\"\nmetrics = [\"functions.api.throttle_rate\"]\n{vary}"),
        &["bad.toml:2", "metrics[0]", "throttle_rate"],
    );
    expect_input_error(
        &format!("scenario = \"small.toml\"\nreplications = 0\n{vary}"),
        &["replications", "1..=10000"],
    );
    // Every point invalid: nothing to run.
    expect_input_error(
        "scenario = \"small.toml\"\n[[vary]]\nkey = \"functions.api.memory_mb\"\nvalues = [1, 2]\n",
        &["every point", "memory_mb"],
    );
}

#[test]
fn an_invalid_point_is_reported_and_the_others_still_run() {
    let (dir, _) = setup();
    let f = write(
        dir.path(),
        "mixed.toml",
        "scenario = \"small.toml\"\nreplications = 2\nmetrics = [\"functions.api.requests\"]\n[[vary]]\nkey = \"functions.api.memory_mb\"\nvalues = [512, 50, 1024]\n",
    );
    let out = lambdasim()
        .arg("sweep")
        .arg(&f)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("point 1 failed"), "{stdout}");
    assert!(stdout.contains("functions.api.memory_mb=50"), "{stdout}");
    let csv = std::fs::read_to_string(dir.path().join("out/results.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 3 * 2);
    assert!(lines[3].starts_with("1,0,,50,,") && lines[3].contains("memory_mb=50"));
    assert!(lines[1].ends_with(',') && lines[5].ends_with(','), "{csv}");
}

#[test]
fn confidence_intervals_cover_the_erlang_b_value() {
    // 40 independent sets (points varying the base seed) of R = 10 replications each; a 95%
    // interval should cover B(10, 8) = 0.1217 in about 38 of them. Accept 34..=40 (85-100%):
    // the probability of fewer than 34 covers with a true 95% is under 0.5%.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "erlang.toml", ERLANG);
    let f = write(
        dir.path(),
        "ci.toml",
        "scenario = \"erlang.toml\"\nreplications = 10\nmetrics = [\"functions.f.throttle_ratio\"]\n[[vary]]\nkey = \"seed\"\nrange = { from = 1, to = 40, step = 1 }\n",
    );
    let report = sweep::run(&SweepOptions {
        sweep: f,
        out: Some(dir.path().join("out")),
        charts: false,
        ..Default::default()
    })
    .unwrap();
    let b = erlang_b(10, 8.0);
    let mut covered = 0;
    for p in 0..40 {
        let v: Vec<f64> = report
            .results
            .rows
            .iter()
            .filter(|r| r.point == p)
            .map(|r| r.metrics[0].unwrap())
            .collect();
        let st = sweep::stat(&v).unwrap();
        let (lo, hi) = st.ci95.unwrap();
        if lo <= b && b <= hi {
            covered += 1;
        }
    }
    assert!((34..=40).contains(&covered), "{covered}/40 cover {b}");
    // And results_summary.csv holds the same intervals.
    let text = std::fs::read_to_string(dir.path().join("out/results_summary.csv")).unwrap();
    assert!(text.starts_with("point,seed,metric,n,mean,stddev,ci95_lower,ci95_upper,error\n"));
    assert_eq!(text.lines().count(), 41);
}

#[test]
fn student_t_quantiles() {
    assert!((sweep::t975(1) - 12.7062).abs() < 1e-4);
    assert!((sweep::t975(9) - 2.2622).abs() < 1e-4);
    assert!((sweep::t975(40) - 2.0211).abs() < 1e-4);
    assert!((sweep::t975(120) - 1.9799).abs() < 1e-4);
    let s = sweep::stat(&[1.0, 2.0, 3.0]).unwrap();
    assert_eq!(s.mean, 2.0);
    assert_eq!(s.stddev, Some(1.0));
    let (lo, hi) = s.ci95.unwrap();
    assert!(
        (hi - 2.0 - 4.302652730 / 3f64.sqrt()).abs() < 1e-9
            && (2.0 - lo - (hi - 2.0)).abs() < 1e-12
    );
}

/// 64-bit FNV-1a over each file's length (u64, little endian) and bytes, written here from the
/// published constants, independently of the crate's implementation.
fn fnv1a(files: &[&[u8]]) -> String {
    let mut h: u64 = 14695981039346656037;
    for f in files {
        for b in (f.len() as u64).to_le_bytes().iter().chain(f.iter()) {
            h ^= *b as u64;
            h = h.wrapping_mul(1099511628211);
        }
    }
    format!("{h:016x}")
}

#[test]
fn merge_refuses_shards_of_different_scenario_contents_and_names_them() {
    let (dir, sweep_file) = setup();
    let d = dir.path();
    let shard = |k: usize, out: &str| {
        lambdasim()
            .arg("sweep")
            .arg(&sweep_file)
            .args(["--shard", &format!("{k}/3"), "--jobs", "1", "--out"])
            .arg(d.join(out))
            .assert()
            .success();
    };
    shard(1, "a1");
    shard(2, "a2");
    // The manifest carries the hash of the sweep file and the scenario, byte for byte.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("a1/manifest.json")).unwrap()).unwrap();
    let expected = fnv1a(&[GRID.as_bytes(), SMALL.as_bytes()]);
    assert_eq!(manifest["content_hash"].as_str(), Some(expected.as_str()));
    // Shard 3 is run after the scenario was edited (a longer spike): same grid, other results.
    let edited = SMALL.replace("length = \"10s\"", "length = \"12s\"");
    write(d, "small.toml", &edited);
    shard(3, "b3");
    let out = lambdasim()
        .arg("merge")
        .args(["a1", "a2", "b3"].map(|s| d.join(s)))
        .arg("--out")
        .arg(d.join("merged"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let other = fnv1a(&[GRID.as_bytes(), edited.as_bytes()]);
    assert!(
        err.contains("different sweep or scenario file contents"),
        "{err}"
    );
    assert!(
        err.contains(&format!("content_hash {expected}: shards 1/3")),
        "{err}"
    );
    assert!(
        err.contains(&format!("content_hash {other}: shards 3/3")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!d.join("merged/results.csv").exists());
    // Rerunning shard 3 from the original scenario makes the set mergeable again.
    write(d, "small.toml", SMALL);
    shard(3, "a3");
    lambdasim()
        .arg("merge")
        .args(["a1", "a2", "a3"].map(|s| d.join(s)))
        .arg("--out")
        .arg(d.join("merged"))
        .assert()
        .success();
}

#[test]
fn content_hash_covers_files_the_scenario_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scenario = "[[traffic]]\nload = { kind = \"trace\", path = \"t.csv\" }\n";
    write(d, "s.toml", scenario);
    write(d, "t.csv", "second,count\n0,5\n");
    let sweep_text = "scenario = \"s.toml\"\n";
    let sweep_file = write(d, "w.toml", sweep_text);
    let hash = || sweep::content_hash(&sweep::load(&sweep_file).unwrap()).unwrap();
    let with_trace = fnv1a(&[
        sweep_text.as_bytes(),
        scenario.as_bytes(),
        b"second,count\n0,5\n",
    ]);
    assert_eq!(hash(), with_trace);
    write(d, "t.csv", "second,count\n0,6\n");
    assert_ne!(hash(), with_trace);
}
