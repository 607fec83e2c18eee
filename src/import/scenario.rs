//! Turns what was read into files: the scenario, its arrival trace and its distributions.

use super::logs::LogStats;
use super::metrics::{Series, Stat};
use super::{find, period_s, select, utc, ImportOptions, Observed, Z90, Z99};
use crate::error::Error;
use crate::output::write_atomic;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Most periods an imported trace may have (a year of minutes; a day of seconds is 86 400).
pub const MAX_PERIODS: i64 = 1_000_000;

/// A lognormal fitted to p50 and p99: mu = ln p50, sigma = (ln p99 - ln p50) / z(0.99).
#[derive(Clone, Debug, PartialEq)]
pub struct LognormalFit {
    /// Median, ms.
    pub median_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// mu of the log-normal (ln of the median in ms).
    pub mu: f64,
    /// sigma of the log-normal.
    pub sigma: f64,
}

/// The closed-form fit, with ms in and ln(seconds) out (the units of [`crate::dist`]).
pub fn fit_lognormal(p50_ms: f64, p99_ms: f64) -> LognormalFit {
    let mu = (p50_ms / 1e3).ln();
    let sigma = ((p99_ms / 1e3).ln() - mu).max(0.0) / Z99;
    LognormalFit {
        median_ms: p50_ms,
        p99_ms,
        mu,
        sigma,
    }
}

/// What `import` wrote and what it found.
#[derive(Debug)]
pub struct ImportReport {
    /// The scenario file written.
    pub scenario: PathBuf,
    /// The function imported.
    pub function: String,
    /// Start of the observed window, Unix ms.
    pub start_ms: i64,
    /// Length of one period, seconds.
    pub period_s: i64,
    /// Number of periods observed.
    pub periods: i64,
    /// Invocations observed.
    pub invocations: f64,
    /// Throttles observed.
    pub throttles: f64,
    /// The duration fit, when REPORT lines gave durations.
    pub fit: Option<LognormalFit>,
    /// Human-readable lines: sources, gaps, fits, defaults taken.
    pub notes: Vec<String>,
}

impl ImportReport {
    /// The report as text for the terminal.
    pub fn text(&self) -> String {
        let mut s = format!(
            "imported {}: {} periods of {} s from {} (UTC)\n",
            self.function,
            self.periods,
            self.period_s,
            utc::format_iso(self.start_ms)
        );
        for n in &self.notes {
            let _ = writeln!(s, "  {n}");
        }
        let _ = writeln!(s, "wrote {}", self.scenario.display());
        s
    }
}

fn ms(v: f64) -> String {
    format!("{}ms", (v * 1000.0).round() / 1000.0)
}

/// Invocation-weighted mean of `f(value)` over the periods of `s` where `f` is defined
/// (weights from `w`, the Invocations series; 1 where it has no point).
fn weighted(s: &Series, w: Option<&Series>, f: impl Fn(f64) -> Option<f64>) -> Option<f64> {
    let (mut num, mut den) = (0.0, 0.0);
    for &(t, v) in &s.points {
        let Some(x) = f(v) else { continue };
        let wt = w
            .and_then(|w| {
                w.points
                    .binary_search_by_key(&t, |p| p.0)
                    .ok()
                    .map(|i| w.points[i].1)
            })
            .unwrap_or(1.0);
        num += wt * x;
        den += wt;
    }
    (den > 0.0).then(|| num / den)
}

/// Weighted mean of ln(value) over positive values: the log of a weighted geometric mean.
fn log_mean(s: &Series, w: Option<&Series>) -> Option<f64> {
    weighted(s, w, |v| (v > 0.0).then(|| v.ln()))
}

fn weighted_mean(s: &Series, w: Option<&Series>) -> Option<f64> {
    weighted(s, w, Some)
}

/// Writes one duration per line (sorted), in ms.
fn write_durations(path: &Path, us: &[u64], what: &str) -> Result<(), Error> {
    let mut v = us.to_vec();
    v.sort_unstable();
    let mut text = format!("# {what}: {} durations (lambdasim import)\n", v.len());
    for d in v {
        let _ = writeln!(text, "{}ms", d as f64 / 1e3);
    }
    write_atomic(path, text.as_bytes())
}

/// Ranges of missing periods, e.g. `09:41:00Z–09:43:00Z`, at most five.
fn gap_text(missing: &[i64], start_ms: i64, period_ms: i64) -> String {
    let mut ranges: Vec<(i64, i64)> = Vec::new();
    for &k in missing {
        match ranges.last_mut() {
            Some(r) if r.1 + 1 == k => r.1 = k,
            _ => ranges.push((k, k)),
        }
    }
    let show: Vec<String> = ranges
        .iter()
        .take(5)
        .map(|&(a, b)| {
            let f = |k: i64| utc::format_iso(start_ms + k * period_ms);
            if a == b {
                f(a)
            } else {
                format!("{} to {}", f(a), f(b))
            }
        })
        .collect();
    let more = if ranges.len() > 5 {
        format!(" and {} more gaps", ranges.len() - 5)
    } else {
        String::new()
    };
    format!("{}{more}", show.join(", "))
}

/// Per-period request counts, the trace's start and period, and notes.
struct Arrivals {
    start_ms: i64,
    period_s: i64,
    counts: Vec<f64>,
    invocations: f64,
    throttles: f64,
}

fn arrivals_from_metrics(
    series: &[Series],
    file: &Path,
    notes: &mut Vec<String>,
) -> Result<Option<Arrivals>, Error> {
    let Some(inv) = find(series, "Invocations", Stat::Sum) else {
        return Ok(None);
    };
    let period = period_s(series, file)?;
    let pms = period * 1000;
    let start = series
        .iter()
        .filter_map(|s| s.points.first().map(|p| p.0))
        .min()
        .unwrap_or(0);
    let end = series
        .iter()
        .filter_map(|s| s.points.last().map(|p| p.0))
        .max()
        .unwrap_or(start)
        + pms;
    let n = (end - start) / pms;
    if n > MAX_PERIODS {
        return Err(Error::input_at(
            file,
            None,
            format!("{n} periods of {period} s is over the limit of {MAX_PERIODS}: export a larger period"),
        ));
    }
    let mut counts = vec![0.0; n as usize];
    let mut seen = vec![false; n as usize];
    let thr = find(series, "Throttles", Stat::Sum);
    let (mut invocations, mut throttles) = (0.0, 0.0);
    for (s, is_inv) in [(Some(inv), true), (thr, false)] {
        let Some(s) = s else { continue };
        for &(t, v) in &s.points {
            if (t - start) % pms != 0 {
                return Err(Error::input_at(
                    file,
                    None,
                    format!(
                        "{}: timestamp {} is off the {period} s grid that starts at {}",
                        s.origin,
                        utc::format_iso(t),
                        utc::format_iso(start)
                    ),
                ));
            }
            let k = ((t - start) / pms) as usize;
            counts[k] += v.round();
            if is_inv {
                seen[k] = true;
                invocations += v.round();
            } else {
                throttles += v.round();
            }
        }
    }
    let missing: Vec<i64> = (0..n).filter(|&k| !seen[k as usize]).collect();
    notes.push(format!(
        "arrivals: {invocations} invocations + {throttles} throttles = {} requests{}",
        invocations + throttles,
        if thr.is_none() {
            " (no Throttles metric: none assumed)"
        } else {
            ""
        }
    ));
    if !missing.is_empty() {
        notes.push(format!(
            "missing periods: {} of {n} have no Invocations data point, counted as 0 requests: {}",
            missing.len(),
            gap_text(&missing, start, pms)
        ));
    }
    for s in series.iter().filter(|s| s.status != "Complete") {
        notes.push(format!(
            "warning: {} ({} {}) has StatusCode {}: pass the remaining NextToken pages too",
            s.origin, s.metric, s.stat, s.status
        ));
    }
    Ok(Some(Arrivals {
        start_ms: start,
        period_s: period,
        counts,
        invocations,
        throttles,
    }))
}

fn arrivals_from_logs(
    logs: &LogStats,
    file: &Path,
    notes: &mut Vec<String>,
) -> Result<Arrivals, Error> {
    let span_s = (logs.last_ms - logs.first_ms) / 1000 + 1;
    let period = if span_s <= 3600 { 1 } else { 60 };
    let start_s = logs.first_ms.div_euclid(1000 * period) * period;
    let n = ((logs.last_ms.div_euclid(1000) - start_s) / period + 1).max(1);
    if n > MAX_PERIODS {
        return Err(Error::input_at(
            file,
            None,
            format!("REPORT lines span {span_s} s: over the limit of {MAX_PERIODS} periods of {period} s"),
        ));
    }
    let mut counts = vec![0.0; n as usize];
    for (&s, &c) in &logs.starts_per_s {
        counts[((s - start_s) / period) as usize] += c as f64;
    }
    notes.push(format!(
        "arrivals: {} invocations from REPORT lines, per {period} s (logs hold no throttles: add the Throttles metric to count them)",
        logs.count()
    ));
    Ok(Arrivals {
        start_ms: start_s * 1000,
        period_s: period,
        invocations: logs.count() as f64,
        throttles: 0.0,
        counts,
    })
}

/// Writes the scenario and its files; the report says what was assumed.
pub fn write_scenario(obs: &Observed, opts: &ImportOptions) -> Result<ImportReport, Error> {
    let first_file = obs.sources[0].0.clone();
    let metrics_file = obs
        .sources
        .iter()
        .find(|s| s.1 == super::Format::MetricDataJson)
        .map(|s| s.0.clone())
        .unwrap_or_else(|| first_file.clone());
    let (name, series) = select(obs, opts.function.as_deref(), &metrics_file)?;
    let mut notes = Vec::new();
    for (p, f) in &obs.sources {
        notes.push(format!("read {} ({f:?})", p.display()));
    }
    let arr = match arrivals_from_metrics(&series, &metrics_file, &mut notes)? {
        Some(a) => a,
        None => match &obs.logs {
            Some(l) => arrivals_from_logs(l, &first_file, &mut notes)?,
            None => {
                return Err(Error::input_at(
                    &metrics_file,
                    None,
                    format!("no Invocations metric for {name:?} and no REPORT lines: nothing to build arrivals from"),
                ))
            }
        },
    };
    let out = &opts.out;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "imported".into());
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::runtime(format!("cannot create {}: {e}", dir.display())))?;

    // Duration: empirical from REPORT lines, else fitted to the percentiles.
    let weights = find(&series, "Invocations", Stat::Sum);
    let mut fit = None;
    let mut timeout_s: f64 = 3.0;
    let duration_toml = if let Some(l) = &obs.logs {
        let file = format!("{stem}-durations.txt");
        write_durations(
            &dir.join(&file),
            &l.durations.items,
            "handler durations from REPORT lines",
        )?;
        let h = &l.duration_hist;
        notes.push(format!(
            "duration: empirical, {} of {} REPORT durations (p50 {}, p99 {}, max {}) -> {file}",
            l.durations.items.len(),
            l.count(),
            ms(h.quantile(0.5) / 1e3),
            ms(h.quantile(0.99) / 1e3),
            ms(h.max() as f64 / 1e3)
        ));
        timeout_s = timeout_s.max(h.max() as f64 / 1e6 * 1.5);
        format!("{{ dist = \"empirical\", path = \"{file}\" }}")
    } else if let (Some(p50), Some(p99)) = (
        find(&series, "Duration", Stat::P(50.0)),
        find(&series, "Duration", Stat::P(99.0)),
    ) {
        let (Some(l50), Some(l99)) = (log_mean(p50, weights), log_mean(p99, weights)) else {
            return Err(Error::input_at(
                &metrics_file,
                None,
                "Duration p50/p99 have no positive values",
            ));
        };
        let f = fit_lognormal(l50.exp(), l99.exp().max(l50.exp()));
        let mut err = Vec::new();
        if let Some(lp90) =
            find(&series, "Duration", Stat::P(90.0)).and_then(|s| log_mean(s, weights))
        {
            let pred = (f.mu + f.sigma * Z90).exp() * 1e3;
            err.push(format!(
                "p90 {} predicted vs {} observed ({:+.1} %)",
                ms(pred),
                ms(lp90.exp()),
                (pred / lp90.exp() - 1.0) * 100.0
            ));
        }
        if let Some(avg) =
            find(&series, "Duration", Stat::Average).and_then(|s| weighted_mean(s, weights))
        {
            let pred = (f.mu + f.sigma * f.sigma / 2.0).exp() * 1e3;
            err.push(format!(
                "mean {} predicted vs {} observed ({:+.1} %)",
                ms(pred),
                ms(avg),
                (pred / avg - 1.0) * 100.0
            ));
        }
        notes.push(format!(
            "duration: lognormal fitted to p50 {} and p99 {} (mu {:.4}, sigma {:.4} in ln s); fit error: {}",
            ms(f.median_ms),
            ms(f.p99_ms),
            f.mu,
            f.sigma,
            if err.is_empty() { "unknown (export Duration p90 or Average to check it)".into() } else { err.join("; ") }
        ));
        timeout_s = timeout_s.max(f.p99_ms / 1e3 * 4.0);
        let t = format!(
            "{{ dist = \"lognormal\", median = \"{}\", p99 = \"{}\" }}",
            ms(f.median_ms),
            ms(f.p99_ms)
        );
        fit = Some(f);
        t
    } else if let Some(avg) =
        find(&series, "Duration", Stat::Average).and_then(|s| weighted_mean(s, weights))
    {
        notes.push(format!(
            "duration: exponential with the observed mean {} (only the Average statistic: no shape information; export p50 and p99 for a lognormal fit)",
            ms(avg)
        ));
        timeout_s = timeout_s.max(avg / 1e3 * 10.0);
        format!(
            "{{ dist = \"exponential\", mean = \"{}\" }}",
            ms(avg.max(0.001))
        )
    } else {
        return Err(Error::input_at(
            &metrics_file,
            None,
            "no duration data: export Duration p50 and p99 (or Average), or pass REPORT log lines",
        ));
    };
    let timeout_s = timeout_s.ceil().min(900.0);

    let init_toml = match &obs.logs {
        Some(l) if !l.init.items.is_empty() => {
            let file = format!("{stem}-init.txt");
            write_durations(
                &dir.join(&file),
                &l.init.items,
                "INIT durations from REPORT lines",
            )?;
            notes.push(format!(
                "init: empirical, {} cold starts in REPORT lines -> {file}",
                l.init.seen
            ));
            Some(format!("{{ dist = \"empirical\", path = \"{file}\" }}"))
        }
        _ => {
            notes
                .push("init: the runtime preset's default (no Init Duration in the inputs)".into());
            None
        }
    };
    let memory = match (opts.memory_mb, obs.logs.as_ref().and_then(|l| l.memory_mb)) {
        (Some(m), _) => m,
        (None, Some(m)) => {
            notes.push(format!("memory: {m} MB (Memory Size of the REPORT lines)"));
            m
        }
        (None, None) => {
            notes.push("memory: 128 MB default (no REPORT lines; set it with --memory-mb)".into());
            128
        }
    };
    let error_rate = match (find(&series, "Errors", Stat::Sum), arr.invocations > 0.0) {
        (Some(e), true) => {
            let total: f64 = e.points.iter().map(|p| p.1).sum();
            (total / arr.invocations).clamp(0.0, 1.0)
        }
        _ => 0.0,
    };

    // The trace: time 0 is the first period; its UTC start is kept for `compare`.
    let trace_file = format!("{stem}-trace.csv");
    let mut trace = format!(
        "# start_utc = {}\n# period_s = {}\n# lambdasim import: requests per period (Invocations + Throttles)\ntime_s,count\n",
        utc::format_iso(arr.start_ms),
        arr.period_s
    );
    for (k, c) in arr.counts.iter().enumerate() {
        let _ = writeln!(trace, "{},{}", k as i64 * arr.period_s, c);
    }
    write_atomic(&dir.join(&trace_file), trace.as_bytes())?;

    let n = arr.counts.len() as i64;
    let mut t = String::new();
    let _ = writeln!(t, "# Imported by `lambdasim import` from:");
    for (p, _) in &obs.sources {
        let _ = writeln!(t, "#   {}", p.display());
    }
    let _ = writeln!(
        t,
        "# Time 0 is {} (UTC); {n} periods of {} s.",
        utc::format_iso(arr.start_ms),
        arr.period_s
    );
    let _ = writeln!(
        t,
        "# What-if: --set traffic.{name}.load.scale=3 replays the trace at 3x."
    );
    let _ = writeln!(t, "name = {:?}", format!("{name}-imported"));
    let _ = writeln!(
        t,
        "description = {:?}",
        format!("{name} as observed from {}", utc::format_iso(arr.start_ms))
    );
    let _ = writeln!(t, "duration = \"{}s\"", n * arr.period_s);
    let _ = writeln!(t, "bucket = \"{}s\"", arr.period_s);
    let _ = writeln!(t, "seed = 1\n\n[account]");
    let _ = writeln!(
        t,
        "region = {:?}",
        opts.region.clone().unwrap_or_else(|| "us-east-1".into())
    );
    let _ = writeln!(
        t,
        "concurrency_limit = {}",
        opts.concurrency_limit.unwrap_or(1000)
    );
    let _ = writeln!(t, "\n[[functions]]\nname = {name:?}");
    let _ = writeln!(
        t,
        "runtime = {:?}",
        opts.runtime.clone().unwrap_or_else(|| "python3.12".into())
    );
    let _ = writeln!(t, "memory_mb = {memory}");
    let _ = writeln!(t, "timeout = \"{timeout_s}s\"");
    let _ = writeln!(t, "duration = {duration_toml}");
    if let Some(i) = init_toml {
        let _ = writeln!(t, "init = {i}");
    }
    if let Some(r) = opts.reserved_concurrency {
        let _ = writeln!(t, "reserved_concurrency = {r}");
    }
    if let Some(p) = opts.provisioned_concurrency {
        let _ = writeln!(t, "provisioned_concurrency = {p}");
    }
    if error_rate > 0.0 {
        let _ = writeln!(t, "error_rate = {error_rate:.6}");
    }
    let _ = writeln!(t, "\n[[traffic]]\nfunction = {name:?}");
    let _ = writeln!(
        t,
        "load = {{ kind = \"trace\", path = \"{trace_file}\", format = \"counts\", interval = \"{}s\", scale = 1.0 }}",
        arr.period_s
    );
    write_atomic(out, t.as_bytes())?;
    // The written scenario must load: account options out of range are reported against it.
    crate::run::load_model(out, &[], None)?;
    notes.push(format!("trace: {n} periods -> {trace_file}"));
    Ok(ImportReport {
        scenario: out.clone(),
        function: name,
        start_ms: arr.start_ms,
        period_s: arr.period_s,
        periods: n,
        invocations: arr.invocations,
        throttles: arr.throttles,
        fit,
        notes,
    })
}
