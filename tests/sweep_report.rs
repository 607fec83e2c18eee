//! What a person reads from a sweep: the results table on stdout (means and 95 % intervals
//! equal to ones computed here from results.csv) and a self-contained report.html with every
//! chart inline, metric names in words with units, and the replications stated.

mod common;

use assert_cmd::Command;
use common::SMALL;
use std::path::Path;

const GRID: &str = r#"
scenario = "small.toml"
replications = 3
metrics = ["functions.api.throttle_ratio", "functions.api.latency_ms.p99"]

[[vary]]
key = "functions.api.reserved_concurrency"
values = [20, 40, 80]
"#;

fn sweep(dir: &Path) -> String {
    std::fs::write(dir.join("small.toml"), SMALL).unwrap();
    std::fs::write(dir.join("grid.toml"), GRID).unwrap();
    let out = Command::cargo_bin("lambdasim")
        .unwrap()
        .arg("sweep")
        .arg(dir.join("grid.toml"))
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn stdout_table_shows_means_and_intervals_of_every_point() {
    let dir = tempfile::tempdir().unwrap();
    let text = sweep(dir.path());
    assert!(text.contains(
        "Mean ± half-width of the 95 % confidence interval (Student t) over 3 replications per point; metrics of function api"
    ), "{text}");
    for h in [
        "reserved concurrency",
        "throttle ratio",
        "p99 latency",
        "(environments)",
        "(throttled / attempts)",
        "(ms)",
    ] {
        assert!(text.contains(h), "{h:?} not in {text}");
    }
    // Independent statistics from results.csv: mean and t(0.975, 2) = 4.302653 x s / sqrt(3).
    let csv = std::fs::read_to_string(dir.path().join("out/results.csv")).unwrap();
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .skip(3)
                .take(3)
                .map(|x| x.parse().unwrap())
                .collect()
        })
        .collect();
    for (p, c) in [20.0, 40.0, 80.0].iter().enumerate() {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&format!("{c}")))
            .unwrap_or_else(|| panic!("no row for {c}: {text}"));
        let cells: Vec<&str> = line
            .split("  ")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(cells.len(), 3, "{line}");
        for m in 0..2 {
            let v: Vec<f64> = rows[p * 3..p * 3 + 3].iter().map(|r| r[1 + m]).collect();
            let mean = v.iter().sum::<f64>() / 3.0;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
            let half = 4.302_653 * sd / 3f64.sqrt();
            let (a, b) = cells[1 + m].split_once(" ± ").unwrap();
            let (a, b): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
            // Four significant digits.
            assert!(
                (a - mean).abs() <= 5e-4 * mean.abs() + 1e-12,
                "{a} vs {mean}"
            );
            assert!(
                (b - half).abs() <= 5e-4 * half.abs() + 1e-12,
                "{b} vs {half}"
            );
        }
    }
}

#[test]
fn report_html_is_self_contained_with_every_chart() {
    let dir = tempfile::tempdir().unwrap();
    sweep(dir.path());
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    for banned in ["<script", "src=", "href=", "url(", "<link", "<img"] {
        assert!(!html.contains(banned), "{banned} in report.html");
    }
    let charts = std::fs::read_dir(dir.path().join("out/charts"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "svg")
        })
        .count();
    assert_eq!(charts, 2);
    assert_eq!(html.matches("<svg").count(), charts);
    for s in [
        "3 points, 9 runs, 3 replication(s) per point",
        "95 % Student-t confidence intervals",
        "<th>throttle ratio<br>(throttled / attempts)</th>",
        "api: p99 latency (mean and 95 % CI over 3 replications)",
        "api: reserved concurrency (environments)",
    ] {
        assert!(html.contains(s), "{s:?} not in report.html");
    }
}
