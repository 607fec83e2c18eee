//! One chart per compared metric: observed and simulated on the same axes, PNG and SVG.
//! Fonts and number formatting come from [`crate::output::charts`].

use super::Pair;
use crate::error::Error;
use crate::output::charts;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

const SIZE: (u32, u32) = (1200, 600);
const OBSERVED: RGBColor = RGBColor(40, 40, 40);
const SIMULATED: RGBColor = RGBColor(230, 120, 20);

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    p: &Pair,
) -> Result<(), String> {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let minutes = p.points.last().map(|q| q.0).unwrap_or(0.0) > 600.0;
    let scale = if minutes { 60.0 } else { 1.0 };
    let x_max = p
        .points
        .last()
        .map(|q| q.0 / scale)
        .unwrap_or(1.0)
        .max(1e-9);
    let y_max = p
        .points
        .iter()
        .map(|q| q.1.max(q.2))
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.1;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(|x| x.to_string())?;
    chart
        .configure_mesh()
        .x_desc(if minutes {
            "time (minutes)"
        } else {
            "time (s)"
        })
        .y_desc(p.unit)
        .x_label_formatter(&|v| charts::fmt_num(*v))
        .y_label_formatter(&|v| charts::fmt_num(*v))
        .label_style(("sans-serif", 18))
        .axis_desc_style(("sans-serif", 20))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|x| x.to_string())?;
    for (label, color, idx, width) in [
        ("observed (CloudWatch)", OBSERVED, 1, 3),
        ("simulated", SIMULATED, 2, 2),
    ] {
        let pts: Vec<(f64, f64)> = p
            .points
            .iter()
            .map(|q| (q.0 / scale, if idx == 1 { q.1 } else { q.2 }))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(width)))
            .map_err(|x| x.to_string())?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 18))
        .draw()
        .map_err(|x| x.to_string())?;
    root.present().map_err(e)?;
    Ok(())
}

pub fn write_png(path: &Path, title: &str, p: &Pair) -> Result<(), Error> {
    charts::register_font();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    draw(&root, title, p)
        .map_err(|e| Error::runtime(format!("cannot draw {}: {e}", path.display())))
}

pub fn render_svg(title: &str, p: &Pair) -> Result<String, Error> {
    charts::register_font();
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, SIZE).into_drawing_area();
        draw(&root, title, p).map_err(|e| Error::runtime(format!("cannot draw {title}: {e}")))?;
    }
    Ok(s)
}
