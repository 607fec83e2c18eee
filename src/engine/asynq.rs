//! Async invocations: the caller gets 202 at once and the event waits in the function's
//! internal queue (docs/platform.md "Invocation models and retries", Async).
//!
//! - A throttled attempt is retried after 1 s, 2 s, 4 s, ... doubling up to 5 minutes, for as
//!   long as the event is younger than `maximum_event_age` (no jitter: the documented times).
//! - A function error or timeout is retried `maximum_retry_attempts` (0-2) times, 1 minute and
//!   then 2 minutes after the failure.
//! - An event that runs out of retries or of age goes to the DLQ / on-failure destination when
//!   `dlq = true` (counted `dlq`, column DeadLetters), else it is dropped (counted `dropped`,
//!   AsyncEventsDropped). An event whose next try would come after its maximum age leaves at
//!   `maximum_event_age` itself (it waits in the queue until then), never tried after it.
//! - A function with reserved concurrency 0 throttles every try: its events wait, are retried
//!   with the growing delay and leave at their maximum age (to the DLQ, or dropped), as Lambda
//!   retains throttled async events for up to `maximum_event_age`
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html>,
//!   <https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html>).
//!
//! Each waiting event is one timer in the engine's slab, so the "queue" holds exactly the
//! events waiting for their next try; a new event is tried at once (Lambda's pollers keep up
//! with the queue while concurrency is available). AsyncEventAge is the age of an event when
//! it is tried, the maximum per bucket.

use super::{Caller, End, Outcome, Sim, SourceKind, Timer};
use crate::stats::Recorder;
use crate::time::Micros;

/// Throttle retry delays: 1 s doubling to at most 5 minutes.
pub const THROTTLE_FIRST_DELAY: Micros = Micros::SECOND;
pub const THROTTLE_MAX_DELAY: Micros = Micros::from_secs(300);
/// Function-error retry n (1-based) comes n minutes after the failure.
pub const ERROR_RETRY_STEP: Micros = Micros::from_secs(60);

/// An async event on its way: where it came from, when, and the retries it has used.
#[derive(Clone, Copy, Debug)]
pub struct AsyncEvent {
    /// Index of the traffic source that sent the event.
    pub source: u32,
    /// When the event first arrived, µs.
    pub arrival: u64,
    /// Retries of function errors and timeouts used so far.
    pub error_retries: u8,
    /// Throttles met so far.
    pub throttles: u8,
    /// The timer that carries it is its expiry at `maximum_event_age`, not a try.
    pub expire: bool,
}

impl AsyncEvent {
    /// A new event of `source` arriving at `arrival`, no retries used.
    pub fn new(source: u32, arrival: u64) -> AsyncEvent {
        AsyncEvent {
            source,
            arrival,
            error_retries: 0,
            throttles: 0,
            expire: false,
        }
    }
}

/// The delay before the retry that follows throttle number `n` (0-based) of an event.
pub fn throttle_delay(n: u8) -> u64 {
    let d = THROTTLE_FIRST_DELAY.0.saturating_mul(1u64 << n.min(30));
    d.min(THROTTLE_MAX_DELAY.0)
}

/// Per-source queue state: the number of events waiting for a (re)try.
#[derive(Default)]
pub(super) struct Queue {
    pub waiting: u64,
}

impl<R: Recorder> Sim<'_, R> {
    fn async_queue(&mut self, source: u32) -> &mut Queue {
        match &mut self.sources[source as usize].kind {
            SourceKind::Async(q) => q,
            _ => unreachable!("async event from a non-async source"),
        }
    }

    /// Tries to invoke the function with event `e` now.
    pub(super) fn async_try(&mut self, e: AsyncEvent) {
        let f = self.function_of(e.source);
        let age = self.now - e.arrival;
        let c = &mut self.funcs[f].bucket_counts;
        c.async_age_max = c.async_age_max.max(age);
        c.async_age_samples += 1;
        if self.attempt(f, Caller::Async(e)).is_err() {
            let delay = throttle_delay(e.throttles);
            let next = AsyncEvent {
                throttles: e.throttles.saturating_add(1),
                ..e
            };
            self.async_later(next, delay);
        }
    }

    /// Schedules the event's next try after `delay`; when that would be past its maximum age,
    /// the event waits until the maximum age and leaves then.
    fn async_later(&mut self, e: AsyncEvent, delay: u64) {
        let spec = &self.m.sources[e.source as usize].async_;
        let mut at = self.now + delay;
        let mut e = e;
        if at - e.arrival > spec.maximum_event_age.0 {
            at = (e.arrival + spec.maximum_event_age.0).max(self.now);
            e.expire = true;
        }
        self.async_queue(e.source).waiting += 1;
        self.push_timer(at, Timer::Async(e));
    }

    /// A waiting event's delay ended: it is tried again (a retry), or it reached its maximum
    /// age and leaves (to the DLQ / on-failure destination, or dropped).
    pub(super) fn async_timer(&mut self, e: AsyncEvent) {
        self.async_queue(e.source).waiting -= 1;
        let f = self.function_of(e.source);
        if e.expire {
            let end = if self.m.sources[e.source as usize].async_.dlq {
                End::Dlq
            } else {
                End::Dropped
            };
            self.funcs[f].bucket_counts.async_dropped += 1;
            self.finish_request(f, e.arrival, end, false);
            return;
        }
        self.funcs[f].bucket_counts.retries += 1;
        if e.arrival >= self.warmup {
            self.funcs[f].totals.retries += 1;
        }
        self.async_try(e);
    }

    pub(super) fn async_done(&mut self, e: AsyncEvent, outcome: Outcome, cold: bool) {
        let f = self.function_of(e.source);
        if outcome == Outcome::Success {
            self.finish_request(f, e.arrival, End::Succeeded, cold);
            return;
        }
        let max = self.m.sources[e.source as usize]
            .async_
            .maximum_retry_attempts;
        if e.error_retries as u32 >= max {
            let end = if self.m.sources[e.source as usize].async_.dlq {
                End::Dlq
            } else {
                End::Dropped
            };
            self.funcs[f].bucket_counts.async_dropped += 1;
            self.finish_request(f, e.arrival, end, cold);
            return;
        }
        let next = AsyncEvent {
            error_retries: e.error_retries + 1,
            ..e
        };
        self.async_later(next, ERROR_RETRY_STEP.0 * next.error_retries as u64);
    }
}
