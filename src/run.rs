//! Running a model: the engine, then the summary. This is the library's main entry point;
//! the CLI, sweeps and tests all call [`simulate`].

use crate::cost::{cost, Usage};
use crate::engine::{FunctionResult, RunResult, Sim};
use crate::error::Error;
use crate::model::Model;
use crate::scenario::{self, Override, Scenario};
use crate::stats::summary::{
    Concurrency, FunctionSummary, Percentiles, Provisioned, QueueTracker, Throttles,
};
use crate::stats::{Histogram, Recorder, Summary, ThrottleReason};
use std::path::Path;

/// Everything a run produced besides the time series (which went to the recorder).
pub struct RunOutput {
    /// The summary (summary.json).
    pub summary: Summary,
    /// Per function (scenario order): end-to-end latency of cold and of warm invocations, µs.
    pub latency_cold: Vec<Histogram>,
    /// Latency of warm invocations per function, µs.
    pub latency_warm: Vec<Histogram>,
    /// Per function: billed ms that INIT of on-demand cold starts adds (whether billed or not).
    pub init_ms: Vec<u128>,
    /// Per function: time-weighted mean of the provisioned concurrency configured over the
    /// summary window (what the configured part of the cost is billed on).
    pub provisioned_configured: Vec<f64>,
    /// Most execution environments alive at once.
    pub max_live_environments: usize,
    /// Events the engine processed.
    pub events: u64,
}

/// Loads a scenario with overrides and seed, and builds its model.
pub fn load_model(
    path: &Path,
    overrides: &[Override],
    seed: Option<u64>,
) -> Result<(Scenario, Model), Error> {
    let mut s = scenario::load(path, overrides)?;
    if let Some(seed) = seed {
        s.seed = seed;
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let model = Model::build(&s, base, path)?;
    Ok((s, model))
}

/// Runs `model` once, sending time-series rows to `rec`.
pub fn simulate<R: Recorder>(model: &Model, rec: &mut R) -> RunOutput {
    let mut rec = WithQueue {
        inner_enabled: rec.enabled(),
        inner: rec,
        queue: QueueTracker::new(model.functions.len(), model.bucket.as_secs_f64()),
    };
    let result = Sim::new(model, &mut rec).run();
    let mut out = summarize(model, result);
    let q = &rec.queue;
    let n = out.summary.functions.len();
    for (i, (_, f)) in out.summary.functions.iter_mut().enumerate() {
        f.units = units(model, i);
        f.queue = q.levels(i, f.dlq, f.dropped);
    }
    let a = &mut out.summary.account;
    a.queue = q.levels(n, a.dlq, a.dropped);
    out
}

/// The caller's recorder, plus the queue levels of the summary, which always need the bucket
/// rows (even when the caller records nothing).
struct WithQueue<'a, R: Recorder> {
    inner: &'a mut R,
    inner_enabled: bool,
    queue: QueueTracker,
}

impl<R: Recorder> Recorder for WithQueue<'_, R> {
    fn bucket(&mut self, rows: &[crate::stats::BucketRow]) {
        self.queue.bucket(rows);
        if self.inner_enabled {
            self.inner.bucket(rows);
        }
    }
    fn delivered(&mut self, source: u32, lane: u32, arrival: crate::time::Micros) {
        self.inner.delivered(source, lane, arrival);
    }
    #[inline(always)]
    fn on_env(
        &mut self,
        t: u64,
        env: u32,
        function: u32,
        e: crate::stats::EnvEvent,
        provisioned: bool,
    ) {
        self.inner.on_env(t, env, function, e, provisioned);
    }
    #[inline(always)]
    fn on_throttle(&mut self, t: u64, function: u32) {
        self.inner.on_throttle(t, function);
    }
    fn dependencies(&mut self, rows: &[crate::stats::DependencyRow]) {
        if self.inner_enabled {
            self.inner.dependencies(rows);
        }
    }
}

/// What requests and attempts of function `f` count: requests and tries for sync, events
/// and tries for async, messages and batches for SQS, records and batches for streams.
fn units(model: &Model, f: usize) -> &'static str {
    use crate::scenario::Invocation as M;
    let mut models = model
        .sources
        .iter()
        .filter(|s| s.function == f)
        .map(|s| s.invocation);
    let Some(first) = models.next() else {
        return "";
    };
    if models.any(|m| m != first) {
        return "mixed (several invocation models)";
    }
    match first {
        M::Sync => "requests / tries (sync)",
        M::Async => "events / tries (async)",
        M::Sqs => "messages / batches (SQS)",
        M::Stream => "records / batches (stream)",
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn function_summary(
    r: &FunctionResult,
    c: crate::stats::summary::Cost,
    provisioned: f64,
) -> FunctionSummary {
    let t = &r.totals;
    FunctionSummary {
        requests: t.requests,
        attempts: t.attempts,
        invocations: t.invocations,
        succeeded: t.succeeded,
        failed: t.failed,
        timed_out: t.timed_out,
        failed_throttled: t.failed_throttled,
        errors: t.errors,
        throttles: Throttles {
            total: t.throttles_total(),
            burst: t.throttles[ThrottleReason::Burst],
            account: t.throttles[ThrottleReason::Account],
            reserved: t.throttles[ThrottleReason::Reserved],
            rate: t.throttles[ThrottleReason::Rate],
            gateway: t.throttles[ThrottleReason::Gateway],
            capacity: t.throttles[ThrottleReason::Capacity],
        },
        throttle_ratio: ratio(t.throttles_total(), t.attempts),
        cold_starts: t.cold_starts,
        cold_start_ratio: ratio(t.cold_starts, t.invocations),
        retries: t.retries,
        dropped: t.dropped,
        dlq: t.dlq,
        in_flight: r.in_flight,
        latency_ms: Percentiles::from_histogram(&r.latency),
        duration_ms: Percentiles::from_histogram(&r.duration),
        concurrency: Concurrency {
            peak: r.concurrency_peak,
            mean: r.concurrency_mean,
        },
        environments_created: t.environments_created,
        provisioned: Provisioned {
            utilization_mean: if provisioned > 0.0 {
                r.provisioned_busy_mean / provisioned
            } else {
                0.0
            },
            spillover_invocations: t.spillover,
        },
        cost_usd: c,
        queue: Default::default(),
        units: "",
        gateway_timeouts: t.gateway_timeouts,
    }
}

fn summarize(model: &Model, r: RunResult) -> RunOutput {
    let window_s = model.duration.saturating_sub(model.warmup).as_secs_f64();
    let mut functions = Vec::with_capacity(r.functions.len());
    let mut acc = FunctionResult {
        totals: Default::default(),
        in_flight: 0,
        latency: Histogram::new(),
        latency_cold: Histogram::new(),
        latency_warm: Histogram::new(),
        duration: Histogram::new(),
        concurrency_peak: r.account_peak,
        concurrency_mean: r.account_mean,
        provisioned_busy_mean: 0.0,
        billed_ondemand_ms: 0,
        billed_provisioned_ms: 0,
        init_ms: 0,
        provisioned_configured_mean: 0.0,
        managed_peak_slots: 0,
    };
    let mut account_cost = crate::stats::summary::Cost::default();
    let mut prov_total = 0.0;
    for (fm, fr) in model.functions.iter().zip(&r.functions) {
        let usage = Usage {
            invocations: fr.totals.invocations,
            billed_ondemand_ms: fr.billed_ondemand_ms,
            billed_provisioned_ms: fr.billed_provisioned_ms,
            window_s,
            provisioned_configured: fr.provisioned_configured_mean,
            restores: if fm.snapstart_on {
                fr.totals.cold_starts
            } else {
                0
            },
        };
        let c = cost(fm, &model.pricing, &usage);
        account_cost.snapstart += c.snapstart;
        account_cost.requests += c.requests;
        account_cost.compute += c.compute;
        account_cost.provisioned += c.provisioned;
        account_cost.total += c.total;
        functions.push((
            fm.name.clone(),
            function_summary(fr, c, fr.provisioned_configured_mean),
        ));
        acc.totals.add(&fr.totals);
        acc.in_flight += fr.in_flight;
        acc.latency.merge(&fr.latency);
        acc.duration.merge(&fr.duration);
        acc.provisioned_busy_mean += fr.provisioned_busy_mean;
        prov_total += fr.provisioned_configured_mean;
    }
    let capacity_providers = managed_costs(model, &r, window_s, &mut functions, &mut account_cost);
    let account = function_summary(&acc, account_cost, prov_total);
    let summary = Summary {
        scenario: model.name.clone(),
        seed: model.seed,
        duration_s: model.duration.as_secs_f64(),
        account,
        functions,
        gateway: !model.gateways.is_empty(),
        dependencies: model
            .dependencies
            .deps
            .iter()
            .map(|d| d.name.clone())
            .zip(r.dependencies)
            .collect(),
        capacity_providers,
    };
    let init_ms = r.functions.iter().map(|f| f.init_ms).collect();
    let provisioned_configured = r
        .functions
        .iter()
        .map(|f| f.provisioned_configured_mean)
        .collect();
    let (latency_cold, latency_warm) = r
        .functions
        .into_iter()
        .map(|f| (f.latency_cold, f.latency_warm))
        .unzip();
    RunOutput {
        summary,
        latency_cold,
        latency_warm,
        init_ms,
        provisioned_configured,
        max_live_environments: r.max_live_environments,
        events: r.events,
    }
}

/// Lambda Managed Instances: each provider's instance-hours priced (EC2 price plus management
/// fee), shared among its functions in proportion to their invocations (equally when none
/// ran) and added to their costs and the account's.
fn managed_costs(
    model: &Model,
    r: &RunResult,
    window_s: f64,
    functions: &mut [(String, FunctionSummary)],
    account: &mut crate::stats::summary::Cost,
) -> Vec<crate::stats::summary::ProviderSummary> {
    let c = &model.capacity;
    c.providers
        .iter()
        .zip(&r.providers)
        .enumerate()
        .map(|(p, (pm, pr))| {
            let hours = pr.instances_mean * window_s / 3600.0;
            let (ec2, fee) = crate::cost::managed_instances(pm, hours);
            let on: Vec<usize> = (0..functions.len())
                .filter(|&f| c.functions[f].as_ref().is_some_and(|m| m.provider == p))
                .collect();
            let total: u64 = on.iter().map(|&f| functions[f].1.invocations).sum();
            for &f in &on {
                let share = if total > 0 {
                    functions[f].1.invocations as f64 / total as f64
                } else {
                    1.0 / on.len() as f64
                };
                let cost = &mut functions[f].1.cost_usd;
                cost.managed_instances += (ec2 + fee) * share;
                cost.total += (ec2 + fee) * share;
            }
            if !on.is_empty() {
                account.managed_instances += ec2 + fee;
                account.total += ec2 + fee;
            }
            crate::stats::summary::ProviderSummary {
                name: pm.name.clone(),
                instances_mean: pr.instances_mean,
                instances_peak: pr.instances_peak,
                instance_hours: hours,
                ec2_usd: ec2,
                management_fee_usd: fee,
            }
        })
        .collect()
}
