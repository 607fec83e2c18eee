//! `lambdasim sweep`: every point and replication of the grid (or of a shard) on rayon workers,
//! on common random numbers, collected into sorted rows.

use super::grid::in_file;
use super::*;
use crate::scenario::limits as lim;

/// Options of `lambdasim sweep`.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    /// The sweep file.
    pub sweep: PathBuf,
    /// Output folder (default `output/<sweep file stem>/`).
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores).
    pub jobs: Option<usize>,
    /// Run only this slice of the points.
    pub shard: Option<Shard>,
    /// Overrides the file's `replications`.
    pub replications: Option<u64>,
    /// Show a progress bar.
    pub progress: bool,
    /// Draw the sweep charts.
    pub charts: bool,
}

/// A finished sweep or merge.
#[derive(Debug)]
pub struct SweepReport {
    /// The folder the files were written to.
    pub out_dir: PathBuf,
    /// Points run by this process (the shard's when sharded).
    pub points: usize,
    /// Runs done by this process.
    pub runs: usize,
    /// Points whose overrides made the scenario invalid (recorded in the `error` column).
    pub failed_points: Vec<(usize, String)>,
    /// The rows of the sweep.
    pub results: Results,
    /// The search and its answer, for a sweep file with `[find]`.
    pub find: Option<super::find::FindOutcome>,
}

/// Every metric key a run of a model with these functions would report, in summary order.
pub(super) fn metric_keys(functions: Vec<String>) -> Vec<String> {
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
    if !(1..=lim::MAX_REPLICATIONS).contains(&replications) {
        return Err(Error::input(
            Path::new("--replications"),
            KeyPath::default(),
            format!(
                "must be in 1..={} (the limit of replications), got {replications}",
                lim::MAX_REPLICATIONS
            ),
        ));
    }
    if let Some(j) = opts.jobs {
        if !(1..=lim::MAX_JOBS).contains(&j) {
            return Err(Error::input(
                Path::new("--jobs"),
                KeyPath::default(),
                format!(
                    "must be in 1..={} (the limit of --jobs), got {j}",
                    lim::MAX_JOBS
                ),
            ));
        }
    }
    let shard = opts.shard.unwrap_or(Shard { k: 1, n: 1 });
    if sweep.find.is_some() && shard.n > 1 {
        return Err(Error::input(
            Path::new("--shard"),
            KeyPath::default(),
            format!(
                "{} has [find], a sequential search that cannot be sharded: run it without --shard",
                sweep.file.display()
            ),
        ));
    }
    let total = sweep.len();
    if total as u64 * replications > lim::MAX_SWEEP_RUNS {
        return Err(Error::input(
            &opts.sweep,
            KeyPath::default(),
            format!(
                "{total} points x {replications} replications is more than the limit of {} runs",
                lim::MAX_SWEEP_RUNS
            ),
        ));
    }

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::runtime(format!("cannot start worker threads: {e}")))?;
    if let Some(find) = &sweep.find {
        return super::find::run(&sweep, find, opts, replications, &pool);
    }

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

    let out_dir = opts
        .out
        .clone()
        .unwrap_or_else(|| super::find::default_out(&sweep));
    // Whole or absent: written into a staging folder swapped in at the end (output::staging).
    let staging = crate::output::staging::Staging::begin(&out_dir)?;

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
                let (metrics, error) = match run_once(&sweep, &sweep.overrides(*p), seed, &metrics)?
                {
                    Ok(m) => (m, String::new()),
                    Err(e) => (vec![None; metrics.len()], e),
                };
                Row {
                    point: *p,
                    replication: *r,
                    seed,
                    values,
                    metrics,
                    error,
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
        content_hash: super::shards::content_hash(&sweep)?,
        rows,
    };
    write_outputs(&results, staging.dir(), opts.charts)?;
    staging.commit()?;
    Ok(SweepReport {
        out_dir,
        points: checked.len(),
        runs: tasks.len(),
        failed_points,
        results,
        find: None,
    })
}

/// One run of the sweep's scenario with `overrides` and `seed`: the values of `metrics`
/// (`None` where the run has no such metric), or why the simulation failed. A failing run (a
/// bug) costs its own row, not the other points' results.
pub(super) fn run_once(
    sweep: &Sweep,
    overrides: &[Override],
    seed: u64,
    metrics: &[String],
) -> Result<Result<Vec<Option<f64>>, String>, Error> {
    let (_, model) = load_model(&sweep.scenario, overrides, Some(seed))?;
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        simulate(&model, &mut NoRecorder)
    }));
    Ok(match out {
        Ok(out) => {
            let all: std::collections::HashMap<String, f64> =
                out.summary.metrics().into_iter().collect();
            Ok(metrics.iter().map(|k| all.get(k).copied()).collect())
        }
        Err(e) => Err(format!(
            "the simulation failed (seed {seed}): {}",
            e.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        )),
    })
}

/// Which `vary` entry an override error is about (by the key the error names), else the first
/// entry whose key alone fails to apply.
pub(super) fn bad_vary(sweep: &Sweep, e: &Error) -> usize {
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
