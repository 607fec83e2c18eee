//! The `latency` chart: percentiles over time and CDFs of cold and warm invocations.
//!
//! A bucket's percentile is drawn as measured (solid) only when the bucket holds enough
//! latencies for it: at least [`PCT_MIN_SAMPLES`] (2 for p50, 10 for p90, 100 for p99), so that
//! at least one sample lies above the percentile. With fewer, the value is the bucket's largest
//! sample or near it, and the line is drawn dashed and pale. A row that stands for several
//! buckets (long runs are coarsened for drawing) counts the samples of all of them and keeps
//! their largest percentile.

use super::toolkit::*;
use super::{ChartData, Points};
use crate::stats::BucketRow;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One percentile over time: every bucket with a value (`all`), and the runs of buckets with
/// enough samples for it (`solid`).
#[derive(Clone, Debug, Default)]
pub struct PercentileLine {
    /// Runs of (time, ms) over every bucket with latencies.
    pub all: Vec<Points>,
    /// Runs of (time, ms) over buckets with at least the percentile's minimum of samples.
    pub solid: Vec<Points>,
}

fn pct(r: &BucketRow, k: usize) -> f64 {
    [r.latency_p50_ms, r.latency_p90_ms, r.latency_p99_ms][k]
}

impl ChartData {
    /// p50, p90 and p99 over time of one series' rows, split by [`PCT_MIN_SAMPLES`].
    pub fn percentile_lines(&self, rows: &[BucketRow]) -> [PercentileLine; 3] {
        std::array::from_fn(|k| {
            let pt = |r: &BucketRow| (pct(r, k) > 0.0).then(|| (self.x(r), pct(r, k)));
            PercentileLine {
                all: runs(rows.iter().map(pt)),
                solid: runs(rows.iter().map(|r| {
                    if r.latency_samples >= PCT_MIN_SAMPLES[k] {
                        pt(r)
                    } else {
                        None
                    }
                })),
            }
        })
    }
}

pub(super) fn draw<DB: DrawingBackend>(
    d: &ChartData,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let mut panels = d.panels();
    panels.retain(|p| !p.0.starts_with("other"));
    panels.truncate(3);
    // The "too few samples" mark is explained only where some drawn bucket has it.
    let sparse = panels.iter().any(|p| {
        p.1.iter()
            .any(|r| (0..3).any(|k| pct(r, k) > 0.0 && r.latency_samples < PCT_MIN_SAMPLES[k]))
    });
    let mut legend: Vec<(String, RGBColor, Mark)> = PCTS
        .iter()
        .map(|p| (format!("{} over time", p.label()), p.color(), Mark::Line))
        .chain(sparse.then(|| {
            (
                format!(
                    "dashed, pale: bucket with too few samples (p50 < {}, p90 < {}, p99 < {})",
                    PCT_MIN_SAMPLES[0], PCT_MIN_SAMPLES[1], PCT_MIN_SAMPLES[2]
                ),
                pale(Series::Percentile(2).color(), 0.45),
                Mark::Dashed,
            )
        }))
        .chain([
            ("CDF: warm starts".to_string(), OTHER_COLOR, Mark::Line),
            ("CDF: cold starts".to_string(), OTHER_COLOR, Mark::Dashed),
        ])
        .collect();
    for (label, color, _, _) in &d.cdfs {
        legend.push((format!("CDF: {label}"), *color, Mark::Line));
    }
    let body = frame(
        root,
        &format!("End-to-end latency seen by clients — {}", d.scenario),
        &legend,
    )?;
    let (w, _) = body.dim_in_pixel();
    let (left, right) = body.split_horizontally(w * 58 / 100);
    let areas = left.split_evenly((panels.len().max(1), 1));
    let compact = panels.len() > 2;
    for ((caption, rows, _, _), area) in panels.iter().zip(&areas) {
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
        let lines = d.percentile_lines(rows);
        for (k, line) in lines.iter().enumerate().rev() {
            let color = PCTS[k].color();
            for run in &line.all {
                chart
                    .draw_series(DashedLineSeries::new(
                        run.iter().copied(),
                        7,
                        5,
                        pale(color, 0.45).stroke_width(2),
                    ))
                    .s()?;
            }
            for run in &line.solid {
                chart
                    .draw_series(LineSeries::new(run.iter().copied(), color.stroke_width(2)))
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
