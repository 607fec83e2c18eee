//! Downstream limits: connections of `[[dependencies]]` held by invocations.
//!
//! Each invocation of a function that uses dependencies takes one connection of each, in the
//! one order of [`DependencyTable::uses`] (ascending dependency index, so two invocations never
//! each hold what the other waits for), when its handler starts, i.e. after INIT (a cold
//! start's INIT holds none). It keeps them until it ends, by success, error or timeout.
//!
//! When a dependency has no free connection:
//! - without a pool the handler's connect is refused at once: the invocation fails as a
//!   function error, a *connection error*, [`REFUSED`] after its handler started, and gives
//!   back the connections it took so far. Lambda bills duration "rounded up to the nearest
//!   1 ms" (<https://aws.amazon.com/lambda/pricing/>), so such a fast failure bills 1 ms (plus
//!   INIT on a cold start). A refused invocation holds no connection: a loss system;
//! - with a pool (`pool_timeout`, the RDS Proxy pattern: "RDS Proxy queues or throttles
//!   application connections that can't be served immediately from the connection pool",
//!   <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.html>) it waits, first
//!   come first served, keeping its environment and billed while it waits; its wait counts as
//!   handler time (the function's timeout includes it). A connection given back goes to the
//!   oldest waiter. A waiter still without a connection at `pool_timeout`
//!   (`ConnectionBorrowTimeout`) fails as a connection error.
//!
//! State: per dependency, counters, a level and a FIFO of waiters (a ring buffer that grows
//! to the most waiters ever at once, so no allocation per event once warm) and at most one
//! armed expiry timer: every waiter of a dependency waits the same `pool_timeout`, so the
//! oldest waiter always expires first and one timer at the head's deadline serves them all.

use super::{Outcome, Sim, Timer};
use crate::stats::summary::Percentiles;
use crate::stats::{DependencyRow, DependencySummary, Histogram, Level, Recorder};
use crate::time::Micros;
use std::collections::VecDeque;

/// Time from handler start to the failure of a refused connect, µs: one billed millisecond.
pub(super) const REFUSED: u64 = 1_000;

/// An invocation waiting for a connection of one dependency.
#[derive(Clone, Copy, Debug)]
struct Waiter {
    inv: u32,
    /// Position in its function's `uses` of the dependency it waits for.
    k: u32,
    /// When it began to wait here (its expiry is `since + pool_timeout`).
    since: u64,
    /// When its handler started (waits count as handler time).
    start: u64,
}

/// One dependency's state.
pub(super) struct DepState {
    max: u32,
    pool_timeout: Option<u64>,
    in_use: Level,
    waiting_level: Level,
    waiting: VecDeque<Waiter>,
    /// The expiry timer is armed (at or before the head waiter's deadline).
    armed: bool,
    // Totals over the summary window (invocations whose request arrived after the warmup).
    pub acquired: u64,
    pub connection_errors: u64,
    pub waits: u64,
    pub wait_timeouts: u64,
    pub wait: Histogram,
    // Counts of the open bucket.
    bucket_errors: u64,
    bucket_waits: u64,
}

impl DepState {
    pub(super) fn new(max: u32, pool_timeout: Option<Micros>) -> DepState {
        DepState {
            max,
            pool_timeout: pool_timeout.map(|t| t.0),
            in_use: Level::default(),
            waiting_level: Level::default(),
            waiting: VecDeque::new(),
            armed: false,
            acquired: 0,
            connection_errors: 0,
            waits: 0,
            wait_timeouts: 0,
            wait: Histogram::new(),
            bucket_errors: 0,
            bucket_waits: 0,
        }
    }

    /// Its statistics over the summary window ending at `now`.
    pub(super) fn summary(&mut self, now: u64, warmup: u64) -> DependencySummary {
        let mean = self.in_use.window_mean(now, warmup);
        let asked = self.acquired + self.connection_errors;
        DependencySummary {
            max_connections: self.max,
            peak_connections: self.in_use.peak,
            mean_connections: mean,
            utilization: mean / self.max as f64,
            acquired: self.acquired,
            connection_errors: self.connection_errors,
            error_ratio: if asked == 0 {
                0.0
            } else {
                self.connection_errors as f64 / asked as f64
            },
            waits: self.waits,
            wait_timeouts: self.wait_timeouts,
            wait_ms: Percentiles::from_histogram(&self.wait),
        }
    }
}

impl<R: Recorder> Sim<'_, R> {
    /// Invocation `inv` was started at `now` with `init` µs of INIT before its handler: its
    /// handler takes its connections now, or when INIT ends (a timer).
    pub(super) fn deps_begin(&mut self, inv: u32, init: u64) {
        if init == 0 {
            self.deps_acquire(inv, 0, self.now);
        } else {
            self.push_timer(self.now + init, Timer::DepStart(inv));
        }
    }

    /// Invocation `inv`, whose handler started at `start`, takes connections from position
    /// `from` of its function's `uses` on: all of them (its completion is scheduled), or it
    /// waits in a pool's queue, or it fails (refused).
    pub(super) fn deps_acquire(&mut self, inv: u32, from: usize, start: u64) {
        let m = self.m;
        let now = self.now;
        let warmup = self.warmup;
        let f = self.invocations[inv].func as usize;
        let uses = &m.dependencies.uses[f];
        let counted = self.invocations[inv].caller.arrival() >= warmup;
        for (k, &d) in uses.iter().enumerate().skip(from) {
            let ds = &mut self.deps[d as usize];
            if ds.in_use.value < ds.max {
                ds.in_use.inc(now, warmup);
                ds.acquired += counted as u64;
                continue;
            }
            match ds.pool_timeout {
                None => {
                    ds.bucket_errors += 1;
                    ds.connection_errors += counted as u64;
                    self.deps_release_prefix(f, k);
                    self.deps_fail(inv, start, now + REFUSED);
                }
                Some(pt) => {
                    ds.bucket_waits += 1;
                    ds.waits += counted as u64;
                    ds.waiting.push_back(Waiter {
                        inv,
                        k: k as u32,
                        since: now,
                        start,
                    });
                    ds.waiting_level.inc(now, warmup);
                    if !ds.armed {
                        ds.armed = true;
                        self.push_timer(now + pt, Timer::DepExpire(d));
                    }
                }
            }
            return;
        }
        // Every connection held: the handler runs, its waits counted as handler time.
        let fm = &m.functions[f];
        let waited = now - start;
        let call = &mut self.invocations[inv];
        call.connected = true;
        if waited > 0 {
            // Both at most the function timeout (900 s): u32 µs holds them.
            if waited + u64::from(call.run) > fm.timeout.0 {
                call.outcome = Outcome::Timeout;
                call.run = fm.timeout.0 as u32;
            } else {
                call.run += waited as u32;
            }
        }
        let (env, end) = (call.env, start + u64::from(call.run));
        self.queue.push_complete(end, env, inv);
    }

    /// Invocation `inv` (handler started at `start`) fails for want of a connection at `end`
    /// (now, or [`REFUSED`] from now), holding none.
    fn deps_fail(&mut self, inv: u32, start: u64, end: u64) {
        let timeout = self.m.functions[self.invocations[inv].func as usize]
            .timeout
            .0;
        let call = &mut self.invocations[inv];
        call.connected = false;
        call.outcome = Outcome::Error;
        call.run = (end - start).min(timeout) as u32;
        let (env, at) = (call.env, start + u64::from(call.run));
        self.queue.push_complete(at, env, inv);
    }

    /// Gives back the connections of the first `k` dependencies function `f` uses.
    fn deps_release_prefix(&mut self, f: usize, k: usize) {
        let m = self.m;
        let uses = &m.dependencies.uses[f][..k];
        for &d in uses {
            self.deps[d as usize].in_use.dec(self.now, self.warmup);
        }
        for &d in uses {
            self.deps_serve(d);
        }
    }

    /// A completing invocation of function `f` that held its connections gives them back.
    pub(super) fn deps_release(&mut self, f: usize) {
        let k = self.m.dependencies.uses[f].len();
        self.deps_release_prefix(f, k);
    }

    /// Hands free connections of dependency `d` to its oldest waiters.
    fn deps_serve(&mut self, d: u32) {
        let now = self.now;
        let warmup = self.warmup;
        loop {
            let ds = &mut self.deps[d as usize];
            if ds.in_use.value >= ds.max {
                return;
            }
            let Some(w) = ds.waiting.pop_front() else {
                return;
            };
            ds.waiting_level.dec(now, warmup);
            let pt = ds.pool_timeout.unwrap_or(0);
            if w.since + pt <= now {
                // Its deadline is now: the wait ran out (completions run before timers).
                self.deps_expire(d, w);
                continue;
            }
            let counted = self.invocations[w.inv].caller.arrival() >= warmup;
            let ds = &mut self.deps[d as usize];
            ds.in_use.inc(now, warmup);
            ds.acquired += counted as u64;
            if counted {
                ds.wait.record(now - w.since);
            }
            self.deps_acquire(w.inv, w.k as usize + 1, w.start);
        }
    }

    /// Waiter `w` of dependency `d` ran out of time: it fails, giving back what it held.
    fn deps_expire(&mut self, d: u32, w: Waiter) {
        let counted = self.invocations[w.inv].caller.arrival() >= self.warmup;
        let ds = &mut self.deps[d as usize];
        ds.bucket_errors += 1;
        if counted {
            ds.connection_errors += 1;
            ds.wait_timeouts += 1;
            ds.wait.record(self.now - w.since);
        }
        let f = self.invocations[w.inv].func as usize;
        self.deps_fail(w.inv, w.start, self.now);
        self.deps_release_prefix(f, w.k as usize);
    }

    /// The expiry timer of dependency `d`: waiters whose deadline has come fail; the timer is
    /// armed again at the next waiter's deadline.
    pub(super) fn deps_timer(&mut self, d: u32) {
        let now = self.now;
        let ds = &mut self.deps[d as usize];
        ds.armed = false;
        let pt = ds.pool_timeout.unwrap_or(0);
        while let Some(&w) = self.deps[d as usize].waiting.front() {
            if w.since + pt > now {
                let ds = &mut self.deps[d as usize];
                ds.armed = true;
                self.push_timer(w.since + pt, Timer::DepExpire(d));
                return;
            }
            let ds = &mut self.deps[d as usize];
            ds.waiting.pop_front();
            ds.waiting_level.dec(now, self.warmup);
            self.deps_expire(d, w);
        }
    }

    /// Closes the bucket [start, end) of every dependency and hands the rows to the recorder.
    pub(super) fn deps_close_bucket(&mut self, start: u64, end: u64) {
        let warmup = self.warmup;
        let len = end - start;
        self.dep_rows.clear();
        for (i, ds) in self.deps.iter_mut().enumerate() {
            let (cmax, cmean) = ds.in_use.close_bucket(end, warmup, len);
            let (wmax, _) = ds.waiting_level.close_bucket(end, warmup, len);
            self.dep_rows.push(DependencyRow {
                start: Micros(start),
                dependency: i as u32,
                max_connections: ds.max,
                connections_max: cmax,
                connections_mean: cmean,
                waiting_max: wmax,
                connection_errors: std::mem::take(&mut ds.bucket_errors),
                waits: std::mem::take(&mut ds.bucket_waits),
            });
        }
        if self.record {
            self.rec.dependencies(&self.dep_rows);
        }
    }
}
