//! The `cold_starts` chart: cold starts per second per function.

use super::toolkit::*;
use super::{line_panel, ChartData, Points};
use crate::stats::BucketRow;
use plotters::coord::Shift;
use plotters::prelude::*;

pub(super) fn draw<DB: DrawingBackend>(
    d: &ChartData,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let multi = d.n_functions > 1;
    let mut legend: Vec<(String, RGBColor, Mark)> = d
        .shown
        .iter()
        .map(|s| {
            let label = if s.restores {
                format!("{} (SnapStart restores)", s.label)
            } else {
                s.label.clone()
            };
            (label, s.color, Mark::Box)
        })
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
