//! Queue service levels in summary.json (`functions.<f>.queue`) equal what timeseries.csv
//! shows, recomputed here from the CSV alone.

use assert_cmd::Command;
use serde_json::Value;

fn check(scenario: &str, function: &str) {
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("lambdasim")
        .unwrap()
        .args(["run", scenario, "--no-charts", "--no-whatif", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    let q = &s["functions"][function]["queue"];
    let csv = std::fs::read_to_string(dir.path().join("timeseries.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (t, f, depth, qa, aa, ia, dlq, dropped) = (
        col("time_s"),
        col("function"),
        col("QueueDepth"),
        col("QueueOldestAgeMs"),
        col("AsyncEventAge"),
        col("IteratorAge"),
        col("DeadLetters"),
        col("Dropped"),
    );
    let mut peak = 0u64;
    let mut ages = Vec::new();
    let mut times = Vec::new();
    let mut depths = Vec::new();
    let (mut dl, mut dr) = (0u64, 0u64);
    for l in lines {
        let c: Vec<&str> = l.split(',').collect();
        if c[f] != function {
            continue;
        }
        let d: u64 = c[depth].parse().unwrap();
        peak = peak.max(d);
        let age = [qa, aa, ia]
            .iter()
            .map(|&i| {
                // An empty age cell: no async try or stream batch in the bucket.
                if c[i].is_empty() {
                    0.0
                } else {
                    c[i].parse::<f64>().unwrap()
                }
            })
            .fold(0.0, f64::max);
        ages.push(age);
        times.push(c[t].parse::<f64>().unwrap());
        depths.push(d);
        dl += c[dlq].parse::<u64>().unwrap();
        dr += c[dropped].parse::<u64>().unwrap();
    }
    assert!(peak > 0, "{scenario}: the scenario must build a backlog");
    assert_eq!(q["peak_depth"].as_u64().unwrap(), peak, "{scenario}");
    let max = ages.iter().cloned().fold(0.0, f64::max);
    let got_max = q["max_oldest_age_ms"].as_f64().unwrap();
    assert!(
        (got_max - max).abs() < 0.002,
        "{scenario}: {got_max} vs {max}"
    );
    // Nearest-rank p99 over buckets; the summary's histogram is within 0.4 %.
    let mut sorted = ages.clone();
    sorted.sort_by(f64::total_cmp);
    let rank = ((0.99 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    let p99 = sorted[rank - 1];
    let got_p99 = q["p99_oldest_age_ms"].as_f64().unwrap();
    assert!(
        (got_p99 - p99).abs() <= 0.004 * p99 + 0.001,
        "{scenario}: {got_p99} vs {p99}"
    );
    // Drained: the end of the first empty bucket after the last non-empty one.
    let bucket = times[1] - times[0];
    let drained = match depths.iter().rposition(|&d| d > 0) {
        Some(i) if i + 1 == depths.len() => None,
        Some(i) => Some(times[i + 1] + bucket),
        None => Some(0.0),
    };
    assert_eq!(q["drained_at_s"].as_f64(), drained, "{scenario}");
    // Dead letters and drops: the summary counts the measured window, the CSV every bucket.
    assert_eq!(q["dlq"], s["functions"][function]["dlq"]);
    assert_eq!(q["dropped"], s["functions"][function]["dropped"]);
    assert!(q["dlq"].as_u64().unwrap() <= dl && q["dropped"].as_u64().unwrap() <= dr);
}

#[test]
fn async_queue_levels_equal_the_time_series() {
    check("scenarios/async-backlog.toml", "thumbnails");
}

#[test]
fn sqs_queue_levels_equal_the_time_series() {
    let s = std::fs::read_to_string("scenarios/sqs-low-concurrency.toml").unwrap();
    let name = s
        .split("[[functions]]")
        .nth(1)
        .and_then(|b| b.lines().find_map(|l| l.trim().strip_prefix("name = ")))
        .unwrap()
        .trim_matches('"')
        .to_string();
    check("scenarios/sqs-low-concurrency.toml", &name);
}

#[test]
fn stream_queue_levels_equal_the_time_series() {
    let s = std::fs::read_to_string("scenarios/stream-poison-record.toml").unwrap();
    let name = s
        .split("[[functions]]")
        .nth(1)
        .and_then(|b| b.lines().find_map(|l| l.trim().strip_prefix("name = ")))
        .unwrap()
        .trim_matches('"')
        .to_string();
    check("scenarios/stream-poison-record.toml", &name);
}

/// Runs async-backlog through `sweep` (one point: its own reserved concurrency, replication 0
/// runs on the scenario's seed) and through `run`; returns results.csv's row and summary.json.
#[test]
fn queue_levels_are_sweep_metrics_equal_to_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = std::fs::canonicalize("scenarios/async-backlog.toml").unwrap();
    let metrics = [
        "functions.thumbnails.queue.peak_depth",
        "functions.thumbnails.queue.max_oldest_age_ms",
        "functions.thumbnails.queue.p99_oldest_age_ms",
        "functions.thumbnails.queue.dlq",
        "functions.thumbnails.queue.dropped",
    ];
    let sweep = dir.path().join("sweep.toml");
    std::fs::write(
        &sweep,
        format!(
            "scenario = {:?}\nreplications = 1\nmetrics = {:?}\n\n[[vary]]\nkey = \"functions.thumbnails.reserved_concurrency\"\nvalues = [50]\n",
            scenario.display().to_string(),
            metrics
        ),
    )
    .unwrap();
    Command::cargo_bin("lambdasim")
        .unwrap()
        .args(["sweep", "--out"])
        .arg(dir.path().join("sweep"))
        .arg(&sweep)
        .assert()
        .success();
    Command::cargo_bin("lambdasim")
        .unwrap()
        .args(["run", "--no-charts", "--no-whatif", "--out"])
        .arg(dir.path().join("run"))
        .arg(&scenario)
        .assert()
        .success();
    let s: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("run/summary.json")).unwrap(),
    )
    .unwrap();
    let csv = std::fs::read_to_string(dir.path().join("sweep/results.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let q = &s["functions"]["thumbnails"]["queue"];
    assert!(
        q["peak_depth"].as_u64().unwrap() > 0,
        "a backlog to measure"
    );
    for m in metrics {
        let i = header.iter().position(|h| *h == m).unwrap();
        let key = m.rsplit('.').next().unwrap();
        let want = q[key].as_f64().unwrap();
        let got: f64 = row[i].parse().unwrap();
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{m}: sweep {got}, summary.json {want}"
        );
    }
}
