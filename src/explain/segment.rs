//! Segmentation: consecutive buckets of one function joined into segments that tell the same
//! story (pass 1), then the least important boundaries merged until the line budget holds
//! (pass 2). Pure functions of the rows, tested here without a run.

use crate::stats::BucketRow;
use crate::time::Micros;

/// Flags that make up a bucket's story; buckets with equal flags and similar load are joined.
/// Each flag needs a noticeable share (a trickle of idle-reclaim cold starts or a couple of
/// spillovers is not a new chapter; the segment's line still counts them).
pub(super) fn flags(r: &BucketRow) -> u32 {
    let att = attempts(r);
    let mut m = 0;
    for (k, (_, n)) in r.throttles.iter().enumerate() {
        if n >= 5 || (n > 0 && n * 100 >= att) {
            m |= 1 << k;
        }
    }
    // A wave: at least 5 % of the invocations started cold.
    if r.cold_starts > 0 && r.cold_starts * 20 >= r.invocations.max(1) {
        m |= 1 << 4;
    }
    if r.scaling_tokens == 0 {
        m |= 1 << 5;
    }
    if r.spillover > 0 && r.spillover * 20 >= r.invocations.max(1) {
        m |= 1 << 6;
    }
    if r.dead_letters > 0 {
        m |= 1 << 7;
    }
    // A backlog: something has waited more than a second (async queue, SQS queue, stream).
    if r.async_event_age_ms >= 1000.0
        || r.iterator_age_ms >= 1000.0
        || r.queue_oldest_age_ms >= 1000.0
    {
        m |= 1 << 8;
    }
    if r.dropped > 0 {
        m |= 1 << 9;
    }
    m
}

pub(super) fn attempts(r: &BucketRow) -> u64 {
    r.invocations + r.throttles_total()
}

/// A run of buckets `first..=last` (indices into the function's rows).
#[derive(Clone, Debug)]
pub(super) struct Segment {
    pub(super) first: usize,
    pub(super) last: usize,
    pub(super) flags: u32,
    /// Mean attempts per second.
    pub(super) rate: f64,
    /// Mean new arrivals per second (segments follow arrivals too: a drop in arrivals behind
    /// a steady stream of batches from a backlog is a new chapter).
    pub(super) arrivals: f64,
}

impl Segment {
    pub(super) fn len(&self) -> usize {
        self.last - self.first + 1
    }
}

/// Whether `n` is within noise of `mean`: Poisson noise is about sqrt(mean); 5 sigma or
/// 25 %, whichever is larger.
fn within_noise(n: u64, mean: f64) -> bool {
    let tolerance = (0.25 * mean).max(5.0 * mean.sqrt()).max(2.0);
    (n as f64 - mean).abs() <= tolerance
}

/// Pass 1: join consecutive buckets with the same flags and a load (attempts, and new
/// arrivals) within noise of the segment's mean.
pub(super) fn segment(rows: &[&BucketRow], bucket: Micros) -> Vec<Segment> {
    let secs = bucket.as_secs_f64().max(1e-6);
    let mut out: Vec<Segment> = Vec::new();
    let (mut sum, mut arr) = (0u64, 0u64);
    for (i, r) in rows.iter().enumerate() {
        let fl = flags(r);
        let n = attempts(r);
        if let Some(s) = out.last_mut() {
            let len = s.len() as f64;
            if s.flags == fl
                && within_noise(n, sum as f64 / len)
                && within_noise(r.arrivals, arr as f64 / len)
            {
                s.last = i;
                sum += n;
                arr += r.arrivals;
                s.rate = sum as f64 / s.len() as f64 / secs;
                s.arrivals = arr as f64 / s.len() as f64 / secs;
                continue;
            }
        }
        sum = n;
        arr = r.arrivals;
        out.push(Segment {
            first: i,
            last: i,
            flags: fl,
            rate: n as f64 / secs,
            arrivals: r.arrivals as f64 / secs,
        });
    }
    out
}

/// How much the boundary between two neighbours matters: differing flags and load change,
/// weighted by the shorter side's length (a lone bucket is the first to be absorbed).
pub(super) fn boundary_weight(a: &Segment, b: &Segment) -> f64 {
    let flags = (a.flags ^ b.flags).count_ones() as f64;
    let load = ((a.rate + 1.0) / (b.rate + 1.0)).ln().abs();
    let arrivals = ((a.arrivals + 1.0) / (b.arrivals + 1.0)).ln().abs();
    (1.0 + 2.0 * flags + 3.0 * load.max(arrivals)) * (1.0 + (a.len().min(b.len()) as f64).ln())
}

/// Pass 2: join the least important boundaries until at most `budget` segments remain.
pub(super) fn merge_to_budget(mut segs: Vec<Segment>, budget: usize) -> Vec<Segment> {
    while segs.len() > budget {
        let mut best = 0;
        let mut best_w = f64::INFINITY;
        for i in 0..segs.len() - 1 {
            let w = boundary_weight(&segs[i], &segs[i + 1]);
            if w < best_w {
                best_w = w;
                best = i;
            }
        }
        let b = segs.remove(best + 1);
        let a = &mut segs[best];
        let total = a.rate * a.len() as f64 + b.rate * b.len() as f64;
        let arrivals = a.arrivals * a.len() as f64 + b.arrivals * b.len() as f64;
        a.last = b.last;
        a.flags |= b.flags;
        a.rate = total / a.len() as f64;
        a.arrivals = arrivals / a.len() as f64;
    }
    segs
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A function row of one bucket for tests (also used by the explain tests in `mod.rs`).
    pub(in crate::explain) fn row(
        t: u64,
        inv: u64,
        thr_burst: u64,
        cold: u64,
        tokens: u64,
    ) -> BucketRow {
        BucketRow {
            start: Micros::from_secs(t),
            function: Some(0),
            invocations: inv,
            throttles: crate::stats::ThrottleCounts::of(
                crate::stats::ThrottleReason::Burst,
                thr_burst,
            ),
            cold_starts: cold,
            scaling_tokens: tokens,
            ..Default::default()
        }
    }

    #[test]
    fn steady_noisy_load_is_one_segment() {
        let rows: Vec<BucketRow> = (0..100)
            .map(|t| row(t, 1000 + (t * 37 % 60), 0, 0, 1000))
            .collect();
        let refs: Vec<&BucketRow> = rows.iter().collect();
        assert_eq!(segment(&refs, Micros::SECOND).len(), 1);
    }

    #[test]
    fn a_lone_cold_start_wave_survives_merging_but_flapping_does_not() {
        // 3 s of cold starts, then 100 s of throttles with a refill bucket every 10 s.
        let mut rows = vec![row(0, 1000, 0, 1000, 2000), row(1, 1000, 0, 1000, 1000)];
        rows.push(row(2, 1000, 0, 1000, 0));
        for t in 3..103 {
            let refill = t % 10 == 0;
            rows.push(row(t, 1000, 500, if refill { 100 } else { 0 }, 0));
        }
        let refs: Vec<&BucketRow> = rows.iter().collect();
        let segs = merge_to_budget(segment(&refs, Micros::SECOND), 3);
        assert!(segs.len() <= 3);
        assert_eq!(segs[0].first, 0);
        assert!(
            segs[0].last <= 2,
            "the cold-start wave keeps its own line: {segs:?}"
        );
    }
}
