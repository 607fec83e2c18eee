//! Sync invocations: the client sends, Lambda runs the function or throttles (429) at once,
//! and the client's SDK retry policy decides what happens after a throttle
//! (AWS-FACTS.md "Invocation models and retries", Sync). Lambda itself never retries.

use super::{Caller, End, Outcome, Sim, SourceKind, Timer};
use crate::retry::{AdaptiveLimiter, RetryPolicy};
use crate::rng::Rng;
use crate::scenario::{RetryMode, RetrySpec};
use crate::stats::Recorder;

/// A sync traffic source's client: its retry policy and, in adaptive mode, its rate limiter.
pub(super) struct Client {
    retry: RetryPolicy,
    limiter: Option<AdaptiveLimiter>,
    rng: Rng,
}

impl Client {
    pub(super) fn new(spec: &RetrySpec, rng: Rng) -> Client {
        Client {
            retry: RetryPolicy::new(spec),
            limiter: (spec.mode == RetryMode::Adaptive).then(AdaptiveLimiter::default),
            rng,
        }
    }
}

impl<R: Recorder> Sim<'_, R> {
    fn client(&mut self, source: u32) -> &mut Client {
        match &mut self.sources[source as usize].kind {
            SourceKind::Sync(c) => c,
            _ => unreachable!("sync caller from a non-sync source"),
        }
    }

    /// Attempt `attempt` of a sync request wants to go now: an adaptive client may hold it
    /// back until its rate limiter has a token.
    pub(super) fn sync_send(&mut self, source: u32, arrival: u64, attempt: u32) {
        let now = self.now;
        if let Some(l) = self.client(source).limiter.as_mut() {
            let at = l.acquire(now);
            if at > now {
                self.push_timer(
                    at,
                    Timer::Sync {
                        source,
                        arrival,
                        attempt,
                        send_only: true,
                    },
                );
                return;
            }
        }
        self.sync_try(source, arrival, attempt);
    }

    fn sync_try(&mut self, source: u32, arrival: u64, attempt: u32) {
        let f = self.function_of(source);
        let caller = Caller::Sync {
            source,
            arrival,
            attempt,
        };
        if self.attempt(f, caller).is_err() {
            self.sync_throttled(f, source, arrival, attempt);
        }
    }

    /// A retry's backoff or a limiter's hold ended.
    pub(super) fn sync_timer(&mut self, source: u32, arrival: u64, attempt: u32, send_only: bool) {
        if send_only {
            self.sync_try(source, arrival, attempt);
            return;
        }
        if arrival >= self.warmup {
            let f = self.function_of(source);
            self.funcs[f].totals.retries += 1;
        }
        self.sync_send(source, arrival, attempt);
    }

    /// A sync attempt was throttled (429): the client retries after a backoff, or gives up and
    /// the request has failed.
    fn sync_throttled(&mut self, f: usize, source: u32, arrival: u64, attempt: u32) {
        let now = self.now;
        let c = self.client(source);
        if let Some(l) = c.limiter.as_mut() {
            l.on_response(now, true);
        }
        match c.retry.after_throttle(attempt, &mut c.rng) {
            Some(delay) => self.push_timer(
                now + delay,
                Timer::Sync {
                    source,
                    arrival,
                    attempt: attempt + 1,
                    send_only: false,
                },
            ),
            None => self.finish_request(f, arrival, End::Throttled, false),
        }
    }

    /// The invocation ran. Function errors and timeouts come back inside a successful Invoke
    /// response (200), so SDKs do not retry them: the request ends here.
    pub(super) fn sync_done(&mut self, source: u32, arrival: u64, outcome: Outcome, cold: bool) {
        let now = self.now;
        let c = self.client(source);
        c.retry.on_success();
        if let Some(l) = c.limiter.as_mut() {
            l.on_response(now, false);
        }
        let end = match outcome {
            Outcome::Success => End::Succeeded,
            Outcome::Error => End::Failed,
            Outcome::Timeout => End::TimedOut,
        };
        let f = self.function_of(source);
        self.finish_request(f, arrival, end, cold);
    }
}
