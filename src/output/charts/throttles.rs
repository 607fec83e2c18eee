//! The `throttles` chart: load and outcomes per panel (the account, then functions). Stacked
//! areas show what happened to attempts each second: invocations that succeeded, invocations
//! that ended in an error or a timeout, and throttled attempts by reason. Lines show what was
//! asked: the offered load (new requests) and the retries, so retry amplification and failed
//! batches are both visible. The y axis names what the invocations count (invocations, async
//! attempts, SQS or stream batches); when arrivals are messages or records (SQS, streams) the
//! offered load has its own axis on the right.

use super::toolkit::*;
use super::{ChartData, Counted, Points};
use crate::stats::{BucketRow, ThrottleReason};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The stacked layers, bottom first: each layer's top is the sum of it and those below.
const LAYERS: [Series; 8] = [
    Series::Succeeded,
    Series::Errors,
    Series::Throttled(ThrottleReason::Burst),
    Series::Throttled(ThrottleReason::Account),
    Series::Throttled(ThrottleReason::Reserved),
    Series::Throttled(ThrottleReason::Rate),
    Series::Throttled(ThrottleReason::Gateway),
    Series::Throttled(ThrottleReason::Capacity),
];

/// The count of one layer in a row.
fn layer_count(layer: Series, r: &BucketRow) -> u64 {
    match layer {
        Series::Succeeded => r.invocations.saturating_sub(r.errors),
        Series::Errors => r.errors.min(r.invocations),
        Series::Throttled(reason) => r.throttles[reason],
        _ => 0,
    }
}

/// One panel of the `throttles` chart, as drawn (rates per second at each row's start).
#[derive(Clone, Debug)]
pub struct LoadPanel {
    /// Panel caption.
    pub caption: String,
    /// What the panel's invocations count.
    pub counted: Counted,
    /// Tops of the stacked layers, bottom first: succeeded, errors and timeouts, throttled by
    /// burst, account, reserved, rate, the API Gateway and capacity (Managed Instances).
    pub stacks: [Points; LAYERS.len()],
    /// New requests per second (messages or records for SQS and streams).
    pub offered: Points,
    /// Retries per second (in the unit of invocations: SQS and stream retries are batches).
    pub retries: Points,
}

impl ChartData {
    /// The panels of the `throttles` chart with the numbers they draw.
    pub fn load_panels(&self) -> Vec<LoadPanel> {
        self.panels()
            .into_iter()
            .map(|(caption, rows, _, counted)| {
                let stacks = std::array::from_fn(|layer| {
                    rows.iter()
                        .map(|r| {
                            let c: u64 = LAYERS[..=layer].iter().map(|&l| layer_count(l, r)).sum();
                            (self.x(r), self.rate(c))
                        })
                        .collect()
                });
                let line = |v: fn(&BucketRow) -> u64| {
                    rows.iter().map(|r| (self.x(r), self.rate(v(r)))).collect()
                };
                LoadPanel {
                    caption,
                    counted,
                    stacks,
                    offered: line(|r| r.arrivals),
                    retries: line(|r| r.retries),
                }
            })
            .collect()
    }

    /// Whether each layer of [`LAYERS`] has any count in the first panel (the account, or the
    /// only function): layers without one are neither drawn nor listed.
    fn layers_present(&self) -> [bool; LAYERS.len()] {
        let panels = self.panels();
        std::array::from_fn(|k| {
            panels
                .first()
                .is_some_and(|p| p.1.iter().any(|r| layer_count(LAYERS[k], r) > 0))
        })
    }
}

pub(super) fn draw<DB: DrawingBackend>(
    d: &ChartData,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let present = d.layers_present();
    let panels = d.load_panels();
    let any_retries = panels
        .first()
        .is_some_and(|p| p.retries.iter().any(|q| q.1 > 0.0));
    let right_axis = panels.iter().any(|p| !p.counted.arrivals_in_same_unit());
    let mut legend = vec![(
        if right_axis {
            format!(
                "{} (messages, records: right axis)",
                Series::Offered.label()
            )
        } else {
            Series::Offered.label().to_string()
        },
        Series::Offered.color(),
        Mark::Line,
    )];
    if any_retries {
        legend.push((
            Series::Retries.label().to_string(),
            Series::Retries.color(),
            Mark::Dashed,
        ));
    }
    for (k, layer) in LAYERS.iter().enumerate() {
        if present[k] || k == 0 {
            legend.push((layer.label().to_string(), layer.color(), Mark::Box));
        }
    }
    if !present[2..].iter().any(|&p| p) {
        legend.push(("no throttles in this run".to_string(), WHITE, Mark::Box));
    }
    let body = frame(
        root,
        &format!(
            "Offered load, invocations by outcome, throttles by reason — {}",
            d.scenario
        ),
        &legend,
    )?;
    let areas: Vec<DrawingArea<DB, Shift>> = if panels.len() <= 1 {
        vec![body]
    } else {
        let (top, bottom) = body.split_vertically(body.dim_in_pixel().1 / 2);
        let mut v = vec![top];
        v.extend(bottom.split_evenly((1, panels.len() - 1)));
        v
    };
    let small = panels.len() > 2;
    let xd = d.x_desc();
    for (idx, (p, area)) in panels.iter().zip(&areas).enumerate() {
        let same_axis = p.counted.arrivals_in_same_unit();
        // Messages or records on the right axis, scaled by the batch size: where the offered
        // line runs above the stack, full batches do not keep up with arrivals.
        let per = if same_axis {
            1.0
        } else {
            p.counted.batch_size.max(1) as f64
        };
        let top = |pts: &Points| pts.iter().map(|q| q.1).fold(0.0, f64::max);
        let y_max = nice_max(
            top(&p.stacks[LAYERS.len() - 1])
                .max(top(&p.retries))
                .max(top(&p.offered) / per),
        );
        let compact = small && idx > 0;
        let mut chart = ChartBuilder::on(area)
            .caption(&p.caption, font(if compact { 17 } else { 20 }))
            .margin(8)
            .x_label_area_size(if compact { 40 } else { 48 })
            .y_label_area_size(if compact { 62 } else { 80 })
            .right_y_label_area_size(if same_axis { 0 } else { 80 })
            .build_cartesian_2d(d.x_lo()..d.x_max, 0f64..y_max)
            .s()?
            .set_secondary_coord(d.x_lo()..d.x_max, 0f64..y_max * per);
        if compact {
            mesh!(
                chart,
                xd.as_str(),
                p.counted.axis(true),
                5,
                5,
                &|v| fmt_num(*v),
                14,
                15
            );
        } else {
            mesh!(chart, xd.as_str(), p.counted.axis(false));
        }
        if !same_axis {
            chart
                .configure_secondary_axes()
                .y_desc(if compact {
                    format!("new msgs/s (= left × {per})")
                } else {
                    format!("new messages or records per second (= left × batch size {per})")
                })
                .y_labels(5)
                .y_label_formatter(&|v| fmt_num(*v))
                .label_style(font(14))
                .axis_desc_style(font(15))
                .draw()
                .s()?;
        }
        for layer in (0..LAYERS.len()).rev() {
            if !present[layer] && layer > 0 {
                continue;
            }
            chart
                .draw_series(AreaSeries::new(
                    p.stacks[layer].iter().copied(),
                    0.0,
                    LAYERS[layer].color().filled(),
                ))
                .s()?;
        }
        // The succeeded band's outline keeps it visible under thin bands above it.
        chart
            .draw_series(LineSeries::new(
                p.stacks[0].iter().copied(),
                RGBColor(49, 130, 189).stroke_width(1),
            ))
            .s()?;
        if any_retries {
            chart
                .draw_series(DashedLineSeries::new(
                    p.retries.iter().copied(),
                    8,
                    5,
                    Series::Retries.color().stroke_width(2),
                ))
                .s()?;
        }
        let offered = LineSeries::new(
            p.offered.iter().copied(),
            Series::Offered.color().stroke_width(2),
        );
        if same_axis {
            chart.draw_series(offered).s()?;
        } else {
            chart.draw_secondary_series(offered).s()?;
        }
    }
    Ok(())
}
