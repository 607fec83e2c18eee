//! The `dependencies` chart (scenarios with `[[dependencies]]`): per dependency, connections
//! held (bucket maximum, solid; mean, thin) against its `max_connections` (dashed), and below,
//! connection errors and waits per second. Rows come from [`crate::output::dependencies`].

use super::toolkit::*;
use super::SIZE;
use crate::error::Error;
use crate::model::Model;
use crate::stats::DependencyRow;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::ShapeStyle;
use std::path::Path;

/// The chart's file stem.
pub const NAME: &str = "dependencies";

/// Writes `dependencies.png` and `dependencies.svg` into `dir` from the kept rows (each
/// standing for `factor` buckets); returns the SVG text.
pub fn write(
    dir: &Path,
    model: &Model,
    series: &[Vec<DependencyRow>],
    factor: usize,
) -> Result<String, Error> {
    let row_s = model.bucket.as_secs_f64() * factor as f64;
    write_png(&dir.join(format!("{NAME}.png")), SIZE, |root| {
        draw(model, series, row_s, root)
    })?;
    let svg = render_svg(NAME, SIZE, |root| draw(model, series, row_s, root))?;
    crate::output::write_atomic(&dir.join(format!("{NAME}.svg")), svg.as_bytes())?;
    Ok(svg)
}

fn draw<DB: DrawingBackend>(
    model: &Model,
    series: &[Vec<DependencyRow>],
    row_s: f64,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let span_s = model.duration.as_secs_f64();
    let (unit, div) = if span_s > 3.0 * 3600.0 {
        ("h", 3600.0)
    } else if span_s > 1800.0 {
        ("min", 60.0)
    } else {
        ("s", 1.0)
    };
    let x = |r: &DependencyRow| r.start.as_secs_f64() / div;
    let x_max = span_s / div;
    let deps = &model.dependencies.deps;
    let color = |i: usize| SERIES_COLORS[i % SERIES_COLORS.len()];
    let mut legend: Vec<(String, RGBColor, Mark)> = Vec::new();
    for (i, d) in deps.iter().enumerate() {
        legend.push((
            format!("{}: connections (bucket max)", d.name),
            color(i),
            Mark::Line,
        ));
        legend.push((
            format!("{}: max_connections", d.name),
            dark(color(i)),
            Mark::Dashed,
        ));
    }
    let body = frame(root, &format!("Dependencies — {}", model.name), &legend)?;
    let (_, h) = body.dim_in_pixel();
    let (top, bottom) = body.split_vertically(h * 3 / 5);
    let y_top = deps
        .iter()
        .map(|d| d.max_connections as f64)
        .chain(series.iter().flatten().map(|r| r.connections_max as f64))
        .fold(1.0, f64::max);
    let xd = format!("simulated time ({unit})");
    let mut chart = ChartBuilder::on(&top)
        .caption("connections held", font(20))
        .margin(8)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(-x_max * 0.006..x_max, 0f64..nice_max(y_top * 1.08))
        .s()?;
    mesh!(chart, xd.as_str(), "connections");
    for (i, rows) in series.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(
                rows.iter().map(|r| (x(r), r.connections_max as f64)),
                c.stroke_width(2),
            ))
            .s()?;
        chart
            .draw_series(LineSeries::new(
                rows.iter().map(|r| (x(r), r.connections_mean)),
                ShapeStyle::from(&pale(c, 0.5)).stroke_width(1),
            ))
            .s()?;
        let limit = deps[i].max_connections as f64;
        chart
            .draw_series(DashedLineSeries::new(
                [(-x_max * 0.006, limit), (x_max, limit)],
                10,
                6,
                dark(c).stroke_width(2),
            ))
            .s()?;
    }
    let rate = |n: u64| n as f64 / row_s.max(1e-9);
    let y_bottom = series
        .iter()
        .flatten()
        .map(|r| rate(r.connection_errors).max(rate(r.waits)))
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(&bottom)
        .caption(
            "connection errors per second (solid), waits for a pooled connection per second (dashed)",
            font(20),
        )
        .margin(8)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(-x_max * 0.006..x_max, 0f64..nice_max(y_bottom * 1.08))
        .s()?;
    mesh!(chart, xd.as_str(), "per second");
    for (i, rows) in series.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(
                rows.iter().map(|r| (x(r), rate(r.connection_errors))),
                c.stroke_width(2),
            ))
            .s()?;
        if deps[i].pool_timeout.is_some() {
            chart
                .draw_series(DashedLineSeries::new(
                    rows.iter().map(|r| (x(r), rate(r.waits))),
                    8,
                    5,
                    c.stroke_width(2),
                ))
                .s()?;
        }
    }
    Ok(())
}
