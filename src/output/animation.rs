//! `lambdasim run --animate`: the scaling-quota diagram of the AWS talks, built up step by step,
//! as an animated GIF (`scaling.gif`, 960×540, for slides) and an animated SVG (`scaling.svg`,
//! the same picture revealed left to right in a browser).
//!
//! Each step is one bucket of the account row (or a few joined, so that a window has at most
//! [`MAX_FRAMES`] steps): the bar stacks the concurrency already running ("requests
//! processed"), the environments started in the step ("new requests processed": its cold
//! starts), and the requests throttled per second for the burst quota / scaling budget ("burst
//! throttled") and for the account pool ("account throttled"). The lines are the scaling tokens
//! left ("burst quota available") and the account concurrency limit. Throttles are a rate, the
//! rest are environments: the talks stack them the same way to show the demand that did not fit.

use crate::error::Error;
use crate::model::Model;
use crate::output::charts::{fmt_num, register_font};
use crate::output::timeseries::ChartSeries;
use crate::scenario::Scaling;
use crate::stats::ThrottleReason;
use crate::time::Micros;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Pixel size of the animation (16:9, pastes into slides at full width).
pub const SIZE: (u32, u32) = (960, 540);
/// Most frames (steps) in an animation; longer windows join neighbouring buckets.
pub const MAX_FRAMES: usize = 120;
/// Time each frame is shown.
pub const FRAME_MS: u32 = 100;

const FONT: &str = "sans-serif";
const PROCESSED: RGBColor = RGBColor(158, 202, 225);
const NEW: RGBColor = RGBColor(49, 130, 189);
const BURST: RGBColor = RGBColor(214, 39, 40);
const ACCOUNT: RGBColor = RGBColor(255, 127, 14);
const TOKENS: RGBColor = RGBColor(44, 160, 44);
const LIMIT: RGBColor = RGBColor(30, 30, 30);

/// One step of the diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Start, seconds.
    pub t: f64,
    /// Environments busy that were not started in this step.
    pub processed: f64,
    /// Environments started in this step (cold starts).
    pub new: f64,
    /// Throttled requests per second, burst quota / scaling budget and account pool.
    pub burst_throttled: f64,
    /// Account-level throttles in the step.
    pub account_throttled: f64,
    /// Scaling tokens left at the step's end.
    pub quota_available: f64,
}

/// The animation's data, independent of the output format.
#[derive(Clone, Debug)]
pub struct Animation {
    /// The scenario's name.
    pub scenario: String,
    /// The steps, in time order.
    pub steps: Vec<Step>,
    /// Seconds per step.
    pub step_s: f64,
    /// Start of the window, s.
    pub from_s: f64,
    /// End of the window, s.
    pub to_s: f64,
    /// Account concurrency limit.
    pub limit: f64,
    /// Scaling is per function (else the account burst quota).
    pub per_function: bool,
}

impl Animation {
    /// The steps of the window `[from, to)` (default: the whole run) from the kept series.
    pub fn new(
        model: &Model,
        series: &ChartSeries,
        from: Option<Micros>,
        to: Option<Micros>,
    ) -> Result<Animation, Error> {
        let (from, to) = window(model, from, to)?;
        let rows: Vec<_> = series
            .series(None)
            .filter(|r| r.start >= from && r.start < to)
            .collect();
        let row_s = model.bucket.as_secs_f64() * series.factor.max(1) as f64;
        let group = rows.len().div_ceil(MAX_FRAMES).max(1);
        let step_s = row_s * group as f64;
        let steps = rows
            .chunks(group)
            .map(|c| {
                let conc = c.iter().map(|r| r.concurrency_max).max().unwrap_or(0) as f64;
                let new = (c.iter().map(|r| r.cold_starts).sum::<u64>() as f64).min(conc);
                let rate = |k: usize| {
                    c.iter()
                        .map(|r| r.throttles[ThrottleReason::ALL[k]])
                        .sum::<u64>() as f64
                        / step_s
                };
                Step {
                    t: c[0].start.as_secs_f64(),
                    processed: conc - new,
                    new,
                    burst_throttled: rate(0),
                    account_throttled: rate(1),
                    quota_available: c.last().map_or(0, |r| r.scaling_tokens) as f64,
                }
            })
            .collect();
        Ok(Animation {
            scenario: model.name.clone(),
            steps,
            step_s,
            from_s: from.as_secs_f64(),
            to_s: to.as_secs_f64(),
            limit: model.account.concurrency_limit as f64,
            per_function: model.account.scaling == Scaling::PerFunction,
        })
    }

    /// Frames of the GIF: one per step.
    pub fn frames(&self) -> usize {
        self.steps.len()
    }

    fn data_max(&self) -> f64 {
        self.steps
            .iter()
            .map(|s| {
                (s.processed + s.new + s.burst_throttled + s.account_throttled)
                    .max(s.quota_available)
            })
            .fold(1.0, f64::max)
    }

    /// The account limit is drawn when it is within reach of the data (else it would flatten
    /// every bar); the legend says so either way.
    fn limit_shown(&self) -> bool {
        self.limit <= 2.0 * self.data_max()
    }

    fn y_max(&self) -> f64 {
        let m = if self.limit_shown() {
            self.data_max().max(self.limit)
        } else {
            self.data_max()
        };
        nice(m * 1.08)
    }
}

/// The window `[from, to)` clipped to the run, or the error `run` gives before simulating.
pub fn window(
    model: &Model,
    from: Option<Micros>,
    to: Option<Micros>,
) -> Result<(Micros, Micros), Error> {
    let from = from.unwrap_or(Micros(0));
    let to = to.unwrap_or(model.duration).min(model.duration);
    if from >= to {
        return Err(Error::input(
            Path::new("--from/--to"),
            crate::error::KeyPath::parse("--from"),
            format!(
                "the window {from}..{to} is empty (the run lasts {})",
                model.duration
            ),
        ));
    }
    Ok((from, to))
}

fn nice(v: f64) -> f64 {
    let p = 10f64.powf(v.max(1.0).log10().floor());
    [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&m| m >= v)
        .unwrap_or(10.0 * p)
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

fn clock(s: f64) -> String {
    if s < 1.0 {
        return format!("{:.0}ms", s * 1e3);
    }
    let s = s.round() as u64;
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

type R<T> = Result<T, String>;

fn e<E: std::fmt::Debug>(x: E) -> String {
    format!("{x:?}")
}

/// Draws the diagram with the first `upto` steps (the title shows the time reached when
/// `clock_in_title`); returns the plot's pixel range (x, y).
fn draw<DB: DrawingBackend>(
    a: &Animation,
    upto: usize,
    clock_in_title: bool,
    root: &DrawingArea<DB, Shift>,
) -> R<(std::ops::Range<i32>, std::ops::Range<i32>)> {
    root.fill(&WHITE).map_err(e)?;
    let now = a
        .steps
        .get(upto.saturating_sub(1))
        .map_or(a.from_s, |s| s.t + a.step_s);
    let title = if clock_in_title {
        format!(
            "Scaling — {}   t = {}   ({} per bar)",
            a.scenario,
            clock(now),
            clock(a.step_s)
        )
    } else {
        format!("Scaling — {}   ({} per bar)", a.scenario, clock(a.step_s))
    };
    let body = root
        .margin(8, 0, 0, 0)
        .titled(&title, font(20))
        .map_err(e)?;
    let (legend, plot) = body.split_vertically(56);
    let quota = if a.per_function {
        "scaling tokens available (sum over functions)"
    } else {
        "burst quota available"
    };
    let limit = if a.limit_shown() {
        format!("account concurrency ({})", fmt_num(a.limit))
    } else {
        format!("account concurrency {} (above the chart)", fmt_num(a.limit))
    };
    let items: [(&str, RGBColor, bool); 6] = [
        ("requests processed", PROCESSED, true),
        ("new requests processed", NEW, true),
        ("burst throttled", BURST, true),
        ("account throttled", ACCOUNT, true),
        (quota, TOKENS, false),
        (&limit, LIMIT, false),
    ];
    let style = font(14);
    for (i, (label, c, filled)) in items.iter().enumerate() {
        let x = 20 + (i as i32 % 3) * 310;
        let y = 12 + (i as i32 / 3) * 24;
        if *filled {
            legend
                .draw(&Rectangle::new([(x, y - 7), (x + 22, y + 7)], c.filled()))
                .map_err(e)?;
        } else {
            legend
                .draw(&PathElement::new(
                    vec![(x, y), (x + 22, y)],
                    c.stroke_width(3),
                ))
                .map_err(e)?;
        }
        legend
            .draw(&Text::new(
                label.to_string(),
                (x + 28, y - 8),
                style.clone(),
            ))
            .map_err(e)?;
    }
    let mut chart = ChartBuilder::on(&plot.margin(0, 16, 8, 8))
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(a.from_s..a.to_s, 0f64..a.y_max())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("simulated time (s)")
        .y_desc("environments · throttles/s")
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .label_style(font(13))
        .axis_desc_style(font(14))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(e)?;
    let gap = a.step_s * 0.12;
    for s in &a.steps[..upto.min(a.steps.len())] {
        let (x0, x1) = (s.t + gap / 2.0, s.t + a.step_s - gap / 2.0);
        let mut y = 0.0;
        for (v, c) in [
            (s.processed, PROCESSED),
            (s.new, NEW),
            (s.burst_throttled, BURST),
            (s.account_throttled, ACCOUNT),
        ] {
            if v > 0.0 {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x0, y), (x1, y + v)],
                        c.filled(),
                    )))
                    .map_err(e)?;
            }
            y += v;
        }
    }
    let shown = &a.steps[..upto.min(a.steps.len())];
    chart
        .draw_series(LineSeries::new(
            shown.iter().flat_map(|s| {
                [
                    (s.t, s.quota_available),
                    (s.t + a.step_s, s.quota_available),
                ]
            }),
            TOKENS.stroke_width(3),
        ))
        .map_err(e)?;
    if a.limit_shown() {
        chart
            .draw_series(LineSeries::new(
                [(a.from_s, a.limit), (a.to_s, a.limit)],
                LIMIT.stroke_width(2),
            ))
            .map_err(e)?;
    }
    Ok(chart.plotting_area().get_pixel_range())
}

/// Writes the animated GIF: one frame per step, [`FRAME_MS`] each, looping, the last frame
/// held for a second. Frames are drawn as RGB, mapped to one fixed palette (the chart colours
/// exactly, a grey ramp for anti-aliased text, a colour cube for the rest) and stored as the
/// rectangle that changed since the previous frame with unchanged pixels transparent, so the
/// file stays small (plotters' own GIF encoder quantizes every full frame: 13 s and 3.7 MB
/// for 120 frames of burst-staircase; this way 2 s and 160 kB).
pub fn write_gif(a: &Animation, path: &Path) -> Result<(), Error> {
    register_font();
    let tmp = crate::output::temp_path(path);
    let res = (|| -> R<()> {
        let (w, h) = (SIZE.0 as usize, SIZE.1 as usize);
        let pal = Palette::new();
        let file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(e)?);
        let mut enc = gif::Encoder::new(file, SIZE.0 as u16, SIZE.1 as u16, &pal.rgb).map_err(e)?;
        enc.set_repeat(gif::Repeat::Infinite).map_err(e)?;
        let mut prev: Vec<u8> = Vec::new();
        let mut rgb = vec![0u8; w * h * 3];
        for k in 1..=a.frames() {
            {
                let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
                draw(a, k, true, &root)?;
                root.present().map_err(e)?;
            }
            let idx: Vec<u8> = rgb.chunks_exact(3).map(|p| pal.index(p)).collect();
            let delay = if k == a.frames() {
                100 + FRAME_MS / 10
            } else {
                FRAME_MS / 10
            };
            let frame = delta_frame(&prev, &idx, w, h, delay as u16);
            enc.write_frame(&frame).map_err(e)?;
            prev = idx;
        }
        drop(enc);
        Ok(())
    })();
    let res = res.and_then(|_| std::fs::rename(&tmp, path).map_err(e));
    res.map_err(|m| {
        let _ = std::fs::remove_file(&tmp);
        Error::runtime(format!("cannot write {}: {m}", path.display()))
    })
}

/// Palette index of unchanged pixels in delta frames.
const TRANSPARENT: u8 = 255;

/// The fixed GIF palette and a lookup table from 5-bit RGB to its nearest entry.
struct Palette {
    rgb: Vec<u8>,
    exact: Vec<([u8; 3], u8)>,
    lut: Vec<u8>,
}

impl Palette {
    fn new() -> Palette {
        let mut colors: Vec<[u8; 3]> = [PROCESSED, NEW, BURST, ACCOUNT, TOKENS, LIMIT]
            .iter()
            .map(|c| [c.0, c.1, c.2])
            .collect();
        colors.extend((0..32).map(|g| [(g * 255 / 31) as u8; 3]));
        for r in 0..6u8 {
            for g in 0..6u8 {
                for b in 0..6u8 {
                    colors.push([r * 51, g * 51, b * 51]);
                }
            }
        }
        colors.truncate(TRANSPARENT as usize);
        let exact = colors[..6]
            .iter()
            .enumerate()
            .map(|(i, c)| (*c, i as u8))
            .collect();
        let nearest = |p: [i32; 3]| {
            let d = |c: &[u8; 3]| (0..3).map(|i| (c[i] as i32 - p[i]).pow(2)).sum::<i32>();
            (0..colors.len())
                .min_by_key(|&i| d(&colors[i]))
                .unwrap_or(0) as u8
        };
        let mut lut = vec![0u8; 32 * 32 * 32];
        for (i, slot) in lut.iter_mut().enumerate() {
            let c = |s: usize| (((i >> s) & 31) * 255 / 31) as i32;
            *slot = nearest([c(10), c(5), c(0)]);
        }
        let mut rgb: Vec<u8> = colors.iter().flatten().copied().collect();
        rgb.resize(256 * 3, 0);
        Palette { rgb, exact, lut }
    }

    fn index(&self, p: &[u8]) -> u8 {
        for (c, i) in &self.exact {
            if c[..] == p[..3] {
                return *i;
            }
        }
        let q = |v: u8| (v as usize) >> 3;
        self.lut[q(p[0]) << 10 | q(p[1]) << 5 | q(p[2])]
    }
}

/// The frame as the bounding box of pixels that differ from `prev` (all of it for the first
/// frame), unchanged pixels inside the box transparent.
fn delta_frame<'a>(prev: &[u8], cur: &[u8], w: usize, h: usize, delay: u16) -> gif::Frame<'a> {
    let (mut x0, mut y0, mut x1, mut y1) = (0, 0, w, h);
    if prev.len() == cur.len() {
        let changed = |x: usize, y: usize| prev[y * w + x] != cur[y * w + x];
        let rows: Vec<usize> = (0..h).filter(|&y| (0..w).any(|x| changed(x, y))).collect();
        match (rows.first(), rows.last()) {
            (Some(&a), Some(&b)) => {
                y0 = a;
                y1 = b + 1;
                x0 = (0..w)
                    .find(|&x| (y0..y1).any(|y| changed(x, y)))
                    .unwrap_or(0);
                x1 = (0..w)
                    .rev()
                    .find(|&x| (y0..y1).any(|y| changed(x, y)))
                    .map_or(w, |x| x + 1);
            }
            // Nothing changed: one transparent pixel keeps the frame (and its delay).
            _ => (x0, y0, x1, y1) = (0, 0, 1, 1),
        }
    }
    let mut buf = Vec::with_capacity((x1 - x0) * (y1 - y0));
    for y in y0..y1 {
        for x in x0..x1 {
            let i = y * w + x;
            let same = prev.len() == cur.len() && prev[i] == cur[i];
            buf.push(if same { TRANSPARENT } else { cur[i] });
        }
    }
    gif::Frame {
        delay,
        dispose: gif::DisposalMethod::Keep,
        transparent: Some(TRANSPARENT),
        left: x0 as u16,
        top: y0 as u16,
        width: (x1 - x0) as u16,
        height: (y1 - y0) as u16,
        buffer: std::borrow::Cow::Owned(buf),
        ..Default::default()
    }
}

/// The animated SVG: the whole diagram, revealed one step per [`FRAME_MS`] by a clip whose
/// width grows in discrete steps (SMIL), looping; the title and legend stay visible.
pub fn render_svg(a: &Animation) -> Result<String, Error> {
    register_font();
    let mut s = String::new();
    let (xr, yr) = {
        let root = SVGBackend::with_string(&mut s, SIZE).into_drawing_area();
        let r = draw(a, a.frames(), false, &root)
            .map_err(|m| Error::runtime(format!("scaling.svg: {m}")))?;
        root.present()
            .map_err(|m| Error::runtime(format!("scaling.svg: {m:?}")))?;
        r
    };
    let span = (a.to_s - a.from_s).max(1e-9);
    let px = |t: f64| xr.start as f64 + (t - a.from_s) / span * (xr.end - xr.start) as f64;
    let mut widths: Vec<String> = a
        .steps
        .iter()
        .map(|st| format!("{:.1}", px(st.t + a.step_s).min(SIZE.0 as f64)))
        .collect();
    // Hold the finished picture for a second before the loop starts again.
    let last = widths.last().cloned().unwrap_or_else(|| "0".into());
    widths.extend(std::iter::repeat_n(last, (1000 / FRAME_MS) as usize));
    let dur = widths.len() as f64 * FRAME_MS as f64 / 1000.0;
    let top = yr.start;
    let clip = format!(
        "<defs><clipPath id=\"reveal\"><rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{top}\"/><rect x=\"0\" y=\"{top}\" width=\"{w0}\" height=\"{h}\"><animate attributeName=\"width\" values=\"{vals}\" dur=\"{dur}s\" calcMode=\"discrete\" repeatCount=\"indefinite\"/></rect></clipPath></defs><g clip-path=\"url(#reveal)\">",
        w = SIZE.0,
        w0 = widths.first().map_or("0", |s| s.as_str()),
        h = SIZE.1 as i32 - top,
        vals = widths.join(";"),
    );
    let open_end = s
        .find("<svg")
        .and_then(|i| s[i..].find('>').map(|j| i + j + 1))
        .ok_or_else(|| Error::runtime("scaling.svg: no <svg> element"))?;
    s.insert_str(open_end, &clip);
    let close = s
        .rfind("</svg>")
        .ok_or_else(|| Error::runtime("scaling.svg: no </svg>"))?;
    s.insert_str(close, "</g>\n");
    Ok(s)
}

/// Writes `scaling.gif` and `scaling.svg` into `dir`; returns their paths.
pub fn write_all(dir: &Path, a: &Animation) -> Result<Vec<PathBuf>, Error> {
    let gif = dir.join("scaling.gif");
    let svg = dir.join("scaling.svg");
    let text = render_svg(a)?;
    crate::output::write_atomic(&svg, text.as_bytes())?;
    write_gif(a, &gif)?;
    Ok(vec![gif, svg])
}
