//! Client retry policies of sync callers (AWS SDK retry modes).
//!
//! Source: docs/platform.md "Invocation models and retries" (Sync). SDKs retry throttles (HTTP 429);
//! a function error or a function timeout comes back inside a successful Invoke response, so it
//! is not retried.
//! - `standard`: 3 attempts; the delay before retry i is U(0,1) x min(base x 2^(i-1), cap)
//!   (full jitter, base 1 s, cap 20 s); a retry quota of 500 tokens per client: a retry costs 5
//!   (10 after a timeout), a success that was never retried returns 1, a success that was
//!   retried returns what its last retry took; an empty quota stops retries. This is the AWS
//!   SDKs' retry quota (botocore's `RetryQuotaChecker`, `StandardRetryConditions`), see
//!   "Retry behavior" in the AWS SDKs and Tools Reference Guide,
//!   <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>.
//! - `legacy`: boto3's legacy mode: up to 5 attempts, the same jittered exponential backoff,
//!   no retry quota.
//! - `adaptive`: `standard` plus [`AdaptiveLimiter`], the client-side rate limiter.

use crate::rng::Rng;
use crate::time::Micros;
use rand::RngExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An AWS SDK retry mode (`retry.mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum RetryMode {
    /// The client does not retry (the default).
    #[default]
    None,
    /// Legacy mode: 5 attempts, exponential backoff with jitter.
    Legacy,
    /// Standard mode: 3 attempts, a retry quota of 500 tokens.
    Standard,
    /// Adaptive mode: standard plus a client-side rate limiter.
    Adaptive,
}

/// Client retry policy of sync traffic (AWS SDK retry modes).
/// Missing keys are filled by [`defaults`] for the mode when the scenario is resolved.
#[derive(Clone, Debug, Serialize, Deserialize, Default, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(inline)]
pub struct RetrySpec {
    /// none (default), legacy, standard or adaptive.
    pub mode: RetryMode,
    /// Attempts in all, the first included (default by mode: legacy 5, standard and adaptive 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Backoff base (default 1s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<Micros>,
    /// Backoff cap (default 20s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<Micros>,
    /// Independent SDK clients the requests are spread over, uniformly at random (default 1):
    /// each has its own retry quota and, in adaptive mode, its own rate limiter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clients: Option<u32>,
}

// The retry quota of the AWS SDKs' standard mode (botocore `RetryQuotaChecker`; "Retry
// behavior", https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
/// Retry quota of the standard and adaptive modes, tokens.
pub const QUOTA_CAPACITY: u32 = 500;
/// Tokens a retry takes.
pub const QUOTA_RETRY_COST: u32 = 5;
/// Tokens a retry after a timeout (no response) takes.
pub const QUOTA_TIMEOUT_RETRY_COST: u32 = 10;
/// Tokens a success that was never retried returns.
pub const QUOTA_SUCCESS_REFUND: u32 = 1;

/// Why an attempt is retried: the quota charges a timeout (no response at all) double.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retryable {
    /// A throttling error (Lambda's 429 `TooManyRequestsException`).
    Throttle,
    /// A client-side timeout: no response arrived.
    Timeout,
}

impl Retryable {
    /// Quota tokens a retry for this cause takes.
    pub fn cost(self) -> u32 {
        match self {
            Retryable::Throttle => QUOTA_RETRY_COST,
            Retryable::Timeout => QUOTA_TIMEOUT_RETRY_COST,
        }
    }
}

/// Defaults of a mode: (max attempts, base, cap).
pub fn defaults(mode: RetryMode) -> (u32, Micros, Micros) {
    match mode {
        RetryMode::None => (1, Micros::SECOND, Micros::from_secs(20)),
        RetryMode::Legacy => (5, Micros::SECOND, Micros::from_secs(20)),
        RetryMode::Standard | RetryMode::Adaptive => (3, Micros::SECOND, Micros::from_secs(20)),
    }
}

/// A resolved policy with its per-client state (the retry quota).
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// The SDK retry mode.
    pub mode: RetryMode,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Backoff base, µs.
    pub base: u64,
    /// Backoff cap, µs.
    pub cap: u64,
    quota: u32,
}

impl RetryPolicy {
    /// A policy for `spec`, its missing keys filled from the mode's defaults, with a full quota.
    pub fn new(spec: &RetrySpec) -> RetryPolicy {
        let (m, b, c) = defaults(spec.mode);
        RetryPolicy {
            mode: spec.mode,
            max_attempts: spec.max_attempts.unwrap_or(m).max(1),
            base: spec.base.unwrap_or(b).0,
            cap: spec.cap.unwrap_or(c).0,
            quota: QUOTA_CAPACITY,
        }
    }

    fn uses_quota(&self) -> bool {
        matches!(self.mode, RetryMode::Standard | RetryMode::Adaptive)
    }

    /// After attempt number `attempt` (1-based) was throttled: the delay before the next
    /// attempt, or `None` when the request gives up.
    #[inline]
    pub fn after_throttle(&mut self, attempt: u32, rng: &mut Rng) -> Option<u64> {
        self.after_failure(attempt, Retryable::Throttle, rng)
    }

    /// After attempt number `attempt` (1-based) failed with a retryable `cause`: the delay
    /// before the next attempt, or `None` when the request gives up.
    #[inline]
    pub fn after_failure(&mut self, attempt: u32, cause: Retryable, rng: &mut Rng) -> Option<u64> {
        if self.mode == RetryMode::None || attempt >= self.max_attempts {
            return None;
        }
        if self.uses_quota() {
            let cost = cause.cost();
            if self.quota < cost {
                return None;
            }
            self.quota -= cost;
        }
        let exp = self.base.saturating_mul(1u64 << (attempt - 1).min(40));
        let ceiling = exp.min(self.cap);
        let u: f64 = rng.random();
        Some((u * ceiling as f64) as u64)
    }

    /// A request of this client got a successful response on attempt number `attempt`, whose
    /// retry (if `attempt > 1`) took `last_cost` tokens: a call never retried returns 1 token,
    /// a retried one returns what its last retry took (botocore `RetryQuotaChecker`).
    #[inline]
    pub fn on_success(&mut self, attempt: u32, last_cost: u32) {
        if self.uses_quota() {
            let refund = if attempt <= 1 {
                QUOTA_SUCCESS_REFUND
            } else {
                last_cost
            };
            self.quota = (self.quota + refund).min(QUOTA_CAPACITY);
        }
    }

    /// Quota tokens left (the capacity for modes without a quota).
    pub fn quota(&self) -> u32 {
        self.quota
    }
}

/// The client-side rate limiter of the `adaptive` retry mode, after botocore's
/// `ClientRateLimiter` (docs/platform.md "Invocation models and retries", Sync, `adaptive`).
///
/// Off until the first throttle. Then every send takes a token from a bucket refilled at the
/// current rate (at least 0.5 per second, capacity max(rate, 1)); a send without a token waits
/// for one (the engine keeps waiting sends in a FIFO and releases them as tokens arrive, so a
/// rate change applies to sends already waiting). The rate follows CUBIC: a throttle sets W_max to the rate in use and drops the rate
/// to 0.7 x W_max; each success sets it to 0.4 (t - K)^3 + W_max, K = cbrt(W_max x 0.3 / 0.4),
/// t the time since the last throttle; the rate is capped at twice the measured response rate
/// (an exponentially smoothed count of responses per half second). Time is in seconds (f64:
/// deterministic, and only adaptive sources pay for it).
#[derive(Clone, Debug)]
pub struct AdaptiveLimiter {
    enabled: bool,
    fill_rate: f64,
    capacity: f64,
    tokens: f64,
    last_refill: f64,
    w_max: f64,
    k: f64,
    last_throttle: f64,
    measured: f64,
    rate_bucket: f64,
    rate_count: f64,
}

impl Default for AdaptiveLimiter {
    fn default() -> Self {
        AdaptiveLimiter {
            enabled: false,
            fill_rate: ADAPTIVE_MIN_RATE,
            capacity: 1.0,
            tokens: 0.0,
            last_refill: 0.0,
            w_max: 0.0,
            k: 0.0,
            last_throttle: 0.0,
            measured: 0.0,
            rate_bucket: 0.0,
            rate_count: 0.0,
        }
    }
}

/// Adaptive mode: multiplicative decrease of the send rate on a throttle (CUBIC beta).
pub const ADAPTIVE_BETA: f64 = 0.7;
/// Adaptive mode: CUBIC scaling constant of the rate's recovery.
pub const ADAPTIVE_SCALE: f64 = 0.4;
/// Adaptive mode: lowest send rate, requests per second.
pub const ADAPTIVE_MIN_RATE: f64 = 0.5;
const SMOOTHING: f64 = 0.8;
/// The measured rate is counted in half-second buckets.
const RATE_BUCKETS_PER_S: f64 = 2.0;

impl AdaptiveLimiter {
    /// The current sending rate limit, requests per second (`None` while not yet enabled).
    pub fn rate(&self) -> Option<f64> {
        self.enabled.then_some(self.fill_rate)
    }

    fn refill(&mut self, t: f64) {
        if t > self.last_refill {
            self.tokens =
                (self.tokens + (t - self.last_refill) * self.fill_rate).min(self.capacity);
            self.last_refill = t;
        }
    }

    /// A send wants to go at `now` (µs): takes a token if one is there (always, while off).
    #[inline]
    pub fn try_acquire(&mut self, now: u64) -> bool {
        if !self.enabled {
            return true;
        }
        self.refill(now as f64 / 1e6);
        // The tolerance absorbs rounding of `next_token_at` to whole microseconds.
        if self.tokens >= 1.0 - 1e-9 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// When the next token will be there at the current rate (µs, >= now).
    pub fn next_token_at(&mut self, now: u64) -> u64 {
        if !self.enabled {
            return now;
        }
        self.refill(now as f64 / 1e6);
        if self.tokens >= 1.0 - 1e-9 {
            now
        } else {
            now + ((1.0 - self.tokens) / self.fill_rate * 1e6).ceil() as u64
        }
    }

    /// A response (throttled or not) arrived at `now` (µs).
    pub fn on_response(&mut self, now: u64, throttled: bool) {
        let t = now as f64 / 1e6;
        // Measured response rate (botocore's RateClocker).
        let bucket = (t * RATE_BUCKETS_PER_S).floor() / RATE_BUCKETS_PER_S;
        self.rate_count += 1.0;
        if bucket > self.rate_bucket {
            let current = self.rate_count / (bucket - self.rate_bucket);
            self.measured = current * SMOOTHING + self.measured * (1.0 - SMOOTHING);
            self.rate_count = 0.0;
            self.rate_bucket = bucket;
        }
        let new_rate = if throttled {
            let in_use = if self.enabled {
                self.measured.min(self.fill_rate)
            } else {
                self.measured
            };
            self.w_max = in_use;
            self.k = (self.w_max * (1.0 - ADAPTIVE_BETA) / ADAPTIVE_SCALE).cbrt();
            self.last_throttle = t;
            self.enabled = true;
            in_use * ADAPTIVE_BETA
        } else {
            if !self.enabled {
                return;
            }
            ADAPTIVE_SCALE * (t - self.last_throttle - self.k).powi(3) + self.w_max
        };
        let rate = new_rate.min(2.0 * self.measured);
        self.refill(t);
        self.fill_rate = rate.max(ADAPTIVE_MIN_RATE);
        self.capacity = rate.max(1.0);
        self.tokens = self.tokens.min(self.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn standard_backoff_is_full_jitter_with_mean_half_the_ceiling() {
        // Mean of U(0,1) x min(2^(i-1) s, 20 s) is 0.5, 1, 2 s for i = 1, 2, 3 (within 2 %).
        let mut rng = stream(3, "retry", 0);
        for (attempt, want) in [(1u32, 0.5), (2, 1.0)] {
            let mut p = RetryPolicy::new(&RetrySpec {
                mode: RetryMode::Legacy,
                ..Default::default()
            });
            let n = 100_000;
            let mean = (0..n)
                .map(|_| p.after_throttle(attempt, &mut rng).unwrap() as f64 / 1e6)
                .sum::<f64>()
                / n as f64;
            assert!(
                (mean / want - 1.0).abs() < 0.02,
                "attempt {attempt}: {mean}"
            );
        }
        // The cap: attempt 10 would be 512 s uncapped; never above 20 s.
        let mut p = RetryPolicy::new(&RetrySpec {
            mode: RetryMode::Legacy,
            max_attempts: Some(20),
            ..Default::default()
        });
        assert!((0..1000).all(|_| p.after_throttle(10, &mut rng).unwrap() <= 20_000_000));
    }

    #[test]
    fn standard_quota_allows_100_retries_without_successes() {
        let mut p = RetryPolicy::new(&RetrySpec {
            mode: RetryMode::Standard,
            ..Default::default()
        });
        let mut rng = stream(1, "retry", 0);
        let granted = (0..1000)
            .filter(|_| p.after_throttle(1, &mut rng).is_some())
            .count();
        assert_eq!(granted, 100);
        // Five successes never retried return 1 token each: one more retry.
        for _ in 0..5 {
            p.on_success(1, 0);
        }
        assert!(p.after_throttle(1, &mut rng).is_some());
        assert!(p.after_throttle(1, &mut rng).is_none());
        // A success on a retry returns what that retry took: one more retry at once.
        p.on_success(2, QUOTA_RETRY_COST);
        assert_eq!(p.quota(), 5);
        assert!(p.after_throttle(1, &mut rng).is_some());
        assert!(p.after_throttle(1, &mut rng).is_none());
        // A timeout retry takes 10 and a success after it returns 10.
        p.on_success(2, QUOTA_TIMEOUT_RETRY_COST);
        assert!(p.after_failure(1, Retryable::Timeout, &mut rng).is_some());
        assert_eq!(p.quota(), 0);
        // The refund never lifts the quota past its capacity.
        for _ in 0..1000 {
            p.on_success(2, QUOTA_RETRY_COST);
        }
        assert_eq!(p.quota(), QUOTA_CAPACITY);
        assert!(
            p.after_throttle(3, &mut rng).is_none(),
            "third attempt is the last"
        );
    }

    #[test]
    fn adaptive_rate_drops_by_beta_and_recovers_along_the_cubic() {
        let mut l = AdaptiveLimiter::default();
        // 100 responses per second for 10 s: the measured rate converges to 100/s.
        for i in 0..1000u64 {
            l.on_response(i * 10_000, false);
        }
        assert_eq!(l.rate(), None, "off until the first throttle");
        assert!(l.try_acquire(10_000_000));
        l.on_response(10_000_000, true);
        let r0 = l.rate().unwrap();
        assert!((r0 - 70.0).abs() < 1.0, "0.7 x ~100/s, got {r0}");
        // K = cbrt(W_max x 0.3 / 0.4); at t = K after the throttle the rate is back at W_max.
        let w_max = r0 / ADAPTIVE_BETA;
        let k = (w_max * 0.3 / 0.4).cbrt();
        // Keep the measured rate at ~100/s so the 2x cap does not bind.
        let mut t = 10_000_000u64;
        while (t as f64) < 10e6 + k * 1e6 {
            t += 10_000;
            l.on_response(t, false);
        }
        let r = l.rate().unwrap();
        assert!(
            (r - w_max).abs() / w_max < 0.02,
            "rate {r} vs W_max {w_max}"
        );
        // Sends are spaced by 1/rate once the bucket is empty.
        let mut l2 = AdaptiveLimiter::default();
        for i in 0..1000u64 {
            l2.on_response(i * 10_000, false);
        }
        l2.on_response(10_000_000, true);
        let rate = l2.rate().unwrap();
        let mut now = 10_000_000;
        let sends: Vec<u64> = (0..50)
            .map(|_| {
                now = l2.next_token_at(now);
                assert!(l2.try_acquire(now));
                now
            })
            .collect();
        let span = (sends[49] - sends[0]) as f64 / 1e6;
        assert!(
            (span - 49.0 / rate).abs() < 0.01,
            "{span} vs {}",
            49.0 / rate
        );
    }
}
