//! Goal-seeking sweeps: a `[find]` table searches one numeric parameter for the smallest (or
//! largest) value whose runs meet every requirement with the stated confidence.
//!
//! The range `[lo, hi]` is cut into steps (1 for integers); the search assumes the requirements
//! hold on one side of a single boundary (more concurrency never throttles more) and bisects:
//! it probes the end that must pass, then the other end, then halves the bracket between the
//! largest failing and the smallest passing value (for `largest`, the mirror image) until they
//! are one step apart — about log2(steps) + 2 probes. Each probe runs `replications` runs with
//! the seeds `replication_seed(seed, r)`, the same at every value (common random numbers), so
//! neighbouring values differ by the parameter, not by luck.
//!
//! A requirement `METRIC < X` is met when the one-sided upper confidence bound of the metric's
//! mean over the replications, `mean + t(confidence, n - 1) * s / sqrt(n)` (Student t, `s` the
//! sample standard deviation), is below `X`; `METRIC > X` when the lower bound
//! `mean - t * s / sqrt(n)` is above `X` (`<=` and `>=` likewise).

use super::grid::{in_file, number};
use super::runner::{metric_keys, run_once};
use super::*;
use crate::scenario::limits as lim;

mod output;
mod parse;
use output::find_json;
pub use output::report_text;
pub(super) use parse::parse;

/// The `[find]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FindFile {
    parameter: String,
    range: Vec<toml::Value>,
    goal: String,
    #[serde(default)]
    require: Vec<String>,
    confidence: Option<toml::Value>,
    step: Option<toml::Value>,
}

/// Which end of the range the answer is sought at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// The smallest value meeting every requirement (the values above it meet them too).
    Smallest,
    /// The largest value meeting every requirement (the values below it meet them too).
    Largest,
}

/// A comparison of a requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`: the upper bound must be below the threshold.
    Lt,
    /// `<=`: the upper bound must not exceed the threshold.
    Le,
    /// `>`: the lower bound must be above the threshold.
    Gt,
    /// `>=`: the lower bound must not be below the threshold.
    Ge,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
    fn upper(self) -> bool {
        matches!(self, Op::Lt | Op::Le)
    }
    fn holds(self, x: f64, threshold: f64) -> bool {
        match self {
            Op::Lt => x < threshold,
            Op::Le => x <= threshold,
            Op::Gt => x > threshold,
            Op::Ge => x >= threshold,
        }
    }
}

/// One service level: `METRIC OP NUMBER`.
#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    /// A summary metric key, as in `metrics`.
    pub metric: String,
    /// The comparison.
    pub op: Op,
    /// The number compared with.
    pub threshold: f64,
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.metric, self.op.text(), self.threshold)
    }
}

/// A checked `[find]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct Find {
    /// The scenario key searched (as for `--set`).
    pub parameter: String,
    /// First value of the range.
    pub lo: toml::Value,
    /// Last value of the range.
    pub hi: toml::Value,
    /// Distance between neighbouring values (1 for integers unless `step` says otherwise).
    pub step: f64,
    /// Number of steps from `lo` to `hi` (the last one may be shorter).
    pub steps: u64,
    /// Smallest or largest.
    pub goal: Goal,
    /// Every requirement a value must meet.
    pub require: Vec<Requirement>,
    /// Confidence of each one-sided bound.
    pub confidence: f64,
}

impl Find {
    /// Value `k` of the range (`0..=steps`); `steps` is `hi`.
    pub fn value(&self, k: u64) -> toml::Value {
        if k >= self.steps {
            return self.hi.clone();
        }
        match (&self.lo, &self.hi) {
            (toml::Value::Integer(a), toml::Value::Integer(_)) => {
                toml::Value::Integer(a + (k as f64 * self.step).round() as i64)
            }
            (lo, _) => {
                let x = number(lo).unwrap_or(0.0) + k as f64 * self.step;
                // Rounded to 10 decimals so 0.1 steps read 0.3, not 0.30000000000000004.
                toml::Value::Float(format!("{x:.10}").parse().unwrap_or(x))
            }
        }
    }
}

/// One requirement at one probed value.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// Replications with a finite value of the metric.
    pub n: usize,
    /// Mean over them.
    pub mean: f64,
    /// The one-sided confidence bound compared with the threshold (`None` below two values).
    pub bound: Option<f64>,
    /// Whether the bound meets the requirement (false when a replication lacks the metric).
    pub met: bool,
}

/// One probed value: its runs and verdicts.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// Position in the range (`0..=steps`).
    pub index: u64,
    /// The value.
    pub value: toml::Value,
    /// One per requirement.
    pub checks: Vec<Check>,
    /// Every requirement met.
    pub pass: bool,
    /// The runs (point 0; renumbered when written).
    pub rows: Vec<Row>,
}

/// The outcome of a `[find]` sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct FindOutcome {
    /// The search.
    pub find: Find,
    /// Runs per probed value.
    pub replications: u64,
    /// Every probed value, in range order.
    pub probes: Vec<Probe>,
    /// The answer (index into `probes`); `None` when no value in the range meets the requirements.
    pub answer: Option<usize>,
    /// The failing value next to the answer (index into `probes`), when there is one.
    pub failing: Option<usize>,
}

fn check(req: &Requirement, values: &[Option<f64>], t: f64) -> Check {
    let finite: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    let st = stat(&finite);
    let mean = st.map_or(f64::NAN, |s| s.mean);
    let bound = st.and_then(|s| s.stddev).map(|sd| {
        let half = t * sd / (finite.len() as f64).sqrt();
        if req.op.upper() {
            mean + half
        } else {
            mean - half
        }
    });
    let met = finite.len() == values.len() && bound.is_some_and(|b| req.op.holds(b, req.threshold));
    Check {
        n: finite.len(),
        mean,
        bound,
        met,
    }
}

/// Runs the search of `sweep.find` with `replications` runs per value; writes `results.csv`,
/// `results_summary.csv`, `manifest.json` and the charts of the probed values and `find.json`.
pub(super) fn run(
    sweep: &Sweep,
    find: &Find,
    opts: &SweepOptions,
    replications: u64,
    pool: &rayon::ThreadPool,
) -> Result<SweepReport, Error> {
    if replications < 2 {
        return Err(in_file(
            &sweep.file,
            &sweep.text,
            "replications",
            format!("a [find] needs at least 2 replications for a confidence bound, got {replications}; set replications = 10"),
        ));
    }
    let probes_max = 66_u64.min(find.steps + 1);
    if probes_max * replications > lim::MAX_SWEEP_RUNS {
        return Err(in_file(
            &sweep.file,
            &sweep.text,
            "replications",
            format!("up to {probes_max} probes x {replications} replications is more than the limit of {} runs", lim::MAX_SWEEP_RUNS),
        ));
    }
    let over = |v: &toml::Value| {
        vec![Override {
            key: find.parameter.clone(),
            value: value_text(v),
        }]
    };
    // Both ends must make a valid scenario; the parameter must exist (an override error at both
    // ends is about the key, at one end about that value).
    let ends = [("lo", &find.lo), ("hi", &find.hi)]
        .map(|(end, v)| (end, v, load_model(&sweep.scenario, &over(v), None)));
    let any_ok = ends.iter().any(|e| e.2.is_ok());
    let mut names = Vec::new();
    let mut seed = 0;
    for (end, v, loaded) in ends {
        match loaded {
            Ok((s, model)) => {
                seed = s.seed;
                names = model.functions.iter().map(|f| f.name.clone()).collect();
            }
            Err(e) => {
                let set = matches!(&e, Error::Input { file, .. } if file == Path::new("--set"));
                let (key, msg) = if set && !any_ok {
                    ("find.parameter", format!("{} ({e})", find.parameter))
                } else {
                    let v = value_text(v);
                    let p = &find.parameter;
                    (
                        "find.range",
                        format!("{p} = {v} ({end}) makes the scenario invalid: {e}"),
                    )
                };
                return Err(in_file(&sweep.file, &sweep.text, key, msg));
            }
        }
    }
    let all_keys = metric_keys(names);
    let unknown = |k: &str| {
        format!("unknown metric {k:?}; metrics are summary.json keys such as account.throttle_ratio or functions.NAME.latency_ms.p99")
    };
    let mut metrics: Vec<String> = Vec::new();
    for (i, r) in find.require.iter().enumerate() {
        if !all_keys.contains(&r.metric) {
            return Err(in_file(
                &sweep.file,
                &sweep.text,
                &format!("find.require[{i}]"),
                unknown(&r.metric),
            ));
        }
        if !metrics.contains(&r.metric) {
            metrics.push(r.metric.clone());
        }
    }
    for (i, k) in sweep.metrics.iter().flatten().enumerate() {
        if !all_keys.contains(k) {
            return Err(in_file(
                &sweep.file,
                &sweep.text,
                &format!("metrics[{i}]"),
                unknown(k),
            ));
        }
        if !metrics.contains(k) {
            metrics.push(k.clone());
        }
    }
    let out_dir = opts.out.clone().unwrap_or_else(|| default_out(sweep));
    // Whole or absent: written into a staging folder swapped in at the end (output::staging).
    let staging = crate::output::staging::Staging::begin(&out_dir)?;

    let t = t_quantile(find.confidence, replications as usize - 1);
    let mut probes: Vec<Probe> = Vec::new();
    let mut probe = |k: u64| -> Result<bool, Error> {
        if let Some(p) = probes.iter().find(|p| p.index == k) {
            return Ok(p.pass);
        }
        let value = find.value(k);
        let runs: Result<Vec<Row>, Error> = pool.install(|| {
            (0..replications)
                .into_par_iter()
                .map(|r| {
                    let seed = replication_seed(seed, r);
                    let (m, error) = match run_once(sweep, &over(&value), seed, &metrics) {
                        Ok(Ok(m)) => (m, String::new()),
                        Ok(Err(e)) => (vec![None; metrics.len()], e),
                        Err(e) => (
                            vec![None; metrics.len()],
                            format!(
                                "{} = {} is invalid: {e}",
                                find.parameter,
                                value_text(&value)
                            ),
                        ),
                    };
                    Ok(Row {
                        point: 0,
                        replication: r,
                        seed,
                        values: vec![value_cell(&value)],
                        metrics: m,
                        error,
                    })
                })
                .collect()
        });
        let rows = runs?;
        let checks: Vec<Check> = find
            .require
            .iter()
            .map(|req| {
                let m = metrics.iter().position(|k| *k == req.metric).unwrap_or(0);
                let v: Vec<Option<f64>> = rows.iter().map(|r| r.metrics[m]).collect();
                check(req, &v, t)
            })
            .collect();
        let pass = checks.iter().all(|c| c.met);
        if opts.progress {
            eprintln!(
                "find: {} = {} {}",
                find.parameter,
                value_text(&value),
                if pass { "passes" } else { "fails" }
            );
        }
        probes.push(Probe {
            index: k,
            value,
            checks,
            pass,
            rows,
        });
        Ok(pass)
    };
    let n = find.steps;
    // (answer, failing neighbour), as range positions.
    let (answer, failing) = match find.goal {
        Goal::Smallest => {
            if !probe(n)? {
                (None, Some(n))
            } else if probe(0)? {
                (Some(0), None)
            } else {
                let (mut f, mut p) = (0, n);
                while p - f > 1 {
                    let m = f + (p - f) / 2;
                    if probe(m)? {
                        p = m
                    } else {
                        f = m
                    }
                }
                (Some(p), Some(f))
            }
        }
        Goal::Largest => {
            if !probe(0)? {
                (None, Some(0))
            } else if probe(n)? {
                (Some(n), None)
            } else {
                let (mut p, mut f) = (0, n);
                while f - p > 1 {
                    let m = p + (f - p) / 2;
                    if probe(m)? {
                        p = m
                    } else {
                        f = m
                    }
                }
                (Some(p), Some(f))
            }
        }
    };
    probes.sort_by_key(|p| p.index);
    let at = |k: Option<u64>| k.and_then(|k| probes.iter().position(|p| p.index == k));
    let outcome = FindOutcome {
        find: find.clone(),
        replications,
        answer: at(answer),
        failing: at(failing),
        probes,
    };
    let mut rows = Vec::new();
    for (i, p) in outcome.probes.iter().enumerate() {
        rows.extend(p.rows.iter().cloned().map(|mut r| {
            r.point = i;
            r
        }));
    }
    let mut failed_points: Vec<(usize, String)> = rows
        .iter()
        .filter(|r| !r.error.is_empty())
        .map(|r| (r.point, r.error.clone()))
        .collect();
    failed_points.dedup_by_key(|f| f.0);
    let results = Results {
        vary: vec![find.parameter.clone()],
        metrics,
        points_total: outcome.probes.len(),
        replications,
        shard: Shard { k: 1, n: 1 },
        content_hash: super::shards::content_hash(sweep)?,
        rows,
    };
    super::results::write_outputs_with(&results, staging.dir(), opts.charts, Some(&outcome))?;
    write_atomic(
        &staging.dir().join("find.json"),
        find_json(&outcome, &results).as_bytes(),
    )?;
    staging.commit()?;
    Ok(SweepReport {
        out_dir,
        points: outcome.probes.len(),
        runs: results.rows.len(),
        failed_points,
        results,
        find: Some(outcome),
    })
}

/// `output/<sweep file stem>/`.
pub(super) fn default_out(sweep: &Sweep) -> PathBuf {
    let stem = sweep
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sweep".into());
    PathBuf::from("output").join(stem)
}
