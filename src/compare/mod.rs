//! `lambdasim compare`: a scenario's simulation next to what CloudWatch observed.
//!
//! The scenario runs with its time-series bucket set to the observed period, so each simulated
//! bucket is one CloudWatch period and the two series pair up one to one: Invocations,
//! Throttles and Errors as sums, ConcurrentExecutions as the period's maximum (or mean for an
//! `Average` series), Duration percentiles as the period's percentiles. Caveat: the simulated
//! percentile is the request's latency (INIT included on a cold start) while CloudWatch's
//! Duration excludes INIT, so cold-start-heavy periods read a little higher in the simulation.
//! Time 0 of the scenario is the UTC time in its trace's `# start_utc` line (written by
//! `import`), else the first observed period.
//!
//! Errors per metric: MAPE, the mean of |sim - obs| / obs over periods with obs > 0 (empty when
//! there are none), and the largest |sim - obs| with the time it happened (`at_s`, seconds after
//! time 0). Counts missing from CloudWatch are zeros (Lambda sends them only when non-zero);
//! levels and percentiles are compared only where observed.

mod chart;

use crate::error::Error;
use crate::import::metrics::{Series, Stat};
use crate::import::{self, utc, Format};
use crate::load::LoadSpec;
use crate::output::{self, report::escape, write_atomic};
use crate::scenario::Override;
use crate::stats::BucketRow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Options of `lambdasim compare`.
#[derive(Clone, Debug, Default)]
pub struct CompareOptions {
    /// The scenario file to simulate.
    pub scenario: PathBuf,
    /// The observed metrics file (CloudWatch export).
    pub observed: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    /// `--set key=value` overrides, applied in order.
    pub overrides: Vec<Override>,
    /// Seed overriding the scenario's `seed`.
    pub seed: Option<u64>,
    /// Draw the comparison charts.
    pub charts: bool,
}

/// One compared series: the observed and simulated values per period.
#[derive(Clone, Debug)]
pub struct Pair {
    /// The function the series belongs to.
    pub function: String,
    /// `ConcurrentExecutions`, `Throttles`, `Duration.p99`, ...
    pub metric: String,
    /// (seconds after time 0, observed, simulated).
    pub points: Vec<(f64, f64, f64)>,
    /// Unit of the values (for labels).
    pub unit: &'static str,
}

/// One row of `compare.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorRow {
    /// The function compared.
    pub function: String,
    /// The metric compared.
    pub metric: String,
    /// Mean absolute percentage error; `None` when every observed value is zero.
    pub mape: Option<f64>,
    /// Largest absolute difference between observed and simulated.
    pub max_abs_diff: f64,
    /// When the largest difference occurred, seconds from the start.
    pub at_s: f64,
}

/// What `compare` wrote and the errors it measured.
pub struct CompareReport {
    /// The folder the files were written to.
    pub out_dir: PathBuf,
    /// Start of the observed window, Unix ms.
    pub start_ms: i64,
    /// Length of one period, seconds.
    pub period_s: i64,
    /// One error row per function and metric.
    pub rows: Vec<ErrorRow>,
    /// The compared series, for charts.
    pub pairs: Vec<Pair>,
}

/// The error row of a pair.
pub fn errors(p: &Pair) -> ErrorRow {
    let (mut sum, mut n) = (0.0, 0usize);
    let (mut max, mut at) = (0.0f64, 0.0);
    for &(t, o, s) in &p.points {
        let d = (s - o).abs();
        if o > 0.0 {
            sum += d / o;
            n += 1;
        }
        if d > max {
            max = d;
            at = t;
        }
    }
    ErrorRow {
        function: p.function.clone(),
        metric: p.metric.clone(),
        mape: (n > 0).then(|| sum / n as f64 * 100.0),
        max_abs_diff: max,
        at_s: at,
    }
}

/// (label, unit, the bucket's simulated value, counts: missing observed periods are zeros).
type SimSpec = (String, &'static str, fn(&BucketRow) -> f64, bool);

/// How to read the simulated counterpart of an observed series (None: not comparable).
fn simulated(s: &Series) -> Option<SimSpec> {
    Some(match (s.metric, s.stat) {
        ("Invocations", Stat::Sum) => (
            "Invocations".into(),
            "requests",
            |r| r.invocations as f64,
            true,
        ),
        ("Throttles", Stat::Sum) => (
            "Throttles".into(),
            "requests",
            |r| r.throttles_total() as f64,
            true,
        ),
        ("Errors", Stat::Sum) => ("Errors".into(), "requests", |r| r.errors as f64, true),
        ("ConcurrentExecutions", Stat::Maximum) => (
            "ConcurrentExecutions".into(),
            "environments",
            |r| r.concurrency_max as f64,
            false,
        ),
        ("ConcurrentExecutions", Stat::Average) => (
            "ConcurrentExecutions.Average".into(),
            "environments",
            |r| r.concurrency_mean,
            false,
        ),
        ("Duration", Stat::P(50.0)) => ("Duration.p50".into(), "ms", |r| r.latency_p50_ms, false),
        ("Duration", Stat::P(90.0)) => ("Duration.p90".into(), "ms", |r| r.latency_p90_ms, false),
        ("Duration", Stat::P(99.0)) => ("Duration.p99".into(), "ms", |r| r.latency_p99_ms, false),
        _ => return None,
    })
}

const ORDER: [&str; 8] = [
    "ConcurrentExecutions",
    "ConcurrentExecutions.Average",
    "Throttles",
    "Duration.p50",
    "Duration.p90",
    "Duration.p99",
    "Invocations",
    "Errors",
];

/// The `# start_utc = ...` line of the scenario's first trace, if any.
fn trace_start(scenario: &crate::scenario::Scenario, path: &Path) -> Option<i64> {
    let base = path.parent().unwrap_or(Path::new("."));
    scenario.traffic.iter().find_map(|t| match &t.load {
        LoadSpec::Trace { path, .. } => {
            let text = std::fs::read_to_string(base.join(path)).ok()?;
            text.lines()
                .take_while(|l| l.starts_with('#'))
                .find_map(|l| l.trim_start_matches('#').trim().strip_prefix("start_utc ="))
                .and_then(|v| utc::parse_iso(v.trim()))
        }
        _ => None,
    })
}

/// `lambdasim compare`: simulate, pair with the observations, write compare.csv, charts, report.html.
pub fn compare(opts: &CompareOptions) -> Result<CompareReport, Error> {
    let obs = import::read_observed(std::slice::from_ref(&opts.observed))?;
    if obs.sources.iter().all(|s| s.1 != Format::MetricDataJson) {
        return Err(Error::input_at(
            &opts.observed,
            None,
            "compare needs the JSON output of `aws cloudwatch get-metric-data` (log lines hold no concurrency or throttles)",
        ));
    }
    let period = import::period_s(&obs.series, &opts.observed)?;
    let pms = period * 1000;
    let mut overrides = opts.overrides.clone();
    let bucket: Override = format!("bucket={period}s")
        .parse()
        .map_err(|e: String| Error::runtime(e))?;
    overrides.push(bucket);
    let (scenario, model) = crate::run::load_model(&opts.scenario, &overrides, opts.seed)?;
    let obs_start = obs
        .series
        .iter()
        .filter_map(|s| s.points.first().map(|p| p.0))
        .min()
        .unwrap_or(0);
    let start = trace_start(&scenario, &opts.scenario).unwrap_or(obs_start);
    let mut rows: Vec<BucketRow> = Vec::new();
    crate::run::simulate(&model, &mut rows);
    let per_bucket = model.functions.len() + 1;
    let buckets = rows.len() / per_bucket.max(1);
    let names = import::functions(&obs.series);
    let mut pairs = Vec::new();
    for s in &obs.series {
        // An unnamed series, or a sole observed function, pairs with the sole simulated one.
        let fname = s.function.clone().unwrap_or_default();
        let fi = model
            .functions
            .iter()
            .position(|f| f.name == fname)
            .or_else(|| (names.len() == 1 && model.functions.len() == 1).then_some(0));
        let Some(fi) = fi else { continue };
        let Some((metric, unit, value, counts)) = simulated(s) else {
            continue;
        };
        let mut pts = Vec::new();
        let mut k_obs = s.points.iter().peekable();
        for k in 0..buckets {
            let t_ms = start + k as i64 * pms;
            while k_obs.peek().is_some_and(|p| p.0 < t_ms) {
                k_obs.next();
            }
            let o = match k_obs.peek() {
                Some(p) if p.0 == t_ms => Some(p.1),
                _ if counts && t_ms >= obs_start => Some(0.0),
                _ => None,
            };
            let r = &rows[k * per_bucket + fi];
            let Some(o) = o else { continue };
            // A percentile of a period without simulated requests is undefined.
            if unit == "ms" && r.invocations == 0 {
                continue;
            }
            pts.push(((k as i64 * period) as f64, o, value(r)));
        }
        if !pts.is_empty() {
            pairs.push(Pair {
                function: model.functions[fi].name.clone(),
                metric,
                points: pts,
                unit,
            });
        }
    }
    if pairs.is_empty() {
        return Err(Error::input_at(
            &opts.observed,
            None,
            format!(
                "no observed series pairs with the scenario's functions ({}) in its time range",
                model
                    .functions
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    pairs.sort_by_key(|p| {
        (
            p.function.clone(),
            ORDER
                .iter()
                .position(|m| *m == p.metric)
                .unwrap_or(ORDER.len()),
        )
    });
    let errs: Vec<ErrorRow> = pairs.iter().map(errors).collect();

    // Whole or absent: written into a staging folder swapped in at the end (output::staging).
    let staging = output::staging::Staging::begin(&opts.out)?;
    let dir = staging.dir().to_path_buf();
    write_atomic(&dir.join("compare.csv"), csv_text(&errs).as_bytes())?;
    let mut svgs = Vec::new();
    if opts.charts {
        for p in &pairs {
            let file = format!("compare-{}-{}", safe(&p.function), safe(&p.metric));
            let title = format!("{}: {} per {period} s", p.function, p.metric);
            chart::write_png(&dir.join(format!("{file}.png")), &title, p)?;
            svgs.push((file, chart::render_svg(&title, p)?));
        }
    }
    write_atomic(
        &dir.join("report.html"),
        html(&scenario.name, start, period, &errs, &svgs).as_bytes(),
    )?;
    staging.commit()?;
    Ok(CompareReport {
        out_dir: opts.out.clone(),
        start_ms: start,
        period_s: period,
        rows: errs,
        pairs,
    })
}

fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_default()
}

/// `compare.csv`: `function,metric,mape,max_abs_diff,at_s` (mape in percent, empty when no
/// observed value is above zero).
pub fn csv_text(rows: &[ErrorRow]) -> String {
    let mut s = String::from("function,metric,mape,max_abs_diff,at_s\n");
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{:.3},{}",
            r.function,
            r.metric,
            fmt_opt(r.mape),
            r.max_abs_diff,
            r.at_s
        );
    }
    s
}

/// The terminal table.
pub fn table(rep: &CompareReport) -> String {
    let mut s = format!(
        "simulated vs observed, per {} s from {} (UTC)\n{:<16} {:<30} {:>9} {:>13} {:>9}\n",
        rep.period_s,
        utc::format_iso(rep.start_ms),
        "function",
        "metric",
        "MAPE %",
        "max |diff|",
        "at"
    );
    for r in &rep.rows {
        let _ = writeln!(
            s,
            "{:<16} {:<30} {:>9} {:>13} {:>9}",
            r.function,
            r.metric,
            r.mape
                .map(|m| format!("{m:.1}"))
                .unwrap_or_else(|| "-".into()),
            format!("{:.1}", r.max_abs_diff),
            format!("{}s", r.at_s)
        );
    }
    let _ = writeln!(s, "outputs in {}", rep.out_dir.display());
    s
}

fn html(
    name: &str,
    start: i64,
    period: i64,
    rows: &[ErrorRow],
    svgs: &[(String, String)],
) -> String {
    let mut h = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>compare {0}</title><style>body{{font-family:sans-serif;max-width:1200px;margin:auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child,td:nth-child(2){{text-align:left}}svg{{width:100%;height:auto}}</style></head><body><h1>{0}: simulated vs observed</h1><p>Per {1} s from {2} (UTC). MAPE: mean of |simulated − observed| / observed over periods with an observed value above zero.</p><table><tr><th>function</th><th>metric</th><th>MAPE %</th><th>max |diff|</th><th>at (s)</th></tr>",
        escape(name),
        period,
        utc::format_iso(start)
    );
    for r in rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td></tr>",
            escape(&r.function),
            escape(&r.metric),
            r.mape
                .map(|m| format!("{m:.1}"))
                .unwrap_or_else(|| "–".into()),
            r.max_abs_diff,
            r.at_s
        );
    }
    h.push_str("</table>");
    for (file, svg) in svgs {
        let _ = write!(h, "<h2>{}</h2>{svg}", escape(file));
    }
    h.push_str("</body></html>\n");
    h
}
