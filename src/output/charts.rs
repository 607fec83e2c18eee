//! Charts of a run (SPEC section 6): `throttles`, `latency`, `concurrency` and `cold_starts`,
//! each written as PNG and SVG (1600×900). Text uses the DejaVu Sans font compiled into the
//! binary, so no system font is needed.
//!
//! The chart data is extracted once from the kept time series ([`ChartSeries`]) and the run's
//! histograms into a [`ChartData`]; one generic drawing function per chart serves both backends.
//! Many functions stay readable: panels and lines show the busiest functions (by attempts) and
//! fold the rest into "other".

use crate::error::Error;
use crate::model::Model;
use crate::output::timeseries::{merge_rows, ChartSeries};
use crate::run::RunOutput;
use crate::scenario::{Invocation, Scaling};
use crate::stats::{BucketRow, ThrottleReason};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use rayon::prelude::*;
use std::path::Path;
use std::sync::Once;

/// Pixel size of every chart.
pub const SIZE: (u32, u32) = (1600, 900);
/// Chart file stems, in report order.
pub const NAMES: [&str; 4] = ["throttles", "latency", "concurrency", "cold_starts"];
/// The extra chart of scenarios with async, SQS or stream traffic.
pub const QUEUES: &str = "queues";
/// Most points drawn per series (about one per two pixels of plot width).
pub const MAX_DRAWN: usize = 800;
/// Functions drawn individually; beyond this the rest is folded into "other".
pub const MAX_FUNCTIONS: usize = 4;

const FONT: &str = "sans-serif";
const FUNCTION_COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];
const OTHER_COLOR: RGBColor = RGBColor(150, 150, 150);
const ACCOUNT_COLOR: RGBColor = RGBColor(30, 30, 30);
const PROCESSED_COLOR: RGBColor = RGBColor(158, 202, 225);
const REASONS: [(&str, RGBColor); 4] = [
    ("throttled: burst / scaling budget", RGBColor(214, 39, 40)),
    ("throttled: account pool", RGBColor(255, 127, 14)),
    ("throttled: reserved", RGBColor(148, 103, 189)),
    ("throttled: rate limit", RGBColor(140, 86, 75)),
];
const PCT_COLORS: [(&str, RGBColor); 3] = [
    ("p50", RGBColor(40, 40, 40)),
    ("p90", RGBColor(255, 127, 14)),
    ("p99", RGBColor(214, 39, 40)),
];
const GRID_BOLD: RGBColor = RGBColor(210, 210, 210);
const GRID_LIGHT: RGBColor = RGBColor(238, 238, 238);

static REGISTER: Once = Once::new();

type Points = Vec<(f64, f64)>;
/// (label, color, cold, warm) latency CDF points, ms.
pub type Cdf = (String, RGBColor, Points, Points);

/// Registers the embedded DejaVu Sans font under "sans-serif" (once per process).
pub fn register_font() {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// One drawn series: a function, or "other" (the rest folded together).
#[derive(Clone, Debug)]
pub struct Shown {
    pub label: String,
    pub color: RGBColor,
    pub rows: Vec<BucketRow>,
    /// Function index (None: "other").
    pub function: Option<usize>,
}

/// Everything the charts draw, independent of the backend.
#[derive(Clone, Debug)]
pub struct ChartData {
    pub scenario: String,
    pub n_functions: usize,
    /// Time axis unit ("s", "min" or "h") and seconds per unit.
    pub x_unit: &'static str,
    pub x_div: f64,
    pub x_max: f64,
    /// Seconds each kept row stands for (bucket × coarsening factor).
    pub row_s: f64,
    pub account: Vec<BucketRow>,
    /// The busiest functions (by attempts), then "other" when there are more.
    pub shown: Vec<Shown>,
    pub limit: u32,
    pub per_function_scaling: bool,
    /// (label, color, reserved concurrency) of shown functions with a reservation.
    pub reserved: Vec<(String, RGBColor, u32)>,
    pub provisioned: Vec<(String, RGBColor, u32)>,
    /// End-to-end latency CDFs of shown functions: (label, color, cold, warm), ms.
    pub cdfs: Vec<Cdf>,
    /// Some traffic is async, SQS or stream: the queues chart is drawn.
    pub queues: bool,
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

fn add_counts(a: &mut BucketRow, b: &BucketRow) {
    a.add_counts(b);
    a.concurrency_max += b.concurrency_max;
    a.concurrency_mean += b.concurrency_mean;
}

impl ChartData {
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
                            add_counts(&mut acc, row(b, i));
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
            });
        }
        let mut reserved = Vec::new();
        let mut provisioned = Vec::new();
        let mut cdfs = Vec::new();
        for s in &shown {
            let Some(i) = s.function else { continue };
            let f = &model.functions[i];
            if let Some(r) = f.reserved {
                reserved.push((s.label.clone(), s.color, r));
            }
            if f.provisioned > 0 {
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
            cdfs,
            queues: model
                .sources
                .iter()
                .any(|s| s.invocation != Invocation::Sync),
        }
    }

    /// The charts this run draws: [`NAMES`], plus [`QUEUES`] when some traffic queues.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = NAMES.to_vec();
        if self.queues {
            v.push(QUEUES);
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

    /// Panels of per-function charts: (caption, rows), the account first when there are
    /// several functions.
    fn panels(&self) -> Vec<(String, &[BucketRow], RGBColor)> {
        if self.n_functions <= 1 {
            return self
                .shown
                .iter()
                .map(|s| (format!("function {}", s.label), &s.rows[..], s.color))
                .collect();
        }
        let mut p = vec![(
            format!("account ({} functions)", self.n_functions),
            &self.account[..],
            ACCOUNT_COLOR,
        )];
        for s in &self.shown {
            let caption = if s.function.is_some() {
                format!("function {}", s.label)
            } else {
                s.label.clone()
            };
            p.push((caption, &s.rows[..], s.color));
        }
        p
    }
}

/// Compact number for tick labels: 1200 → "1.2k", 0.25 → "0.25".
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if a >= 1e6 {
        format!("{}M", trim(format!("{:.2}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        trim(format!("{v:.1}"))
    } else {
        trim(format!("{v:.3}"))
    }
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

trait Ctx<T> {
    fn s(self) -> Result<T, String>;
}
impl<T, E: std::fmt::Display> Ctx<T> for Result<T, E> {
    fn s(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

#[derive(Clone, Copy)]
enum Mark {
    Box,
    Line,
    Dashed,
}

/// A legend strip above the panels: colored marks and labels, wrapped over as many rows as
/// needed. Never overlaps data.
fn legend_rows(items: &[(String, RGBColor, Mark)], width: u32) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = vec![vec![]];
    let mut x = 20u32;
    for (i, (label, _, _)) in items.iter().enumerate() {
        let w = 40 + (label.chars().count() as u32) * 9 + 30;
        if x + w > width - 20 && !rows.last().unwrap().is_empty() {
            rows.push(vec![]);
            x = 20;
        }
        rows.last_mut().unwrap().push(i);
        x += w;
    }
    rows
}

const LEGEND_ROW_H: u32 = 28;

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBColor, Mark)],
) -> Result<(), String> {
    let (w, _) = area.dim_in_pixel();
    let rows = legend_rows(items, w);
    let style = font(17);
    for (r, row) in rows.iter().enumerate() {
        let y = (r as u32 * LEGEND_ROW_H + LEGEND_ROW_H / 2) as i32;
        let mut x = 20i32;
        for &i in row {
            let (label, color, mark) = &items[i];
            match mark {
                Mark::Box => {
                    area.draw(&Rectangle::new(
                        [(x, y - 8), (x + 28, y + 8)],
                        color.filled(),
                    ))
                    .s()?;
                }
                Mark::Line => {
                    area.draw(&PathElement::new(
                        vec![(x, y), (x + 28, y)],
                        color.stroke_width(3),
                    ))
                    .s()?;
                }
                Mark::Dashed => {
                    for k in 0..3 {
                        let x0 = x + k * 11;
                        area.draw(&PathElement::new(
                            vec![(x0, y), (x0 + 6, y)],
                            color.stroke_width(3),
                        ))
                        .s()?;
                    }
                }
            }
            area.draw(&Text::new(label.clone(), (x + 36, y - 9), style.clone()))
                .s()?;
            let tw = area
                .estimate_text_size(label, &style)
                .map(|(w, _)| w as i32)
                .unwrap_or(label.len() as i32 * 9);
            x += 36 + tw + 30;
        }
    }
    Ok(())
}

/// Fills the background, draws the title, the legend strip, and returns the area left.
fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    legend: &[(String, RGBColor, Mark)],
) -> Result<DrawingArea<DB, Shift>, String> {
    root.fill(&WHITE).s()?;
    let body = root.margin(10, 0, 0, 0).titled(title, font(28)).s()?;
    let (w, _) = body.dim_in_pixel();
    let rows = legend_rows(legend, w).len() as u32;
    let (top, rest) = body.split_vertically(rows * LEGEND_ROW_H + 6);
    draw_legend(&top, legend)?;
    Ok(rest.margin(0, 10, 10, 10))
}

/// Splits `pts` at `None` into drawable runs.
fn runs(pts: impl Iterator<Item = Option<(f64, f64)>>) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![];
    let mut cur = vec![];
    for p in pts {
        match p {
            Some(p) => cur.push(p),
            None => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

macro_rules! mesh {
    ($chart:expr, $x:expr, $y:expr) => {
        mesh!($chart, $x, $y, 10, 6, &|v| fmt_num(*v), 15, 16)
    };
    // x and y axis titles, tick counts, y tick formatter, tick and title font sizes.
    ($chart:expr, $x:expr, $y:expr, $xn:expr, $yn:expr, $yfmt:expr, $label:expr, $desc:expr) => {
        $chart
            .configure_mesh()
            .x_desc($x)
            .y_desc($y)
            .x_labels($xn)
            .y_labels($yn)
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter($yfmt)
            .label_style(font($label))
            .axis_desc_style(font($desc))
            .bold_line_style(GRID_BOLD)
            .light_line_style(GRID_LIGHT)
            .draw()
            .s()?
    };
}

/// Tick values for a log axis over [lo, hi]: 1-2-5 per decade, denser or sparser so that
/// there are always a few labels, even when the range is within one decade.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let pick = |ms: &[f64]| {
        let mut out = vec![];
        let mut k = lo.max(1e-12).log10().floor() as i32 - 1;
        while 10f64.powi(k) <= hi * 10.0 {
            for m in ms {
                let v = m * 10f64.powi(k);
                if v >= lo && v <= hi {
                    out.push(v);
                }
            }
            k += 1;
        }
        out
    };
    let t = pick(&[1.0, 2.0, 5.0]);
    if t.len() > 12 {
        return pick(&[1.0]);
    }
    if t.len() < 4 {
        let dense = pick(&[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0]);
        if dense.len() < 4 {
            let finest = pick(&[1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
            if finest.len() >= 3 {
                return finest;
            }
            // Less than a factor of about 1.5: evenly spaced round values.
            let raw = (hi - lo) / 4.0;
            let mag = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 2.5, 5.0, 10.0]
                .iter()
                .map(|m| m * mag)
                .find(|s| *s >= raw)
                .unwrap_or(10.0 * mag);
            let mut v = (lo / step).ceil() * step;
            let mut out = vec![];
            while v <= hi {
                out.push(v);
                v += step;
            }
            return out;
        }
        return dense;
    }
    t
}

/// A CDF from histogram points as a step line, starting at 0.
fn cdf_steps(pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(pts.len() * 2 + 1);
    let mut prev = 0.0;
    for &(x, p) in pts.iter().filter(|p| p.0 > 0.0) {
        out.push((x, prev));
        out.push((x, p));
        prev = p;
    }
    out
}

/// Horizontal levels (reservations, provisioned) grouped by value, so equal levels share one
/// line and one legend entry instead of hiding each other.
fn group_levels(levels: &[(String, RGBColor, u32)]) -> Vec<(String, RGBColor, u32)> {
    let mut out: Vec<(String, RGBColor, u32)> = vec![];
    for (l, c, v) in levels {
        if let Some(g) = out.iter_mut().find(|g| g.2 == *v) {
            g.0 = format!("{}, {l}", g.0);
            g.1 = RGBColor(90, 90, 90);
        } else {
            out.push((l.clone(), *c, *v));
        }
    }
    out
}

/// `c` at opacity `a` over white, as an opaque color (legend marks match the fill).
fn pale(c: RGBColor, a: f64) -> RGBColor {
    let m = |v: u8| (v as f64 * a + 255.0 * (1.0 - a)).round() as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        1.0
    } else {
        v * 1.1
    }
}

// ---------------------------------------------------------------- throttles

fn draw_throttles<DB: DrawingBackend>(
    d: &ChartData,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let totals: Vec<u64> = (0..4)
        .map(|k| {
            d.panels().first().map_or(0, |p| {
                p.1.iter()
                    .map(|r| r.throttles[ThrottleReason::ALL[k]])
                    .sum()
            })
        })
        .collect();
    let mut legend = vec![(
        "processed (invocations)".to_string(),
        PROCESSED_COLOR,
        Mark::Box,
    )];
    for (k, (label, color)) in REASONS.iter().enumerate() {
        if totals[k] > 0 {
            legend.push((label.to_string(), *color, Mark::Box));
        }
    }
    if totals.iter().all(|&t| t == 0) {
        legend.push(("no throttles in this run".to_string(), WHITE, Mark::Box));
    }
    let body = frame(
        root,
        &format!(
            "Requests processed and throttled, stacked by reason — {}",
            d.scenario
        ),
        &legend,
    )?;
    let panels = d.panels();
    let areas: Vec<DrawingArea<DB, Shift>> = if panels.len() <= 1 {
        vec![body]
    } else {
        let (top, bottom) = body.split_vertically(body.dim_in_pixel().1 / 2);
        let mut v = vec![top];
        v.extend(bottom.split_evenly((1, panels.len() - 1)));
        v
    };
    let small = panels.len() > 2;
    for (idx, ((caption, rows, _), area)) in panels.iter().zip(&areas).enumerate() {
        let stacks: Vec<Vec<(f64, f64)>> = (0..5)
            .map(|layer| {
                rows.iter()
                    .map(|r| {
                        let mut c = r.invocations;
                        for k in 0..layer {
                            c += r.throttles[ThrottleReason::ALL[k]];
                        }
                        (d.x(r), d.rate(c))
                    })
                    .collect()
            })
            .collect();
        let y_max = nice_max(stacks[4].iter().map(|p| p.1).fold(0.0, f64::max));
        let compact = small && idx > 0;
        let mut chart = ChartBuilder::on(area)
            .caption(caption, font(if compact { 17 } else { 20 }))
            .margin(8)
            .x_label_area_size(if compact { 40 } else { 48 })
            .y_label_area_size(if compact { 62 } else { 80 })
            .build_cartesian_2d(d.x_lo()..d.x_max, 0f64..y_max)
            .s()?;
        let xd = d.x_desc();
        if compact {
            mesh!(
                chart,
                xd.as_str(),
                "requests/s",
                5,
                5,
                &|v| fmt_num(*v),
                14,
                15
            );
        } else {
            mesh!(chart, xd.as_str(), "requests per second");
        }
        for layer in (0..5).rev() {
            if layer > 0 && totals[layer - 1] == 0 {
                continue;
            }
            let color = if layer == 0 {
                PROCESSED_COLOR
            } else {
                REASONS[layer - 1].1
            };
            chart
                .draw_series(AreaSeries::new(
                    stacks[layer].iter().copied(),
                    0.0,
                    color.filled(),
                ))
                .s()?;
        }
        // The processed line on top of its band keeps it visible under thin throttle bands.
        chart
            .draw_series(LineSeries::new(
                stacks[0].iter().copied(),
                RGBColor(49, 130, 189).stroke_width(1),
            ))
            .s()?;
    }
    Ok(())
}

// ---------------------------------------------------------------- latency

fn draw_latency<DB: DrawingBackend>(
    d: &ChartData,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let mut legend: Vec<(String, RGBColor, Mark)> = PCT_COLORS
        .iter()
        .map(|(l, c)| (format!("{l} over time"), *c, Mark::Line))
        .chain([
            ("CDF: warm starts".to_string(), OTHER_COLOR, Mark::Line),
            ("CDF: cold starts".to_string(), OTHER_COLOR, Mark::Dashed),
        ])
        .collect();
    for (label, color, _, _) in &d.cdfs {
        legend.push((format!("CDF: {label}"), *color, Mark::Box));
    }
    let body = frame(
        root,
        &format!("End-to-end latency seen by clients — {}", d.scenario),
        &legend,
    )?;
    let (w, _) = body.dim_in_pixel();
    let (left, right) = body.split_horizontally(w * 58 / 100);
    let mut panels = d.panels();
    panels.retain(|p| !p.0.starts_with("other"));
    panels.truncate(3);
    let areas = left.split_evenly((panels.len().max(1), 1));
    let compact = panels.len() > 2;
    for ((caption, rows, _), area) in panels.iter().zip(&areas) {
        let vals = rows
            .iter()
            .flat_map(|r| [r.latency_p50_ms, r.latency_p90_ms, r.latency_p99_ms])
            .filter(|v| *v > 0.0);
        let (lo, hi) = vals.fold((f64::MAX, 0f64), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if hi <= 0.0 {
            (1.0, 10.0)
        } else {
            (lo / 1.5, hi * 1.5)
        };
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("{caption}: latency percentiles per {} s", fmt_num(d.row_s)),
                font(if compact { 17 } else { 20 }),
            )
            .margin(8)
            .x_label_area_size(if compact { 40 } else { 48 })
            .y_label_area_size(80)
            .build_cartesian_2d(
                d.x_lo()..d.x_max,
                (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
            )
            .s()?;
        let xd = d.x_desc();
        mesh!(
            chart,
            xd.as_str(),
            "latency (ms, log)",
            8,
            if compact { 4 } else { 6 },
            &|v| fmt_num(*v),
            14,
            15
        );
        for (k, (_, color)) in PCT_COLORS.iter().enumerate().rev() {
            let pts = rows.iter().map(|r| {
                let v = [r.latency_p50_ms, r.latency_p90_ms, r.latency_p99_ms][k];
                (v > 0.0).then(|| (d.x(r), v))
            });
            for run in runs(pts) {
                chart
                    .draw_series(LineSeries::new(run, color.stroke_width(2)))
                    .s()?;
            }
        }
    }
    // CDF of end-to-end latency, log x.
    let all = d
        .cdfs
        .iter()
        .flat_map(|c| c.2.iter().chain(&c.3))
        .map(|p| p.0)
        .filter(|v| *v > 0.0);
    let (lo, hi) = all.fold((f64::MAX, 0f64), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if hi <= 0.0 {
        (1.0, 10.0)
    } else {
        (lo / 1.5, hi * 1.5)
    };
    let caption = if d.n_functions > d.cdfs.len() {
        format!("Latency CDF, {} busiest functions", d.cdfs.len())
    } else {
        "Latency CDF over the whole run".to_string()
    };
    let mut chart = ChartBuilder::on(&right)
        .caption(caption, font(20))
        .margin(8)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
            0f64..1.0,
        )
        .s()?;
    mesh!(
        chart,
        "end-to-end latency (ms, log)",
        "fraction of requests ≤ latency",
        8,
        11,
        &|v| format!("{:.0}%", v * 100.0),
        14,
        15
    );
    let n_cdfs = d.cdfs.len() as u32;
    for (rank, (_, color, cold, warm)) in d.cdfs.iter().enumerate() {
        let c = *color;
        // Earlier (busier) functions are drawn wider, so identical curves stay visible.
        let width = 2 + 2 * (n_cdfs - 1 - rank as u32);
        let warm = cdf_steps(warm);
        if !warm.is_empty() {
            chart
                .draw_series(LineSeries::new(warm, c.stroke_width(width)))
                .s()?;
        }
        let cold = cdf_steps(cold);
        if !cold.is_empty() {
            chart
                .draw_series(DashedLineSeries::new(cold, 9, 6, c.stroke_width(width)))
                .s()?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- concurrency

fn draw_concurrency<DB: DrawingBackend>(
    d: &ChartData,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let multi = d.n_functions > 1;
    let mut legend = vec![];
    if multi {
        legend.push((
            "account: concurrent executions".to_string(),
            ACCOUNT_COLOR,
            Mark::Line,
        ));
    }
    for s in &d.shown {
        legend.push((s.label.clone(), s.color, Mark::Line));
    }
    let peak = d
        .account
        .iter()
        .map(|r| r.concurrency_max as f64)
        .fold(0.0, f64::max);
    let mut y_max = peak;
    for (_, _, v) in d.reserved.iter().chain(&d.provisioned) {
        y_max = y_max.max(*v as f64);
    }
    let show_limit = (d.limit as f64) <= y_max.max(1.0) * 2.0;
    if show_limit {
        y_max = y_max.max(d.limit as f64);
        legend.push((
            format!("account limit ({})", d.limit),
            ACCOUNT_COLOR,
            Mark::Dashed,
        ));
    }
    let reserved = group_levels(&d.reserved);
    let provisioned = group_levels(&d.provisioned);
    for (l, c, v) in &reserved {
        legend.push((format!("reserved: {l} ({v})"), *c, Mark::Dashed));
    }
    for (l, c, v) in &provisioned {
        legend.push((format!("provisioned: {l} ({v})"), pale(*c, 0.25), Mark::Box));
    }
    let body = frame(
        root,
        &format!(
            "Concurrent executions (max per bucket) vs limits — {}",
            d.scenario
        ),
        &legend,
    )?;
    let (_, h) = body.dim_in_pixel();
    let (top, bottom) = body.split_vertically(h * 63 / 100);
    let caption = if show_limit {
        "concurrent executions".to_string()
    } else {
        format!(
            "concurrent executions (account limit {} is far above this scale)",
            d.limit
        )
    };
    let mut chart = ChartBuilder::on(&top)
        .caption(caption, font(20))
        .margin(8)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(d.x_lo()..d.x_max, 0f64..nice_max(y_max))
        .s()?;
    let xd = d.x_desc();
    mesh!(chart, xd.as_str(), "concurrent executions");
    let hline = |v: f64| vec![(d.x_lo(), v), (d.x_max, v)];
    for (_, c, v) in &provisioned {
        chart
            .draw_series(AreaSeries::new(
                hline(*v as f64),
                0.0,
                pale(*c, 0.25).filled(),
            ))
            .s()?;
    }
    for s in d.shown.iter().rev() {
        chart
            .draw_series(LineSeries::new(
                s.rows.iter().map(|r| (d.x(r), r.concurrency_max as f64)),
                s.color.stroke_width(2),
            ))
            .s()?;
    }
    if multi {
        chart
            .draw_series(LineSeries::new(
                d.account.iter().map(|r| (d.x(r), r.concurrency_max as f64)),
                ACCOUNT_COLOR.stroke_width(2),
            ))
            .s()?;
    }
    // Limits on top of the data, so they stay visible where concurrency sits at them.
    if show_limit {
        chart
            .draw_series(DashedLineSeries::new(
                hline(d.limit as f64),
                10,
                6,
                ACCOUNT_COLOR.stroke_width(2),
            ))
            .s()?;
    }
    for (_, c, v) in &reserved {
        chart
            .draw_series(DashedLineSeries::new(
                hline(*v as f64),
                10,
                6,
                c.stroke_width(2),
            ))
            .s()?;
    }
    // Scaling tokens available.
    let token_series: Vec<(String, RGBColor, Points)> = if d.per_function_scaling {
        d.shown
            .iter()
            .filter(|s| s.function.is_some())
            .map(|s| {
                (
                    s.label.clone(),
                    s.color,
                    s.rows
                        .iter()
                        .map(|r| (d.x(r), r.scaling_tokens as f64))
                        .collect(),
                )
            })
            .collect()
    } else {
        vec![(
            "account".to_string(),
            ACCOUNT_COLOR,
            d.account
                .iter()
                .map(|r| (d.x(r), r.scaling_tokens as f64))
                .collect(),
        )]
    };
    let t_max = token_series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let caption = if d.per_function_scaling {
        "scaling tokens available per function (new environments that may start now)"
    } else {
        "account burst quota available (new environments that may start now)"
    };
    let mut chart = ChartBuilder::on(&bottom)
        .caption(caption, font(18))
        .margin(8)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(d.x_lo()..d.x_max, 0f64..nice_max(t_max))
        .s()?;
    mesh!(
        chart,
        xd.as_str(),
        "environments",
        10,
        4,
        &|v| fmt_num(*v),
        15,
        16
    );
    for (_, c, pts) in token_series.iter().rev() {
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .s()?;
    }
    Ok(())
}

// ---------------------------------------------------------------- cold starts

fn draw_cold_starts<DB: DrawingBackend>(
    d: &ChartData,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let multi = d.n_functions > 1;
    let mut legend: Vec<(String, RGBColor, Mark)> = d
        .shown
        .iter()
        .map(|s| (s.label.clone(), s.color, Mark::Box))
        .collect();
    if multi {
        legend.push(("account (ratio)".to_string(), ACCOUNT_COLOR, Mark::Line));
    }
    let body = frame(root, &format!("Cold starts — {}", d.scenario), &legend)?;
    let (_, h) = body.dim_in_pixel();
    let (top, bottom) = body.split_vertically(h / 2);
    // Stacked per function: cumulative from the first shown.
    let stacks: Vec<Vec<(f64, f64)>> = (0..d.shown.len())
        .map(|layer| {
            (0..d
                .account
                .len()
                .max(d.shown.first().map_or(0, |s| s.rows.len())))
                .map(|b| {
                    let c: u64 = d.shown[..=layer]
                        .iter()
                        .map(|s| s.rows.get(b).map_or(0, |r| r.cold_starts))
                        .sum();
                    let x = d.shown[0].rows.get(b).map_or(0.0, |r| d.x(r));
                    (x, d.rate(c))
                })
                .collect()
        })
        .collect();
    let y_max = nice_max(
        stacks
            .last()
            .map_or(0.0, |s| s.iter().map(|p| p.1).fold(0.0, f64::max)),
    );
    let mut chart = ChartBuilder::on(&top)
        .caption(
            if multi {
                "cold starts per second, stacked by function"
            } else {
                "cold starts per second"
            },
            font(20),
        )
        .margin(8)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(d.x_lo()..d.x_max, 0f64..y_max)
        .s()?;
    let xd = d.x_desc();
    mesh!(chart, xd.as_str(), "cold starts per second");
    for (layer, s) in d.shown.iter().enumerate().rev() {
        chart
            .draw_series(AreaSeries::new(
                stacks[layer].iter().copied(),
                0.0,
                s.color.mix(0.85).filled(),
            ))
            .s()?;
        // An outline keeps one-bucket spikes visible.
        chart
            .draw_series(LineSeries::new(
                stacks[layer].iter().copied(),
                s.color.stroke_width(2),
            ))
            .s()?;
    }
    let ratio = |r: &BucketRow| {
        (r.invocations > 0).then(|| (d.x(r), 100.0 * r.cold_starts as f64 / r.invocations as f64))
    };
    let mut lines: Vec<(RGBColor, Vec<Points>)> = d
        .shown
        .iter()
        .map(|s| (s.color, runs(s.rows.iter().map(ratio))))
        .collect();
    if multi {
        lines.push((ACCOUNT_COLOR, runs(d.account.iter().map(ratio))));
    }
    line_panel(
        d,
        &bottom,
        "cold-start ratio (cold starts / invocations in the bucket)",
        "cold-start ratio (%)",
        &lines,
        105.0,
        &|v| format!("{}%", fmt_num(*v)),
    )
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

/// Queues of async, SQS and stream traffic: what waits, how old the oldest is, and what is
/// given up (DLQ or dropped).
fn draw_queues<DB: DrawingBackend>(
    d: &ChartData,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let legend: Vec<(String, RGBColor, Mark)> = d
        .shown
        .iter()
        .map(|s| (s.label.clone(), s.color, Mark::Line))
        .collect();
    let body = frame(root, &format!("Queues — {}", d.scenario), &legend)?;
    let (_, h) = body.dim_in_pixel();
    let (top, rest) = body.split_vertically(h / 3);
    let (middle, bottom) = rest.split_vertically(h / 3);
    let series = |v: &dyn Fn(&BucketRow) -> f64| -> Vec<(RGBColor, Vec<Points>)> {
        d.shown
            .iter()
            .map(|s| (s.color, runs(s.rows.iter().map(|r| Some((d.x(r), v(r)))))))
            .collect()
    };
    line_panel(
        d,
        &top,
        "waiting at the end of each bucket (async events, SQS messages, stream records)",
        "waiting",
        &series(&|r| r.queue_depth as f64),
        f64::INFINITY,
        &|v| fmt_num(*v),
    )?;
    line_panel(
        d,
        &middle,
        "age of the oldest waiting message or record, and of async events and stream batches when tried",
        "age (s)",
        &series(&|r| {
            r.queue_oldest_age_ms
                .max(r.async_event_age_ms)
                .max(r.iterator_age_ms)
                / 1e3
        }),
        f64::INFINITY,
        &|v| fmt_num(*v),
    )?;
    line_panel(
        d,
        &bottom,
        "given up: sent to the DLQ / on-failure destination, or dropped",
        "per second",
        &series(&|r| d.rate(r.dead_letters + r.dropped)),
        f64::INFINITY,
        &|v| fmt_num(*v),
    )
}

fn draw<DB: DrawingBackend>(
    name: &str,
    d: &ChartData,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    match name {
        "throttles" => draw_throttles(d, root),
        "latency" => draw_latency(d, root),
        "concurrency" => draw_concurrency(d, root),
        "cold_starts" => draw_cold_starts(d, root),
        "queues" => draw_queues(d, root),
        other => Err(format!("unknown chart {other}")),
    }?;
    root.present().s()
}

/// Renders one chart as SVG text.
pub fn render_svg(name: &str, d: &ChartData) -> Result<String, Error> {
    register_font();
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, SIZE).into_drawing_area();
        draw(name, d, &root).map_err(|e| Error::runtime(format!("chart {name}: {e}")))?;
    }
    Ok(s)
}

/// Renders one chart as a PNG file at `path` (written beside it first, then renamed).
pub fn write_png(name: &str, d: &ChartData, path: &Path) -> Result<(), Error> {
    register_font();
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The extension must stay .png: the encoder picks the format from it.
    let tmp = path.with_file_name(format!(".tmp{}-{file}", std::process::id()));
    let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
    let res = draw(name, d, &root);
    drop(root);
    let res = res.and_then(|_| std::fs::rename(&tmp, path).s());
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::runtime(format!("cannot write {}: {e}", path.display()))
    })
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
