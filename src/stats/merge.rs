//! The one definition of how bucket rows merge. A merged row stands for several: rows of several
//! functions in the same bucket (the "other" series of charts), or consecutive buckets of one
//! series (coarsening for charts and for `explain`). Every place that merges rows calls one of
//! the two functions below, so what a coarse row means is decided here and nowhere else.
//!
//! The account row of each bucket is built by the engine as it closes the bucket: it folds each
//! function's row in with [`BucketRow::merge_into_account`] (below), then sets what only the
//! account knows from its own gauges (account concurrency, the unreserved pool, claimed
//! concurrency, the account-wide latency histogram).

use super::BucketRow;

/// What a row standing for several consecutive buckets keeps of their scaling tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokensKept {
    /// The later bucket's value: the tokens available at the end of the coarse bucket, as the
    /// CSV column reports them for one bucket (charts).
    Last,
    /// The lowest value, so that a budget emptied inside the coarse bucket still shows as
    /// empty (`explain` narrates "the scaling budget ran out").
    Min,
}

impl BucketRow {
    /// Folds `other`, another function's row of the same bucket, into `self`: counts add, and
    /// so do levels that add across functions (concurrency, queue depth, scaling tokens of
    /// per-function budgets); ages take the maximum. Percentiles do not merge across
    /// functions and are left as they are.
    pub fn merge_function(&mut self, other: &BucketRow) {
        self.add_counts(other);
        self.concurrency_max += other.concurrency_max;
        self.concurrency_mean += other.concurrency_mean;
        self.provisioned_max += other.provisioned_max;
        self.provisioned += other.provisioned;
        self.queue_depth += other.queue_depth;
        self.scaling_tokens += other.scaling_tokens;
        self.async_event_age_ms = self.async_event_age_ms.max(other.async_event_age_ms);
        self.iterator_age_ms = self.iterator_age_ms.max(other.iterator_age_ms);
        self.queue_oldest_age_ms = self.queue_oldest_age_ms.max(other.queue_oldest_age_ms);
        self.merge_managed(other);
    }

    /// Managed Instances levels of rows of several functions or buckets: the largest of each
    /// (instances may be one provider's, counted once).
    fn merge_managed(&mut self, o: &BucketRow) {
        self.managed |= o.managed;
        self.managed_instances = self.managed_instances.max(o.managed_instances);
        self.managed_environments = self.managed_environments.max(o.managed_environments);
        self.managed_in_flight_per_environment = self
            .managed_in_flight_per_environment
            .max(o.managed_in_flight_per_environment);
        self.managed_vcpu_utilization = self
            .managed_vcpu_utilization
            .max(o.managed_vcpu_utilization);
    }

    /// Folds `row`, one function's row of the same bucket, into the account row `self`:
    /// counts add, and so do queue depth, busy provisioned environments and provisioned
    /// concurrency; ages take the maximum. Scaling tokens add when the function has its own
    /// budget (`own_budget`, per-function scaling); a shared account budget is set once by the
    /// engine. Concurrency, the unreserved pool and latency percentiles are not summed: the
    /// engine reads them from the account's own gauges.
    pub fn merge_into_account(&mut self, row: &BucketRow, own_budget: bool) {
        self.add_counts(row);
        self.async_event_age_ms = self.async_event_age_ms.max(row.async_event_age_ms);
        self.iterator_age_ms = self.iterator_age_ms.max(row.iterator_age_ms);
        self.queue_depth += row.queue_depth;
        self.queue_oldest_age_ms = self.queue_oldest_age_ms.max(row.queue_oldest_age_ms);
        if own_budget {
            self.scaling_tokens += row.scaling_tokens;
        }
        self.provisioned_max += row.provisioned_max;
        self.provisioned += row.provisioned;
    }

    /// Folds `later`, the next bucket of the same series, into `self` (a coarser bucket):
    /// counts add, maxima, percentiles and ages take the maximum, means of the two average,
    /// and scaling tokens follow `tokens`.
    pub fn merge_later(&mut self, later: &BucketRow, tokens: TokensKept) {
        self.add_counts(later);
        self.concurrency_max = self.concurrency_max.max(later.concurrency_max);
        self.provisioned_max = self.provisioned_max.max(later.provisioned_max);
        self.provisioned = self.provisioned.max(later.provisioned);
        self.claimed_concurrency = self.claimed_concurrency.max(later.claimed_concurrency);
        self.concurrency_mean = (self.concurrency_mean + later.concurrency_mean) / 2.0;
        self.provisioned_utilization =
            (self.provisioned_utilization + later.provisioned_utilization) / 2.0;
        self.unreserved_concurrency = self
            .unreserved_concurrency
            .max(later.unreserved_concurrency);
        self.scaling_tokens = match tokens {
            TokensKept::Last => later.scaling_tokens,
            TokensKept::Min => self.scaling_tokens.min(later.scaling_tokens),
        };
        self.latency_p50_ms = self.latency_p50_ms.max(later.latency_p50_ms);
        self.latency_p90_ms = self.latency_p90_ms.max(later.latency_p90_ms);
        self.latency_p99_ms = self.latency_p99_ms.max(later.latency_p99_ms);
        self.async_event_age_ms = self.async_event_age_ms.max(later.async_event_age_ms);
        self.iterator_age_ms = self.iterator_age_ms.max(later.iterator_age_ms);
        self.queue_depth = self.queue_depth.max(later.queue_depth);
        self.queue_oldest_age_ms = self.queue_oldest_age_ms.max(later.queue_oldest_age_ms);
        self.merge_managed(later);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(invocations: u64, conc: u32, tokens: u64, depth: u64, age: f64) -> BucketRow {
        BucketRow {
            invocations,
            concurrency_max: conc,
            concurrency_mean: conc as f64 / 2.0,
            scaling_tokens: tokens,
            queue_depth: depth,
            queue_oldest_age_ms: age,
            ..BucketRow::default()
        }
    }

    #[test]
    fn functions_add_counts_and_levels_and_keep_the_oldest_age() {
        let mut a = row(3, 10, 500, 7, 20.0);
        a.merge_function(&row(4, 5, 200, 1, 90.0));
        assert_eq!(a.invocations, 7);
        assert_eq!(a.concurrency_max, 15);
        assert_eq!(a.concurrency_mean, 7.5);
        assert_eq!(a.scaling_tokens, 700);
        assert_eq!(a.queue_depth, 8);
        assert_eq!(a.queue_oldest_age_ms, 90.0);
    }

    #[test]
    fn later_buckets_add_counts_keep_maxima_and_the_chosen_tokens() {
        let (early, late) = (row(3, 10, 0, 7, 20.0), row(4, 5, 800, 1, 90.0));
        let mut last = early.clone();
        last.merge_later(&late, TokensKept::Last);
        assert_eq!(last.invocations, 7);
        assert_eq!(last.concurrency_max, 10);
        assert_eq!(last.concurrency_mean, 3.75);
        assert_eq!(last.queue_depth, 7);
        assert_eq!(last.queue_oldest_age_ms, 90.0);
        assert_eq!(
            last.scaling_tokens, 800,
            "the level at the end of the coarse bucket"
        );
        let mut min = early.clone();
        min.merge_later(&late, TokensKept::Min);
        assert_eq!(
            min.scaling_tokens, 0,
            "an emptied budget survives coarsening"
        );
    }

    #[test]
    fn the_account_adds_counts_and_depths_and_only_own_budgets() {
        let mut acc = BucketRow::default();
        acc.merge_into_account(&row(3, 10, 500, 7, 20.0), true);
        acc.merge_into_account(&row(4, 5, 200, 1, 90.0), false);
        assert_eq!(acc.invocations, 7);
        assert_eq!(acc.queue_depth, 8);
        assert_eq!(acc.queue_oldest_age_ms, 90.0);
        assert_eq!(
            acc.scaling_tokens, 500,
            "only the function with its own budget"
        );
        assert_eq!(
            acc.concurrency_max, 0,
            "the engine sets it from its own gauge"
        );
    }
}
