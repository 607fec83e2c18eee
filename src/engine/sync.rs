//! Sync invocations: the client sends, Lambda runs the function or throttles (429) at once,
//! and the client's SDK retry policy decides what happens after a throttle
//! (docs/platform.md "Invocation models and retries", Sync). Lambda itself never retries.
//!
//! An `adaptive` client sends only with a token from its rate limiter
//! ([`crate::retry::AdaptiveLimiter`]); sends without one wait in the client, first come first
//! served, and leave as tokens arrive at the limiter's current rate. Their wait is part of the
//! request's latency; requests still waiting at the end are in flight.

use super::{Caller, End, Outcome, Sim, SourceKind, Timer};
use crate::retry::{AdaptiveLimiter, RetryPolicy, Retryable};
use crate::rng::Rng;
use crate::scenario::{RetryMode, RetrySpec};
use crate::stats::Recorder;
use rand::RngExt;
use std::collections::VecDeque;

/// How a sync attempt failed, for [`Sim::sync_failed`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Failure {
    /// What the retry quota charges for a retry.
    pub cause: Retryable,
    /// A throttle (the adaptive rate limiter backs off on throttles only).
    pub throttled: bool,
    /// How the request ends if the client gives up.
    pub end: End,
    /// Whether the attempt ran on a cold environment (latency split).
    pub cold: bool,
}

/// One SDK client of a sync traffic source: its retry quota and, in adaptive mode, its rate
/// limiter with the sends waiting for a token.
pub(super) struct Client {
    retry: RetryPolicy,
    limiter: Option<AdaptiveLimiter>,
    /// Sends waiting for a token: (arrival, attempt).
    waiting: VecDeque<(u64, u32)>,
    /// Time of the earliest drain timer scheduled (u64::MAX: none).
    next_drain: u64,
}

/// The clients of a sync traffic source (`retry.clients`, default 1). A fleet of containers
/// or browsers is many SDK clients, each with its own retry quota and rate limiter ("Retry
/// behavior": the quota and the adaptive limiter are per client,
/// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>). Each request
/// goes to a client drawn uniformly at random; memory is O(clients).
pub(super) struct Fleet {
    clients: Vec<Client>,
    /// Backoff jitter, shared by the clients (one stream per source keeps runs reproducible).
    rng: Rng,
    /// Which client sends a request (not drawn for a single client).
    pick: Rng,
}

impl Fleet {
    pub(super) fn new(spec: &RetrySpec, rng: Rng, pick: Rng) -> Fleet {
        let n = spec.clients.unwrap_or(1).max(1) as usize;
        let clients = (0..n)
            .map(|_| Client {
                retry: RetryPolicy::new(spec),
                limiter: (spec.mode == RetryMode::Adaptive).then(AdaptiveLimiter::default),
                waiting: VecDeque::new(),
                next_drain: u64::MAX,
            })
            .collect();
        Fleet { clients, rng, pick }
    }

    /// Arrival times of the requests waiting in the clients for a token.
    pub(super) fn waiting(&self) -> impl Iterator<Item = u64> + '_ {
        self.clients
            .iter()
            .flat_map(|c| c.waiting.iter().map(|&(a, _)| a))
    }
}

impl<R: Recorder> Sim<'_, R> {
    fn fleet(&mut self, source: u32) -> &mut Fleet {
        match &mut self.sources[source as usize].kind {
            SourceKind::Sync(f) => f,
            _ => unreachable!("sync caller from a non-sync source"),
        }
    }

    fn client(&mut self, source: u32, client: u32) -> &mut Client {
        &mut self.fleet(source).clients[client as usize]
    }

    /// A new sync request: a client of the source's fleet, drawn uniformly, sends it.
    pub(super) fn sync_arrival(&mut self, source: u32) {
        let fleet = self.fleet(source);
        let n = fleet.clients.len();
        let client = if n > 1 {
            fleet.pick.random_range(0..n) as u32
        } else {
            0
        };
        self.sync_send(source, client, self.now, 1);
    }

    /// Attempt `attempt` of a sync request wants to go now: an adaptive client without a token
    /// (or with sends already waiting) queues it.
    pub(super) fn sync_send(&mut self, source: u32, client: u32, arrival: u64, attempt: u32) {
        let now = self.now;
        let c = self.client(source, client);
        if let Some(l) = c.limiter.as_mut() {
            if !c.waiting.is_empty() || !l.try_acquire(now) {
                c.waiting.push_back((arrival, attempt));
                self.sync_schedule_drain(source, client);
                return;
            }
        }
        self.sync_try(source, client, arrival, attempt);
    }

    /// Makes sure a drain timer fires when the limiter's next token is due.
    fn sync_schedule_drain(&mut self, source: u32, client: u32) {
        let now = self.now;
        let c = self.client(source, client);
        let Some(l) = c.limiter.as_mut() else { return };
        if c.waiting.is_empty() {
            return;
        }
        let at = l.next_token_at(now);
        if at < c.next_drain {
            c.next_drain = at;
            self.push_timer(at, Timer::SyncDrain(source, client));
        }
    }

    /// Waiting sends leave while there are tokens.
    pub(super) fn sync_drain(&mut self, source: u32, client: u32) {
        let now = self.now;
        let c = self.client(source, client);
        if now >= c.next_drain {
            c.next_drain = u64::MAX;
        }
        loop {
            let c = self.client(source, client);
            let Some(l) = c.limiter.as_mut() else { return };
            if c.waiting.is_empty() || !l.try_acquire(now) {
                break;
            }
            let (arrival, attempt) = c.waiting.pop_front().expect("not empty");
            self.sync_try(source, client, arrival, attempt);
        }
        self.sync_schedule_drain(source, client);
    }

    fn sync_try(&mut self, source: u32, client: u32, arrival: u64, attempt: u32) {
        let f = self.function_of(source);
        let caller = Caller::Sync {
            source,
            client,
            arrival,
            attempt,
        };
        if !self.gateway_admits(source) {
            self.gateway_throttled(f, arrival);
            self.sync_throttled(f, source, client, arrival, attempt);
        } else if self.attempt(f, caller).is_err() {
            self.sync_throttled(f, source, client, arrival, attempt);
        }
    }

    /// A retry's backoff ended.
    pub(super) fn sync_retry(&mut self, source: u32, client: u32, arrival: u64, attempt: u32) {
        let f = self.function_of(source);
        self.funcs[f].bucket_counts.retries += 1;
        if arrival >= self.warmup {
            self.funcs[f].totals.retries += 1;
        }
        self.sync_send(source, client, arrival, attempt);
    }

    /// A sync attempt was throttled (429): the client retries after a backoff, or gives up and
    /// the request has failed.
    fn sync_throttled(&mut self, f: usize, source: u32, client: u32, arrival: u64, attempt: u32) {
        let failure = Failure {
            cause: Retryable::Throttle,
            throttled: true,
            end: End::Throttled,
            cold: false,
        };
        self.sync_failed(f, source, client, arrival, attempt, failure);
    }

    /// Attempt `attempt` of a sync request failed with a retryable error (a throttle, or an
    /// API Gateway 504): the client retries after a backoff, or gives up and the request ends
    /// as `failure.end`.
    pub(super) fn sync_failed(
        &mut self,
        f: usize,
        source: u32,
        client: u32,
        arrival: u64,
        attempt: u32,
        failure: Failure,
    ) {
        let now = self.now;
        let fleet = self.fleet(source);
        let c = &mut fleet.clients[client as usize];
        let adaptive = match c.limiter.as_mut() {
            Some(l) => {
                l.on_response(now, failure.throttled);
                true
            }
            None => false,
        };
        match c
            .retry
            .after_failure(attempt, failure.cause, &mut fleet.rng)
        {
            Some(delay) => self.push_timer(
                now + delay,
                Timer::Sync {
                    source,
                    client,
                    arrival,
                    attempt: attempt + 1,
                },
            ),
            None => self.finish_request(f, arrival, failure.end, failure.cold),
        }
        if adaptive {
            self.sync_schedule_drain(source, client);
        }
    }

    /// The invocation ran. Function errors and timeouts come back inside a successful Invoke
    /// response (200), so SDKs do not retry them: the request ends here.
    pub(super) fn sync_done(
        &mut self,
        source: u32,
        client: u32,
        arrival: u64,
        attempt: u32,
        outcome: Outcome,
        cold: bool,
    ) {
        let now = self.now;
        let c = self.client(source, client);
        // Lambda's sync retries are all throttles (a timeout of the function comes back as a
        // 200), so a retried success returns a throttle retry's cost.
        c.retry.on_success(attempt, Retryable::Throttle.cost());
        let adaptive = match c.limiter.as_mut() {
            Some(l) => {
                l.on_response(now, false);
                true
            }
            None => false,
        };
        let end = match outcome {
            Outcome::Success => End::Succeeded,
            Outcome::Error => End::Failed,
            Outcome::Timeout => End::TimedOut,
        };
        let f = self.function_of(source);
        self.finish_request(f, arrival, end, cold);
        if adaptive {
            self.sync_schedule_drain(source, client);
        }
    }
}
