//! Narration of provisioned concurrency that changes during a run: a scale-out or scale-in by
//! target tracking, or a scheduled action, named with the rule that triggered it
//! (engine/provisioned.rs has the model; the numbers come from the rows'
//! `ProvisionedConcurrencyConfigured`).

use crate::model::Model;
use crate::scenario::provisioned::SCALE_IN_SHARE;
use crate::stats::BucketRow;
use crate::time::Micros;

/// Values shown in full; longer chains show their ends and the number of steps.
const SHOWN: usize = 4;

/// The changes of the configured provisioned concurrency of function `f` over `rows` (after
/// `prev`, the value at the end of the previous line), as one clause, or `None` when it did not
/// change. `width` is the length of one row.
pub(super) fn provisioned_text(
    model: &Model,
    f: usize,
    rows: &[&BucketRow],
    prev: Option<u32>,
    width: Micros,
) -> Option<String> {
    let plan = &model.functions[f].provisioned_plan;
    if !plan.varies() || rows.is_empty() {
        return None;
    }
    let mut chain: Vec<u32> = prev.into_iter().collect();
    for r in rows {
        if chain.last() != Some(&r.provisioned) {
            chain.push(r.provisioned);
        }
    }
    if chain.len() < 2 {
        return None;
    }
    let (from, to) = (chain[0], chain[chain.len() - 1]);
    let values = if chain.len() <= SHOWN {
        chain
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" -> ")
    } else {
        format!("{from} -> ... -> {to} in {} steps", chain.len() - 1)
    };
    let start = rows[0].start;
    let end = rows[rows.len() - 1].start + width;
    let scheduled = plan
        .schedule
        .iter()
        .any(|&(at, _)| at >= start.saturating_sub(width) && at < end);
    let up = chain.windows(2).any(|w| w[1] > w[0]);
    let down = chain.windows(2).any(|w| w[1] < w[0]);
    let verb = match (up, down) {
        (true, false) => "scaled out",
        (false, true) => "scaled in",
        _ => "changed",
    };
    let why = match (&plan.autoscaling, scheduled) {
        (_, true) => "a scheduled action".to_string(),
        (Some(a), false) if up && !down => format!(
            "auto scaling: {} one-minute datapoints in a row above the {:.0} % utilization target; new environments run INIT before they serve",
            a.scale_out_datapoints,
            100.0 * a.target
        ),
        (Some(a), false) if down && !up => format!(
            "auto scaling: {} one-minute datapoints in a row below {:.0} % utilization ({:.0} % of the target)",
            a.scale_in_datapoints,
            100.0 * SCALE_IN_SHARE * a.target,
            100.0 * SCALE_IN_SHARE
        ),
        _ => "auto scaling".to_string(),
    };
    Some(format!("provisioned concurrency {verb} {values} ({why})"))
}
