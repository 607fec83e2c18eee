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
//! A new event is tried at once (Lambda's pollers keep up with the queue while concurrency is
//! available). AsyncEventAge is the age of an event when it is tried, the maximum per bucket.
//!
//! Memory: an event that has never run and was throttled at every try ("pure") is due at its
//! arrival plus a fixed offset: D(t) = 1 s + 2 s + ... after its t-th throttle, or its maximum
//! age when it expires. So the pure events waiting after t throttles are a subsequence of the
//! source's arrivals, in arrival order, and are stored as runs of arrival numbers (a
//! [`Chain`]): a backlog of consecutive throttled arrivals is one run whatever its length. A
//! chain's own consumer cursor (the SQS [`Fifo`] trick: a copy of the source's arrival
//! generator on the same seed) regenerates each head's arrival time, and one timer per chain
//! fires at its head's due time. Events that ran and failed (waiting for an error retry, or
//! throttled after one) are stored one by one as timers: they are bounded by the invocations
//! that ran within `maximum_event_age`, not by the backlog.

use super::sqs::Fifo;
use super::{Caller, End, Outcome, Sim, SourceKind, Timer};
use crate::stats::Recorder;
use crate::time::Micros;
use std::collections::VecDeque;

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
    /// Arrival number within its source (0-based).
    pub seq: u64,
}

impl AsyncEvent {
    /// A new event of `source` arriving at `arrival`, no retries used.
    pub fn new(source: u32, arrival: u64, seq: u64) -> AsyncEvent {
        AsyncEvent {
            source,
            arrival,
            error_retries: 0,
            throttles: 0,
            expire: false,
            seq,
        }
    }
}

/// The delay before the retry that follows throttle number `n` (0-based) of an event.
pub fn throttle_delay(n: u8) -> u64 {
    let d = THROTTLE_FIRST_DELAY.0.saturating_mul(1u64 << n.min(30));
    d.min(THROTTLE_MAX_DELAY.0)
}

/// The chain index of pure events that expire (the others are their throttle count).
pub(super) const EXPIRE: u16 = u16::MAX;

/// Pure events waiting with the same due offset from their arrival, in arrival order: runs of
/// consecutive arrival numbers, and a cursor that regenerates their arrival times.
struct Chain {
    /// (first arrival number, count), in order.
    runs: VecDeque<(u64, u64)>,
    /// Events in `runs`.
    len: u64,
    cursor: Fifo,
    /// Arrival number the cursor yields next.
    cursor_seq: u64,
    /// Arrival time of the head (valid while `len > 0`).
    head_arrival: u64,
    /// Due time minus arrival time of every event in the chain.
    offset: u64,
}

impl Chain {
    /// Appends event `seq` (larger than every number in the chain).
    fn push(&mut self, seq: u64) {
        debug_assert!(self.runs.back().is_none_or(|l| l.0 + l.1 <= seq));
        self.len += 1;
        if let Some(last) = self.runs.back_mut() {
            if last.0 + last.1 == seq {
                last.1 += 1;
                return;
            }
        }
        self.runs.push_back((seq, 1));
    }

    /// Arrival time of the head, regenerated by the cursor (cached in `head_arrival`).
    fn head(&mut self) -> u64 {
        let seq = self.runs.front().expect("non-empty chain").0;
        while self.cursor_seq <= seq {
            self.head_arrival = self.cursor.next();
            self.cursor_seq += 1;
        }
        self.head_arrival
    }

    /// Removes the head: (arrival number, arrival time). Call [`Chain::head`] first.
    fn pop(&mut self) -> (u64, u64) {
        let front = self.runs.front_mut().expect("non-empty chain");
        let seq = front.0;
        front.0 += 1;
        front.1 -= 1;
        if front.1 == 0 {
            self.runs.pop_front();
        }
        self.len -= 1;
        (seq, self.head_arrival)
    }

    /// Events numbered `from` or later.
    fn count_from(&self, from: u64) -> u64 {
        self.runs
            .iter()
            .map(|&(s, n)| (s + n).saturating_sub(s.max(from)).min(n))
            .sum()
    }
}

/// Per-source queue state: the events waiting for a (re)try.
pub(super) struct Queue {
    /// Events waiting (pure ones in chains, the others as timers).
    pub waiting: u64,
    /// Arrivals so far (the next arrival's number).
    arrived: u64,
    /// Number of the first arrival at or after the warmup (`u64::MAX` until there is one).
    warm_seq: u64,
    /// Pure events after t throttles at index t - 1.
    chains: Vec<Chain>,
    /// Pure events that leave at their maximum age.
    expiring: Option<Chain>,
    /// The source's arrival generator at its start, copied into each chain's cursor.
    template: Fifo,
}

impl Queue {
    /// The queue of a source whose arrivals `template` regenerates from the start.
    pub(super) fn new(template: Fifo) -> Queue {
        Queue {
            waiting: 0,
            arrived: 0,
            warm_seq: u64::MAX,
            chains: Vec::new(),
            expiring: None,
            template,
        }
    }

    /// Chain `c` (a throttle count, or [`EXPIRE`] with offset `max_age`), created empty
    /// when first used.
    fn chain(&mut self, c: u16, max_age: u64) -> &mut Chain {
        let template = &self.template;
        let fresh = |offset| Chain {
            runs: VecDeque::new(),
            len: 0,
            cursor: template.clone(),
            cursor_seq: 0,
            head_arrival: 0,
            offset,
        };
        if c == EXPIRE {
            return self.expiring.get_or_insert_with(|| fresh(max_age));
        }
        let i = c as usize - 1;
        while self.chains.len() <= i {
            let t = self.chains.len() as u16 + 1;
            self.chains.push(fresh(chain_offset(t)));
        }
        &mut self.chains[i]
    }

    /// Waiting pure events that arrived at or after the warmup.
    pub(super) fn counted_from_warmup(&self) -> u64 {
        let from = self.warm_seq;
        self.chains
            .iter()
            .chain(self.expiring.iter())
            .map(|c| c.count_from(from))
            .sum()
    }
}

/// Offset from its arrival at which a pure event is due after `t` throttles (t >= 1).
fn chain_offset(t: u16) -> u64 {
    (0..t).map(|j| throttle_delay(j.min(255) as u8)).sum()
}

impl<R: Recorder> Sim<'_, R> {
    fn async_queue(&mut self, source: u32) -> &mut Queue {
        match &mut self.sources[source as usize].kind {
            SourceKind::Async(q) => q,
            _ => unreachable!("async event from a non-async source"),
        }
    }

    /// A new event of source `i` arrives now and is tried at once.
    pub(super) fn async_arrival(&mut self, i: u32) {
        let (now, warmup) = (self.now, self.warmup);
        let q = self.async_queue(i);
        let seq = q.arrived;
        q.arrived += 1;
        if now >= warmup && q.warm_seq == u64::MAX {
            q.warm_seq = seq;
        }
        self.async_try(AsyncEvent::new(i, now, seq));
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
    /// the event waits until the maximum age and leaves then. A pure event (never run) joins
    /// the chain of its throttle count (or of expiring events); the others get a timer each.
    fn async_later(&mut self, e: AsyncEvent, delay: u64) {
        let max_age = self.m.sources[e.source as usize].async_.maximum_event_age.0;
        let mut at = self.now + delay;
        let mut e = e;
        if at - e.arrival > max_age {
            at = (e.arrival + max_age).max(self.now);
            e.expire = true;
        }
        let now = self.now;
        let q = self.async_queue(e.source);
        q.waiting += 1;
        if e.error_retries > 0 {
            self.push_timer(at, Timer::Async(e));
            return;
        }
        let c = if e.expire { EXPIRE } else { e.throttles as u16 };
        let chain = q.chain(c, max_age);
        debug_assert_eq!(at, e.arrival + chain.offset);
        debug_assert!(at >= now);
        let was_empty = chain.len == 0;
        chain.push(e.seq);
        if was_empty {
            chain.head();
            self.push_timer(
                at,
                Timer::AsyncChain {
                    source: e.source,
                    chain: c,
                },
            );
        }
    }

    /// Chain `c`'s head is due: it leaves the chain (whose next head is then scheduled) and
    /// is tried again or expires, as [`Sim::async_timer`] does for a stored event.
    pub(super) fn async_chain(&mut self, source: u32, c: u16) {
        let max_age = self.m.sources[source as usize].async_.maximum_event_age.0;
        let chain = self.async_queue(source).chain(c, max_age);
        let (seq, arrival) = chain.pop();
        let next = (chain.len > 0).then(|| chain.head() + chain.offset);
        if let Some(at) = next {
            self.push_timer(at, Timer::AsyncChain { source, chain: c });
        }
        let e = AsyncEvent {
            source,
            arrival,
            error_retries: 0,
            throttles: if c == EXPIRE { 0 } else { c as u8 },
            expire: c == EXPIRE,
            seq,
        };
        self.async_timer(e);
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
