//! `import` and `compare`: a round trip through CloudWatch's JSON format recovers the
//! configuration; the lognormal fit matches its closed form; bad files exit 2 naming file and
//! line (or JSON path).

use assert_cmd::Command;
use lambdasim::import::{self, metrics, ImportOptions};
use lambdasim::stats::BucketRow;
use std::path::Path;

fn lambdasim() -> Command {
    Command::cargo_bin("lambdasim").unwrap()
}

/// 2026-11-20T09:00:00Z.
const T0_MS: i64 = 1_795_165_200_000;

/// 30 minutes at 200 requests/s with a spike to 600/s in minutes 10-12; reserved concurrency
/// 60 throttles the spike (mean duration e^(mu + sigma^2/2) = 127 ms, so 600/s needs 76).
/// INIT is 1 ms so a request's latency is its handler duration, as in CloudWatch's Duration.
const TRUTH: &str = r#"
name = "truth"
duration = "30m"
bucket = "60s"
seed = 7
[[functions]]
name = "api"
memory_mb = 512
duration = { dist = "lognormal", median = "100ms", p99 = "500ms" }
init = "1ms"
reserved_concurrency = 60
[[traffic]]
function = "api"
load = { kind = "steps", steps = [ { at = "0s", rps = 200 }, { at = "10m", rps = 600 }, { at = "13m", rps = 200 } ] }
"#;

/// Simulates TRUTH and exports it as get-metric-data JSON (Invocations, Throttles,
/// ConcurrentExecutions Maximum, Duration p50/p90/p99). Returns the bucket rows of `api`.
fn export_truth(dir: &Path) -> Vec<BucketRow> {
    let s = dir.join("truth.toml");
    std::fs::write(&s, TRUTH).unwrap();
    let (_, model) = lambdasim::app::load_model(&s, &[], None).unwrap();
    let mut rows: Vec<BucketRow> = Vec::new();
    lambdasim::simulate(&model, &mut rows);
    let api: Vec<BucketRow> = rows.into_iter().filter(|r| r.function == Some(0)).collect();
    assert_eq!(api.len(), 30);
    let series = |label: &str, id: &str, f: fn(&BucketRow) -> f64| {
        let pts = api
            .iter()
            .enumerate()
            .map(|(k, r)| (T0_MS + k as i64 * 60_000, f(r)))
            .collect();
        (label.to_string(), id.to_string(), pts)
    };
    let json = metrics::to_json(&[
        series("api Invocations", "inv", |r| r.invocations as f64),
        series("api Throttles", "thr", |r| r.throttles_total() as f64),
        series("api ConcurrentExecutions", "conc", |r| {
            r.concurrency_max as f64
        }),
        series("api Duration p50", "p50", |r| r.latency_p50_ms),
        series("api Duration p90", "p90", |r| r.latency_p90_ms),
        series("api Duration p99", "p99", |r| r.latency_p99_ms),
    ]);
    std::fs::write(dir.join("observed.json"), json).unwrap();
    api
}

#[test]
fn round_trip_recovers_the_configuration_and_compares_near_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let truth = export_truth(dir);
    let report = import::import(&ImportOptions {
        files: vec![dir.join("observed.json")],
        out: dir.join("api.toml"),
        reserved_concurrency: Some(60),
        ..Default::default()
    })
    .unwrap();
    // Arrivals: exactly invocations + throttles of every period, time 0 at the first period.
    assert_eq!(report.start_ms, T0_MS);
    assert_eq!((report.period_s, report.periods), (60, 30));
    let trace = std::fs::read_to_string(dir.join("api-trace.csv")).unwrap();
    let counts: Vec<u64> = trace
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("time_s"))
        .map(|l| l.split(',').nth(1).unwrap().parse::<f64>().unwrap() as u64)
        .collect();
    let want: Vec<u64> = truth
        .iter()
        .map(|r| r.invocations + r.throttles_total())
        .collect();
    assert_eq!(counts, want);
    assert!(
        truth[11].throttles_total() > 1000,
        "the spike must throttle"
    );
    // Duration: lognormal median 100 ms, p99 500 ms recovered from per-minute percentiles
    // (each from ~12 000 requests; the histogram's buckets are a few % wide): median within
    // 3 %, p99 within 6 %.
    let fit = report.fit.clone().unwrap();
    assert!((fit.median_ms / 100.0 - 1.0).abs() < 0.03, "{fit:?}");
    assert!((fit.p99_ms / 500.0 - 1.0).abs() < 0.06, "{fit:?}");

    // Compare: the imported scenario against the very observations it came from.
    let out = dir.join("cmp");
    let o = lambdasim()
        .args([
            "compare",
            dir.join("api.toml").to_str().unwrap(),
            "--observed",
        ])
        .arg(dir.join("observed.json"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    eprintln!("round trip:\n{csv}fit: {fit:?}");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("function,metric,mape,max_abs_diff,at_s"));
    let mape = |metric: &str| -> f64 {
        csv.lines()
            .find(|l| l.split(',').nth(1) == Some(metric))
            .unwrap_or_else(|| panic!("no {metric} row in {csv}"))
            .split(',')
            .nth(2)
            .unwrap()
            .parse()
            .unwrap()
    };
    // Tolerances: a new random run of the same traffic. Invocations differ only where the
    // spike throttles (Poisson placement within a minute); the maximum of ~25-60 busy
    // environments per minute varies by a few (and the first minute's cold starts take the
    // runtime preset's INIT: metrics carry no INIT); percentiles of ~12 000 draws by ~1-3 %.
    for (metric, tol) in [
        ("Invocations", 1.0),
        ("Throttles", 5.0),
        ("ConcurrentExecutions", 8.0),
        ("Duration.p50", 3.0),
        ("Duration.p90", 3.0),
        ("Duration.p99", 8.0),
    ] {
        let m = mape(metric);
        assert!(m < tol, "{metric}: MAPE {m} % over {tol} %\n{csv}");
    }
    for f in ["report.html", "compare-api-ConcurrentExecutions.png"] {
        assert!(out.join(f).exists(), "{f}");
    }

    // What-if: `traffic.api.load.scale=3` replays exactly three times every period's count.
    let scale: lambdasim::Override = "traffic.api.load.scale=3".parse().unwrap();
    let (_, model) = lambdasim::app::load_model(&dir.join("api.toml"), &[scale], None).unwrap();
    let out3 = lambdasim::simulate(&model, &mut lambdasim::stats::NoRecorder);
    let total: u64 = want.iter().sum();
    assert_eq!(out3.summary.functions[0].1.requests, 3 * total);
}

#[test]
fn lognormal_fit_matches_the_closed_form() {
    // mu = ln p50, sigma = (ln p99 - ln p50) / 2.3263 (z of the 99th percentile).
    for (p50, p99) in [(120.0, 900.0), (35.5, 41.0), (2000.0, 30000.0)] {
        let f = import::fit_lognormal(p50, p99);
        let mu = (p50 / 1e3f64).ln();
        let sigma = ((p99 / 1e3f64).ln() - mu) / 2.3263;
        assert!((f.mu - mu).abs() < 1e-12);
        assert!(
            (f.sigma / sigma - 1.0).abs() < 1e-4,
            "{} vs {sigma}",
            f.sigma
        );
        // And the fit's percentiles are the inputs: exp(mu + z sigma).
        assert!(((f.mu + f.sigma * import::Z99).exp() * 1e3 / p99 - 1.0).abs() < 1e-12);
    }
}

fn import_err(name: &str, text: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join(name);
    std::fs::write(&p, text).unwrap();
    let o = lambdasim()
        .arg("import")
        .arg(&p)
        .arg("--out")
        .arg(tmp.path().join("x.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{name}: {o:?}");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains(&p.display().to_string()),
        "names the file: {err}"
    );
    err
}

#[test]
fn malformed_and_truncated_files_exit_2_naming_file_and_line() {
    let full = std::fs::read_to_string("examples/observed/orders-metrics.json").unwrap();
    let cut = &full[..full.len() / 2];
    let cut_line = cut.lines().count();
    let e = import_err("m.json", cut);
    assert!(e.contains(&format!("m.json:{cut_line}:")), "{e}");
    assert!(e.contains("truncated"), "{e}");
    let e = import_err(
        "m.json",
        r#"{"MetricDataResults":[{"Id":"a","Label":"f Invocations","Timestamps":["2026-11-20T09:00:00Z"],"Values":[1,2]}]}"#,
    );
    assert!(
        e.contains("MetricDataResults[0]: 1 Timestamps but 2 Values"),
        "{e}"
    );
    let e = import_err(
        "m.json",
        r#"{"MetricDataResults":[{"Id":"a","Label":"f Invocations","Timestamps":["2026-11-20T09:00:00Z","2026-11-20T09:00:30Z"],"Values":[1,2]},{"Id":"b","Label":"g Invocations","Timestamps":[],"Values":[]}]}"#,
    );
    assert!(e.contains("--function"), "{e}");
    let log = std::fs::read_to_string("examples/observed/orders-report.log").unwrap();
    let mut lines: Vec<&str> = log.lines().take(10).collect();
    let cut5 = &lines[4][..lines[4].find("Billed").unwrap() + 12];
    lines[4] = cut5;
    let e = import_err("r.log", &lines.join("\n"));
    assert!(
        e.contains("r.log:5:1: REPORT line without a readable `Billed Duration"),
        "{e}"
    );
    let e = import_err(
        "q.csv",
        "@timestamp,@duration\n2026-11-20 09:00:00.000,12\nnot-a-time,3\n",
    );
    assert!(e.contains("q.csv:3:1: @timestamp"), "{e}");
    let e = import_err("x.txt", "hello\n");
    assert!(e.contains("unrecognised format"), "{e}");
    let e = import_err("e.json", "");
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn shipped_samples_import_with_gaps_reported() {
    let tmp = tempfile::tempdir().unwrap();
    for extra in [
        "examples/observed/orders-report.log",
        "examples/observed/orders-insights.csv",
    ] {
        let out = tmp.path().join("orders.toml");
        let o = lambdasim()
            .args(["import", "examples/observed/orders-metrics.json", extra])
            .args(["--reserved-concurrency", "50", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("missing periods: 3 of 120")
                && text.contains("2026-11-20T10:35:00Z to 2026-11-20T10:37:00Z"),
            "{text}"
        );
        assert!(text.contains("duration: empirical"), "{text}");
        let s = std::fs::read_to_string(&out).unwrap();
        assert!(
            s.contains("memory_mb = 512") && s.contains("reserved_concurrency = 50"),
            "{s}"
        );
    }
    // Metrics alone: the lognormal fit, its error against p90 and the average stated.
    let o = lambdasim()
        .args(["import", "examples/observed/orders-metrics.json", "--out"])
        .arg(tmp.path().join("m.toml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("lognormal fitted to p50") && text.contains("p90") && text.contains("mean"),
        "{text}"
    );
}

#[test]
fn mutated_samples_never_panic() {
    // 600 cut or corrupted versions of the three sample formats: each reads or fails with an
    // input error (exit 2), never a panic.
    let tmp = tempfile::tempdir().unwrap();
    let samples: Vec<(String, Vec<u8>)> = [
        "orders-metrics.json",
        "orders-report.log",
        "orders-insights.csv",
    ]
    .iter()
    .map(|f| {
        let b = std::fs::read(format!("examples/observed/{f}")).unwrap();
        (f.to_string(), b[..b.len().min(40_000)].to_vec())
    })
    .collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..600 {
        let (name, bytes) = &samples[i % 3];
        let mut b = bytes.clone();
        match next() % 3 {
            0 => b.truncate((next() as usize) % b.len()),
            1 => {
                for _ in 0..4 {
                    let k = (next() as usize) % b.len();
                    b[k] = (next() % 256) as u8;
                }
            }
            _ => {
                let k = (next() as usize) % b.len();
                b.splice(k..k, b"\",:}]\t\n-1e999".iter().copied());
            }
        }
        let p = tmp.path().join(name);
        std::fs::write(&p, &b).unwrap();
        let r = std::panic::catch_unwind(|| import::read_observed(std::slice::from_ref(&p)));
        match r {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => assert_eq!(e.exit_code(), 2, "{e}"),
            Err(_) => panic!("panic on mutation {i} of {name}"),
        }
    }
}
