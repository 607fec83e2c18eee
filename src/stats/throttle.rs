//! Throttle reasons and per-reason counts: the one type every output reads throttles through.

use std::ops::{Index, IndexMut};

/// Why an attempt was throttled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ThrottleReason {
    /// No scaling token left (burst quota / per-function scaling rate).
    Burst = 0,
    /// The unreserved account pool is full.
    Account = 1,
    /// The function is at its reserved concurrency (0 = switched off).
    Reserved = 2,
    /// Requests-per-second limit of the account.
    Rate = 3,
    /// The API Gateway in front of the traffic had no token (its rate and burst), so the
    /// request never reached Lambda.
    Gateway = 4,
    /// Lambda Managed Instances: every slot of every execution environment is taken and
    /// capacity has not caught up.
    Capacity = 5,
}

impl ThrottleReason {
    /// Every reason, in the order of their counter indices.
    pub const ALL: [ThrottleReason; 6] = [
        ThrottleReason::Burst,
        ThrottleReason::Account,
        ThrottleReason::Reserved,
        ThrottleReason::Rate,
        ThrottleReason::Gateway,
        ThrottleReason::Capacity,
    ];
    /// The reason's name as written in outputs.
    pub fn name(self) -> &'static str {
        match self {
            ThrottleReason::Burst => "burst",
            ThrottleReason::Account => "account",
            ThrottleReason::Reserved => "reserved",
            ThrottleReason::Rate => "rate",
            ThrottleReason::Gateway => "gateway",
            ThrottleReason::Capacity => "capacity",
        }
    }
}

/// Throttled attempts per reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThrottleCounts([u64; ThrottleReason::ALL.len()]);

impl ThrottleCounts {
    /// `n` throttles of one reason, none of the others.
    pub fn of(reason: ThrottleReason, n: u64) -> ThrottleCounts {
        let mut t = ThrottleCounts::default();
        t[reason] = n;
        t
    }
    /// (reason, count) in the order of [`ThrottleReason::ALL`].
    pub fn iter(&self) -> impl Iterator<Item = (ThrottleReason, u64)> + '_ {
        ThrottleReason::ALL
            .into_iter()
            .map(|r| (r, self.0[r as usize]))
    }
    /// Throttles of every reason together.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
    /// Adds the counts of `o`, reason by reason.
    pub fn add(&mut self, o: &ThrottleCounts) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
    }
}

impl Index<ThrottleReason> for ThrottleCounts {
    type Output = u64;
    #[inline]
    fn index(&self, r: ThrottleReason) -> &u64 {
        &self.0[r as usize]
    }
}

impl IndexMut<ThrottleReason> for ThrottleCounts {
    #[inline]
    fn index_mut(&mut self, r: ThrottleReason) -> &mut u64 {
        &mut self.0[r as usize]
    }
}
