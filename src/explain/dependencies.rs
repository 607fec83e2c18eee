//! Narration of downstream limits: per dependency, when invocations failed for want of a
//! connection (or waited for one), why (the functions that use it ran more invocations at once
//! than it accepts) and the two levers (reserved concurrency, a pool).

use crate::model::Model;
use crate::stats::{DependencyRow, Summary};
use crate::time::Micros;
use std::fmt::Write;

/// What the narration keeps of one dependency's rows inside the window.
#[derive(Clone, Debug, Default)]
pub struct DepStory {
    errors: u64,
    waits: u64,
    first: Option<Micros>,
    last: Option<Micros>,
    worst: (u64, Micros),
    peak: u32,
}

/// Folds one bucket's dependency rows that start inside [from, to) into `stories`.
pub fn record(stories: &mut Vec<DepStory>, rows: &[DependencyRow], from: Micros, to: Micros) {
    if stories.len() < rows.len() {
        stories.resize(rows.len(), DepStory::default());
    }
    for r in rows {
        if r.start < from || r.start >= to {
            continue;
        }
        let s = &mut stories[r.dependency as usize];
        s.peak = s.peak.max(r.connections_max);
        s.errors += r.connection_errors;
        s.waits += r.waits;
        if r.connection_errors > 0 {
            s.first.get_or_insert(r.start);
            s.last = Some(r.start);
            if r.connection_errors > s.worst.0 {
                s.worst = (r.connection_errors, r.start);
            }
        }
    }
}

/// The narration's dependencies section (empty without dependencies).
pub fn narrate(model: &Model, stories: &[DepStory], summary: &Summary) -> String {
    let mut text = String::new();
    let deps = &model.dependencies;
    for (i, d) in deps.deps.iter().enumerate() {
        let s = stories.get(i).cloned().unwrap_or_default();
        let users: Vec<usize> = (0..model.functions.len())
            .filter(|&f| deps.uses[f].contains(&(i as u32)))
            .collect();
        let names: Vec<&str> = users
            .iter()
            .map(|&f| model.functions[f].name.as_str())
            .collect();
        let pool = match d.pool_timeout {
            Some(t) => format!("pool, waits up to {t}"),
            None => "no pool".to_string(),
        };
        let _ = writeln!(
            text,
            "\nDependency {} (max_connections {}, {pool}; used by {}):",
            d.name,
            d.max_connections,
            if names.is_empty() {
                "no function".to_string()
            } else {
                names.join(", ")
            }
        );
        let reserved: Option<u64> = users
            .iter()
            .map(|&f| model.functions[f].reserved.map(u64::from))
            .sum();
        let ds = summary
            .dependencies
            .get(i)
            .map(|(_, ds)| ds.clone())
            .unwrap_or_default();
        if s.errors == 0 {
            let _ = write!(
                text,
                "  no connection errors; at most {} connections held at once",
                s.peak
            );
            if let Some(r) = reserved.filter(|&r| r <= d.max_connections as u64) {
                let _ = write!(
                    text,
                    " (the reserved concurrency of its functions, {r} in all, keeps it at or below {})",
                    d.max_connections
                );
            }
            if s.waits > 0 {
                let _ = write!(
                    text,
                    "; {} invocations waited for a pooled connection (p99 wait {:.1} ms)",
                    s.waits, ds.wait_ms.p99
                );
            }
            text.push_str(".\n");
            continue;
        }
        let (first, last) = (s.first.unwrap_or_default(), s.last.unwrap_or_default());
        let per_s = s.worst.0 as f64 / model.bucket.as_secs_f64();
        let _ = writeln!(
            text,
            "  {} invocations failed with connection errors ({:.2} % of those that asked for a connection over the run), between {first} and {last}; the worst bucket, at {}, had {} ({per_s:.1} per second).",
            s.errors,
            ds.error_ratio * 100.0,
            s.worst.1,
            s.worst.0
        );
        let why = if d.pool_timeout.is_some() {
            format!(
                "every connection was held for longer than the pool's wait ({} invocations waited; {} waits ran out)",
                s.waits, ds.wait_timeouts
            )
        } else {
            "every connection was held, and without a pool a connect is refused at once".to_string()
        };
        let _ = writeln!(
            text,
            "  Why: {} connections were in use, the limit; {why}. Lambda scaled {} past what the dependency accepts.",
            s.peak,
            names.join(", ")
        );
        let lever = match reserved {
            Some(r) if r <= d.max_connections as u64 => {
                "reserved concurrency already caps its functions within the limit".to_string()
            }
            _ => format!(
                "reserved concurrency totalling at most {} on {} keeps it within its limit (throttles instead of errors); a pool (pool_timeout) makes invocations wait instead of failing",
                d.max_connections,
                names.join(", ")
            ),
        };
        let _ = writeln!(text, "  Lever: {lever}.");
    }
    text
}
