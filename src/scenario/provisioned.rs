//! Provisioned concurrency that changes over time: scheduled actions
//! (`functions.provisioned_schedule`) and Application Auto Scaling target tracking on
//! `ProvisionedConcurrencyUtilization` (`functions.provisioned_autoscaling`), and their checks.
//!
//! Platform facts behind the defaults (docs/platform.md "Provisioned concurrency over time"):
//! - Lambda provisioned concurrency scales with target tracking policies and scheduled scaling:
//!   <https://docs.aws.amazon.com/autoscaling/application/userguide/services-that-can-integrate-lambda.html>.
//! - Target tracking creates and manages the CloudWatch alarms; it scales out proportionally to
//!   the metric and scales in more conservatively, only once the metric is well below the
//!   target (typically 10 % lower):
//!   <https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html>.
//!   Lambda's page describes the two alarms for a 0.7 target: scale out when utilization
//!   consistently exceeds 70 %, scale in when it is consistently below 63 % (90 % of the target):
//!   <https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html>.
//!   The documentation gives no datapoint counts in numbers; the alarms target tracking creates
//!   evaluate one-minute datapoints, 3 of 3 to scale out and 15 of 15 to scale in. Those are
//!   the defaults here, configurable (`scale_out_datapoints`, `scale_in_datapoints`).
//! - Cooldowns default to 0 s for Lambda provisioned concurrency ("For all other scalable
//!   targets, the default value is 0 ... Lambda provisioned concurrency"):
//!   <https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingScalingPolicyConfiguration.html>.
//! - New provisioned environments run INIT before they serve (the configuration is
//!   `IN_PROGRESS` until they are `READY`:
//!   <https://docs.aws.amazon.com/lambda/latest/api/API_ProvisionedConcurrencyConfigListItem.html>).
//!   The documentation gives no allocation time; `provisioned_allocation_delay` (default 0 s,
//!   INIT alone) is the stated, configurable assumption.

use super::limits as lim;
use super::Function;
use crate::error::KeyPath;
use crate::time::Micros;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A scheduled action (`functions.provisioned_schedule[]`): at `at`, the provisioned
/// concurrency configured becomes `concurrency`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ScheduledAction {
    /// When the action runs, from the start of the run (sorted, within the run).
    pub at: Micros,
    /// Provisioned concurrency configured from then on.
    #[schemars(range(min = 0, max = lim::PROVISIONED_CONCURRENCY.max))]
    pub concurrency: u32,
}

/// Target tracking on `ProvisionedConcurrencyUtilization` (`functions.provisioned_autoscaling`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct Autoscaling {
    /// Target utilization, a share in 0.1..=0.9 (AWS examples use 0.7).
    #[schemars(range(min = 0.1, max = 0.9))]
    pub target: f64,
    /// Least provisioned concurrency the policy keeps (at least 1: with none configured there
    /// is no utilization to track).
    #[schemars(range(min = 1, max = lim::PROVISIONED_CONCURRENCY.max))]
    pub min: u32,
    /// Most provisioned concurrency the policy sets (>= min).
    #[schemars(range(min = 1, max = lim::PROVISIONED_CONCURRENCY.max))]
    pub max: u32,
    /// One-minute datapoints above the target, in a row, before a scale-out (default 3).
    #[serde(default = "default_out")]
    #[schemars(range(min = lim::AUTOSCALING_DATAPOINTS.min, max = lim::AUTOSCALING_DATAPOINTS.max))]
    pub scale_out_datapoints: u32,
    /// One-minute datapoints below 90 % of the target, in a row, before a scale-in (default 15).
    #[serde(default = "default_in")]
    #[schemars(range(min = lim::AUTOSCALING_DATAPOINTS.min, max = lim::AUTOSCALING_DATAPOINTS.max))]
    pub scale_in_datapoints: u32,
    /// Wait after a scale-out before another scale-out (default 0s, at most 1h).
    #[serde(default)]
    pub scale_out_cooldown: Micros,
    /// Wait after a scale-in before another scale-in (default 0s, at most 1h).
    #[serde(default)]
    pub scale_in_cooldown: Micros,
}

fn default_out() -> u32 {
    DEFAULT_SCALE_OUT_DATAPOINTS
}
fn default_in() -> u32 {
    DEFAULT_SCALE_IN_DATAPOINTS
}

/// One-minute datapoints above the target before a scale-out (module docs).
pub const DEFAULT_SCALE_OUT_DATAPOINTS: u32 = 3;
/// One-minute datapoints below 90 % of the target before a scale-in (module docs).
pub const DEFAULT_SCALE_IN_DATAPOINTS: u32 = 15;
/// Share of the target below which a datapoint counts toward scale-in (module docs).
pub const SCALE_IN_SHARE: f64 = 0.9;
/// Length of one datapoint of `ProvisionedConcurrencyUtilization`.
pub const PERIOD: Micros = Micros::MINUTE;

impl Function {
    /// Whether the provisioned concurrency of this function changes during a run.
    pub fn provisioned_varies(&self) -> bool {
        !self.provisioned_schedule.is_empty() || self.provisioned_autoscaling.is_some()
    }

    /// Provisioned concurrency configured at the start of the run: `provisioned_concurrency`,
    /// within `[min, max]` of autoscaling when set.
    pub fn provisioned_initial(&self) -> u32 {
        match &self.provisioned_autoscaling {
            Some(a) => self.provisioned_concurrency.clamp(a.min, a.max.max(a.min)),
            None => self.provisioned_concurrency,
        }
    }

    /// The most provisioned concurrency this function can have configured during a run: what
    /// reserved concurrency and the unreserved pool must hold.
    pub fn provisioned_peak(&self) -> u32 {
        let sched = self
            .provisioned_schedule
            .iter()
            .map(|a| a.concurrency)
            .max();
        let auto = self.provisioned_autoscaling.as_ref().map(|a| a.max);
        self.provisioned_initial()
            .max(sched.unwrap_or(0))
            .max(auto.unwrap_or(0))
    }
}

type R = Result<(), (KeyPath, String)>;

/// Checks `provisioned_schedule` and `provisioned_autoscaling` of function `i` in a run of
/// `duration`; the reserved / unreserved rules use [`Function::provisioned_peak`] in
/// `validate.rs`.
pub fn validate(i: usize, f: &Function, duration: Micros) -> R {
    let fk = |key: &str| KeyPath::function(i, key);
    if f.provisioned_schedule.len() > lim::MAX_SCHEDULED_ACTIONS {
        return Err((
            fk("provisioned_schedule"),
            format!(
                "{} scheduled actions, more than the limit of {}",
                f.provisioned_schedule.len(),
                lim::MAX_SCHEDULED_ACTIONS
            ),
        ));
    }
    let mut last = None;
    for (j, a) in f.provisioned_schedule.iter().enumerate() {
        let ak = |key: &str| fk(&format!("provisioned_schedule[{j}].{key}"));
        if a.at >= duration {
            return Err((
                ak("at"),
                format!("{} is not within the run (duration {duration})", a.at),
            ));
        }
        if last.is_some_and(|l| a.at <= l) {
            return Err((
                ak("at"),
                format!(
                    "{}: scheduled actions must be sorted by time, each later than the one before",
                    a.at
                ),
            ));
        }
        last = Some(a.at);
        if !lim::PROVISIONED_CONCURRENCY.contains(a.concurrency) {
            return Err((
                ak("concurrency"),
                format!(
                    "{}, got {}",
                    lim::PROVISIONED_CONCURRENCY.message(),
                    a.concurrency
                ),
            ));
        }
    }
    if let Some(a) = &f.provisioned_autoscaling {
        let ak = |key: &str| fk(&format!("provisioned_autoscaling.{key}"));
        if !(lim::AUTOSCALING_TARGET.0..=lim::AUTOSCALING_TARGET.1).contains(&a.target) {
            return Err((
                ak("target"),
                format!(
                    "must be a utilization share in {}..={}, got {}",
                    lim::AUTOSCALING_TARGET.0,
                    lim::AUTOSCALING_TARGET.1,
                    a.target
                ),
            ));
        }
        for (key, v) in [("min", a.min), ("max", a.max)] {
            if !lim::PROVISIONED_CONCURRENCY.contains(v) {
                return Err((
                    ak(key),
                    format!("{}, got {v}", lim::PROVISIONED_CONCURRENCY.message()),
                ));
            }
        }
        if a.min == 0 {
            return Err((
                ak("min"),
                "must be at least 1: with no provisioned concurrency there is no utilization to track".into(),
            ));
        }
        if a.min > a.max {
            return Err((
                ak("min"),
                format!(
                    "{} is greater than max {}: min must be <= max",
                    a.min, a.max
                ),
            ));
        }
        for (key, v) in [
            ("scale_out_datapoints", a.scale_out_datapoints),
            ("scale_in_datapoints", a.scale_in_datapoints),
        ] {
            if !lim::AUTOSCALING_DATAPOINTS.contains(v) {
                return Err((
                    ak(key),
                    format!("{}, got {v}", lim::AUTOSCALING_DATAPOINTS.message()),
                ));
            }
        }
        for (key, v) in [
            ("scale_out_cooldown", a.scale_out_cooldown),
            ("scale_in_cooldown", a.scale_in_cooldown),
        ] {
            if v > lim::MAX_AUTOSCALING_COOLDOWN {
                return Err((
                    ak(key),
                    format!("must be at most {}, got {v}", lim::MAX_AUTOSCALING_COOLDOWN),
                ));
            }
        }
    }
    if f.provisioned_allocation_delay > lim::MAX_ALLOCATION_DELAY {
        return Err((
            fk("provisioned_allocation_delay"),
            format!(
                "must be at most {}, got {}",
                lim::MAX_ALLOCATION_DELAY,
                f.provisioned_allocation_delay
            ),
        ));
    }
    Ok(())
}
