//! The JSON output of `aws cloudwatch get-metric-data`, read and written.
//!
//! Schema (CLI reference, https://docs.aws.amazon.com/cli/latest/reference/cloudwatch/get-metric-data.html,
//! and the API type https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataResult.html):
//! `{"MetricDataResults": [{"Id", "Label", "Timestamps": [ISO 8601], "Values": [number],
//! "StatusCode": "Complete" | "PartialData" | "InternalError" | "Forbidden", "Messages"}],
//! "NextToken", "Messages"}`; `Timestamps[i]` belongs to `Values[i]`, newest first by default
//! (`ScanBy = TimestampDescending`). Several pages (one JSON document per `NextToken` call)
//! may follow each other in one file; they are read one document at a time.
//!
//! The output names no dimensions, so which function and metric a result holds is read from its
//! `Label` and `Id` (see [`identify`]): label each query `"<function> <Metric> [stat]"`, as the
//! shipped `examples/observed/queries.json` does. Metric meanings and the statistic to use for
//! each follow the Lambda metrics reference,
//! https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html: Invocations,
//! Throttles and Errors with `Sum`, ConcurrentExecutions with `Maximum`, Duration with
//! percentiles (`p50`, `p90`, `p99`) or `Average`.

use super::utc;
use crate::error::{Error, KeyPath};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;

/// The Lambda metrics import and compare understand.
pub const METRICS: [&str; 5] = [
    "Invocations",
    "Throttles",
    "Errors",
    "ConcurrentExecutions",
    "Duration",
];

/// A CloudWatch statistic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stat {
    /// Sum over the period.
    Sum,
    /// Average over the period.
    Average,
    /// Maximum over the period.
    Maximum,
    /// Minimum over the period.
    Minimum,
    /// A percentile, 0..100 (`p99` is 99.0).
    P(f64),
}

impl std::fmt::Display for Stat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stat::Sum => write!(f, "Sum"),
            Stat::Average => write!(f, "Average"),
            Stat::Maximum => write!(f, "Maximum"),
            Stat::Minimum => write!(f, "Minimum"),
            Stat::P(p) => write!(f, "p{p}"),
        }
    }
}

/// One metric of one function: (Unix ms, value) points in time order.
#[derive(Clone, Debug)]
pub struct Series {
    /// Function name from the label; `None` when the label names none.
    pub function: Option<String>,
    /// The CloudWatch metric name.
    pub metric: &'static str,
    /// The statistic of the values.
    pub stat: Stat,
    /// (Unix ms, value) points in time order.
    pub points: Vec<(i64, f64)>,
    /// Where it came from, for messages: `MetricDataResults[2]` of page 1.
    pub origin: String,
    /// CloudWatch's status code of the query.
    pub status: String,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Page {
    #[serde(default)]
    metric_data_results: Option<Vec<ResultJson>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResultJson {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    timestamps: Vec<String>,
    #[serde(default)]
    values: Vec<f64>,
    #[serde(default)]
    status_code: Option<String>,
}

/// Reads every page of a get-metric-data output. Memory: the data points, never the text.
pub fn read(file: &Path, reader: impl Read) -> Result<Vec<Series>, Error> {
    let stream =
        serde_json::Deserializer::from_reader(std::io::BufReader::new(reader)).into_iter::<Page>();
    let mut out: Vec<Series> = Vec::new();
    for (page_no, page) in stream.enumerate() {
        let page = page.map_err(|e| {
            let what = if e.is_eof() {
                format!("truncated JSON: {e}")
            } else {
                format!("not get-metric-data JSON: {e}")
            };
            Error::input_at(file, Some((e.line(), e.column())), what)
        })?;
        let Some(results) = page.metric_data_results else {
            return Err(Error::input(
                file,
                KeyPath::parse("MetricDataResults"),
                "missing: this JSON is not the output of `aws cloudwatch get-metric-data`",
            ));
        };
        for (i, r) in results.into_iter().enumerate() {
            let key = |k: &str| {
                let p = if page_no == 0 {
                    format!("MetricDataResults[{i}]{k}")
                } else {
                    format!("MetricDataResults[{i}]{k} (page {})", page_no + 1)
                };
                KeyPath::parse(&p)
            };
            if r.timestamps.len() != r.values.len() {
                return Err(Error::input(
                    file,
                    key(""),
                    format!(
                        "{} Timestamps but {} Values (they must pair one to one)",
                        r.timestamps.len(),
                        r.values.len()
                    ),
                ));
            }
            let label = r.label.clone().unwrap_or_default();
            let id = r.id.clone().unwrap_or_default();
            let Some((function, metric, stat)) = identify(&label, &id) else {
                return Err(Error::input(
                    file,
                    key(".Label"),
                    format!(
                        "cannot tell which metric {label:?} (Id {id:?}) is: label each query \"<function> <Metric> [stat]\", Metric one of {}",
                        METRICS.join(", ")
                    ),
                ));
            };
            let mut points = Vec::with_capacity(r.values.len());
            for (k, (t, v)) in r.timestamps.iter().zip(&r.values).enumerate() {
                let ms = utc::parse_iso(t).ok_or_else(|| {
                    Error::input(
                        file,
                        key(&format!(".Timestamps[{k}]")),
                        format!("{t:?} is not an ISO 8601 timestamp"),
                    )
                })?;
                if !v.is_finite() || *v < 0.0 || *v > 1e12 {
                    return Err(Error::input(
                        file,
                        key(&format!(".Values[{k}]")),
                        format!("{v} is not a metric value in 0..=1e12"),
                    ));
                }
                points.push((ms, *v));
            }
            let status = r.status_code.unwrap_or_else(|| "Complete".into());
            // A later page continues the same query: append its points.
            if let Some(s) = out
                .iter_mut()
                .find(|s| s.function == function && s.metric == metric && s.stat == stat)
            {
                s.points.extend(points);
                if status != "Complete" {
                    s.status = status;
                }
            } else {
                out.push(Series {
                    function,
                    metric,
                    stat,
                    points,
                    origin: key("").to_string(),
                    status,
                });
            }
        }
    }
    if out.is_empty() {
        return Err(Error::input_at(
            file,
            None,
            "no MetricDataResults: the file holds no metric data",
        ));
    }
    for s in &mut out {
        s.points.sort_by_key(|p| p.0);
        s.points.dedup_by_key(|p| p.0);
    }
    Ok(out)
}

/// (function, metric, statistic) from a result's label and id, e.g. `"orders Duration p99"`.
/// The metric name may appear in either; the statistic defaults to the one the Lambda metrics
/// reference recommends for the metric; the function is what remains of the label.
pub fn identify(label: &str, id: &str) -> Option<(Option<String>, &'static str, Stat)> {
    let lower = format!("{} {}", label, id).to_ascii_lowercase();
    let metric = [
        ("concurrentexecutions", "ConcurrentExecutions"),
        ("throttles", "Throttles"),
        ("invocations", "Invocations"),
        ("errors", "Errors"),
        ("duration", "Duration"),
    ]
    .into_iter()
    .find(|(k, _)| {
        lower.contains(k) && !lower.contains(&format!("unreserved{k}")) && !lower.contains("billed")
    })
    .map(|(_, m)| m)?;
    let mut stat = None;
    let mut rest = Vec::new();
    for word in label.split_whitespace() {
        let w = word.to_ascii_lowercase();
        let st = match w.as_str() {
            "sum" => Some(Stat::Sum),
            "avg" | "average" | "mean" => Some(Stat::Average),
            "max" | "maximum" => Some(Stat::Maximum),
            "min" | "minimum" => Some(Stat::Minimum),
            _ => w
                .strip_prefix('p')
                .and_then(|p| p.parse::<f64>().ok())
                .filter(|p| *p > 0.0 && *p < 100.0)
                .map(Stat::P),
        };
        if st.is_some() {
            stat = st;
        } else if w != metric.to_ascii_lowercase() {
            rest.push(word);
        }
    }
    if stat.is_none() {
        // The Id may carry the statistic: `p99`, `orders_p99`, `dur_avg`.
        for part in id
            .to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
        {
            stat = match part {
                "avg" | "average" => Some(Stat::Average),
                "max" | "maximum" => Some(Stat::Maximum),
                "sum" => Some(Stat::Sum),
                p => p
                    .strip_prefix('p')
                    .and_then(|p| p.parse::<f64>().ok())
                    .filter(|p| *p > 0.0 && *p < 100.0)
                    .map(Stat::P),
            }
            .or(stat);
        }
    }
    let stat = stat.unwrap_or(match metric {
        "ConcurrentExecutions" => Stat::Maximum,
        "Duration" => Stat::Average,
        _ => Stat::Sum,
    });
    let function = (!rest.is_empty()).then(|| rest.join(" "));
    Some((function, metric, stat))
}

/// (Label, Id, (Unix ms, value) points) of one exported series.
pub type Exported = (String, String, Vec<(i64, f64)>);

/// Writes series as get-metric-data JSON (one page, newest first, as the CLI prints it).
/// Used by the round-trip tests (simulated buckets exported as CloudWatch would show them).
pub fn to_json(series: &[Exported]) -> String {
    let page = Page {
        metric_data_results: Some(
            series
                .iter()
                .enumerate()
                .map(|(i, (label, _id, pts))| {
                    let mut pts = pts.clone();
                    pts.sort_by_key(|p| std::cmp::Reverse(p.0));
                    ResultJson {
                        id: Some(series[i].1.clone()),
                        label: Some(label.clone()),
                        timestamps: pts
                            .iter()
                            .map(|p| utc::format_iso(p.0).replace('Z', "+00:00"))
                            .collect(),
                        values: pts.iter().map(|p| p.1).collect(),
                        status_code: Some("Complete".into()),
                    }
                })
                .collect(),
        ),
        next_token: None,
    };
    let mut text = serde_json::to_string_pretty(&page).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_function_metric_and_statistic() {
        let id = |l: &str, i: &str| identify(l, i).unwrap();
        assert_eq!(
            id("orders Duration p99", "d99"),
            (Some("orders".into()), "Duration", Stat::P(99.0))
        );
        assert_eq!(id("Invocations", "inv"), (None, "Invocations", Stat::Sum));
        assert_eq!(
            id("ConcurrentExecutions", "m1"),
            (None, "ConcurrentExecutions", Stat::Maximum)
        );
        assert_eq!(id("Duration", "orders_p50").2, Stat::P(50.0));
        assert!(identify("CPUUtilization", "cpu").is_none());
    }

    #[test]
    fn pages_and_errors() {
        let ok = r#"{"MetricDataResults":[{"Id":"i","Label":"f Invocations","Timestamps":["2026-11-20T09:01:00+00:00","2026-11-20T09:00:00+00:00"],"Values":[5,3],"StatusCode":"Complete"}]}
{"MetricDataResults":[{"Id":"i","Label":"f Invocations","Timestamps":["2026-11-20T09:02:00+00:00"],"Values":[7],"StatusCode":"Complete"}]}"#;
        let s = read(Path::new("m.json"), ok.as_bytes()).unwrap();
        assert_eq!(s.len(), 1);
        let v: Vec<f64> = s[0].points.iter().map(|p| p.1).collect();
        assert_eq!(v, [3.0, 5.0, 7.0]);
        let bad = r#"{"MetricDataResults":[{"Id":"i","Label":"f Invocations","Timestamps":["x"],"Values":[1]}]}"#;
        let e = read(Path::new("m.json"), bad.as_bytes()).unwrap_err();
        assert!(
            e.to_string().contains("MetricDataResults[0].Timestamps[0]"),
            "{e}"
        );
        let cut = &ok[..60];
        let e = read(Path::new("m.json"), cut.as_bytes()).unwrap_err();
        assert!(e.to_string().starts_with("m.json:1:"), "{e}");
        assert_eq!(e.exit_code(), 2);
    }
}
