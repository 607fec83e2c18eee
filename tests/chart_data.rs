//! The numbers run charts draw, checked against numbers computed without the charts: the
//! offered-load series against the scenario's arrival rate, the error band against the
//! configured error rate, limit lines against the configured limits, panels present exactly
//! when their series are not all zero (queues) or not constant (scaling tokens), and the
//! percentile rule (p99 drawn solid only from buckets with at least 100 latencies).

use lambdasim::model::Model;
use lambdasim::output::charts::ChartData;
use lambdasim::output::timeseries::ChartSeries;
use lambdasim::run::{load_model, simulate};
use lambdasim::stats::{BucketRow, Recorder};

/// Keeps every row (for independent sums) and the chart series built from them.
#[derive(Default)]
struct Both {
    rows: Vec<BucketRow>,
    series: ChartSeries,
}

impl Recorder for Both {
    fn bucket(&mut self, rows: &[BucketRow]) {
        self.rows.extend_from_slice(rows);
        self.series.push(rows);
    }
}

fn chart(text: &str) -> (Model, ChartData, Vec<BucketRow>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    let (_, model) = load_model(&path, &[], None).unwrap();
    let mut rec = Both::default();
    let out = simulate(&model, &mut rec);
    let d = ChartData::new(&model, &rec.series, &out);
    (model, d, rec.rows)
}

fn sync_scenario(rps: u32, error_rate: f64, reserved: u32) -> String {
    format!(
        r#"name = "sync"
duration = "60s"
seed = 5
[account]
concurrency_limit = 1000
[[functions]]
name = "api"
duration = {{ dist = "exponential", mean = "100ms" }}
error_rate = {error_rate}
reserved_concurrency = {reserved}
[[traffic]]
function = "api"
load = {{ kind = "constant", rps = {rps} }}
"#
    )
}

/// Sum of a per-second series over its rows: back to a count.
fn count(pts: &[(f64, f64)], row_s: f64) -> f64 {
    pts.iter().map(|p| p.1 * row_s).sum()
}

#[test]
fn offered_load_adds_up_to_the_scenario_arrivals_and_the_error_band_to_the_error_rate() {
    // Poisson arrivals at 300/s for 60 s: 18 000 expected, standard deviation 134; 5 sigma.
    let (_, d, _) = chart(&sync_scenario(300, 0.1, 900));
    let p = &d.load_panels()[0];
    assert_eq!(p.counted.axis(false), "invocations per second");
    let offered = count(&p.offered, d.row_s);
    assert!(
        (offered - 18_000.0).abs() < 5.0 * 134.0,
        "offered {offered}"
    );
    // Nothing is throttled (reservation far above the ~30 busy), so every arrival is invoked:
    // the top of the stack is the offered load, and 10 % of invocations are errors.
    let top = count(&p.stacks[5], d.row_s);
    assert!((top - offered).abs() < 1e-6 * offered, "{top} vs {offered}");
    let invocations = count(&p.stacks[1], d.row_s);
    let errors = invocations - count(&p.stacks[0], d.row_s);
    // Binomial(18 000, 0.1): sd 40; 5 sigma.
    assert!(
        (errors - 0.1 * invocations).abs() < 200.0,
        "errors {errors}"
    );
    assert!(
        p.retries.iter().all(|q| q.1 == 0.0),
        "no retries configured"
    );
}

#[test]
fn sqs_offered_load_is_messages_and_the_axis_counts_batches() {
    let text = std::fs::read_to_string("scenarios/sqs-low-concurrency.toml")
        .unwrap()
        .replace("duration = \"10m\"", "duration = \"60s\"");
    let (_, d, rows) = chart(&text);
    let p = &d.load_panels()[0];
    assert_eq!(p.counted.axis(false), "batches per second");
    assert_eq!(p.counted.batch_size, 10);
    assert!(!p.counted.arrivals_in_same_unit());
    // 400 messages/s for 60 s: 24 000 expected, sd 155; 5 sigma.
    let offered = count(&p.offered, d.row_s);
    assert!(
        (offered - 24_000.0).abs() < 5.0 * 155.0,
        "offered {offered}"
    );
    // Invocations are batches: at most 15 concurrent 500 ms batches, so about 30 per second
    // (not 400): the stack counts what the raw rows count.
    let invocations: u64 = rows
        .iter()
        .filter(|r| r.function.is_some())
        .map(|r| r.invocations)
        .sum();
    assert!((count(&p.stacks[1], d.row_s) - invocations as f64).abs() < 1e-6);
    let per_s = invocations as f64 / 60.0;
    assert!((per_s - 30.0).abs() < 2.0, "{per_s} batches/s");
    // The SQS maximum concurrency line sits at the configured 15.
    let lines = d.limit_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.value == 15.0 && l.label.contains("SQS maximum concurrency")),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.label.starts_with("account limit")),
        "1000 is far above 15"
    );
}

#[test]
fn limit_lines_sit_at_the_configured_values() {
    let (_, d, _) = chart(&sync_scenario(300, 0.0, 80));
    let lines = d.limit_lines();
    assert!(lines
        .iter()
        .any(|l| l.value == 80.0 && l.label == "reserved: api (80)"));
    let text = std::fs::read_to_string("scenarios/stream-poison-record.toml")
        .unwrap()
        .replace("duration = \"10m\"", "duration = \"30s\"")
        .replace("shards = 4,", "shards = 3, parallelization_factor = 2,");
    let (_, d, _) = chart(&text);
    let lines = d.limit_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.value == 6.0 && l.label.contains("shards × parallelization")),
        "3 shards × 2: {lines:?}"
    );
}

#[test]
fn panels_are_drawn_exactly_when_their_series_carry_information() {
    let mut seen_tokens = vec![];
    let mut seen_panels = vec![];
    for text in [
        std::fs::read_to_string("scenarios/sqs-low-concurrency.toml")
            .unwrap()
            .replace("duration = \"10m\"", "duration = \"60s\""),
        std::fs::read_to_string("scenarios/stream-poison-record.toml").unwrap(),
        std::fs::read_to_string("scenarios/async-backlog.toml").unwrap(),
        std::fs::read_to_string("scenarios/burst-staircase.toml").unwrap(),
        std::fs::read_to_string("scenarios/reserved-concurrency.toml").unwrap(),
        sync_scenario(300, 0.0, 80),
    ] {
        let (_, d, rows) = chart(&text);
        // Scaling tokens: a panel exactly when some series' tokens fall below 90 % of their
        // highest value at some bucket's end.
        let fns: Vec<&BucketRow> = rows.iter().filter(|r| r.function.is_some()).collect();
        let acc: Vec<&BucketRow> = rows.iter().filter(|r| r.function.is_none()).collect();
        let moves = |rs: &[&BucketRow]| {
            let hi = rs.iter().map(|r| r.scaling_tokens).max().unwrap_or(0);
            rs.iter()
                .any(|r| (r.scaling_tokens as f64) < 0.9 * hi as f64)
        };
        let changed = if d.per_function_scaling {
            // Each function's own budget (every function is shown: at most 3 here).
            (0..d.n_functions as u32).any(|i| {
                let own: Vec<&BucketRow> = fns
                    .iter()
                    .copied()
                    .filter(|r| r.function == Some(i))
                    .collect();
                moves(&own)
            })
        } else {
            moves(&acc)
        };
        assert_eq!(d.tokens_informative(), changed, "{}", d.scenario);
        seen_tokens.push(changed);
        if !d.queues {
            continue;
        }
        // Queue panels: exactly those whose column is non-zero somewhere.
        let any = |f: fn(&BucketRow) -> bool| fns.iter().any(|r| f(r));
        let mut want = vec![];
        for (key, nonzero) in [
            ("depth", any(|r| r.queue_depth > 0)),
            ("oldest_waiting", any(|r| r.queue_oldest_age_ms > 0.0)),
            ("async_event_age", any(|r| r.async_event_age_ms > 0.0)),
            ("iterator_age", any(|r| r.iterator_age_ms > 0.0)),
            ("given_up", any(|r| r.dead_letters + r.dropped > 0)),
        ] {
            if nonzero {
                want.push(key);
            }
        }
        let got: Vec<&str> = d.queue_panels().iter().map(|p| p.key).collect();
        assert_eq!(got, want, "{}", d.scenario);
        seen_panels.push(got.len());
    }
    // Not vacuous: both outcomes occur among these scenarios.
    assert!(
        seen_tokens.contains(&true) && seen_tokens.contains(&false),
        "{seen_tokens:?}"
    );
    assert!(
        seen_panels.iter().any(|&n| n < 5) && seen_panels.iter().any(|&n| n >= 3),
        "{seen_panels:?}"
    );
}

#[test]
fn p99_is_drawn_solid_only_from_buckets_with_a_hundred_latencies() {
    // 20 requests/s in 1 s buckets: about 20 latencies per bucket, never 100: p99 only dashed,
    // p50 (2 samples) solid. 300/s: about 300, so p99 solid nearly everywhere.
    let (_, d, _) = chart(&sync_scenario(20, 0.0, 900));
    let l = d.percentile_lines(&d.shown[0].rows);
    assert!(l[2].solid.is_empty(), "p99 from ~20 samples drawn solid");
    assert!(!l[2].all.is_empty());
    let solid50: usize = l[0].solid.iter().map(|r| r.len()).sum();
    assert!(solid50 >= 55, "p50 solid in {solid50} of 60 buckets");
    let (_, d, _) = chart(&sync_scenario(300, 0.0, 900));
    let rows = &d.shown[0].rows;
    let l = d.percentile_lines(rows);
    let solid99: usize = l[2].solid.iter().map(|r| r.len()).sum();
    let enough = rows.iter().filter(|r| r.latency_samples >= 100).count();
    assert_eq!(solid99, enough);
    assert!(solid99 >= 58, "p99 solid in {solid99} of 60 buckets");
}
