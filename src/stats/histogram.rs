//! A fixed-memory, mergeable log-linear histogram of microsecond values (HdrHistogram's idea).
//!
//! Values below 128 µs are exact; above, each power of two is split into 128 sub-buckets, so a
//! reported percentile (the midpoint of its sub-bucket) is within 0.4 % of the true sample.
//! Memory does not grow with the number of samples: latency statistics never keep samples. The
//! counts cover only the range of sub-buckets touched so far, in whole powers of two (1 KB each),
//! so a histogram of latencies spanning a factor of 8 holds about 4 KB instead of the 35 KB the
//! whole 2^40 µs range would take (10,000 functions keep about eight histograms each).

const SUB_BITS: u32 = 7;
const SUB: usize = 1 << SUB_BITS;
/// Values are clamped to 2^40 µs (about 12.7 days), far beyond Lambda's 15-minute timeout.
const MAX_EXP: u32 = 40;
const BUCKETS: usize = (MAX_EXP - SUB_BITS + 2) as usize * SUB;

/// A log-linear histogram of µs values with bounded relative error, mergeable.
#[derive(Clone)]
pub struct Histogram {
    /// Counts of sub-buckets `base..base + counts.len()` (whole pages of `SUB`); every other
    /// sub-bucket is 0.
    counts: Vec<u64>,
    base: usize,
    total: u64,
    sum: u128,
    max: u64,
    /// Touched index range, so a per-bucket histogram resets in time proportional to its use.
    lo: usize,
    hi: usize,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Histogram(n={}, mean={:.1})", self.total, self.mean())
    }
}

#[inline]
fn index(v: u64) -> usize {
    let v = v.min((1u64 << MAX_EXP) - 1);
    if v < SUB as u64 {
        v as usize
    } else {
        let e = 63 - v.leading_zeros(); // >= SUB_BITS
        let shift = e - SUB_BITS;
        ((shift + 1) as usize) * SUB + ((v >> shift) as usize - SUB)
    }
}

/// Midpoint of the values that map to index `i`.
fn value_of(i: usize) -> f64 {
    if i < SUB {
        i as f64
    } else {
        let shift = (i / SUB - 1) as u32;
        let base = ((i % SUB) + SUB) as u64;
        let lo = base << shift;
        let width = 1u64 << shift;
        lo as f64 + (width as f64 - 1.0) / 2.0
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            counts: Vec::new(),
            base: 0,
            total: 0,
            sum: 0,
            max: 0,
            lo: usize::MAX,
            hi: 0,
        }
    }

    /// Records one value.
    #[inline]
    pub fn record(&mut self, v: u64) {
        let i = index(v);
        match self.counts.get_mut(i.wrapping_sub(self.base)) {
            Some(c) => *c += 1,
            None => {
                self.cover(i, i);
                self.counts[i - self.base] += 1;
            }
        }
        self.total += 1;
        self.sum += v as u128;
        self.max = self.max.max(v);
        self.lo = self.lo.min(i);
        self.hi = self.hi.max(i);
    }

    /// Count of sub-bucket `i` (0 outside the covered range).
    #[inline]
    fn count(&self, i: usize) -> u64 {
        self.counts
            .get(i.wrapping_sub(self.base))
            .copied()
            .unwrap_or(0)
    }

    /// Widens the covered range to include sub-buckets `lo..=hi`, in whole pages; rare (at most
    /// once per power of two a histogram ever sees), so recording stays allocation-free in the
    /// steady state.
    #[cold]
    fn cover(&mut self, lo: usize, hi: usize) {
        let (old_lo, old_hi) = (self.base, self.base + self.counts.len());
        let (new_lo, new_hi) = if self.counts.is_empty() {
            (lo / SUB * SUB, (hi / SUB + 1) * SUB)
        } else {
            (old_lo.min(lo / SUB * SUB), old_hi.max((hi / SUB + 1) * SUB))
        };
        let new_hi = new_hi.min(BUCKETS);
        let mut counts = vec![0; new_hi - new_lo];
        if !self.counts.is_empty() {
            counts[old_lo - new_lo..old_hi - new_lo].copy_from_slice(&self.counts);
        }
        self.counts = counts;
        self.base = new_lo;
    }

    /// Number of values recorded.
    pub fn len(&self) -> u64 {
        self.total
    }
    /// Whether no value was recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
    /// Largest value recorded.
    pub fn max(&self) -> u64 {
        self.max
    }
    /// Mean of the values recorded.
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at quantile `q` in 0..=1 (nearest rank), in µs; 0 when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for i in self.lo..=self.hi {
            seen += self.count(i);
            if seen >= rank {
                return value_of(i).min(self.max as f64);
            }
        }
        self.max as f64
    }

    /// The value at quantile `q` of the union of `hs`: exactly [`Histogram::quantile`] of
    /// their merge, without merging (bucket percentiles read the slots a request's latency was
    /// recorded in once).
    pub fn quantile_of<'a, I>(hs: I, q: f64) -> f64
    where
        I: Iterator<Item = &'a Histogram> + Clone,
    {
        let (mut total, mut max, mut lo, mut hi) = (0u64, 0u64, usize::MAX, 0usize);
        for h in hs.clone() {
            if h.total > 0 {
                total += h.total;
                max = max.max(h.max);
                lo = lo.min(h.lo);
                hi = hi.max(h.hi);
            }
        }
        if total == 0 {
            return 0.0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for i in lo..=hi {
            for h in hs.clone() {
                if h.total > 0 {
                    seen += h.count(i);
                }
            }
            if seen >= rank {
                return value_of(i).min(max as f64);
            }
        }
        max as f64
    }

    /// [`Histogram::quantile_of`] at each of `qs` (in increasing order), in one walk over the
    /// sub-buckets instead of one walk per quantile: the same values.
    pub fn quantiles_of<'a, I, const N: usize>(hs: I, qs: [f64; N]) -> [f64; N]
    where
        I: Iterator<Item = &'a Histogram> + Clone,
    {
        debug_assert!(qs.windows(2).all(|w| w[0] <= w[1]), "quantiles in order");
        let (mut total, mut max, mut lo, mut hi) = (0u64, 0u64, usize::MAX, 0usize);
        for h in hs.clone() {
            if h.total > 0 {
                total += h.total;
                max = max.max(h.max);
                lo = lo.min(h.lo);
                hi = hi.max(h.hi);
            }
        }
        let mut out = [0.0; N];
        if total == 0 {
            return out;
        }
        let ranks = qs.map(|q| ((q * total as f64).ceil() as u64).clamp(1, total));
        let mut j = 0;
        let mut seen = 0;
        for i in lo..=hi {
            for h in hs.clone() {
                if h.total > 0 {
                    seen += h.count(i);
                }
            }
            while j < N && seen >= ranks[j] {
                out[j] = value_of(i).min(max as f64);
                j += 1;
            }
            if j == N {
                return out;
            }
        }
        for o in &mut out[j..] {
            *o = max as f64;
        }
        out
    }

    /// Fraction of samples at or below `v` µs (for CDF charts).
    pub fn cdf_points(&self) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        if self.total == 0 {
            return out;
        }
        let mut seen = 0;
        for i in self.lo..=self.hi {
            let c = self.count(i);
            if c > 0 {
                seen += c;
                out.push((value_of(i), seen as f64 / self.total as f64));
            }
        }
        out
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        if other.total == 0 {
            return;
        }
        if other.lo < self.base || other.hi >= self.base + self.counts.len() {
            self.cover(other.lo, other.hi);
        }
        for i in other.lo..=other.hi {
            self.counts[i - self.base] += other.count(i);
        }
        self.total += other.total;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
        self.lo = self.lo.min(other.lo);
        self.hi = self.hi.max(other.hi);
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        if self.total > 0 {
            self.counts[self.lo - self.base..=self.hi - self.base].fill(0);
        }
        self.total = 0;
        self.sum = 0;
        self.max = 0;
        self.lo = usize::MAX;
        self.hi = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_maps_within_its_bucket_to_0_4_percent() {
        let mut v = 1u64;
        while v < 1 << 39 {
            for d in [0, 1, v / 3, v / 2] {
                let x = v + d;
                let mid = value_of(index(x));
                assert!(
                    (mid - x as f64).abs() <= 0.004 * x as f64 + 0.5,
                    "{x} -> {mid}"
                );
            }
            v = v * 3 / 2 + 1;
        }
    }

    #[test]
    fn quantiles_of_a_uniform_sequence_within_one_percent() {
        let mut h = Histogram::new();
        for v in 1..=1_000_000u64 {
            h.record(v);
        }
        for q in [0.5, 0.9, 0.99, 0.999] {
            let want = q * 1e6;
            assert!(
                (h.quantile(q) / want - 1.0).abs() < 0.01,
                "q{q}: {}",
                h.quantile(q)
            );
        }
        assert_eq!(h.max(), 1_000_000);
        assert!((h.mean() - 500_000.5).abs() < 1e-6);
    }

    #[test]
    fn merge_equals_recording_both() {
        let (mut a, mut b, mut c) = (Histogram::new(), Histogram::new(), Histogram::new());
        for v in 0..5000u64 {
            let x = v * v % 100_003;
            if v % 2 == 0 {
                a.record(x)
            } else {
                b.record(x)
            }
            c.record(x);
        }
        for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
            let e = Histogram::new();
            let union = Histogram::quantile_of([&a, &e, &b].into_iter(), q);
            assert_eq!(union, c.quantile(q), "q{q}");
        }
        // Several quantiles in one walk: each the same as its own walk (and empty gives 0).
        let e = Histogram::new();
        let qs = [0.0, 0.1, 0.5, 0.5, 0.9, 0.99, 0.9999, 1.0];
        let many = Histogram::quantiles_of([&a, &e, &b].into_iter(), qs);
        assert_eq!(many, qs.map(|q| c.quantile(q)));
        assert_eq!(
            Histogram::quantiles_of([&e].into_iter(), [0.5, 0.9]),
            [0.0; 2]
        );
        a.merge(&b);
        assert_eq!(a.quantile(0.5), c.quantile(0.5));
        assert_eq!(a.len(), c.len());
        a.clear();
        assert!(a.is_empty());
        assert_eq!(a.quantile(0.99), 0.0);
    }

    #[test]
    fn covers_only_touched_powers_of_two_and_agrees_with_sorted_samples() {
        // Values from 50 ms to 400 ms (a factor of 8) recorded out of order, the range growing
        // both ways, then a merge from a histogram covering other pages.
        let mut h = Histogram::new();
        let mut all = Vec::new();
        for k in 0..20_000u64 {
            let x = 200_000 + (k * 7919 % 200_000) - if k % 3 == 0 { 150_000 } else { 0 };
            h.record(x);
            all.push(x);
        }
        assert!(
            h.counts.len() <= 5 * SUB,
            "{} sub-buckets kept",
            h.counts.len()
        );
        let mut g = Histogram::new();
        for x in [3u64, 90, 5_000_000, 7_000_000] {
            g.record(x);
            all.push(x);
        }
        h.merge(&g);
        all.sort_unstable();
        let max = *all.last().unwrap() as f64;
        for q in [0.0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.9999, 1.0] {
            // Nearest rank on the sorted samples, reported as its sub-bucket's midpoint.
            let rank = ((q * all.len() as f64).ceil() as usize).clamp(1, all.len());
            let want = value_of(index(all[rank - 1])).min(max);
            assert_eq!(h.quantile(q), want, "q{q}");
        }
        h.clear();
        h.record(1_000);
        assert_eq!(h.quantile(0.5), value_of(index(1_000)).min(1_000.0));
    }
}
