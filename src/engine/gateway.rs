//! API Gateway in front of sync traffic: its token bucket, checked before Lambda's admission,
//! and its integration timeout, after which the client gets a 504 while the function runs on.
//!
//! The bucket: `burst` tokens at most, refilled at `rate` tokens per second, full at t = 0; each
//! attempt that passes takes one, an attempt finding none is throttled (a 429 with reason
//! `gateway`) and never reaches Lambda ("Throttle API requests for better throughput": token
//! bucket of rate and burst,
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html>).
//! O(1) state per gateway: the level and the time it was last brought up to date.
//!
//! The integration timeout (default 29 s) counts from the moment the gateway forwards the
//! attempt, INIT of a cold start included. When the invocation will outlast it (its end is known
//! at its start), the caller is detached from the invocation and a timer answers the client at
//! the timeout: a 504, which its SDK retries like any 5xx. The invocation keeps its environment
//! busy and is billed to its end, and its completion answers nobody.

use super::account::End;
use super::sync::Failure;
use super::{Caller, Sim, Timer};
use crate::retry::Retryable;
use crate::scenario::GatewaySpec;
use crate::stats::Recorder;
use crate::stats::ThrottleReason;

/// The token bucket of one API Gateway.
#[derive(Clone, Debug)]
pub(super) struct Bucket {
    /// Tokens per microsecond.
    rate: f64,
    capacity: f64,
    tokens: f64,
    /// Time `tokens` was last brought up to date, µs.
    at: u64,
}

impl Bucket {
    pub(super) fn new(g: &GatewaySpec) -> Bucket {
        Bucket {
            rate: g.rate / 1e6,
            capacity: g.burst as f64,
            tokens: g.burst as f64,
            at: 0,
        }
    }

    /// Takes a token at `now` if there is one.
    #[inline]
    pub(super) fn take(&mut self, now: u64) -> bool {
        if now > self.at {
            self.tokens = (self.tokens + (now - self.at) as f64 * self.rate).min(self.capacity);
            self.at = now;
        }
        // A whole token, allowing for the rounding of many small refills.
        if self.tokens >= 1.0 - 1e-9 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl<R: Recorder> Sim<'_, R> {
    /// Whether the API Gateway of sync source `source` (if any) lets an attempt through now.
    #[inline]
    pub(super) fn gateway_admits(&mut self, source: u32) -> bool {
        let Some(g) = self.m.sources[source as usize].gateway else {
            return true;
        };
        self.gateways[g as usize].take(self.now)
    }

    /// The caller an invocation starting now keeps: a sync caller behind a gateway whose
    /// integration timeout ends before the invocation (`busy` µs from now: INIT and handler)
    /// is detached, and a timer answers it at the timeout. Strictly before the end, so the
    /// timer never races the completion.
    #[inline]
    pub(super) fn gateway_watch(&mut self, caller: Caller, busy: u64, cold: bool) -> Caller {
        let Caller::Sync {
            source,
            client,
            arrival,
            attempt,
        } = caller
        else {
            return caller;
        };
        let Some(g) = self.m.sources[source as usize].gateway else {
            return caller;
        };
        let timeout = self.m.gateways[g as usize].timeout.0;
        if busy <= timeout {
            return caller;
        }
        self.push_timer(
            self.now + timeout,
            Timer::GatewayTimeout {
                source,
                client,
                arrival,
                attempt,
                cold,
            },
        );
        Caller::Detached { arrival }
    }

    /// The integration timeout of an attempt passed: API Gateway answers 504, the client
    /// retries it as a transient 5xx error (a retry quota cost of 5, like a throttle) or gives
    /// up, and the request has failed.
    pub(super) fn gateway_timeout(
        &mut self,
        source: u32,
        client: u32,
        arrival: u64,
        attempt: u32,
        cold: bool,
    ) {
        let f = self.function_of(source);
        if arrival >= self.warmup {
            self.funcs[f].totals.gateway_timeouts += 1;
        }
        let failure = Failure {
            cause: Retryable::Throttle,
            throttled: false,
            end: End::GatewayTimeout,
            cold,
        };
        self.sync_failed(f, source, client, arrival, attempt, failure);
    }

    /// An attempt was throttled by its API Gateway: counted like Lambda's throttles.
    pub(super) fn gateway_throttled(&mut self, f: usize, arrival: u64) {
        let counted = arrival >= self.warmup;
        if counted {
            self.funcs[f].totals.attempts += 1;
        }
        self.count_throttle(f, ThrottleReason::Gateway, counted);
    }
}
