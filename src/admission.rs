//! Admission of an invocation: the scaling budget (token buckets) and the order of checks that
//! decide between a warm start, a cold start and a throttle with its reason.
//!
//! Source: docs/platform.md "Scaling quotas" and "Concurrency limits".

use crate::scenario::Refill;
use crate::time::Micros;

/// Why an attempt was throttled. The discriminant indexes per-reason counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Throttle {
    /// No scaling token left (burst quota / per-function scaling rate).
    Burst = 0,
    /// The unreserved account pool is full.
    Account = 1,
    /// The function is at its reserved concurrency (0 = switched off).
    Reserved = 2,
    /// Requests-per-second limit of the account.
    Rate = 3,
}

impl Throttle {
    /// Every reason, in the order of their counter indices.
    pub const ALL: [Throttle; 4] = [
        Throttle::Burst,
        Throttle::Account,
        Throttle::Reserved,
        Throttle::Rate,
    ];
    /// The reason's name as written in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Throttle::Burst => "burst",
            Throttle::Account => "account",
            Throttle::Reserved => "reserved",
            Throttle::Rate => "rate",
        }
    }
}

/// A token bucket of environment creations. One token per new environment; reuse is free.
///
/// The level is kept in integer units of 1/interval token so continuous refill is exact:
/// `step` tokens per `interval` microseconds is `step` units per microsecond.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    level: u128,
    cap: u128,
    step: u128,
    interval: u64,
    refill: Refill,
    last: u64,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens refilled by `step` per `interval`.
    pub fn new(capacity: u32, step: u32, interval: Micros, refill: Refill) -> TokenBucket {
        let interval = interval.0.max(1);
        let cap = capacity as u128 * interval as u128;
        TokenBucket {
            level: cap,
            cap,
            step: step as u128,
            interval,
            refill,
            last: 0,
        }
    }

    #[inline]
    fn advance(&mut self, now: u64) {
        if now <= self.last {
            return;
        }
        let add = match self.refill {
            Refill::Continuous => self.step * (now - self.last) as u128,
            // Step refill at each whole interval from t = 0 (AWS's staircase diagrams).
            Refill::Step => {
                let k = (now / self.interval - self.last / self.interval) as u128;
                k * self.step * self.interval as u128
            }
        };
        self.level = (self.level + add).min(self.cap);
        self.last = now;
    }

    /// Takes one token at `now`; false when the bucket is empty.
    #[inline]
    pub fn take(&mut self, now: u64) -> bool {
        self.advance(now);
        let one = self.interval as u128;
        if self.level >= one {
            self.level -= one;
            true
        } else {
            false
        }
    }

    /// Whole tokens available at `now`.
    pub fn available(&mut self, now: u64) -> u64 {
        self.advance(now);
        (self.level / self.interval as u128) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuous_refill_is_100_per_second_and_capped() {
        let mut b = TokenBucket::new(1000, 1000, Micros::from_secs(10), Refill::Continuous);
        for _ in 0..1000 {
            assert!(b.take(0));
        }
        assert!(!b.take(0));
        assert_eq!(b.available(1_000_000), 100);
        assert_eq!(b.available(2_500_000), 250);
        assert_eq!(b.available(1_000_000_000), 1000);
    }

    #[test]
    fn step_refill_adds_500_at_each_whole_minute() {
        let mut b = TokenBucket::new(3000, 500, Micros::from_secs(60), Refill::Step);
        for _ in 0..3000 {
            assert!(b.take(10));
        }
        assert_eq!(b.available(59_999_999), 0);
        assert_eq!(b.available(60_000_000), 500);
        assert_eq!(b.available(150_000_000), 1000);
        assert_eq!(b.available(3_600_000_000), 3000);
    }
}
