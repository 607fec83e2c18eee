//! The run summary (`summary.json`), with the key names listed in README.md "Outputs".

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Throttles {
    pub total: u64,
    pub burst: u64,
    pub account: u64,
    pub reserved: u64,
    pub rate: u64,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
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

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Concurrency {
    pub peak: u32,
    pub mean: f64,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Provisioned {
    pub utilization_mean: f64,
    pub spillover_invocations: u64,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Cost {
    pub requests: f64,
    pub compute: f64,
    pub provisioned: f64,
    pub total: f64,
}

/// Totals of one function, or of the account.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct FunctionSummary {
    pub requests: u64,
    pub attempts: u64,
    pub invocations: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub timed_out: u64,
    /// Subset of `failed` whose last attempt was throttled (the client gave up or had no
    /// retries).
    pub failed_throttled: u64,
    pub errors: u64,
    pub throttles: Throttles,
    pub throttle_ratio: f64,
    pub cold_starts: u64,
    pub cold_start_ratio: f64,
    pub retries: u64,
    pub dropped: u64,
    pub dlq: u64,
    /// Requests neither finished nor dropped when the run ended (queued, running, awaiting retry).
    pub in_flight: u64,
    pub latency_ms: Percentiles,
    pub duration_ms: Percentiles,
    pub concurrency: Concurrency,
    pub environments_created: u64,
    pub provisioned: Provisioned,
    pub cost_usd: Cost,
    /// Queue service levels (async events, SQS messages, stream records).
    pub queue: QueueLevels,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub duration_s: f64,
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
    /// `AsyncEventAgeMs` and `IteratorAgeMs`; its maximum and its 99th percentile over buckets
    /// (nearest rank, within 0.4 %).
    pub max_oldest_age_ms: f64,
    pub p99_oldest_age_ms: f64,
    /// End of the bucket in which the backlog last fell to zero, s (0 when there never was
    /// one; null when it was not empty at the end of the run).
    pub drained_at_s: Option<f64>,
    /// Dead-lettered and dropped (without a DLQ) events, messages or records.
    pub dlq: u64,
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
