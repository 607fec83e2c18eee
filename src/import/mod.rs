//! `lambdasim import`: what AWS gives a user about a function, turned into a scenario.
//!
//! Inputs (the format is read from the content, never from the file name): the JSON output of
//! `aws cloudwatch get-metric-data` ([`metrics`]), and Lambda REPORT log lines as plain text or
//! a Logs Insights CSV export ([`logs`]). Output: a scenario next to its arrival trace, whose
//! counts are Invocations plus Throttles per period (a throttled request never shows as an
//! invocation, https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html), a
//! duration distribution (empirical from REPORT lines, else a lognormal fitted to the Duration
//! percentiles, with the fit's error stated), the INIT distribution, memory, and the account
//! settings given on the command line. The scenario's time 0 is the first observed period; its
//! UTC time is kept in the trace file's first line (`# start_utc = ...`) for `compare`.

pub mod logs;
pub mod metrics;
mod scenario;
pub mod utc;

use crate::error::Error;
use metrics::{Series, Stat};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

pub use scenario::{fit_lognormal, write_scenario, ImportReport, LognormalFit};

/// z-scores of the standard normal at 0.90 and 0.99 (Φ⁻¹).
pub const Z90: f64 = 1.281_551_565_544_600_5;
/// z-score of the 99th percentile of a standard normal distribution.
pub const Z99: f64 = 2.326_347_874_040_841;

/// Options of `lambdasim import`.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The observed files to read.
    pub files: Vec<PathBuf>,
    /// Output scenario file.
    pub out: PathBuf,
    /// Function to import (default the only or busiest one).
    pub function: Option<String>,
    /// Region of the account.
    pub region: Option<String>,
    /// Account concurrency limit.
    pub concurrency_limit: Option<u32>,
    /// Reserved concurrency of the function.
    pub reserved_concurrency: Option<u32>,
    /// Provisioned concurrency of the function.
    pub provisioned_concurrency: Option<u32>,
    /// Runtime preset of the function.
    pub runtime: Option<String>,
    /// Memory of the function, MB.
    pub memory_mb: Option<u32>,
}

/// The formats `import` reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// CloudWatch `GetMetricData` JSON.
    MetricDataJson,
    /// Lambda REPORT log lines.
    ReportText,
    /// CloudWatch Logs Insights CSV export.
    InsightsCsv,
}

/// Everything read from the observed files.
#[derive(Default)]
pub struct Observed {
    /// Metric series read.
    pub series: Vec<Series>,
    /// Statistics of the REPORT lines, when any were read.
    pub logs: Option<logs::LogStats>,
    /// (file, format) in the order read.
    pub sources: Vec<(PathBuf, Format)>,
}

fn open(path: &Path) -> Result<BufReader<std::fs::File>, Error> {
    std::fs::File::open(path)
        .map(|f| BufReader::with_capacity(1 << 16, f))
        .map_err(|e| Error::input_at(path, None, format!("cannot read: {e}")))
}

/// Reads the first bytes without consuming them and decides the format.
pub fn detect(path: &Path, reader: &mut impl BufRead) -> Result<Format, Error> {
    let head = reader
        .fill_buf()
        .map_err(|e| Error::input_at(path, None, format!("cannot read: {e}")))?;
    let text = String::from_utf8_lossy(&head[..head.len().min(8192)]);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Err(Error::input_at(path, Some((1, 1)), "the file is empty"));
    }
    if trimmed.starts_with('{') {
        return Ok(Format::MetricDataJson);
    }
    let first = trimmed.lines().next().unwrap_or("");
    if first.starts_with('@') || first.starts_with("\"@") {
        return Ok(Format::InsightsCsv);
    }
    if text.contains("REPORT RequestId:") || text.contains("RequestId:") {
        return Ok(Format::ReportText);
    }
    Err(Error::input_at(
        path,
        Some((1, 1)),
        "unrecognised format: expected `aws cloudwatch get-metric-data` JSON, REPORT log lines, or a Logs Insights CSV export",
    ))
}

/// Reads every file, in order.
pub fn read_observed(files: &[PathBuf]) -> Result<Observed, Error> {
    let mut obs = Observed::default();
    for path in files {
        let mut r = open(path)?;
        let fmt = detect(path, &mut r)?;
        match fmt {
            Format::MetricDataJson => {
                let s = metrics::read(path, r.by_ref())?;
                obs.series.extend(s);
            }
            Format::ReportText | Format::InsightsCsv => {
                if obs.logs.is_some() {
                    return Err(Error::input_at(
                        path,
                        None,
                        "a second log export: concatenate the REPORT lines of one function into one file",
                    ));
                }
                obs.logs = Some(if fmt == Format::ReportText {
                    logs::read_text(path, r)?
                } else {
                    logs::read_insights_csv(path, r)?
                });
            }
        }
        obs.sources.push((path.clone(), fmt));
    }
    Ok(obs)
}

/// The function names the metric series mention (sorted, unnamed as "").
pub fn functions(series: &[Series]) -> Vec<String> {
    let mut names: Vec<String> = series
        .iter()
        .map(|s| s.function.clone().unwrap_or_default())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Keeps the series of one function: `--function`, or the only one there is.
pub fn select(
    obs: &Observed,
    want: Option<&str>,
    file: &Path,
) -> Result<(String, Vec<Series>), Error> {
    let names = functions(&obs.series);
    let name = match (want, names.as_slice()) {
        (Some(w), _) if names.iter().any(|n| n == w) || names.is_empty() => w.to_string(),
        (Some(w), [only]) if only.is_empty() => w.to_string(),
        (Some(w), _) => {
            return Err(Error::input_at(
                file,
                None,
                format!(
                    "no metrics for function {w:?}; the file has {}",
                    names.join(", ")
                ),
            ))
        }
        (None, []) => "fn".to_string(),
        (None, [only]) => {
            if only.is_empty() {
                "fn".to_string()
            } else {
                only.clone()
            }
        }
        (None, _) => {
            return Err(Error::input_at(
                file,
                None,
                format!(
                    "metrics of several functions ({}): choose one with --function NAME",
                    names.join(", ")
                ),
            ))
        }
    };
    let keep = obs
        .series
        .iter()
        .filter(|s| {
            s.function.as_deref() == Some(name.as_str())
                || s.function.is_none()
                || (names.len() == 1 && want.is_some())
        })
        .cloned()
        .collect();
    Ok((name, keep))
}

/// The period of a set of series: the smallest spacing of consecutive points, in seconds.
pub fn period_s(series: &[Series], file: &Path) -> Result<i64, Error> {
    let mut best = i64::MAX;
    for s in series {
        for w in s.points.windows(2) {
            best = best.min(w[1].0 - w[0].0);
        }
    }
    if best == i64::MAX {
        // One point per series: assume a minute (CloudWatch's common period).
        return Ok(60);
    }
    if best % 1000 != 0 || !(1_000..=3_600_000).contains(&best) {
        return Err(Error::input_at(
            file,
            None,
            format!(
                "timestamps {} s apart: the period must be a whole number of seconds in 1..=3600",
                best as f64 / 1e3
            ),
        ));
    }
    Ok(best / 1000)
}

/// The series of `metric` with statistic `stat`, if present.
pub fn find<'a>(series: &'a [Series], metric: &str, stat: Stat) -> Option<&'a Series> {
    series.iter().find(|s| s.metric == metric && s.stat == stat)
}

/// `lambdasim import`: reads the files and writes the scenario, its trace and distributions.
pub fn import(opts: &ImportOptions) -> Result<ImportReport, Error> {
    if opts.files.is_empty() {
        return Err(Error::runtime("import needs at least one file"));
    }
    let obs = read_observed(&opts.files)?;
    scenario::write_scenario(&obs, opts)
}
