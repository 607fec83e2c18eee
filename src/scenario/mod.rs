//! The scenario file: its serde form, defaults and validation.
//!
//! Loading is three steps, each in its own file: [`source`] reads the TOML (with line numbers for
//! errors) and applies `--set` overrides; this module's types hold the scenario with every default
//! filled in by [`Scenario::resolve`]; [`validate`] checks ranges and cross-field rules. The engine
//! never sees this form: [`crate::model::Model::build`] turns it into index-based tables.

pub mod limits;
pub mod source;
pub mod validate;

use crate::dist::DistSpec;
use crate::presets;
use crate::time::Micros;
use serde::{Deserialize, Serialize};

pub use crate::load::{Arrivals, LoadSpec};
pub use crate::retry::{RetryMode, RetrySpec};
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
/// How a scaling token bucket refills (`account.scale_refill`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Refill {
    Continuous,
    Step,
}

/// The `[account]` table. Every key is optional: a missing key takes its value from
/// [`Account::default`] (serde's struct-level default), the one place the defaults are written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Account {
    pub region: String,
    pub concurrency_limit: u32,
    pub unreserved_minimum: u32,
    pub scaling: Scaling,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst_quota: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_step: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_interval: Option<Micros>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_refill: Option<Refill>,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Invocation {
    #[default]
    Sync,
    Async,
    Sqs,
    Stream,
}

/// Async invocation settings. Source: docs/platform.md "Invocation models and retries" (Async).
/// Missing keys take their values from [`AsyncSpec::default`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AsyncSpec {
    pub maximum_retry_attempts: u32,
    pub maximum_event_age: Micros,
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
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SqsSpec {
    pub batch_size: u32,
    pub maximum_batching_window: Micros,
    pub maximum_concurrency: u32,
    pub visibility_timeout: Micros,
    pub max_receive_count: u32,
    pub report_batch_item_failures: bool,
    /// Fraction of messages that always fail (poison messages; lambdasim extension).
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
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StreamSpec {
    pub shards: u32,
    pub parallelization_factor: u32,
    pub batch_size: u32,
    /// -1: retry until the record expires.
    pub maximum_retry_attempts: i64,
    pub maximum_record_age: Micros,
    pub bisect_batch_on_function_error: bool,
    /// Records that run out of retries or age go to an on-failure destination (counted `dlq`)
    /// instead of being skipped (counted `dropped`). lambdasim extension.
    pub on_failure_destination: bool,
    /// Fraction of records that always fail (poison records; lambdasim extension).
    pub poison_rate: f64,
}

impl Default for StreamSpec {
    fn default() -> Self {
        StreamSpec {
            shards: 4,
            parallelization_factor: 1,
            batch_size: 100,
            maximum_retry_attempts: -1,
            maximum_record_age: Micros::from_secs(24 * 3600),
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

/// Prices, default us-east-1 list prices (docs/platform.md "Prices"). Missing keys take their
/// values from [`Pricing::default`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Pricing {
    pub request_per_million: f64,
    pub gb_second_x86_64: f64,
    pub gb_second_arm64: f64,
    pub provisioned_gb_second_x86_64: f64,
    pub provisioned_gb_second_arm64: f64,
    pub provisioned_duration_gb_second_x86_64: f64,
    pub provisioned_duration_gb_second_arm64: f64,
    /// INIT of on-demand cold starts is billed (since 1 Aug 2025, docs/platform.md "Prices").
    pub bill_init: bool,
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
        // As `toml::to_string_pretty`, but through the buffer's `Display`: its `into_string`
        // inserts every table into one string (quadratic in the number of functions).
        let mut out = toml::ser::Buffer::new();
        match self.serialize(toml::ser::Serializer::pretty(&mut out)) {
            Ok(_) => out.to_string(),
            Err(e) => format!("# could not serialize: {e}\n"),
        }
    }

    pub fn function_index(&self, name: &str) -> Option<usize> {
        self.functions.iter().position(|f| f.name == name)
    }
}
