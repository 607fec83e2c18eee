//! The `managed` chart, drawn for runs with a Lambda Managed Instances capacity provider: over
//! time, the instances and execution environments serving (top), and the requests in flight per
//! environment with the environments' vCPU utilization (bottom), per shown function on a
//! provider. Its numbers are the timeseries.csv columns `ManagedInstances`,
//! `ManagedExecutionEnvironments`, `InFlightPerExecutionEnvironment` and
//! `ExecutionEnvironmentVCPUUtilization`.

use super::toolkit::*;
use super::{line_panel, ChartData, Points};
use crate::stats::BucketRow;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Colour of the instances line.
const INSTANCES: RGBColor = RGBColor(0, 0, 0);

/// (label, colour, points) of the top panel: the account's instances, then each shown managed
/// function's environments.
pub fn level_lines(d: &ChartData) -> Vec<(String, RGBColor, Vec<Points>)> {
    let pt = |f: fn(&BucketRow) -> f64| move |r: &BucketRow| r.managed.then(|| (d.x(r), f(r)));
    let mut v = vec![(
        "instances (all capacity providers)".to_string(),
        INSTANCES,
        runs(d.account.iter().map(pt(|r| r.managed_instances as f64))),
    )];
    for s in d.shown.iter().filter(|s| s.rows.iter().any(|r| r.managed)) {
        v.push((
            format!("{}: execution environments", s.label),
            s.color,
            runs(s.rows.iter().map(pt(|r| r.managed_environments as f64))),
        ));
    }
    v
}

pub(super) fn draw<DB: DrawingBackend>(
    d: &ChartData,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let levels = level_lines(d);
    let legend: Vec<(String, RGBColor, Mark)> = levels
        .iter()
        .map(|l| (l.0.clone(), l.1, Mark::Line))
        .collect();
    let body = frame(
        root,
        &format!("Lambda Managed Instances — {}", d.scenario),
        &legend,
    )?;
    let (_, h) = body.dim_in_pixel();
    let (top, bottom) = body.split_vertically(h / 2);
    let top_lines: Vec<(RGBColor, Vec<Points>)> =
        levels.iter().map(|l| (l.1, l.2.clone())).collect();
    line_panel(
        d,
        &top,
        "instances and execution environments (maximum per bucket)",
        "count",
        &top_lines,
        f64::INFINITY,
        &|v| fmt_num(*v),
    )?;
    let (bl, br) = bottom.split_horizontally(bottom.dim_in_pixel().0 / 2);
    let managed: Vec<_> = d
        .shown
        .iter()
        .filter(|s| s.rows.iter().any(|r| r.managed))
        .collect();
    let per_env: Vec<(RGBColor, Vec<Points>)> = managed
        .iter()
        .map(|s| {
            let pts = s.rows.iter().map(|r| {
                r.managed
                    .then(|| (d.x(r), r.managed_in_flight_per_environment))
            });
            (s.color, runs(pts))
        })
        .collect();
    line_panel(
        d,
        &bl,
        "requests in flight per environment (mean)",
        "in flight per environment",
        &per_env,
        f64::INFINITY,
        &|v| fmt_num(*v),
    )?;
    let cpu: Vec<(RGBColor, Vec<Points>)> = managed
        .iter()
        .map(|s| {
            let pts = s.rows.iter().map(|r| {
                r.managed
                    .then(|| (d.x(r), 100.0 * r.managed_vcpu_utilization))
            });
            (s.color, runs(pts))
        })
        .collect();
    line_panel(
        d,
        &br,
        "ExecutionEnvironmentVCPUUtilization (mean)",
        "vCPU utilization (%)",
        &cpu,
        105.0,
        &|v| format!("{}%", fmt_num(*v)),
    )
}
