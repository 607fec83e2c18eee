//! The results table a person reads: one row per point, one column per varied key and per
//! metric (mean ± half-width of the 95 % Student-t interval), metric names in words with units.
//! Printed by `sweep` and `merge` and shown in the sweep's report.html.

use super::charts::charted;
use super::labels;
use super::results::point_stats;
use super::*;

/// Most metric columns in the table; the others are in results_summary.csv.
pub(super) const MAX_COLUMNS: usize = 8;

/// Headers (words, unit) and cells of the table, and how many metrics were left out.
pub(super) struct Table {
    /// Whose metrics every column is ("api", "account"), when they share one owner.
    pub owner: Option<String>,
    pub headers: Vec<(String, String)>,
    pub rows: Vec<Vec<String>>,
    pub left_out: usize,
}

pub(super) fn table(res: &Results) -> Table {
    let mut shown = charted(res);
    let left_out = res.metrics.len() - shown.len().min(MAX_COLUMNS);
    shown.truncate(MAX_COLUMNS);
    let named: Vec<(String, String)> = shown
        .iter()
        .map(|&m| labels::metric(&res.metrics[m]))
        .collect();
    // One owner for every column: say it once above the table, not in each header.
    let owners: Vec<Option<&str>> = named
        .iter()
        .map(|(w, _)| w.split_once(": ").map(|x| x.0))
        .collect();
    let owner = match owners.first() {
        Some(Some(o)) if owners.iter().all(|x| x == &Some(*o)) => Some(o.to_string()),
        _ => None,
    };
    let strip = |w: &str| match &owner {
        Some(o) => w.strip_prefix(&format!("{o}: ")).unwrap_or(w).to_string(),
        None => w.to_string(),
    };
    let headers: Vec<(String, String)> = res
        .vary
        .iter()
        .map(|k| labels::parameter(k))
        .chain(named.iter().cloned())
        .map(|(w, u)| (strip(&w), u))
        .collect();
    let rows = point_stats(res)
        .into_iter()
        .map(|(row, stats)| {
            let mut cells = row.values.clone();
            cells.extend(shown.iter().map(|&m| match stats[m] {
                None => "-".to_string(),
                Some(s) => match s.ci95 {
                    Some((lo, hi)) => {
                        // A spread of rounding noise (identical runs) reads 0.
                        let half = (hi - lo) / 2.0;
                        let half = if half <= 1e-9 * s.mean.abs() {
                            0.0
                        } else {
                            half
                        };
                        format!("{} ± {}", readable(s.mean), readable(half))
                    }
                    None => readable(s.mean),
                },
            }));
            cells
        })
        .collect();
    Table {
        owner,
        headers,
        rows,
        left_out,
    }
}

/// What the table's numbers are: "mean ± half-width of the 95 % interval over 5 replications".
pub(super) fn legend(res: &Results, t: &Table) -> String {
    let mut what = if res.replications > 1 {
        format!(
            "mean ± half-width of the 95 % confidence interval (Student t) over {} replications per point",
            res.replications
        )
    } else {
        "one replication per point: single values, no interval".to_string()
    };
    let whose = t.owner.as_ref().map_or(String::new(), |o| {
        if o == "account" {
            "; metrics of the account".to_string()
        } else {
            format!("; metrics of function {o}")
        }
    });
    let more = if t.left_out > 0 {
        format!("; {} more metrics in results_summary.csv", t.left_out)
    } else {
        String::new()
    };
    format!("{}{what}{whose}{more}", what.remove(0).to_uppercase())
}

/// The table as aligned text, two header lines (words, then unit).
pub(super) fn text(res: &Results) -> String {
    let t = table(res);
    let heads: Vec<(String, String)> = t
        .headers
        .iter()
        .map(|(w, u)| {
            (
                w.clone(),
                if u.is_empty() {
                    String::new()
                } else {
                    format!("({u})")
                },
            )
        })
        .collect();
    let width: Vec<usize> = (0..heads.len())
        .map(|c| {
            t.rows
                .iter()
                .map(|r| r[c].chars().count())
                .chain([heads[c].0.chars().count(), heads[c].1.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| -> String {
        let parts: Vec<String> = cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect();
        format!("  {}\n", parts.join("  ").trim_end())
    };
    let mut s = format!("{}\n", legend(res, &t));
    s.push_str(&line(heads.iter().map(|h| h.0.as_str()).collect()));
    s.push_str(&line(heads.iter().map(|h| h.1.as_str()).collect()));
    for r in &t.rows {
        s.push_str(&line(r.iter().map(|c| c.as_str()).collect()));
    }
    s
}

/// The table as HTML (for report.html).
pub(super) fn html(res: &Results) -> String {
    use crate::output::report::escape;
    let t = table(res);
    let mut s = format!("<p>{}</p>\n<table>\n<thead><tr>", escape(&legend(res, &t)));
    for (w, u) in &t.headers {
        let u = if u.is_empty() {
            String::new()
        } else {
            format!("<br>({})", escape(u))
        };
        s.push_str(&format!("<th>{}{u}</th>", escape(w)));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        s.push_str("<tr>");
        for c in r {
            s.push_str(&format!("<td>{}</td>", escape(c)));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n");
    s
}
