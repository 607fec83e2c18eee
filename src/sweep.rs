//! Parameter sweeps (`lambdasim sweep`) and the merge of sharded sweeps (`lambdasim merge`).
//!
//! A sweep file (SPEC section 7) names a base scenario and `[[vary]]` entries; the grid is their
//! cartesian product, in row-major order (the first `vary` entry changes slowest). Point `p`,
//! replication `r` runs the base scenario with the point's overrides and the seed
//! `replication_seed(seed, r)`, so every point sees the same random numbers (common random
//! numbers). Every output file is a function of the sorted rows only, so results do not depend on
//! `--jobs`, and `merge` of `--shard 1/N … N/N` writes the same bytes as one unsharded sweep.

use crate::error::{Error, KeyPath};
use crate::output::{prepare_dir, write_atomic};
use crate::rng::replication_seed;
use crate::run::load_model;
use crate::run::simulate;
use crate::scenario::source::locate;
use crate::scenario::Override;
use crate::stats::summary::FunctionSummary;
use crate::stats::{NoRecorder, Summary};
use rayon::prelude::*;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Largest grid accepted (points), to catch a range with a tiny step.
pub const MAX_POINTS: usize = 1_000_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    scenario: String,
    replications: Option<i64>,
    metrics: Option<Vec<String>>,
    #[serde(default)]
    vary: Vec<VaryFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VaryFile {
    key: String,
    values: Option<Vec<toml::Value>>,
    range: Option<RangeFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeFile {
    from: toml::Value,
    to: toml::Value,
    step: toml::Value,
}

/// One varied parameter: a scenario key (same syntax as `--set`) and its values.
#[derive(Clone, Debug)]
pub struct Vary {
    pub key: String,
    pub values: Vec<toml::Value>,
}

/// A parsed and checked sweep file.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The sweep file itself.
    pub file: PathBuf,
    /// The base scenario (resolved relative to the sweep file).
    pub scenario: PathBuf,
    pub replications: u64,
    /// Metrics listed in the file; `None` means every summary metric.
    pub metrics: Option<Vec<String>>,
    pub vary: Vec<Vary>,
    text: String,
}

/// A `--shard K/N` slice: points whose index `% n == k - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s:?}: expected K/N with 1 <= K <= N, e.g. 2/8");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl Shard {
    pub fn holds(&self, point: usize) -> bool {
        point % self.n == self.k - 1
    }
}

fn in_file(sweep: &Path, text: &str, key: &str, msg: impl Into<String>) -> Error {
    let key = KeyPath::parse(key);
    let pos = locate(text, &key);
    Error::Input {
        file: sweep.to_path_buf(),
        key: Some(key),
        pos,
        msg: msg.into(),
    }
}

fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn expand_range(r: &RangeFile) -> Result<Vec<toml::Value>, String> {
    let (from, to, step) = match (number(&r.from), number(&r.to), number(&r.step)) {
        (Some(a), Some(b), Some(c)) => (a, b, c),
        _ => return Err("from, to and step must be numbers".into()),
    };
    if step.is_nan() || step <= 0.0 || !step.is_finite() {
        return Err(format!("step must be > 0, got {step}"));
    }
    if !from.is_finite() || !to.is_finite() {
        return Err("from and to must be finite".into());
    }
    if to < from {
        return Err(format!("is empty: to ({to}) is below from ({from})"));
    }
    let count = ((to - from) / step + 1e-9).floor() + 1.0;
    if count > MAX_POINTS as f64 {
        return Err(format!(
            "has {count} values, more than the {MAX_POINTS} allowed"
        ));
    }
    let count = count as usize;
    let ints = [&r.from, &r.to, &r.step]
        .iter()
        .all(|v| matches!(v, toml::Value::Integer(_)));
    Ok((0..count)
        .map(|i| {
            if ints {
                let (a, s) = (r.from.as_integer(), r.step.as_integer());
                toml::Value::Integer(a.unwrap_or(0) + i as i64 * s.unwrap_or(1))
            } else {
                // Rounded to 10 decimals so 0.1 steps read 0.3, not 0.30000000000000004.
                let x = from + i as f64 * step;
                let x: f64 = format!("{x:.10}").parse().unwrap_or(x);
                toml::Value::Float(x)
            }
        })
        .collect())
}

/// Reads and checks a sweep file (not yet the scenario).
pub fn load(path: &Path) -> Result<Sweep, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::input_at(path, None, format!("cannot read the sweep file: {e}")))?;
    load_str(&text, path)
}

/// As [`load`], from text; `file` names the text in errors and anchors the scenario path.
pub fn load_str(text: &str, file: &Path) -> Result<Sweep, Error> {
    let f: SweepFile = toml::from_str(text).map_err(|e| {
        let pos = e.span().map(|s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, col)
        });
        Error::input_at(file, pos, e.message().to_string())
    })?;
    let base = file.parent().unwrap_or(Path::new("."));
    let scenario = base.join(&f.scenario);
    if !scenario.is_file() {
        return Err(in_file(
            file,
            text,
            "scenario",
            format!("base scenario {} not found", scenario.display()),
        ));
    }
    let replications = match f.replications {
        None => 1,
        Some(r) if r >= 1 => r as u64,
        Some(r) => {
            return Err(in_file(
                file,
                text,
                "replications",
                format!("must be at least 1, got {r}"),
            ))
        }
    };
    if let Some(m) = &f.metrics {
        if m.is_empty() {
            return Err(in_file(
                file,
                text,
                "metrics",
                "is empty: list metrics, or leave it out for every summary metric",
            ));
        }
    }
    let mut vary = Vec::new();
    for (i, v) in f.vary.iter().enumerate() {
        let at = |k: &str| format!("vary[{i}].{k}");
        if v.key.trim().is_empty() {
            return Err(in_file(file, text, &at("key"), "is empty"));
        }
        if vary.iter().any(|x: &Vary| x.key == v.key) {
            return Err(in_file(
                file,
                text,
                &at("key"),
                format!("{} is varied twice", v.key),
            ));
        }
        let values = match (&v.values, &v.range) {
            (Some(_), Some(_)) => {
                return Err(in_file(
                    file,
                    text,
                    &format!("vary[{i}]"),
                    "give either values or range, not both",
                ))
            }
            (None, None) => {
                return Err(in_file(
                    file,
                    text,
                    &format!("vary[{i}]"),
                    format!(
                        "{}: needs values = [...] or range = {{ from, to, step }}",
                        v.key
                    ),
                ))
            }
            (Some(vals), None) => {
                if vals.is_empty() {
                    return Err(in_file(
                        file,
                        text,
                        &at("values"),
                        format!("{}: values is empty", v.key),
                    ));
                }
                vals.clone()
            }
            (None, Some(r)) => expand_range(r)
                .map_err(|m| in_file(file, text, &at("range"), format!("{}: range {m}", v.key)))?,
        };
        vary.push(Vary {
            key: v.key.trim().to_string(),
            values,
        });
    }
    let sweep = Sweep {
        file: file.to_path_buf(),
        scenario,
        replications,
        metrics: f.metrics,
        vary,
        text: text.to_string(),
    };
    let total = sweep
        .vary
        .iter()
        .try_fold(1usize, |acc, v| acc.checked_mul(v.values.len()));
    match total {
        Some(n) if n <= MAX_POINTS => Ok(sweep),
        _ => Err(in_file(
            file,
            text,
            "vary",
            format!("the grid has more than {MAX_POINTS} points"),
        )),
    }
}

/// A value as `--set` text (TOML: strings quoted).
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(f) => format_f64(*f),
        other => other.to_string(),
    }
}

/// A value as a CSV cell (strings bare).
pub fn value_cell(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(f) => format_f64(*f),
        other => other.to_string(),
    }
}

/// Shortest text that parses back to the same `f64` (how every number is written).
pub fn format_f64(x: f64) -> String {
    format!("{x}")
}

impl Sweep {
    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.vary.iter().map(|v| v.values.len()).product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values of point `index` (one per `vary` entry; the first entry changes slowest).
    pub fn point(&self, index: usize) -> Vec<&toml::Value> {
        let mut rest = index;
        let mut out = Vec::with_capacity(self.vary.len());
        for v in self.vary.iter().rev() {
            out.push(&v.values[rest % v.values.len()]);
            rest /= v.values.len();
        }
        out.reverse();
        out
    }

    /// The `--set` overrides of point `index`.
    pub fn overrides(&self, index: usize) -> Vec<Override> {
        self.vary
            .iter()
            .zip(self.point(index))
            .map(|(v, x)| Override {
                key: v.key.clone(),
                value: value_text(x),
            })
            .collect()
    }

    fn describe(&self, index: usize) -> String {
        self.vary
            .iter()
            .zip(self.point(index))
            .map(|(v, x)| format!("{}={}", v.key, value_text(x)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Options of `lambdasim sweep`.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    pub sweep: PathBuf,
    /// Output folder (default `output/<sweep file stem>/`).
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores).
    pub jobs: Option<usize>,
    pub shard: Option<Shard>,
    /// Overrides the file's `replications`.
    pub replications: Option<u64>,
    pub progress: bool,
    pub charts: bool,
}

/// One row of `results.csv`: a point and replication.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub point: usize,
    pub replication: u64,
    pub seed: u64,
    /// The varied values as written in the CSV.
    pub values: Vec<String>,
    /// One per metric; `None` when the point failed or the metric does not exist there.
    pub metrics: Vec<Option<f64>>,
    /// Why the point could not run (empty when it ran).
    pub error: String,
}

/// The rows of a sweep (or of a shard) with the header information of the files.
#[derive(Clone, Debug, PartialEq)]
pub struct Results {
    pub vary: Vec<String>,
    pub metrics: Vec<String>,
    pub points_total: usize,
    pub replications: u64,
    pub shard: Shard,
    pub rows: Vec<Row>,
}

/// A finished sweep or merge.
#[derive(Debug)]
pub struct SweepReport {
    pub out_dir: PathBuf,
    /// Points run by this process (the shard's when sharded).
    pub points: usize,
    pub runs: usize,
    /// Points whose overrides made the scenario invalid (recorded in the `error` column).
    pub failed_points: Vec<(usize, String)>,
    pub results: Results,
}

/// Every metric key a run of a model with these functions would report, in summary order.
fn metric_keys(functions: Vec<String>) -> Vec<String> {
    let s = Summary {
        functions: functions
            .into_iter()
            .map(|f| (f, FunctionSummary::default()))
            .collect(),
        ..Summary::default()
    };
    s.metrics().into_iter().map(|(k, _)| k).collect()
}

/// `lambdasim sweep`: run the grid (or one shard of it) and write the result files.
pub fn run(opts: &SweepOptions) -> Result<SweepReport, Error> {
    let sweep = load(&opts.sweep)?;
    let replications = opts.replications.unwrap_or(sweep.replications);
    if replications == 0 {
        return Err(Error::input(
            Path::new("--replications"),
            KeyPath::default(),
            "must be at least 1",
        ));
    }
    let shard = opts.shard.unwrap_or(Shard { k: 1, n: 1 });
    let total = sweep.len();

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::runtime(format!("cannot start worker threads: {e}")))?;

    // Validate every point before running anything (in parallel; reported in point order).
    let loaded: Vec<Result<(u64, Vec<String>), Error>> = pool.install(|| {
        (0..total)
            .into_par_iter()
            .map(|p| {
                load_model(&sweep.scenario, &sweep.overrides(p), None).map(|(s, model)| {
                    let names = model.functions.iter().map(|f| f.name.clone()).collect();
                    (s.seed, names)
                })
            })
            .collect()
    });
    let mut checked: Vec<(usize, Result<u64, String>)> = Vec::new();
    let mut keys: Option<Vec<String>> = None;
    let mut first_error: Option<(usize, Error)> = None;
    for (p, l) in loaded.into_iter().enumerate() {
        match l {
            Ok((seed, names)) => {
                if keys.is_none() {
                    keys = Some(metric_keys(names));
                }
                if shard.holds(p) {
                    checked.push((p, Ok(seed)));
                }
            }
            Err(e) => {
                // A key that does not exist in the scenario is a mistake in the sweep file.
                if let Error::Input { file, .. } = &e {
                    if file == Path::new("--set") {
                        let i = bad_vary(&sweep, &e);
                        return Err(in_file(
                            &sweep.file,
                            &sweep.text,
                            &format!("vary[{i}].key"),
                            format!("{} ({e})", sweep.vary.get(i).map_or("", |v| &v.key)),
                        ));
                    }
                }
                if shard.holds(p) {
                    checked.push((p, Err(format!("{} is invalid: {e}", sweep.describe(p)))));
                }
                if first_error.is_none() {
                    first_error = Some((p, e));
                }
            }
        }
    }
    let Some(all_keys) = keys else {
        let (p, e) = first_error.expect("a sweep has at least one point");
        return Err(Error::Input {
            file: sweep.file.clone(),
            key: None,
            pos: None,
            msg: format!(
                "every point makes the scenario invalid; point {p} ({}): {e}",
                sweep.describe(p)
            ),
        });
    };
    let metrics = match &sweep.metrics {
        None => all_keys,
        Some(m) => {
            for (i, k) in m.iter().enumerate() {
                if !all_keys.contains(k) {
                    return Err(in_file(
                        &sweep.file,
                        &sweep.text,
                        &format!("metrics[{i}]"),
                        format!(
                            "unknown metric {k:?}; metrics are summary.json keys such as account.throttle_ratio or functions.NAME.latency_ms.p99"
                        ),
                    ));
                }
            }
            m.clone()
        }
    };

    let out_dir = opts.out.clone().unwrap_or_else(|| {
        let stem = sweep
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sweep".into());
        PathBuf::from("output").join(stem)
    });
    prepare_dir(&out_dir)?;

    let tasks: Vec<(usize, u64, Result<u64, String>)> = checked
        .iter()
        .flat_map(|(p, c)| (0..replications).map(move |r| (*p, r, c.clone())))
        .collect();
    let bar = opts.progress.then(|| {
        let bar = indicatif::ProgressBar::new(tasks.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} sweep [{bar:40}] {pos}/{len} runs, {per_sec}, ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let run_one = |(p, r, c): &(usize, u64, Result<u64, String>)| -> Result<Row, Error> {
        let values = sweep.point(*p).into_iter().map(value_cell).collect();
        let row = match c {
            Ok(base_seed) => {
                let seed = replication_seed(*base_seed, *r);
                let (_, model) = load_model(&sweep.scenario, &sweep.overrides(*p), Some(seed))?;
                // A failing run (a bug) costs its own row, not the other points' results.
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    simulate(&model, &mut NoRecorder)
                }));
                match out {
                    Ok(out) => {
                        let all: std::collections::HashMap<String, f64> =
                            out.summary.metrics().into_iter().collect();
                        Row {
                            point: *p,
                            replication: *r,
                            seed,
                            values,
                            metrics: metrics.iter().map(|k| all.get(k).copied()).collect(),
                            error: String::new(),
                        }
                    }
                    Err(e) => Row {
                        point: *p,
                        replication: *r,
                        seed,
                        values,
                        metrics: vec![None; metrics.len()],
                        error: format!(
                            "the simulation failed (seed {seed}): {}",
                            e.downcast_ref::<&str>()
                                .map(|s| s.to_string())
                                .or_else(|| e.downcast_ref::<String>().cloned())
                                .unwrap_or_default()
                        ),
                    },
                }
            }
            Err(msg) => Row {
                point: *p,
                replication: *r,
                seed: 0,
                values,
                metrics: vec![None; metrics.len()],
                error: msg.clone(),
            },
        };
        if let Some(b) = &bar {
            b.inc(1);
        }
        Ok(row)
    };
    let rows: Result<Vec<Row>, Error> = pool.install(|| tasks.par_iter().map(run_one).collect());
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut rows = rows?;
    rows.sort_by_key(|r| (r.point, r.replication));
    let mut failed_points: Vec<(usize, String)> = rows
        .iter()
        .filter(|r| !r.error.is_empty())
        .map(|r| (r.point, r.error.clone()))
        .collect();
    failed_points.dedup_by_key(|f| f.0);
    let results = Results {
        vary: sweep.vary.iter().map(|v| v.key.clone()).collect(),
        metrics,
        points_total: total,
        replications,
        shard,
        rows,
    };
    write_outputs(&results, &out_dir, opts.charts)?;
    Ok(SweepReport {
        out_dir,
        points: checked.len(),
        runs: tasks.len(),
        failed_points,
        results,
    })
}

/// Which `vary` entry an override error is about (by the key the error names), else the first
/// entry whose key alone fails to apply.
fn bad_vary(sweep: &Sweep, e: &Error) -> usize {
    if let Error::Input { key: Some(k), .. } = e {
        let named = k.to_string();
        if let Some(i) = sweep.vary.iter().position(|v| v.key == named) {
            return i;
        }
    }
    for (i, v) in sweep.vary.iter().enumerate() {
        let o = Override {
            key: v.key.clone(),
            value: value_text(&v.values[0]),
        };
        if let Err(Error::Input { file, .. }) = load_model(&sweep.scenario, &[o], None) {
            if file == Path::new("--set") {
                return i;
            }
        }
    }
    0
}

// ---------------------------------------------------------------------------------------------
// Files

const MANIFEST: &str = "manifest.json";

fn results_csv(res: &Results) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_string(), "replication".into(), "seed".into()];
    header.extend(res.vary.iter().cloned());
    header.extend(res.metrics.iter().cloned());
    header.push("error".into());
    let err = |e: csv::Error| Error::runtime(format!("cannot write results.csv: {e}"));
    w.write_record(&header).map_err(err)?;
    for r in &res.rows {
        let mut rec = vec![
            r.point.to_string(),
            r.replication.to_string(),
            if r.error.is_empty() {
                r.seed.to_string()
            } else {
                String::new()
            },
        ];
        rec.extend(r.values.iter().cloned());
        rec.extend(
            r.metrics
                .iter()
                .map(|m| m.map(format_f64).unwrap_or_default()),
        );
        rec.push(r.error.clone());
        w.write_record(&rec).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::runtime(format!("cannot write results.csv: {e}")))
}

/// Mean, sample standard deviation and 95% confidence interval (Student t) of some values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    pub n: usize,
    pub mean: f64,
    /// `None` below two values.
    pub stddev: Option<f64>,
    pub ci95: Option<(f64, f64)>,
}

/// Two-sided 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706204736,
        4.302652730,
        3.182446305,
        2.776445105,
        2.570581836,
        2.446911851,
        2.364624252,
        2.306004135,
        2.262157163,
        2.228138852,
        2.200985160,
        2.178812830,
        2.160368656,
        2.144786688,
        2.131449546,
        2.119905299,
        2.109815578,
        2.100922040,
        2.093024054,
        2.085963447,
        2.079613845,
        2.073873068,
        2.068657610,
        2.063898562,
        2.059538553,
        2.055529439,
        2.051830516,
        2.048407142,
        2.045229642,
        2.042272456,
    ];
    if df == 0 {
        return f64::NAN;
    }
    if df <= 30 {
        return T[df - 1];
    }
    // Cornish-Fisher expansion around the normal quantile (error < 1e-6 for df > 30).
    let z = 1.959963984540054_f64;
    let d = df as f64;
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * d)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * d * d)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * d.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * d.powi(4))
}

/// Statistics of `values` (in order; the order fixes the last bits of the sums).
pub fn stat(values: &[f64]) -> Option<Stat> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Some(Stat {
            n,
            mean,
            stddev: None,
            ci95: None,
        });
    }
    let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    let half = t975(n - 1) * sd / (n as f64).sqrt();
    Some(Stat {
        n,
        mean,
        stddev: Some(sd),
        ci95: Some((mean - half, mean + half)),
    })
}

/// Per point: its first row (for the values and error) and, per metric, the statistics.
fn point_stats(res: &Results) -> Vec<(&Row, Vec<Option<Stat>>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < res.rows.len() {
        let p = res.rows[i].point;
        let j = i + res.rows[i..].iter().take_while(|r| r.point == p).count();
        let rows = &res.rows[i..j];
        let stats = (0..res.metrics.len())
            .map(|m| {
                let v: Vec<f64> = rows
                    .iter()
                    .filter_map(|r| r.metrics[m])
                    .filter(|x| x.is_finite())
                    .collect();
                stat(&v)
            })
            .collect();
        out.push((&rows[0], stats));
        i = j;
    }
    out
}

fn summary_csv(res: &Results) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_string()];
    header.extend(res.vary.iter().cloned());
    for h in [
        "metric",
        "n",
        "mean",
        "stddev",
        "ci95_lower",
        "ci95_upper",
        "error",
    ] {
        header.push(h.into());
    }
    let err = |e: csv::Error| Error::runtime(format!("cannot write results_summary.csv: {e}"));
    w.write_record(&header).map_err(err)?;
    let f = |x: Option<f64>| x.map(format_f64).unwrap_or_default();
    for (row, stats) in point_stats(res) {
        for (m, st) in res.metrics.iter().zip(stats) {
            let mut rec = vec![row.point.to_string()];
            rec.extend(row.values.iter().cloned());
            rec.push(m.clone());
            rec.push(st.map_or(0, |s| s.n).to_string());
            rec.push(f(st.map(|s| s.mean)));
            rec.push(f(st.and_then(|s| s.stddev)));
            rec.push(f(st.and_then(|s| s.ci95).map(|c| c.0)));
            rec.push(f(st.and_then(|s| s.ci95).map(|c| c.1)));
            rec.push(row.error.clone());
            w.write_record(&rec).map_err(err)?;
        }
    }
    w.into_inner()
        .map_err(|e| Error::runtime(format!("cannot write results_summary.csv: {e}")))
}

fn manifest_json(res: &Results) -> String {
    let v = serde_json::json!({
        "lambdasim": env!("CARGO_PKG_VERSION"),
        "shard": res.shard.to_string(),
        "points_total": res.points_total,
        "replications": res.replications,
        "vary": res.vary,
        "metrics": res.metrics,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// Writes `results.csv` and `manifest.json`; for a whole sweep (not a shard) also
/// `results_summary.csv` and the charts.
pub fn write_outputs(res: &Results, dir: &Path, charts: bool) -> Result<(), Error> {
    write_atomic(&dir.join("results.csv"), &results_csv(res)?)?;
    write_atomic(&dir.join(MANIFEST), manifest_json(res).as_bytes())?;
    if res.shard.n == 1 {
        write_atomic(&dir.join("results_summary.csv"), &summary_csv(res)?)?;
        if charts && !res.vary.is_empty() {
            write_charts(res, dir)?;
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct Manifest {
    shard: String,
    points_total: usize,
    replications: u64,
    vary: Vec<String>,
    metrics: Vec<String>,
}

fn read_shard(dir: &Path) -> Result<Results, Error> {
    let mpath = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&mpath).map_err(|e| {
        Error::input_at(
            &mpath,
            None,
            format!("cannot read the shard manifest (is this a sweep output folder?): {e}"),
        )
    })?;
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::input_at(&mpath, Some((e.line(), e.column())), e.to_string()))?;
    let shard: Shard = m
        .shard
        .parse()
        .map_err(|e: String| Error::input(&mpath, KeyPath::parse("shard"), e))?;
    let cpath = dir.join("results.csv");
    let bad = |line: Option<u64>, msg: String| {
        Error::input_at(&cpath, line.map(|l| (l as usize, 1)), msg)
    };
    let mut rd =
        csv::Reader::from_path(&cpath).map_err(|e| bad(None, format!("cannot read: {e}")))?;
    let header: Vec<String> = rd
        .headers()
        .map_err(|e| bad(None, e.to_string()))?
        .iter()
        .map(String::from)
        .collect();
    let mut want = vec!["point".to_string(), "replication".into(), "seed".into()];
    want.extend(m.vary.iter().cloned());
    want.extend(m.metrics.iter().cloned());
    want.push("error".into());
    if header != want {
        return Err(bad(Some(1), "header does not match manifest.json".into()));
    }
    let nv = m.vary.len();
    let nm = m.metrics.len();
    let mut rows = Vec::new();
    for rec in rd.records() {
        let rec = rec.map_err(|e| bad(None, e.to_string()))?;
        let line = rec.position().map(|p| p.line());
        let num = |i: usize| -> Result<u64, Error> {
            let s = &rec[i];
            if s.is_empty() {
                return Ok(0);
            }
            s.parse()
                .map_err(|_| bad(line, format!("{}: not a number: {s:?}", want[i])))
        };
        let metrics = (0..nm)
            .map(|j| {
                let s = &rec[3 + nv + j];
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse::<f64>().map(Some).map_err(|_| {
                        bad(line, format!("{}: not a number: {s:?}", want[3 + nv + j]))
                    })
                }
            })
            .collect::<Result<Vec<_>, Error>>()?;
        rows.push(Row {
            point: num(0)? as usize,
            replication: num(1)?,
            seed: num(2)?,
            values: (0..nv).map(|j| rec[3 + j].to_string()).collect(),
            metrics,
            error: rec[3 + nv + nm].to_string(),
        });
    }
    Ok(Results {
        vary: m.vary,
        metrics: m.metrics,
        points_total: m.points_total,
        replications: m.replications,
        shard,
        rows,
    })
}

/// `lambdasim merge`: combine the outputs of `--shard 1/N … N/N` into the files of one
/// unsharded sweep (byte for byte).
pub fn merge(dirs: &[PathBuf], out: &Path, charts: bool) -> Result<SweepReport, Error> {
    if dirs.is_empty() {
        return Err(Error::input(
            Path::new("merge"),
            KeyPath::default(),
            "give the shard output folders to merge",
        ));
    }
    let parts = dirs
        .iter()
        .map(|d| read_shard(d))
        .collect::<Result<Vec<_>, Error>>()?;
    let first = &parts[0];
    let n = first.shard.n;
    let mut seen = vec![None::<&Path>; n];
    for (p, d) in parts.iter().zip(dirs) {
        let m = d.join(MANIFEST);
        if p.vary != first.vary
            || p.metrics != first.metrics
            || p.points_total != first.points_total
            || p.replications != first.replications
            || p.shard.n != n
        {
            return Err(Error::input_at(
                &m,
                None,
                format!(
                    "does not belong to the same sweep as {} (different shard count, grid, replications or metrics)",
                    dirs[0].join(MANIFEST).display()
                ),
            ));
        }
        if let Some(other) = seen[p.shard.k - 1] {
            return Err(Error::input_at(
                &m,
                None,
                format!("shard {} is also in {}", p.shard, other.display()),
            ));
        }
        seen[p.shard.k - 1] = Some(d);
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| seen[k - 1].is_none())
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::input(
            Path::new("merge"),
            KeyPath::default(),
            format!("missing shards: {}", missing.join(", ")),
        ));
    }
    let mut rows: Vec<Row> = parts.iter().flat_map(|p| p.rows.iter().cloned()).collect();
    rows.sort_by_key(|r| (r.point, r.replication));
    let expected = first.points_total * first.replications as usize;
    let complete = rows.len() == expected
        && rows.iter().enumerate().all(|(i, r)| {
            r.point == i / first.replications as usize
                && r.replication == (i % first.replications as usize) as u64
        });
    if !complete {
        return Err(Error::runtime(format!(
            "the shards hold {} rows, but the sweep has {} points x {} replications = {expected} (a shard did not finish?)",
            rows.len(),
            first.points_total,
            first.replications
        )));
    }
    let results = Results {
        vary: first.vary.clone(),
        metrics: first.metrics.clone(),
        points_total: first.points_total,
        replications: first.replications,
        shard: Shard { k: 1, n: 1 },
        rows,
    };
    prepare_dir(out)?;
    write_outputs(&results, out, charts)?;
    let mut failed: Vec<(usize, String)> = results
        .rows
        .iter()
        .filter(|r| !r.error.is_empty())
        .map(|r| (r.point, r.error.clone()))
        .collect();
    failed.dedup_by_key(|f| f.0);
    Ok(SweepReport {
        out_dir: out.to_path_buf(),
        points: results.points_total,
        runs: results.rows.len(),
        failed_points: failed,
        results,
    })
}

// ---------------------------------------------------------------------------------------------
// Charts: one per metric, mean and 95% CI against the first varied parameter, one line per value
// of the other varied parameters.

/// Metrics charted when the sweep file lists none (every metric would be hundreds of charts).
const DEFAULT_CHARTED: [&str; 5] = [
    "throttle_ratio",
    "cold_start_ratio",
    "latency_ms.p99",
    "latency_ms.mean",
    "cost_usd.total",
];

fn charted(res: &Results) -> Vec<usize> {
    // Every metric when few were chosen; otherwise the headline ones.
    if res.metrics.len() <= 12 {
        return (0..res.metrics.len()).collect();
    }
    (0..res.metrics.len())
        .filter(|&i| {
            let m = &res.metrics[i];
            DEFAULT_CHARTED
                .iter()
                .any(|s| m.strip_suffix(s).is_some_and(|p| p.ends_with('.')))
        })
        .collect()
}

fn file_name(metric: &str) -> String {
    metric
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

struct Series {
    label: String,
    /// (x, mean, ci lower, ci upper)
    points: Vec<(f64, f64, f64, f64)>,
}

fn write_charts(res: &Results, dir: &Path) -> Result<(), Error> {
    let stats = point_stats(res);
    // x positions: the numeric values of the first parameter, or their rank when not numeric.
    let mut xs: Vec<String> = Vec::new();
    for (row, _) in &stats {
        if !xs.contains(&row.values[0]) {
            xs.push(row.values[0].clone());
        }
    }
    let numeric = xs.iter().all(|x| x.parse::<f64>().is_ok());
    let xpos = |v: &str| -> f64 {
        if numeric {
            v.parse().unwrap_or(0.0)
        } else {
            xs.iter().position(|x| x == v).unwrap_or(0) as f64
        }
    };
    let chart_dir = dir.join("charts");
    std::fs::create_dir_all(&chart_dir)
        .map_err(|e| Error::runtime(format!("cannot create {}: {e}", chart_dir.display())))?;
    for m in charted(res) {
        let mut series: Vec<Series> = Vec::new();
        for (row, st) in &stats {
            let Some(s) = st[m] else { continue };
            let label = res
                .vary
                .iter()
                .zip(&row.values)
                .skip(1)
                .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
                .collect::<Vec<_>>()
                .join(", ");
            let (lo, hi) = s.ci95.unwrap_or((s.mean, s.mean));
            let pt = (xpos(&row.values[0]), s.mean, lo, hi);
            match series.iter_mut().find(|x| x.label == label) {
                Some(x) => x.points.push(pt),
                None => series.push(Series {
                    label,
                    points: vec![pt],
                }),
            }
        }
        if series.is_empty() {
            continue;
        }
        let name = file_name(&res.metrics[m]);
        let title = res.metrics[m].clone();
        let xlabel = res.vary[0].clone();
        let cats = (!numeric).then_some(xs.as_slice());
        let png = chart_dir.join(format!("{name}.png"));
        let svg = chart_dir.join(format!("{name}.svg"));
        draw_files(&png, &svg, &title, &xlabel, cats, &series)?;
    }
    Ok(())
}

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

const W: u32 = 900;
const H: u32 = 560;

fn draw_files(
    png: &Path,
    svg: &Path,
    title: &str,
    xlabel: &str,
    cats: Option<&[String]>,
    series: &[Series],
) -> Result<(), Error> {
    use plotters::prelude::*;
    register_font();
    let fail = |p: &Path, e: String| Error::runtime(format!("cannot draw {}: {e}", p.display()));
    // Drawn to temporary files, then renamed, like every other output.
    // (the bitmap encoder picks the format by extension: the temporary name ends in .png)
    let tmp = png.with_file_name(format!(
        ".tmp{}-{}",
        std::process::id(),
        png.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    {
        let root = BitMapBackend::new(&tmp, (W, H)).into_drawing_area();
        draw(&root, title, xlabel, cats, series).map_err(|e| fail(png, e))?;
        root.present().map_err(|e| fail(png, e.to_string()))?;
    }
    std::fs::rename(&tmp, png).map_err(|e| fail(png, e.to_string()))?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (W, H)).into_drawing_area();
        draw(&root, title, xlabel, cats, series).map_err(|e| fail(svg, e))?;
        root.present().map_err(|e| fail(svg, e.to_string()))?;
    }
    write_atomic(svg, text.as_bytes())
}

const COLORS: [plotters::style::RGBColor; 8] = [
    plotters::style::RGBColor(31, 119, 180),
    plotters::style::RGBColor(214, 39, 40),
    plotters::style::RGBColor(44, 160, 44),
    plotters::style::RGBColor(255, 127, 14),
    plotters::style::RGBColor(148, 103, 189),
    plotters::style::RGBColor(140, 86, 75),
    plotters::style::RGBColor(227, 119, 194),
    plotters::style::RGBColor(23, 190, 207),
];

/// The corner of the plot where the legend covers the fewest drawn points (lines sampled
/// between points too), upper right first on ties.
fn legend_corner(
    series: &[Series],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> plotters::chart::SeriesLabelPosition {
    use plotters::chart::SeriesLabelPosition as P;
    let norm = |x: f64, y: f64| ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
    let mut pts = Vec::new();
    for s in series {
        for w in s.points.windows(2) {
            for k in 0..10 {
                let t = k as f64 / 10.0;
                pts.push(norm(
                    w[0].0 + t * (w[1].0 - w[0].0),
                    w[0].1 + t * (w[1].1 - w[0].1),
                ));
            }
        }
        pts.extend(s.points.iter().map(|p| norm(p.0, p.1)));
    }
    // The legend box takes about 40 % of the width and 25 % of the height.
    let inside = |right: bool, upper: bool| {
        pts.iter()
            .filter(|&&(x, y)| {
                (if right { x > 0.6 } else { x < 0.4 }) && (if upper { y > 0.75 } else { y < 0.25 })
            })
            .count()
    };
    [
        (P::UpperRight, true, true),
        (P::UpperLeft, false, true),
        (P::LowerRight, true, false),
        (P::LowerLeft, false, false),
    ]
    .into_iter()
    .min_by_key(|&(_, right, upper)| inside(right, upper))
    .map(|(p, _, _)| p)
    .unwrap_or(P::UpperRight)
}

fn draw<DB: plotters::prelude::DrawingBackend>(
    root: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    xlabel: &str,
    cats: Option<&[String]>,
    series: &[Series],
) -> Result<(), String> {
    use plotters::prelude::*;
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let all = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, _, lo, hi) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(lo);
        y1 = y1.max(hi);
    }
    if x1 <= x0 {
        x0 -= 0.5;
        x1 += 0.5;
    }
    y0 = y0.min(0.0);
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let pad = (x1 - x0) * 0.03;
    let legend_at = legend_corner(series, (x0 - pad, x1 + pad), (y0, y1 + (y1 - y0) * 0.05));
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("{title} (mean, 95% CI)"),
            ("sans-serif", 22).into_font(),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d((x0 - pad)..(x1 + pad), y0..(y1 + (y1 - y0) * 0.05))
        .map_err(|e| e.to_string())?;
    let cat_fmt = |x: &f64| -> String {
        match cats {
            Some(c) => {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < c.len() {
                    c[i as usize].clone()
                } else {
                    String::new()
                }
            }
            None => format!("{}", (x * 1e6).round() / 1e6),
        }
    };
    chart
        .configure_mesh()
        .x_desc(xlabel)
        .y_desc(
            title
                .rsplit('.')
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("."),
        )
        .x_label_formatter(&cat_fmt)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, s) in series.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let style = ShapeStyle::from(&c).stroke_width(2);
        let line = chart
            .draw_series(LineSeries::new(s.points.iter().map(|p| (p.0, p.1)), style))
            .map_err(|e| e.to_string())?;
        if !s.label.is_empty() {
            line.label(s.label.clone()).legend(move |(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 20, y)],
                    ShapeStyle::from(&c).stroke_width(2),
                )
            });
        }
        chart
            .draw_series(
                s.points
                    .iter()
                    .map(|p| Circle::new((p.0, p.1), 3, c.filled())),
            )
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                s.points
                    .iter()
                    .filter(|p| p.3 > p.2)
                    .map(|p| PathElement::new(vec![(p.0, p.2), (p.0, p.3)], c)),
            )
            .map_err(|e| e.to_string())?;
    }
    if series.iter().any(|s| !s.label.is_empty()) {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(legend_at)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// What `sweep` and `merge` print on stdout.
pub fn report_text(r: &SweepReport) -> String {
    let mut s = format!(
        "{} points, {} runs ({} replication(s) per point)",
        r.points, r.runs, r.results.replications
    );
    if r.results.shard.n > 1 {
        s.push_str(&format!(
            ", shard {} of a {}-point grid",
            r.results.shard, r.results.points_total
        ));
    }
    s.push('\n');
    for (p, e) in &r.failed_points {
        s.push_str(&format!("point {p} failed: {e}\n"));
    }
    s.push_str(&format!("outputs in {}\n", r.out_dir.display()));
    s
}
