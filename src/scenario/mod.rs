//! The scenario file: its serde form, defaults and validation.
//!
//! Loading is three steps, each in its own file: [`source`] reads the TOML (with line numbers for
//! errors) and applies `--set` overrides; this module's types hold the scenario with every default
//! filled in by [`Scenario::resolve`]; [`validate`] checks ranges and cross-field rules. The engine
//! never sees this form: [`crate::model::Model::build`] turns it into index-based tables.

pub mod capacity;
pub mod dependencies;
pub mod gateway;
pub mod limits;
pub mod provisioned;
pub mod snapstart;
pub mod source;
pub mod validate;

use crate::dist::DistSpec;
use crate::presets;
use crate::time::Micros;
use limits as lim;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::load::{Arrivals, LoadSpec};
pub use crate::retry::{RetryMode, RetrySpec};
pub use gateway::{GatewayRef, GatewaySpec, NamedGateway};
pub use source::{load, load_str, Override};

/// A lambdasim scenario: functions, their traffic, account limits and prices.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Names the default output folder.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Free text, shown in report.html.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Simulated time (at most 90 days).
    pub duration: Micros,
    /// Same seed + same scenario = identical outputs (default 1).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Time-series resolution, at least 1ms (default 1s).
    #[serde(default = "default_bucket")]
    pub bucket: Micros,
    /// Excluded from summary statistics: requests arriving before it are not counted (default 0s).
    #[serde(default)]
    pub warmup: Micros,
    /// Account-level limits and the scaling model (`[account]`).
    #[serde(default)]
    pub account: Account,
    /// The functions of the account (`[[functions]]`, at least one).
    #[schemars(length(min = 1))]
    pub functions: Vec<Function>,
    /// Traffic sources (`[[traffic]]`), each sending requests to one function.
    #[serde(default)]
    pub traffic: Vec<Traffic>,
    /// Prices in USD (`[pricing]`; default us-east-1 list prices).
    #[serde(default)]
    pub pricing: Pricing,
    /// Named API Gateways (`[[gateways]]`) that sync traffic entries share by `gateway = "<name>"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<NamedGateway>,
    /// Downstream resources with a connection limit (`[[dependencies]]`), used by functions
    /// (`uses`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<dependencies::Dependency>,
    /// Lambda Managed Instances capacity providers (`[[capacity_providers]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_providers: Vec<capacity::CapacityProvider>,
}

fn default_seed() -> u64 {
    1
}
fn default_bucket() -> Micros {
    Micros::SECOND
}

/// How the scaling budget is kept (`account.scaling`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(inline)]
pub enum Scaling {
    /// Current platform: each function adds 1000 environments per 10 s.
    #[default]
    PerFunction,
    /// Legacy account-level burst quota plus 500 per minute.
    Burst,
}

/// How a scaling token bucket refills (`account.scale_refill`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum Refill {
    /// Tokens accrue continuously, pro rata of the interval.
    Continuous,
    /// The whole step is added at the end of each interval.
    Step,
}

/// The `[account]` table. Every key is optional: a missing key takes its value from
/// [`Account::default`] (serde's struct-level default), the one place the defaults are written.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(inline)]
pub struct Account {
    /// Selects the legacy burst quota (default us-east-1).
    pub region: String,
    /// Account concurrency per region (default 1000).
    #[schemars(range(min = lim::ACCOUNT_CONCURRENCY.min, max = lim::ACCOUNT_CONCURRENCY.max))]
    pub concurrency_limit: u32,
    /// Reservations may not push unreserved concurrency below this (default 100).
    pub unreserved_minimum: u32,
    /// per-function (default, current platform) or burst (legacy account burst quota).
    pub scaling: Scaling,
    /// Override of the regional burst quota (burst mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub burst_quota: Option<u32>,
    /// Environments added per `scale_interval` (default by scaling mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub scale_step: Option<u32>,
    /// Refill interval of the scaling budget (default by scaling mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_interval: Option<Micros>,
    /// continuous or step refill of the scaling budget (default by scaling mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_refill: Option<Refill>,
    /// Requests-per-second limit = factor x concurrency limit (0 = off; default 10).
    #[schemars(range(min = lim::RPS_LIMIT_FACTOR.min, max = lim::RPS_LIMIT_FACTOR.max))]
    pub rps_limit_factor: u32,
}

impl Default for Account {
    fn default() -> Self {
        Account {
            region: "us-east-1".into(),
            concurrency_limit: 1000,
            unreserved_minimum: 100,
            scaling: Scaling::default(),
            burst_quota: None,
            scale_step: None,
            scale_interval: None,
            scale_refill: None,
            rps_limit_factor: presets::RPS_LIMIT_FACTOR,
        }
    }
}

impl Account {
    /// The scaling budget's refill rule: (environments per step, step interval, refill), each
    /// the value set in the file or else the default of the scaling mode. [`Scenario::resolve`]
    /// writes these into the scenario and [`crate::model::Model::build`] reads them, so the two
    /// cannot disagree.
    pub fn scale_rule(&self) -> (u32, Micros, Refill) {
        let (step, interval, refill) = match self.scaling {
            Scaling::PerFunction => (
                presets::PER_FUNCTION_STEP,
                presets::PER_FUNCTION_INTERVAL,
                Refill::Continuous,
            ),
            Scaling::Burst => (presets::BURST_STEP, presets::BURST_INTERVAL, Refill::Step),
        };
        (
            self.scale_step.unwrap_or(step),
            self.scale_interval.unwrap_or(interval),
            self.scale_refill.unwrap_or(refill),
        )
    }

    /// Capacity of a scaling token bucket (per function, or the account's in burst mode).
    pub fn bucket_capacity(&self) -> u32 {
        match self.scaling {
            Scaling::PerFunction => presets::PER_FUNCTION_CAPACITY,
            Scaling::Burst => self
                .burst_quota
                .unwrap_or_else(|| presets::burst_quota(&self.region)),
        }
    }
}

/// Instruction set of a function (`functions.architecture`): selects the prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum Architecture {
    /// x86_64 (the default).
    #[default]
    #[serde(rename = "x86_64")]
    X86_64,
    /// arm64 (Graviton).
    Arm64,
}

/// A Lambda function (`[[functions]]`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct Function {
    /// Unique; traffic and --set address the function by it.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Runtime preset: sets the default INIT duration (see `lambdasim presets`); another name
    /// needs `init`.
    #[serde(default = "default_runtime")]
    pub runtime: String,
    /// Memory in MB (default 128).
    #[serde(default = "default_memory")]
    #[schemars(range(min = lim::MEMORY_MB.min, max = lim::MEMORY_MB.max))]
    pub memory_mb: u32,
    /// x86_64 (default) or arm64: selects the prices.
    #[serde(default)]
    pub architecture: Architecture,
    /// Invocation timeout, 1s..15m (default 3s).
    #[serde(default = "default_timeout")]
    pub timeout: Micros,
    /// Handler duration: a duration or a distribution table.
    #[serde(deserialize_with = "crate::dist::dist_or_fixed")]
    #[schemars(with = "crate::dist::DistOrDuration")]
    pub duration: DistSpec,
    /// INIT (cold start) duration; default from the runtime preset.
    #[serde(
        default,
        deserialize_with = "crate::dist::opt_dist_or_fixed",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::dist::DistOrDuration>")]
    pub init: Option<DistSpec>,
    /// Cap and carve-out from the account pool; 0 switches the function off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_concurrency: Option<u32>,
    /// Pre-initialized environments (<= reserved_concurrency when set).
    #[serde(default)]
    pub provisioned_concurrency: u32,
    /// Probability that an invocation ends in a function error.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1))]
    pub error_rate: f64,
    /// An idle environment is reclaimed after this (default uniform 5m..15m).
    #[serde(
        default = "default_idle_timeout",
        deserialize_with = "crate::dist::dist_or_fixed"
    )]
    #[schemars(with = "crate::dist::DistOrDuration")]
    pub idle_timeout: DistSpec,
    /// An environment is retired after this age, once idle (default 2h).
    #[serde(default = "default_max_lifetime")]
    pub max_lifetime: Micros,
    /// Share of `duration` and `init` that is CPU work and speeds up with the CPU that memory
    /// buys, 0..1 (default 0: memory changes no duration).
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(range(min = 0, max = 1))]
    pub cpu_bound: f64,
    /// Memory in MB at which `duration` and `init` were measured (default `memory_mb`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = lim::MEMORY_MB.min, max = lim::MEMORY_MB.max))]
    pub duration_reference_mb: Option<u32>,
    /// vCPUs the code can use at once (default 1: single-threaded).
    #[serde(default = "default_threads", skip_serializing_if = "is_one")]
    #[schemars(range(min = lim::THREADS.min, max = lim::THREADS.max))]
    pub threads: u32,
    /// Scheduled actions: at a time, set the provisioned concurrency (sorted by `at`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provisioned_schedule: Vec<provisioned::ScheduledAction>,
    /// Target tracking on ProvisionedConcurrencyUtilization (Application Auto Scaling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_autoscaling: Option<provisioned::Autoscaling>,
    /// Time Lambda takes to allocate a new provisioned environment before its INIT starts
    /// (default 0s: INIT alone; an assumption, the documentation gives no number; at most 15m).
    #[serde(default, skip_serializing_if = "is_zero_micros")]
    pub provisioned_allocation_delay: Micros,
    /// Lambda SnapStart (Java 11+, Python 3.12+, .NET 8+ presets; not with provisioned
    /// concurrency): a cold start restores a snapshot (`snapstart_restore` + `snapstart_hooks`)
    /// instead of running INIT (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub snapstart: bool,
    /// Time to restore the snapshot on a SnapStart cold start, not billed; default from the
    /// runtime preset (an assumption: AWS publishes no restore time).
    #[serde(
        default,
        deserialize_with = "crate::dist::opt_dist_or_fixed",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::dist::DistOrDuration>")]
    pub snapstart_restore: Option<DistSpec>,
    /// Time of the after-restore runtime hooks (and runtime load) on a SnapStart cold start,
    /// billed as duration; 0s..10s (default 0s).
    #[serde(default, skip_serializing_if = "is_zero_micros")]
    pub snapstart_hooks: Micros,
    /// Adds a SnapStart variant to the cost what-ifs (SnapStart on for a function without it;
    /// a function with `snapstart = true` always gets its "without SnapStart" variant).
    #[serde(default, skip_serializing_if = "is_false")]
    pub whatif_snapstart: bool,
    /// Names of the `[[dependencies]]` each invocation holds a connection of, for its
    /// handler's duration (default none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<String>,
    /// Runs the function on Lambda Managed Instances: the name of a `[[capacity_providers]]`
    /// entry (needs memory_mb >= 2048; no provisioned concurrency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider: Option<String>,
    /// PerExecutionEnvironmentMaxConcurrency: most concurrent requests per environment, at most
    /// 64 per vCPU and 1600 (Managed Instances; default 16 per vCPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1600))]
    pub max_concurrency_per_environment: Option<u32>,
    /// ExecutionEnvironmentMemoryGiBPerVCpu, 2..8: an environment has memory_mb / 1024 / this
    /// vCPUs (Managed Instances; default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 8))]
    pub memory_gib_per_vcpu: Option<f64>,
    /// vCPU one running request keeps busy; a request starting with n in flight on its
    /// environment takes duration x max(1, n x this / vCPUs); 0 = no CPU sharing (Managed
    /// Instances; default 0.0625).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 64))]
    pub cpu_per_request: Option<f64>,
}

fn is_false(v: &bool) -> bool {
    !*v
}
fn is_zero_micros(v: &Micros) -> bool {
    v.0 == 0
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}
fn is_one(v: &u32) -> bool {
    *v == 1
}
fn default_threads() -> u32 {
    1
}

fn default_runtime() -> String {
    "python3.12".into()
}
fn default_memory() -> u32 {
    128
}
fn default_timeout() -> Micros {
    Micros::from_secs(3)
}
/// Source: docs/platform.md "Execution environments" (idle reclaim 5-15 minutes, lifetime 2 h).
fn default_idle_timeout() -> DistSpec {
    DistSpec::Uniform {
        min: Micros::from_secs(300),
        max: Micros::from_secs(900),
    }
}
fn default_max_lifetime() -> Micros {
    Micros::from_secs(7200)
}

/// How a traffic source invokes its function (`traffic.invocation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum Invocation {
    /// Synchronous (RequestResponse): the client sees throttles and errors (the default).
    #[default]
    Sync,
    /// Asynchronous (Event): Lambda's internal queue retries.
    Async,
    /// An SQS event source mapping polls a queue.
    Sqs,
    /// A Kinesis / DynamoDB stream event source reads shards in order.
    Stream,
}

/// Async invocation settings. Source: docs/platform.md "Invocation models and retries" (Async).
/// Missing keys take their values from [`AsyncSpec::default`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(inline)]
pub struct AsyncSpec {
    /// Retries of function errors and timeouts (default 2).
    #[schemars(range(min = lim::ASYNC_RETRY_ATTEMPTS.min, max = lim::ASYNC_RETRY_ATTEMPTS.max))]
    pub maximum_retry_attempts: u32,
    /// 60s..6h: events older than this go to the DLQ or are dropped (default 6h).
    pub maximum_event_age: Micros,
    /// A dead-letter queue / on-failure destination is configured.
    pub dlq: bool,
}

impl Default for AsyncSpec {
    fn default() -> Self {
        AsyncSpec {
            maximum_retry_attempts: 2,
            maximum_event_age: Micros::from_secs(6 * 3600),
            dlq: false,
        }
    }
}

/// SQS event source mapping. Source: docs/platform.md "SQS event source". Missing keys take
/// their values from [`SqsSpec::default`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(inline)]
pub struct SqsSpec {
    /// Messages per batch (default 10).
    #[schemars(range(min = lim::SQS_BATCH_SIZE.min, max = lim::SQS_BATCH_SIZE.max))]
    pub batch_size: u32,
    /// 0s..5m (default 0s).
    pub maximum_batching_window: Micros,
    /// Most concurrent batches of this mapping, without throttles (default 1000).
    #[schemars(range(
        min = lim::SQS_MAXIMUM_CONCURRENCY.min,
        max = lim::SQS_MAXIMUM_CONCURRENCY.max
    ))]
    pub maximum_concurrency: u32,
    /// A failed or throttled batch returns after this; at least the function timeout, at most
    /// 12h (default 30s).
    pub visibility_timeout: Micros,
    /// Receives before a message goes to the DLQ (default 5).
    #[schemars(range(min = lim::SQS_MAX_RECEIVE_COUNT.min, max = lim::SQS_MAX_RECEIVE_COUNT.max))]
    pub max_receive_count: u32,
    /// Only the failed messages of a batch return to the queue (default false).
    pub report_batch_item_failures: bool,
    /// Fraction of messages that always fail (poison messages; lambdasim extension).
    #[schemars(range(min = 0, max = 1))]
    pub poison_rate: f64,
}

impl Default for SqsSpec {
    fn default() -> Self {
        SqsSpec {
            batch_size: 10,
            maximum_batching_window: Micros::ZERO,
            maximum_concurrency: 1000,
            visibility_timeout: Micros::from_secs(30),
            max_receive_count: 5,
            report_batch_item_failures: false,
            poison_rate: 0.0,
        }
    }
}

/// Kinesis / DynamoDB stream event source. Source: docs/platform.md "Kinesis / DynamoDB
/// streams". Missing keys take their values from [`StreamSpec::default`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(inline)]
pub struct StreamSpec {
    /// Shards of the stream (default 4).
    #[schemars(range(min = lim::STREAM_SHARDS.min, max = lim::STREAM_SHARDS.max))]
    pub shards: u32,
    /// Concurrent batches per shard (default 1).
    #[schemars(range(
        min = lim::STREAM_PARALLELIZATION.min,
        max = lim::STREAM_PARALLELIZATION.max
    ))]
    pub parallelization_factor: u32,
    /// Records per batch (default 100).
    #[schemars(range(min = lim::STREAM_BATCH_SIZE.min, max = lim::STREAM_BATCH_SIZE.max))]
    pub batch_size: u32,
    /// 0s..5m: how long a shard gathers records before invoking, unless the batch fills
    /// first (default 0s).
    pub batching_window: Micros,
    /// Retries of a failing batch; -1 = until the record expires (default -1).
    #[schemars(range(min = lim::STREAM_RETRY_ATTEMPTS.min, max = lim::STREAM_RETRY_ATTEMPTS.max))]
    pub maximum_retry_attempts: i64,
    /// 60s..7d (default 24h).
    pub maximum_record_age: Micros,
    /// A failing batch is split in two and each half retried (default false).
    pub bisect_batch_on_function_error: bool,
    /// Records that run out of retries or age go to an on-failure destination (counted `dlq`)
    /// instead of being skipped (counted `dropped`). lambdasim extension.
    pub on_failure_destination: bool,
    /// Fraction of records that always fail (poison records; lambdasim extension).
    #[schemars(range(min = 0, max = 1))]
    pub poison_rate: f64,
}

impl Default for StreamSpec {
    fn default() -> Self {
        StreamSpec {
            shards: 4,
            parallelization_factor: 1,
            batch_size: 100,
            batching_window: Micros::ZERO,
            maximum_retry_attempts: -1,
            maximum_record_age: Micros::from_secs(24 * 3600),
            bisect_batch_on_function_error: false,
            on_failure_destination: false,
            poison_rate: 0.0,
        }
    }
}

/// A traffic source sending requests to one function (`[[traffic]]`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct Traffic {
    /// Name of a function of this scenario.
    pub function: String,
    /// sync (default), async, sqs or stream.
    #[serde(default)]
    pub invocation: Invocation,
    /// poisson (default) or uniform (evenly spaced).
    #[serde(default)]
    pub arrivals: Arrivals,
    /// The load shape: a table with `kind` = constant, steps, ramp, spike, diurnal or trace.
    pub load: LoadSpec,
    /// Client retries of sync traffic (AWS SDK retry modes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
    /// Async invocation settings.
    #[serde(default, rename = "async", skip_serializing_if = "Option::is_none")]
    pub async_: Option<AsyncSpec>,
    /// SQS event source mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqs: Option<SqsSpec>,
    /// Kinesis / DynamoDB stream event source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamSpec>,
    /// API Gateway in front of sync traffic: the name of a `[[gateways]]` entry, or a table
    /// `{ rate, burst, timeout }` of this entry's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayRef>,
}

/// Prices, default us-east-1 list prices (docs/platform.md "Prices"). Missing keys take their
/// values from [`Pricing::default`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(inline)]
pub struct Pricing {
    /// Per million requests.
    #[schemars(range(min = 0))]
    pub request_per_million: f64,
    /// On-demand x86_64, per GB-second.
    #[schemars(range(min = 0))]
    pub gb_second_x86_64: f64,
    /// On-demand arm64, per GB-second.
    #[schemars(range(min = 0))]
    pub gb_second_arm64: f64,
    /// Provisioned concurrency configured on x86_64, per GB-second.
    #[schemars(range(min = 0))]
    pub provisioned_gb_second_x86_64: f64,
    /// Provisioned concurrency configured on arm64, per GB-second.
    #[schemars(range(min = 0))]
    pub provisioned_gb_second_arm64: f64,
    /// Duration on provisioned x86_64 environments, per GB-second.
    #[schemars(range(min = 0))]
    pub provisioned_duration_gb_second_x86_64: f64,
    /// Duration on provisioned arm64 environments, per GB-second.
    #[schemars(range(min = 0))]
    pub provisioned_duration_gb_second_arm64: f64,
    /// INIT of on-demand cold starts is billed (since 1 Aug 2025, docs/platform.md "Prices").
    pub bill_init: bool,
    /// SnapStart snapshot cache (Python, .NET), per GB-second, at least 3 hours per version.
    #[serde(skip_serializing_if = "is_default_snapstart_cache")]
    #[schemars(range(min = 0))]
    pub snapstart_cache_gb_second: f64,
    /// SnapStart restore (Python, .NET), per GB restored.
    #[serde(skip_serializing_if = "is_default_snapstart_restore")]
    #[schemars(range(min = 0))]
    pub snapstart_restore_gb: f64,
}

fn is_default_snapstart_cache(v: &f64) -> bool {
    *v == presets::prices::SNAPSTART_CACHE_GB_SECOND
}
fn is_default_snapstart_restore(v: &f64) -> bool {
    *v == presets::prices::SNAPSTART_RESTORE_GB
}

impl Default for Pricing {
    fn default() -> Self {
        use presets::prices::*;
        Pricing {
            request_per_million: REQUEST_PER_MILLION,
            gb_second_x86_64: GB_SECOND_X86,
            gb_second_arm64: GB_SECOND_ARM,
            provisioned_gb_second_x86_64: PROVISIONED_GB_SECOND_X86,
            provisioned_gb_second_arm64: PROVISIONED_GB_SECOND_ARM,
            provisioned_duration_gb_second_x86_64: PROVISIONED_DURATION_GB_SECOND_X86,
            provisioned_duration_gb_second_arm64: PROVISIONED_DURATION_GB_SECOND_ARM,
            bill_init: true,
            snapstart_cache_gb_second: SNAPSTART_CACHE_GB_SECOND,
            snapstart_restore_gb: SNAPSTART_RESTORE_GB,
        }
    }
}

impl Scenario {
    /// Fills every default that depends on other fields, so the scenario can be written out
    /// (`check`, `scenario.resolved.toml`) and re-read to the same run.
    pub fn resolve(&mut self) {
        let a = &mut self.account;
        if a.scaling == Scaling::Burst && a.burst_quota.is_none() {
            a.burst_quota = Some(presets::burst_quota(&a.region));
        }
        let (step, interval, refill) = a.scale_rule();
        a.scale_step = Some(step);
        a.scale_interval = Some(interval);
        a.scale_refill = Some(refill);
        capacity::resolve(&mut self.functions);
        for f in &mut self.functions {
            if f.init.is_none() {
                if let Some(p) = presets::runtime(&f.runtime) {
                    f.init = Some(p.init_dist());
                }
            }
            if (f.snapstart || f.whatif_snapstart) && f.snapstart_restore.is_none() {
                f.snapstart_restore = presets::runtime(&f.runtime).and_then(|p| p.restore_dist());
            }
        }
        for t in &mut self.traffic {
            match t.invocation {
                Invocation::Sync => {
                    let r = t.retry.get_or_insert_with(RetrySpec::default);
                    if r.mode != RetryMode::None {
                        let (m, b, c) = crate::retry::defaults(r.mode);
                        r.max_attempts.get_or_insert(m);
                        r.base.get_or_insert(b);
                        r.cap.get_or_insert(c);
                    }
                }
                Invocation::Async => {
                    t.async_.get_or_insert_with(AsyncSpec::default);
                }
                Invocation::Sqs => {
                    t.sqs.get_or_insert_with(SqsSpec::default);
                }
                Invocation::Stream => {
                    t.stream.get_or_insert_with(StreamSpec::default);
                }
            }
        }
    }

    /// The scenario as TOML text.
    pub fn to_toml(&self) -> String {
        // As `toml::to_string_pretty`, but through the buffer's `Display`: its `into_string`
        // inserts every table into one string (quadratic in the number of functions).
        let mut out = toml::ser::Buffer::new();
        match self.serialize(toml::ser::Serializer::pretty(&mut out)) {
            Ok(_) => out.to_string(),
            Err(e) => format!("# could not serialize: {e}\n"),
        }
    }

    /// Index of the function named `name`, if any.
    pub fn function_index(&self, name: &str) -> Option<usize> {
        self.functions.iter().position(|f| f.name == name)
    }
}
