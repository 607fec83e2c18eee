//! `lambdasim explain`: a short narrated timeline of what happened in a run, and why.
//!
//! Made for teaching, so it favours a few plain sentences over completeness. It reads only the
//! per-bucket rows a run records (the same numbers as `timeseries.csv`) and the run summary; it
//! never reaches into the engine. The timeline is built in two passes:
//!
//! 1. consecutive buckets with the same *story* are joined: the same set of throttle reasons,
//!    the same "cold-start wave", "scaling budget empty", spillover and backlog flags, and a load
//!    (attempts, and new arrivals apart) within Poisson noise or 25 % of the segment's mean, so
//!    a drop in arrivals behind steady batches from a backlog starts a new line;
//! 2. while a function has more segments than its line budget, the two neighbours whose
//!    boundary matters least (fewest differing flags, smallest load change, shortest segment)
//!    are joined. So a one-second wave of 3000 cold starts at t = 0 keeps its own line, and
//!    a flapping trickle of idle-reclaim cold starts does not.
//!
//! Each function opens with its demand (Little's law: new arrivals x mean duration =
//! concurrency needed) against the limit that binds. Each segment line names the change in new
//! arrivals (retries counted apart), the throttles by reason with the reason spelt out (burst
//! quota used up, account limit reached, reservation reached, rate limit), the limit reached
//! by name, and why a backlog is not draining. A totals paragraph per function closes the
//! story; without `--from/--to` its numbers are the summary's (the same as summary.json).
//!
//! Files: this one runs the scenario and keeps the window's rows ([`Narrator`], a recorder);
//! `segment.rs` cuts them into segments; `wording.rs` writes the sentences; `why.rs` finds the
//! binding limit, the demand and the reason a backlog waits.

mod dependencies;
mod provisioned;
mod segment;
mod why;
mod wording;

use crate::error::{Error, KeyPath};
use crate::model::Model;
use crate::run::simulate;
use crate::scenario::{Invocation, Refill, Scaling};
use crate::stats::summary::FunctionSummary;
use crate::stats::{BucketRow, Recorder, Summary, TokensKept};
use crate::time::Micros;
use segment::*;
use std::fmt::Write as _;
use std::path::Path;
use why::demand_line;
use wording::*;

pub use wording::reason_text;

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

/// Plain-words reasons, in the order of `ThrottleReason::ALL`.
const REASONS: [&str; 6] = [
    "burst", "account", "reserved", "rate", "gateway", "capacity",
];
const SHORT_REASONS: [&str; 6] = [
    "no scaling tokens left",
    "account limit reached",
    "reservation reached",
    "rate limit",
    "API Gateway throttle",
    "Managed Instances slots full",
];
const _: () = assert!(REASONS.len() == crate::stats::ThrottleReason::ALL.len());

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

impl WindowRecorder {
    fn coarsen(&mut self) {
        for rows in &mut self.rows {
            let mut out = Vec::with_capacity(rows.len() / 2 + 1);
            for pair in rows.chunks(2) {
                let mut r = pair[0].clone();
                if let Some(b) = pair.get(1) {
                    r.merge_later(b, TokensKept::Min);
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
                Some(last) if r.start.0 < last.start.0 + self.width.0 => {
                    last.merge_later(r, TokensKept::Min)
                }
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
    let mut narrator = Narrator::new(model, file, opts)?;
    let out = simulate(model, &mut narrator);
    Ok(narrator.finish(model, &out.summary))
}

/// The narration as a [`Recorder`]: keeps the window's rows while a run goes on, so a caller
/// that runs the model anyway (the interactive page) narrates that same run instead of
/// simulating it twice. [`explain`] is `new`, a run, then [`Narrator::finish`].
pub struct Narrator {
    selected: Vec<usize>,
    from: Micros,
    to: Micros,
    rec: WindowRecorder,
    /// Per dependency, what the window saw (explain/dependencies.rs).
    deps: Vec<dependencies::DepStory>,
}

impl Recorder for Narrator {
    fn bucket(&mut self, rows: &[BucketRow]) {
        self.rec.bucket(rows);
    }
    fn dependencies(&mut self, rows: &[crate::stats::DependencyRow]) {
        dependencies::record(&mut self.deps, rows, self.from, self.to);
    }
}

impl Narrator {
    /// Checks the options against the model (function name, window) before a run.
    pub fn new(model: &Model, file: &Path, opts: &ExplainOptions) -> Result<Narrator, Error> {
        let selected: Vec<usize> = match &opts.function {
            Some(name) => match model.functions.iter().position(|f| &f.name == name) {
                Some(i) => vec![i],
                None => {
                    let names: Vec<&str> =
                        model.functions.iter().map(|f| f.name.as_str()).collect();
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
        let rec = WindowRecorder {
            // Every function: a throttle for the account limit names who holds the pool.
            functions: (0..model.functions.len()).collect(),
            from,
            to,
            rows: vec![Vec::new(); model.functions.len()],
            width: model.bucket,
        };
        Ok(Narrator {
            selected,
            from,
            to,
            rec,
            deps: Vec::new(),
        })
    }

    /// The narration of the run this narrator recorded; `summary` is that run's summary.
    pub fn finish(self, model: &Model, summary: &Summary) -> String {
        let Narrator {
            selected,
            from,
            to,
            rec,
            deps,
        } = self;
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
        // Downstream limits first: they are outside Lambda, and the functions' stories follow.
        text.push_str(&dependencies::narrate(model, &deps, summary));
        let budget = (LINE_BUDGET / selected.len()).clamp(3, FUNCTION_BUDGET);
        for &f in &selected {
            let fm = &model.functions[f];
            let mine: Vec<&BucketRow> = rec.rows[f].iter().collect();
            let _ = writeln!(text, "\n{}", function_heading(model, f));
            let segments = merge_to_budget(segment(&mine, width), budget);
            let window_secs = (to - from).as_secs_f64().max(1e-6);
            let rate = mine.iter().map(|r| r.arrivals).sum::<u64>() as f64 / window_secs;
            let busiest = segments
                .iter()
                .max_by(|a, b| a.arrivals.total_cmp(&b.arrivals))
                .filter(|s| s.arrivals > 1.25 * rate + 1.0)
                .map(|s| (s.arrivals, mine[s.first].start));
            if rate > 0.0 {
                let mut th = crate::stats::ThrottleCounts::default();
                for r in &mine {
                    th.add(&r.throttles);
                }
                let _ = writeln!(text, "{}", demand_line(model, f, rate, busiest, &th));
            }
            let peak = mine.iter().map(|r| r.concurrency_max).max().unwrap_or(0);
            let mut prev_rate: Option<f64> = None;
            let mut story = Story {
                model,
                f,
                width,
                run_peak: peak,
                explained: [false; REASONS.len()],
                prov_prev: None,
            };
            for s in &segments {
                let rows = &mine[s.first..s.last + 1];
                let holder = pool_holder(model, &rec.rows, f, s.first..s.last + 1);
                let _ = writeln!(
                    text,
                    "  {}",
                    narrate(&mut story, rows, prev_rate, holder.as_deref())
                );
                prev_rate = Some(s.arrivals);
            }
            if segments.is_empty() {
                let _ = writeln!(text, "  (no buckets in this window)");
            }
            let fs = summary.function(&fm.name).cloned().unwrap_or_default();
            let _ = write!(text, "{}", totals(model, f, &mine, &fs, whole_run));
        }
        text
    }
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
    if let Some(a) = &fm.provisioned_plan.autoscaling {
        parts.push(format!(
            "{} provisioned environments at the start, auto scaling {}..={} at {:.0} % utilization",
            fm.provisioned,
            a.min,
            a.max,
            100.0 * a.target
        ));
    } else if fm.provisioned_plan.varies() {
        parts.push(format!(
            "{} provisioned environments at the start, {} scheduled changes",
            fm.provisioned,
            fm.provisioned_plan.schedule.len()
        ));
    } else if fm.provisioned > 0 {
        parts.push(format!("{} provisioned environments", fm.provisioned));
    }
    if fm.snapstart_on {
        parts.push("SnapStart (cold starts restore a snapshot instead of running INIT)".into());
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

#[cfg(test)]
mod tests {
    use super::*;

    use super::segment::tests::row;

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
                .map(|r| r.throttles[crate::stats::ThrottleReason::Burst])
                .sum::<u64>(),
            burst
        );
        assert_eq!(rows.iter().map(|r| r.concurrency_max).max(), Some(999));
        assert_eq!(rows.iter().filter(|r| r.scaling_tokens == 0).count(), 1);
        assert!(rows
            .windows(2)
            .all(|w| w[1].start.0 - w[0].start.0 == 4_000_000));
    }
}
