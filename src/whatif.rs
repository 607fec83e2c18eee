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
use crate::scenario::Architecture;
use crate::stats::summary::{Cost, FunctionSummary};
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
}

fn variant(s: &FunctionSummary, provisioned: u32, simulated: bool) -> Variant {
    Variant {
        provisioned_concurrency: provisioned,
        simulated,
        cost_usd: s.cost_usd.total,
        cold_starts: s.cold_starts,
        latency_p99_ms: s.latency_ms.p99,
        spillover_invocations: s.provisioned.spillover_invocations,
        utilization_mean: s.provisioned.utilization_mean,
    }
}

/// The provisioned counts worth comparing with this run's: none at all, and enough for the
/// mean concurrency (capped by the reservation, or by half the unreserved pool).
fn alternatives(model: &Model, f: usize, s: &FunctionSummary) -> Vec<u32> {
    let fm = &model.functions[f];
    let cap = fm.reserved.unwrap_or(model.account.unreserved_pool / 2);
    let mean = (s.concurrency.mean.ceil() as u32).min(cap);
    let mut v: Vec<u32> = [0, mean]
        .into_iter()
        .filter(|&n| n != fm.provisioned)
        .collect();
    v.dedup();
    v
}

/// Every function's what-ifs, in scenario order. Runs `1 + Σ alternatives` re-simulations in
/// parallel; the result does not depend on the thread count.
pub fn whatifs(model: &Model, out: &RunOutput) -> Vec<(String, WhatIf)> {
    let base = &out.summary;
    // Jobs: (function, provisioned) variants.
    let mut jobs: Vec<(usize, u32)> = Vec::new();
    for (f, (_, s)) in base.functions.iter().enumerate() {
        if model.functions[f].reserved == Some(0) {
            continue;
        }
        jobs.extend(alternatives(model, f, s).into_iter().map(|n| (f, n)));
    }
    let results: Vec<Summary> = jobs
        .par_iter()
        .map(|&(f, n)| {
            let mut m = model.clone();
            m.functions[f].provisioned = n;
            simulate(&m, &mut NoRecorder).summary
        })
        .collect();
    base.functions
        .iter()
        .enumerate()
        .map(|(f, (name, s))| {
            let fm = &model.functions[f];
            let (od, _, _) = rates(fm.architecture, &model.pricing);
            let gb = fm.memory_mb as f64 / 1024.0;
            let init = out.init_ms[f] as f64 / 1000.0 * gb * od;
            let mut provisioned = vec![variant(s, fm.provisioned, false)];
            for (&(jf, n), r) in jobs.iter().zip(&results) {
                if jf == f {
                    provisioned.push(variant(&r.functions[f].1, n, true));
                }
            }
            provisioned.sort_by_key(|v| v.provisioned_concurrency);
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
