//! The sweep's `report.html`: one self-contained page (no script, no external file) with what
//! was swept, the results table, the answer of a `[find]`, and every chart as inline SVG. It is
//! a function of the results alone, so `merge` writes the same page as an unsharded sweep.

use super::find::FindOutcome;
use super::labels;
use super::*;
use crate::output::report::escape;

const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:24px auto;max-width:1200px;color:#222}\
h1{margin-bottom:4px}.meta{color:#555;margin-top:0}\
table{border-collapse:collapse;font-size:14px;margin:12px 0 24px}\
th,td{border:1px solid #ddd;padding:4px 10px}td{text-align:right;font-variant-numeric:tabular-nums}\
thead th{background:#f0f0f0;vertical-align:bottom}\
figure{margin:0 0 28px}figure svg{width:100%;height:auto;border:1px solid #eee}\
figcaption{font-size:14px;color:#555}\
pre{background:#f7f7f7;border:1px solid #eee;padding:10px;overflow-x:auto;font-size:13px}";

/// The page: `charts` are (caption, SVG text) as drawn.
pub(super) fn page(
    res: &Results,
    charts: &[(String, String)],
    find: Option<&FindOutcome>,
) -> String {
    let swept: Vec<String> = res
        .vary
        .iter()
        .map(|k| labels::with_unit(labels::parameter(k)))
        .collect();
    let title = if swept.is_empty() {
        "lambdasim sweep".to_string()
    } else {
        format!("lambdasim sweep: {}", swept.join(" × "))
    };
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    let runs = res.rows.len();
    s.push_str(&format!(
        "<p class=\"meta\">{} points, {} runs, {} replication(s) per point on common random numbers (replication r of every point runs with the same seed); intervals are 95 % Student-t confidence intervals of the mean. Swept keys: {}.</p>\n",
        res.points_total,
        runs,
        res.replications,
        escape(&res.vary.join(", "))
    ));
    if let Some(f) = find {
        let headline = match f.answer {
            Some(i) => format!(
                "{} = {}",
                labels::with_unit(labels::parameter(&f.find.parameter)),
                value_text(&f.probes[i].value)
            ),
            None => "no value in the range meets every requirement".to_string(),
        };
        s.push_str(&format!("<h2>Answer: {}</h2>\n<pre>", escape(&headline)));
        s.push_str(&escape(&find::report_text(f)));
        s.push_str("</pre>\n");
    }
    s.push_str("<h2>Results</h2>\n");
    s.push_str(&table::html(res));
    if !charts.is_empty() {
        s.push_str("<h2>Charts</h2>\n");
    }
    for (caption, svg) in charts {
        let svg = svg.trim_start_matches(|c| c != '<');
        s.push_str(&format!(
            "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
            svg.trim(),
            escape(caption)
        ));
    }
    s.push_str("</body>\n</html>\n");
    s
}
