//! `lambdasim run --animate`: scaling.gif has one frame per step of the window (at most
//! MAX_FRAMES, neighbouring buckets joined beyond) at 960×540, scaling.svg reveals the same
//! steps, and the steps' counts add up to the run's own numbers.

use assert_cmd::Command;
use lambdasim::app::{run, RunOptions};
use lambdasim::output::animation::{Animation, FRAME_MS, MAX_FRAMES, SIZE};
use lambdasim::output::timeseries::ChartSeries;
use lambdasim::stats::{BucketRow, Recorder};
use lambdasim::Micros;
use std::path::Path;

/// Legacy burst scaling in a small region (burst quota 500): 300 rps of 4 s work need about
/// 1200 environments, so the burst quota throttles for the first minute.
const BURST: &str = r#"name = "animate-burst"
duration = "300s"
seed = 5

[account]
region = "ap-south-2"
concurrency_limit = 1000
scaling = "burst"

[[functions]]
name = "f"
duration = { dist = "fixed", value = "4s" }

[[traffic]]
function = "f"
load = { kind = "constant", rps = 300 }
"#;

fn gif_frames(path: &Path) -> (u16, u16, usize, Vec<u16>) {
    let mut d = gif::DecodeOptions::new()
        .read_info(std::fs::File::open(path).unwrap())
        .unwrap();
    let (w, h) = (d.width(), d.height());
    let mut delays = Vec::new();
    while let Some(f) = d.read_next_frame().unwrap() {
        assert!(
            f.left + f.width <= w && f.top + f.height <= h,
            "frame inside the screen"
        );
        delays.push(f.delay);
    }
    (w, h, delays.len(), delays)
}

fn animate(dir: &Path, from: Option<u64>, to: Option<u64>) -> std::path::PathBuf {
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, BURST).unwrap();
    let out = dir.join(format!("out-{from:?}-{to:?}"));
    run(&RunOptions {
        scenario,
        out: Some(out.clone()),
        no_whatif: true,
        animate: true,
        from: from.map(Micros::from_secs),
        to: to.map(Micros::from_secs),
        ..Default::default()
    })
    .unwrap();
    out
}

#[test]
fn gif_has_one_frame_per_bucket_of_a_short_window() {
    let dir = tempfile::tempdir().unwrap();
    let out = animate(dir.path(), Some(20), Some(50));
    // 1 s buckets: the window 20 s..50 s is 30 steps.
    let (w, h, n, delays) = gif_frames(&out.join("scaling.gif"));
    assert_eq!((w as u32, h as u32), SIZE);
    assert_eq!(n, 30);
    assert!(delays[..29].iter().all(|&d| d as u32 == FRAME_MS / 10));
    assert!(delays[29] as u32 > FRAME_MS / 10, "the last frame is held");
    let svg = std::fs::read_to_string(out.join("scaling.svg")).unwrap();
    let values = svg
        .split("values=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("an <animate> with values");
    // 30 steps, then the finished picture held for one second.
    assert_eq!(values.split(';').count(), 30 + (1000 / FRAME_MS) as usize);
    for word in [
        "requests processed",
        "new requests processed",
        "burst throttled",
        "account throttled",
        "burst quota available",
        "account concurrency",
    ] {
        assert!(svg.contains(&format!(">\n{word}")), "legend names {word}");
    }
}

#[test]
fn long_windows_join_buckets_to_at_most_max_frames() {
    let dir = tempfile::tempdir().unwrap();
    let out = animate(dir.path(), None, None);
    // 300 buckets: joined 3 at a time (ceil(300 / 120)) is 100 frames.
    let group = 300usize.div_ceil(MAX_FRAMES);
    let (_, _, n, _) = gif_frames(&out.join("scaling.gif"));
    assert_eq!(n, 300 / group);
    assert!(n <= MAX_FRAMES);
}

/// Keeps every row (the same rows `run` sees).
struct Keep(ChartSeries, Vec<BucketRow>);
impl Recorder for Keep {
    fn bucket(&mut self, rows: &[BucketRow]) {
        self.0.push(rows);
        self.1
            .extend(rows.iter().filter(|r| r.function.is_none()).cloned());
    }
}

#[test]
fn steps_add_up_to_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, BURST).unwrap();
    let (_, model) = lambdasim::app::load_model(&path, &[], None).unwrap();
    let mut rec = Keep(ChartSeries::default(), Vec::new());
    let out = lambdasim::simulate(&model, &mut rec);
    let a = Animation::new(&model, &rec.0, None, None).unwrap();
    let burst: f64 = a.steps.iter().map(|s| s.burst_throttled * a.step_s).sum();
    assert!(
        out.summary.account.throttles.burst > 1000,
        "the scenario throttles"
    );
    assert!((burst - out.summary.account.throttles.burst as f64).abs() < 1e-6);
    // Each bar is the highest concurrency of its buckets; the new part is its cold starts.
    for (s, rows) in a.steps.iter().zip(rec.1.chunks(3)) {
        let peak = rows.iter().map(|r| r.concurrency_max).max().unwrap() as f64;
        let cold: u64 = rows.iter().map(|r| r.cold_starts).sum();
        assert_eq!(s.processed + s.new, peak);
        assert_eq!(s.new, (cold as f64).min(peak));
    }
    // The burst quota of ap-south-2 (500) is what the first bar can start.
    assert_eq!(a.steps[0].new, 500.0);
}

#[test]
fn empty_window_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, BURST).unwrap();
    let o = Command::cargo_bin("lambdasim")
        .unwrap()
        .args([
            "run",
            path.to_str().unwrap(),
            "--animate",
            "--from",
            "40s",
            "--to",
            "10s",
        ])
        .arg("--out")
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("window 40s..10s is empty"), "{err}");
}
