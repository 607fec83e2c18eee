//! Charts of a run: `throttles`, `latency`, `concurrency` and `cold_starts`,
//! each written as PNG and SVG (1600×900). Text uses the DejaVu Sans font compiled into the
//! binary, so no system font is needed.
//!
//! The chart data is extracted once from the kept time series ([`ChartSeries`]) and the run's
//! histograms into a [`ChartData`]; one generic drawing function per chart serves both backends.
//! One file per chart (`throttles.rs`, `latency.rs`, `concurrency.rs`, `cold_starts.rs`,
//! `queues.rs`); fonts, palettes, legends and atomic file writing come from [`toolkit`], which
//! sweep charts use too.
//! Many functions stay readable: panels and lines show the busiest functions (by attempts) and
//! fold the rest into "other".

use crate::error::Error;
use crate::model::{Model, SourceModel};
use crate::output::timeseries::{merge_rows, ChartSeries};
use crate::run::RunOutput;
use crate::scenario::{Invocation, Scaling};
use crate::stats::BucketRow;
use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;
use std::path::Path;
use toolkit::*;

mod cold_starts;
mod concurrency;
pub mod dependencies;
pub mod environments;
mod latency;
pub mod managed;
mod queues;
mod throttles;
pub(crate) mod toolkit;

pub use toolkit::{fmt_num, log_ticks, register_font};

/// Pixel size of every chart.
pub const SIZE: (u32, u32) = (1600, 900);
/// Chart file stems, in report order.
pub const NAMES: [&str; 4] = ["throttles", "latency", "concurrency", "cold_starts"];
/// The extra chart of scenarios with async, SQS or stream traffic.
pub const QUEUES: &str = "queues";
/// The extra chart of scenarios with a Lambda Managed Instances capacity provider.
pub const MANAGED: &str = "managed";
/// Most points drawn per series (about one per two pixels of plot width).
pub const MAX_DRAWN: usize = 800;
/// Functions drawn individually; beyond this the rest is folded into "other".
pub const MAX_FUNCTIONS: usize = 4;

type Points = Vec<(f64, f64)>;
/// (label, color, cold, warm) latency CDF points, ms.
pub type Cdf = (String, RGBColor, Points, Points);

/// One drawn series: a function, or "other" (the rest folded together).
#[derive(Clone, Debug)]
pub struct Shown {
    /// Legend label.
    pub label: String,
    /// Series colour.
    pub color: RGBColor,
    /// The series' rows, one per kept bucket.
    pub rows: Vec<BucketRow>,
    /// Function index (None: "other").
    pub function: Option<usize>,
    /// What one of its invocations stands for (names the y axis of the load chart).
    pub counted: Counted,
    /// Its cold starts are SnapStart restores (the cold-start chart's legend says so).
    pub restores: bool,
}

/// What the invocations of a panel count, from the invocation models of its traffic: sync
/// invocations, async attempts (retries included), SQS and stream batches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    /// Some traffic is synchronous (or there is none).
    pub sync: bool,
    /// Some traffic is asynchronous.
    pub async_: bool,
    /// Some traffic is SQS or stream (one invocation is one batch).
    pub batches: bool,
    /// Largest batch size of that SQS or stream traffic (messages or records per batch).
    pub batch_size: u32,
}

impl Counted {
    fn of<'a>(sources: impl Iterator<Item = &'a SourceModel>) -> Counted {
        let mut c = Counted::default();
        for s in sources {
            match s.invocation {
                Invocation::Sync => c.sync = true,
                Invocation::Async => c.async_ = true,
                Invocation::Sqs => {
                    c.batches = true;
                    c.batch_size = c.batch_size.max(s.sqs.batch_size);
                }
                Invocation::Stream => {
                    c.batches = true;
                    c.batch_size = c.batch_size.max(s.stream.batch_size);
                }
            }
        }
        if c == Counted::default() {
            c.sync = true;
        }
        c
    }

    fn union(self, o: Counted) -> Counted {
        Counted {
            sync: self.sync || o.sync,
            async_: self.async_ || o.async_,
            batches: self.batches || o.batches,
            batch_size: self.batch_size.max(o.batch_size),
        }
    }

    /// The y-axis title of invocation rates: "invocations", "attempts" (async: retries
    /// included) or "batches" (SQS, streams) per second, or a mix named as such.
    pub fn axis(self, short: bool) -> String {
        let what = match (self.sync, self.async_, self.batches) {
            (_, false, false) => "invocations",
            (false, true, false) => "attempts",
            (false, false, true) => "batches",
            (_, true, false) => "invocations + async attempts",
            (false, true, true) => "attempts + batches",
            (true, false, true) => "invocations + batches",
            (true, true, true) => "invocations, attempts, batches",
        };
        if short {
            format!("{what}/s")
        } else {
            format!("{what} per second")
        }
    }

    /// New requests are counted in the unit of invocations (no SQS or stream traffic, whose
    /// arrivals are messages or records while invocations are batches).
    pub fn arrivals_in_same_unit(self) -> bool {
        !self.batches
    }
}

/// Everything the charts draw, independent of the backend.
#[derive(Clone, Debug)]
pub struct ChartData {
    /// The scenario's name (chart titles).
    pub scenario: String,
    /// Number of functions of the scenario.
    pub n_functions: usize,
    /// Time axis unit ("s", "min" or "h") and seconds per unit.
    pub x_unit: &'static str,
    /// Seconds per time-axis unit.
    pub x_div: f64,
    /// End of the time axis, in its unit.
    pub x_max: f64,
    /// Seconds each kept row stands for (bucket × coarsening factor).
    pub row_s: f64,
    /// The account's rows, one per kept bucket.
    pub account: Vec<BucketRow>,
    /// The busiest functions (by attempts), then "other" when there are more.
    pub shown: Vec<Shown>,
    /// Account concurrency limit.
    pub limit: u32,
    /// Scaling is per function (else the account burst quota).
    pub per_function_scaling: bool,
    /// (label, color, reserved concurrency) of shown functions with a reservation.
    pub reserved: Vec<(String, RGBColor, u32)>,
    /// (label, color, provisioned concurrency) of shown functions with provisioned environments.
    pub provisioned: Vec<(String, RGBColor, u32)>,
    /// (label, color, limit) of event sources of shown functions that cap their concurrency:
    /// an SQS mapping's maximum concurrency, a stream's shards × parallelization factor.
    pub source_limits: Vec<(String, RGBColor, u32)>,
    /// What the account's invocations count.
    pub account_counted: Counted,
    /// End-to-end latency CDFs of shown functions: (label, color, cold, warm), ms.
    pub cdfs: Vec<Cdf>,
    /// Some traffic is async, SQS or stream: the queues chart is drawn.
    pub queues: bool,
    /// (label, color, configured value per row) of shown functions whose provisioned
    /// concurrency changes during the run (schedules, auto scaling); drawn as a stepped area
    /// instead of a level (`provisioned` leaves them out).
    pub provisioned_over_time: Vec<(String, RGBColor, Points)>,
    /// Some function runs on Lambda Managed Instances: the managed chart is drawn.
    pub managed: bool,
}

/// Merges every `group` consecutive rows into one (counts add, maxima and percentiles take
/// the maximum, as [`merge_rows`] does for the kept series).
fn coarsen(rows: Vec<BucketRow>, group: usize) -> Vec<BucketRow> {
    if group <= 1 {
        return rows;
    }
    rows.chunks(group)
        .map(|c| {
            let mut r = c[0].clone();
            for o in &c[1..] {
                merge_rows(&mut r, o);
            }
            r
        })
        .collect()
}

impl ChartData {
    /// The chart data of a finished run of `model`.
    pub fn new(model: &Model, series: &ChartSeries, out: &RunOutput) -> ChartData {
        let n = model.functions.len();
        let per = series.per_bucket.max(1);
        let buckets = series.rows.len() / per;
        let row = |b: usize, i: usize| &series.rows[b * per + i];
        let duration_s = model.duration.as_secs_f64();
        let (x_unit, x_div) = if duration_s > 3.0 * 3600.0 {
            ("h", 3600.0)
        } else if duration_s > 1800.0 {
            ("min", 60.0)
        } else {
            ("s", 1.0)
        };
        let row_s = model.bucket.as_secs_f64() * series.factor.max(1) as f64;
        let account: Vec<BucketRow> = if per == n + 1 {
            (0..buckets).map(|b| row(b, n).clone()).collect()
        } else {
            Vec::new()
        };
        let counted = |i: usize| Counted::of(model.sources.iter().filter(|s| s.function == i));
        // Busiest first: attempts (invocations + throttles) over the run.
        let mut order: Vec<usize> = (0..n).collect();
        let weight = |i: usize| {
            let f = &out.summary.functions[i].1;
            f.invocations + f.throttles.total
        };
        order.sort_by_key(|&i| std::cmp::Reverse(weight(i)));
        let k = if n <= MAX_FUNCTIONS {
            n
        } else {
            MAX_FUNCTIONS - 1
        };
        let mut shown: Vec<Shown> = order[..k]
            .iter()
            .enumerate()
            .map(|(rank, &i)| Shown {
                label: model.functions[i].name.clone(),
                color: FUNCTION_COLORS[rank % FUNCTION_COLORS.len()],
                rows: if per == n + 1 {
                    (0..buckets).map(|b| row(b, i).clone()).collect()
                } else {
                    Vec::new()
                },
                function: Some(i),
                counted: counted(i),
                restores: model.functions[i].snapstart_on,
            })
            .collect();
        if n > k {
            let rest = &order[k..];
            let rows = if per == n + 1 {
                (0..buckets)
                    .map(|b| {
                        let mut acc = BucketRow {
                            start: row(b, 0).start,
                            ..Default::default()
                        };
                        for &i in rest {
                            acc.merge_function(row(b, i));
                        }
                        acc
                    })
                    .collect()
            } else {
                Vec::new()
            };
            shown.push(Shown {
                label: format!("other ({} functions)", rest.len()),
                color: OTHER_COLOR,
                rows,
                function: None,
                counted: rest
                    .iter()
                    .fold(Counted::of(std::iter::empty()), |c, &i| c.union(counted(i))),
                restores: false,
            });
        }
        let mut reserved = Vec::new();
        let mut provisioned = Vec::new();
        let mut varying = Vec::new();
        let mut cdfs = Vec::new();
        let mut source_limits = Vec::new();
        for s in &shown {
            let Some(i) = s.function else { continue };
            let f = &model.functions[i];
            for src in model.sources.iter().filter(|src| src.function == i) {
                match src.invocation {
                    Invocation::Sqs => source_limits.push((
                        format!("SQS maximum concurrency: {}", src.name),
                        s.color,
                        src.sqs.maximum_concurrency,
                    )),
                    Invocation::Stream => source_limits.push((
                        format!(
                            "shards × parallelization: {} ({} × {})",
                            src.name, src.stream.shards, src.stream.parallelization_factor
                        ),
                        s.color,
                        src.stream.shards * src.stream.parallelization_factor,
                    )),
                    Invocation::Sync | Invocation::Async => {}
                }
            }
            if let Some(r) = f.reserved {
                reserved.push((s.label.clone(), s.color, r));
            }
            if f.provisioned_plan.varies() {
                varying.push(i);
            } else if f.provisioned > 0 {
                provisioned.push((s.label.clone(), s.color, f.provisioned));
            }
            let ms = |v: Vec<(f64, f64)>| v.into_iter().map(|(x, p)| (x / 1e3, p)).collect();
            cdfs.push((
                s.label.clone(),
                s.color,
                ms(out.latency_cold[i].cdf_points()),
                ms(out.latency_warm[i].cdf_points()),
            ));
        }
        // More points than pixels only draws noise: merge neighbours down to MAX_DRAWN rows.
        let group = buckets.div_ceil(MAX_DRAWN).max(1);
        let row_s = row_s * group as f64;
        let account = coarsen(account, group);
        for s in &mut shown {
            s.rows = coarsen(std::mem::take(&mut s.rows), group);
        }
        let provisioned_over_time = shown
            .iter()
            .filter(|s| s.function.is_some_and(|f| varying.contains(&f)))
            .map(|s| {
                // A step per row: the configured value holds over the whole row.
                let pts = s
                    .rows
                    .iter()
                    .flat_map(|r| {
                        let x = r.start.as_secs_f64() / x_div;
                        let v = r.provisioned as f64;
                        [(x, v), (x + row_s / x_div, v)]
                    })
                    .collect();
                (s.label.clone(), s.color, pts)
            })
            .collect();
        ChartData {
            scenario: model.name.clone(),
            n_functions: n,
            x_unit,
            x_div,
            x_max: (duration_s / x_div).max(1e-9),
            row_s,
            account,
            shown,
            limit: model.account.concurrency_limit,
            per_function_scaling: model.account.scaling == Scaling::PerFunction,
            reserved,
            provisioned,
            source_limits,
            account_counted: Counted::of(model.sources.iter()),
            cdfs,
            provisioned_over_time,
            queues: model
                .sources
                .iter()
                .any(|s| s.invocation != Invocation::Sync),
            managed: model.capacity.any(),
        }
    }

    /// The charts this run draws: [`NAMES`], plus [`QUEUES`] when some traffic queues.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = NAMES.to_vec();
        if self.queues {
            v.push(QUEUES);
        }
        if self.managed {
            v.push(MANAGED);
        }
        v
    }

    fn x(&self, r: &BucketRow) -> f64 {
        r.start.as_secs_f64() / self.x_div
    }

    /// Left end of time axes: a little before 0, so events in the first bucket (cold starts
    /// at start-up) do not hide in the y axis.
    fn x_lo(&self) -> f64 {
        -self.x_max * 0.006
    }

    fn x_desc(&self) -> String {
        format!("simulated time ({})", self.x_unit)
    }

    /// Per-second rate of a per-row count.
    fn rate(&self, count: u64) -> f64 {
        count as f64 / self.row_s.max(1e-9)
    }

    /// Panels of per-function charts: (caption, rows, color, what invocations count), the
    /// account first when there are several functions.
    fn panels(&self) -> Vec<(String, &[BucketRow], RGBColor, Counted)> {
        if self.n_functions <= 1 {
            return self
                .shown
                .iter()
                .map(|s| {
                    (
                        format!("function {}", s.label),
                        &s.rows[..],
                        s.color,
                        s.counted,
                    )
                })
                .collect();
        }
        let mut p = vec![(
            format!("account ({} functions)", self.n_functions),
            &self.account[..],
            ACCOUNT_COLOR,
            self.account_counted,
        )];
        for s in &self.shown {
            let caption = if s.function.is_some() {
                format!("function {}", s.label)
            } else {
                s.label.clone()
            };
            p.push((caption, &s.rows[..], s.color, s.counted));
        }
        p
    }
}

/// One panel of lines over time: `lines` are (color, runs of points); the y axis runs from 0
/// to a nice value above the data, at most `y_cap`, with ticks formatted by `yfmt`.
fn line_panel<DB: DrawingBackend>(
    d: &ChartData,
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    y_desc: &str,
    lines: &[(RGBColor, Vec<Points>)],
    y_cap: f64,
    yfmt: &dyn Fn(&f64) -> String,
) -> Result<(), String> {
    let y_max = lines
        .iter()
        .flat_map(|l| l.1.iter().flatten().map(|p| p.1))
        .fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(20))
        .margin(8)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(d.x_lo()..d.x_max, 0f64..nice_max(y_max).min(y_cap))
        .s()?;
    let xd = d.x_desc();
    mesh!(chart, xd.as_str(), y_desc, 10, 6, yfmt, 15, 16);
    for (c, rs) in lines {
        for run in rs {
            chart
                .draw_series(LineSeries::new(run.iter().copied(), c.stroke_width(2)))
                .s()?;
        }
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(
    name: &str,
    d: &ChartData,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    match name {
        "throttles" => throttles::draw(d, root),
        "latency" => latency::draw(d, root),
        "concurrency" => concurrency::draw(d, root),
        "cold_starts" => cold_starts::draw(d, root),
        "queues" => queues::draw(d, root),
        "managed" => managed::draw(d, root),
        other => Err(format!("unknown chart {other}")),
    }
}

/// Renders one chart as SVG text.
pub fn render_svg(name: &str, d: &ChartData) -> Result<String, Error> {
    toolkit::render_svg(name, SIZE, |root| draw(name, d, root))
}

/// Renders one chart as a PNG file at `path` (written beside it first, then renamed).
pub fn write_png(name: &str, d: &ChartData, path: &Path) -> Result<(), Error> {
    toolkit::write_png(path, SIZE, |root| draw(name, d, root))
}

/// Writes every chart as `<name>.png` and `<name>.svg` into `dir`; returns the SVG texts
/// (name, svg) in [`ChartData::names`] order for the report.
pub fn write_all(
    dir: &Path,
    model: &Model,
    series: &ChartSeries,
    out: &RunOutput,
) -> Result<Vec<(String, String)>, Error> {
    let d = ChartData::new(model, series, out);
    let names = d.names();
    let jobs: Vec<(usize, bool)> = (0..names.len())
        .flat_map(|i| [(i, false), (i, true)])
        .collect();
    let results: Vec<Result<Option<(String, String)>, Error>> = jobs
        .par_iter()
        .map(|&(i, svg)| {
            let name = names[i];
            if svg {
                let s = render_svg(name, &d)?;
                crate::output::write_atomic(&dir.join(format!("{name}.svg")), s.as_bytes())?;
                Ok(Some((name.to_string(), s)))
            } else {
                write_png(name, &d, &dir.join(format!("{name}.png")))?;
                Ok(None)
            }
        })
        .collect();
    let mut svgs = Vec::new();
    for r in results {
        if let Some(s) = r? {
            svgs.push(s);
        }
    }
    Ok(svgs)
}
