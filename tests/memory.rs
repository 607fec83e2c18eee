//! Memory bounded by live state, not by backlog length (issue #16 deliver 2): backlogs of
//! millions of queued requests through the real binary, peak resident memory read from /proc,
//! and the counts checked against closed forms.

mod common;

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lambdasim"))
}

fn run_json(name: &str, toml: &str) -> (serde_json::Value, u64) {
    let d = std::env::temp_dir().join(format!("lambdasim-mem-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let p = common::write(&d, "s.toml", toml);
    let mut c = bin();
    c.args([
        "run",
        "--no-charts",
        "--no-whatif",
        "--format",
        "json",
        "--out",
    ])
    .arg(d.join("out"))
    .arg(&p);
    let (o, peak_kb) = common::peak_rss_kb(c);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(&d);
    (serde_json::from_slice(&o.stdout).unwrap(), peak_kb)
}

/// Offsets from its arrival of the tries of an event throttled every time: 0, 1, 3, 7, ...
/// (delays 1 s doubling to 5 minutes), up to `until` seconds.
fn try_offsets(until: f64) -> Vec<f64> {
    let mut v = vec![0.0];
    let mut d = 1.0;
    let mut t = 0.0;
    loop {
        t += d;
        if t >= until {
            return v;
        }
        v.push(t);
        d = (d * 2.0f64).min(300.0);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn an_async_backlog_behind_reserved_concurrency_0_needs_no_memory_per_event() {
    // 10,000 events/s for 5 minutes into a function that may not run (reserved 0): every
    // event waits (maximum age 6 h) and is retried at 1, 3, 7, 15, ... s after its arrival.
    // One timer per waiting event was about 50 bytes each (3e6 events: >150 MB); the chains
    // of throttled arrivals store runs of arrival numbers instead.
    let rate = 10_000.0;
    let secs = 300.0;
    let (json, peak_kb) = run_json(
        "async0",
        "name = \"async-backlog-0\"\nduration = \"5m\"\nbucket = \"60s\"\n\
         [[functions]]\nname = \"f\"\nduration = \"100ms\"\nreserved_concurrency = 0\n\
         [[traffic]]\nfunction = \"f\"\ninvocation = \"async\"\n\
         load = { kind = \"constant\", rps = 10000 }\n",
    );
    let f = &json["functions"]["f"];
    let requests = f["requests"].as_u64().unwrap();
    let expected = rate * secs;
    assert!(
        (requests as f64 - expected).abs() < 0.01 * expected,
        "{requests}"
    );
    // Nothing ran or left: every event is still waiting at the end.
    assert_eq!(f["in_flight"].as_u64().unwrap(), requests);
    // Closed form: an event arriving at a (uniform over the run) is tried at a + each offset
    // before the end, each try a throttle: E[throttles] = rate x sum over offsets (T - o).
    let throttles = f["throttles"]["total"].as_u64().unwrap() as f64;
    let expected: f64 = try_offsets(secs).iter().map(|o| rate * (secs - o)).sum();
    assert!(
        (throttles - expected).abs() < 0.01 * expected,
        "throttles {throttles}, expected {expected}"
    );
    assert_eq!(
        f["retries"].as_u64().unwrap() as f64,
        throttles - requests as f64
    );
    assert!(
        peak_kb < 60_000,
        "peak RSS {peak_kb} kB for a {requests}-event async backlog"
    );
}

fn many_functions(n: usize, duration: &str, bucket: &str) -> String {
    let mut t = format!("name = \"many\"\nduration = \"{duration}\"\nbucket = \"{bucket}\"\n");
    for i in 0..n {
        t.push_str(&format!(
            "[[functions]]\nname = \"f{i}\"\nduration = \"100ms\"\n"
        ));
    }
    t
}

fn check(toml: &str) -> std::process::Output {
    let d = tempfile::tempdir().unwrap();
    let p = common::write(d.path(), "s.toml", toml);
    bin().arg("check").arg(&p).output().unwrap()
}

#[test]
fn charts_too_large_are_refused_naming_the_figure_and_the_fix() {
    // 1000 functions over 1 h in 1 s buckets: charts keep 1001 series x 3600 buckets =
    // 3,603,600 rows (about 1.4 GB), over the limit of 2,500,000.
    let o = check(&many_functions(1000, "1h", "1s"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    for needle in [
        "3603600",
        "1001 series x 3600 buckets",
        "--no-charts",
        "bucket",
    ] {
        assert!(err.contains(needle), "{needle} not in {err}");
    }
    // The advice fits: the larger bucket it names, or the function count it names.
    let bucket: u64 = err
        .split("at least ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no bucket in {err}"));
    // 2,500,000 / 1001 = 2497 buckets: ceil(3600 / 2497) = 2 s.
    assert_eq!(bucket, 2, "{err}");
    let fine = check(&many_functions(1000, "1h", &format!("{bucket}s")));
    assert!(
        fine.status.success(),
        "{}",
        String::from_utf8_lossy(&fine.stderr)
    );
    let most: usize = err
        .split("at most ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no function count in {err}"));
    // 2,500,000 / 3600 = 694 series: 693 functions.
    assert_eq!(most, 693, "{err}");
    assert!(check(&many_functions(most, "1h", "1s")).status.success());
    assert_eq!(
        check(&many_functions(most + 1, "1h", "1s")).status.code(),
        Some(2)
    );
}
