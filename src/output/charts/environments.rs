//! The `environments` chart: one lane per execution environment over a window, the way the
//! talks draw them: INIT, busy and idle spans, the moment it is reclaimed, provisioned and
//! on-demand environments in different colors, and throttled attempts in a strip above.
//! Lanes come from [`crate::stats::Lanes`] (at most [`crate::stats::lanes::MAX_LANES`]).

use super::toolkit::*;
use super::SIZE;
use crate::error::Error;
use crate::model::Model;
use crate::stats::lanes::{Lanes, SegKind};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

const INIT: RGBColor = RGBColor(255, 127, 14);
const BUSY: RGBColor = RGBColor(31, 119, 180);
const BUSY_PROV: RGBColor = RGBColor(44, 160, 44);
const IDLE: RGBColor = RGBColor(205, 214, 224);
const IDLE_PROV: RGBColor = RGBColor(199, 233, 192);
const RECLAIMED: RGBColor = RGBColor(30, 30, 30);
const THROTTLED: RGBColor = RGBColor(214, 39, 40);

/// Writes `environments.png` and `environments.svg` into `dir`; returns the SVG text.
pub fn write(dir: &Path, model: &Model, lanes: &Lanes) -> Result<String, Error> {
    write_png(&dir.join("environments.png"), SIZE, |root| {
        draw(model, lanes, root)
    })?;
    let svg = render_svg("environments", SIZE, |root| draw(model, lanes, root))?;
    crate::output::write_atomic(&dir.join("environments.svg"), svg.as_bytes())?;
    Ok(svg)
}

fn draw<DB: DrawingBackend>(
    model: &Model,
    l: &Lanes,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let span_s = (l.to - l.from) as f64 / 1e6;
    let (unit, div) = if span_s > 3.0 * 3600.0 {
        ("h", 3600.0)
    } else if span_s > 1800.0 {
        ("min", 60.0)
    } else {
        ("s", 1.0)
    };
    let x = |t: u64| t as f64 / 1e6 / div;
    let (x0, x1) = (x(l.from), x(l.to));
    let any_prov = l.lanes.iter().any(|a| a.provisioned);
    let mut legend: Vec<(String, RGBColor, Mark)> =
        vec![("INIT (cold start)".into(), INIT, Mark::Box)];
    legend.push(("busy (on-demand)".into(), BUSY, Mark::Box));
    legend.push(("idle (on-demand)".into(), IDLE, Mark::Box));
    if any_prov {
        legend.push(("busy (provisioned)".into(), BUSY_PROV, Mark::Box));
        legend.push(("idle (provisioned)".into(), IDLE_PROV, Mark::Box));
    }
    legend.push(("reclaimed".into(), RECLAIMED, Mark::Line));
    legend.push(("throttled attempts".into(), THROTTLED, Mark::Box));
    let who = match l.function {
        Some(f) => format!("function {}", model.functions[f as usize].name),
        None if model.functions.len() == 1 => format!("function {}", model.functions[0].name),
        None => format!("{} functions", model.functions.len()),
    };
    let shown = if l.overflowed() {
        format!("first {} of {} environments", l.lanes.len(), l.seen)
    } else {
        format!("{} environments", l.lanes.len())
    };
    let title = format!("Execution environments — {} — {who}, {shown}", model.name);
    let body = frame(root, &title, &legend)?;
    let (_, h) = body.dim_in_pixel();
    let (top, bottom) = body.split_vertically(h / 6);
    // Throttled attempts per bin, as a rate.
    let bin_s = span_s / l.throttles.len() as f64;
    let max_rate = l.throttles.iter().copied().max().unwrap_or(0) as f64 / bin_s;
    let mut t = ChartBuilder::on(&top)
        .margin(8)
        .x_label_area_size(0)
        .y_label_area_size(110)
        .build_cartesian_2d(x0..x1, 0f64..nice_max(max_rate).max(1.0))
        .s()?;
    t.configure_mesh()
        .y_desc("throttled / s")
        .y_labels(3)
        .x_labels(10)
        .y_label_formatter(&|v| fmt_num(*v))
        .label_style(font(15))
        .axis_desc_style(font(16))
        .bold_line_style(GRID_BOLD)
        .light_line_style(GRID_LIGHT)
        .draw()
        .s()?;
    let bw = (x1 - x0) / l.throttles.len() as f64;
    t.draw_series(
        l.throttles
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| {
                let a = x0 + i as f64 * bw;
                Rectangle::new([(a, 0.0), (a + bw, c as f64 / bin_s)], THROTTLED.filled())
            }),
    )
    .s()?;
    // Lanes: lane 0 (the first environment, labeled 1) at the top, centered on its tick.
    let n = l.lanes.len().max(1) as f64;
    let mut c = ChartBuilder::on(&bottom)
        .margin(8)
        .x_label_area_size(48)
        .y_label_area_size(110)
        .build_cartesian_2d(x0..x1, -0.5f64..n - 0.5)
        .s()?;
    let step = (n / 20.0).ceil().max(1.0);
    let ticks = (n / step).ceil() as usize + 1;
    let xd = format!("simulated time ({unit})");
    c.configure_mesh()
        .x_desc(xd.as_str())
        .y_desc("environment (in order of creation)")
        .x_labels(10)
        .y_labels(ticks.min(22))
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| {
            let k = n - v;
            if k >= 1.0 && k <= n && (k.round() - k).abs() < 1e-6 {
                fmt_num(k)
            } else {
                String::new()
            }
        })
        .disable_y_mesh()
        .label_style(font(15))
        .axis_desc_style(font(16))
        .bold_line_style(GRID_BOLD)
        .light_line_style(GRID_LIGHT)
        .draw()
        .s()?;
    let (pw, ph) = c.plotting_area().dim_in_pixel();
    // Lanes thinner than 4 px get no gap between them.
    let pad = if ph as f64 / n >= 4.0 { 0.15 } else { 0.0 };
    let px = (x1 - x0) / pw.max(1) as f64;
    for (i, lane) in l.lanes.iter().enumerate() {
        let (lo, hi) = (n - i as f64 - 1.5 + pad, n - i as f64 - 0.5 - pad);
        let start = x(lane.created.max(l.from));
        let end = lane.reclaimed.map_or(x1, x);
        let (idle, busy) = if lane.provisioned {
            (IDLE_PROV, BUSY_PROV)
        } else {
            (IDLE, BUSY)
        };
        c.draw_series(std::iter::once(Rectangle::new(
            [(start, lo), (end.max(start + px), hi)],
            idle.filled(),
        )))
        .s()?;
        c.draw_series(lane.segments.iter().map(|s| {
            let color = if s.kind == SegKind::Init { INIT } else { busy };
            // At least one pixel wide, so a short invocation stays visible.
            let (a, b) = (x(s.start), x(s.end).max(x(s.start) + px));
            Rectangle::new([(a, lo), (b, hi)], color.filled())
        }))
        .s()?;
        if let Some(r) = lane.reclaimed {
            let r = x(r);
            c.draw_series(std::iter::once(Rectangle::new(
                [(r, lo), ((r + 2.0 * px).min(x1), hi)],
                RECLAIMED.filled(),
            )))
            .s()?;
        }
    }
    Ok(())
}
