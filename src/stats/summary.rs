//! The run summary (`summary.json`), with the key names listed in README.md "Outputs".

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// Throttled attempts, in all and by reason.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Throttles {
    /// Every reason together.
    pub total: u64,
    /// Scaling budget (burst) exhausted.
    pub burst: u64,
    /// Account concurrency pool full.
    pub account: u64,
    /// Reserved concurrency of the function reached.
    pub reserved: u64,
    /// Account requests-per-second limit reached.
    pub rate: u64,
}

/// Mean and percentiles of a distribution, ms.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Percentiles {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest value.
    pub max: f64,
}

impl Percentiles {
    /// From a histogram of microseconds, in milliseconds.
    pub fn from_histogram(h: &super::Histogram) -> Percentiles {
        let ms = |us: f64| (us / 1e3 * 1e3).round() / 1e3;
        Percentiles {
            mean: ms(h.mean()),
            p50: ms(h.quantile(0.5)),
            p90: ms(h.quantile(0.9)),
            p99: ms(h.quantile(0.99)),
            p999: ms(h.quantile(0.999)),
            max: ms(h.max() as f64),
        }
    }
}

/// Concurrent executions over the summary window.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Concurrency {
    /// Peak.
    pub peak: u32,
    /// Time-weighted mean.
    pub mean: f64,
}

/// Use of provisioned concurrency.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Provisioned {
    /// Mean share of provisioned environments busy.
    pub utilization_mean: f64,
    /// Invocations that spilled over to on-demand environments.
    pub spillover_invocations: u64,
}

/// Cost in USD.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Cost {
    /// Requests.
    pub requests: f64,
    /// On-demand compute (duration, and INIT when billed).
    pub compute: f64,
    /// Provisioned concurrency: configured and duration.
    pub provisioned: f64,
    /// Everything together.
    pub total: f64,
}

/// Totals of one function, or of the account.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct FunctionSummary {
    /// Requests sent by the traffic sources.
    pub requests: u64,
    /// Attempts: requests plus retries.
    pub attempts: u64,
    /// Attempts that ran (CloudWatch `Invocations`).
    pub invocations: u64,
    /// Requests that ended in success.
    pub succeeded: u64,
    /// Requests that ended without success.
    pub failed: u64,
    /// Subset of `failed` whose last attempt timed out.
    pub timed_out: u64,
    /// Subset of `failed` whose last attempt was throttled (the client gave up or had no
    /// retries).
    pub failed_throttled: u64,
    /// Invocations that ended in a function error or a timeout (CloudWatch `Errors`).
    pub errors: u64,
    /// Throttled attempts by reason.
    pub throttles: Throttles,
    /// Throttled attempts / attempts.
    pub throttle_ratio: f64,
    /// Invocations that began with a cold start.
    pub cold_starts: u64,
    /// Cold starts / invocations.
    pub cold_start_ratio: f64,
    /// Retries sent.
    pub retries: u64,
    /// Events, messages or records discarded without a DLQ.
    pub dropped: u64,
    /// Events, messages or records sent to a DLQ or on-failure destination.
    pub dlq: u64,
    /// Requests neither finished nor dropped when the run ended (queued, running, awaiting retry).
    pub in_flight: u64,
    /// End-to-end latency of requests.
    pub latency_ms: Percentiles,
    /// Handler durations.
    pub duration_ms: Percentiles,
    /// Concurrent executions.
    pub concurrency: Concurrency,
    /// Execution environments created.
    pub environments_created: u64,
    /// Use of provisioned concurrency.
    pub provisioned: Provisioned,
    /// Cost.
    pub cost_usd: Cost,
}

/// The summary of a run (summary.json).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Summary {
    /// The scenario's name.
    pub scenario: String,
    /// The seed of the run.
    pub seed: u64,
    /// Length of the summary window (duration minus warmup), s.
    pub duration_s: f64,
    /// Totals of the account.
    pub account: FunctionSummary,
    /// In scenario order.
    #[serde(serialize_with = "as_map")]
    pub functions: Vec<(String, FunctionSummary)>,
}

fn as_map<S: Serializer>(v: &[(String, FunctionSummary)], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(v.len()))?;
    for (k, f) in v {
        m.serialize_entry(k, f)?;
    }
    m.end()
}

impl Summary {
    /// The summary of the function named `name`, if any.
    pub fn function(&self, name: &str) -> Option<&FunctionSummary> {
        self.functions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f)
    }

    /// Every numeric metric as (dotted key, value), in a fixed order: what sweeps collect.
    pub fn metrics(&self) -> Vec<(String, f64)> {
        let v = serde_json::to_value(self).unwrap_or_default();
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        out.retain(|(k, _)| k != "seed" && k != "duration_s");
        out
    }

    /// One metric by dotted key, e.g. `functions.checkout.latency_ms.p99`.
    pub fn metric(&self, key: &str) -> Option<f64> {
        let v = serde_json::to_value(self).ok()?;
        let mut cur = &v;
        for part in key.split('.') {
            cur = cur.get(part)?;
        }
        cur.as_f64()
    }
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, f64)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        serde_json::Value::Number(n) => out.push((prefix.to_string(), n.as_f64().unwrap_or(0.0))),
        _ => {}
    }
}
