//! Kinesis / DynamoDB stream event sources (docs/platform.md "Kinesis / DynamoDB streams").
//!
//! - Records land on one of `shards x parallelization_factor` lanes, chosen at random (a
//!   partition key hash); a lane is processed strictly in order, one batch at a time, so the
//!   order per shard (per partition key with a factor > 1) is never violated.
//! - Polling (<https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html>, "Polling and
//!   batching streams": Lambda polls each shard at a base rate of once per second): an idle
//!   lane (no batch in flight, nothing waiting) is polled once per second, on its own phase
//!   (drawn at random per lane at the start, then from the moment it last found nothing), so a
//!   record arriving on an idle lane waits for the lane's next poll. A lane that finishes a
//!   batch with records waiting polls again at once.
//! - A poll that finds records takes up to `batch_size` of them, unless `batching_window`
//!   (MaximumBatchingWindowInSeconds, 0 to 300 s,
//!   <https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html>:
//!   records are gathered until the batch is full or the window expires) is set: then the lane
//!   gathers from that poll until the batch is full or the window ends. At 5 records/s on one
//!   shard without a window this makes about one invocation per second, not one per record.
//! - A failed batch (function error, timeout, throttle, or a poison record inside) blocks its
//!   lane and is tried again: 1 ms after an error or timeout, 1 s after a throttle, until it
//!   succeeds, `maximum_retry_attempts` retries are used (-1 = no limit) or its oldest record is
//!   older than `maximum_record_age`. Then its records are discarded: to the on-failure
//!   destination (`dlq`) when `on_failure_destination = true`, else skipped (`dropped`).
//!   Waiting records older than `maximum_record_age` are discarded the same way.
//! - With `bisect_batch_on_function_error`, a batch that fails with an error is split in two;
//!   the first half is tried again as a new batch (fresh retry count) and the second half waits
//!   at the head of the lane, so a poison record ends up alone.
//! - IteratorAge: the age of the last record of a batch when it is tried, the maximum per
//!   bucket. Throughput without errors is lanes x batch size / batch duration.

use super::slab::Slab;
use super::{Batch, Caller, End, Msg, Outcome, Sim, SourceKind, Timer};
use crate::rng::Rng;
use crate::scenario::StreamSpec;
use crate::stats::Recorder;
use crate::time::Micros;
use rand::RngExt;
use std::collections::VecDeque;

/// Delay before a batch that failed with an error or timeout is tried again.
pub const ERROR_RETRY_DELAY: Micros = Micros(1000);
/// Delay before a throttled batch is tried again.
pub const THROTTLE_RETRY_DELAY: Micros = Micros::SECOND;
/// Interval between the polls of an idle lane.
pub const POLL_INTERVAL: Micros = Micros::SECOND;

/// Marks "none" for the lane's times.
const NEVER: u64 = u64::MAX;

pub(super) struct Lane {
    pub queue: VecDeque<Msg>,
    /// The batch in flight, if any.
    batch: Option<u32>,
    /// The idle lane's poll phase: it polls at `idle_since + k x POLL_INTERVAL`, k >= 1 (before
    /// the first poll: at `idle_since` itself).
    idle_since: u64,
    /// When the lane's pending poll (a next poll or the end of a batching window) is due;
    /// `NEVER` when none is. A poll timer that fires at another time is stale and ignored.
    poll_at: u64,
    /// End of the batching window the lane is gathering in; `NEVER` when not gathering.
    window_end: u64,
}

pub(super) struct Mapping {
    pub lanes: Vec<Lane>,
    /// Records not yet processed or discarded (waiting or in a batch).
    unprocessed: u64,
    batch_size: u32,
    max_retries: i64,
    max_age: u64,
    window: u64,
    bisect: bool,
    on_failure: bool,
    poison_rate: f64,
    rng: Rng,
}

impl Mapping {
    pub(super) fn new(spec: &StreamSpec, mut rng: Rng) -> Mapping {
        let lanes = (spec.shards * spec.parallelization_factor) as usize;
        let lanes = (0..lanes)
            .map(|_| Lane {
                queue: VecDeque::new(),
                batch: None,
                idle_since: rng.random_range(0..POLL_INTERVAL.0),
                poll_at: NEVER,
                window_end: NEVER,
            })
            .collect();
        Mapping {
            lanes,
            unprocessed: 0,
            batch_size: spec.batch_size,
            max_retries: spec.maximum_retry_attempts,
            max_age: spec.maximum_record_age.0,
            window: spec.batching_window.0,
            bisect: spec.bisect_batch_on_function_error,
            on_failure: spec.on_failure_destination,
            poison_rate: spec.poison_rate,
            rng,
        }
    }

    pub(super) fn depth(&self) -> u64 {
        self.unprocessed
    }

    /// Arrival of the oldest unprocessed record (a lane's batch in flight, or its queue head).
    pub(super) fn oldest(&self, batches: &Slab<Batch>) -> Option<u64> {
        self.lanes
            .iter()
            .filter_map(|l| match l.batch {
                Some(b) => batches[b].msgs.first().map(|m| m.arrival),
                None => l.queue.front().map(|m| m.arrival),
            })
            .min()
    }
}

impl<R: Recorder> Sim<'_, R> {
    fn stream(&mut self, source: u32) -> &mut Mapping {
        match &mut self.sources[source as usize].kind {
            SourceKind::Stream(s) => s,
            _ => unreachable!("stream event for a non-stream source"),
        }
    }

    pub(super) fn stream_arrival(&mut self, source: u32) {
        let now = self.now;
        let st = self.stream(source);
        let lane = st.rng.random_range(0..st.lanes.len());
        let poison = st.poison_rate > 0.0 && st.rng.random::<f64>() < st.poison_rate;
        st.unprocessed += 1;
        let batch_size = st.batch_size as usize;
        let l = &mut st.lanes[lane];
        l.queue.push_back(Msg {
            arrival: now,
            receives: 0,
            poison,
        });
        if l.batch.is_some() {
            // The lane polls again when its batch is done.
            return;
        }
        if l.window_end != NEVER {
            // Gathering: a full batch goes at once, else at the window's end.
            if l.queue.len() >= batch_size {
                self.stream_next(source, lane as u32);
            }
            return;
        }
        if l.poll_at == NEVER {
            // Idle: the record waits for the lane's next poll.
            let next = if now < l.idle_since {
                l.idle_since
            } else {
                l.idle_since + ((now - l.idle_since) / POLL_INTERVAL.0 + 1) * POLL_INTERVAL.0
            };
            l.poll_at = next;
            self.push_timer(
                next,
                Timer::StreamPoll {
                    source,
                    lane: lane as u32,
                },
            );
        }
    }

    /// A poll timer of lane `lane` fired: the lane polls, unless the timer is stale.
    pub(super) fn stream_poll(&mut self, source: u32, lane: u32) {
        let now = self.now;
        let l = &mut self.stream(source).lanes[lane as usize];
        if l.poll_at != now {
            return;
        }
        l.poll_at = NEVER;
        if l.batch.is_none() {
            self.stream_next(source, lane);
        }
    }

    /// Discards `msgs` after a failure or expiry: on-failure destination, or skipped.
    fn stream_discard(&mut self, source: u32, msgs: &[Msg]) {
        let f = self.function_of(source);
        let st = self.stream(source);
        st.unprocessed -= msgs.len() as u64;
        let end = if st.on_failure {
            End::Dlq
        } else {
            End::Dropped
        };
        for m in msgs {
            self.finish_request(f, m.arrival, end, false);
        }
    }

    /// Lane `lane` is free and polls now: the next batch of waiting records, if any, at once
    /// or at the end of a batching window.
    fn stream_next(&mut self, source: u32, lane: u32) {
        let now = self.now;
        // Records past their maximum age are never processed.
        loop {
            let st = self.stream(source);
            let max_age = st.max_age;
            let l = &mut st.lanes[lane as usize];
            l.batch = None;
            match l.queue.front() {
                Some(m) if now - m.arrival > max_age => {
                    let m = l.queue.pop_front().expect("front");
                    self.stream_discard(source, &[m]);
                }
                Some(_) => break,
                None => {
                    // Nothing found: the lane is idle and polls once per second from now.
                    let l = &mut self.stream(source).lanes[lane as usize];
                    l.idle_since = now;
                    l.window_end = NEVER;
                    return;
                }
            }
        }
        if self.switched_off(self.function_of(source)) {
            return;
        }
        let st = self.stream(source);
        let (window, batch_size) = (st.window, st.batch_size as usize);
        let l = &mut st.lanes[lane as usize];
        if window > 0 && l.queue.len() < batch_size {
            if l.window_end == NEVER {
                // This poll opens a batching window.
                l.window_end = now + window;
                l.poll_at = l.window_end;
                let at = l.window_end;
                self.push_timer(at, Timer::StreamPoll { source, lane });
                return;
            }
            if now < l.window_end {
                return;
            }
        }
        // Taking a batch makes any pending poll stale.
        l.window_end = NEVER;
        l.poll_at = NEVER;
        let b = self.new_batch(source, lane);
        let SourceKind::Stream(st) = &mut self.sources[source as usize].kind else {
            unreachable!()
        };
        let l = &mut st.lanes[lane as usize];
        let n = (st.batch_size as usize).min(l.queue.len());
        let batch = &mut self.batches[b];
        for m in l.queue.drain(..n) {
            batch.poison += m.poison as u32;
            batch.msgs.push(m);
        }
        l.batch = Some(b);
        self.stream_try(b);
    }

    /// Tries batch `b` (first try, or a retry after its delay).
    pub(super) fn stream_try(&mut self, b: u32) {
        let f = self.function_of(self.batches[b].source);
        let batch = &mut self.batches[b];
        batch.tries += 1;
        let first = batch.msgs[0].arrival;
        let last = batch.msgs[batch.msgs.len() - 1].arrival;
        let retry = batch.tries > 1;
        let fs = &mut self.funcs[f];
        if retry {
            fs.bucket_counts.retries += 1;
            if first >= self.warmup {
                fs.totals.retries += 1;
            }
        }
        let c = &mut fs.bucket_counts;
        c.iterator_age_max = c.iterator_age_max.max(self.now - last);
        c.iterator_age_samples += 1;
        let caller = Caller::Batch {
            batch: b,
            arrival: first,
        };
        if self.attempt(f, caller).is_err() {
            self.stream_failed(b, true);
        }
    }

    pub(super) fn stream_done(&mut self, b: u32, outcome: Outcome, cold: bool) {
        if outcome != Outcome::Success {
            self.stream_failed(b, false);
            return;
        }
        let (source, lane) = {
            let batch = &self.batches[b];
            (batch.source, batch.lane)
        };
        let f = self.function_of(source);
        let msgs = std::mem::take(&mut self.batches[b].msgs);
        self.stream(source).unprocessed -= msgs.len() as u64;
        for m in &msgs {
            self.finish_request(f, m.arrival, End::Succeeded, cold);
            self.rec.delivered(source, lane, Micros(m.arrival));
        }
        self.batches[b].msgs = msgs;
        self.free_batch(b);
        self.stream_next(source, lane);
    }

    /// Batch `b` failed (throttled, or the invocation failed): discard it, split it, or try it
    /// again after a delay, blocking its lane meanwhile.
    fn stream_failed(&mut self, b: u32, throttled: bool) {
        let now = self.now;
        let (source, lane, tries, first, len) = {
            let batch = &self.batches[b];
            (
                batch.source,
                batch.lane,
                batch.tries,
                batch.msgs[0].arrival,
                batch.msgs.len(),
            )
        };
        let st = self.stream(source);
        let out_of_retries = st.max_retries >= 0 && (tries - 1) as i64 >= st.max_retries;
        let too_old = now - first > st.max_age;
        if out_of_retries || too_old {
            let msgs = std::mem::take(&mut self.batches[b].msgs);
            self.stream_discard(source, &msgs);
            self.batches[b].msgs = msgs;
            self.free_batch(b);
            self.stream_next(source, lane);
            return;
        }
        if !throttled && st.bisect && len > 1 {
            let SourceKind::Stream(st) = &mut self.sources[source as usize].kind else {
                unreachable!()
            };
            let l = &mut st.lanes[lane as usize];
            let batch = &mut self.batches[b];
            for m in batch.msgs.drain(len / 2..).rev() {
                batch.poison -= m.poison as u32;
                l.queue.push_front(m);
            }
            batch.tries = 0;
        }
        let delay = if throttled {
            THROTTLE_RETRY_DELAY
        } else {
            ERROR_RETRY_DELAY
        };
        self.push_timer(now + delay.0, Timer::StreamRetry(b));
    }
}
