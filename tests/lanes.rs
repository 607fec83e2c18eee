//! The `environments` chart's lanes against closed forms: busy time is the offered work
//! (rate x duration x time), provisioned lanes are the provisioned concurrency, and the
//! automatic chart is drawn only for small runs.

use lambdasim::app::{load_model, run, RunOptions};
use lambdasim::run::simulate;
use lambdasim::stats::lanes::{LaneRecorder, Lanes, SegKind, MAX_LANES};
use lambdasim::stats::NoRecorder;
use lambdasim::Micros;

const SMALL: &str = r#"
name = "lanes-small"
duration = "200s"
seed = 7

[[functions]]
name = "api"
duration = "250ms"
init = "400ms"
provisioned_concurrency = 2

[[traffic]]
function = "api"
load = { kind = "constant", rps = 6 }
"#;

fn lanes_of(toml: &str, from: u64, to: u64) -> Lanes {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, toml).unwrap();
    let (_, model) = load_model(&path, &[], None).unwrap();
    let mut inner = NoRecorder;
    let mut rec = LaneRecorder {
        inner: &mut inner,
        lanes: Lanes::new(
            Micros::from_secs(from),
            Micros::from_secs(to),
            None,
            MAX_LANES,
        ),
    };
    simulate(&model, &mut rec);
    let mut lanes = rec.lanes;
    lanes.finish();
    lanes
}

#[test]
fn busy_time_in_the_lanes_is_the_offered_work() {
    let l = lanes_of(SMALL, 20, 180);
    // Offered work over the 160 s window: 6/s x 0.25 s x 160 s = 240 s of busy time
    // (Poisson arrivals: ~960 requests, sd of the count ~31, so 4 sd is ~13%; 15% tolerance).
    let busy: u64 = l
        .lanes
        .iter()
        .flat_map(|a| &a.segments)
        .filter(|s| s.kind == SegKind::Busy)
        .map(|s| s.end - s.start)
        .sum();
    let busy_s = busy as f64 / 1e6;
    assert!((busy_s - 240.0).abs() < 0.15 * 240.0, "busy {busy_s} s");
    // The two provisioned environments live through the window: two provisioned lanes.
    assert_eq!(l.lanes.iter().filter(|a| a.provisioned).count(), 2);
    // Every INIT segment is an on-demand cold start of 400 ms (the fixed init), or clipped.
    for a in &l.lanes {
        for s in a.segments.iter().filter(|s| s.kind == SegKind::Init) {
            assert!(!a.provisioned);
            assert!(s.end - s.start <= 400_000, "{s:?}");
        }
    }
}

#[test]
fn small_runs_draw_the_chart_and_lanes_asks_for_it_on_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.toml");
    std::fs::write(&small, SMALL).unwrap();
    let out = dir.path().join("out-small");
    run(&RunOptions {
        scenario: small,
        out: Some(out.clone()),
        charts: true,
        no_whatif: true,
        ..Default::default()
    })
    .unwrap();
    let png = std::fs::read(out.join("environments.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert!(out.join("environments.svg").exists());
    // 400 rps of 1 s work needs ~400 environments: more than MAX_LANES, no automatic chart.
    let big = dir.path().join("big.toml");
    std::fs::write(
        &big,
        SMALL.replace("rps = 6", "rps = 400").replace("250ms", "1s"),
    )
    .unwrap();
    let out = dir.path().join("out-big");
    let opts = RunOptions {
        scenario: big,
        out: Some(out.clone()),
        charts: true,
        no_whatif: true,
        ..Default::default()
    };
    run(&opts).unwrap();
    assert!(!out.join("environments.png").exists());
    // --lanes draws it anyway, for a window.
    run(&RunOptions {
        lanes: true,
        charts: false,
        from: Some(Micros::from_secs(5)),
        to: Some(Micros::from_secs(15)),
        ..opts
    })
    .unwrap();
    assert!(out.join("environments.png").exists());
}

#[test]
fn a_window_past_the_cap_keeps_max_lanes_and_counts_the_rest() {
    let l = lanes_of(
        &SMALL.replace("rps = 6", "rps = 400").replace("250ms", "1s"),
        5,
        15,
    );
    assert_eq!(l.lanes.len(), MAX_LANES);
    // ~400 environments are busy in the window (400/s x 1 s): all seen, 200 kept.
    assert!(l.seen > 300, "seen {}", l.seen);
}
