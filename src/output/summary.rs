//! `summary.json` and the human summary table.

use crate::stats::summary::FunctionSummary;
use crate::stats::Summary;
use crate::whatif::WhatIf;
use std::fmt::Write;

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// One row of the terminal summary: its label and how to print it from a function's summary.
pub type Row = (&'static str, fn(&FunctionSummary) -> String);

/// The rows of the summary table, shared by the stdout table and report.html.
pub const ROWS: &[Row] = &[
    ("requests", |f| f.requests.to_string()),
    ("attempts", |f| f.attempts.to_string()),
    ("invocations", |f| f.invocations.to_string()),
    ("succeeded", |f| f.succeeded.to_string()),
    ("failed", |f| f.failed.to_string()),
    ("errors", |f| f.errors.to_string()),
    ("timed out", |f| f.timed_out.to_string()),
    ("failed: throttled", |f| f.failed_throttled.to_string()),
    ("dropped", |f| f.dropped.to_string()),
    ("dead-letter queue", |f| f.dlq.to_string()),
    ("in flight at end", |f| f.in_flight.to_string()),
    ("throttles", |f| {
        format!("{} ({})", f.throttles.total, pct(f.throttle_ratio))
    }),
    ("throttles: burst / scaling", |f| {
        f.throttles.burst.to_string()
    }),
    ("throttles: account pool", |f| {
        f.throttles.account.to_string()
    }),
    ("throttles: reserved", |f| f.throttles.reserved.to_string()),
    ("throttles: rate limit", |f| f.throttles.rate.to_string()),
    ("retries", |f| f.retries.to_string()),
    ("cold starts", |f| {
        format!("{} ({})", f.cold_starts, pct(f.cold_start_ratio))
    }),
    ("environments created", |f| {
        f.environments_created.to_string()
    }),
    ("latency p50 / p90 / p99 (ms)", |f| {
        format!(
            "{:.1} / {:.1} / {:.1}",
            f.latency_ms.p50, f.latency_ms.p90, f.latency_ms.p99
        )
    }),
    ("latency max (ms)", |f| format!("{:.1}", f.latency_ms.max)),
    ("duration p50 / p99 (ms)", |f| {
        format!("{:.1} / {:.1}", f.duration_ms.p50, f.duration_ms.p99)
    }),
    ("concurrency peak / mean", |f| {
        format!("{} / {:.1}", f.concurrency.peak, f.concurrency.mean)
    }),
    ("provisioned utilization", |f| {
        pct(f.provisioned.utilization_mean)
    }),
    ("spillover invocations", |f| {
        f.provisioned.spillover_invocations.to_string()
    }),
    ("queue peak depth", |f| f.queue.peak_depth.to_string()),
    ("queue oldest age max / p99 (ms)", |f| {
        format!(
            "{:.0} / {:.0}",
            f.queue.max_oldest_age_ms, f.queue.p99_oldest_age_ms
        )
    }),
    ("queue drained at (s)", |f| {
        f.queue
            .drained_at_s
            .map_or("not drained".to_string(), |s| format!("{s:.0}"))
    }),
    ("cost (USD)", |f| format!("{:.4}", f.cost_usd.total)),
    ("throttles: capacity", |f| f.throttles.capacity.to_string()),
];

/// Rows shown only when the scenario has an API Gateway, after the throttle reasons.
pub const GATEWAY_ROWS: &[Row] = &[
    ("throttles: gateway", |f| f.throttles.gateway.to_string()),
    ("gateway timeouts (504)", |f| f.gateway_timeouts.to_string()),
];

/// The rows of `s`'s table: [`ROWS`] (`throttles: capacity` only when the scenario has a
/// Lambda Managed Instances capacity provider), with [`GATEWAY_ROWS`] after the throttle
/// reasons when the scenario has an API Gateway (so a scenario without either prints what it
/// always did).
pub fn table_rows(s: &Summary) -> Vec<Row> {
    let managed = !s.capacity_providers.is_empty();
    let mut rows: Vec<Row> = ROWS
        .iter()
        .copied()
        .filter(|r| managed || r.0 != "throttles: capacity")
        .collect();
    if s.gateway {
        let at = rows
            .iter()
            .position(|r| r.0 == "throttles: rate limit")
            .map_or(rows.len(), |i| i + 1);
        rows.splice(at..at, GATEWAY_ROWS.iter().copied());
    }
    rows
}

/// The summary as pretty-printed JSON (summary.json).
pub fn to_json(s: &Summary) -> String {
    let mut out = serde_json::to_string_pretty(s).expect("summary serializes");
    out.push('\n');
    out
}

/// `summary.json` with a `cost_whatif` object added to each function that has one. Every
/// other key is exactly [`to_json`]'s (sweeps and tests read them).
pub fn to_json_with_whatif(s: &Summary, whatif: &[(String, WhatIf)]) -> String {
    if whatif.is_empty() {
        return to_json(s);
    }
    let mut v = serde_json::to_value(s).expect("summary serializes");
    for (name, w) in whatif {
        if let Some(f) = v["functions"].get_mut(name).and_then(|f| f.as_object_mut()) {
            f.insert(
                "cost_whatif".into(),
                serde_json::to_value(w).expect("what-if serializes"),
            );
        }
    }
    let mut out = serde_json::to_string_pretty(&v).expect("summary serializes");
    out.push('\n');
    out
}

/// One what-if line per function and variant, for stdout (and, as a table, report.html).
pub fn whatif_lines(whatif: &[(String, WhatIf)]) -> Vec<(String, Vec<String>)> {
    whatif
        .iter()
        .map(|(name, w)| {
            let mut lines = vec![format!(
                "this run on x86_64 {:.4}, on arm64 {:.4} (same durations); INIT billing {:.4} of it{}",
                w.x86_64,
                w.arm64,
                w.init_billed,
                if w.init_billed == 0.0 && w.init_if_billed > 0.0 {
                    format!(" ({:.4} if billed)", w.init_if_billed)
                } else {
                    String::new()
                }
            )];
            let base = w.provisioned.iter().find(|v| !v.simulated);
            let managed = base.is_some_and(|b| b.lever == "managed_instances");
            for v in &w.provisioned {
                // The lever is named only when it is not fixed provisioned concurrency, so
                // the lines of functions without other levers read as before.
                let label = match v.lever {
                    "provisioned" => format!("provisioned {:>4}", v.provisioned_concurrency),
                    "snapstart" => format!("snapstart {:>6}", if v.snapstart { "on" } else { "off" }),
                    "managed_instances" => v.lever.to_string(),
                    other => format!("{other}, mean provisioned {:>4}", v.provisioned_concurrency),
                };
                let how = match (v.simulated, managed) {
                    (false, _) => " (this run)",
                    (true, false) => " (re-simulated, same seed)",
                    (true, true) => " (default Lambda, re-simulated, same seed)",
                };
                lines.push(format!(
                    "{label}: {:.4} USD ({} per million succeeded), succeeded {}, failed {}, throttles {} ({:.2} %; burst {}, account {}, reserved {}, rate {}{}), p99 {:.0} ms, {} cold starts, utilization {:.0} %{}",
                    v.cost_usd,
                    v.cost_per_million_succeeded_usd
                        .map_or("-".to_string(), |c| format!("{c:.2}")),
                    v.succeeded,
                    v.failed,
                    v.throttles.total,
                    100.0 * v.throttle_ratio,
                    v.throttles.burst,
                    v.throttles.account,
                    v.throttles.reserved,
                    v.throttles.rate,
                    if v.throttles.gateway > 0 {
                        format!(", gateway {}", v.throttles.gateway)
                    } else {
                        String::new()
                    },
                    v.latency_p99_ms,
                    v.cold_starts,
                    100.0 * v.utilization_mean,
                    how
                ));
                if let (Some(b), true) = (base, v.simulated) {
                    lines.push(format!("  -> {}", crate::whatif::verdict(b, v)));
                }
            }
            (name.clone(), lines)
        })
        .collect()
}

/// The what-ifs as text after the summary table (empty without what-ifs).
pub fn whatif_text(whatif: &[(String, WhatIf)]) -> String {
    let mut out = String::new();
    if whatif.is_empty() {
        return out;
    }
    let be = whatif[0].1.provisioned_break_even_utilization;
    let _ = writeln!(
        out,
        "cost what-ifs (USD; provisioned concurrency pays off above {:.0} % utilization):",
        100.0 * be
    );
    for (name, lines) in whatif_lines(whatif) {
        let _ = writeln!(out, "  {name}:");
        for l in lines {
            let _ = writeln!(out, "    {l}");
        }
    }
    out
}

/// A fixed-width table: one column per function and one for the account.
pub fn to_table(s: &Summary) -> String {
    let mut cols: Vec<(&str, &FunctionSummary)> =
        s.functions.iter().map(|(n, f)| (n.as_str(), f)).collect();
    if s.functions.len() > 1 {
        cols.push(("account", &s.account));
    }
    let rows = table_rows(s);
    let label_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(_, get)| cols.iter().map(|(_, f)| get(f)).collect())
        .collect();
    let widths: Vec<usize> = (0..cols.len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].len())
                .chain([cols[c].0.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "scenario {:?}, seed {}, {} s simulated",
        s.scenario, s.seed, s.duration_s
    );
    let units = units_line(s);
    if !units.is_empty() {
        let _ = writeln!(out, "{units}");
    }
    // Padding by hand: a format width above 65,535 panics, and names are user input.
    pad(&mut out, "", label_w, false);
    for (c, (name, _)) in cols.iter().enumerate() {
        out.push_str("  ");
        pad(&mut out, name, widths[c], true);
    }
    out.push('\n');
    for (r, (label, _)) in rows.iter().enumerate() {
        pad(&mut out, label, label_w, false);
        for (c, cell) in cells[r].iter().enumerate() {
            out.push_str("  ");
            pad(&mut out, cell, widths[c], true);
        }
        out.push('\n');
    }
    out.push_str(&super::dependencies::text(s));
    out
}

/// The line that names, per function, what the table's requests and attempts count
/// (SQS and streams: messages or records, and batches; async: events and tries).
pub fn units_line(s: &Summary) -> String {
    let per: Vec<String> = s
        .functions
        .iter()
        .filter(|(_, f)| !f.units.is_empty())
        .map(|(n, f)| format!("{n} {}", f.units))
        .collect();
    if per.is_empty() {
        String::new()
    } else {
        format!("requests / attempts count: {}", per.join("; "))
    }
}

/// Appends `s` padded with spaces to `w` bytes, right-aligned or left-aligned.
fn pad(out: &mut String, s: &str, w: usize, right: bool) {
    let fill = w.saturating_sub(s.len());
    if !right {
        out.push_str(s);
    }
    out.extend(std::iter::repeat_n(' ', fill));
    if right {
        out.push_str(s);
    }
}
