//! `lambdasim explain` says why: new arrivals apart from retries, the demand line (Little's law)
//! against the binding limit, the binding limit of queued models by name, why a backlog is not
//! draining, and segments that follow arrivals. Every expected number is computed here from the
//! scenario written in the test (or from `run`'s summary.json), never taken from explain.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

mod common;

fn lambdasim() -> Command {
    Command::cargo_bin("lambdasim").unwrap()
}

fn explain_file(path: &Path) -> String {
    let out = lambdasim().arg("explain").arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "explain {path:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes `toml` to a temporary scenario and explains it.
fn explain_toml(toml: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, toml).unwrap();
    explain_file(&path)
}

/// The number right after `prefix` in `text` (digits and one dot).
fn number_after(text: &str, prefix: &str) -> f64 {
    let pos = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix:?} in\n{text}"));
    let rest = &text[pos + prefix.len()..];
    let n: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    n.trim_end_matches('.')
        .parse()
        .unwrap_or_else(|e| panic!("{prefix:?}: {e} in {rest}"))
}

fn demand_line(text: &str) -> &str {
    text.lines()
        .find(|l| l.trim_start().starts_with("Demand (Little's law):"))
        .unwrap_or_else(|| panic!("no demand line in\n{text}"))
}

fn sync_scenario(rps: f64, reserved: u32) -> String {
    format!(
        r#"
name = "little"
duration = "600s"
seed = 4
[account]
concurrency_limit = 1000
[[functions]]
name = "api"
duration = "250ms"
reserved_concurrency = {reserved}
[[traffic]]
function = "api"
load = {{ kind = "constant", rps = {rps} }}
"#
    )
}

/// Little's law: needed concurrency = arrival rate x mean duration. 200/s Poisson for 600 s of
/// 250 ms work needs 50; the observed rate's sd is sqrt(200 x 600) / 600 = 0.58/s, so the
/// figure is 50 +- 4 sd x 0.25 = 0.58. The reservation of 100 serves at most 100 / 0.25 s =
/// 400/s: enough. At 600/s, 150 are needed: the reservation binds.
#[test]
fn demand_line_is_rate_times_mean_duration_against_the_binding_limit() {
    let text = explain_toml(&sync_scenario(200.0, 100));
    let line = demand_line(&text);
    let needed = number_after(line, "250 ms mean duration = ");
    assert!((needed - 200.0 * 0.25).abs() < 0.6, "{needed}: {line}");
    let rate = number_after(line, "Demand (Little's law): ");
    assert!((rate - 200.0).abs() < 2.4, "{rate}: {line}");
    assert!(
        // "enough" (the cold-start wave at t = 0 may still touch the reservation).
        line.contains("Limit: reserved concurrency 100 (serves at most 400/s), enough"),
        "{line}"
    );

    let text = explain_toml(&sync_scenario(600.0, 100));
    let line = demand_line(&text);
    let needed = number_after(line, "250 ms mean duration = ");
    // sd of the rate: sqrt(600 x 600) / 600 = 1/s, x 0.25 s; 4 sd.
    assert!((needed - 150.0).abs() < 1.0, "{needed}: {line}");
    assert!(
        line.contains("Limit: reserved concurrency 100 (serves at most 400/s), the binding limit"),
        "{line}"
    );
}

/// SQS: 400 messages/s in batches of 10 of 500 ms need 400 / 10 x 0.5 = 20 batches in flight;
/// maximum concurrency 15 serves 15 / 0.5 x 10 = 300 messages/s, so the backlog grows by
/// about 100/s (sd of the observed rate over 600 s: 0.8/s; tolerance 3/s).
#[test]
fn sqs_maximum_concurrency_is_named_as_the_binding_limit() {
    let text = explain_toml(
        r#"
name = "sqs-cap"
duration = "600s"
seed = 2
[[functions]]
name = "orders"
duration = "500ms"
timeout = "30s"
[[traffic]]
function = "orders"
invocation = "sqs"
load = { kind = "constant", rps = 400 }
sqs = { batch_size = 10, maximum_concurrency = 15 }
"#,
    );
    let line = demand_line(&text);
    let needed = number_after(line, "500 ms mean duration = ");
    assert!((needed - 20.0).abs() < 0.2, "{line}");
    assert!(
        line.contains(
            "Limit: SQS maximum concurrency 15 (serves at most 300 messages/s), the binding limit"
        ),
        "{line}"
    );
    let growth = number_after(line, "the backlog grows by about ");
    assert!((growth - 100.0).abs() < 3.0, "{growth}: {line}");
    assert!(
        text.contains("= SQS maximum concurrency 15")
            && text.contains("the backlog grows: no spare capacity (SQS maximum concurrency 15)"),
        "{text}"
    );
}

/// The same queue with a reservation of 10 below the mapping's 50: the reservation binds
/// (10 / 0.5 x 10 = 200 messages/s served) and batches are throttled.
#[test]
fn a_reservation_below_the_mapping_binds_an_sqs_function() {
    let text = explain_toml(
        r#"
name = "sqs-reserved"
duration = "300s"
seed = 2
[[functions]]
name = "orders"
duration = "500ms"
timeout = "30s"
reserved_concurrency = 10
[[traffic]]
function = "orders"
invocation = "sqs"
load = { kind = "constant", rps = 400 }
sqs = { batch_size = 10, maximum_concurrency = 50, visibility_timeout = "30s" }
"#,
    );
    let line = demand_line(&text);
    assert!(
        line.contains(
            "Limit: reserved concurrency 10 (serves at most 200 messages/s), the binding limit"
        ),
        "{line}"
    );
    assert!(
        text.contains("no spare capacity (reserved concurrency 10)")
            || text.contains("drains only as fast as reserved concurrency 10 allows"),
        "{text}"
    );
}

/// Streams: 1000 records/s on 2 shards in batches of 100 of 500 ms need 1000 / 100 x 0.5 = 5
/// batches in flight; 2 shards x parallelization 1 allow 2 (400 records/s).
#[test]
fn shards_times_parallelization_is_named_as_the_binding_limit() {
    let text = explain_toml(
        r#"
name = "stream-cap"
duration = "300s"
seed = 2
[[functions]]
name = "clicks"
duration = "500ms"
timeout = "30s"
[[traffic]]
function = "clicks"
invocation = "stream"
load = { kind = "constant", rps = 1000 }
stream = { shards = 2, parallelization_factor = 1, batch_size = 100 }
"#,
    );
    let line = demand_line(&text);
    let needed = number_after(line, "500 ms mean duration = ");
    assert!((needed - 5.0).abs() < 0.1, "{line}");
    assert!(
        line.contains(
            "Limit: 2 shards x parallelization 1 (serves at most 400 records/s), the binding limit"
        ),
        "{line}"
    );
    assert!(
        text.contains("= 2 shards x parallelization 1"),
        "the segment names the cap reached: {text}"
    );
}

/// The account limit binds a sync function without a reservation (400/s x 0.5 s = 200 > 100),
/// and the scaling budget binds on the way up when the account is large enough
/// (1500/s x 2 s = 3000 needed, 1000 new environments per 10 s).
#[test]
fn account_limit_and_scaling_budget_are_named() {
    let text = explain_toml(
        r#"
name = "account-cap"
duration = "120s"
seed = 2
[account]
concurrency_limit = 100
[[functions]]
name = "api"
duration = "500ms"
[[traffic]]
function = "api"
load = { kind = "constant", rps = 400 }
"#,
    );
    let line = demand_line(&text);
    assert!(
        line.contains(
            "Limit: account concurrency limit 100 (serves at most 200/s), the binding limit"
        ),
        "{line}"
    );
    let text = explain_toml(
        r#"
name = "scaling-budget"
duration = "120s"
seed = 2
[account]
concurrency_limit = 10000
[[functions]]
name = "api"
duration = "2s"
[[traffic]]
function = "api"
load = { kind = "constant", rps = 1500 }
"#,
    );
    let line = demand_line(&text);
    assert!(
        line.contains("enough once scaled up; the scaling budget binds on the way up"),
        "{line}"
    );
}

/// Async: a reservation of 20 at 100 ms serves 200/s. A 30 s spike of 1000/s throttles, and
/// throttled events back off (up to minutes), so after the spike the backlog waits with
/// capacity free: the base load of 50/s needs only 5.
#[test]
fn a_backlog_says_whether_it_waits_for_capacity_or_for_backoff() {
    let text = explain_toml(
        r#"
name = "async-why"
duration = "600s"
seed = 5
[[functions]]
name = "worker"
duration = "100ms"
reserved_concurrency = 20
[[traffic]]
function = "worker"
invocation = "async"
load = { kind = "spike", base = 50, peak = 1000, at = "60s", length = "30s" }
"#,
    );
    assert!(
        text.lines()
            .any(|l| l.contains("the backlog grows: no spare capacity (reserved concurrency 20)")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("capacity is free (mean concurrency")
                && l.contains("waiting out their retry backoff, not for capacity")),
        "{text}"
    );
}

/// A drop in arrivals behind steady batches: SQS at 400 then 100 messages/s from 200 s, with
/// maximum concurrency 15 (300 messages/s). The backlog built up before 200 s (about 100/s x
/// 200 s) keeps the batches at their cap after it, yet the drop starts a new line there.
#[test]
fn segments_follow_arrivals_behind_steady_batches() {
    let text = explain_toml(
        r#"
name = "sqs-drop"
duration = "400s"
seed = 6
[[functions]]
name = "orders"
duration = "500ms"
timeout = "30s"
[[traffic]]
function = "orders"
invocation = "sqs"
load = { kind = "steps", steps = [ { at = "0s", rps = 400 }, { at = "200s", rps = 100 } ] }
sqs = { batch_size = 10, maximum_concurrency = 15 }
"#,
    );
    let line = text
        .lines()
        .find(|l| l.contains("arrivals fall to"))
        .unwrap_or_else(|| panic!("no drop narrated:\n{text}"));
    let start = number_after(line.trim_start(), "");
    assert!((start - 200.0).abs() <= 2.0, "{line}");
    let after = number_after(line, "arrivals fall to ");
    assert!((after - 100.0).abs() < 15.0, "{line}");
    let batches = number_after(line, "batches ");
    // 15 batches of 0.5 s: 30 batches/s while the backlog lasts.
    assert!((batches - 30.0).abs() < 2.0, "{line}");
}

/// Rates printed with a segment's length add up to the run's totals: for every shipped
/// scenario, sum over timeline lines of (arrivals rate + retries rate) x length equals
/// summary.json's requests and retries, within the rounding of the printed rates (0.5/s at
/// 10/s and more, 0.05/s below) times the lengths.
#[test]
fn arrivals_and_retries_add_up_to_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    for s in common::shipped_scenarios() {
        let text = explain_file(&s);
        let out = dir.path().join(s.file_stem().unwrap());
        lambdasim()
            .args([
                "run",
                s.to_str().unwrap(),
                "--no-charts",
                "--no-whatif",
                // The narration tells the whole run; the summary leaves out the warmup.
                "--set",
                "warmup=0s",
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        let sum: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let mut acc: Vec<(String, f64, f64, f64)> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("Function ") {
                let name = rest.split(" (").next().unwrap().to_string();
                acc.push((name, 0.0, 0.0, 0.0));
                continue;
            }
            let t = line.trim_start();
            let Some((span, body)) = t.split_once(' ') else {
                continue;
            };
            let Some((a, b)) = span.split_once('-') else {
                continue;
            };
            let (Ok(a), Ok(b)) = (
                a.trim_end_matches('s').parse::<f64>(),
                b.trim_end_matches('s').parse::<f64>(),
            ) else {
                continue;
            };
            let len = b - a;
            let body = body.trim_start();
            let slot = acc.last_mut().unwrap();
            let rate = |x: f64| if x >= 10.0 { 0.5 } else { 0.05 };
            if !body.starts_with("no new arrivals") {
                let r = number_after(
                    body.trim_start_matches("arrivals ")
                        .trim_start_matches("rise to ")
                        .trim_start_matches("fall to "),
                    "",
                );
                slot.1 += r * len;
                slot.3 += rate(r) * len + 1.0;
            }
            if let Some(p) = body.find(", plus ") {
                let rest = &body[p + 7..];
                let n = number_after(rest, "");
                let per_sec = rest[..rest.find(' ').unwrap()].ends_with("/s");
                slot.2 += if per_sec { n * len } else { n };
            }
        }
        for (f, arrivals, retries, tol) in acc {
            let fs = &sum["functions"][&f];
            let requests = fs["requests"].as_f64().unwrap();
            let want_retries = fs["retries"].as_f64().unwrap();
            assert!(
                (arrivals - requests).abs() <= tol,
                "{s:?} {f}: arrivals {arrivals} vs requests {requests} (tolerance {tol})\n{text}"
            );
            assert!(
                (retries - want_retries).abs() <= tol.max(1.0) + 0.01 * want_retries,
                "{s:?} {f}: retries {retries} vs {want_retries}\n{text}"
            );
        }
    }
}

/// The issue's example: a 600/s async spike reads as arrivals of about 600/s plus retries,
/// not as one load figure that counts the retries.
#[test]
fn an_async_spike_reads_as_arrivals_plus_retries() {
    let text = explain_file(Path::new("scenarios/async-backlog.toml"));
    let line = text
        .lines()
        .find(|l| l.contains(", plus ") && l.contains("/s retries") && l.contains("arrivals"))
        .unwrap_or_else(|| panic!("{text}"));
    let peak = text
        .lines()
        .filter(|l| l.contains("/s retries"))
        .map(|l| {
            let body = &l[l.find("arrivals ").unwrap() + 9..];
            number_after(
                body.trim_start_matches("rise to ")
                    .trim_start_matches("fall to "),
                "",
            )
        })
        .fold(0.0, f64::max);
    // Configured peak 600/s over 60 s: sd of a segment's rate about 600/sqrt(600 x 16) < 7.
    assert!((peak - 600.0).abs() < 25.0, "{peak}: {line}\n{text}");
    assert!(!text.contains("load rises"), "{text}");
}
