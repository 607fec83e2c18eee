//! Request accounting and bucket closing: how a request's end is counted (outcome totals,
//! latency), and the rows of the time series emitted as each bucket closes.
//!
//! Latency is recorded once per request, into one of three per-bucket histograms of its
//! function (before the warmup; counted cold; counted warm). A closing bucket reads its
//! percentiles from their union and folds the counted ones into the run's cold and warm
//! histograms; the run's latency is the union of those two. Merging adds counts, so every
//! percentile is exactly what recording each histogram separately gave.

use super::{Sim, SourceKind};
use crate::stats::{BucketCounts, BucketRow, Histogram, Recorder};
use crate::time::Micros;

/// How a request ended, for [`Sim::finish_request`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum End {
    Succeeded,
    /// The last attempt ran and failed (function error).
    Failed,
    TimedOut,
    /// The last attempt was throttled: the request never ran.
    Throttled,
    Dropped,
    Dlq,
    /// The last attempt's API Gateway answered 504 at its integration timeout (the function
    /// ran on): a response the client waited for, so its latency counts.
    GatewayTimeout,
}

/// Per-bucket latency histograms of a function, by slot.
pub(super) const LAT_UNCOUNTED: usize = 0;
pub(super) const LAT_COLD: usize = 1;
pub(super) const LAT_WARM: usize = 2;

impl<R: Recorder> Sim<'_, R> {
    /// A request of function `f` that arrived at `arrival` has ended. `cold`: whether its last
    /// attempt ran on a cold environment (for the cold/warm latency split).
    #[inline]
    pub(super) fn finish_request(&mut self, f: usize, arrival: u64, end: End, cold: bool) {
        let latency = self.now - arrival;
        let ran = matches!(
            end,
            End::Succeeded | End::Failed | End::TimedOut | End::GatewayTimeout
        );
        let counted = arrival >= self.warmup;
        let fs = &mut self.funcs[f];
        match end {
            End::Dlq => fs.bucket_counts.dead_letters += 1,
            End::Dropped => fs.bucket_counts.dropped += 1,
            _ => {}
        }
        if ran {
            let slot = match (counted, cold) {
                (false, _) => LAT_UNCOUNTED,
                (true, true) => LAT_COLD,
                (true, false) => LAT_WARM,
            };
            fs.bucket_latency[slot].record(latency);
        }
        if !counted {
            return;
        }
        let t = &mut fs.totals;
        match end {
            End::Succeeded => t.succeeded += 1,
            End::Failed => t.failed += 1,
            End::Throttled => {
                t.failed += 1;
                t.failed_throttled += 1;
            }
            End::TimedOut => {
                t.failed += 1;
                t.timed_out += 1;
            }
            End::Dropped => t.dropped += 1,
            End::Dlq => t.dlq += 1,
            End::GatewayTimeout => t.failed += 1,
        }
    }

    /// Emits the rows of the bucket [start, end) and resets the per-bucket counts.
    pub(super) fn close_bucket(&mut self, start: u64, end: u64) {
        let warmup = self.warmup;
        let len = end - start;
        if !self.deps.is_empty() {
            self.deps_close_bucket(start, end);
        }
        if end >= self.next_compact {
            self.compact_idle(end);
            self.next_compact = end + 10_000_000;
        }
        let account_tokens = self.account_bucket.as_mut().map(|b| b.available(end));
        let mut mi = self.managed.close_bucket(end, warmup, len);
        if !self.record {
            // Keep the time integrals and latency totals; nothing else is needed.
            for fs in &mut self.funcs {
                fs.busy.close_bucket(end, warmup, len);
                fs.busy_prov.close_bucket(end, warmup, len);
                fs.bucket_counts = BucketCounts::default();
                fs.fold_bucket_latency();
            }
            self.account_busy.close_bucket(end, warmup, len);
            self.unreserved_busy.close_bucket(end, warmup, len);
            return;
        }
        // Queue gauges per function (depth, oldest arrival), from its queued sources; the
        // buffer is reused and sync-only runs skip the walk.
        self.gauges.clear();
        self.gauges.resize(self.funcs.len(), (0, u64::MAX));
        if self.queued_sources {
            for (i, s) in self.sources.iter().enumerate() {
                let f = self.m.sources[i].function;
                let (d, o) = match &s.kind {
                    SourceKind::Sync(_) => (0, None),
                    SourceKind::Async(q) => (q.waiting, None),
                    SourceKind::Sqs(q) => (q.depth(), q.oldest()),
                    SourceKind::Stream(st) => (st.depth(), st.oldest(&self.batches)),
                };
                let g = &mut self.gauges[f];
                g.0 += d;
                if let Some(o) = o {
                    g.1 = g.1.min(o);
                }
            }
        }
        let age_ms = |o: u64| {
            if o == u64::MAX {
                0.0
            } else {
                end.saturating_sub(o) as f64 / 1e3
            }
        };
        // Account percentiles first, from every function's bucket histograms.
        let all = self.funcs.iter().flat_map(|fs| fs.bucket_latency.iter());
        let account_p = Histogram::quantiles_of(all, [0.5, 0.9, 0.99]).map(|v| v / 1e3);
        // One function: its percentiles are the account's (the same histograms).
        let single = self.funcs.len() == 1;
        self.rows.clear();
        let mut acc = BucketRow {
            start: Micros(start),
            function: None,
            ..Default::default()
        };
        let mut prov_total = 0.0;
        let mut prov_busy_area = 0.0;
        // Allocated concurrency for `ClaimedAccountConcurrency`: each function's reservation,
        // or its provisioned concurrency when it has no reservation (a reservation already
        // holds the function's provisioned environments).
        let mut allocated = 0u32;
        for (i, fs) in self.funcs.iter_mut().enumerate() {
            let fm = &self.m.functions[i];
            let (cmax, cmean) = fs.busy.close_bucket(end, warmup, len);
            let (pmax, pmean) = fs.busy_prov.close_bucket(end, warmup, len);
            // Provisioned concurrency configured: its maximum in the bucket is the row's
            // setting, its mean the denominator of utilization (both the constant setting
            // when it does not change).
            let (conf_max, conf_mean) = fs.prov_conf.close_bucket(end, warmup, len);
            let c = std::mem::take(&mut fs.bucket_counts);
            let tokens = fs
                .bucket
                .as_mut()
                .map(|b| b.available(end))
                .or(account_tokens)
                .unwrap_or(0);
            let [p50, p90, p99] = if single {
                account_p
            } else {
                Histogram::quantiles_of(fs.bucket_latency.iter(), [0.5, 0.9, 0.99]).map(|v| v / 1e3)
            };
            let latency_samples = fs.bucket_latency.iter().map(Histogram::len).sum();
            let row = BucketRow {
                start: Micros(start),
                function: Some(i as u32),
                arrivals: c.arrivals,
                retries: c.retries,
                invocations: c.invocations,
                errors: c.errors,
                throttles: c.throttles,
                cold_starts: c.cold_starts,
                concurrency_max: cmax,
                provisioned_max: pmax,
                // Every invocation of a function with provisioned concurrency runs on a
                // provisioned environment or spills over to an on-demand one.
                provisioned_invocations: if conf_max > 0 {
                    c.invocations - c.spillover
                } else {
                    0
                },
                provisioned: conf_max,
                claimed_concurrency: 0,
                concurrency_mean: cmean,
                provisioned_utilization: if conf_mean > 0.0 {
                    pmean / conf_mean
                } else {
                    0.0
                },
                spillover: c.spillover,
                unreserved_concurrency: if fm.reserved.is_none() { cmax } else { 0 },
                scaling_tokens: tokens,
                latency_samples,
                latency_p50_ms: p50,
                latency_p90_ms: p90,
                latency_p99_ms: p99,
                async_event_age_ms: c.async_age_max as f64 / 1e3,
                async_age_samples: c.async_age_samples,
                iterator_age_ms: c.iterator_age_max as f64 / 1e3,
                iterator_age_samples: c.iterator_age_samples,
                async_received: c.async_received,
                async_dropped: c.async_dropped,
                durations: c.durations,
                duration_sum_us: c.duration_sum_us,
                dead_letters: c.dead_letters,
                dropped: c.dropped,
                queue_depth: self.gauges[i].0,
                queue_oldest_age_ms: age_ms(self.gauges[i].1),
                managed: false,
                managed_instances: 0,
                managed_environments: 0,
                managed_in_flight_per_environment: 0.0,
                managed_vcpu_utilization: 0.0,
            };
            let mut row = row;
            mi.fill(i, &mut row);
            fs.fold_bucket_latency();
            acc.merge_into_account(&row, fs.bucket.is_some());
            prov_total += conf_mean;
            allocated += fm.reserved.map_or(conf_max, |r| r.max(conf_max));
            prov_busy_area += pmean;
            self.rows.push(row);
        }
        let (amax, amean) = self.account_busy.close_bucket(end, warmup, len);
        let (umax, _) = self.unreserved_busy.close_bucket(end, warmup, len);
        acc.concurrency_max = amax;
        acc.concurrency_mean = amean;
        acc.unreserved_concurrency = umax;
        // https://docs.aws.amazon.com/lambda/latest/dg/monitoring-concurrency.html:
        // UnreservedConcurrentExecutions plus allocated concurrency (reserved plus
        // provisioned), viewed with MAX; allocated concurrency is constant within a run.
        acc.claimed_concurrency = umax + allocated;
        acc.provisioned_utilization = if prov_total > 0.0 {
            prov_busy_area / prov_total
        } else {
            0.0
        };
        if let Some(t) = account_tokens {
            acc.scaling_tokens = t;
        }
        [acc.latency_p50_ms, acc.latency_p90_ms, acc.latency_p99_ms] = account_p;
        mi.fill_account(&mut acc);
        self.rows.push(acc);
        self.rec.bucket(&self.rows);
    }
}
