//! The `queues` chart of async, SQS and stream traffic: backlog and age per function.

use super::toolkit::*;
use super::{line_panel, ChartData, Points};
use crate::stats::BucketRow;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Queues of async, SQS and stream traffic: what waits, how old the oldest is, and what is
/// given up (DLQ or dropped).
pub(super) fn draw<DB: DrawingBackend>(
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
