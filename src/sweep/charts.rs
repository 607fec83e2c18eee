//! Sweep charts: one per metric, mean and 95 % CI against the first varied parameter, one line
//! per value of the other varied parameters; drawn with the run charts' toolkit. Titles and axes
//! name the metric and parameter in words with units (`labels`), the caption the replications.

use super::*;

use super::labels;
use super::results::point_stats;
use crate::output::charts::toolkit::{self, legend_corner, SERIES_COLORS};

/// Metrics charted when the sweep file lists none (every metric would be hundreds of charts).
pub(super) const DEFAULT_CHARTED: [&str; 5] = [
    "throttle_ratio",
    "cold_start_ratio",
    "latency_ms.p99",
    "latency_ms.mean",
    "cost_usd.total",
];

pub(super) fn charted(res: &Results) -> Vec<usize> {
    // Every metric when few were chosen; otherwise the headline ones.
    if res.metrics.len() <= 12 {
        return (0..res.metrics.len()).collect();
    }
    (0..res.metrics.len())
        .filter(|&i| {
            let m = &res.metrics[i];
            DEFAULT_CHARTED
                .iter()
                .any(|s| m.strip_suffix(s).is_some_and(|p| p.ends_with('.')))
        })
        .collect()
}

pub(super) fn file_name(metric: &str) -> String {
    metric
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub(super) struct Series {
    label: String,
    /// (x, mean, ci lower, ci upper)
    points: Vec<(f64, f64, f64, f64)>,
}

/// Draws the charts into `dir/charts/`; returns (caption, SVG text) of each, for report.html.
pub(super) fn write_charts(res: &Results, dir: &Path) -> Result<Vec<(String, String)>, Error> {
    let stats = point_stats(res);
    // x positions: the numeric values of the first parameter, or their rank when not numeric.
    let mut xs: Vec<String> = Vec::new();
    for (row, _) in &stats {
        if !xs.contains(&row.values[0]) {
            xs.push(row.values[0].clone());
        }
    }
    let numeric = xs.iter().all(|x| x.parse::<f64>().is_ok());
    let xpos = |v: &str| -> f64 {
        if numeric {
            v.parse().unwrap_or(0.0)
        } else {
            xs.iter().position(|x| x == v).unwrap_or(0) as f64
        }
    };
    let chart_dir = dir.join("charts");
    std::fs::create_dir_all(&chart_dir)
        .map_err(|e| Error::runtime(format!("cannot create {}: {e}", chart_dir.display())))?;
    let mut drawn = Vec::new();
    for m in charted(res) {
        let mut series: Vec<Series> = Vec::new();
        for (row, st) in &stats {
            let Some(s) = st[m] else { continue };
            let label = res
                .vary
                .iter()
                .zip(&row.values)
                .skip(1)
                .map(|(k, v)| {
                    let (words, unit) = labels::parameter(k);
                    let words = words.split_once(": ").map_or(words.as_str(), |x| x.1);
                    format!(
                        "{words} = {v}{}",
                        if unit.is_empty() {
                            String::new()
                        } else {
                            format!(" {unit}")
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let (lo, hi) = s.ci95.unwrap_or((s.mean, s.mean));
            let pt = (xpos(&row.values[0]), s.mean, lo, hi);
            match series.iter_mut().find(|x| x.label == label) {
                Some(x) => x.points.push(pt),
                None => series.push(Series {
                    label,
                    points: vec![pt],
                }),
            }
        }
        if series.is_empty() {
            continue;
        }
        let name = file_name(&res.metrics[m]);
        let (words, unit) = labels::metric(&res.metrics[m]);
        let reps = match res.replications {
            1 => "one replication".to_string(),
            r => format!("mean and 95 % CI over {r} replications"),
        };
        let title = format!("{words} ({reps})");
        let ylabel = labels::with_unit((words, unit));
        let xlabel = labels::with_unit(labels::parameter(&res.vary[0]));
        let cats = (!numeric).then_some(xs.as_slice());
        let png = chart_dir.join(format!("{name}.png"));
        let svg = chart_dir.join(format!("{name}.svg"));
        let text = draw_files(&png, &svg, &[&title, &xlabel, &ylabel], cats, &series)?;
        drawn.push((format!("{ylabel} against {xlabel} ({reps})"), text));
    }
    Ok(drawn)
}

pub(super) const W: u32 = 900;
pub(super) const H: u32 = 560;

/// Writes the PNG and SVG of one chart (`labels`: title, x axis, y axis); returns the SVG text.
pub(super) fn draw_files(
    png: &Path,
    svg: &Path,
    labels: &[&str; 3],
    cats: Option<&[String]>,
    series: &[Series],
) -> Result<String, Error> {
    // Atomic like every other output; a chart that fails to draw leaves no file behind.
    toolkit::write_png(png, (W, H), |root| draw(root, labels, cats, series))?;
    let what = svg.display().to_string();
    let text = toolkit::render_svg(&what, (W, H), |root| draw(root, labels, cats, series))?;
    write_atomic(svg, text.as_bytes())?;
    Ok(text)
}

pub(super) fn draw<DB: plotters::prelude::DrawingBackend>(
    root: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    labels: &[&str; 3],
    cats: Option<&[String]>,
    series: &[Series],
) -> Result<(), String> {
    use plotters::prelude::*;
    let [title, xlabel, ylabel] = *labels;
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let all = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, _, lo, hi) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(lo);
        y1 = y1.max(hi);
    }
    if x1 <= x0 {
        x0 -= 0.5;
        x1 += 0.5;
    }
    y0 = y0.min(0.0);
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let pad = (x1 - x0) * 0.03;
    let lines: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| s.points.iter().map(|p| (p.0, p.1)).collect())
        .collect();
    let legend_at = legend_corner(&lines, (x0 - pad, x1 + pad), (y0, y1 + (y1 - y0) * 0.05));
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22).into_font())
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d((x0 - pad)..(x1 + pad), y0..(y1 + (y1 - y0) * 0.05))
        .map_err(|e| e.to_string())?;
    let cat_fmt = |x: &f64| -> String {
        match cats {
            Some(c) => {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < c.len() {
                    c[i as usize].clone()
                } else {
                    String::new()
                }
            }
            None => tick(*x),
        }
    };
    let ytick = |y: &f64| tick(*y);
    chart
        .configure_mesh()
        .x_desc(xlabel)
        .y_desc(ylabel)
        .x_label_formatter(&cat_fmt)
        .y_label_formatter(&ytick)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, s) in series.iter().enumerate() {
        let c = SERIES_COLORS[i % SERIES_COLORS.len()];
        let style = ShapeStyle::from(&c).stroke_width(2);
        let line = chart
            .draw_series(LineSeries::new(s.points.iter().map(|p| (p.0, p.1)), style))
            .map_err(|e| e.to_string())?;
        if !s.label.is_empty() {
            line.label(s.label.clone()).legend(move |(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 20, y)],
                    ShapeStyle::from(&c).stroke_width(2),
                )
            });
        }
        chart
            .draw_series(
                s.points
                    .iter()
                    .map(|p| Circle::new((p.0, p.1), 3, c.filled())),
            )
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                s.points
                    .iter()
                    .filter(|p| p.3 > p.2)
                    .map(|p| PathElement::new(vec![(p.0, p.2), (p.0, p.3)], c)),
            )
            .map_err(|e| e.to_string())?;
    }
    if series.iter().any(|s| !s.label.is_empty()) {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(legend_at)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A tick label: at most four significant digits, no trailing zeros ("0.3", not
/// "0.30000000000000004"; "1200", not "1200.0").
pub(super) fn tick(x: f64) -> String {
    // Ticks are round numbers; rounding at 1e-9 of the value hides the binary noise of their sums.
    if x.abs() < 1e-12 {
        return "0".into();
    }
    readable(x)
}

#[cfg(test)]
mod tests {
    use super::tick;

    #[test]
    fn tick_labels_have_no_spurious_decimals() {
        assert_eq!(tick(0.1 + 0.2), "0.3");
        assert_eq!(tick(1200.0), "1200");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(0.0125), "0.0125");
        assert_eq!(tick(-5.0), "-5");
        assert_eq!(tick(1e-17), "0");
        assert_eq!(tick(0.000_01), "1e-5");
        assert_eq!(tick(2.5e-6), "2.5e-6");
    }
}
