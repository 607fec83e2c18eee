//! The commands behind the CLI, as library functions: `main.rs` only parses arguments and
//! prints. Tests and sweeps call these directly.

use crate::error::Error;
use crate::output::{self, summary, timeseries::CsvRecorder};
use crate::presets;
pub use crate::run::load_model;
use crate::run::{simulate, RunOutput};
use crate::scenario::{Override, Scenario};
use crate::stats::lanes::{LaneRecorder, Lanes, MAX_LANES};
use crate::stats::Recorder;
use crate::time::Micros;
use crate::whatif::{beside, finish_beside, WhatIf};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Options of `lambdasim run`.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The scenario file to run.
    pub scenario: PathBuf,
    /// Output folder (default from the scenario's name).
    pub out: Option<PathBuf>,
    /// Seed overriding the scenario's `seed`.
    pub seed: Option<u64>,
    /// `--set key=value` overrides, applied in order.
    pub overrides: Vec<Override>,
    /// Draw the PNG/SVG charts.
    pub charts: bool,
    /// Show progress on stderr: a bar on a terminal, else a plain line every
    /// [`PLAIN_PROGRESS_EVERY_S`] seconds for runs that last that long.
    pub progress: bool,
    /// Skip the cost what-ifs (they re-simulate the scenario a few times).
    pub no_whatif: bool,
    /// Write the scaling animation (`scaling.gif`, `scaling.svg`) for the window `from..to`.
    pub animate: bool,
    /// Start of the animated window (default the run's start).
    pub from: Option<crate::time::Micros>,
    /// End of the animated window (default the run's end).
    pub to: Option<crate::time::Micros>,
    /// Draw the `environments` chart whatever the run's size (window `from..to`).
    pub lanes: bool,
    /// Only this function's environments in the `environments` chart.
    pub function: Option<String>,
}

/// A finished run: where its files are and what it produced.
pub struct RunReport {
    /// The folder the run's files were written to.
    pub out_dir: PathBuf,
    /// The resolved scenario that ran.
    pub scenario: Scenario,
    /// Summary and distributions of the run.
    pub output: RunOutput,
    /// Cost what-ifs per function (empty with `no_whatif`).
    pub whatif: Vec<(String, WhatIf)>,
}

/// `lambdasim run`: simulate and write every output file.
pub fn run(opts: &RunOptions) -> Result<RunReport, Error> {
    let (s, model) = load_model(&opts.scenario, &opts.overrides, opts.seed)?;
    if opts.charts || opts.animate {
        chart_rows_fit(&opts.scenario, &s)?;
    }
    let out_dir = opts
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&s.name));
    if opts.animate {
        output::animation::window(&model, opts.from, opts.to)?;
    }
    let lanes = lanes_for(opts, &model)?;
    // Every file goes into a fresh folder beside `out_dir`, swapped in at the end (whole or
    // absent; a lock keeps two runs apart): output::staging.
    let staging = output::staging::Staging::begin(&out_dir)?;
    let dir = staging.dir().to_path_buf();
    let names = model.functions.iter().map(|f| f.name.clone()).collect();
    let mut rec = CsvRecorder::create(&dir.join("timeseries.csv"), names)?;
    if !opts.charts && !opts.animate {
        rec = rec.without_chart();
    }
    let total_s = model.duration.as_secs_f64();
    let bar = (opts.progress && std::io::stderr().is_terminal()).then(|| progress_bar(total_s));
    if let Some(bar) = bar.clone() {
        rec.on_progress(move |t| bar.set_position(t as u64));
    } else if opts.progress {
        let every = std::time::Duration::from_secs(PLAIN_PROGRESS_EVERY_S);
        rec.on_progress(plain_progress(total_s, every, |l| eprintln!("{l}")));
    }
    // The report's narration rides along the run (explain::Narrator), as on the interactive
    // page, instead of simulating the same model and seed a second time.
    let mut narrated = Narrated {
        inner: &mut rec,
        narrator: crate::explain::Narrator::new(&model, &opts.scenario, &Default::default()).ok(),
        deps: if model.dependencies.deps.is_empty() {
            None
        } else {
            let names = model.dependencies.deps.iter().map(|d| d.name.clone());
            Some(output::dependencies::DependencyCsv::create(
                &dir.join("dependencies.csv"),
                names.collect(),
            )?)
        },
    };
    // What-if variants run beside the run and the chart drawing (crate::whatif::beside).
    let (out, speculated, lanes) = {
        let mut lrec = LaneRecorder {
            inner: &mut narrated,
            lanes: lanes.unwrap_or_else(|| Lanes::new(Micros(0), Micros(1), Some(u32::MAX), 0)),
        };
        let (out, speculated) = beside(&model, !opts.no_whatif, || {
            let out = simulate(&model, &mut lrec);
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            out
        });
        let mut lanes = lrec.lanes;
        lanes.finish();
        (out, speculated, lanes)
    };
    let narrator = narrated.narrator;
    let deps = narrated.deps.map(|d| d.finish()).transpose()?;
    let chart = rec.finish()?;
    let resolved = resolved_toml(&s);
    output::write_atomic(&dir.join("scenario.resolved.toml"), resolved.as_bytes())?;
    // Chart drawing and the report's narration run while any what-if variant the guess missed
    // is simulated.
    let (whatif, (svgs, narration)) = finish_beside(&model, &out, speculated, || {
        let svgs = if opts.charts {
            output::charts::write_all(&dir, &model, &chart, &out)
        } else {
            Ok(Vec::new())
        };
        let narration = narrator.map(|n| n.finish(&model, &out.summary));
        (svgs, narration)
    });
    // The environments chart: on request, or for small runs (at most MAX_LANES environments).
    let draw_lanes = opts.lanes || (opts.charts && !lanes.stopped() && lanes.seen > 0);
    if draw_lanes && lanes.function != Some(u32::MAX) {
        output::charts::environments::write(&dir, &model, &lanes)?;
    }
    drop(lanes);
    let mut svgs = svgs?;
    if let (Some((series, factor)), true) = (&deps, opts.charts) {
        let name = output::charts::dependencies::NAME;
        let svg = output::charts::dependencies::write(&dir, &model, series, *factor)?;
        svgs.push((name.to_string(), svg));
    }
    drop(deps);
    if opts.animate {
        let a = output::animation::Animation::new(&model, &chart, opts.from, opts.to)?;
        output::animation::write_all(&dir, &a)?;
    }
    drop(chart);
    let text = output::report::ReportText {
        resolved_toml: &resolved,
        narration: narration.as_deref(),
    };
    output::write_atomic(
        &dir.join("summary.json"),
        summary::to_json_with_whatif(&out.summary, &whatif).as_bytes(),
    )?;
    output::write_atomic(
        &dir.join("report.html"),
        output::report::render(&s, &out.summary, &whatif, &svgs, &text).as_bytes(),
    )?;
    staging.commit()?;
    Ok(RunReport {
        out_dir,
        scenario: s,
        output: out,
        whatif,
    })
}

/// A recorder that also hands every bucket's rows to the report's narrator.
struct Narrated<'a, R: Recorder> {
    inner: &'a mut R,
    narrator: Option<crate::explain::Narrator>,
    /// dependencies.csv and the dependencies chart's rows (scenarios with dependencies).
    deps: Option<output::dependencies::DependencyCsv>,
}

impl<R: Recorder> Recorder for Narrated<'_, R> {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }
    fn bucket(&mut self, rows: &[crate::stats::BucketRow]) {
        self.inner.bucket(rows);
        if let Some(n) = &mut self.narrator {
            n.bucket(rows);
        }
    }
    fn delivered(&mut self, source: u32, lane: u32, arrival: Micros) {
        self.inner.delivered(source, lane, arrival);
    }
    fn on_env(
        &mut self,
        t: u64,
        env: u32,
        function: u32,
        e: crate::stats::lanes::EnvEvent,
        provisioned: bool,
    ) {
        self.inner.on_env(t, env, function, e, provisioned);
    }
    fn on_throttle(&mut self, t: u64, function: u32) {
        self.inner.on_throttle(t, function);
    }
    fn dependencies(&mut self, rows: &[crate::stats::DependencyRow]) {
        self.inner.dependencies(rows);
        if let Some(d) = &mut self.deps {
            d.push(rows);
        }
        if let Some(n) = &mut self.narrator {
            n.dependencies(rows);
        }
    }
}

/// The lanes the run records: a window and function on request (`--lanes`), every environment
/// of a small run when charts are drawn, else none (a function that never matches).
fn lanes_for(opts: &RunOptions, model: &crate::model::Model) -> Result<Option<Lanes>, Error> {
    if opts.lanes {
        let (from, to) = output::animation::window(model, opts.from, opts.to)?;
        let function = match &opts.function {
            None => None,
            Some(name) => match model.functions.iter().position(|f| &f.name == name) {
                Some(i) => Some(i as u32),
                None => {
                    let names: Vec<&str> =
                        model.functions.iter().map(|f| f.name.as_str()).collect();
                    return Err(Error::input(
                        &opts.scenario,
                        crate::error::KeyPath::parse("--function"),
                        format!(
                            "no function named {name:?} in this scenario (functions: {})",
                            names.join(", ")
                        ),
                    ));
                }
            },
        };
        return Ok(Some(Lanes::new(from, to, function, MAX_LANES)));
    }
    Ok(opts.charts.then(|| Lanes::small_run(model.duration)))
}

/// Seconds of wall-clock time between two plain progress lines (and before the first one).
pub const PLAIN_PROGRESS_EVERY_S: u64 = 10;

/// Progress when stderr is not a terminal (a log file, CI, a pipe): one plain line every
/// [`PLAIN_PROGRESS_EVERY_S`] seconds of wall-clock time, none for a run that ends sooner, so
/// short runs (and tests) print nothing and a log never fills with redraws.
fn plain_progress(
    total_s: f64,
    every: std::time::Duration,
    mut emit: impl FnMut(String) + 'static,
) -> impl FnMut(f64) + 'static {
    let start = std::time::Instant::now();
    let mut next = every;
    move |t| {
        let elapsed = start.elapsed();
        if elapsed >= next {
            next = elapsed + every;
            emit(format!(
                "lambdasim: simulated {t:.0} of {total_s:.0} s ({:.0} %), {} s elapsed",
                100.0 * t / total_s.max(1e-9),
                elapsed.as_secs()
            ));
        }
    }
}

fn progress_bar(total_s: f64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total_s.ceil() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} simulating [{bar:40}] {pos}/{len} s simulated, ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    // Shown only for runs that last; indicatif draws nothing when stderr is not a terminal.
    bar
}

/// The resolved scenario as TOML, with a header saying what it is.
pub fn resolved_toml(s: &Scenario) -> String {
    format!(
        "# Resolved by lambdasim {}: the scenario with every default filled in.\n# `lambdasim run` on this file reproduces the run exactly.\n{}",
        env!("CARGO_PKG_VERSION"),
        s.to_toml()
    )
}

/// `lambdasim check`: validate and return the resolved scenario text.
pub fn check(path: &Path, overrides: &[Override]) -> Result<String, Error> {
    let (s, _) = load_model(path, overrides, None)?;
    // `check` answers for a plain `run`, which draws charts.
    chart_rows_fit(path, &s)?;
    Ok(resolved_toml(&s))
}

/// Refuses a run whose chart data would not fit in memory (issue #16: outputs too large), with
/// the figure and what makes it fit. `timeseries.csv` itself streams (bounded by the
/// scenario's row limit); only the chart rows are kept.
pub fn chart_rows_fit(path: &Path, s: &Scenario) -> Result<(), Error> {
    use crate::scenario::limits::MAX_CHART_ROWS;
    let series = s.functions.len() as u64 + 1;
    let buckets = s.duration.0.div_ceil(s.bucket.0.max(1));
    let kept = buckets.min(output::timeseries::CHART_POINTS as u64);
    let rows = series.saturating_mul(kept);
    if rows <= MAX_CHART_ROWS {
        return Ok(());
    }
    let fits = MAX_CHART_ROWS / series;
    let coarser = if fits >= 1 {
        let bucket_s = (s.duration.0.div_ceil(fits) as f64 / 1e6).ceil();
        format!(", a larger bucket (at least {bucket_s} s)")
    } else {
        String::new()
    };
    Err(Error::input(
        path,
        crate::error::KeyPath::parse("bucket"),
        format!(
            "charts would keep {rows} time-series rows in memory ({series} series x {kept} buckets), over the limit of {MAX_CHART_ROWS}: run with --no-charts{coarser} or at most {} functions",
            (MAX_CHART_ROWS / kept).saturating_sub(1)
        ),
    ))
}

/// `lambdasim explain`: run the scenario and narrate what happened, and why.
pub fn explain(
    path: &Path,
    overrides: &[Override],
    seed: Option<u64>,
    opts: &crate::explain::ExplainOptions,
) -> Result<String, Error> {
    let (_, model) = load_model(path, overrides, seed)?;
    crate::explain::explain(&model, path, opts)
}

/// `lambdasim presets`: runtime INIT presets and regional burst quotas, from the model's tables.
pub fn presets_text() -> String {
    let mut out =
        String::from("Runtime presets (default INIT duration, uniform between min and max):\n");
    out.push_str(&format!(
        "  {:<18} {:<28} {:>8} {:>8}\n",
        "runtime", "family", "min", "max"
    ));
    for r in presets::RUNTIMES {
        out.push_str(&format!(
            "  {:<18} {:<28} {:>6}ms {:>6}ms\n",
            r.name, r.family, r.init_min_ms, r.init_max_ms
        ));
    }
    out.push_str(
        "\nLegacy burst quotas (scaling = \"burst\"; then +500 environments per minute):\n",
    );
    for (region, q) in presets::BURST_QUOTAS {
        out.push_str(&format!("  {region:<18} {q:>6}\n"));
    }
    out.push_str(&format!(
        "  {:<18} {:>6}\n",
        "(other regions)",
        presets::BURST_QUOTA_OTHER
    ));
    out.push_str(&format!(
        "\nPer-function scaling (scaling = \"per-function\", the default): {} environments per {} per function, bucket capacity {}.\n",
        presets::PER_FUNCTION_STEP,
        presets::PER_FUNCTION_INTERVAL,
        presets::PER_FUNCTION_CAPACITY
    ));
    out.push_str(
        "\nSnapStart (snapstart = true; restore duration assumed uniform between min and max):\n",
    );
    for r in presets::RUNTIMES {
        if let Some(s) = r.snapstart {
            out.push_str(&format!(
                "  {:<18} {:>6}ms {:>6}ms  {}\n",
                r.name,
                s.restore_min_ms,
                s.restore_max_ms,
                if s.charged {
                    "cache and restore charged"
                } else {
                    "no SnapStart charges"
                }
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn plain_progress_prints_one_line_per_interval_and_nothing_before() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let mut p = plain_progress(100.0, std::time::Duration::ZERO, move |l| {
            sink.lock().unwrap().push(l)
        });
        p(25.0);
        p(50.0);
        let got = lines.lock().unwrap().clone();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].starts_with("lambdasim: simulated 25 of 100 s (25 %)"),
            "{got:?}"
        );
        assert!(
            !got[1].contains('\r') && !got[1].contains('\x1b'),
            "plain lines, no redraw"
        );
        let quiet = Arc::new(Mutex::new(Vec::new()));
        let sink = quiet.clone();
        let mut p = plain_progress(100.0, std::time::Duration::from_secs(3600), move |l| {
            sink.lock().unwrap().push(l)
        });
        p(99.0);
        assert!(
            quiet.lock().unwrap().is_empty(),
            "a short run prints nothing"
        );
    }
}
