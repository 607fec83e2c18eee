//! The SQS event source mapping (docs/platform.md "SQS event source").
//!
//! - Messages arrive in the queue; pollers receive batches of up to `batch_size`, at once when
//!   that many are visible, else when the `maximum_batching_window` (counted from the moment a
//!   poller starts waiting) ends.
//! - Poller concurrency starts at 5 concurrent batches; once a second, while messages are
//!   waiting and every poller is busy, it grows by 5 (300 per minute) up to
//!   `maximum_concurrency`; when the queue is empty it falls back to what is in use (at least
//!   5). Maximum concurrency caps the mapping without throttles.
//! - A throttled or failed batch's messages become visible again `visibility_timeout` after
//!   they were received (validation keeps it >= the function timeout, as AWS does); a
//!   throttled poller pauses 1 s. A message received `max_receive_count` times that fails
//!   again goes to the DLQ (the redrive policy) when it would become visible.
//! - Poison messages (`poison_rate`) always fail. Without `report_batch_item_failures` one of
//!   them fails its whole batch (a function error); with it, only the poison messages return.
//! - Returned messages go to the front of the queue, so its head is (about) the oldest message:
//!   ApproximateAgeOfOldestMessage is the head's age.
//!
//! Memory: the visible queue is the returned messages (stored, at the front) followed by the
//! fresh ones, which are never stored. Fresh messages leave in arrival order, so a counter of
//! them and a second copy of the source's arrival generator ([`Fifo`], the consumer cursor,
//! started from the same seed as the producer in the engine) regenerate each one's arrival time
//! when it is received; its poison flag is drawn then, from the mapping's own stream, in the
//! same order as at arrival. A backlog of any length costs a few hundred bytes; stored messages
//! are bounded by those that left FIFO order (received and returned), at most
//! `maximum_concurrency` x `batch_size` per visibility timeout.

use super::{Caller, End, Msg, Outcome, Sim, SourceKind, Timer};
use crate::load::ArrivalGen;
use crate::rng::Rng;
use crate::scenario::SqsSpec;
use crate::stats::Recorder;
use crate::time::Micros;
use rand::RngExt;
use std::collections::VecDeque;

/// Concurrent batches a mapping starts with.
pub const START_POLLERS: u32 = 5;
/// Poller concurrency added per second while messages wait (300 per minute).
pub const SCALE_PER_SECOND: u32 = 5;
/// How long a poller pauses after its batch was throttled.
pub const THROTTLE_PAUSE: Micros = Micros::SECOND;

/// The consumer cursor over a source's arrivals: regenerates, in order, the arrival times the
/// engine's producer generated (same generator, same stream, same clamp to the previous time).
#[derive(Clone)]
pub(super) struct Fifo {
    gen: ArrivalGen,
    rng: Rng,
    prev: u64,
}

impl Fifo {
    /// A cursor at the first arrival of a source whose generator and stream start as `gen` and
    /// `rng` (copies of the engine's).
    pub(super) fn new(gen: ArrivalGen, rng: Rng) -> Fifo {
        Fifo { gen, rng, prev: 0 }
    }

    /// The next arrival time, µs.
    pub(super) fn next(&mut self) -> u64 {
        // The engine clamps each arrival to the one before it (engine::Sim::arrival).
        let t = self
            .gen
            .next(&mut self.rng)
            .map_or(self.prev, |t| t.0.max(self.prev));
        self.prev = t;
        t
    }
}

pub(super) struct Mapping {
    /// Visible messages that were received before (returned), at the front of the queue.
    returned: VecDeque<Msg>,
    /// Visible messages never received, after the returned ones, in arrival order: counted,
    /// not stored.
    fresh: u64,
    /// Arrival of the first fresh message (when `fresh > 0`).
    fresh_head: u64,
    fifo: Fifo,
    /// Messages of failed batches waiting out their visibility timeout.
    returning: u64,
    /// Pollers in use: batches in flight, or pausing after a throttle.
    active: u32,
    limit: u32,
    window_deadline: Option<u64>,
    pub partial: bool,
    batch_size: u32,
    window: u64,
    max_concurrency: u32,
    visibility: u64,
    max_receives: u32,
    poison_rate: f64,
    rng: Rng,
}

impl Mapping {
    pub(super) fn new(spec: &SqsSpec, rng: Rng, fifo: Fifo) -> Mapping {
        Mapping {
            returned: VecDeque::new(),
            fresh: 0,
            fresh_head: 0,
            fifo,
            returning: 0,
            active: 0,
            limit: START_POLLERS.min(spec.maximum_concurrency),
            window_deadline: None,
            partial: spec.report_batch_item_failures,
            batch_size: spec.batch_size,
            window: spec.maximum_batching_window.0,
            max_concurrency: spec.maximum_concurrency,
            visibility: spec.visibility_timeout.0,
            max_receives: spec.max_receive_count,
            poison_rate: spec.poison_rate,
            rng,
        }
    }

    /// Messages in the queue: visible, or waiting out a visibility timeout.
    pub(super) fn depth(&self) -> u64 {
        self.visible() + self.returning
    }

    /// Visible messages.
    fn visible(&self) -> u64 {
        self.returned.len() as u64 + self.fresh
    }

    /// Arrival of the message at the head of the queue.
    pub(super) fn oldest(&self) -> Option<u64> {
        match self.returned.front() {
            Some(m) => Some(m.arrival),
            None => (self.fresh > 0).then_some(self.fresh_head),
        }
    }

    /// Takes the message at the head of the visible queue (`visible() > 0`).
    fn take(&mut self) -> Msg {
        if let Some(m) = self.returned.pop_front() {
            return m;
        }
        let arrival = self.fresh_head;
        self.fresh -= 1;
        if self.fresh > 0 {
            self.fresh_head = self.fifo.next();
        }
        let poison = self.poison_rate > 0.0 && self.rng.random::<f64>() < self.poison_rate;
        Msg {
            arrival,
            receives: 0,
            poison,
        }
    }

    /// Visible messages that arrived at or after `from` (the end-of-run in-flight walk: the
    /// fresh ones are regenerated by a copy of the cursor, no memory).
    pub(super) fn visible_from(&self, from: u64) -> u64 {
        let mut n = self.returned.iter().filter(|m| m.arrival >= from).count() as u64;
        if self.fresh > 0 {
            let mut cursor = Fifo {
                gen: self.fifo.gen.clone(),
                rng: self.fifo.rng.clone(),
                prev: self.fifo.prev,
            };
            n += (self.fresh_head >= from) as u64;
            for _ in 1..self.fresh {
                n += (cursor.next() >= from) as u64;
            }
        }
        n
    }
}

impl<R: Recorder> Sim<'_, R> {
    fn mapping(&mut self, source: u32) -> &mut Mapping {
        match &mut self.sources[source as usize].kind {
            SourceKind::Sqs(q) => q,
            _ => unreachable!("sqs event for a non-sqs source"),
        }
    }

    pub(super) fn sqs_arrival(&mut self, source: u32) {
        let now = self.now;
        let q = self.mapping(source);
        if q.fresh == 0 {
            q.fresh_head = q.fifo.next();
            debug_assert_eq!(
                q.fresh_head, now,
                "the consumer cursor follows the arrivals"
            );
        }
        q.fresh += 1;
        self.sqs_pump(source);
    }

    /// Free pollers receive batches while messages are visible.
    pub(super) fn sqs_pump(&mut self, source: u32) {
        let now = self.now;
        let f = self.function_of(source);
        if self.switched_off(f) {
            return;
        }
        loop {
            let q = self.mapping(source);
            if q.active >= q.limit || q.visible() == 0 {
                return;
            }
            if q.visible() < q.batch_size as u64 && q.window > 0 {
                match q.window_deadline {
                    None => {
                        let d = now + q.window;
                        q.window_deadline = Some(d);
                        self.push_timer(d, Timer::SqsWindow(source));
                        return;
                    }
                    Some(d) if now < d => return,
                    Some(_) => {}
                }
            }
            q.window_deadline = None;
            q.active += 1;
            let n = (q.batch_size as u64).min(q.visible());
            let b = self.new_batch(source, 0);
            let SourceKind::Sqs(q) = &mut self.sources[source as usize].kind else {
                unreachable!()
            };
            let batch = &mut self.batches[b];
            let mut redelivered = false;
            for _ in 0..n {
                let m = q.take();
                let m = Msg {
                    receives: m.receives + 1,
                    ..m
                };
                redelivered |= m.receives > 1;
                batch.poison += m.poison as u32;
                batch.msgs.push(m);
            }
            let arrival = batch.msgs[0].arrival;
            if redelivered {
                self.funcs[f].bucket_counts.retries += 1;
                if arrival >= self.warmup {
                    self.funcs[f].totals.retries += 1;
                }
            }
            if self
                .attempt(f, Caller::Batch { batch: b, arrival })
                .is_err()
            {
                self.sqs_return_later(b);
                self.push_timer(now + THROTTLE_PAUSE.0, Timer::SqsWake(source));
            }
        }
    }

    /// The batch's messages become visible again a visibility timeout after their receive.
    fn sqs_return_later(&mut self, b: u32) {
        let batch = &self.batches[b];
        let (source, n, received) = (batch.source, batch.msgs.len() as u64, batch.received);
        let q = self.mapping(source);
        q.returning += n;
        let at = (received + q.visibility).max(self.now);
        self.push_timer(at, Timer::SqsReturn(b));
    }

    pub(super) fn sqs_wake(&mut self, source: u32) {
        self.mapping(source).active -= 1;
        self.sqs_pump(source);
    }

    pub(super) fn sqs_tick(&mut self, source: u32) {
        let next = self.now + Micros::SECOND.0;
        if next < self.end {
            self.push_timer(next, Timer::SqsTick(source));
        }
        let q = self.mapping(source);
        if q.visible() == 0 {
            q.limit = START_POLLERS.min(q.max_concurrency).max(q.active);
        } else if q.active >= q.limit {
            q.limit = (q.limit + SCALE_PER_SECOND).min(q.max_concurrency);
        }
        self.sqs_pump(source);
    }

    pub(super) fn sqs_done(&mut self, b: u32, outcome: Outcome, cold: bool) {
        let source = self.batches[b].source;
        let f = self.function_of(source);
        self.mapping(source).active -= 1;
        let mut msgs = std::mem::take(&mut self.batches[b].msgs);
        if outcome == Outcome::Success {
            // Every message succeeded, except poison ones reported as item failures.
            let mut poison = 0;
            msgs.retain(|m| {
                if m.poison {
                    poison += 1;
                    true
                } else {
                    self.finish_request(f, m.arrival, End::Succeeded, cold);
                    false
                }
            });
            self.batches[b].poison = poison;
        }
        let failed = !msgs.is_empty();
        self.batches[b].msgs = msgs;
        if failed {
            self.sqs_return_later(b);
        } else {
            self.free_batch(b);
        }
        self.sqs_pump(source);
    }

    /// A failed batch's visibility timeout ended: its messages are visible again, or go to the
    /// DLQ after `max_receive_count` receives.
    pub(super) fn sqs_return(&mut self, b: u32) {
        let source = self.batches[b].source;
        let f = self.function_of(source);
        let msgs = std::mem::take(&mut self.batches[b].msgs);
        let max = self.mapping(source).max_receives;
        self.mapping(source).returning -= msgs.len() as u64;
        for m in msgs.iter().rev() {
            if m.receives >= max {
                self.finish_request(f, m.arrival, End::Dlq, false);
            } else {
                self.mapping(source).returned.push_front(*m);
            }
        }
        self.batches[b].msgs = msgs;
        self.free_batch(b);
        self.sqs_pump(source);
    }
}
