//! The invocation models (async, SQS, streams, adaptive retries) against their documented
//! timings and closed-form throughput laws. Each test states the law and its tolerance.

mod common;

use lambdasim::model::Model;
use lambdasim::run::{simulate, RunOutput};
use lambdasim::scenario::load_str;
use lambdasim::stats::summary::FunctionSummary;
use lambdasim::stats::{BucketRow, Recorder};
use lambdasim::time::Micros;
use std::collections::HashMap;
use std::path::Path;

/// Keeps the rows and, per (source, lane), the arrival times of delivered stream records.
#[derive(Default)]
struct Rec {
    rows: Vec<BucketRow>,
    delivered: HashMap<(u32, u32), Vec<u64>>,
}

impl Recorder for Rec {
    fn bucket(&mut self, rows: &[BucketRow]) {
        self.rows.extend_from_slice(rows);
    }
    fn delivered(&mut self, source: u32, lane: u32, arrival: Micros) {
        self.delivered
            .entry((source, lane))
            .or_default()
            .push(arrival.0);
    }
}

fn run(toml: &str) -> (RunOutput, Rec) {
    let s = load_str(toml, Path::new("test.toml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let m = Model::build(&s, Path::new("scenarios"), Path::new("test.toml")).unwrap();
    let mut rec = Rec::default();
    let out = simulate(&m, &mut rec);
    common::assert_run_conserved(&out.summary);
    (out, rec)
}

fn first(out: &RunOutput) -> &FunctionSummary {
    &out.summary.functions[0].1
}

/// Function rows (index 0) of the buckets.
fn fn_rows(rec: &Rec) -> Vec<&BucketRow> {
    rec.rows.iter().filter(|r| r.function == Some(0)).collect()
}

fn secs(r: &BucketRow) -> u64 {
    r.start.0 / 1_000_000
}

// ---------------------------------------------------------------------------------------------
// Async

fn async_scenario(function: &str, async_table: &str, rps: f64, duration: &str) -> String {
    format!(
        r#"
name = "async"
duration = "{duration}"
[[functions]]
name = "f"
init = "0s"
{function}
[[traffic]]
function = "f"
invocation = "async"
arrivals = "uniform"
load = {{ kind = "constant", rps = {rps} }}
async = {async_table}
"#
    )
}

#[test]
fn async_throttle_retries_double_from_1s_and_stop_at_the_event_age() {
    // Every attempt throttled (reserved = 0). An event arriving at a is tried at a, a+1, a+3,
    // a+7, a+15, a+31 (delays 1, 2, 4, 8, 16 s); the next try, at a+63, would be past
    // maximum_event_age = 60 s, so the event waits until its maximum age and goes to the DLQ
    // at a+60 itself (not at its last try, a+31). Exact.
    let (out, rec) = run(&async_scenario(
        "duration = \"100ms\"\nreserved_concurrency = 0",
        "{ maximum_event_age = \"60s\", dlq = true }",
        0.01,
        "1000s",
    ));
    let f = first(&out);
    assert_eq!(f.requests, 9, "events at 100, 200, ... 900 s");
    assert_eq!(f.attempts, 9 * 6);
    assert_eq!(f.retries, 9 * 5);
    assert_eq!(f.throttles.reserved, 9 * 6);
    assert_eq!(f.dlq, 9);
    assert_eq!(f.invocations, 0);
    let rows = fn_rows(&rec);
    let throttled: Vec<u64> = rows
        .iter()
        .filter(|r| r.throttles_total() > 0)
        .map(|r| secs(r))
        .collect();
    let a = throttled[0];
    assert_eq!(&throttled[..6], &[a, a + 1, a + 3, a + 7, a + 15, a + 31]);
    let dead: Vec<u64> = rows
        .iter()
        .filter(|r| r.dead_letters > 0)
        .map(|r| secs(r))
        .collect();
    assert_eq!(dead[0], a + 60);
    // The age of the event at its last try is 31 s.
    let age = rows
        .iter()
        .map(|r| r.async_event_age_ms)
        .fold(0.0, f64::max);
    assert!((age - 31_000.0).abs() < 1.0, "{age}");
}

#[test]
fn async_throttle_delays_cap_at_five_minutes() {
    // With the default 6 h event age the delays go 1, 2, 4, ..., 256 s and then 300 s each:
    // cumulative try times 0, 1, 3, ..., 511 (9 tries in 511 s), then 811, 1111, ...
    let (out, rec) = run(&async_scenario(
        "duration = \"100ms\"\nreserved_concurrency = 0",
        "{ dlq = true }",
        0.001,
        "2000s",
    ));
    assert_eq!(first(&out).requests, 1, "one event at 1000 s");
    let tries: Vec<u64> = fn_rows(&rec)
        .iter()
        .filter(|r| r.throttles_total() > 0)
        .map(|r| secs(r) - 1000)
        .collect();
    assert_eq!(tries, vec![0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 811]);
    assert_eq!(first(&out).in_flight, 1, "still waiting for its next try");
}

#[test]
fn async_function_errors_are_retried_after_one_then_two_minutes() {
    // error_rate = 1, 100 ms handler, no INIT: an event at a runs at a, a+60.1 and a+180.2
    // (1 and 2 minutes after each failure), then it is dropped (no DLQ).
    let (out, rec) = run(&async_scenario(
        "duration = \"100ms\"\nerror_rate = 1.0",
        "{ maximum_retry_attempts = 2 }",
        0.01,
        "500s",
    ));
    let f = first(&out);
    assert_eq!(f.requests, 4, "events at 100..400 s");
    let ran: Vec<u64> = fn_rows(&rec)
        .iter()
        .filter(|r| r.invocations > 0)
        .flat_map(|r| std::iter::repeat_n(secs(r), r.invocations as usize))
        .collect();
    assert_eq!(
        &ran[..3],
        &[100, 160, 200],
        "first event's tries, second arrives"
    );
    assert!(
        ran.contains(&280),
        "second retry of the first event at 280.2 s"
    );
    // Events at 100, 200 and 300 finished their three tries (the last at 480.3 s); the event
    // of 400 s waits for its second retry (580.2 s).
    assert_eq!(f.dropped, 3);
    assert_eq!(f.dlq, 0);
    assert_eq!(f.errors, f.invocations);
    assert_eq!(f.invocations, 3 * 3 + 2);
    assert_eq!(f.in_flight, 1);
    // With 0 retry attempts an event runs once and is dropped.
    let (out0, _) = run(&async_scenario(
        "duration = \"100ms\"\nerror_rate = 1.0",
        "{ maximum_retry_attempts = 0 }",
        0.01,
        "500s",
    ));
    assert_eq!(first(&out0).invocations, 4);
    assert_eq!(first(&out0).dropped, 4);
}

#[test]
fn async_error_retry_respects_the_event_age() {
    // maximum_event_age = 100 s: the first error retry (at +60.1 s) is in time, the second
    // (at +180.2 s) would not be, so the event is dropped after two runs, at its 100 s age:
    // the event of 900 s would leave at 1000 s, the end of the run, so it is still in flight.
    let (out, _) = run(&async_scenario(
        "duration = \"100ms\"\nerror_rate = 1.0",
        "{ maximum_retry_attempts = 2, maximum_event_age = \"100s\" }",
        0.01,
        "1000s",
    ));
    let f = first(&out);
    assert_eq!(f.requests, 9);
    assert_eq!(f.invocations, 18);
    assert_eq!(f.dropped, 8);
    assert_eq!(f.in_flight, 1);
}

#[test]
fn async_spike_backlog_drains_and_nothing_is_lost() {
    // The shipped example: concurrency pinned at the reservation during the spike, queue depth
    // rising and then falling back to (near) zero; every event accounted for.
    let text = std::fs::read_to_string("scenarios/async-backlog.toml").unwrap();
    let (out, rec) = run(&text);
    let f = first(&out);
    let rows = fn_rows(&rec);
    let peak_depth = rows.iter().map(|r| r.queue_depth).max().unwrap();
    assert!(peak_depth > 1000, "backlog {peak_depth}");
    assert!(rows.iter().all(|r| r.concurrency_max <= 50));
    let last = rows.last().unwrap();
    assert!(
        last.queue_depth < peak_depth / 20,
        "drained: {} of {peak_depth}",
        last.queue_depth
    );
    assert_eq!(f.dropped, 0);
    assert!(f.retries > 0 && f.throttles.reserved > 0);
}

// ---------------------------------------------------------------------------------------------
// SQS

fn sqs_scenario(duration: &str, rps: f64, sqs: &str, extra: &str) -> String {
    format!(
        r#"
name = "sqs"
duration = "{duration}"
[[functions]]
name = "f"
init = "0s"
timeout = "30s"
{extra}
[[traffic]]
function = "f"
invocation = "sqs"
arrivals = "uniform"
load = {{ kind = "constant", rps = {rps} }}
sqs = {sqs}
"#
    )
}

#[test]
fn sqs_steady_throughput_is_concurrency_times_batch_over_duration() {
    // maximum_concurrency 20, batch 10, fixed 0.5 s handler, 1000 messages/s offered:
    // throughput = 20 x 10 / 0.5 = 400 messages/s once pollers have scaled (5 + 5/s: 3 s).
    // Measured over buckets 30..300 s from the Invocations column (full batches): within 1 %.
    let (out, rec) = run(&sqs_scenario(
        "300s",
        1000.0,
        "{ batch_size = 10, maximum_concurrency = 20 }",
        "duration = \"500ms\"",
    ));
    let rows = fn_rows(&rec);
    let window: Vec<_> = rows.iter().filter(|r| secs(r) >= 30).collect();
    let batches: u64 = window.iter().map(|r| r.invocations).sum();
    let rate = batches as f64 * 10.0 / window.len() as f64;
    assert!((rate / 400.0 - 1.0).abs() < 0.01, "{rate} messages/s");
    assert!(rows.iter().all(|r| r.concurrency_max <= 20));
    assert_eq!(
        first(&out).throttles.total,
        0,
        "maximum concurrency caps without throttles"
    );
    // The backlog grows at 1000 - 400 = 600 messages/s.
    let depth = |t: u64| rows.iter().find(|r| secs(r) == t).unwrap().queue_depth as f64;
    let growth = (depth(299) - depth(100)) / 199.0;
    assert!((growth / 600.0 - 1.0).abs() < 0.01, "{growth}/s");
}

#[test]
fn sqs_pollers_start_at_5_and_add_300_per_minute() {
    // A deep backlog (5000 messages/s, 10 s handler): poller concurrency is 5 at first and
    // grows by 5 each second (300 per minute) up to maximum_concurrency. At t = 60 s it is
    // 5 + 60 x 5 = 305 (exact, the scaling tick is once a second).
    let (_, rec) = run(&sqs_scenario(
        "130s",
        5000.0,
        "{ batch_size = 10, maximum_concurrency = 600, visibility_timeout = \"1m\" }",
        "duration = \"10s\"",
    ));
    let rows = fn_rows(&rec);
    let conc = |t: u64| rows.iter().find(|r| secs(r) == t).unwrap().concurrency_max;
    assert_eq!(conc(0), 5);
    assert_eq!(conc(10), 55);
    assert_eq!(conc(60), 305);
    assert_eq!(conc(125), 600, "capped at maximum_concurrency");
}

#[test]
fn sqs_poison_messages_go_to_the_dlq_after_max_receive_count() {
    // Every message is poison: each is received 3 times, a visibility timeout (30 s) apart,
    // and moved to the DLQ when it would become visible the third time: 90 s after arrival.
    let (out, rec) = run(&sqs_scenario(
        "300s",
        1.0,
        "{ batch_size = 1, max_receive_count = 3, poison_rate = 1.0 }",
        "duration = \"100ms\"",
    ));
    let f = first(&out);
    assert_eq!(f.requests, 299, "one message a second, at 1..=299 s");
    assert_eq!(f.succeeded, 0);
    // Messages of 1..=209 s reached the DLQ (at 91..=299 s); 210..=299 s are in flight.
    assert_eq!(f.dlq, 209);
    assert_eq!(f.in_flight, 90);
    // Receives: 3 per dead message; in flight, 30 messages each received 3, 2 and 1 times.
    assert_eq!(f.invocations, 3 * 209 + 30 * 3 + 30 * 2 + 30);
    let first_dead = fn_rows(&rec)
        .iter()
        .find(|r| r.dead_letters > 0)
        .map(|r| secs(r))
        .unwrap();
    assert_eq!(first_dead, 91, "the message of t = 1 s goes at 91 s");
}

#[test]
fn sqs_partial_batch_failures_return_only_the_poison_messages() {
    // 10 % poison messages, batches of 10. With report_batch_item_failures only the poison
    // messages fail, so the DLQ gets 10 % of the messages (binomial, ±4 standard errors) and
    // every good message succeeds. Without it one poison message fails its batch: good
    // messages are redelivered with it and many reach the DLQ too.
    let base = "batch_size = 10, maximum_batching_window = \"1s\", max_receive_count = 2, poison_rate = 0.1, visibility_timeout = \"30s\"";
    let (partial, _) = run(&sqs_scenario(
        "600s",
        100.0,
        &format!("{{ {base}, report_batch_item_failures = true }}"),
        "duration = \"50ms\"",
    ));
    let p = first(&partial);
    // Poison messages go to the DLQ 60 s after arrival (two receives 30 s apart): those of
    // the first 540 s (54 000 messages) have; expected 5400, sd sqrt(54000 x 0.1 x 0.9) = 70.
    let sd = (54_000.0f64 * 0.1 * 0.9).sqrt();
    assert!(
        (p.dlq as f64 - 5400.0).abs() < 4.0 * sd,
        "{} dead letters vs 5400 ± {}",
        p.dlq,
        4.0 * sd
    );
    assert_eq!(p.failed, 0);
    let (whole, _) = run(&sqs_scenario(
        "600s",
        100.0,
        &format!("{{ {base} }}"),
        "duration = \"50ms\"",
    ));
    let w = first(&whole);
    assert!(w.dlq as f64 > 3.0 * p.dlq as f64, "{} vs {}", w.dlq, p.dlq);
    assert!(
        w.errors > 0 && p.errors == 0,
        "partial reporting is not an error"
    );
}

#[test]
fn sqs_low_concurrency_example_grows_a_backlog_without_throttles() {
    let text = std::fs::read_to_string("scenarios/sqs-low-concurrency.toml").unwrap();
    let (out, rec) = run(&text);
    let f = first(&out);
    assert_eq!(f.throttles.total, 0);
    assert_eq!(f.concurrency.peak, 15);
    let rows = fn_rows(&rec);
    let last = rows.last().unwrap();
    // 400 in, about 15 x 10 / 0.5 = 300 out: ~100 more messages per second; the head of the
    // queue is minutes old by the end.
    assert!(last.queue_depth > 50_000, "{}", last.queue_depth);
    assert!(last.queue_oldest_age_ms > 60_000.0);
}

// ---------------------------------------------------------------------------------------------
// Streams

fn stream_scenario(duration: &str, rps: f64, stream: &str, extra: &str) -> String {
    format!(
        r#"
name = "stream"
duration = "{duration}"
[[functions]]
name = "f"
init = "0s"
timeout = "60s"
{extra}
[[traffic]]
function = "f"
invocation = "stream"
load = {{ kind = "constant", rps = {rps} }}
stream = {stream}
"#
    )
}

fn assert_in_order(rec: &Rec) -> u64 {
    let mut n = 0;
    for (lane, arrivals) in &rec.delivered {
        assert!(
            arrivals.windows(2).all(|w| w[0] <= w[1]),
            "lane {lane:?} delivered out of order"
        );
        n += arrivals.len() as u64;
    }
    n
}

#[test]
fn stream_throughput_is_shards_times_batch_over_duration() {
    // 4 shards x parallelization 2 = 8 lanes, batches of 100, fixed 1 s handler, 2000 records/s
    // offered (more than 800/s of capacity): throughput = 8 x 100 / 1 s = 800 records/s
    // (AWS's formula), within 1 % over 20..300 s.
    let (out, rec) = run(&stream_scenario(
        "300s",
        2000.0,
        "{ shards = 4, parallelization_factor = 2, batch_size = 100 }",
        "duration = \"1s\"",
    ));
    let rows = fn_rows(&rec);
    let window: Vec<_> = rows.iter().filter(|r| secs(r) >= 20).collect();
    let batches: u64 = window.iter().map(|r| r.invocations).sum();
    let rate = batches as f64 * 100.0 / window.len() as f64;
    assert!((rate / 800.0 - 1.0).abs() < 0.01, "{rate} records/s");
    assert_eq!(first(&out).concurrency.peak, 8);
    assert_eq!(assert_in_order(&rec), first(&out).succeeded);
}

#[test]
fn a_poison_record_blocks_its_shard_until_it_expires_or_retries_run_out() {
    // One lane, 10 records/s, about 1 poison record in 2000. With unlimited retries the first
    // poison record blocks the lane for the rest of the run: nothing after it is processed, and
    // the iterator age keeps growing. With maximum_retry_attempts = 2 its batch is skipped after
    // 3 tries and the lane moves on.
    let blocked = stream_scenario(
        "600s",
        10.0,
        "{ shards = 1, batch_size = 10, poison_rate = 0.002 }",
        "duration = \"100ms\"",
    );
    let (out, rec) = run(&blocked);
    let f1 = first(&out).clone();
    assert!(
        f1.retries > 100,
        "the poison batch is retried: {}",
        f1.retries
    );
    assert!(
        f1.in_flight > 100,
        "records pile up behind it: {}",
        f1.in_flight
    );
    let rows = fn_rows(&rec);
    let ages: Vec<f64> = rows.iter().map(|r| r.queue_oldest_age_ms).collect();
    let last = *ages.last().unwrap();
    assert!(
        last > 10_000.0,
        "oldest unprocessed record is {last} ms old"
    );
    assert_eq!(assert_in_order(&rec), f1.succeeded);

    let (out2, rec2) = run(&stream_scenario(
        "600s",
        10.0,
        "{ shards = 1, batch_size = 10, poison_rate = 0.002, maximum_retry_attempts = 2 }",
        "duration = \"100ms\"",
    ));
    let f2 = first(&out2);
    assert!(f2.dropped > 0, "the poison batch was skipped");
    assert!(f2.succeeded > f1.succeeded);
    assert!(f2.in_flight < 20, "the lane keeps up: {}", f2.in_flight);
    assert_eq!(assert_in_order(&rec2), f2.succeeded);
}

#[test]
fn bisecting_isolates_poison_records() {
    // With bisect_batch_on_function_error and 1 retry, a failing batch is halved until the
    // poison record is alone; only poison records are skipped, so the dropped share is the
    // poison rate (binomial, ±4 standard errors). Without bisecting whole batches of up to 100
    // records are skipped with it. Order is kept on every lane either way.
    let base = "shards = 2, batch_size = 100, poison_rate = 0.001, maximum_retry_attempts = 1";
    let (out, rec) = run(&stream_scenario(
        "600s",
        200.0,
        &format!("{{ {base}, bisect_batch_on_function_error = true }}"),
        "duration = \"200ms\"",
    ));
    let b = first(&out);
    let done = b.succeeded + b.dropped;
    let share = b.dropped as f64 / done as f64;
    let se = (0.001 * 0.999 / done as f64).sqrt();
    assert!(
        (share - 0.001).abs() < 4.0 * se,
        "{share} vs 0.001 ± {}",
        4.0 * se
    );
    assert_eq!(assert_in_order(&rec), b.succeeded);
    let (out2, rec2) = run(&stream_scenario(
        "600s",
        200.0,
        &format!("{{ {base} }}"),
        "duration = \"200ms\"",
    ));
    let w = first(&out2);
    assert!(w.dropped > 5 * b.dropped, "{} vs {}", w.dropped, b.dropped);
    assert_eq!(assert_in_order(&rec2), w.succeeded);
}

#[test]
fn stream_records_older_than_the_maximum_age_go_to_the_on_failure_destination() {
    // Every record is poison and retried without limit: each lane's batch is discarded once its
    // oldest record is older than maximum_record_age (60 s), to the destination (dlq).
    let (out, _) = run(&stream_scenario(
        "600s",
        10.0,
        "{ shards = 1, batch_size = 10, poison_rate = 1.0, maximum_record_age = \"60s\", on_failure_destination = true }",
        "duration = \"100ms\"",
    ));
    let f = first(&out);
    assert_eq!(f.succeeded, 0);
    assert_eq!(f.dropped, 0);
    // All but the last ~minute of records have been discarded.
    assert!(
        f.dlq > 4000 && f.in_flight <= 700,
        "{} {}",
        f.dlq,
        f.in_flight
    );
}

// ---------------------------------------------------------------------------------------------
// Adaptive retries

#[test]
fn adaptive_clients_slow_down_and_throttle_far_less_than_standard() {
    // The retry-storm example (1200 requests/s against capacity ~1000/s): the adaptive client's
    // rate limiter brings its sending rate near capacity, so it is throttled far less often
    // than a standard client, at the price of requests waiting in the client (latency).
    let text = std::fs::read_to_string("scenarios/retry-storm.toml").unwrap();
    let (standard, _) = run(&text);
    let (adaptive, _) = run(&text.replace("mode = \"standard\"", "mode = \"adaptive\""));
    let (s, a) = (first(&standard), first(&adaptive));
    assert!(
        (a.throttles.total as f64) < 0.5 * s.throttles.total as f64,
        "adaptive {} vs standard {}",
        a.throttles.total,
        s.throttles.total
    );
    assert!(a.latency_ms.p99 > s.latency_ms.p99);
}
