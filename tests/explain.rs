//! `lambdasim explain` on the shipped scenarios: the narration's numbers are the run's numbers
//! (summary.json of `lambdasim run` with the same seed), options restrict what is narrated, and
//! the story stays short.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn lambdasim() -> Command {
    Command::cargo_bin("lambdasim").unwrap()
}

fn scenarios() -> Vec<PathBuf> {
    common::shipped_scenarios()
}

fn explain(args: &[&str]) -> String {
    let out = lambdasim().arg("explain").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "explain {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn summary(scenario: &Path, dir: &Path) -> Value {
    lambdasim()
        .args(["run", scenario.to_str().unwrap(), "--no-charts", "--out"])
        .arg(dir)
        .assert()
        .success();
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// Splits the narration into (function name, timeline lines, totals lines); the demand line
/// under a function's heading is neither.
fn sections(text: &str) -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Function ") {
            let name = rest.split(" (").next().unwrap().to_string();
            out.push((name, Vec::new(), Vec::new()));
        } else if let Some(sec) = out.last_mut() {
            let t = line.trim_start();
            if t.starts_with("Totals:")
                || t.starts_with("Window totals:")
                || (!sec.2.is_empty() && !t.is_empty())
            {
                sec.2.push(line.to_string());
            } else if !t.is_empty() && !t.starts_with("Demand (Little's law):") {
                sec.1.push(line.to_string());
            }
        }
    }
    out
}

/// Sum over timeline lines of the number before `what` in parts like "123 cold starts".
fn sum_of(lines: &[String], what: &str) -> u64 {
    let mut total = 0;
    for l in lines {
        for part in l.split("; ") {
            if let Some(pos) = part.find(what) {
                let before = part[..pos].trim_end();
                let n = before.rsplit(' ').next().unwrap();
                if let Ok(n) = n.parse::<u64>() {
                    total += n;
                }
            }
        }
    }
    total
}

/// The number after `key ` in the totals lines, e.g. `("requests", "1234 requests")`.
fn totals_number_before(totals: &[String], word: &str) -> u64 {
    let joined = totals.join(" ");
    let pos = joined
        .find(&format!(" {word}"))
        .unwrap_or_else(|| panic!("no {word:?} in {joined}"));
    joined[..pos]
        .rsplit([' ', '('])
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{word}: {e} in {joined}"))
}

fn totals_number_after(totals: &[String], word: &str) -> u64 {
    let joined = totals.join(" ");
    let pos = joined
        .find(&format!("{word} "))
        .unwrap_or_else(|| panic!("no {word:?} in {joined}"));
    joined[pos + word.len() + 1..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn narration_numbers_equal_summary_json_and_stay_short() {
    let dir = tempfile::tempdir().unwrap();
    for s in scenarios() {
        let path = s.to_str().unwrap();
        let text = explain(&[path]);
        let n_lines = text.lines().count();
        assert!(
            n_lines <= 40,
            "{path}: {n_lines} lines of narration:\n{text}"
        );
        let sum = summary(&s, &dir.path().join(s.file_stem().unwrap()));
        let secs = sections(&text);
        let functions = sum["functions"].as_object().unwrap();
        assert_eq!(
            secs.len(),
            functions.len(),
            "{path}: one section per function"
        );
        for (name, timeline, totals) in &secs {
            let f = &sum["functions"][name];
            let n = |k: &str| f[k].as_u64().unwrap();
            let th = |k: &str| f["throttles"][k].as_u64().unwrap();
            assert_eq!(
                totals_number_before(totals, "requests"),
                n("requests"),
                "{path} {name}"
            );
            assert_eq!(
                totals_number_before(totals, "invocations,"),
                n("invocations"),
                "{path} {name}"
            );
            assert_eq!(
                totals_number_before(totals, "cold starts"),
                n("cold_starts"),
                "{path} {name}"
            );
            assert_eq!(
                totals_number_after(totals, "peak concurrency"),
                f["concurrency"]["peak"].as_u64().unwrap(),
                "{path} {name}"
            );
            for reason in ["burst", "account", "reserved", "rate"] {
                assert_eq!(
                    totals_number_after(totals, reason),
                    th(reason),
                    "{path} {name} {reason}"
                );
                // The timeline's per-segment throttles add up to the summary (no warmup in
                // the shipped scenarios, so every bucket counts).
                assert_eq!(
                    sum_of(timeline, &format!("throttled ({reason})")),
                    th(reason),
                    "{path} {name}: timeline throttles ({reason})"
                );
            }
            assert_eq!(
                sum_of(timeline, "cold starts"),
                n("cold_starts"),
                "{path} {name}: timeline cold starts"
            );
            // The run's concurrency peak is marked in the timeline.
            if n("invocations") > 0 {
                let peak = f["concurrency"]["peak"].as_u64().unwrap();
                assert!(
                    timeline
                        .iter()
                        .any(|l| l.contains(&format!("concurrency up to {peak} (peak)"))),
                    "{path} {name}: peak {peak} not in\n{}",
                    timeline.join("\n")
                );
            }
        }
    }
}

#[test]
fn throttle_reasons_are_explained_in_words() {
    let text = explain(&["scenarios/burst-staircase.toml"]);
    assert!(
        text.contains("burst quota used up / no scaling tokens left"),
        "{text}"
    );
    assert!(
        text.contains("+500 at 60s, 120s"),
        "the staircase's refills are named:\n{text}"
    );
    let text = explain(&["scenarios/noisy-neighbour.toml"]);
    assert!(
        text.contains("account concurrency limit 1000 reached"),
        "{text}"
    );
    let text = explain(&["scenarios/reserved-concurrency.toml"]);
    assert!(text.contains("reserved concurrency 100 reached"), "{text}");
    assert!(text.contains("switched off"), "{text}");
    let text = explain(&["scenarios/provisioned-vs-on-demand.toml"]);
    assert!(text.contains("spilled over to on-demand"), "{text}");
    let text = explain(&["scenarios/retry-storm.toml"]);
    assert!(text.contains("retries"), "{text}");
}

#[test]
fn function_option_restricts_the_story() {
    let text = explain(&[
        "scenarios/per-function-scaling.toml",
        "--function",
        "payments",
    ]);
    assert!(text.contains("Function payments"), "{text}");
    assert!(!text.contains("Function orders"), "{text}");
    assert_eq!(sections(&text).len(), 1);
}

#[test]
fn from_and_to_restrict_the_window() {
    let text = explain(&[
        "scenarios/burst-staircase.toml",
        "--from",
        "2m",
        "--to",
        "5m",
    ]);
    let secs = sections(&text);
    let (_, timeline, totals) = &secs[0];
    assert!(totals[0].contains("Window totals"), "{text}");
    let first = timeline.first().unwrap().trim_start();
    let last = timeline.last().unwrap().trim_start();
    assert!(first.starts_with("120s-"), "window starts at 2m: {first}");
    assert!(
        last.split_whitespace().next().unwrap().ends_with("-300s"),
        "window ends at 5m: {last}"
    );
    // The window's throttles are a part of the run's.
    let whole = explain(&["scenarios/burst-staircase.toml"]);
    let window_throttles = sum_of(timeline, "throttled (burst)");
    let all = sum_of(&sections(&whole)[0].1, "throttled (burst)");
    assert!(
        window_throttles > 0 && window_throttles < all,
        "{window_throttles} vs {all}"
    );
    assert_eq!(totals_number_after(totals, "burst"), window_throttles);
}

#[test]
fn bad_function_and_window_exit_2_with_a_clear_message() {
    let out = lambdasim()
        .args([
            "explain",
            "scenarios/noisy-neighbour.toml",
            "--function",
            "nope",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no function named \"nope\""), "{err}");
    assert!(
        err.contains("shop-api, batch-import"),
        "the message lists the functions: {err}"
    );
    assert!(err.contains("noisy-neighbour.toml"), "{err}");

    let out = lambdasim()
        .args([
            "explain",
            "scenarios/noisy-neighbour.toml",
            "--from",
            "5m",
            "--to",
            "1m",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = lambdasim()
        .args([
            "explain",
            "scenarios/noisy-neighbour.toml",
            "--from",
            "soon",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn seed_and_set_work_like_run_and_output_is_deterministic() {
    let a = explain(&["scenarios/noisy-neighbour.toml", "--seed", "9"]);
    let b = explain(&["scenarios/noisy-neighbour.toml", "--seed", "9"]);
    assert_eq!(a, b);
    assert!(a.contains("(seed 9)"));
    let c = explain(&[
        "scenarios/noisy-neighbour.toml",
        "--set",
        "functions.shop-api.reserved_concurrency=100",
    ]);
    assert!(c.contains("reserved concurrency 100"), "{c}");
    assert!(!c.contains("throttled (account)") || c.contains("Function batch-import"));
}

/// Per-bucket `arrivals` and `retries` count new requests and retries apart: with Poisson
/// arrivals at 20/s for 1200 s and async retries of a 30 % error rate (one retry), arrivals
/// are 24000 (sd 155; tolerance 4 sd = 620) and retries are 0.3 x the
/// arrivals that had time for their retry delay (1 to 3 minutes before the end): between
/// 0.3 x 20 x (1200 - 180) and 0.3 x 20 x 1200, with 5 % for sampling.
#[test]
fn bucket_rows_count_arrivals_and_retries_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        r#"
name = "arrivals-retries"
duration = "1200s"
seed = 3

[[functions]]
name = "worker"
duration = "100ms"
error_rate = 0.3

[[traffic]]
function = "worker"
invocation = "async"
load = { kind = "constant", rps = 20 }
async = { maximum_retry_attempts = 1 }
"#,
    )
    .unwrap();
    let (_, model) = lambdasim::app::load_model(&path, &[], None).unwrap();
    let mut rows: Vec<lambdasim::stats::BucketRow> = Vec::new();
    lambdasim::run::simulate(&model, &mut rows);
    let f: Vec<_> = rows.iter().filter(|r| r.function == Some(0)).collect();
    let arrivals: u64 = f.iter().map(|r| r.arrivals).sum();
    let retries: u64 = f.iter().map(|r| r.retries).sum();
    assert!(
        (arrivals as f64 - 24000.0).abs() < 620.0,
        "arrivals {arrivals}"
    );
    let (lo, hi) = (0.3 * 20.0 * 1020.0 * 0.95, 0.3 * 20.0 * 1200.0 * 1.05);
    assert!(
        (lo..hi).contains(&(retries as f64)),
        "retries {retries} not in {lo}..{hi}"
    );
    // The account row adds the functions' counts.
    let acct: u64 = rows
        .iter()
        .filter(|r| r.function.is_none())
        .map(|r| r.retries)
        .sum();
    assert_eq!(acct, retries);
}
