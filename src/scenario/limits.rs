//! Every numeric bound of the scenario format, in one place: `validate` checks values against
//! these and the scenario types' `#[schemars(range(min = X.min, max = X.max))]` attributes
//! write them into the derived schema as `minimum` / `maximum`, so the editor schema and `check`
//! refuse the same numbers. Bounds that follow AWS are AWS's documented ranges
//! (docs/platform.md); the others keep a run finite.

use crate::time::Micros;

/// Longest simulated time a scenario may ask for.
pub const MAX_DURATION: Micros = Micros::from_secs(90 * 24 * 3600);
/// Most time-series buckets a run may produce (duration / bucket).
pub const MAX_BUCKETS: u64 = 50_000_000;
/// Most time-series rows a run may write: buckets x (functions + the account row). The engine
/// closes every function's bucket, so this bounds the run's work even without traffic.
pub const MAX_ROWS: u64 = 100_000_000;
/// Most requests a run may be expected to simulate (peak rate x duration).
pub const MAX_REQUESTS: f64 = 2e10;
/// Highest account concurrency limit.
pub const MAX_ACCOUNT_LIMIT: u32 = 10_000_000;

/// Longest function name, in characters: AWS limits a function name to 64 characters
/// (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html).
pub const MAX_FUNCTION_NAME: usize = 64;
/// Longest scenario name, in bytes: it becomes a folder name, and file systems allow 255.
pub const MAX_SCENARIO_NAME: usize = 255;
/// Most functions a scenario may declare.
pub const MAX_FUNCTIONS: usize = 100_000;

/// Most replications of each sweep point (`replications`, `--replications`).
pub const MAX_REPLICATIONS: u64 = 10_000;
/// Most runs of one sweep (grid points x replications).
pub const MAX_SWEEP_RUNS: u64 = 1_000_000;
/// Most steps in a sweep's `[find]` range ((hi - lo) / step); a bisection probes about
/// log2 of it plus two values.
pub const MAX_FIND_STEPS: u64 = 1 << 40;
/// Largest magnitude of a `[find]` range end.
pub const MAX_FIND_ABS: f64 = 1e15;
/// Bounds of a `[find]`'s `confidence` (a one-sided bound beyond 0.9999 needs more
/// replications than anyone runs; below 0.5 the bound is on the optimistic side of the mean).
pub const MIN_FIND_CONFIDENCE: f64 = 0.5;
/// See [`MIN_FIND_CONFIDENCE`].
pub const MAX_FIND_CONFIDENCE: f64 = 0.9999;
/// Most requirements of a `[find]`.
pub const MAX_FIND_REQUIREMENTS: usize = 64;
/// Most worker threads of a sweep (`--jobs`).
pub const MAX_JOBS: usize = 1024;

/// Highest price a `[pricing]` key may hold, in dollars (per million requests or per GB-second):
/// far above any AWS price, low enough that a 90-day bill stays a finite number.
pub const MAX_PRICE: f64 = 1e6;

/// An inclusive range of whole numbers a key must lie in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntRange {
    /// Smallest value allowed.
    pub min: i64,
    /// Largest value allowed.
    pub max: i64,
}

impl IntRange {
    /// The range `min..=max`.
    pub const fn new(min: i64, max: i64) -> IntRange {
        IntRange { min, max }
    }

    /// Whether `v` lies in the range, both ends included.
    pub fn contains(&self, v: impl Into<i64>) -> bool {
        (self.min..=self.max).contains(&v.into())
    }

    /// The message of a value outside the range: "must be in MIN..=MAX".
    pub fn message(&self) -> String {
        format!("must be in {}..={}", self.min, self.max)
    }
}

/// `account.concurrency_limit`.
pub const ACCOUNT_CONCURRENCY: IntRange = IntRange::new(1, MAX_ACCOUNT_LIMIT as i64);
/// `account.rps_limit_factor` (0 = no requests-per-second limit).
pub const RPS_LIMIT_FACTOR: IntRange = IntRange::new(0, 1000);
/// `functions.memory_mb`: 128 MB to 10,240 MB.
pub const MEMORY_MB: IntRange = IntRange::new(128, 10_240);
/// `functions.threads`: vCPUs the code can use; Lambda gives at most 6, more threads are
/// allowed (they gain nothing past the vCPUs).
pub const THREADS: IntRange = IntRange::new(1, 1024);
/// `retry.max_attempts`.
pub const RETRY_MAX_ATTEMPTS: IntRange = IntRange::new(1, 20);
/// `retry.clients`: each client holds a few hundred bytes of state, so a million is ample for
/// any fleet of containers or browsers and keeps memory bounded.
pub const RETRY_CLIENTS: IntRange = IntRange::new(1, 1_000_000);
/// `async.maximum_retry_attempts`: AWS allows 0 to 2.
pub const ASYNC_RETRY_ATTEMPTS: IntRange = IntRange::new(0, 2);
/// `sqs.batch_size`.
pub const SQS_BATCH_SIZE: IntRange = IntRange::new(1, 10_000);
/// `sqs.maximum_concurrency`: AWS allows 2 to 1,000.
pub const SQS_MAXIMUM_CONCURRENCY: IntRange = IntRange::new(2, 1000);
/// `sqs.max_receive_count`.
pub const SQS_MAX_RECEIVE_COUNT: IntRange = IntRange::new(1, 1000);
/// `stream.shards`.
pub const STREAM_SHARDS: IntRange = IntRange::new(1, 10_000);
/// `stream.parallelization_factor`: AWS allows 1 to 10.
pub const STREAM_PARALLELIZATION: IntRange = IntRange::new(1, 10);
/// `stream.batch_size`.
pub const STREAM_BATCH_SIZE: IntRange = IntRange::new(1, 10_000);
/// `stream.maximum_retry_attempts` (-1 = until the record expires).
pub const STREAM_RETRY_ATTEMPTS: IntRange = IntRange::new(-1, 10_000);
/// `functions.provisioned_concurrency` values of scheduled actions and of autoscaling's
/// `min` / `max` (the account limit is the real cap; validation checks it).
pub const PROVISIONED_CONCURRENCY: IntRange = IntRange::new(0, MAX_ACCOUNT_LIMIT as i64);
/// `functions.provisioned_schedule`: most scheduled actions per function.
pub const MAX_SCHEDULED_ACTIONS: usize = 10_000;
/// `functions.provisioned_autoscaling.target`: utilization share, inclusive.
pub const AUTOSCALING_TARGET: (f64, f64) = (0.1, 0.9);
/// `functions.provisioned_autoscaling.scale_out_datapoints` / `scale_in_datapoints`
/// (one-minute datapoints; at most a day).
pub const AUTOSCALING_DATAPOINTS: IntRange = IntRange::new(1, 1440);
/// `functions.provisioned_autoscaling.scale_out_cooldown` / `scale_in_cooldown`.
pub const MAX_AUTOSCALING_COOLDOWN: Micros = Micros::from_secs(3600);
/// `functions.provisioned_allocation_delay`.
pub const MAX_ALLOCATION_DELAY: Micros = Micros::from_secs(900);
/// `functions.snapstart_hooks`: an after-restore hook that runs longer than 10 seconds times
/// out the restore (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-troubleshooting.html).
pub const MAX_SNAPSTART_HOOKS: Micros = Micros::from_secs(10);

/// `gateway.rate`, requests per second: above 0, at most 100 times API Gateway's account
/// default of 10,000 (a quota increase can raise it; beyond that a run stops being about the
/// gateway).
pub const GATEWAY_RATE_MIN: f64 = 0.001;
/// See [`GATEWAY_RATE_MIN`].
pub const GATEWAY_RATE_MAX: f64 = 1_000_000.0;
/// `gateway.burst`: the token bucket holds at least one request.
pub const GATEWAY_BURST: IntRange = IntRange::new(1, 1_000_000);
/// `gateway.timeout`: API Gateway accepts 50 ms and up; past Lambda's longest function timeout
/// (15 min) it could never fire.
pub const GATEWAY_TIMEOUT_MIN: Micros = Micros::from_millis(50);
/// See [`GATEWAY_TIMEOUT_MIN`].
pub const GATEWAY_TIMEOUT_MAX: Micros = Micros::from_secs(15 * 60);
/// Most `[[gateways]]` entries of a scenario.
pub const MAX_GATEWAYS: usize = 10_000;

/// `dependencies.max_connections`: a database's connection limit (RDS's default for MySQL is
/// LEAST(DBInstanceClassMemory/9531392, 5000),
/// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections;
/// the parameter can be raised); a million is far above any.
pub const MAX_CONNECTIONS: IntRange = IntRange::new(1, 1_000_000);
/// Most `[[dependencies]]` a scenario may declare.
pub const MAX_DEPENDENCIES: usize = 1000;
/// Longest `dependencies.pool_timeout`: 15 minutes, the longest Lambda timeout (a wait must end
/// before the function's timeout). RDS Proxy's `ConnectionBorrowTimeout` defaults to 120 s
/// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connections.html;
/// docs/platform.md "Downstream limits").
pub const MAX_POOL_TIMEOUT: Micros = Micros::from_secs(900);

/// Most time-series rows a run with charts keeps in memory for them: (functions + the account
/// row) x the buckets kept per series (at most `output::timeseries::CHART_POINTS`, longer runs
/// are coarsened). About 0.4 kB each, so this caps chart data near 1 GB; `--no-charts` keeps
/// none.
pub const MAX_CHART_ROWS: u64 = 2_500_000;

/// `capacity_providers.vcpus`: vCPUs of one EC2 instance (the largest types have 448).
pub const MI_INSTANCE_VCPUS: IntRange = IntRange::new(1, 448);
/// `capacity_providers.memory_gib`: memory of one EC2 instance, GiB.
pub const MI_INSTANCE_MEMORY_GIB: IntRange = IntRange::new(1, 24_576);
/// `capacity_providers.min_instances`: at least one, at most what MaxVCpuCount allows.
pub const MI_MIN_INSTANCES: IntRange = IntRange::new(1, 15_000);
/// `capacity_providers.max_vcpus`: MaxVCpuCount, 2 to 15,000
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_CapacityProviderScalingConfig.html>).
pub const MI_MAX_VCPUS: IntRange = IntRange::new(2, 15_000);
/// Longest instance launch, environment start or scaling interval of a capacity provider.
pub const MI_MAX_DELAY: Micros = Micros::from_secs(3600);
/// Largest `functions.cpu_per_request`, vCPU.
pub const MI_MAX_CPU_PER_REQUEST: f64 = 64.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive_at_both_ends() {
        assert!(MEMORY_MB.contains(128u32) && MEMORY_MB.contains(10_240u32));
        assert!(!MEMORY_MB.contains(127u32) && !MEMORY_MB.contains(10_241u32));
        assert!(STREAM_RETRY_ATTEMPTS.contains(-1i64));
        assert_eq!(SQS_MAXIMUM_CONCURRENCY.message(), "must be in 2..=1000");
    }
}
