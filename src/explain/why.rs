//! Why: the limits that cap a function's concurrency, which one binds, the demand the function
//! offers against it (Little's law), and why a backlog is not draining. Pure functions of the
//! model and the rows; the sentences are tested against numbers computed from the scenario.

use super::*;
use crate::stats::ThrottleReason;

fn fm_reserved(model: &Model, f: usize) -> u32 {
    model.functions[f].reserved.unwrap_or(0)
}

/// One limit on how many environments (SQS / stream: batches) a function can run at once.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Cap {
    /// The limit in the platform's words, with its value ("SQS maximum concurrency 15").
    pub(super) name: String,
    /// Environments (= concurrent batches) it allows.
    pub(super) value: u32,
}

/// Every concurrency limit of function `f`: its reservation, or else the unreserved pool of
/// the account; SQS maximum concurrency and shards x parallelization when all its traffic
/// comes from such mappings (a sync source beside them is not capped by the mapping).
pub(super) fn caps(model: &Model, f: usize) -> Vec<Cap> {
    let a = &model.account;
    let fm = &model.functions[f];
    let mut out = Vec::new();
    match fm.reserved {
        Some(r) => out.push(Cap {
            name: format!("reserved concurrency {r}"),
            value: r,
        }),
        None if a.unreserved_pool == a.concurrency_limit => out.push(Cap {
            name: format!("account concurrency limit {}", a.concurrency_limit),
            value: a.unreserved_pool,
        }),
        None => out.push(Cap {
            name: format!(
                "unreserved pool {} (account limit {})",
                a.unreserved_pool, a.concurrency_limit
            ),
            value: a.unreserved_pool,
        }),
    }
    let mine: Vec<_> = model.sources.iter().filter(|s| s.function == f).collect();
    if !mine.is_empty() && mine.iter().all(|s| s.invocation == Invocation::Sqs) {
        let m: u32 = mine.iter().map(|s| s.sqs.maximum_concurrency).sum();
        let name = if mine.len() == 1 {
            format!("SQS maximum concurrency {m}")
        } else {
            format!("SQS maximum concurrency {m} (over {} mappings)", mine.len())
        };
        out.push(Cap { name, value: m });
    }
    if !mine.is_empty() && mine.iter().all(|s| s.invocation == Invocation::Stream) {
        let v: u32 = mine
            .iter()
            .map(|s| s.stream.shards * s.stream.parallelization_factor)
            .sum();
        let name = match mine.as_slice() {
            [s] => format!(
                "{} shards x parallelization {}",
                s.stream.shards, s.stream.parallelization_factor
            ),
            _ => format!("shards x parallelization {v} (over {} streams)", mine.len()),
        };
        out.push(Cap { name, value: v });
    }
    out
}

/// The smallest of [`caps`]: the one that binds first (ties go to the queue's own limit).
pub(super) fn binding_cap(model: &Model, f: usize) -> Cap {
    let all = caps(model, f);
    let min = all.iter().map(|c| c.value).min().unwrap_or(0);
    all.into_iter()
        .rev()
        .find(|c| c.value == min)
        .unwrap_or(Cap {
            name: "no limit".into(),
            value: u32::MAX,
        })
}

/// Messages or records per batch when every source of `f` is an SQS or stream mapping with
/// the same batch size (then demand in batches is arrivals / batch size, batches full).
pub(super) fn batch_size(model: &Model, f: usize) -> Option<u32> {
    let sizes: Vec<u32> = model
        .sources
        .iter()
        .filter(|s| s.function == f)
        .map(|s| match s.invocation {
            Invocation::Sqs => Some(s.sqs.batch_size),
            Invocation::Stream => Some(s.stream.batch_size),
            _ => None,
        })
        .collect::<Option<Vec<u32>>>()?;
    match sizes.split_first() {
        Some((&b, rest)) if rest.iter().all(|&x| x == b) => Some(b),
        _ => None,
    }
}

/// What arrives at `f`: "messages" (SQS), "records" (streams) or "" (requests).
pub(super) fn unit(model: &Model, f: usize) -> &'static str {
    let kinds: Vec<Invocation> = model
        .sources
        .iter()
        .filter(|s| s.function == f)
        .map(|s| s.invocation)
        .collect();
    if !kinds.is_empty() && kinds.iter().all(|&k| k == Invocation::Sqs) {
        "messages"
    } else if !kinds.is_empty() && kinds.iter().all(|&k| k == Invocation::Stream) {
        "records"
    } else {
        ""
    }
}

/// A rate of arrivals in `unit` ("400 messages/s", or "400/s" for requests).
pub(super) fn per_text(unit: &str, r: f64) -> String {
    if unit.is_empty() {
        rate_text(r)
    } else {
        format!("{} {unit}/s", rate_text(r).trim_end_matches("/s"))
    }
}

/// A concurrency figure: one decimal below 100.
pub(super) fn conc_text(c: f64) -> String {
    if c < 100.0 {
        format!("{c:.1}")
    } else {
        format!("{c:.0}")
    }
}

/// The demand line (Little's law): new arrivals per second x mean duration = concurrency
/// needed, against the binding limit and the rate it can serve. `rate` is the window's mean
/// arrival rate; `busiest` the highest segment's rate and start, when well above the mean.
pub(super) fn demand_line(
    model: &Model,
    f: usize,
    rate: f64,
    busiest: Option<(f64, Micros)>,
    throttles: &crate::stats::ThrottleCounts,
) -> String {
    let fm = &model.functions[f];
    let mean = fm.duration.mean_secs();
    let cap = binding_cap(model, f);
    let u = unit(model, f);
    let per = |r: f64| per_text(u, r);
    // Needed concurrency at an arrival rate, and how that is worded.
    let batch = batch_size(model, f);
    let needed = |r: f64| match batch {
        Some(b) => r / b as f64 * mean,
        None => r * mean,
    };
    let what = if batch.is_some() {
        "batches in flight"
    } else {
        "environments busy at once"
    };
    let mut line = match batch {
        Some(b) => format!(
            "  Demand (Little's law): {} / {b} per batch = {} batches/s x {} mean duration = {} {what} needed",
            per(rate),
            rate_text(rate / b as f64).trim_end_matches("/s"),
            duration_text(mean),
            conc_text(needed(rate))
        ),
        None => format!(
            "  Demand (Little's law): {} new arrivals x {} mean duration = {} {what} needed",
            per(rate),
            duration_text(mean),
            conc_text(needed(rate))
        ),
    };
    let peak_need = match busiest {
        Some((r, at)) => {
            let _ = write!(
                line,
                "; at the busiest ({} from {}) {}",
                per(r),
                secs(at),
                conc_text(needed(r))
            );
            needed(r)
        }
        None => needed(rate),
    };
    // Lambda Managed Instances: no per-function concurrency limit applies; the capacity
    // provider's environments are the limit, and they follow utilization, not arrivals.
    if let Some(mf) = model.capacity.functions.get(f).and_then(Option::as_ref) {
        let p = &model.capacity.providers[mf.provider];
        let _ = write!(
            line,
            ". Limit: the environments of capacity provider {} ({} requests each; at most {} instances of {} vCPUs), which scale on utilization against a target of {:.0} %, not on arrivals",
            p.name,
            mf.max_concurrency,
            p.max_instances,
            p.vcpus,
            100.0 * p.target
        );
        if throttles[ThrottleReason::Capacity] > 0 {
            line.push_str(": capacity lags when traffic grows faster than it scales");
        }
        line.push('.');
        return line;
    }
    let served = match batch {
        Some(b) => cap.value as f64 / mean.max(1e-9) * b as f64,
        None => cap.value as f64 / mean.max(1e-9),
    };
    if cap.value == 0 {
        let _ = write!(
            line,
            ". Limit: {}: switched off, every attempt is throttled.",
            cap.name
        );
        return line;
    }
    let _ = write!(
        line,
        ". Limit: {} (serves at most {})",
        cap.name,
        per(served)
    );
    if peak_need > cap.value as f64 {
        line.push_str(", the binding limit");
        let top = busiest.map_or(rate, |b| b.0);
        if batch.is_some() && top > served {
            let _ = write!(line, ": the backlog grows by about {}", per(top - served));
        } else if unit(model, f).is_empty() {
            let asynq = model
                .sources
                .iter()
                .any(|s| s.function == f && s.invocation == Invocation::Async);
            line.push_str(if asynq {
                ": the rest is throttled and waits in the internal queue"
            } else {
                ": the rest is throttled"
            });
        }
    } else {
        line.push_str(", enough");
        // Enough at full scale, yet throttled: another limit binds on the way.
        let k = (0..ThrottleReason::ALL.len()).max_by_key(|&k| throttles[ThrottleReason::ALL[k]]);
        match k.filter(|&k| throttles[ThrottleReason::ALL[k]] > 0) {
            Some(0) => line.push_str(" once scaled up; the scaling budget binds on the way up"),
            Some(1) => line.push_str(
                " on its own, but the pool is shared: the account limit binds when others hold it",
            ),
            Some(2) => line.push_str(" on average; the reservation binds at the peaks"),
            Some(4) => line.push_str(" for Lambda; the API Gateway's throttle binds before it"),
            Some(_) => line.push_str(" for concurrency; the rate limit binds"),
            None => {}
        }
    }
    line.push('.');
    line
}

/// A mean duration: milliseconds below a second, else seconds.
fn duration_text(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// The caps `peak` equals, as " = NAME" (the binding limit reached in a segment).
pub(super) fn cap_reached(model: &Model, f: usize, peak: u32) -> Option<String> {
    let fm = &model.functions[f];
    if fm.reserved == Some(peak) {
        return Some(" = its reservation".into());
    }
    if peak == model.account.concurrency_limit {
        return Some(" = the account limit".into());
    }
    caps(model, f)
        .into_iter()
        .skip(1)
        .find(|c| c.value == peak)
        .map(|c| format!(" = {}", c.name))
}

/// Why a backlog is not draining faster: no spare capacity (concurrency held at the binding
/// limit, or throttles), or capacity free while the work waits out a delay (async retry
/// backoff, SQS visibility timeout or poller scale-up, a stream shard blocked in order).
/// `None` when there is no backlog of a second or more.
pub(super) fn backlog_why(
    model: &Model,
    f: usize,
    rows: &[&BucketRow],
    sum: &BucketRow,
) -> Option<String> {
    let depth = rows.iter().map(|r| r.queue_depth).max().unwrap_or(0);
    let aged = rows.iter().any(|r| {
        r.queue_oldest_age_ms >= 1000.0
            || r.async_event_age_ms >= 1000.0
            || r.iterator_age_ms >= 1000.0
    });
    if depth == 0 || !aged {
        return None;
    }
    let first = rows[0].queue_depth;
    let last = rows[rows.len() - 1].queue_depth;
    let grows = last >= first && last > 0;
    let cap = binding_cap(model, f);
    let peak = rows.iter().map(|r| r.concurrency_max).max().unwrap_or(0);
    let mean = rows.iter().map(|r| r.concurrency_mean).sum::<f64>() / rows.len() as f64;
    let throttled = sum.throttles_total() > 0;
    let kinds: Vec<Invocation> = model
        .sources
        .iter()
        .filter(|s| s.function == f)
        .map(|s| s.invocation)
        .collect();
    if kinds.contains(&Invocation::Stream) && sum.errors > 0 && !throttled {
        return Some(format!(
            "the backlog {}: a failing batch is retried and blocks its shard; records behind it wait (in-order processing)",
            if grows { "grows" } else { "holds" }
        ));
    }
    let full = throttled || (peak >= cap.value && mean >= 0.9 * cap.value as f64);
    if full {
        let limit = if throttled {
            let k = (0..ThrottleReason::ALL.len())
                .max_by_key(|&k| sum.throttles[ThrottleReason::ALL[k]])
                .unwrap_or(0);
            match k {
                0 => "the scaling budget".to_string(),
                1 => "the account limit".to_string(),
                2 => format!("reserved concurrency {}", fm_reserved(model, f)),
                4 => "the API Gateway's throttle".to_string(),
                5 => "the Managed Instances capacity".to_string(),
                _ => "the rate limit".to_string(),
            }
        } else {
            cap.name.clone()
        };
        return Some(if grows {
            format!("the backlog grows: no spare capacity ({limit})")
        } else {
            format!("the backlog drains only as fast as {limit} allows")
        });
    }
    let free = format!(
        "capacity is free (mean concurrency {} of {})",
        conc_text(mean),
        cap.value
    );
    let waiting = if kinds.contains(&Invocation::Async) {
        "the events are waiting out their retry backoff".to_string()
    } else if kinds.contains(&Invocation::Sqs) {
        let visibility = model
            .sources
            .iter()
            .find(|s| s.function == f && s.invocation == Invocation::Sqs)
            .map(|s| s.sqs.visibility_timeout)
            .unwrap_or_default();
        if sum.retries > 0 || sum.errors > 0 {
            format!("returned messages are waiting out the visibility timeout ({visibility})")
        } else {
            "the SQS pollers are still scaling up".to_string()
        }
    } else if kinds.contains(&Invocation::Stream) {
        "records wait their turn on their shard (one batch at a time per lane)".to_string()
    } else {
        return None;
    };
    Some(format!("{free}: {waiting}, not for capacity"))
}
