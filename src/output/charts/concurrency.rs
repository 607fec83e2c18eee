//! The `concurrency` chart: concurrency per function against the limits that cap it (the
//! account limit, reservations, an SQS mapping's maximum concurrency, a stream's shards ×
//! parallelization factor) and provisioned levels. Limits are drawn last, over a white halo
//! and with their value written at the line, so a series running at its cap does not hide
//! the cap. The scaling-budget panel below is drawn only when the budget moved.

use super::toolkit::*;
use super::{ChartData, Points};
use plotters::coord::Shift;
use plotters::prelude::*;

/// A limit line of the `concurrency` chart.
#[derive(Clone, Debug, PartialEq)]
pub struct LimitLine {
    /// Legend label, with the value.
    pub label: String,
    /// Line colour.
    pub color: RGBColor,
    /// Concurrency the line is drawn at.
    pub value: f64,
}

impl ChartData {
    /// Highest concurrency drawn (the account's peak, or the busiest function's).
    fn concurrency_peak(&self) -> f64 {
        self.account
            .iter()
            .map(|r| r.concurrency_max as f64)
            .chain(
                self.shown
                    .iter()
                    .flat_map(|s| s.rows.iter().map(|r| r.concurrency_max as f64)),
            )
            .fold(0.0, f64::max)
    }

    /// The limit lines the `concurrency` chart draws: reservations (equal ones share a line),
    /// and the account limit and event-source caps when they are within twice the highest
    /// concurrency or reservation drawn (further up they would flatten the data; the caption
    /// names them instead).
    pub fn limit_lines(&self) -> Vec<LimitLine> {
        let mut scale = self.concurrency_peak();
        for (_, _, v) in self.reserved.iter().chain(&self.provisioned) {
            scale = scale.max(*v as f64);
        }
        let near = |v: u32| (v as f64) <= scale.max(1.0) * 2.0;
        let mut out = vec![];
        if near(self.limit) {
            out.push(LimitLine {
                label: format!("account limit ({})", self.limit),
                color: ACCOUNT_COLOR,
                value: self.limit as f64,
            });
        }
        for (l, c, v) in group_levels(&self.reserved) {
            out.push(LimitLine {
                label: format!("reserved: {l} ({v})"),
                color: c,
                value: v as f64,
            });
        }
        for (l, c, v) in &self.source_limits {
            if near(*v) {
                out.push(LimitLine {
                    label: format!("{l}: {v}"),
                    color: *c,
                    value: *v as f64,
                });
            }
        }
        out
    }

    /// Limits too far above the data to draw: (name, value).
    fn limits_far_above(&self) -> Vec<String> {
        let drawn = self.limit_lines();
        let mut far = vec![];
        if !drawn.iter().any(|l| l.label.starts_with("account limit")) {
            far.push(format!("account limit {}", self.limit));
        }
        for (l, _, v) in &self.source_limits {
            if !drawn.iter().any(|d| d.label == format!("{l}: {v}")) {
                far.push(format!("{l}: {v}"));
            }
        }
        far
    }

    /// The scaling-budget series: (label, color, tokens available at each row's end).
    pub fn token_series(&self) -> Vec<(String, RGBColor, Points)> {
        if self.per_function_scaling {
            self.shown
                .iter()
                .filter(|s| s.function.is_some())
                .map(|s| {
                    (
                        s.label.clone(),
                        s.color,
                        s.rows
                            .iter()
                            .map(|r| (self.x(r), r.scaling_tokens as f64))
                            .collect(),
                    )
                })
                .collect()
        } else {
            vec![(
                "account".to_string(),
                ACCOUNT_COLOR,
                self.account
                    .iter()
                    .map(|r| (self.x(r), r.scaling_tokens as f64))
                    .collect(),
            )]
        }
    }

    /// The scaling-budget panel carries information: some series' tokens fell below
    /// [`TOKENS_DRAWN`] of that series' highest value at some bucket's end. A budget that stayed
    /// (nearly) full the whole run is a flat line, said in the caption instead.
    pub fn tokens_informative(&self) -> bool {
        self.token_series().iter().any(|(_, _, pts)| {
            let hi = pts.iter().map(|p| p.1).fold(0.0, f64::max);
            pts.iter().any(|p| p.1 < TOKENS_DRAWN * hi)
        })
    }
}

/// Share of the highest token level under which the scaling budget counts as drawn on.
pub(crate) const TOKENS_DRAWN: f64 = 0.9;

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
    let peak = d.concurrency_peak();
    let mut y_max = peak;
    for (_, _, v) in d.reserved.iter().chain(&d.provisioned) {
        y_max = y_max.max(*v as f64);
    }
    let limits = d.limit_lines();
    for l in &limits {
        y_max = y_max.max(l.value);
        legend.push((l.label.clone(), dark(l.color), Mark::Dashed));
    }
    let provisioned = group_levels(&d.provisioned);
    for (l, c, v) in &provisioned {
        legend.push((format!("provisioned: {l} ({v})"), pale(*c, 0.25), Mark::Box));
    }
    for (l, c, pts) in &d.provisioned_over_time {
        y_max = pts.iter().map(|p| p.1).fold(y_max, f64::max);
        legend.push((
            format!("provisioned configured over time: {l}"),
            pale(*c, 0.25),
            Mark::Box,
        ));
    }
    let body = frame(
        root,
        &format!(
            "Concurrent executions (max per bucket) vs limits — {}",
            d.scenario
        ),
        &legend,
    )?;
    let tokens = d.tokens_informative();
    let (_, h) = body.dim_in_pixel();
    let (top, bottom) = if tokens {
        let (t, b) = body.split_vertically(h * 63 / 100);
        (t, Some(b))
    } else {
        (body, None)
    };
    let mut notes = d.limits_far_above();
    if !tokens {
        let full = d
            .token_series()
            .first()
            .and_then(|s| s.2.first().map(|p| p.1))
            .unwrap_or(0.0);
        notes.push(format!(
            "{} at or near {} at every bucket's end",
            if d.per_function_scaling {
                "scaling tokens"
            } else {
                "burst quota"
            },
            fmt_num(full)
        ));
    }
    let caption = if notes.is_empty() {
        "concurrent executions".to_string()
    } else {
        format!("concurrent executions ({})", notes.join("; "))
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
    // Provisioned concurrency that changes (schedules, auto scaling): a stepped area under the
    // concurrency line, edged in the function's dark shade, so the lag between a step of load
    // and the configured value catching up shows as concurrency above the area.
    for (_, c, pts) in &d.provisioned_over_time {
        chart
            .draw_series(AreaSeries::new(
                pts.iter().copied(),
                0.0,
                pale(*c, 0.25).filled(),
            ))
            .s()?;
        chart
            .draw_series(LineSeries::new(
                pts.iter().copied(),
                dark(*c).stroke_width(1),
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
    // Limits over the data, dashed in a darker shade of their colour, with the value written at
    // the line's right end: a series running at its cap shows in the gaps, and the cap stays
    // visible over it.
    for l in &limits {
        chart
            .draw_series(DashedLineSeries::new(
                hline(l.value),
                12,
                8,
                dark(l.color).stroke_width(3),
            ))
            .s()?;
        let text = fmt_num(l.value);
        chart
            .draw_series(std::iter::once(Text::new(
                text,
                (d.x_max, l.value),
                font(15)
                    .color(&dark(l.color))
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Right,
                        plotters::style::text_anchor::VPos::Bottom,
                    )),
            )))
            .s()?;
    }
    let Some(bottom) = bottom else {
        return Ok(());
    };
    let token_series = d.token_series();
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
