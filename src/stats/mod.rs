//! Streaming statistics: counters, time-weighted levels and fixed-memory histograms. Nothing
//! here stores a sample; memory is fixed per function, whatever the simulated time.

pub mod histogram;
pub mod summary;

pub mod merge;
pub use histogram::Histogram;
pub use merge::TokensKept;
pub use summary::Summary;

pub mod throttle;
pub use throttle::{ThrottleCounts, ThrottleReason};
pub mod lanes;
use crate::time::Micros;
pub use lanes::{EnvEvent, LaneRecorder};
pub mod dependencies;
pub use dependencies::{DependencyRow, DependencySummary};

/// Event counts of one function (or the account) over a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// What clients or event sources sent (SQS / streams: messages or records).
    pub requests: u64,
    /// Tries to invoke: first tries and retries (SQS / streams: batches).
    pub attempts: u64,
    /// Attempts that ran (CloudWatch `Invocations`): errors and timeouts included.
    pub invocations: u64,
    /// Requests that ended in success.
    pub succeeded: u64,
    /// Requests that ended without success (last attempt throttled, errored or timed out).
    pub failed: u64,
    /// Subset of `failed` whose last attempt timed out.
    pub timed_out: u64,
    /// Subset of `failed` whose last attempt was throttled (the client gave up).
    pub failed_throttled: u64,
    /// Invocations that ended in a function error or a timeout (CloudWatch `Errors`).
    pub errors: u64,
    /// Throttled attempts by reason.
    pub throttles: ThrottleCounts,
    /// Invocations that began with a cold start.
    pub cold_starts: u64,
    /// Retries sent (client, async or batch retries).
    pub retries: u64,
    /// Events, messages or records discarded without a DLQ.
    pub dropped: u64,
    /// Events, messages or records sent to a DLQ or on-failure destination.
    pub dlq: u64,
    /// Invocations on provisioned functions that ran on on-demand environments.
    pub spillover: u64,
    /// Execution environments created.
    pub environments_created: u64,
    /// Sync attempts whose API Gateway answered 504 at its integration timeout while the
    /// function ran on.
    pub gateway_timeouts: u64,
}

impl Counters {
    /// Throttled attempts, every reason together.
    pub fn throttles_total(&self) -> u64 {
        self.throttles.total()
    }
    /// Adds the counts of `o`.
    pub fn add(&mut self, o: &Counters) {
        self.requests += o.requests;
        self.attempts += o.attempts;
        self.invocations += o.invocations;
        self.succeeded += o.succeeded;
        self.failed += o.failed;
        self.timed_out += o.timed_out;
        self.failed_throttled += o.failed_throttled;
        self.errors += o.errors;
        self.throttles.add(&o.throttles);
        self.cold_starts += o.cold_starts;
        self.retries += o.retries;
        self.dropped += o.dropped;
        self.dlq += o.dlq;
        self.spillover += o.spillover;
        self.environments_created += o.environments_created;
        self.gateway_timeouts += o.gateway_timeouts;
    }
}

/// A quantity that changes at instants (busy environments): its current value, its
/// time-integral and maximum over the current bucket, and over the summary window.
#[derive(Clone, Debug, Default)]
pub struct Level {
    /// Current value.
    pub value: u32,
    last: u64,
    /// Time integrals in value x µs; f64 keeps the hot path free of 128-bit multiplies and is
    /// exact to 1e-16 relative, far below any reported precision.
    bucket_area: f64,
    bucket_max: u32,
    window_area: f64,
    /// Largest value over the summary window.
    pub peak: u32,
}

impl Level {
    #[inline]
    fn accrue(&mut self, now: u64, warmup: u64) {
        if now <= self.last {
            return;
        }
        let v = self.value as f64;
        let area = v * (now - self.last) as f64;
        self.bucket_area += area;
        if now > warmup {
            // Past the warmup (the usual case) the window grows by the same product.
            if self.last > warmup {
                self.window_area += area;
            } else {
                self.peak = self.peak.max(self.value);
                self.window_area += v * (now - warmup) as f64;
            }
        }
        self.last = now;
    }

    /// Sets the value at time `now` (µs; statistics count from `warmup`).
    #[inline]
    pub fn set(&mut self, now: u64, warmup: u64, value: u32) {
        self.accrue(now, warmup);
        self.value = value;
        self.bucket_max = self.bucket_max.max(value);
        if now >= warmup {
            self.peak = self.peak.max(value);
        }
    }

    /// Adds one at time `now`.
    #[inline]
    pub fn inc(&mut self, now: u64, warmup: u64) {
        let v = self.value + 1;
        self.set(now, warmup, v);
    }

    /// Removes one at time `now`.
    #[inline]
    pub fn dec(&mut self, now: u64, warmup: u64) {
        let v = self.value - 1;
        self.set(now, warmup, v);
    }

    /// Closes the bucket ending at `now`: (max, time-weighted mean over `len`).
    pub fn close_bucket(&mut self, now: u64, warmup: u64, len: u64) -> (u32, f64) {
        self.accrue(now, warmup);
        let out = (self.bucket_max, self.bucket_area / len.max(1) as f64);
        self.bucket_area = 0.0;
        self.bucket_max = self.value;
        out
    }

    /// Time-weighted mean over the summary window ending at `now`.
    pub fn window_mean(&mut self, now: u64, warmup: u64) -> f64 {
        self.accrue(now, warmup);
        let len = now.saturating_sub(warmup);
        if len == 0 {
            0.0
        } else {
            self.window_area / len as f64
        }
    }
}

/// Per-bucket event counts of one function.
#[derive(Clone, Debug, Default)]
pub struct BucketCounts {
    /// New requests (SQS / streams: messages or records) that arrived in the bucket.
    pub arrivals: u64,
    /// Retries tried in the bucket (sync and async retries, SQS redeliveries, stream batch
    /// retries).
    pub retries: u64,
    /// Invocations in the bucket.
    pub invocations: u64,
    /// Function errors and timeouts in the bucket.
    pub errors: u64,
    /// Throttles in the bucket by reason.
    pub throttles: ThrottleCounts,
    /// Cold starts in the bucket.
    pub cold_starts: u64,
    /// Spillover invocations in the bucket.
    pub spillover: u64,
    /// Events, messages or records sent to a DLQ in the bucket.
    pub dead_letters: u64,
    /// Events, messages or records discarded in the bucket.
    pub dropped: u64,
    /// Oldest age seen in the bucket, µs (async events, stream records).
    pub async_age_max: u64,
    /// Async event tries in the bucket (the samples of `async_age_max`).
    pub async_age_samples: u64,
    /// Oldest stream record age in the bucket, µs.
    pub iterator_age_max: u64,
    /// Stream batch tries in the bucket (the samples of `iterator_age_max`).
    pub iterator_age_samples: u64,
    /// Events that async sources queued in the bucket (CloudWatch `AsyncEventsReceived`).
    pub async_received: u64,
    /// Async events that left without a successful invocation in the bucket, to a DLQ or
    /// dropped (CloudWatch `AsyncEventsDropped`).
    pub async_dropped: u64,
    /// Invocations that ended in the bucket (the samples of `duration_sum_us`).
    pub durations: u64,
    /// Handler time of the invocations that ended in the bucket, INIT excluded, µs.
    pub duration_sum_us: u64,
}

/// One row of `timeseries.csv`: one bucket of one function (`function = None`: the account).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BucketRow {
    /// Start of the bucket.
    pub start: Micros,
    /// Function index (`None`: the account row).
    pub function: Option<u32>,
    /// New requests (SQS / streams: messages or records) that arrived in the bucket.
    pub arrivals: u64,
    /// Retries tried in the bucket: load that is not new arrivals.
    pub retries: u64,
    /// Invocations in the bucket.
    pub invocations: u64,
    /// Function errors and timeouts in the bucket.
    pub errors: u64,
    /// Throttles in the bucket by reason.
    pub throttles: ThrottleCounts,
    /// Cold starts in the bucket.
    pub cold_starts: u64,
    /// Peak concurrency in the bucket.
    pub concurrency_max: u32,
    /// Peak number of provisioned environments busy in the bucket (CloudWatch
    /// `ProvisionedConcurrentExecutions`; the account row sums the functions' peaks).
    pub provisioned_max: u32,
    /// Invocations that ran on provisioned environments (CloudWatch
    /// `ProvisionedConcurrencyInvocations`).
    pub provisioned_invocations: u64,
    /// Provisioned concurrency allocated (the function's setting; the account row: the sum).
    pub provisioned: u32,
    /// Account row: concurrency unavailable to on-demand invocations (CloudWatch
    /// `ClaimedAccountConcurrency`); 0 on function rows.
    pub claimed_concurrency: u32,
    /// Time-weighted mean concurrency in the bucket.
    pub concurrency_mean: f64,
    /// Mean share of provisioned environments busy in the bucket.
    pub provisioned_utilization: f64,
    /// Spillover invocations in the bucket.
    pub spillover: u64,
    /// Unreserved account concurrency left at the bucket's end.
    pub unreserved_concurrency: u32,
    /// Scaling tokens available at the bucket's end.
    pub scaling_tokens: u64,
    /// Requests whose latency was recorded in the bucket (the samples of the percentiles).
    pub latency_samples: u64,
    /// Median end-to-end latency in the bucket, ms.
    pub latency_p50_ms: f64,
    /// Charts only (not a CSV column).
    pub latency_p90_ms: f64,
    /// 99th percentile end-to-end latency in the bucket, ms.
    pub latency_p99_ms: f64,
    /// Oldest async event age in the bucket, ms.
    pub async_event_age_ms: f64,
    /// Async event tries in the bucket (the samples of `async_event_age_ms`).
    pub async_age_samples: u64,
    /// Oldest stream iterator age in the bucket, ms.
    pub iterator_age_ms: f64,
    /// Stream batch tries in the bucket (the samples of `iterator_age_ms`).
    pub iterator_age_samples: u64,
    /// Events that async sources queued in the bucket.
    pub async_received: u64,
    /// Async events that left without a successful invocation, to a DLQ or dropped.
    pub async_dropped: u64,
    /// Invocations that ended in the bucket (the samples of `duration_sum_us`).
    pub durations: u64,
    /// Handler time of the invocations that ended in the bucket, INIT excluded, µs.
    pub duration_sum_us: u64,
    /// Events, messages or records sent to a DLQ in the bucket.
    pub dead_letters: u64,
    /// Events, messages or records discarded without a DLQ in the bucket.
    pub dropped: u64,
    /// At the bucket's end: async events waiting for a (re)try, SQS messages in the queue
    /// (visible or waiting out a visibility timeout), stream records not yet processed.
    pub queue_depth: u64,
    /// At the bucket's end: age of the oldest SQS message in the queue or unprocessed stream
    /// record, ms.
    pub queue_oldest_age_ms: f64,
    /// The row is of a function on Lambda Managed Instances (or, on the account row, some
    /// function is): the `Managed*` columns are written only then.
    pub managed: bool,
    /// Managed Instances: most instances of the function's capacity provider running in the
    /// bucket (account row: every provider's).
    pub managed_instances: u32,
    /// Managed Instances: most execution environments serving in the bucket.
    pub managed_environments: u32,
    /// Managed Instances: time-weighted mean of in-flight requests per environment.
    pub managed_in_flight_per_environment: f64,
    /// Managed Instances: time-weighted mean vCPU utilization of the environments, 0..1
    /// (CloudWatch `ExecutionEnvironmentVCPUUtilization`).
    pub managed_vcpu_utilization: f64,
}

impl BucketRow {
    /// Throttles in the bucket, every reason together.
    pub fn throttles_total(&self) -> u64 {
        self.throttles.total()
    }

    /// Adds `other`'s event counts (invocations, errors, throttles by reason, cold starts,
    /// spillover, dead letters): the one place that knows which columns are counts, used for
    /// the account row, coarsened buckets and grouped chart series.
    pub fn add_counts(&mut self, other: &BucketRow) {
        self.arrivals += other.arrivals;
        self.retries += other.retries;
        self.invocations += other.invocations;
        self.errors += other.errors;
        self.throttles.add(&other.throttles);
        self.cold_starts += other.cold_starts;
        self.spillover += other.spillover;
        self.dead_letters += other.dead_letters;
        self.dropped += other.dropped;
        self.provisioned_invocations += other.provisioned_invocations;
        self.latency_samples += other.latency_samples;
        self.async_age_samples += other.async_age_samples;
        self.iterator_age_samples += other.iterator_age_samples;
        self.async_received += other.async_received;
        self.async_dropped += other.async_dropped;
        self.durations += other.durations;
        self.duration_sum_us += other.duration_sum_us;
    }
}

/// Where the engine sends time-series rows as each bucket closes. The engine never formats
/// text: the CLI's recorder writes CSV and keeps chart data; sweeps and benchmarks record nothing.
pub trait Recorder {
    /// False skips per-bucket percentiles and row building entirely (sweeps, benchmarks).
    fn enabled(&self) -> bool {
        true
    }
    /// The rows of one bucket: every function in index order, then the account row.
    fn bucket(&mut self, rows: &[BucketRow]);
    /// A stream record was processed successfully: its traffic source, lane (shard, or shard
    /// x parallelization slot) and arrival time, in processing order. For ordering checks.
    fn delivered(&mut self, _source: u32, _lane: u32, _arrival: Micros) {}
    /// An execution environment changed state at `t` µs (for the `environments` chart).
    /// Environment ids are reused after [`EnvEvent::Reclaimed`]. Events of one environment come
    /// in time order, but events of different environments may not (INIT's end and the
    /// handler's start are reported when the invocation starts; a reclaim when it is noticed).
    #[inline(always)]
    fn on_env(&mut self, _t: u64, _env: u32, _function: u32, _e: EnvEvent, _provisioned: bool) {}
    /// An attempt to invoke `function` was throttled at `t` µs.
    #[inline(always)]
    fn on_throttle(&mut self, _t: u64, _function: u32) {}
    /// The rows of one bucket's dependencies (scenario order), after [`Recorder::bucket`];
    /// called only when the scenario declares dependencies.
    fn dependencies(&mut self, _rows: &[DependencyRow]) {}
}

/// Records nothing.
pub struct NoRecorder;

impl Recorder for NoRecorder {
    fn enabled(&self) -> bool {
        false
    }
    fn bucket(&mut self, _: &[BucketRow]) {}
}

impl Recorder for Vec<BucketRow> {
    fn bucket(&mut self, rows: &[BucketRow]) {
        self.extend_from_slice(rows);
    }
}
