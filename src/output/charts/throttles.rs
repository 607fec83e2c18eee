//! The `throttles` chart: throttled attempts per second by reason, per function.

use super::toolkit::*;
use super::ChartData;
use crate::stats::ThrottleReason;
use plotters::coord::Shift;
use plotters::prelude::*;

pub(super) fn draw<DB: DrawingBackend>(
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
