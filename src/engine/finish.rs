//! The end of a run: what it produced ([`RunResult`], per function and per capacity provider)
//! and the walk over the live state that finds the requests still in flight, an independent
//! check of the counters (conservation catches a lost request).

use super::*;
/// What a run produced: totals and distributions for the summary; rows went to the recorder.
pub struct RunResult {
    /// Per function (scenario order).
    pub functions: Vec<FunctionResult>,
    /// Peak account concurrency over the summary window.
    pub account_peak: u32,
    /// Time-weighted mean account concurrency over the summary window.
    pub account_mean: f64,
    /// Most environments alive at once (memory bound check).
    pub max_live_environments: usize,
    /// Events the loop processed.
    pub events: u64,
    /// Per dependency (scenario order): its statistics over the summary window.
    pub dependencies: Vec<crate::stats::DependencySummary>,
    /// Lambda Managed Instances: per capacity provider (scenario order).
    pub providers: Vec<ProviderResult>,
}

/// What a run produced for one Lambda Managed Instances capacity provider.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderResult {
    /// Time-weighted mean of instances billed (running or launching) over the summary window.
    pub instances_mean: f64,
    /// Most instances billed at once over the summary window.
    pub instances_peak: u32,
}

/// What a run produced for one function.
pub struct FunctionResult {
    /// Event counts over the summary window.
    pub totals: Counters,
    /// Invocations still running at the end of the run.
    pub in_flight: u64,
    /// End-to-end latency of requests, µs.
    pub latency: Histogram,
    /// Latency of invocations with a cold start, µs.
    pub latency_cold: Histogram,
    /// Latency of invocations without a cold start, µs.
    pub latency_warm: Histogram,
    /// Handler durations, µs.
    pub duration: Histogram,
    /// Peak concurrency of the function.
    pub concurrency_peak: u32,
    /// Time-weighted mean concurrency of the function.
    pub concurrency_mean: f64,
    /// Time-weighted mean of busy provisioned environments.
    pub provisioned_busy_mean: f64,
    /// Billed milliseconds on on-demand environments.
    pub billed_ondemand_ms: u128,
    /// Billed milliseconds on provisioned environments.
    pub billed_provisioned_ms: u128,
    /// Billed ms that INIT of on-demand cold starts adds, billed or not (for what-ifs).
    pub init_ms: u128,
    /// Time-weighted mean of the provisioned concurrency configured over the summary window
    /// (the constant setting when it does not change).
    pub provisioned_configured_mean: f64,
    /// Managed Instances: most invocations one environment of the function held at once
    /// (0 for other functions).
    pub managed_peak_slots: u32,
}

impl<R: Recorder> Sim<'_, R> {
    /// Counted requests still alive at the end, per function, found by walking the live state
    /// (running sync and async invocations, pending retries, queued messages and records,
    /// batches): an independent check of the counters, so conservation can catch a lost request.
    fn in_flight(&self) -> Vec<u64> {
        let warmup = self.warmup;
        let mut in_flight = vec![0u64; self.funcs.len()];
        for (_, inv) in self.invocations.iter_live() {
            let counted = inv.caller.arrival() >= warmup;
            if counted && !matches!(inv.caller, Caller::Batch { .. } | Caller::Detached { .. }) {
                in_flight[self.envs[inv.env].func as usize] += 1;
            }
        }
        for (_, t) in self.timers.iter_live() {
            let (source, arrival) = match *t {
                Timer::Sync {
                    source, arrival, ..
                } => (source, arrival),
                Timer::Async(e) => (e.source, e.arrival),
                Timer::GatewayTimeout {
                    source, arrival, ..
                } => (source, arrival),
                _ => continue,
            };
            if arrival >= warmup {
                in_flight[self.function_of(source)] += 1;
            }
        }
        let counted = |msgs: &mut dyn Iterator<Item = &Msg>| {
            msgs.filter(|m| m.arrival >= warmup).count() as u64
        };
        for (_, b) in self.batches.iter_live() {
            in_flight[self.function_of(b.source)] += counted(&mut b.msgs.iter());
        }
        for (i, s) in self.sources.iter().enumerate() {
            let f = self.m.sources[i].function;
            match &s.kind {
                SourceKind::Sync(fleet) => {
                    in_flight[f] += fleet.waiting().filter(|&a| a >= warmup).count() as u64
                }
                SourceKind::Sqs(q) => in_flight[f] += q.visible_from(warmup),
                SourceKind::Async(q) => in_flight[f] += q.counted_from_warmup(),
                SourceKind::Stream(st) => {
                    for lane in &st.lanes {
                        in_flight[f] += counted(&mut lane.queue.iter());
                    }
                }
            }
        }
        in_flight
    }

    pub(super) fn finish(mut self) -> RunResult {
        debug_assert!(self.funcs.iter().all(|fs| fs.bucket_latency[0].is_empty()
            && fs.bucket_latency[1].is_empty()
            && fs.bucket_latency[2].is_empty()));
        let now = self.end;
        let warmup = self.warmup;
        let in_flight = self.in_flight();
        let account_mean = self.account_busy.window_mean(now, warmup);
        let dependencies = self
            .deps
            .iter_mut()
            .map(|d| d.summary(now, warmup))
            .collect();
        let providers = self
            .managed
            .providers
            .iter_mut()
            .map(|p| ProviderResult {
                instances_mean: p.billed.window_mean(now, warmup),
                instances_peak: p.billed.peak,
            })
            .collect();
        let peak_slots: Vec<u32> = self
            .managed
            .funcs
            .iter()
            .map(|f| f.as_ref().map_or(0, |f| f.peak_slots))
            .collect();
        let functions = self
            .funcs
            .into_iter()
            .enumerate()
            .map(|(i, mut fs)| {
                let fm = &self.m.functions[i];
                let prov = fm.provisioned;
                let varies = fm.provisioned_plan.varies();
                let mut latency = fs.latency_cold.clone();
                latency.merge(&fs.latency_warm);
                FunctionResult {
                    totals: fs.totals,
                    in_flight: in_flight[i],
                    concurrency_mean: fs.busy.window_mean(now, warmup),
                    concurrency_peak: fs.busy.peak,
                    provisioned_busy_mean: if prov > 0 || varies {
                        fs.busy_prov.window_mean(now, warmup)
                    } else {
                        0.0
                    },
                    latency,
                    latency_cold: fs.latency_cold,
                    latency_warm: fs.latency_warm,
                    duration: fs.duration,
                    billed_ondemand_ms: fs.billed_ondemand_ms,
                    billed_provisioned_ms: fs.billed_provisioned_ms,
                    init_ms: fs.init_ms,
                    provisioned_configured_mean: if varies {
                        fs.prov_conf.window_mean(now, warmup)
                    } else {
                        prov as f64
                    },
                    managed_peak_slots: peak_slots[i],
                }
            })
            .collect();
        RunResult {
            functions,
            account_peak: self.account_busy.peak,
            account_mean,
            max_live_environments: self.max_live,
            events: self.events,
            dependencies,
            providers,
        }
    }
}
