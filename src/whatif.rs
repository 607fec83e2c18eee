//! Cost what-ifs of a run: "what would this cost on arm64?", "how much of it is INIT
//! billing?", "what if the function had no (or some) provisioned concurrency?".
//!
//! Two kinds of answers, chosen for honesty:
//! - **Price swaps** (x86_64 <-> arm64) reuse the run's own billed seconds: the model's
//!   durations do not depend on the architecture, so the same run priced with the other
//!   architecture's rates (docs/platform.md "Prices") is exact *for the model* (in reality arm64
//!   durations differ by workload; rerun with measured durations to include that).
//! - **Behaviour changes** need a re-simulation: provisioned concurrency changes cold starts,
//!   spillover and latency, not only the bill. Each variant reruns the model with the same seed
//!   (common random numbers: the same arrivals and durations), so the difference to this run is
//!   the effect of the change, not noise.
//! - **INIT billing** (`pricing.bill_init`) only changes the bill: the engine counts the billed
//!   milliseconds INIT adds to on-demand cold starts (billed or not), so its price is exact
//!   without a rerun.
//!
//! The rule of thumb the variants illustrate (docs/platform.md "Prices"): a provisioned environment
//! costs `configured` per GB-s whether busy or not, and saves `on-demand - provisioned duration`
//! per busy GB-s, so it pays off above a utilization of
//! 0.0000041667 / (0.0000166667 - 0.0000097222) = 60 % (x86_64; arm64 the same to 0.1 %).

use crate::cost::{price, rates};
use crate::model::Model;
use crate::run::{simulate, RunOutput};
use crate::scenario::{Architecture, Invocation};
use crate::stats::summary::{Cost, FunctionSummary, Throttles};
use crate::stats::{NoRecorder, Summary};
use rayon::prelude::*;
use serde::Serialize;

/// One provisioned-concurrency variant of a function, everything else unchanged.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Variant {
    /// Provisioned concurrency of the variant.
    pub provisioned_concurrency: u32,
    /// False for this run itself, true for a re-simulation with the same seed.
    pub simulated: bool,
    /// Total cost of the function, USD.
    pub cost_usd: f64,
    /// Cold starts.
    pub cold_starts: u64,
    /// 99th percentile end-to-end latency, ms.
    pub latency_p99_ms: f64,
    /// Invocations that spilled over to on-demand environments.
    pub spillover_invocations: u64,
    /// Mean share of provisioned environments busy.
    pub utilization_mean: f64,
    /// Requests that succeeded, and that failed (errors, timeouts, throttled to the end).
    pub succeeded: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Throttled attempts by reason, and their share of all attempts.
    pub throttles: Throttles,
    /// Throttled attempts over all attempts.
    pub throttle_ratio: f64,
    /// `cost_usd` per million succeeded requests (null when none succeeded).
    pub cost_per_million_succeeded_usd: Option<f64>,
    /// Which lever the variant pulls: "provisioned", "autoscaling", "snapstart" or "managed_instances".
    pub lever: &'static str,
}

fn pct_change(from: f64, to: f64) -> String {
    if from == 0.0 {
        return if to == 0.0 {
            "+0 %".into()
        } else {
            "new".into()
        };
    }
    format!("{:+.0} %", 100.0 * (to - from) / from)
}

/// One line naming the trade of variant `v` against this run `base`, e.g.
/// "+17 % cost: throttles 23.9 % -> 0, completed +32 %, p99 14975 -> 980 ms".
pub fn verdict(base: &Variant, v: &Variant) -> String {
    if !v.simulated {
        return "this run".into();
    }
    let pct1 = |r: f64| {
        if r == 0.0 {
            "0".to_string()
        } else {
            format!("{:.1} %", 100.0 * r)
        }
    };
    format!(
        "{} cost: throttles {} -> {}, completed {}, p99 {:.0} -> {:.0} ms",
        pct_change(base.cost_usd, v.cost_usd),
        pct1(base.throttle_ratio),
        pct1(v.throttle_ratio),
        pct_change(base.succeeded as f64, v.succeeded as f64),
        base.latency_p99_ms,
        v.latency_p99_ms
    )
}

/// What-ifs of one function (`cost_whatif` in summary.json).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct WhatIf {
    /// The architecture of this run.
    pub architecture: &'static str,
    /// This run's total priced on x86_64 and on arm64 (same billed seconds).
    pub x86_64: f64,
    /// This run's total priced on arm64.
    pub arm64: f64,
    /// The part of this run's compute cost that is INIT of on-demand cold starts (0 when
    /// `pricing.bill_init = false`); `init_if_billed` is what it is or would be when billed.
    pub init_billed: f64,
    /// This run's INIT cost if INIT were billed.
    pub init_if_billed: f64,
    /// Break-even utilization of provisioned concurrency at this architecture's prices.
    pub provisioned_break_even_utilization: f64,
    /// This run and re-simulations with other provisioned concurrencies, by provisioned count.
    pub provisioned: Vec<Variant>,
}

/// The architecture's name as written in scenarios.
pub fn arch_name(a: Architecture) -> &'static str {
    match a {
        Architecture::X86_64 => "x86_64",
        Architecture::Arm64 => "arm64",
    }
}

/// `configured / (on-demand - provisioned duration)`: the utilization above which a
/// provisioned environment is cheaper than on-demand for the same work.
pub fn break_even_utilization(arch: Architecture, p: &crate::scenario::Pricing) -> f64 {
    let (od, alloc, dur) = rates(arch, p);
    if od > dur {
        alloc / (od - dur)
    } else {
        f64::INFINITY
    }
}

/// This run's cost of function `f` priced with architecture `to`. The billed seconds are
/// recovered from the cost parts: on-demand compute / rate, and the provisioned duration part
/// (provisioned cost minus the configured part) / rate.
pub fn price_swap(model: &Model, f: usize, c: &Cost, invocations: u64, to: Architecture) -> f64 {
    let fm = &model.functions[f];
    let p = &model.pricing;
    let gb = fm.memory_mb as f64 / 1024.0;
    let window_s = model.duration.saturating_sub(model.warmup).as_secs_f64();
    let (od, alloc, dur) = rates(fm.architecture, p);
    let configured = fm.provisioned as f64 * gb * window_s * alloc;
    let ondemand_s = if od > 0.0 { c.compute / (gb * od) } else { 0.0 };
    let prov_s = if dur > 0.0 {
        ((c.provisioned - configured) / (gb * dur)).max(0.0)
    } else {
        0.0
    };
    price(
        to,
        fm.memory_mb,
        fm.provisioned,
        p,
        invocations,
        ondemand_s,
        prov_s,
        window_s,
    )
    .total
        + c.managed_instances
}

fn variant(s: &FunctionSummary, provisioned: u32, simulated: bool, lever: &'static str) -> Variant {
    Variant {
        lever,
        provisioned_concurrency: provisioned,
        simulated,
        cost_usd: s.cost_usd.total,
        cold_starts: s.cold_starts,
        latency_p99_ms: s.latency_ms.p99,
        spillover_invocations: s.provisioned.spillover_invocations,
        utilization_mean: s.provisioned.utilization_mean,
        succeeded: s.succeeded,
        failed: s.failed,
        throttles: s.throttles.clone(),
        throttle_ratio: s.throttle_ratio,
        cost_per_million_succeeded_usd: (s.succeeded > 0)
            .then(|| s.cost_usd.total / s.succeeded as f64 * 1e6),
    }
}

/// The offered load of function `f` in environments, known before the run: Σ over its traffic
/// of mean arrival rate x mean duration (SQS and stream traffic per full batch), which is the
/// mean concurrency by Little's law, plus the INIT time of one cold start per environment
/// spread over the run.
pub fn offered_load(model: &Model, f: usize) -> f64 {
    let fm = &model.functions[f];
    let duration_s = (fm.duration.mean_secs() * fm.cpu_factor).min(fm.timeout.as_secs_f64());
    let load: f64 = model
        .sources
        .iter()
        .filter(|s| s.function == f)
        .map(|s| {
            let per_invocation = match s.invocation {
                Invocation::Sqs => s.sqs.batch_size.max(1) as f64,
                Invocation::Stream => s.stream.batch_size.max(1) as f64,
                _ => 1.0,
            };
            s.profile.mean_rate(model.duration) / per_invocation * duration_s
        })
        .sum();
    let run_s = model.duration.as_secs_f64().max(1e-6);
    load * (1.0 + fm.init.mean_secs() * fm.cpu_factor / run_s)
}

/// The provisioned counts worth comparing with this run's: none at all, and enough for `mean`
/// concurrent environments (capped by the reservation, or by half the unreserved pool).
fn alternatives(model: &Model, f: usize, mean: f64) -> Vec<u32> {
    let fm = &model.functions[f];
    let cap = fm.reserved.unwrap_or(model.account.unreserved_pool / 2);
    let mean = (mean.ceil().min(u32::MAX as f64) as u32).min(cap);
    // A Managed Instances function is compared with the same traffic on default Lambda,
    // on-demand (0) and provisioned.
    let managed = model.capacity.functions.get(f).is_some_and(Option::is_some);
    let mut v: Vec<u32> = [0, mean]
        .into_iter()
        .filter(|&n| managed || n != fm.provisioned)
        .collect();
    v.dedup();
    v
}

/// The provisioned variants to simulate, (function, provisioned) in scenario order, for the
/// mean concurrency `mean(f)` of each function.
fn jobs(model: &Model, mean: impl Fn(usize) -> f64) -> Vec<(usize, u32)> {
    let mut jobs = Vec::new();
    for f in 0..model.functions.len() {
        if model.functions[f].reserved == Some(0) {
            continue;
        }
        jobs.extend(alternatives(model, f, mean(f)).into_iter().map(|n| (f, n)));
    }
    jobs
}

fn simulate_variant(model: &Model, (f, n): (usize, u32)) -> Summary {
    let mut m = model.clone();
    m.functions[f].provisioned = n;
    // On default Lambda: the function leaves its capacity provider (if it had one).
    if let Some(c) = m.capacity.functions.get_mut(f) {
        *c = None;
    }
    simulate(&m, &mut NoRecorder).summary
}

/// Every function's what-ifs, in scenario order, simulated after the run in parallel; the
/// result does not depend on the thread count.
pub fn whatifs(model: &Model, out: &RunOutput) -> Vec<(String, WhatIf)> {
    let jobs = jobs(model, |f| out.summary.functions[f].1.concurrency.mean);
    let results: Vec<Summary> = jobs
        .par_iter()
        .map(|&j| simulate_variant(model, j))
        .collect();
    assemble(model, out, &jobs, &results)
}

/// Variants simulated before their run ended, on a guess: [`beside`] hands them to
/// [`finish_beside`].
#[derive(Default)]
pub struct Speculated {
    /// False: what-ifs are off (`--no-whatif`).
    enabled: bool,
    done: Vec<((usize, u32), Summary)>,
}

/// Runs `main` (the run itself) on this thread while one other thread simulates the variants
/// the run will most likely need: none provisioned, and the offered load (see
/// [`offered_load`]) in place of the mean concurrency the run will measure. `enabled = false`
/// runs `main` alone.
pub fn beside<T>(model: &Model, enabled: bool, main: impl FnOnce() -> T) -> (T, Speculated) {
    if !enabled {
        return (main(), Speculated::default());
    }
    let guess = jobs(model, |f| offered_load(model, f));
    std::thread::scope(|scope| {
        let variants = scope.spawn(|| {
            guess
                .iter()
                .map(|&j| (j, simulate_variant(model, j)))
                .collect()
        });
        let out = main();
        let done = variants
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (
            out,
            Speculated {
                enabled: true,
                done,
            },
        )
    })
}

/// The run's what-ifs, exactly those of [`whatifs`]: variants that [`beside`] guessed right are
/// reused, the others are simulated now, in parallel with `other` (chart drawing) on this
/// thread.
pub fn finish_beside<T>(
    model: &Model,
    out: &RunOutput,
    spec: Speculated,
    other: impl FnOnce() -> T,
) -> (Vec<(String, WhatIf)>, T) {
    if !spec.enabled {
        return (Vec::new(), other());
    }
    let jobs = jobs(model, |f| out.summary.functions[f].1.concurrency.mean);
    let mut done = spec.done;
    let missing: Vec<(usize, u32)> = jobs
        .iter()
        .copied()
        .filter(|j| !done.iter().any(|(d, _)| d == j))
        .collect();
    let (simulated, t) = std::thread::scope(|scope| {
        let variants = scope.spawn(|| {
            missing
                .par_iter()
                .map(|&j| (j, simulate_variant(model, j)))
                .collect::<Vec<_>>()
        });
        let t = other();
        let simulated = variants
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (simulated, t)
    });
    done.extend(simulated);
    let results: Vec<Summary> = jobs
        .iter()
        .map(|j| {
            let i = done
                .iter()
                .position(|(d, _)| d == j)
                .expect("every job simulated");
            done.swap_remove(i).1
        })
        .collect();
    (assemble(model, out, &jobs, &results), t)
}

fn assemble(
    model: &Model,
    out: &RunOutput,
    jobs: &[(usize, u32)],
    results: &[Summary],
) -> Vec<(String, WhatIf)> {
    let base = &out.summary;
    base.functions
        .iter()
        .enumerate()
        .map(|(f, (name, s))| {
            let fm = &model.functions[f];
            let (od, _, _) = rates(fm.architecture, &model.pricing);
            let gb = fm.memory_mb as f64 / 1024.0;
            let init = out.init_ms[f] as f64 / 1000.0 * gb * od;
            let lever = if model.capacity.functions.get(f).is_some_and(Option::is_some) {
                "managed_instances"
            } else {
                "provisioned"
            };
            let mut provisioned = vec![variant(s, fm.provisioned, false, lever)];
            for (&(jf, n), r) in jobs.iter().zip(results) {
                if jf == f {
                    provisioned.push(variant(&r.functions[f].1, n, true, "provisioned"));
                }
            }
            // This run first when it is on Managed Instances, then by provisioned count.
            provisioned.sort_by_key(|v| (v.lever == "provisioned", v.provisioned_concurrency));
            let w = WhatIf {
                architecture: arch_name(fm.architecture),
                x86_64: price_swap(model, f, &s.cost_usd, s.invocations, Architecture::X86_64),
                arm64: price_swap(model, f, &s.cost_usd, s.invocations, Architecture::Arm64),
                init_billed: if model.pricing.bill_init { init } else { 0.0 },
                init_if_billed: init,
                provisioned_break_even_utilization: break_even_utilization(
                    fm.architecture,
                    &model.pricing,
                ),
                provisioned,
            };
            (name.clone(), w)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;
    use std::path::Path;

    fn model(text: &str) -> Model {
        let s = load_str(text, Path::new("t.toml"), &[]).expect("valid scenario");
        Model::build(&s, Path::new("."), Path::new("t.toml")).expect("model")
    }

    const TWO: &str = r#"
name = "t"
duration = "2m"
[[functions]]
name = "a"
duration = "200ms"
init = "1s"
provisioned_concurrency = 5
[[functions]]
name = "b"
duration = { dist = "exponential", mean = "50ms" }
init = "600ms"
[[traffic]]
function = "a"
load = { kind = "constant", rps = 100 }
[[traffic]]
function = "b"
load = { kind = "steps", steps = [{ at = "0s", rps = 40 }, { at = "1m", rps = 120 }] }
"#;

    #[test]
    fn offered_load_is_rate_times_mean_duration_plus_one_init_per_environment() {
        // a: 100/s x 0.2 s = 20, plus 20 x 1 s of INIT over 120 s.
        let m = model(TWO);
        let a = offered_load(&m, 0);
        assert!((a - 20.0 * (1.0 + 1.0 / 120.0)).abs() < 1e-6, "{a}");
        // b: mean rate (40 + 120) / 2 = 80/s x 0.05 s = 4 (steps averaged at 10,000 points),
        // plus 4 x 0.6 s of INIT over 120 s.
        let b = offered_load(&m, 1);
        assert!((b - 4.0 * (1.0 + 0.6 / 120.0)).abs() < 1e-3, "{b}");
    }

    #[test]
    fn variants_beside_the_run_equal_variants_after_it() {
        // Whatever the guess, the what-ifs are those of the sequential computation.
        let m = model(TWO);
        let (out, spec) = beside(&m, true, || simulate(&m, &mut NoRecorder));
        let (w, ()) = finish_beside(&m, &out, spec, || ());
        assert_eq!(w, whatifs(&m, &out));
        assert_eq!(w.len(), 2);
        assert!(w[0]
            .1
            .provisioned
            .iter()
            .any(|v| v.provisioned_concurrency == 0));
        let (out, spec) = beside(&m, false, || simulate(&m, &mut NoRecorder));
        assert!(finish_beside(&m, &out, spec, || ()).0.is_empty());
    }

    #[test]
    fn verdict_names_cost_throttles_and_completed() {
        let v = |sim, cost, ok, ratio| Variant {
            provisioned_concurrency: 0,
            simulated: sim,
            cost_usd: cost,
            cold_starts: 0,
            latency_p99_ms: 100.0,
            spillover_invocations: 0,
            utilization_mean: 0.0,
            succeeded: ok,
            failed: 0,
            throttles: Throttles::default(),
            throttle_ratio: ratio,
            cost_per_million_succeeded_usd: None,
            lever: "provisioned",
        };
        // 66.54 -> 77.91 is +17 %; 540224 -> 711915 is +32 %.
        let got = verdict(
            &v(false, 66.54, 540_224, 0.2386),
            &v(true, 77.91, 711_915, 0.0),
        );
        assert_eq!(
            got,
            "+17 % cost: throttles 23.9 % -> 0, completed +32 %, p99 100 -> 100 ms"
        );
    }
}
