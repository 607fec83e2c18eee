//! The `queues` chart of async, SQS and stream traffic, one panel per quantity that is not zero
//! over the whole run: what waits, the age of the oldest message or record still waiting
//! (SQS `ApproximateAgeOfOldestMessage`, unprocessed stream records), the age of async events
//! when tried (`AsyncEventAge`), the age of stream records when read (`IteratorAge`), and what
//! is given up (DLQ or on-failure destination, dropped). The ages are different quantities and
//! get separate panels.

use super::toolkit::*;
use super::{line_panel, ChartData, Points};
use crate::stats::BucketRow;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One panel of the `queues` chart.
#[derive(Clone, Debug)]
pub struct QueuePanel {
    /// Short name of the panel (stable, for tests and the report).
    pub key: &'static str,
    /// Panel caption.
    pub caption: &'static str,
    /// Y-axis title.
    pub y_desc: &'static str,
    /// (color, drawn runs) per shown function.
    pub lines: Vec<(RGBColor, Vec<Points>)>,
}

/// (key, caption, y title, value of a row).
type PanelDef = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ChartData, &BucketRow) -> f64,
);

/// Every panel the chart may draw, in drawing order.
const PANELS: [PanelDef; 5] = [
    (
        "depth",
        "waiting at the end of each bucket (async events, SQS messages, stream records)",
        "waiting",
        |_, r| r.queue_depth as f64,
    ),
    (
        "oldest_waiting",
        "age of the oldest message or record still waiting (SQS ApproximateAgeOfOldestMessage, unprocessed stream records)",
        "age (s)",
        |_, r| r.queue_oldest_age_ms / 1e3,
    ),
    (
        "async_event_age",
        "AsyncEventAge: oldest async event when tried, in the bucket",
        "age (s)",
        |_, r| r.async_event_age_ms / 1e3,
    ),
    (
        "iterator_age",
        "IteratorAge: oldest stream record when read, in the bucket",
        "age (s)",
        |_, r| r.iterator_age_ms / 1e3,
    ),
    (
        "given_up",
        "given up: sent to the DLQ / on-failure destination, or dropped",
        "per second",
        |d, r| d.rate(r.dead_letters + r.dropped),
    ),
];

impl ChartData {
    /// The panels of the `queues` chart: those of [`PANELS`] with a non-zero value somewhere;
    /// the backlog panel at least, when every one is zero.
    pub fn queue_panels(&self) -> Vec<QueuePanel> {
        let mut out: Vec<QueuePanel> = PANELS
            .iter()
            .map(|&(key, caption, y_desc, v)| QueuePanel {
                key,
                caption,
                y_desc,
                lines: self
                    .shown
                    .iter()
                    .map(|s| {
                        (
                            s.color,
                            runs(s.rows.iter().map(|r| Some((self.x(r), v(self, r))))),
                        )
                    })
                    .collect(),
            })
            .collect();
        let informative = |p: &QueuePanel| {
            p.lines
                .iter()
                .any(|l| l.1.iter().flatten().any(|q| q.1 > 0.0))
        };
        if out.iter().any(informative) {
            out.retain(informative);
        } else {
            out.truncate(1);
        }
        out
    }
}

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
    let panels = d.queue_panels();
    let areas = body.split_evenly((panels.len(), 1));
    for (p, area) in panels.iter().zip(&areas) {
        line_panel(
            d,
            area,
            p.caption,
            p.y_desc,
            &p.lines,
            f64::INFINITY,
            &|v| fmt_num(*v),
        )?;
    }
    Ok(())
}
