//! Client retry policies of sync callers (AWS SDK retry modes).
//!
//! Source: AWS-FACTS.md "Invocation models and retries" (Sync). SDKs retry throttles (HTTP 429);
//! a function error or a function timeout comes back inside a successful Invoke response, so it
//! is not retried.
//! - `standard`: 3 attempts; the delay before retry i is U(0,1) x min(base x 2^(i-1), cap)
//!   (full jitter, base 1 s, cap 20 s); a retry quota of 500 tokens per client, 5 per retry,
//!   1 refunded per success: an empty quota stops retries.
//! - `legacy`: boto3's legacy mode: up to 5 attempts, the same jittered exponential backoff,
//!   no retry quota.

use crate::rng::Rng;
use crate::scenario::{RetryMode, RetrySpec};
use crate::time::Micros;
use rand::RngExt;

pub const QUOTA_CAPACITY: u32 = 500;
pub const QUOTA_RETRY_COST: u32 = 5;
pub const QUOTA_SUCCESS_REFUND: u32 = 1;

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
    pub mode: RetryMode,
    pub max_attempts: u32,
    pub base: u64,
    pub cap: u64,
    quota: u32,
}

impl RetryPolicy {
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
        if self.mode == RetryMode::None || attempt >= self.max_attempts {
            return None;
        }
        if self.uses_quota() {
            if self.quota < QUOTA_RETRY_COST {
                return None;
            }
            self.quota -= QUOTA_RETRY_COST;
        }
        let exp = self.base.saturating_mul(1u64 << (attempt - 1).min(40));
        let ceiling = exp.min(self.cap);
        let u: f64 = rng.random();
        Some((u * ceiling as f64) as u64)
    }

    /// A request of this client succeeded: refund the quota.
    #[inline]
    pub fn on_success(&mut self) {
        if self.uses_quota() {
            self.quota = (self.quota + QUOTA_SUCCESS_REFUND).min(QUOTA_CAPACITY);
        }
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
        p.on_success();
        p.on_success();
        p.on_success();
        p.on_success();
        p.on_success();
        assert!(p.after_throttle(1, &mut rng).is_some());
        assert!(p.after_throttle(1, &mut rng).is_none());
        assert!(
            p.after_throttle(3, &mut rng).is_none(),
            "third attempt is the last"
        );
    }
}
