//! The scenario file: its serde form, defaults and validation.
//!
//! Loading is three steps, each in its own file: [`source`] reads the TOML (with line numbers for
//! errors) and applies `--set` overrides; this module's types hold the scenario with every default
//! filled in by [`Scenario::resolve`]; [`validate`] checks ranges and cross-field rules. The engine
//! never sees this form: [`crate::model::Model::build`] turns it into index-based tables.

pub mod source;
pub mod validate;

use crate::dist::DistSpec;
use crate::load::LoadSpec;
use crate::presets;
use crate::time::Micros;
use serde::{Deserialize, Serialize};

pub use source::{load, load_str, Override};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Simulated time.
    pub duration: Micros,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Time-series resolution.
    #[serde(default = "default_bucket")]
    pub bucket: Micros,
    /// Excluded from summary statistics (requests arriving before it are not counted).
    #[serde(default)]
    pub warmup: Micros,
    #[serde(default)]
    pub account: Account,
    pub functions: Vec<Function>,
    #[serde(default)]
    pub traffic: Vec<Traffic>,
    #[serde(default)]
    pub pricing: Pricing,
}

fn default_seed() -> u64 {
    1
}
fn default_bucket() -> Micros {
    Micros::SECOND
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Scaling {
    /// Current platform: each function adds 1000 environments per 10 s.
    #[default]
    PerFunction,
    /// Legacy account-level burst quota plus 500 per minute.
    Burst,
}

/// Defined with the token buckets it configures.
pub use crate::engine::admission::Refill;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default = "default_concurrency_limit")]
    pub concurrency_limit: u32,
    #[serde(default = "default_unreserved_minimum")]
    pub unreserved_minimum: u32,
    #[serde(default)]
    pub scaling: Scaling,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_quota: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_step: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_interval: Option<Micros>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_refill: Option<Refill>,
    #[serde(default = "default_rps_factor")]
    pub rps_limit_factor: u32,
}

fn default_region() -> String {
    "us-east-1".into()
}
fn default_concurrency_limit() -> u32 {
    1000
}
fn default_unreserved_minimum() -> u32 {
    100
}
fn default_rps_factor() -> u32 {
    presets::RPS_LIMIT_FACTOR
}

impl Default for Account {
    fn default() -> Self {
        Account {
            region: default_region(),
            concurrency_limit: default_concurrency_limit(),
            unreserved_minimum: default_unreserved_minimum(),
            scaling: Scaling::default(),
            burst_quota: None,
            scale_step: None,
            scale_interval: None,
            scale_refill: None,
            rps_limit_factor: default_rps_factor(),
        }
    }
}

impl Account {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    #[default]
    #[serde(rename = "x86_64")]
    X86_64,
    Arm64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Function {
    pub name: String,
    #[serde(default = "default_runtime")]
    pub runtime: String,
    #[serde(default = "default_memory")]
    pub memory_mb: u32,
    #[serde(default)]
    pub architecture: Architecture,
    #[serde(default = "default_timeout")]
    pub timeout: Micros,
    /// Handler duration: a distribution table, or a bare duration for a fixed one.
    #[serde(deserialize_with = "crate::dist::dist_or_fixed")]
    pub duration: DistSpec,
    /// INIT duration; default from the runtime preset.
    #[serde(
        default,
        deserialize_with = "crate::dist::opt_dist_or_fixed",
        skip_serializing_if = "Option::is_none"
    )]
    pub init: Option<DistSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_concurrency: Option<u32>,
    #[serde(default)]
    pub provisioned_concurrency: u32,
    #[serde(default)]
    pub error_rate: f64,
    #[serde(
        default = "default_idle_timeout",
        deserialize_with = "crate::dist::dist_or_fixed"
    )]
    pub idle_timeout: DistSpec,
    #[serde(default = "default_max_lifetime")]
    pub max_lifetime: Micros,
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
/// Source: AWS-FACTS.md "Execution environments" (idle reclaim 5-15 minutes, lifetime 2 h).
fn default_idle_timeout() -> DistSpec {
    DistSpec::Uniform {
        min: Micros::from_secs(300),
        max: Micros::from_secs(900),
    }
}
fn default_max_lifetime() -> Micros {
    Micros::from_secs(7200)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Invocation {
    #[default]
    Sync,
    Async,
    Sqs,
    Stream,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Arrivals {
    #[default]
    Poisson,
    /// Evenly spaced.
    Uniform,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RetryMode {
    #[default]
    None,
    Legacy,
    Standard,
    Adaptive,
}

/// Client retry policy of sync traffic (AWS SDK retry modes).
#[derive(Clone, Debug, Serialize, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    #[serde(default)]
    pub mode: RetryMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Micros>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Micros>,
}

/// Async invocation settings. Source: AWS-FACTS.md "Invocation models and retries" (Async).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AsyncSpec {
    #[serde(default = "default_async_retries")]
    pub maximum_retry_attempts: u32,
    #[serde(default = "default_event_age")]
    pub maximum_event_age: Micros,
    #[serde(default)]
    pub dlq: bool,
}
fn default_async_retries() -> u32 {
    2
}
fn default_event_age() -> Micros {
    Micros::from_secs(6 * 3600)
}
impl Default for AsyncSpec {
    fn default() -> Self {
        AsyncSpec {
            maximum_retry_attempts: 2,
            maximum_event_age: default_event_age(),
            dlq: false,
        }
    }
}

/// SQS event source mapping. Source: AWS-FACTS.md "SQS event source".
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SqsSpec {
    #[serde(default = "default_sqs_batch")]
    pub batch_size: u32,
    #[serde(default)]
    pub maximum_batching_window: Micros,
    #[serde(default = "default_sqs_max_concurrency")]
    pub maximum_concurrency: u32,
    #[serde(default = "default_visibility")]
    pub visibility_timeout: Micros,
    #[serde(default = "default_receive_count")]
    pub max_receive_count: u32,
    #[serde(default)]
    pub report_batch_item_failures: bool,
    /// Fraction of messages that always fail (poison messages; lambdasim extension).
    #[serde(default)]
    pub poison_rate: f64,
}
fn default_sqs_batch() -> u32 {
    10
}
fn default_sqs_max_concurrency() -> u32 {
    1000
}
fn default_visibility() -> Micros {
    Micros::from_secs(30)
}
fn default_receive_count() -> u32 {
    5
}
impl Default for SqsSpec {
    fn default() -> Self {
        SqsSpec {
            batch_size: 10,
            maximum_batching_window: Micros::ZERO,
            maximum_concurrency: 1000,
            visibility_timeout: default_visibility(),
            max_receive_count: 5,
            report_batch_item_failures: false,
            poison_rate: 0.0,
        }
    }
}

/// Kinesis / DynamoDB stream event source. Source: AWS-FACTS.md "Kinesis / DynamoDB streams".
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    #[serde(default = "default_shards")]
    pub shards: u32,
    #[serde(default = "default_one")]
    pub parallelization_factor: u32,
    #[serde(default = "default_stream_batch")]
    pub batch_size: u32,
    #[serde(default = "default_minus_one")]
    pub maximum_retry_attempts: i64,
    #[serde(default = "default_record_age")]
    pub maximum_record_age: Micros,
    #[serde(default)]
    pub bisect_batch_on_function_error: bool,
    /// Records that run out of retries or age go to an on-failure destination (counted `dlq`)
    /// instead of being skipped (counted `dropped`). lambdasim extension.
    #[serde(default)]
    pub on_failure_destination: bool,
    /// Fraction of records that always fail (poison records; lambdasim extension).
    #[serde(default)]
    pub poison_rate: f64,
}
fn default_shards() -> u32 {
    4
}
fn default_one() -> u32 {
    1
}
fn default_stream_batch() -> u32 {
    100
}
fn default_minus_one() -> i64 {
    -1
}
fn default_record_age() -> Micros {
    Micros::from_secs(24 * 3600)
}
impl Default for StreamSpec {
    fn default() -> Self {
        StreamSpec {
            shards: 4,
            parallelization_factor: 1,
            batch_size: 100,
            maximum_retry_attempts: -1,
            maximum_record_age: default_record_age(),
            bisect_batch_on_function_error: false,
            on_failure_destination: false,
            poison_rate: 0.0,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    pub function: String,
    #[serde(default)]
    pub invocation: Invocation,
    #[serde(default)]
    pub arrivals: Arrivals,
    pub load: LoadSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
    #[serde(default, rename = "async", skip_serializing_if = "Option::is_none")]
    pub async_: Option<AsyncSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqs: Option<SqsSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamSpec>,
}

/// Prices, default us-east-1 list prices (AWS-FACTS.md "Prices").
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    #[serde(default = "p_req")]
    pub request_per_million: f64,
    #[serde(default = "p_x86")]
    pub gb_second_x86_64: f64,
    #[serde(default = "p_arm")]
    pub gb_second_arm64: f64,
    #[serde(default = "p_prov_x86")]
    pub provisioned_gb_second_x86_64: f64,
    #[serde(default = "p_prov_arm")]
    pub provisioned_gb_second_arm64: f64,
    #[serde(default = "p_provd_x86")]
    pub provisioned_duration_gb_second_x86_64: f64,
    #[serde(default = "p_provd_arm")]
    pub provisioned_duration_gb_second_arm64: f64,
    /// INIT of on-demand cold starts is billed (AWS-FACTS.md: since 1 Aug 2025).
    #[serde(default = "p_true")]
    pub bill_init: bool,
}
fn p_req() -> f64 {
    presets::prices::REQUEST_PER_MILLION
}
fn p_x86() -> f64 {
    presets::prices::GB_SECOND_X86
}
fn p_arm() -> f64 {
    presets::prices::GB_SECOND_ARM
}
fn p_prov_x86() -> f64 {
    presets::prices::PROVISIONED_GB_SECOND_X86
}
fn p_prov_arm() -> f64 {
    presets::prices::PROVISIONED_GB_SECOND_ARM
}
fn p_provd_x86() -> f64 {
    presets::prices::PROVISIONED_DURATION_GB_SECOND_X86
}
fn p_provd_arm() -> f64 {
    presets::prices::PROVISIONED_DURATION_GB_SECOND_ARM
}
fn p_true() -> bool {
    true
}
impl Default for Pricing {
    fn default() -> Self {
        Pricing {
            request_per_million: p_req(),
            gb_second_x86_64: p_x86(),
            gb_second_arm64: p_arm(),
            provisioned_gb_second_x86_64: p_prov_x86(),
            provisioned_gb_second_arm64: p_prov_arm(),
            provisioned_duration_gb_second_x86_64: p_provd_x86(),
            provisioned_duration_gb_second_arm64: p_provd_arm(),
            bill_init: true,
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
        let (step, interval, refill) = match a.scaling {
            Scaling::PerFunction => (
                presets::PER_FUNCTION_STEP,
                presets::PER_FUNCTION_INTERVAL,
                Refill::Continuous,
            ),
            Scaling::Burst => (presets::BURST_STEP, presets::BURST_INTERVAL, Refill::Step),
        };
        a.scale_step.get_or_insert(step);
        a.scale_interval.get_or_insert(interval);
        a.scale_refill.get_or_insert(refill);
        for f in &mut self.functions {
            if f.init.is_none() {
                if let Some(p) = presets::runtime(&f.runtime) {
                    f.init = Some(p.init_dist());
                }
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

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not serialize: {e}\n"))
    }

    pub fn function_index(&self, name: &str) -> Option<usize> {
        self.functions.iter().position(|f| f.name == name)
    }
}
