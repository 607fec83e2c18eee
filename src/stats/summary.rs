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
    /// The API Gateway in front had no token: the request never reached Lambda.
    pub gateway: u64,
    /// Lambda Managed Instances: every environment's slots taken.
    pub capacity: u64,
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
    /// SnapStart snapshot cache and restores (Python, .NET; omitted when 0).
    #[serde(skip_serializing_if = "is_zero_usd")]
    pub snapstart: f64,
    /// Lambda Managed Instances: the function's share of its capacity provider's EC2
    /// instance-hours and management fee (absent for other functions).
    #[serde(skip_serializing_if = "is_zero_usd")]
    pub managed_instances: f64,
}

fn is_zero_usd(v: &f64) -> bool {
    *v == 0.0
}

/// One Lambda Managed Instances capacity provider over the summary window.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ProviderSummary {
    /// The provider's name.
    pub name: String,
    /// Time-weighted mean of instances running or launching.
    pub instances_mean: f64,
    /// Most instances at once.
    pub instances_peak: u32,
    /// Instance-hours billed.
    pub instance_hours: f64,
    /// EC2 on-demand price of those instance-hours, USD.
    pub ec2_usd: f64,
    /// Compute management fee on them, USD.
    pub management_fee_usd: f64,
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
    /// Queue service levels (async events, SQS messages, stream records).
    pub queue: QueueLevels,
    /// What `requests` and `attempts` count for this function's traffic, for the table (for
    /// example "records / batches (stream)"); empty when unknown. Not in summary.json.
    #[serde(skip)]
    pub units: &'static str,
    /// Sync attempts whose API Gateway answered 504 at its integration timeout while the
    /// function ran on (written only when there are some).
    #[serde(skip_serializing_if = "is_zero")]
    pub gateway_timeouts: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
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
    /// The scenario has an API Gateway in front of some traffic (the table then shows its
    /// rows). Not in summary.json.
    #[serde(skip)]
    pub gateway: bool,
    /// Downstream limits (`dependencies.<name>`), in scenario order; absent without any.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "dependencies_as_map"
    )]
    pub dependencies: Vec<(String, super::DependencySummary)>,
    /// Lambda Managed Instances capacity providers (absent without any).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacity_providers: Vec<ProviderSummary>,
}

fn dependencies_as_map<S: Serializer>(
    v: &[(String, super::DependencySummary)],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(v.len()))?;
    for (k, d) in v {
        m.serialize_entry(k, d)?;
    }
    m.end()
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

/// Queue service levels of one function (or the account), read from its time-series buckets:
/// the same numbers `timeseries.csv` shows.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct QueueLevels {
    /// Most async events, SQS messages or stream records waiting at a bucket's end
    /// (`QueueDepth`).
    pub peak_depth: u64,
    /// Oldest waiting message or record: per bucket the largest of `QueueOldestAgeMs`,
    /// `AsyncEventAge` and `IteratorAge`; its maximum and its 99th percentile over buckets
    /// (nearest rank, within 0.4 %).
    pub max_oldest_age_ms: f64,
    /// 99th percentile over buckets of the oldest message or record age, ms.
    pub p99_oldest_age_ms: f64,
    /// End of the bucket in which the backlog last fell to zero, s (0 when there never was
    /// one; null when it was not empty at the end of the run).
    pub drained_at_s: Option<f64>,
    /// Dead-lettered and dropped (without a DLQ) events, messages or records.
    pub dlq: u64,
    /// Events, messages or records dropped.
    pub dropped: u64,
}

/// Follows the bucket rows of a run to fill [`QueueLevels`]: fixed memory per function.
pub struct QueueTracker {
    bucket_s: f64,
    per: Vec<QueueTrack>,
}

#[derive(Default)]
struct QueueTrack {
    peak_depth: u64,
    ages: super::Histogram,
    /// End of the last bucket that ended with an empty queue, and whether the queue was ever
    /// non-empty; `empty_at_end`: the last bucket ended empty.
    last_empty_end_s: f64,
    empty_at_end: bool,
}

impl QueueTracker {
    /// `rows` per bucket: every function, then the account.
    pub fn new(functions: usize, bucket_s: f64) -> QueueTracker {
        QueueTracker {
            bucket_s,
            per: (0..=functions)
                .map(|_| QueueTrack {
                    empty_at_end: true,
                    ..Default::default()
                })
                .collect(),
        }
    }

    /// Folds one bucket's rows into the levels.
    pub fn bucket(&mut self, rows: &[super::BucketRow]) {
        for (t, r) in self.per.iter_mut().zip(rows) {
            t.peak_depth = t.peak_depth.max(r.queue_depth);
            let age = r
                .queue_oldest_age_ms
                .max(r.async_event_age_ms)
                .max(r.iterator_age_ms);
            t.ages.record((age * 1e3).round() as u64);
            if r.queue_depth == 0 {
                if !t.empty_at_end {
                    t.last_empty_end_s = r.start.as_secs_f64() + self.bucket_s;
                }
                t.empty_at_end = true;
            } else {
                t.empty_at_end = false;
            }
        }
    }

    /// Levels of function `i` (`i = functions`: the account), with its dead-letter and dropped
    /// totals.
    pub fn levels(&self, i: usize, dlq: u64, dropped: u64) -> QueueLevels {
        let t = &self.per[i];
        let ms = |us: f64| (us / 1e3 * 1e3).round() / 1e3;
        QueueLevels {
            peak_depth: t.peak_depth,
            max_oldest_age_ms: ms(t.ages.max() as f64),
            p99_oldest_age_ms: ms(t.ages.quantile(0.99)),
            drained_at_s: t.empty_at_end.then_some(t.last_empty_end_s),
            dlq,
            dropped,
        }
    }
}
