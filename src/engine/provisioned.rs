//! Provisioned concurrency that changes during a run: scheduled actions and target tracking on
//! `ProvisionedConcurrencyUtilization` (`scenario::provisioned` has the keys and the platform
//! facts behind them).
//!
//! The model:
//! - The *configured* provisioned concurrency is a level per function (`FnState::prov_conf`);
//!   cost counts its time integral, `timeseries.csv` its maximum per bucket.
//! - Raising it creates the missing provisioned environments at once: each waits the
//!   allocation delay, runs INIT (sampled like a cold start's, never billed to an invocation)
//!   and only then joins the function's idle provisioned pool. Until then requests spill over
//!   to on-demand environments as usual.
//! - Lowering it releases idle provisioned environments first (least recently used first);
//!   busy ones are released when their invocation ends, initializing ones when their INIT ends,
//!   until the function has no more provisioned environments than configured. Invocations are
//!   never cut short.
//! - Target tracking: every minute a datapoint, the time-weighted mean of busy provisioned
//!   environments over the minute divided by the configured value at its end (CloudWatch's
//!   Average of the metric). `scale_out_datapoints` datapoints in a row above the target scale
//!   out, `scale_in_datapoints` in a row below 90 % of it scale in, to
//!   `ceil(configured x utilization / target)` within `[min, max]`, each after its cooldown.
//!   While the alarm condition holds the policy acts again each minute (cooldown 0 by default).
//! - Provisioned environments of a function without a reservation count against the
//!   unreserved pool whether busy or idle, as at t = 0; validation checks the most a plan can
//!   configure (`Function::provisioned_peak`) against reserved concurrency and
//!   `account.unreserved_minimum`, so the rules validated today keep holding.
//!
//! One timer per scheduled action and one per function and minute for target tracking; the
//! per-invocation cost is one comparison on completion and, for autoscaled functions, one
//! accrual of the busy integral. Nothing here allocates per event.

use super::admission::Pool;
use super::{Sim, Timer};
use crate::scenario::provisioned::{PERIOD, SCALE_IN_SHARE};
use crate::stats::{EnvEvent, Recorder};

/// Target tracking state of one function.
#[derive(Clone, Debug, Default)]
pub(super) struct Tracking {
    /// Integral of busy provisioned environments since `mark`, env x µs.
    area: f64,
    /// Time of the last accrual.
    last: u64,
    /// Busy provisioned environments since `last`.
    busy: u32,
    /// Datapoints in a row above the target.
    high: u32,
    /// Datapoints in a row below 90 % of the target.
    low: u32,
    /// Time of the last scale-out and scale-in (`None`: none yet).
    last_out: Option<u64>,
    last_in: Option<u64>,
}

impl Tracking {
    /// Busy provisioned environments become `busy` at `now`.
    #[inline]
    pub(super) fn accrue(&mut self, now: u64, busy: u32) {
        self.area += self.busy as f64 * now.saturating_sub(self.last) as f64;
        self.last = now;
        self.busy = busy;
    }
}

impl<R: Recorder> Sim<'_, R> {
    /// Schedules the plan of every function whose provisioned concurrency changes.
    pub(super) fn start_provisioned_plans(&mut self) {
        for f in 0..self.m.functions.len() {
            let plan = &self.m.functions[f].provisioned_plan;
            for (i, &(at, _)) in plan.schedule.iter().enumerate() {
                self.push_timer(
                    at.0,
                    Timer::ProvSchedule {
                        func: f as u32,
                        action: i as u32,
                    },
                );
            }
            if plan.autoscaling.is_some() {
                self.funcs[f].tracking = Some(Box::default());
                self.push_timer(PERIOD.0, Timer::ProvTick(f as u32));
            }
        }
    }

    /// Scheduled action `action` of function `f` runs now.
    pub(super) fn prov_schedule(&mut self, f: u32, action: u32) {
        let n = self.m.functions[f as usize].provisioned_plan.schedule[action as usize].1;
        self.set_provisioned(f as usize, n);
    }

    /// The configured provisioned concurrency of function `f` becomes `n` now.
    pub(super) fn set_provisioned(&mut self, f: usize, n: u32) {
        let now = self.now;
        let warmup = self.warmup;
        let fm = &self.m.functions[f];
        let delay = fm.provisioned_plan.allocation_delay.0;
        let fs = &mut self.funcs[f];
        fs.prov_conf.set(now, warmup, n);
        let unreserved = fs.pool == Pool::Unreserved;
        if n > fs.prov_alive {
            let k = n - fs.prov_alive;
            fs.prov_alive = n;
            if unreserved {
                self.unreserved_used += k;
            }
            for _ in 0..k {
                let fs = &mut self.funcs[f];
                let init = fm.at_memory(fm.init.sample(&mut fs.rng_init).0);
                let id = self.new_env(f as u32);
                self.rec
                    .on_env(now, id, f as u32, EnvEvent::InitStart, true);
                self.push_timer(now + delay + init, Timer::ProvReady(id));
            }
        } else if n < fs.prov_alive {
            // Idle ones first, least recently used first (the front of the MRU stack).
            let k = ((fs.prov_alive - n) as usize).min(fs.prov_idle.len());
            fs.prov_alive -= k as u32;
            if unreserved {
                self.unreserved_used -= k as u32;
            }
            for i in 0..k {
                let id = self.funcs[f].prov_idle[i];
                self.envs.free(id);
                self.rec
                    .on_env(now, id, f as u32, EnvEvent::Reclaimed, true);
            }
            self.funcs[f].prov_idle.drain(..k);
        }
    }

    /// Provisioned environment `id` finished INIT: it joins the pool, or goes if the
    /// configured value dropped meanwhile.
    pub(super) fn prov_ready(&mut self, id: u32) {
        let f = self.envs[id].func;
        self.rec.on_env(self.now, id, f, EnvEvent::InitEnd, true);
        if !self.release_if_excess(f as usize, id) {
            self.funcs[f as usize].prov_idle.push(id);
        }
    }

    /// Releases provisioned environment `id` of `f` (not busy, not in the idle pool) when the
    /// function has more than configured. Returns whether it was released.
    #[inline]
    pub(super) fn release_if_excess(&mut self, f: usize, id: u32) -> bool {
        let fs = &mut self.funcs[f];
        if fs.prov_alive <= fs.prov_conf.value {
            return false;
        }
        fs.prov_alive -= 1;
        if fs.pool == Pool::Unreserved {
            self.unreserved_used -= 1;
        }
        self.envs.free(id);
        self.rec
            .on_env(self.now, id, f as u32, EnvEvent::Reclaimed, true);
        true
    }

    /// One minute of target tracking for function `f`: a datapoint, then maybe an action.
    pub(super) fn prov_tick(&mut self, f: u32) {
        let now = self.now;
        let fi = f as usize;
        let Some(a) = self.m.functions[fi].provisioned_plan.autoscaling.as_ref() else {
            return;
        };
        let fs = &mut self.funcs[fi];
        let conf = fs.prov_conf.value;
        let busy = fs.busy_prov.value;
        let Some(t) = fs.tracking.as_deref_mut() else {
            return;
        };
        t.accrue(now, busy);
        let mean_busy = t.area / PERIOD.0 as f64;
        t.area = 0.0;
        let u = if conf == 0 {
            0.0
        } else {
            mean_busy / conf as f64
        };
        t.high = if u > a.target { t.high + 1 } else { 0 };
        t.low = if u < SCALE_IN_SHARE * a.target {
            t.low + 1
        } else {
            0
        };
        let desired = ((conf as f64 * u / a.target).ceil() as u32).clamp(a.min, a.max);
        let cooled = |last: Option<u64>, c: u64| last.is_none_or(|l| now >= l + c);
        let mut set = None;
        if t.high >= a.scale_out_datapoints
            && desired > conf
            && cooled(t.last_out, a.scale_out_cooldown.0)
        {
            t.last_out = Some(now);
            set = Some(desired);
        } else if t.low >= a.scale_in_datapoints
            && desired < conf
            && cooled(t.last_in, a.scale_in_cooldown.0)
        {
            t.last_in = Some(now);
            set = Some(desired);
        }
        if let Some(n) = set {
            self.set_provisioned(fi, n);
        }
        if now + PERIOD.0 < self.end {
            self.push_timer(now + PERIOD.0, Timer::ProvTick(f));
        }
    }
}
