//! The `concurrency` chart: concurrency per function against the account limit, reservations and provisioned levels.

use super::toolkit::*;
use super::{ChartData, Points};
use plotters::coord::Shift;
use plotters::prelude::*;

pub(super) fn draw<DB: DrawingBackend>(
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
