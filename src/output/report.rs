//! `report.html`: one self-contained page (no network, no script) with the scenario, the
//! summary table per function, the `explain` narration, the SVG charts inline and the resolved
//! scenario (collapsed), so a shared report can be read on its own and its run reproduced.

use crate::scenario::Scenario;
use crate::stats::summary::FunctionSummary;
use crate::stats::Summary;
use crate::whatif::WhatIf;
use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 (RFC 4648, with padding), for the font embedded in the page.
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// The summary as an HTML table: one column per function, plus the account when there are
/// several functions.
pub fn summary_table(s: &Summary) -> String {
    let mut cols: Vec<(&str, &FunctionSummary)> =
        s.functions.iter().map(|(n, f)| (n.as_str(), f)).collect();
    if s.functions.len() > 1 {
        cols.push(("account", &s.account));
    }
    let mut out = String::from("<table>\n<thead><tr><th></th>");
    for (name, _) in &cols {
        let _ = write!(out, "<th>{}</th>", escape(name));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (label, get) in super::summary::rows_for(s) {
        let _ = write!(out, "<tr><th>{}</th>", escape(label));
        for (_, f) in &cols {
            let _ = write!(out, "<td>{}</td>", escape(&get(f)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// Strips an XML declaration so the SVG can be inlined in HTML.
fn inline_svg(svg: &str) -> &str {
    let t = svg.trim_start();
    if t.starts_with("<?xml") {
        t.find("?>").map_or(t, |i| t[i + 2..].trim_start())
    } else {
        t
    }
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:24px auto;max-width:1640px;color:#222}\
h1{margin-bottom:4px}.meta{color:#555;margin-top:0}\
table{border-collapse:collapse;font-size:14px;margin:12px 0 24px}\
th,td{border:1px solid #ddd;padding:4px 10px}td{text-align:right;font-variant-numeric:tabular-nums}\
tbody th{text-align:left;font-weight:normal;background:#fafafa}thead th{background:#f0f0f0}\
figure{margin:0 0 28px}figure svg{width:100%;height:auto;border:1px solid #eee}\
figcaption{font-size:14px;color:#555}\
pre{background:#f7f7f7;border:1px solid #eee;padding:10px;overflow-x:auto;font-size:13px}\
details summary{cursor:pointer;font-weight:bold}";

/// What a report page shows beyond the summary: the resolved scenario text (`lambdasim run`
/// on it reproduces the run) and the narration of `lambdasim explain` (None when it failed).
pub struct ReportText<'a> {
    /// The resolved scenario as TOML.
    pub resolved_toml: &'a str,
    /// The narration of `lambdasim explain`, when there is one.
    pub narration: Option<&'a str>,
}

/// The whole page. `charts` holds (name, svg) pairs; empty when charts were skipped.
pub fn render(
    scenario: &Scenario,
    summary: &Summary,
    whatif: &[(String, WhatIf)],
    charts: &[(String, String)],
    text: &ReportText,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>lambdasim: {}</title>\n<style>{STYLE}</style>\n",
        escape(&scenario.name)
    );
    if !charts.is_empty() {
        // The charts were measured with DejaVu Sans: embed it so the text fits as drawn.
        let _ = write!(
            out,
            "<style>@font-face{{font-family:'lambdasim-sans';src:url(data:font/ttf;base64,{})}}\nfigure svg text{{font-family:'lambdasim-sans',sans-serif}}</style>\n",
            base64(dejavu::sans::regular())
        );
    }
    out.push_str("</head>\n<body>\n");
    let _ = writeln!(out, "<h1>{}</h1>", escape(&scenario.name));
    if let Some(d) = &scenario.description {
        let _ = writeln!(out, "<p>{}</p>", escape(d));
    }
    let _ = writeln!(
        out,
        "<p class=\"meta\">seed {}, {} s simulated, lambdasim {}</p>",
        summary.seed,
        summary.duration_s,
        env!("CARGO_PKG_VERSION")
    );
    out.push_str("<h2>Summary</h2>\n");
    out.push_str(&summary_table(summary));
    if let Some(n) = text.narration {
        let _ = writeln!(
            out,
            "<h2>What happened</h2>\n<p class=\"meta\">The narration of <code>lambdasim explain</code> for this scenario and seed.</p>\n<pre id=\"narration\">{}</pre>",
            escape(n.trim_end())
        );
    }
    if !whatif.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Cost what-ifs</h2>\n<p>USD for this run. Architecture swaps reprice the same billed seconds; provisioned variants are re-simulated with the same seed. Provisioned concurrency pays off above {:.0} % utilization.</p>",
            100.0 * whatif[0].1.provisioned_break_even_utilization
        );
        out.push_str("<table>\n<tbody>\n");
        for (name, lines) in super::summary::whatif_lines(whatif) {
            for (i, l) in lines.iter().enumerate() {
                let head = if i == 0 { escape(&name) } else { String::new() };
                let _ = writeln!(
                    out,
                    "<tr><th>{head}</th><td style=\"text-align:left\">{}</td></tr>",
                    escape(l)
                );
            }
        }
        out.push_str("</tbody>\n</table>\n");
    }
    if charts.is_empty() {
        out.push_str("<p>Charts were not drawn for this run (<code>--no-charts</code>).</p>\n");
    } else {
        out.push_str("<h2>Charts</h2>\n");
        for (name, svg) in charts {
            let _ = write!(
                out,
                "<figure id=\"{0}\">\n{1}\n<figcaption>{0}.svg / {0}.png</figcaption>\n</figure>\n",
                escape(name),
                inline_svg(svg)
            );
        }
    }
    let _ = writeln!(
        out,
        "<h2>Inputs</h2>\n<details id=\"inputs\">\n<summary>scenario.resolved.toml: the scenario with every default filled in</summary>\n<p>Save it as a file and run <code>lambdasim run FILE</code> to reproduce this report.</p>\n<pre>{}</pre>\n</details>",
        escape(text.resolved_toml.trim_end())
    );
    out.push_str("</body>\n</html>\n");
    out
}
