//! The chart toolkit shared by run charts ([`super`]) and sweep charts (`crate::sweep::charts`):
//! the embedded font, the palettes, legends (a strip above the panels, or the corner of a plot
//! that hides the fewest points), tick helpers, and atomic PNG and SVG writing. A chart file
//! draws; everything about how charts look alike or reach the disk lives here.

use crate::error::Error;
use crate::stats::ThrottleReason;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

pub(crate) const FONT: &str = "sans-serif";
pub(crate) const FUNCTION_COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];
pub(crate) const OTHER_COLOR: RGBColor = RGBColor(150, 150, 150);
pub(crate) const ACCOUNT_COLOR: RGBColor = RGBColor(30, 30, 30);
/// Every named series of run charts, so that a legend label and a colour are written once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Series {
    /// Invocations that succeeded (stacked area).
    Succeeded,
    /// Invocations that ended in a function error or a timeout (CloudWatch `Errors`).
    Errors,
    /// Throttled attempts of one reason (stacked area).
    Throttled(ThrottleReason),
    /// New requests (messages or records for SQS and streams): the offered load.
    Offered,
    /// Retries: attempts that are not new requests.
    Retries,
    /// A latency percentile over time (0: p50, 1: p90, 2: p99).
    Percentile(usize),
}

/// The one table of series labels and colours: (series, legend label, colour).
pub(crate) const SERIES: [(Series, &str, RGBColor); 13] = [
    (
        Series::Succeeded,
        "invocations: succeeded",
        RGBColor(158, 202, 225),
    ),
    (
        Series::Errors,
        "invocations: errors and timeouts",
        RGBColor(90, 90, 90),
    ),
    (
        Series::Throttled(ThrottleReason::Burst),
        "throttled: burst / scaling budget",
        RGBColor(214, 39, 40),
    ),
    (
        Series::Throttled(ThrottleReason::Account),
        "throttled: account pool",
        RGBColor(255, 127, 14),
    ),
    (
        Series::Throttled(ThrottleReason::Reserved),
        "throttled: reserved",
        RGBColor(148, 103, 189),
    ),
    (
        Series::Throttled(ThrottleReason::Rate),
        "throttled: rate limit",
        RGBColor(140, 86, 75),
    ),
    (
        Series::Offered,
        "offered load: new requests",
        RGBColor(0, 0, 0),
    ),
    (Series::Retries, "retries", RGBColor(230, 85, 13)),
    (Series::Percentile(0), "p50", RGBColor(40, 40, 40)),
    (Series::Percentile(1), "p90", RGBColor(255, 127, 14)),
    (Series::Percentile(2), "p99", RGBColor(214, 39, 40)),
    (
        Series::Throttled(ThrottleReason::Gateway),
        "throttled: API Gateway",
        RGBColor(227, 119, 194),
    ),
    (
        Series::Throttled(ThrottleReason::Capacity),
        "throttled: capacity (Managed Instances)",
        RGBColor(23, 190, 207),
    ),
];

impl Series {
    fn entry(self) -> (&'static str, RGBColor) {
        SERIES
            .iter()
            .find(|e| e.0 == self)
            .map(|e| (e.1, e.2))
            .unwrap_or(("?", OTHER_COLOR))
    }
    /// The series' legend label.
    pub(crate) fn label(self) -> &'static str {
        self.entry().0
    }
    /// The series' colour.
    pub(crate) fn color(self) -> RGBColor {
        self.entry().1
    }
}

/// Fewest samples in a bucket for its p50, p90 and p99 to be drawn as measured: with fewer,
/// fewer than one sample (p99: one in a hundred) lies above the percentile, so the value is
/// the bucket's largest sample or close to it, and the line is drawn dashed and pale.
pub(crate) const PCT_MIN_SAMPLES: [u64; 3] = [2, 10, 100];
/// The percentiles drawn over time.
pub(crate) const PCTS: [Series; 3] = [
    Series::Percentile(0),
    Series::Percentile(1),
    Series::Percentile(2),
];
pub(crate) const GRID_BOLD: RGBColor = RGBColor(210, 210, 210);
pub(crate) const GRID_LIGHT: RGBColor = RGBColor(238, 238, 238);
/// Line colors of sweep charts (one per series, repeating).
pub(crate) const SERIES_COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

static REGISTER: Once = Once::new();

/// Registers the embedded DejaVu Sans font under "sans-serif" (once per process).
pub fn register_font() {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Compact number for tick labels: 1200 → "1.2k", 0.25 → "0.25".
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if a >= 1e6 {
        format!("{}M", trim(format!("{:.2}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        trim(format!("{v:.1}"))
    } else {
        trim(format!("{v:.3}"))
    }
}

pub(crate) fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

pub(crate) trait Ctx<T> {
    fn s(self) -> Result<T, String>;
}
impl<T, E: std::fmt::Display> Ctx<T> for Result<T, E> {
    fn s(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Mark {
    Box,
    Line,
    Dashed,
}

/// A legend strip above the panels: colored marks and labels, wrapped over as many rows as
/// needed. Never overlaps data.
pub(crate) fn legend_rows(items: &[(String, RGBColor, Mark)], width: u32) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = vec![vec![]];
    let mut x = 20u32;
    for (i, (label, _, _)) in items.iter().enumerate() {
        let w = 40 + (label.chars().count() as u32) * 9 + 30;
        if x + w > width - 20 && !rows.last().unwrap().is_empty() {
            rows.push(vec![]);
            x = 20;
        }
        rows.last_mut().unwrap().push(i);
        x += w;
    }
    rows
}

pub(crate) const LEGEND_ROW_H: u32 = 28;

pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBColor, Mark)],
) -> Result<(), String> {
    let (w, _) = area.dim_in_pixel();
    let rows = legend_rows(items, w);
    let style = font(17);
    for (r, row) in rows.iter().enumerate() {
        let y = (r as u32 * LEGEND_ROW_H + LEGEND_ROW_H / 2) as i32;
        let mut x = 20i32;
        for &i in row {
            let (label, color, mark) = &items[i];
            match mark {
                Mark::Box => {
                    area.draw(&Rectangle::new(
                        [(x, y - 8), (x + 28, y + 8)],
                        color.filled(),
                    ))
                    .s()?;
                }
                Mark::Line => {
                    area.draw(&PathElement::new(
                        vec![(x, y), (x + 28, y)],
                        color.stroke_width(3),
                    ))
                    .s()?;
                }
                Mark::Dashed => {
                    for k in 0..3 {
                        let x0 = x + k * 11;
                        area.draw(&PathElement::new(
                            vec![(x0, y), (x0 + 6, y)],
                            color.stroke_width(3),
                        ))
                        .s()?;
                    }
                }
            }
            area.draw(&Text::new(label.clone(), (x + 36, y - 9), style.clone()))
                .s()?;
            let tw = area
                .estimate_text_size(label, &style)
                .map(|(w, _)| w as i32)
                .unwrap_or(label.len() as i32 * 9);
            x += 36 + tw + 30;
        }
    }
    Ok(())
}

/// Fills the background, draws the title, the legend strip, and returns the area left.
pub(crate) fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    legend: &[(String, RGBColor, Mark)],
) -> Result<DrawingArea<DB, Shift>, String> {
    root.fill(&WHITE).s()?;
    let body = root.margin(10, 0, 0, 0).titled(title, font(28)).s()?;
    let (w, _) = body.dim_in_pixel();
    let rows = legend_rows(legend, w).len() as u32;
    let (top, rest) = body.split_vertically(rows * LEGEND_ROW_H + 6);
    draw_legend(&top, legend)?;
    Ok(rest.margin(0, 10, 10, 10))
}

/// Splits `pts` at `None` into drawable runs.
pub(crate) fn runs(pts: impl Iterator<Item = Option<(f64, f64)>>) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![];
    let mut cur = vec![];
    for p in pts {
        match p {
            Some(p) => cur.push(p),
            None => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

macro_rules! mesh {
    ($chart:expr, $x:expr, $y:expr) => {
        mesh!($chart, $x, $y, 10, 6, &|v| fmt_num(*v), 15, 16)
    };
    // x and y axis titles, tick counts, y tick formatter, tick and title font sizes.
    ($chart:expr, $x:expr, $y:expr, $xn:expr, $yn:expr, $yfmt:expr, $label:expr, $desc:expr) => {
        $chart
            .configure_mesh()
            .x_desc($x)
            .y_desc($y)
            .x_labels($xn)
            .y_labels($yn)
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter($yfmt)
            .label_style(font($label))
            .axis_desc_style(font($desc))
            .bold_line_style(GRID_BOLD)
            .light_line_style(GRID_LIGHT)
            .draw()
            .s()?
    };
}
pub(crate) use mesh;

/// Tick values for a log axis over [lo, hi]: 1-2-5 per decade, denser or sparser so that
/// there are always a few labels, even when the range is within one decade.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let pick = |ms: &[f64]| {
        let mut out = vec![];
        let mut k = lo.max(1e-12).log10().floor() as i32 - 1;
        while 10f64.powi(k) <= hi * 10.0 {
            for m in ms {
                let v = m * 10f64.powi(k);
                if v >= lo && v <= hi {
                    out.push(v);
                }
            }
            k += 1;
        }
        out
    };
    let t = pick(&[1.0, 2.0, 5.0]);
    if t.len() > 12 {
        return pick(&[1.0]);
    }
    if t.len() < 4 {
        let dense = pick(&[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0]);
        if dense.len() < 4 {
            let finest = pick(&[1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
            if finest.len() >= 3 {
                return finest;
            }
            // Less than a factor of about 1.5: evenly spaced round values.
            let raw = (hi - lo) / 4.0;
            let mag = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 2.5, 5.0, 10.0]
                .iter()
                .map(|m| m * mag)
                .find(|s| *s >= raw)
                .unwrap_or(10.0 * mag);
            let mut v = (lo / step).ceil() * step;
            let mut out = vec![];
            while v <= hi {
                out.push(v);
                v += step;
            }
            return out;
        }
        return dense;
    }
    t
}

/// A CDF from histogram points as a step line, starting at 0.
pub(crate) fn cdf_steps(pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(pts.len() * 2 + 1);
    let mut prev = 0.0;
    for &(x, p) in pts.iter().filter(|p| p.0 > 0.0) {
        out.push((x, prev));
        out.push((x, p));
        prev = p;
    }
    out
}

/// Horizontal levels (reservations, provisioned) grouped by value, so equal levels share one
/// line and one legend entry instead of hiding each other.
pub(crate) fn group_levels(levels: &[(String, RGBColor, u32)]) -> Vec<(String, RGBColor, u32)> {
    let mut out: Vec<(String, RGBColor, u32)> = vec![];
    for (l, c, v) in levels {
        if let Some(g) = out.iter_mut().find(|g| g.2 == *v) {
            g.0 = format!("{}, {l}", g.0);
            g.1 = RGBColor(90, 90, 90);
        } else {
            out.push((l.clone(), *c, *v));
        }
    }
    out
}

/// `c` at opacity `a` over white, as an opaque color (legend marks match the fill).
pub(crate) fn pale(c: RGBColor, a: f64) -> RGBColor {
    let m = |v: u8| (v as f64 * a + 255.0 * (1.0 - a)).round() as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

/// `c` darkened (limit lines drawn over a series of the same colour stay distinct).
pub(crate) fn dark(c: RGBColor) -> RGBColor {
    let m = |v: u8| (v as f64 * 0.55).round() as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

pub(crate) fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        1.0
    } else {
        v * 1.1
    }
}

/// The corner of a plot where a legend box (about 40 % of the width, 25 % of the height) covers
/// the fewest drawn points of `lines` (segments sampled between points too), upper right first
/// on ties. `x` and `y` are the plot's ranges.
pub(crate) fn legend_corner(
    lines: &[Vec<(f64, f64)>],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> plotters::chart::SeriesLabelPosition {
    use plotters::chart::SeriesLabelPosition as P;
    let norm = |x: f64, y: f64| ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
    let mut pts = Vec::new();
    for line in lines {
        for w in line.windows(2) {
            for k in 0..10 {
                let t = k as f64 / 10.0;
                pts.push(norm(
                    w[0].0 + t * (w[1].0 - w[0].0),
                    w[0].1 + t * (w[1].1 - w[0].1),
                ));
            }
        }
        pts.extend(line.iter().map(|p| norm(p.0, p.1)));
    }
    let inside = |right: bool, upper: bool| {
        pts.iter()
            .filter(|&&(x, y)| {
                (if right { x > 0.6 } else { x < 0.4 }) && (if upper { y > 0.75 } else { y < 0.25 })
            })
            .count()
    };
    [
        (P::UpperRight, true, true),
        (P::UpperLeft, false, true),
        (P::LowerRight, true, false),
        (P::LowerLeft, false, false),
    ]
    .into_iter()
    .min_by_key(|&(_, right, upper)| inside(right, upper))
    .map(|(p, _, _)| p)
    .unwrap_or(P::UpperRight)
}

/// The PNG backend's drawing area, as `draw` callbacks receive it.
pub(crate) type PngArea<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
/// The SVG backend's drawing area, as `draw` callbacks receive it.
pub(crate) type SvgArea<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Draws a chart of `size` pixels into the PNG file `path`, atomically: into a temporary file
/// beside it (whose name still ends in `.png`: the encoder picks the format from it), renamed
/// when complete, and removed on any error so a failed chart leaves no file behind.
pub(crate) fn write_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&PngArea<'_>) -> Result<(), String>,
) -> Result<(), Error> {
    register_font();
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".tmp{}-{file}", std::process::id()));
    let drawn = (|| {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        draw(&root)?;
        root.present().s()
    })();
    drawn
        .and_then(|_| std::fs::rename(&tmp, path).s())
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::runtime(format!("cannot write {}: {e}", path.display()))
        })
}

/// Draws a chart of `size` pixels as SVG text (`what` names it in errors).
pub(crate) fn render_svg(
    what: &str,
    size: (u32, u32),
    draw: impl FnOnce(&SvgArea<'_>) -> Result<(), String>,
) -> Result<String, Error> {
    register_font();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        draw(&root)
            .and_then(|_| root.present().s())
            .map_err(|e| Error::runtime(format!("chart {what}: {e}")))?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_that_fails_to_draw_leaves_no_file_behind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.png");
        let err = write_png(&path, (40, 30), |_| Err("broken".into())).unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("read").collect();
        assert!(left.is_empty(), "files left behind: {left:?}");
    }

    #[test]
    fn a_drawn_png_is_renamed_into_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.png");
        write_png(&path, (40, 30), |a| a.fill(&WHITE).s()).expect("written");
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(&bytes[1..4], b"PNG");
        assert_eq!(std::fs::read_dir(dir.path()).expect("read").count(), 1);
    }

    #[test]
    fn the_series_table_names_every_throttle_reason_once() {
        for r in ThrottleReason::ALL {
            let s = Series::Throttled(r);
            assert_eq!(SERIES.iter().filter(|e| e.0 == s).count(), 1, "{r:?}");
            assert!(s.label().starts_with("throttled: "), "{}", s.label());
        }
        let mut labels: Vec<&str> = SERIES.iter().map(|e| e.1).collect();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), SERIES.len(), "labels are distinct");
        let colors: std::collections::HashSet<_> =
            SERIES.iter().map(|e| (e.2 .0, e.2 .1, e.2 .2)).collect();
        assert!(
            colors.len() >= SERIES.len() - 2,
            "series stay distinguishable"
        );
    }

    #[test]
    fn the_legend_goes_to_the_emptiest_corner() {
        use plotters::chart::SeriesLabelPosition as P;
        // A line rising from lower left to upper right leaves upper left and lower right empty;
        // upper left comes first of the two.
        let rising = vec![vec![(0.0, 0.0), (1.0, 1.0)]];
        assert!(matches!(
            legend_corner(&rising, (0.0, 1.0), (0.0, 1.0)),
            P::UpperLeft
        ));
        let high = vec![vec![(0.0, 0.9), (1.0, 0.9)]];
        assert!(matches!(
            legend_corner(&high, (0.0, 1.0), (0.0, 1.0)),
            P::LowerRight
        ));
    }
}
