//! Engine speed in simulated invocations per second (criterion reports "thrpt" in elem/s,
//! one element = one invocation that ran).
//!
//! - steady: one sync function, Poisson 1000/s, exponential 100 ms durations (about 100 busy
//!   environments), 10 minutes simulated, no time series recorded (as in sweeps).
//! - steady+timeseries: the same with the CSV-ready per-bucket rows built (as in `run`).
//! - burst: the legacy us-east-1 staircase, 3000 environments at once, then +500 per minute.
//! - retries: sync standard retries against a reservation 20 % too small (the retry-storm
//!   example); one element = one attempt (throttled attempts are work too).
//! - sqs: an SQS queue of 2000 messages/s in batches of 10; one element = one message.
//! - async: an async spike against a reservation, throttles retried from the internal queue;
//!   one element = one attempt.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lambdasim::model::Model;
use lambdasim::run::simulate;
use lambdasim::scenario::load_str;
use lambdasim::stats::{BucketRow, NoRecorder, Recorder};
use std::hint::black_box;
use std::path::Path;

const STEADY: &str = r#"
name = "steady"
duration = "10m"
[account]
concurrency_limit = 10000
[[functions]]
name = "f"
duration = { dist = "exponential", mean = "100ms" }
[[traffic]]
function = "f"
load = { kind = "constant", rps = 1000 }
"#;

const BURST: &str = r#"
name = "burst"
duration = "10m"
[account]
concurrency_limit = 10000
scaling = "burst"
[[functions]]
name = "f"
timeout = "60s"
duration = { dist = "lognormal", median = "2s", p99 = "8s" }
[[traffic]]
function = "f"
load = { kind = "spike", base = 500, peak = 3000, at = "1m", length = "5m" }
"#;

const RETRIES: &str = r#"
name = "retries"
duration = "10m"
[[functions]]
name = "f"
duration = { dist = "exponential", mean = "100ms" }
reserved_concurrency = 100
[[traffic]]
function = "f"
load = { kind = "constant", rps = 1200 }
retry = { mode = "standard" }
"#;

const SQS: &str = r#"
name = "sqs"
duration = "10m"
[[functions]]
name = "f"
timeout = "30s"
duration = { dist = "exponential", mean = "100ms" }
[[traffic]]
function = "f"
invocation = "sqs"
load = { kind = "constant", rps = 2000 }
sqs = { batch_size = 10 }
"#;

const ASYNC: &str = r#"
name = "async"
duration = "10m"
[[functions]]
name = "f"
duration = { dist = "exponential", mean = "100ms" }
reserved_concurrency = 100
[[traffic]]
function = "f"
invocation = "async"
load = { kind = "spike", base = 500, peak = 2000, at = "1m", length = "2m" }
"#;

fn model(text: &str) -> Model {
    let s = load_str(text, Path::new("bench.toml"), &[]).expect("valid bench scenario");
    Model::build(&s, Path::new("."), Path::new("bench.toml")).expect("model")
}

/// Discards rows but asks for them to be built.
struct Discard(u64);
impl Recorder for Discard {
    fn bucket(&mut self, rows: &[BucketRow]) {
        self.0 += rows.len() as u64;
    }
}

/// What one element of a case's throughput is.
#[derive(Clone, Copy)]
enum Per {
    Invocation,
    Attempt,
    Message,
}

fn count(m: &Model, per: Per) -> u64 {
    let a = simulate(m, &mut NoRecorder).summary.account;
    match per {
        Per::Invocation => a.invocations,
        Per::Attempt => a.attempts,
        Per::Message => a.requests,
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    for (name, text, per) in [
        ("steady", STEADY, Per::Invocation),
        ("burst", BURST, Per::Invocation),
        ("retries", RETRIES, Per::Attempt),
        ("async", ASYNC, Per::Attempt),
        ("sqs", SQS, Per::Message),
    ] {
        let m = model(text);
        g.throughput(Throughput::Elements(count(&m, per)));
        g.bench_function(name, |b| b.iter(|| black_box(count(&m, per))));
    }
    let m = model(STEADY);
    g.throughput(Throughput::Elements(count(&m, Per::Invocation)));
    g.bench_function("steady+timeseries", |b| {
        b.iter(|| {
            let mut d = Discard(0);
            black_box(simulate(&m, &mut d).summary.account.invocations)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
