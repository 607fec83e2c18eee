//! The execution environment lifecycle: provisioned environments before t = 0, INIT on a cold
//! start, warm reuse (MRU), idle reclaim after a sampled idle time, retirement at the maximum
//! lifetime, reset in place after a timeout, and billing of each invocation.
//!
//! Environments and the invocations running on them live in two slabs: an invocation names its
//! environment, and the completion event names the invocation, so an environment could hold
//! several invocations at once. Today every environment runs one at a time.

use super::admission::Pool;
use super::{Caller, Outcome, Sim, SourceKind};
use crate::stats::{EnvEvent, Recorder};
use rand::RngExt;

/// An execution environment. Ids are reused after it is reclaimed. Its other facts
/// (provisioned, end of life) travel with its idle-stack entry and its invocation, so the hot
/// path never reads this slab.
#[derive(Clone, Copy, Debug)]
pub(super) struct Env {
    pub func: u32,
}

/// An idle on-demand environment waiting for reuse (MRU at the end of its function's stack).
#[derive(Clone, Copy, Debug)]
pub(super) struct Idle {
    pub env: u32,
    /// When it is reclaimed if not reused.
    pub reclaim_at: u64,
    /// When its maximum lifetime ends.
    pub retire_at: u64,
    /// It was reset by a timeout: its next invocation runs INIT again, inside the invocation.
    pub reset: bool,
}

/// Where admission placed an invocation.
#[derive(Clone, Copy, Debug)]
pub(super) struct Placement {
    pub env: u32,
    /// The invocation runs INIT first (a new environment, or one reset by a timeout).
    pub cold: bool,
    /// The environment was reset by a timeout: INIT runs again inside the invocation, under
    /// the function timeout; no new environment, no scaling token.
    pub reset: bool,
    pub provisioned: bool,
    /// When the environment's maximum lifetime ends (provisioned: never).
    pub retire_at: u64,
}

/// An invocation in progress: its environment, who waits for it and how it will end.
///
/// It carries a copy of its environment's fixed facts (function, provisioned, end of life), as
/// do the idle stacks, so neither a start nor a completion reads the environment slab: a
/// completion reads one cache line (the slot is aligned to 64 bytes and fits in it).
#[derive(Clone, Copy, Debug)]
#[repr(align(64))]
pub(super) struct Invocation {
    pub caller: Caller,
    /// INIT time of this invocation (0 when warm), µs; at most the 10 s on-demand INIT limit,
    /// so it fits 32 bits.
    pub init: u32,
    /// Time spent in the handler (duration, or the timeout), µs; at most the longest
    /// function timeout (900 s), so it fits 32 bits.
    pub run: u32,
    /// When the environment's maximum lifetime ends.
    pub retire_at: u64,
    pub env: u32,
    pub func: u32,
    pub provisioned: bool,
    pub cold: bool,
    pub outcome: Outcome,
    /// It holds a connection of every dependency its function uses (engine/deps.rs).
    pub connected: bool,
}

// One cache line: INIT and run time in 32 bits leave room for the async event's arrival
// number and the dependency flag.
const _: () = assert!(std::mem::size_of::<Invocation>() == 64);

/// INIT of an on-demand environment is limited to 10 s; past it, Lambda runs INIT again inside
/// the first invocation, under the function timeout. Provisioned (and SnapStart) INIT may take
/// the higher of 130 s and the function timeout, and happens before t = 0 here.
/// Source: "Init phase" of
/// <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>
/// (docs/platform.md "Execution environments").
pub(super) const ON_DEMAND_INIT_LIMIT: u64 = 10_000_000;

impl<R: Recorder> Sim<'_, R> {
    /// Provisioned environments are initialized before t = 0 and take no scaling tokens.
    pub(super) fn create_provisioned(&mut self) {
        for f in 0..self.funcs.len() {
            let n = self.m.functions[f].provisioned;
            self.funcs[f].prov_conf.set(0, self.warmup, n);
            self.funcs[f].prov_alive = n;
            for _ in 0..n {
                let id = self.new_env(f as u32);
                self.funcs[f].prov_idle.push(id);
                self.rec.on_env(0, id, f as u32, EnvEvent::InitEnd, true);
            }
            if self.funcs[f].pool == Pool::Unreserved {
                self.unreserved_used += n;
            }
        }
    }

    pub(super) fn new_env(&mut self, func: u32) -> u32 {
        let id = self.envs.insert(Env { func });
        self.max_live = self.max_live.max(self.envs.live());
        id
    }

    /// Starts an invocation of function `f` where admission placed it.
    pub(super) fn start(&mut self, f: usize, place: Placement, caller: Caller, counted: bool) {
        let now = self.now;
        let warmup = self.warmup;
        let Placement {
            env: id,
            cold,
            reset,
            provisioned,
            retire_at,
        } = place;
        // A batch with a poison message fails as a whole, unless the SQS function reports
        // item failures (then the invocation succeeds and only the poison messages return).
        let poisoned = match caller {
            Caller::Batch { batch, .. } => {
                let b = &self.batches[batch];
                b.poison > 0
                    && !matches!(&self.sources[b.source as usize].kind,
                        SourceKind::Sqs(q) if q.partial)
            }
            _ => false,
        };
        let fm = &self.m.functions[f];
        let fs = &mut self.funcs[f];
        let init = if cold {
            fm.cold_start_us(&mut fs.rng_init)
        } else {
            0
        };
        // INIT that runs inside the invocation, under the function timeout: after a reset,
        // and after an on-demand INIT that hit its limit (the limit is spent first).
        let (init, in_invoke) = if reset {
            (0, init)
        } else if init > ON_DEMAND_INIT_LIMIT {
            (ON_DEMAND_INIT_LIMIT, init)
        } else {
            (init, 0)
        };
        let mut busy = in_invoke + fm.at_memory(fm.duration.sample(&mut fs.rng_duration).0);
        // Managed Instances: CPU sharing with the requests already on the environment.
        let managed = fs.pool == Pool::Managed;
        if managed {
            let k = self.managed_stretch(f, id);
            if k > 1.0 {
                busy = (busy as f64 * k).round() as u64;
            }
        }
        let fm = &self.m.functions[f];
        let fs = &mut self.funcs[f];
        let (outcome, run) = if busy > fm.timeout.0 {
            (Outcome::Timeout, fm.timeout.0)
        } else if poisoned || (fm.error_rate > 0.0 && fs.rng_errors.random::<f64>() < fm.error_rate)
        {
            (Outcome::Error, busy)
        } else {
            (Outcome::Success, busy)
        };
        fs.bucket_counts.invocations += 1;
        let spill = !provisioned && fs.prov_conf.value > 0;
        if cold {
            fs.bucket_counts.cold_starts += 1;
        }
        if spill {
            fs.bucket_counts.spillover += 1;
        }
        if counted {
            fs.totals.invocations += 1;
            fs.totals.cold_starts += cold as u64;
            fs.totals.environments_created += (cold && !reset) as u64;
            fs.totals.spillover += spill as u64;
        }
        fs.busy.inc(now, warmup);
        if provisioned {
            fs.busy_prov.inc(now, warmup);
            if let Some(t) = fs.tracking.as_deref_mut() {
                t.accrue(now, fs.busy_prov.value);
            }
        }
        self.account_busy.inc(now, warmup);
        // Provisioned environments are allocated concurrency, not unreserved concurrency
        // (CloudWatch `UnreservedConcurrentExecutions`).
        if fs.pool == Pool::Unreserved && !provisioned {
            self.unreserved_busy.inc(now, warmup);
        }
        let caller = self.gateway_watch(caller, init + run, cold);
        debug_assert!(init <= u64::from(u32::MAX) && run <= u64::from(u32::MAX));
        let inv = self.invocations.insert(Invocation {
            caller,
            init: init as u32,
            run: run as u32,
            retire_at,
            env: id,
            func: f as u32,
            provisioned,
            cold,
            outcome,
            connected: false,
        });
        let init_end = now + init + in_invoke.min(run);
        if cold {
            self.rec
                .on_env(now, id, f as u32, EnvEvent::InitStart, provisioned);
            self.rec
                .on_env(init_end, id, f as u32, EnvEvent::InitEnd, provisioned);
        }
        // A Managed Instances environment is busy from its first invocation to its last.
        if !managed || self.managed.slots[id as usize].in_flight == 1 {
            self.rec
                .on_env(init_end, id, f as u32, EnvEvent::BusyStart, provisioned);
        }
        if self.deps_on && !self.m.dependencies.uses[f].is_empty() {
            self.deps_begin(inv, init);
        } else {
            self.queue.push_complete(now + init + run, id, inv);
        }
    }

    /// Invocation `inv` ended: billing, its environment goes idle (or away), then the caller's
    /// invocation model decides what happens to the request.
    pub(super) fn complete(&mut self, inv: u32) {
        let now = self.now;
        let warmup = self.warmup;
        let call = self.invocations[inv];
        self.invocations.free(inv);
        let id = call.env;
        let f = call.func as usize;
        let managed = self.funcs[f].pool == Pool::Managed;
        if !managed || self.managed.slots[id as usize].in_flight == 1 {
            self.rec
                .on_env(now, id, call.func, EnvEvent::BusyEnd, call.provisioned);
        }
        let fm = &self.m.functions[f];
        let fs = &mut self.funcs[f];
        // Billing: per ms, INIT of on-demand cold starts included (docs/platform.md "Prices").
        let ondemand_cold = call.cold && !call.provisioned;
        // A SnapStart cold start bills its hooks, not the snapshot restore, and runs no INIT
        // (model::SnapStart).
        let snapstart = fm.snapstart_billed_us().filter(|_| ondemand_cold);
        let (init, run) = (u64::from(call.init), u64::from(call.run));
        let billed_us = if let Some(hooks) = snapstart {
            run + hooks
        } else if ondemand_cold && self.m.pricing.bill_init {
            init + run
        } else {
            run
        };
        let billed_ms = billed_us.div_ceil(1000);
        let init_ms = if ondemand_cold && snapstart.is_none() {
            (init + run).div_ceil(1000) - run.div_ceil(1000)
        } else {
            0
        };
        if call.outcome != Outcome::Success {
            fs.bucket_counts.errors += 1;
        }
        // CloudWatch `Duration`: handler time, INIT excluded.
        fs.bucket_counts.durations += 1;
        fs.bucket_counts.duration_sum_us += run;
        if call.caller.arrival() >= warmup {
            if call.outcome != Outcome::Success {
                fs.totals.errors += 1;
            }
            fs.duration.record(billed_ms * 1000);
            if call.provisioned {
                fs.billed_provisioned_ms += billed_ms as u128;
            } else if managed {
                // Managed Instances bill instances, not duration (docs/platform.md).
            } else {
                fs.billed_ondemand_ms += billed_ms as u128;
            }
            fs.init_ms += init_ms as u128;
        }
        // The environment is free again (or gone): concurrency drops.
        fs.busy.dec(now, warmup);
        if call.provisioned {
            fs.busy_prov.dec(now, warmup);
            if let Some(t) = fs.tracking.as_deref_mut() {
                t.accrue(now, fs.busy_prov.value);
            }
        }
        self.account_busy.dec(now, warmup);
        let unreserved = fs.pool == Pool::Unreserved;
        if unreserved && !call.provisioned {
            self.unreserved_busy.dec(now, warmup);
        }
        if managed {
            self.managed_release(f, id);
        } else if call.provisioned {
            // Provisioned environments are never reclaimed; after a timeout one is
            // re-initialized in the background (docs/platform.md "Concurrency limits"). One
            // beyond a lowered configuration goes instead (engine/provisioned.rs).
            if fs.prov_alive > fs.prov_conf.value {
                self.release_if_excess(f, id);
            } else {
                fs.prov_idle.push(id);
            }
        } else {
            if unreserved {
                self.unreserved_used -= 1;
            }
            // After a timeout the environment is reset in place: it stays, and its next
            // invocation runs INIT again inside the invocation, under the function timeout
            // (docs/platform.md "Execution environments"). No new environment, no token.
            let retire_at = call.retire_at;
            if now >= retire_at {
                self.envs.free(id);
                self.rec
                    .on_env(now, id, call.func, EnvEvent::Reclaimed, false);
            } else {
                let idle_for = fm.idle_timeout.sample(&mut fs.rng_idle).0;
                let reclaim_at = (now + idle_for).min(retire_at);
                fs.idle.push(Idle {
                    env: id,
                    reclaim_at,
                    retire_at,
                    reset: call.outcome == Outcome::Timeout,
                });
            }
        }
        if call.connected {
            self.deps_release(f);
        }
        match call.caller {
            Caller::Sync {
                source,
                client,
                arrival,
                attempt,
            } => self.sync_done(source, client, arrival, attempt, call.outcome, call.cold),
            Caller::Async(e) => self.async_done(e, call.outcome, call.cold),
            Caller::Detached { .. } => {}
            Caller::Batch { batch, .. } => {
                let s = self.batches[batch].source;
                match self.sources[s as usize].kind {
                    SourceKind::Sqs(_) => self.sqs_done(batch, call.outcome, call.cold),
                    _ => self.stream_done(batch, call.outcome, call.cold),
                }
            }
        }
    }

    /// Frees idle environments whose reclaim time has passed, so memory follows live
    /// environments even when nothing pops them (load fell to zero).
    pub(super) fn compact_idle(&mut self, now: u64) {
        for (f, fs) in self.funcs.iter_mut().enumerate() {
            let envs = &mut self.envs;
            let rec = &mut *self.rec;
            fs.idle.retain(|idle| {
                if idle.reclaim_at <= now {
                    envs.free(idle.env);
                    rec.on_env(
                        idle.reclaim_at,
                        idle.env,
                        f as u32,
                        EnvEvent::Reclaimed,
                        false,
                    );
                    false
                } else {
                    true
                }
            });
        }
    }
}
