//! Admission of an invocation, all in this file: the order of checks that decides between a
//! warm start, a cold start and a throttle with its reason ([`Sim::admit`]); the scaling
//! budget's token buckets; the throttle reasons and their per-reason counts.
//!
//! Source: docs/platform.md "Scaling quotas" and "Concurrency limits".

use super::{Caller, Placement, Sim};
use crate::stats::Recorder;
use crate::time::Micros;

pub use crate::scenario::Refill;
pub use crate::stats::throttle::{ThrottleCounts, ThrottleReason};

/// Which concurrency pool a function draws from, resolved once when the run starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pool {
    /// Its own reservation of this many environments.
    Reserved(u32),
    /// The account's unreserved pool.
    Unreserved,
    /// A Lambda Managed Instances capacity provider (its environments' slots, not the pools).
    Managed,
}

impl<R: Recorder> Sim<'_, R> {
    /// Reserved concurrency 0 switches function `f` off: every invocation is throttled, and
    /// its SQS and stream event source mappings do not invoke it (their messages and records
    /// wait). Source: "Configuring reserved concurrency",
    /// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html>.
    pub(super) fn switched_off(&self, f: usize) -> bool {
        self.funcs[f].pool == Pool::Reserved(0)
    }

    /// One try to invoke function `f`: admission, then a warm or cold start.
    /// Returns the throttle reason when the attempt was refused.
    pub(super) fn attempt(&mut self, f: usize, caller: Caller) -> Result<(), ThrottleReason> {
        let counted = caller.arrival() >= self.warmup;
        if counted {
            self.funcs[f].totals.attempts += 1;
        }
        let admitted = if self.funcs[f].pool == Pool::Managed {
            self.managed_admit(f)
        } else {
            self.admit(f)
        };
        match admitted {
            Ok(place) => {
                self.start(f, place, caller, counted);
                Ok(())
            }
            Err(reason) => {
                self.count_throttle(f, reason, counted);
                Err(reason)
            }
        }
    }

    /// Counts a throttled attempt of function `f` (in the summary too when `counted`).
    pub(super) fn count_throttle(&mut self, f: usize, reason: ThrottleReason, counted: bool) {
        self.rec.on_throttle(self.now, f as u32);
        let fs = &mut self.funcs[f];
        fs.bucket_counts.throttles[reason] += 1;
        if counted {
            fs.totals.throttles[reason] += 1;
        }
    }

    /// Lambda Managed Instances: a free slot of an environment, never a cold start; none is a
    /// `capacity` throttle (see [`super::managed`]).
    fn managed_admit(&mut self, f: usize) -> Result<Placement, ThrottleReason> {
        match self.managed_route(f) {
            Some(env) => Ok(Placement {
                env,
                cold: false,
                reset: false,
                provisioned: false,
                retire_at: u64::MAX,
            }),
            None => Err(ThrottleReason::Capacity),
        }
    }

    /// The order of admission checks. Returns where the invocation runs, or the reason.
    ///
    /// The account-pool check (5) runs before warm reuse of an idle on-demand environment (4)
    /// as well as before a cold start, because reusing a warm environment also adds a
    /// concurrent execution, and concurrency must never exceed the account limit.
    #[inline]
    fn admit(&mut self, f: usize) -> Result<Placement, ThrottleReason> {
        let now = self.now;
        // 1. Requests-per-second limit of the account (docs/platform.md "Concurrency limits").
        if self.rate_limit > 0 {
            let sec = now / 1_000_000;
            if sec != self.rate_second {
                self.rate_second = sec;
                self.rate_count = 0;
            }
            if self.rate_count >= self.rate_limit {
                return Err(ThrottleReason::Rate);
            }
        }
        let fs = &mut self.funcs[f];
        let pool = fs.pool;
        // 2. Reserved concurrency caps the function (0 switches it off).
        if let Pool::Reserved(r) = pool {
            if fs.busy.value >= r {
                return Err(ThrottleReason::Reserved);
            }
        }
        // 3. An idle provisioned environment: warm.
        if let Some(env) = fs.prov_idle.pop() {
            self.rate_count += 1;
            return Ok(Placement {
                env,
                cold: false,
                reset: false,
                provisioned: true,
                retire_at: u64::MAX,
            });
        }
        // 5 (before 4, see above). The unreserved pool, for functions without a reservation.
        let unreserved = pool == Pool::Unreserved;
        if unreserved && self.unreserved_used >= self.m.account.unreserved_pool {
            return Err(ThrottleReason::Account);
        }
        // 4. The most recently used idle on-demand environment that is not yet reclaimed.
        while let Some(idle) = fs.idle.pop() {
            if idle.reclaim_at > now {
                self.rate_count += 1;
                if unreserved {
                    self.unreserved_used += 1;
                }
                return Ok(Placement {
                    env: idle.env,
                    cold: idle.reset,
                    reset: idle.reset,
                    provisioned: false,
                    retire_at: idle.retire_at,
                });
            }
            self.envs.free(idle.env);
            let r = crate::stats::EnvEvent::Reclaimed;
            self.rec
                .on_env(idle.reclaim_at, idle.env, f as u32, r, false);
        }
        // 6. A new environment costs one scaling token.
        let bucket = match fs.bucket.as_mut() {
            Some(b) => b,
            None => self
                .account_bucket
                .as_mut()
                .expect("burst mode has an account bucket"),
        };
        if !bucket.take(now) {
            return Err(ThrottleReason::Burst);
        }
        self.rate_count += 1;
        if unreserved {
            self.unreserved_used += 1;
        }
        let env = self.new_env(f as u32);
        Ok(Placement {
            env,
            cold: true,
            reset: false,
            provisioned: false,
            retire_at: now + self.m.functions[f].max_lifetime.0,
        })
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
