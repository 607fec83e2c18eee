//! `lambdasim explain`: a short narrated timeline of what happened in a run, and why.
//!
//! Made for teaching, so it favours a few plain sentences over completeness. It reads only the
//! per-bucket rows a run records (the same numbers as `timeseries.csv`) and the run summary; it
//! never reaches into the engine. The timeline is built in two passes:
//!
//! 1. consecutive buckets with the same *story* are joined: the same set of throttle reasons,
//!    the same "cold-start wave", "scaling budget empty", spillover and backlog flags, and a load
//!    within Poisson noise or 25 % of the segment's mean;
//! 2. while a function has more segments than its line budget, the two neighbours whose
//!    boundary matters least (fewest differing flags, smallest load change, shortest segment)
//!    are joined. So a one-second wave of 3000 cold starts at t = 0 keeps its own line, and
//!    a flapping trickle of idle-reclaim cold starts does not.
//!
//! Each segment line names the change (load rises / falls) and the throttles by reason with the
//! reason spelt out (burst quota used up, account limit reached, reservation reached, rate
//! limit). A totals paragraph per function closes the story; without `--from/--to` its numbers
//! are the summary's (the same as summary.json).

use crate::error::{Error, KeyPath};
use crate::model::Model;
use crate::run::simulate;
use crate::scenario::{Invocation, Refill, Scaling};
use crate::stats::summary::FunctionSummary;
use crate::stats::{BucketRow, Recorder, ThrottleReason};
use crate::time::Micros;
use std::fmt::Write as _;
use std::path::Path;

/// What to narrate.
#[derive(Clone, Debug, Default)]
pub struct ExplainOptions {
    /// Only this function (by name); default every function.
    pub function: Option<String>,
    /// Window start (bucket-aligned: buckets that start at or after it).
    pub from: Option<Micros>,
    /// Window end (buckets that start before it).
    pub to: Option<Micros>,
}

/// Most timeline lines over all narrated functions (each function gets 3 to 12).
const LINE_BUDGET: usize = 24;
const FUNCTION_BUDGET: usize = 12;

/// Plain-words reasons, in the order of `BucketRow::throttles` (burst, account, reserved, rate).
const REASONS: [&str; 4] = ["burst", "account", "reserved", "rate"];
const SHORT_REASONS: [&str; 4] = [
    "no scaling tokens left",
    "account limit reached",
    "reservation reached",
    "rate limit",
];

/// Most rows kept per function: beyond it, neighbouring buckets are joined in pairs, so memory
/// stays bounded whatever the simulated time (a 90-day run of 1 s buckets has 7.8 million).
const MAX_ROWS: usize = 16_384;

/// Keeps the rows of the narrated functions inside the window, coarsening in pairs when there
/// are too many. Counts add up exactly; levels keep their maximum (concurrency, queue depth,
/// ages) or minimum (scaling tokens, so "budget empty" survives).
struct WindowRecorder {
    functions: Vec<usize>,
    from: Micros,
    to: Micros,
    /// Per narrated function, its rows in time order.
    rows: Vec<Vec<BucketRow>>,
    /// Length of one kept row.
    width: Micros,
}

/// `b` (the later bucket) joins `a`.
fn join(a: &mut BucketRow, b: &BucketRow) {
    a.add_counts(b);
    a.concurrency_max = a.concurrency_max.max(b.concurrency_max);
    a.scaling_tokens = a.scaling_tokens.min(b.scaling_tokens);
    a.queue_depth = a.queue_depth.max(b.queue_depth);
    a.queue_oldest_age_ms = a.queue_oldest_age_ms.max(b.queue_oldest_age_ms);
    a.async_event_age_ms = a.async_event_age_ms.max(b.async_event_age_ms);
    a.iterator_age_ms = a.iterator_age_ms.max(b.iterator_age_ms);
}

impl WindowRecorder {
    fn coarsen(&mut self) {
        for rows in &mut self.rows {
            let mut out = Vec::with_capacity(rows.len() / 2 + 1);
            for pair in rows.chunks(2) {
                let mut r = pair[0].clone();
                if let Some(b) = pair.get(1) {
                    join(&mut r, b);
                }
                out.push(r);
            }
            *rows = out;
        }
        self.width = Micros(self.width.0 * 2);
    }
}

impl Recorder for WindowRecorder {
    fn bucket(&mut self, rows: &[BucketRow]) {
        for (k, &f) in self.functions.iter().enumerate() {
            let Some(r) = rows.get(f) else { continue };
            if r.start < self.from || r.start >= self.to {
                continue;
            }
            // A row joins the last kept one while that one still spans less than `width`.
            let kept = &mut self.rows[k];
            match kept.last_mut() {
                Some(last) if r.start.0 < last.start.0 + self.width.0 => join(last, r),
                _ => kept.push(r.clone()),
            }
        }
        if self.rows.iter().any(|r| r.len() > MAX_ROWS) {
            self.coarsen();
        }
    }
}

/// Runs the model and returns the narration. `file` names the scenario in error messages.
pub fn explain(model: &Model, file: &Path, opts: &ExplainOptions) -> Result<String, Error> {
    let selected: Vec<usize> = match &opts.function {
        Some(name) => match model.functions.iter().position(|f| &f.name == name) {
            Some(i) => vec![i],
            None => {
                let names: Vec<&str> = model.functions.iter().map(|f| f.name.as_str()).collect();
                return Err(Error::input(
                    file,
                    KeyPath::parse("--function"),
                    format!(
                        "no function named {name:?} in this scenario (functions: {})",
                        names.join(", ")
                    ),
                ));
            }
        },
        None => (0..model.functions.len()).collect(),
    };
    let from = opts.from.unwrap_or(Micros::ZERO);
    let to = opts.to.unwrap_or(model.duration).min(model.duration);
    if from >= to {
        return Err(Error::input(
            file,
            KeyPath::parse("--from"),
            format!(
                "the window {from}..{to} is empty (the run lasts {}; --from must be before --to)",
                model.duration
            ),
        ));
    }
    let mut rec = WindowRecorder {
        // Every function: a throttle for the account limit names who holds the pool.
        functions: (0..model.functions.len()).collect(),
        from,
        to,
        rows: vec![Vec::new(); model.functions.len()],
        width: model.bucket,
    };
    let out = simulate(model, &mut rec);
    let width = rec.width;
    let whole_run = from == Micros::ZERO && to == model.duration;

    let mut text = String::new();
    let _ = writeln!(text, "{}", header(model, from, to, whole_run));
    if width != model.bucket {
        let _ = writeln!(
            text,
            "(a long run: the timeline reads {width} steps, {} buckets joined in each)",
            width.0 / model.bucket.0.max(1)
        );
    }
    let budget = (LINE_BUDGET / selected.len()).clamp(3, FUNCTION_BUDGET);
    for &f in &selected {
        let fm = &model.functions[f];
        let mine: Vec<&BucketRow> = rec.rows[f].iter().collect();
        let _ = writeln!(text, "\n{}", function_heading(model, f));
        let segments = merge_to_budget(segment(&mine, width), budget);
        let peak = mine.iter().map(|r| r.concurrency_max).max().unwrap_or(0);
        let mut prev_rate: Option<f64> = None;
        let mut story = Story {
            model,
            f,
            width,
            run_peak: peak,
            explained: [false; 4],
        };
        for s in &segments {
            let rows = &mine[s.first..s.last + 1];
            let holder = pool_holder(model, &rec.rows, f, s.first..s.last + 1);
            let _ = writeln!(
                text,
                "  {}",
                narrate(&mut story, rows, prev_rate, holder.as_deref())
            );
            prev_rate = Some(s.rate);
        }
        if segments.is_empty() {
            let _ = writeln!(text, "  (no buckets in this window)");
        }
        let summary = out.summary.function(&fm.name).cloned().unwrap_or_default();
        let _ = write!(text, "{}", totals(model, f, &mine, &summary, whole_run));
    }
    Ok(text)
}

fn header(model: &Model, from: Micros, to: Micros, whole_run: bool) -> String {
    let a = &model.account;
    let scaling = match a.scaling {
        Scaling::PerFunction => format!(
            "per-function scaling ({} new environments per {} per function)",
            a.scale_step, a.scale_interval
        ),
        Scaling::Burst => format!(
            "legacy burst scaling (account burst quota {}, then +{} per {})",
            a.bucket_capacity, a.scale_step, a.scale_interval
        ),
    };
    let window = if whole_run {
        format!("{} simulated", model.duration)
    } else {
        format!("window {from}..{to} of {}", model.duration)
    };
    format!(
        "Scenario {} (seed {}), {window}, {}-buckets; account concurrency limit {}, {scaling}.",
        model.name, model.seed, model.bucket, a.concurrency_limit
    )
}

fn function_heading(model: &Model, f: usize) -> String {
    let fm = &model.functions[f];
    let mut parts = vec![format!(
        "{} MB {}",
        fm.memory_mb,
        crate::whatif::arch_name(fm.architecture)
    )];
    match fm.reserved {
        Some(0) => parts.push("reserved concurrency 0 (switched off)".into()),
        Some(r) => parts.push(format!("reserved concurrency {r}")),
        None => parts.push("no reservation (shares the unreserved pool)".into()),
    }
    if fm.provisioned > 0 {
        parts.push(format!("{} provisioned environments", fm.provisioned));
    }
    let kinds: Vec<&str> = model
        .sources
        .iter()
        .filter(|s| s.function == f)
        .map(|s| invocation_word(s.invocation))
        .collect();
    if !kinds.is_empty() {
        parts.push(format!("{} traffic", kinds.join(" + ")));
    }
    format!("Function {} ({}):", fm.name, parts.join(", "))
}

fn invocation_word(i: Invocation) -> &'static str {
    match i {
        Invocation::Sync => "sync",
        Invocation::Async => "async",
        Invocation::Sqs => "SQS",
        Invocation::Stream => "stream",
    }
}

/// Flags that make up a bucket's story; buckets with equal flags and similar load are joined.
/// Each flag needs a noticeable share (a trickle of idle-reclaim cold starts or a couple of
/// spillovers is not a new chapter; the segment's line still counts them).
fn flags(r: &BucketRow) -> u32 {
    let att = attempts(r);
    let mut m = 0;
    for (reason, n) in r.throttles.iter() {
        if n >= 5 || (n > 0 && n * 100 >= att) {
            m |= 1 << reason as u32;
        }
    }
    // A wave: at least 5 % of the invocations started cold.
    if r.cold_starts > 0 && r.cold_starts * 20 >= r.invocations.max(1) {
        m |= 1 << 4;
    }
    if r.scaling_tokens == 0 {
        m |= 1 << 5;
    }
    if r.spillover > 0 && r.spillover * 20 >= r.invocations.max(1) {
        m |= 1 << 6;
    }
    if r.dead_letters > 0 {
        m |= 1 << 7;
    }
    // A backlog: something has waited more than a second (async queue, SQS queue, stream).
    if r.async_event_age_ms >= 1000.0
        || r.iterator_age_ms >= 1000.0
        || r.queue_oldest_age_ms >= 1000.0
    {
        m |= 1 << 8;
    }
    if r.dropped > 0 {
        m |= 1 << 9;
    }
    m
}

fn attempts(r: &BucketRow) -> u64 {
    r.invocations + r.throttles_total()
}

/// A run of buckets `first..=last` (indices into the function's rows).
#[derive(Clone, Debug)]
struct Segment {
    first: usize,
    last: usize,
    flags: u32,
    /// Mean attempts per second.
    rate: f64,
}

impl Segment {
    fn len(&self) -> usize {
        self.last - self.first + 1
    }
}

/// Pass 1: join consecutive buckets with the same flags and a load within noise of the mean.
fn segment(rows: &[&BucketRow], bucket: Micros) -> Vec<Segment> {
    let secs = bucket.as_secs_f64().max(1e-6);
    let mut out: Vec<Segment> = Vec::new();
    let mut sum = 0u64;
    for (i, r) in rows.iter().enumerate() {
        let fl = flags(r);
        let n = attempts(r);
        if let Some(s) = out.last_mut() {
            let mean = sum as f64 / s.len() as f64;
            // Poisson noise is about sqrt(mean); 5 sigma or 25 %, whichever is larger.
            let tolerance = (0.25 * mean).max(5.0 * mean.sqrt()).max(2.0);
            if s.flags == fl && (n as f64 - mean).abs() <= tolerance {
                s.last = i;
                sum += n;
                s.rate = sum as f64 / s.len() as f64 / secs;
                continue;
            }
        }
        sum = n;
        out.push(Segment {
            first: i,
            last: i,
            flags: fl,
            rate: n as f64 / secs,
        });
    }
    out
}

/// How much the boundary between two neighbours matters: differing flags and load change,
/// weighted by the shorter side's length (a lone bucket is the first to be absorbed).
fn boundary_weight(a: &Segment, b: &Segment) -> f64 {
    let flags = (a.flags ^ b.flags).count_ones() as f64;
    let load = ((a.rate + 1.0) / (b.rate + 1.0)).ln().abs();
    (1.0 + 2.0 * flags + 3.0 * load) * (1.0 + (a.len().min(b.len()) as f64).ln())
}

/// Pass 2: join the least important boundaries until at most `budget` segments remain.
fn merge_to_budget(mut segs: Vec<Segment>, budget: usize) -> Vec<Segment> {
    while segs.len() > budget {
        let mut best = 0;
        let mut best_w = f64::INFINITY;
        for i in 0..segs.len() - 1 {
            let w = boundary_weight(&segs[i], &segs[i + 1]);
            if w < best_w {
                best_w = w;
                best = i;
            }
        }
        let b = segs.remove(best + 1);
        let a = &mut segs[best];
        let total = a.rate * a.len() as f64 + b.rate * b.len() as f64;
        a.last = b.last;
        a.flags |= b.flags;
        a.rate = total / a.len() as f64;
    }
    segs
}

fn secs(t: Micros) -> String {
    let s = t.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}s", s as u64)
    } else {
        format!("{s:.1}s")
    }
}

fn rate_text(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}/s")
    } else {
        format!("{r:.1}/s")
    }
}

/// SQS and stream attempts are batches, not requests: say so next to the rate.
fn load_word(model: &Model, f: usize) -> &'static str {
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
        _ => format!(
            "rate limit: {} invocations per second ({} x account limit)",
            a.rps_limit_factor as u64 * a.concurrency_limit as u64,
            a.rps_limit_factor
        ),
    }
}

/// What happens to a throttled attempt, by the function's invocation models.
fn retry_note(model: &Model, f: usize) -> &'static str {
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
fn pool_holder(
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
struct Story<'a> {
    model: &'a Model,
    f: usize,
    /// Length of one row (the bucket, or more on long runs).
    width: Micros,
    /// The function's highest concurrency in the window.
    run_peak: u32,
    /// Throttle reasons already explained in full (later lines say them in short).
    explained: [bool; 4],
}

/// One timeline line for the buckets of a segment.
fn narrate(
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
    let rate = att as f64 / secs_len;
    let mut parts: Vec<String> = Vec::new();
    let first_rate = attempts(rows[0]) as f64 / width.as_secs_f64().max(1e-6);
    let last_rate = attempts(rows[rows.len() - 1]) as f64 / width.as_secs_f64().max(1e-6);
    let w = load_word(model, f);
    let load = match prev_rate {
        None if att == 0 => format!("no {w}"),
        None => format!("{w} {}", rate_text(rate)),
        Some(p) if rate > 1.25 * p + 1.0 => format!("{w} rise to {}", rate_text(rate)),
        Some(p) if rate + 1.0 < 0.8 * p => format!("{w} fall to {}", rate_text(rate)),
        Some(_) => format!("{w} {}", rate_text(rate)),
    };
    let load = load
        .replace("load rise ", "load rises ")
        .replace("load fall ", "load falls ");
    let trend = if rows.len() >= 3 && last_rate > 1.5 * first_rate + 2.0 {
        format!(
            " (ramping {} -> {})",
            rate_text(first_rate),
            rate_text(last_rate)
        )
    } else if rows.len() >= 3 && first_rate > 1.5 * last_rate + 2.0 {
        format!(
            " (falling {} -> {})",
            rate_text(first_rate),
            rate_text(last_rate)
        )
    } else {
        String::new()
    };
    parts.push(format!("{load}{trend}, {} invocations", sum.invocations));
    if sum.cold_starts > 0 {
        parts.push(format!("{} cold starts", sum.cold_starts));
    }
    if fm.provisioned > 0 && sum.spillover > 0 {
        parts.push(format!(
            "all {} provisioned environments busy: {} invocations spilled over to on-demand",
            fm.provisioned, sum.spillover
        ));
    }
    for (k, reason) in ThrottleReason::ALL.into_iter().enumerate() {
        if sum.throttles[reason] > 0 {
            // The reason in full the first time, in short afterwards.
            let why = if explained[k] {
                SHORT_REASONS[k].to_string()
            } else {
                explained[k] = true;
                format!("{}{}", reason_text(model, f, k), retry_note(model, f))
            };
            let mut part = format!(
                "{} throttled ({}): {why}",
                sum.throttles[reason], REASONS[k]
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
        if fm.reserved == Some(peak) {
            c.push_str(" = its reservation");
        } else if peak == model.account.concurrency_limit {
            c.push_str(" = the account limit");
        }
        parts.push(c);
    }
    parts.extend(scaling_budget_text(model, rows, start, end));
    parts.extend(backlog_text(rows, &sum));
    format!("{:>6}-{:<6} {}", secs(start), secs(end), parts.join("; "))
}

/// Queues of async, SQS and stream sources: how deep and how old the backlog got, what went
/// to the DLQ or was dropped. Nothing for sync traffic (those columns stay zero).
fn backlog_text(rows: &[&BucketRow], sum: &BucketRow) -> Vec<String> {
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
    if iter_age >= 10_000.0 && sum.errors > 0 {
        parts.push(
            "a failing batch blocks its shard: records behind it wait (in-order processing)".into(),
        );
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
fn scaling_budget_text(
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
fn totals(
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
            "  Totals: {} requests, {} attempts ({} retries), {} invocations, {} succeeded, {} failed; {} throttled (burst {}, account {}, reserved {}, rate {});",
            s.requests, s.attempts, s.retries, s.invocations, s.succeeded, s.failed, th.total, th.burst, th.account, th.reserved, th.rate
        );
        let mut line = format!(
            "  {} cold starts ({:.2} % of invocations), peak concurrency {}, mean {:.1}; latency p50 {:.0} ms, p99 {:.0} ms; cost ${:.4}",
            s.cold_starts,
            100.0 * s.cold_start_ratio,
            s.concurrency.peak,
            s.concurrency.mean,
            s.latency_ms.p50,
            s.latency_ms.p99,
            s.cost_usd.total
        );
        if model.functions[f].provisioned > 0 {
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
    } else {
        let mut sum = BucketRow::default();
        for r in rows {
            sum.add_counts(r);
        }
        let peak = rows.iter().map(|r| r.concurrency_max).max().unwrap_or(0);
        let th = &sum.throttles;
        let _ = writeln!(
            t,
            "  Window totals: {} attempts, {} invocations; {} throttled (burst {}, account {}, reserved {}, rate {}); {} cold starts; peak concurrency {}.",
            sum.invocations + sum.throttles_total(),
            sum.invocations,
            sum.throttles_total(),
            th[ThrottleReason::Burst],
            th[ThrottleReason::Account],
            th[ThrottleReason::Reserved],
            th[ThrottleReason::Rate],
            sum.cold_starts,
            peak
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: u64, inv: u64, thr_burst: u64, cold: u64, tokens: u64) -> BucketRow {
        BucketRow {
            start: Micros::from_secs(t),
            function: Some(0),
            invocations: inv,
            throttles: crate::stats::ThrottleCounts::of(ThrottleReason::Burst, thr_burst),
            cold_starts: cold,
            scaling_tokens: tokens,
            ..Default::default()
        }
    }

    #[test]
    fn long_runs_are_coarsened_with_exact_counts() {
        let mut rec = WindowRecorder {
            functions: vec![0],
            from: Micros::ZERO,
            to: Micros::MAX,
            rows: vec![Vec::new()],
            width: Micros::SECOND,
        };
        let n = 3 * MAX_ROWS as u64 + 7;
        for t in 0..n {
            let mut r = row(t, 10, t % 3, 1, if t == 5000 { 0 } else { 100 });
            r.concurrency_max = (t % 1000) as u32;
            rec.bucket(&[r, BucketRow::default()]);
        }
        let rows = &rec.rows[0];
        assert!(rows.len() <= MAX_ROWS, "{}", rows.len());
        assert_eq!(rec.width, Micros::from_secs(4));
        assert_eq!(rows.iter().map(|r| r.invocations).sum::<u64>(), 10 * n);
        assert_eq!(rows.iter().map(|r| r.cold_starts).sum::<u64>(), n);
        let burst: u64 = (0..n).map(|t| t % 3).sum();
        assert_eq!(
            rows.iter()
                .map(|r| r.throttles[ThrottleReason::Burst])
                .sum::<u64>(),
            burst
        );
        assert_eq!(rows.iter().map(|r| r.concurrency_max).max(), Some(999));
        assert_eq!(rows.iter().filter(|r| r.scaling_tokens == 0).count(), 1);
        assert!(rows
            .windows(2)
            .all(|w| w[1].start.0 - w[0].start.0 == 4_000_000));
    }

    #[test]
    fn steady_noisy_load_is_one_segment() {
        let rows: Vec<BucketRow> = (0..100)
            .map(|t| row(t, 1000 + (t * 37 % 60), 0, 0, 1000))
            .collect();
        let refs: Vec<&BucketRow> = rows.iter().collect();
        assert_eq!(segment(&refs, Micros::SECOND).len(), 1);
    }

    #[test]
    fn a_lone_cold_start_wave_survives_merging_but_flapping_does_not() {
        // 3 s of cold starts, then 100 s of throttles with a refill bucket every 10 s.
        let mut rows = vec![row(0, 1000, 0, 1000, 2000), row(1, 1000, 0, 1000, 1000)];
        rows.push(row(2, 1000, 0, 1000, 0));
        for t in 3..103 {
            let refill = t % 10 == 0;
            rows.push(row(t, 1000, 500, if refill { 100 } else { 0 }, 0));
        }
        let refs: Vec<&BucketRow> = rows.iter().collect();
        let segs = merge_to_budget(segment(&refs, Micros::SECOND), 3);
        assert!(segs.len() <= 3);
        assert_eq!(segs[0].first, 0);
        assert!(
            segs[0].last <= 2,
            "the cold-start wave keeps its own line: {segs:?}"
        );
    }
}
