//! Charts and report.html: valid PNG (1600×900) and SVG files whose content depends on the
//! data, axis titles and legend entries present as SVG text, `--no-charts` writing no chart.

use lambdasim::app::{run, RunOptions};
use lambdasim::output::charts::{log_ticks, NAMES};
use std::path::{Path, PathBuf};

const ONE: &str = r#"name = "one-function"
description = "A single function with a burst"
duration = "40s"
seed = 3

[account]
concurrency_limit = 1000

[[functions]]
name = "solo"
runtime = "python3.12"
duration = { dist = "lognormal", median = "200ms", p99 = "900ms" }
reserved_concurrency = 80

[[traffic]]
function = "solo"
load = { kind = "constant", rps = 300 }
"#;

const SIX: &str = r#"name = "six-functions"
duration = "30s"
seed = 9

[account]
concurrency_limit = 400
scaling = "burst"
region = "sa-east-1"

[[functions]]
name = "alpha"
duration = { dist = "exponential", mean = "300ms" }
[[functions]]
name = "beta"
duration = { dist = "exponential", mean = "100ms" }
provisioned_concurrency = 10
reserved_concurrency = 50
[[functions]]
name = "gamma"
duration = { dist = "exponential", mean = "2s" }
# Retired 5 s after creation once idle: replacements drain the 500 burst, so all three
# throttle reasons appear (a timeout no longer costs a scaling token).
max_lifetime = "5s"
[[functions]]
name = "delta"
duration = { dist = "exponential", mean = "50ms" }
[[functions]]
name = "epsilon"
duration = { dist = "exponential", mean = "50ms" }
[[functions]]
name = "zeta"
duration = { dist = "exponential", mean = "50ms" }

[[traffic]]
function = "alpha"
load = { kind = "constant", rps = 400 }
[[traffic]]
function = "beta"
load = { kind = "constant", rps = 300 }
[[traffic]]
function = "gamma"
load = { kind = "constant", rps = 200 }
[[traffic]]
function = "delta"
load = { kind = "constant", rps = 50 }
[[traffic]]
function = "epsilon"
load = { kind = "constant", rps = 20 }
[[traffic]]
function = "zeta"
load = { kind = "constant", rps = 10 }
"#;

fn run_scenario(dir: &Path, text: &str, charts: bool) -> PathBuf {
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, text).unwrap();
    let out = dir.join("out");
    run(&RunOptions {
        scenario,
        out: Some(out.clone()),
        charts,
        ..Default::default()
    })
    .unwrap();
    out
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "IHDR first");
    let be = |o: usize| u32::from_be_bytes(bytes[o..o + 4].try_into().unwrap());
    (be(16), be(20))
}

/// The contents of every `<text>` element.
fn svg_texts(svg: &str) -> Vec<String> {
    let mut out = vec![];
    let mut rest = svg;
    while let Some(i) = rest.find("<text") {
        rest = &rest[i..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let Some(close) = rest.find("</text>") else {
            break;
        };
        out.push(rest[open_end + 1..close].to_string());
        rest = &rest[close..];
    }
    out
}

fn has_text(texts: &[String], s: &str) -> bool {
    // SVG text is XML-escaped; compare with the escaped form of `s`.
    let esc = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    texts.iter().any(|t| t.contains(&esc) || t.contains(s))
}

#[test]
fn charts_are_valid_and_depend_on_data() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let out_a = run_scenario(a.path(), ONE, true);
    let out_b = run_scenario(b.path(), SIX, true);
    for name in NAMES {
        for out in [&out_a, &out_b] {
            let png = std::fs::read(out.join(format!("{name}.png"))).unwrap();
            assert_eq!(png_size(&png), (1600, 900), "{name}.png size");
            let svg = std::fs::read_to_string(out.join(format!("{name}.svg"))).unwrap();
            assert!(svg.contains("<svg"), "{name}.svg is an SVG");
            assert!(svg.contains("width=\"1600\"") && svg.contains("height=\"900\""));
            assert!(svg.trim_end().ends_with("</svg>"));
        }
        let pa = std::fs::read(out_a.join(format!("{name}.png"))).unwrap();
        let pb = std::fs::read(out_b.join(format!("{name}.png"))).unwrap();
        assert_ne!(pa, pb, "{name}.png differs between scenarios");
        let sa = std::fs::read_to_string(out_a.join(format!("{name}.svg"))).unwrap();
        let sb = std::fs::read_to_string(out_b.join(format!("{name}.svg"))).unwrap();
        assert_ne!(sa, sb, "{name}.svg differs between scenarios");
    }

    // Axis titles (with units) and legend entries are SVG text.
    let texts = |out: &Path, name: &str| {
        svg_texts(&std::fs::read_to_string(out.join(format!("{name}.svg"))).unwrap())
    };
    let t = texts(&out_a, "throttles");
    for s in [
        "simulated time (s)",
        "invocations per second",
        "invocations: succeeded",
        "offered load: new requests",
        "throttled: reserved",
        "function solo",
    ] {
        assert!(has_text(&t, s), "throttles.svg lacks {s:?}: {t:?}");
    }
    let t = texts(&out_a, "latency");
    for s in [
        "latency (ms, log)",
        "end-to-end latency (ms, log)",
        "p50 over time",
        "p90 over time",
        "p99 over time",
        "CDF: warm starts",
        "CDF: cold starts",
        "CDF: solo",
    ] {
        assert!(has_text(&t, s), "latency.svg lacks {s:?}: {t:?}");
    }
    let t = texts(&out_a, "concurrency");
    for s in ["concurrent executions", "reserved: solo (80)", "solo"] {
        assert!(has_text(&t, s), "concurrency.svg lacks {s:?}: {t:?}");
    }
    let t = texts(&out_a, "cold_starts");
    for s in ["cold starts per second", "cold-start ratio (%)", "solo"] {
        assert!(has_text(&t, s), "cold_starts.svg lacks {s:?}: {t:?}");
    }

    // Many functions: the account, the busiest three, the rest folded into "other".
    let t = texts(&out_b, "throttles");
    for s in [
        "account (6 functions)",
        "function alpha",
        "function beta",
        "function gamma",
        "other (3 functions)",
        "throttled: burst / scaling budget",
    ] {
        assert!(has_text(&t, s), "throttles.svg lacks {s:?}: {t:?}");
    }
    assert!(!has_text(&t, "function zeta"));
    let t = texts(&out_b, "concurrency");
    for s in [
        "account: concurrent executions",
        "account limit (400)",
        "provisioned: beta (10)",
        "account burst quota available (new environments that may start now)",
    ] {
        assert!(has_text(&t, s), "concurrency.svg lacks {s:?}: {t:?}");
    }

    // The report: self-contained, with the scenario, the summary table and the charts inline.
    let html = std::fs::read_to_string(out_a.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("one-function"));
    assert!(html.contains("A single function with a burst"));
    assert!(html.contains("<table>") && html.contains("<th>solo</th>"));
    assert_eq!(html.matches("<svg").count(), 4);
    // Nothing to fetch (the only URL allowed is the SVG namespace, which is not a request).
    assert!(!html.contains("<script"));
    assert!(!html.contains("src=") && !html.contains("href=\"http"));
    assert!(html.contains("url(data:font/ttf;base64,") && !html.contains("url(http"));
    let html = std::fs::read_to_string(out_b.join("report.html")).unwrap();
    assert!(html.contains("<th>account</th>") && html.contains("<th>zeta</th>"));
}

#[test]
fn no_charts_writes_no_chart() {
    let a = tempfile::tempdir().unwrap();
    let out = run_scenario(a.path(), ONE, false);
    for name in NAMES {
        for ext in ["png", "svg"] {
            assert!(!out.join(format!("{name}.{ext}")).exists(), "{name}.{ext}");
        }
    }
    assert!(out.join("summary.json").exists());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("<svg"));
    // No temporary files left behind either.
    let stray: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn base64_matches_rfc4648() {
    use lambdasim::output::report::base64;
    for (i, o) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(i.as_bytes()), o);
    }
}

#[test]
fn log_ticks_always_label_a_few_values() {
    for (lo, hi) in [
        (1.0, 1e6),
        (1333.0, 7000.0),
        (2000.0, 2600.0),
        (0.5, 30.0),
        (2050.0, 2150.0),
    ] {
        let t = log_ticks(lo, hi);
        assert!(t.len() >= 3 && t.len() <= 13, "{lo}..{hi}: {t:?}");
        assert!(t.iter().all(|v| *v >= lo && *v <= hi));
        assert!(t.windows(2).all(|w| w[0] < w[1]));
    }
}

#[test]
fn queue_chart_only_for_queued_traffic_and_it_shows_the_backlog() {
    // Sync-only scenarios have no queues chart; an SQS scenario gets one whose depth axis
    // reaches the backlog the summary implies (400 in, at most 300 out per second for 60 s).
    let a = tempfile::tempdir().unwrap();
    let out_sync = run_scenario(a.path(), ONE, true);
    assert!(!out_sync.join("queues.png").exists());
    let b = tempfile::tempdir().unwrap();
    let sqs = std::fs::read_to_string("scenarios/sqs-low-concurrency.toml")
        .unwrap()
        .replace("duration = \"10m\"", "duration = \"60s\"");
    let out = run_scenario(b.path(), &sqs, true);
    let png = std::fs::read(out.join("queues.png")).unwrap();
    assert_eq!(png_size(&png), (1600, 900));
    let t = svg_texts(&std::fs::read_to_string(out.join("queues.svg")).unwrap());
    for s in ["waiting", "age (s)", "orders", "simulated time (s)"] {
        assert!(has_text(&t, s), "queues.svg lacks {s:?}");
    }
    // The depth axis tops out at a "nice" value at or above the final backlog (> 5000).
    assert!(
        t.iter()
            .any(|x| ["6000", "8000", "10k"].contains(&x.trim())),
        "depth ticks: {t:?}"
    );
}
