//! Wording: the sentences of the narration (segment lines, throttle reasons spelt out, the
//! scaling budget, backlog, totals). Everything here turns numbers into words; nothing decides
//! what a segment is.

use super::why::*;
use super::*;
use crate::stats::ThrottleReason;

pub(super) fn secs(t: Micros) -> String {
    let s = t.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}s", s as u64)
    } else {
        format!("{s:.1}s")
    }
}

pub(super) fn rate_text(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}/s")
    } else {
        format!("{r:.1}/s")
    }
}

/// SQS and stream attempts are batches, not requests: say so next to the rate.
pub(super) fn load_word(model: &Model, f: usize) -> &'static str {
    let batches = model
        .sources
        .iter()
        .filter(|s| s.function == f)
        .all(|s| matches!(s.invocation, Invocation::Sqs | Invocation::Stream));
    if batches {
        "batches"
    } else {
        "load"
    }
}

/// Why a throttle of reason `k` happened, in the platform's words.
pub fn reason_text(model: &Model, f: usize, k: usize) -> String {
    let a = &model.account;
    let fm = &model.functions[f];
    match k {
        0 => match a.scaling {
            Scaling::Burst => format!(
                "burst quota used up / no scaling tokens left (account burst {}, +{} per {})",
                a.bucket_capacity, a.scale_step, a.scale_interval
            ),
            Scaling::PerFunction => format!(
                "scaling budget used up / no scaling tokens left (+{} environments per {})",
                a.scale_step, a.scale_interval
            ),
        },
        1 => format!(
            "account concurrency limit {} reached, unreserved pool of {} full",
            a.concurrency_limit, a.unreserved_pool
        ),
        2 => match fm.reserved {
            Some(0) => "reserved concurrency 0: the function is switched off".into(),
            Some(r) => format!("reserved concurrency {r} reached"),
            None => "reserved concurrency reached".into(),
        },
        4 => gateway_text(model, f),
        5 => "every slot of the function's Managed Instances environments taken while its capacity provider scales (traffic grew faster than it can follow)".into(),
        _ => format!(
            "rate limit: {} invocations per second ({} x account limit)",
            a.rps_limit(),
            a.rps_limit_factor
        ),
    }
}

/// The API Gateway in front of function `f`'s traffic, in words (the first, if several).
fn gateway_text(model: &Model, f: usize) -> String {
    let g = model
        .sources
        .iter()
        .filter(|s| s.function == f)
        .find_map(|s| s.gateway)
        .map(|g| &model.gateways[g as usize]);
    match g {
        Some(g) => format!(
            "API Gateway throttled them before they reached Lambda ({} requests/s, burst {})",
            g.rate, g.burst
        ),
        None => "API Gateway throttled them before they reached Lambda".into(),
    }
}

/// What happens to a throttled attempt, by the function's invocation models.
pub(super) fn retry_note(model: &Model, f: usize) -> &'static str {
    let kinds: Vec<Invocation> = model
        .sources
        .iter()
        .filter(|s| s.function == f)
        .map(|s| s.invocation)
        .collect();
    match kinds.as_slice() {
        [Invocation::Async] => {
            " (async: the event goes back to the internal queue and is retried with backoff)"
        }
        [Invocation::Sqs] => " (SQS: the batch returns to the queue after the visibility timeout)",
        [Invocation::Stream] => " (stream: the batch is retried and its shard waits)",
        _ => "",
    }
}

/// Who holds the unreserved pool while `f` is throttled for the account limit: the other
/// unreserved function with the highest concurrency in the same buckets (the noisy neighbour).
pub(super) fn pool_holder(
    model: &Model,
    rows: &[Vec<BucketRow>],
    f: usize,
    range: std::ops::Range<usize>,
) -> Option<String> {
    (0..model.functions.len())
        .filter(|&g| g != f && model.functions[g].reserved.is_none())
        .filter_map(|g| {
            let peak = rows[g]
                .get(range.clone())?
                .iter()
                .map(|r| r.concurrency_max)
                .max()?;
            Some((peak, g))
        })
        .filter(|&(peak, _)| peak > 0)
        .max()
        .map(|(peak, g)| {
            let own = rows[f]
                .get(range.clone())
                .and_then(|r| r.iter().map(|r| r.concurrency_max).max())
                .unwrap_or(0);
            let name = &model.functions[g].name;
            if own >= peak {
                format!("held mostly by this function, up to {own}; {name} up to {peak}")
            } else {
                format!("{name} holds up to {peak} of it")
            }
        })
}

/// What every line of one function's story needs.
pub(super) struct Story<'a> {
    pub(super) model: &'a Model,
    pub(super) f: usize,
    /// Length of one row (the bucket, or more on long runs).
    pub(super) width: Micros,
    /// The function's highest concurrency in the window.
    pub(super) run_peak: u32,
    /// Throttle reasons already explained in full (later lines say them in short).
    pub(super) explained: [bool; REASONS.len()],
    /// Provisioned concurrency configured at the end of the previous line.
    pub(super) prov_prev: Option<u32>,
}

/// One timeline line for the buckets of a segment.
pub(super) fn narrate(
    story: &mut Story,
    rows: &[&BucketRow],
    prev_rate: Option<f64>,
    holder: Option<&str>,
) -> String {
    let (model, f, width, run_peak) = (story.model, story.f, story.width, story.run_peak);
    let explained = &mut story.explained;
    let fm = &model.functions[f];
    let start = rows[0].start;
    let end = (rows[rows.len() - 1].start + width).min(model.duration);
    let secs_len = (end - start).as_secs_f64().max(1e-6);
    let mut sum = BucketRow::default();
    for r in rows {
        sum.add_counts(r);
    }
    let att = sum.invocations + sum.throttles_total();
    let mut parts: Vec<String> = Vec::new();
    let row_secs = width.as_secs_f64().max(1e-6);
    let first_rate = rows[0].arrivals as f64 / row_secs;
    let last_rate = rows[rows.len() - 1].arrivals as f64 / row_secs;
    let rate = sum.arrivals as f64 / secs_len;
    let u = unit(model, f);
    let per = |r: f64| per_text(u, r);
    // New arrivals first (they are the load the world offers), retries apart.
    let mut load = match prev_rate {
        _ if sum.arrivals == 0 => "no new arrivals".to_string(),
        Some(p) if rate > 1.25 * p + 1.0 => format!("arrivals rise to {}", per(rate)),
        Some(p) if rate + 1.0 < 0.8 * p => format!("arrivals fall to {}", per(rate)),
        _ => format!("arrivals {}", per(rate)),
    };
    if rows.len() >= 3 && last_rate > 1.5 * first_rate + 2.0 {
        let _ = write!(load, " (ramping {} -> {})", per(first_rate), per(last_rate));
    } else if rows.len() >= 3 && first_rate > 1.5 * last_rate + 2.0 {
        let _ = write!(load, " (falling {} -> {})", per(first_rate), per(last_rate));
    }
    if sum.retries > 0 {
        let what = match u {
            "messages" => "redelivered batches",
            "records" => "batch retries",
            _ => "retries",
        };
        let r = sum.retries as f64 / secs_len;
        if r < 0.05 {
            let _ = write!(load, ", plus {} {what}", sum.retries);
        } else {
            let _ = write!(load, ", plus {} {what}", rate_text(r));
        }
    }
    if load_word(model, f) == "batches" {
        let _ = write!(load, ", batches {}", rate_text(att as f64 / secs_len));
    }
    parts.push(format!("{load}, {} invocations", sum.invocations));
    if sum.cold_starts > 0 {
        parts.push(format!(
            "{} cold starts{}",
            sum.cold_starts,
            restore_note(fm)
        ));
    }
    if let Some(p) = super::provisioned::provisioned_text(model, f, rows, story.prov_prev, width) {
        parts.push(p);
    }
    story.prov_prev = rows.last().map(|r| r.provisioned);
    if fm.provisioned_plan.varies() && sum.spillover > 0 {
        parts.push(format!(
            "{} invocations spilled over to on-demand while provisioned environments were busy or not yet ready",
            sum.spillover
        ));
    } else if fm.provisioned > 0 && sum.spillover > 0 {
        parts.push(format!(
            "all {} provisioned environments busy: {} invocations spilled over to on-demand",
            fm.provisioned, sum.spillover
        ));
    }
    for k in 0..REASONS.len() {
        if sum.throttles[ThrottleReason::ALL[k]] > 0 {
            // The reason in full the first time, in short afterwards.
            let why = if explained[k] {
                SHORT_REASONS[k].to_string()
            } else {
                explained[k] = true;
                format!("{}{}", reason_text(model, f, k), retry_note(model, f))
            };
            let mut part = format!(
                "{} throttled ({}): {why}",
                sum.throttles[ThrottleReason::ALL[k]],
                REASONS[k]
            );
            if let (1, Some(h)) = (k, holder) {
                part.push_str(&format!(" ({h})"));
            }
            parts.push(part);
        }
    }
    if sum.errors > 0 {
        parts.push(format!("{} errors or timeouts", sum.errors));
    }
    let peak = rows.iter().map(|r| r.concurrency_max).max().unwrap_or(0);
    if peak > 0 {
        let mut c = format!("concurrency up to {peak}");
        if peak == run_peak {
            c.push_str(" (peak)");
        }
        if let Some(cap) = cap_reached(model, f, peak) {
            c.push_str(&cap);
        }
        parts.push(c);
    }
    parts.extend(scaling_budget_text(model, rows, start, end));
    parts.extend(backlog_text(rows, &sum));
    parts.extend(backlog_why(model, f, rows, &sum));
    format!("{:>6}-{:<6} {}", secs(start), secs(end), parts.join("; "))
}

/// Queues of async, SQS and stream sources: how deep and how old the backlog got, what went
/// to the DLQ or was dropped. Nothing for sync traffic (those columns stay zero).
pub(super) fn backlog_text(rows: &[&BucketRow], sum: &BucketRow) -> Vec<String> {
    let mut parts = Vec::new();
    let max_f = |get: fn(&BucketRow) -> f64| rows.iter().map(|r| get(r)).fold(0.0, f64::max);
    let depth = rows.iter().map(|r| r.queue_depth).max().unwrap_or(0);
    let oldest = max_f(|r| r.queue_oldest_age_ms);
    let async_age = max_f(|r| r.async_event_age_ms);
    let iter_age = max_f(|r| r.iterator_age_ms);
    if depth > 0 && (oldest >= 1000.0 || async_age >= 1000.0 || iter_age >= 1000.0) {
        let end = rows[rows.len() - 1].queue_depth;
        parts.push(format!("backlog up to {depth} waiting ({end} at the end)"));
    }
    if async_age >= 100.0 {
        parts.push(format!("oldest async event {:.1}s old", async_age / 1e3));
    }
    if oldest >= 1000.0 {
        parts.push(format!("oldest queued message {:.1}s old", oldest / 1e3));
    }
    if iter_age >= 100.0 {
        parts.push(format!("iterator age up to {:.1}s", iter_age / 1e3));
    }
    if sum.dead_letters > 0 {
        parts.push(format!(
            "{} sent to the DLQ / on-failure destination",
            sum.dead_letters
        ));
    }
    if sum.dropped > 0 {
        parts.push(format!("{} dropped", sum.dropped));
    }
    parts
}

/// What the scaling budget did in a segment: emptied, refilled (step refills at whole
/// intervals are named, since they are the staircase's steps), or filled up again.
pub(super) fn scaling_budget_text(
    model: &Model,
    rows: &[&BucketRow],
    start: Micros,
    end: Micros,
) -> Option<String> {
    let a = &model.account;
    let first = rows[0].scaling_tokens;
    let last = rows[rows.len() - 1].scaling_tokens;
    let empty = rows.iter().any(|r| r.scaling_tokens == 0);
    let step = a.scale_refill == Refill::Step;
    if empty && step {
        let iv = a.scale_interval.0.max(1);
        let steps: Vec<String> = (start.0.div_ceil(iv).max(1)..)
            .map(|k| k * iv)
            .take_while(|&t| t < end.0)
            .map(|t| secs(Micros(t)))
            .collect();
        if steps.is_empty() {
            Some("scaling budget empty".into())
        } else {
            Some(format!(
                "scaling budget empty; +{} at {} (spent on new environments at once)",
                a.scale_step,
                steps.join(", ")
            ))
        }
    } else if empty {
        Some(format!(
            "scaling budget empty (refills {} per {}, each token spent at once)",
            a.scale_step, a.scale_interval
        ))
    } else if last > first + a.scale_step as u64 / 10 && first < a.bucket_capacity as u64 {
        Some(format!("scaling budget refills {first} -> {last}"))
    } else {
        None
    }
}

/// Closing paragraph for one function: the summary's totals (whole run) or the window's sums.
pub(super) fn totals(
    model: &Model,
    f: usize,
    rows: &[&BucketRow],
    s: &FunctionSummary,
    whole_run: bool,
) -> String {
    let mut t = String::new();
    if whole_run {
        let th = &s.throttles;
        let _ = writeln!(
            t,
            "  Totals: {} requests, {} attempts ({} retries), {} invocations, {} succeeded, {} failed; {} throttled (burst {}, account {}, reserved {}, rate {}{});",
            s.requests, s.attempts, s.retries, s.invocations, s.succeeded, s.failed, th.total, th.burst, th.account, th.reserved, th.rate,
            other_reasons(th.gateway, th.capacity)
        );
        let mut line = format!(
            "  {} cold starts{} ({:.2} % of invocations), peak concurrency {}, mean {:.1}; latency p50 {:.0} ms, p99 {:.0} ms; cost ${:.4}",
            s.cold_starts,
            restore_note(&model.functions[f]),
            100.0 * s.cold_start_ratio,
            s.concurrency.peak,
            s.concurrency.mean,
            s.latency_ms.p50,
            s.latency_ms.p99,
            s.cost_usd.total
        );
        if model.functions[f].provisioned > 0 || model.functions[f].provisioned_plan.varies() {
            let _ = write!(
                line,
                "; provisioned utilization {:.0} %, {} spillover invocations",
                100.0 * s.provisioned.utilization_mean,
                s.provisioned.spillover_invocations
            );
        }
        if s.dlq > 0 || s.dropped > 0 {
            let _ = write!(line, "; {} to the DLQ, {} dropped", s.dlq, s.dropped);
        }
        if s.in_flight > 0 {
            let _ = write!(line, "; {} still queued or running at the end", s.in_flight);
        }
        let _ = writeln!(t, "{line}.");
        t.push_str(&gateway_totals(model, f, s));
    } else {
        let mut sum = BucketRow::default();
        for r in rows {
            sum.add_counts(r);
        }
        let peak = rows.iter().map(|r| r.concurrency_max).max().unwrap_or(0);
        let th = &sum.throttles;
        let _ = writeln!(
            t,
            "  Window totals: {} attempts, {} invocations; {} throttled (burst {}, account {}, reserved {}, rate {}{}); {} cold starts; peak concurrency {}.",
            sum.invocations + sum.throttles_total(),
            sum.invocations,
            sum.throttles_total(),
            th[ThrottleReason::Burst],
            th[ThrottleReason::Account],
            th[ThrottleReason::Reserved],
            th[ThrottleReason::Rate],
            other_reasons(th[ThrottleReason::Gateway], th[ThrottleReason::Capacity]),
            sum.cold_starts,
            peak
        );
    }
    t
}

/// The throttle reasons outside Lambda's own limits, named only when they happened (so the
/// totals of a run without them read as they always did).
fn other_reasons(gateway: u64, capacity: u64) -> String {
    let mut t = String::new();
    if gateway > 0 {
        let _ = write!(t, ", gateway {gateway}");
    }
    if capacity > 0 {
        let _ = write!(t, ", capacity {capacity}");
    }
    t
}

/// How a SnapStart function's cold starts differ: they restore a snapshot instead of running
/// INIT (empty for other functions).
fn restore_note(fm: &crate::model::FunctionModel) -> &'static str {
    if fm.snapstart_on {
        ", all SnapStart restores"
    } else {
        ""
    }
}

/// The API Gateway's part of the totals: its throttles and its integration timeouts (empty
/// when neither happened).
fn gateway_totals(model: &Model, f: usize, s: &FunctionSummary) -> String {
    let mut t = String::new();
    if s.throttles.gateway > 0 {
        let _ = writeln!(
            t,
            "  API Gateway throttled {} requests before they reached Lambda (429 Too Many Requests).",
            s.throttles.gateway
        );
    }
    if s.gateway_timeouts > 0 {
        let timeout = model
            .sources
            .iter()
            .filter(|src| src.function == f)
            .find_map(|src| src.gateway)
            .map(|g| secs(model.gateways[g as usize].timeout))
            .unwrap_or_default();
        let _ = writeln!(
            t,
            "  {} attempts hit API Gateway's integration timeout ({timeout}): the client got a 504 while the function ran on, billed to its end.",
            s.gateway_timeouts
        );
    }
    t
}
