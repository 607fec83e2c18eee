//! Engine speed beside the bare event loop, side by side in one process so the ratio does not
//! depend on how busy the machine is.
//!
//! The reference is a copy of a minimal Lambda-like loop (Poisson arrivals, exponential
//! durations, a concurrency cap, cold starts when no idle environment exists, an MRU idle stack
//! with lazy idle-timeout reclaim, a binary-heap completion queue, and nothing else: no
//! statistics, no outputs). It is the speed limit a full simulator can approach.
//!
//! Cases: about 100, 3,000 and 10,000 concurrent environments (rate = 10 x concurrency per
//! second, mean duration 100 ms, no throttles). Each case runs the reference, the engine alone
//! (`simulate` without a recorder: no time series, no charts, no what-ifs) and, at 100, the
//! whole `lambdasim run` (time series, charts, what-ifs, every output file). Reported: the
//! best of `REPS` rounds of invocations per second of wall clock and of this thread's CPU time
//! (immune to other processes on a shared machine; not for `run`, which uses every core), and
//! the ratios to the reference.
//!
//! `cargo bench --bench limit` (environment `LIMIT_INVOCATIONS`, default 3,000,000).

use lambdasim::app::{run, RunOptions};
use lambdasim::model::Model;
use lambdasim::rng::{stream, Rng};
use lambdasim::run::simulate;
use lambdasim::scenario::load_str;
use lambdasim::stats::NoRecorder;
use rand::RngExt;
use rand_distr::{Distribution, Exp};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

const REPS: usize = 5;

/// The reference loop: `n` arrivals at `rate`/s, durations exponential with mean `mean_s`,
/// at most `c` busy environments. Returns invocations that ran.
fn reference(n: u64, rate: f64, mean_s: f64, c: usize) -> u64 {
    let idle_timeout_us: u64 = 600_000_000;
    let mut rng: Rng = stream(1, "limit", 0);
    let ia = Exp::new(rate).expect("rate > 0");
    let sv = Exp::new(1.0 / mean_s).expect("mean > 0");
    let mut heap: BinaryHeap<Reverse<u64>> = BinaryHeap::with_capacity(c + 1);
    let mut idle: Vec<u64> = Vec::with_capacity(c);
    let mut now: u64 = 0;
    let mut ran = 0u64;
    for _ in 0..n {
        now += (ia.sample(&mut rng) * 1e6) as u64;
        while let Some(&Reverse(t)) = heap.peek() {
            if t > now {
                break;
            }
            heap.pop();
            idle.push(t);
        }
        let mut k = 0;
        while k < idle.len() && idle[k] + idle_timeout_us < now {
            k += 1;
        }
        if k > 0 {
            idle.drain(..k);
        }
        if heap.len() >= c {
            continue;
        }
        let mut d = (sv.sample(&mut rng) * 1e6) as u64;
        if idle.pop().is_none() {
            d += 200_000 + rng.random_range(0..100_000);
        }
        heap.push(Reverse(now + d));
        ran += 1;
    }
    ran
}

/// The same system as a scenario: the scaling budget and account limit far above the load, so
/// nothing is throttled.
fn scenario(rate: f64, seconds: f64) -> String {
    format!(
        r#"
name = "limit"
duration = "{seconds}s"
[account]
concurrency_limit = 1000000
scale_step = 1000000
scale_interval = "1ms"
[[functions]]
name = "f"
timeout = "900s"
duration = {{ dist = "exponential", mean = "100ms" }}
init = {{ dist = "uniform", min = "200ms", max = "300ms" }}
idle_timeout = "600s"
[[traffic]]
function = "f"
load = {{ kind = "constant", rps = {rate} }}
"#
    )
}

/// CPU time of this thread in seconds (Linux `schedstat`, nanoseconds), so the figures do not
/// depend on how many other processes share the cores; `None` elsewhere.
fn thread_cpu_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Best of `REPS` rounds of units per second: (wall clock, this thread's CPU time).
fn best_rate(mut f: impl FnMut() -> u64) -> (f64, f64) {
    let (mut wall, mut cpu) = (0.0f64, 0.0f64);
    for _ in 0..REPS {
        let (t, c) = (Instant::now(), thread_cpu_s());
        let n = black_box(f()) as f64;
        wall = wall.max(n / t.elapsed().as_secs_f64());
        if let (Some(c0), Some(c1)) = (c, thread_cpu_s()) {
            cpu = cpu.max(n / (c1 - c0).max(1e-9));
        }
    }
    (wall, cpu)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let n: u64 = std::env::var("LIMIT_INVOCATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "invocations per second, best of {REPS}; wall clock, and (cpu) this thread's CPU time"
    );
    println!(
        "{:>11} {:>22} {:>22} {:>13} {:>10} {:>6}",
        "concurrency", "limit (cpu)", "engine (cpu)", "ratio (cpu)", "run wall", "ratio"
    );
    for c in [100u32, 3000, 10_000] {
        let rate = c as f64 * 10.0;
        let seconds = (n as f64 / rate).ceil();
        let text = scenario(rate, seconds);
        let s = load_str(&text, Path::new("limit.toml"), &[]).expect("valid scenario");
        let m = Model::build(&s, Path::new("."), Path::new("limit.toml")).expect("model");
        let got = simulate(&m, &mut NoRecorder).summary.account;
        assert_eq!(got.throttles.total, 0, "the benchmark must not throttle");
        let limit = best_rate(|| reference(n, rate, 0.1, 10 * c as usize));
        let engine = best_rate(|| simulate(&m, &mut NoRecorder).summary.account.invocations);
        let mut line = format!(
            "{c:>11} {:>10.3e} ({:>9.3e}) {:>10.3e} ({:>9.3e}) {:>5.2} ({:>5.2})",
            limit.0,
            limit.1,
            engine.0,
            engine.1,
            engine.0 / limit.0,
            engine.1 / limit.1
        );
        if c == 100 {
            let path = dir.path().join("limit.toml");
            std::fs::write(&path, &text).expect("write scenario");
            let opts = RunOptions {
                scenario: path,
                out: Some(dir.path().join("out")),
                charts: true,
                ..Default::default()
            };
            let (whole, _) =
                best_rate(|| run(&opts).expect("run").output.summary.account.invocations);
            line += &format!(" {whole:>10.3e} {:>6.2}", whole / limit.0);
        }
        println!("{line}");
    }
}
