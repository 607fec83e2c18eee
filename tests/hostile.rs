//! Regression tests of issue #16's defects: hostile values on valid scenarios through the real
//! binary. Each case must end in exit code 2 with one short stderr line naming the limit, never a
//! panic (exit 101), an abort or a hang.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;
use common::peak_rss_kb;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lambdasim"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lambdasim-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn scenario(dir: &Path, fname: &str) -> PathBuf {
    let p = dir.join("s.toml");
    std::fs::write(
        &p,
        format!(
            "name = \"h\"\nduration = \"10s\"\n[[functions]]\nname = \"{fname}\"\nduration = \"100ms\"\n\
             [[traffic]]\nfunction = \"{fname}\"\nload = {{ kind = \"constant\", rps = 5 }}\n"
        ),
    )
    .unwrap();
    p
}

/// Exit code 2, one stderr line that contains `needle`, no panic.
fn assert_refused(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.len() < 400, "short: {} bytes", err.len());
    assert!(err.contains(needle), "{needle:?} in {err}");
}

#[test]
fn a_65536_character_function_name_is_refused_naming_the_limit() {
    let d = tmp("longname");
    let s = scenario(&d, &"x".repeat(65_536));
    for cmd in ["check", "run"] {
        let mut c = bin();
        c.arg(cmd).arg(&s);
        if cmd == "run" {
            c.arg("--out").arg(d.join("out")).arg("--no-charts");
        }
        assert_refused(&c.output().unwrap(), "limit of 64");
    }
}

#[test]
fn the_table_prints_a_64_character_name_aligned() {
    let d = tmp("name64");
    let name = "n".repeat(64);
    let s = scenario(&d, &name);
    let o = bin()
        .args(["run", "--no-charts", "--out"])
        .arg(d.join("out"))
        .arg(&s)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    let header = out.lines().find(|l| l.contains(&name)).expect("header row");
    let requests = out
        .lines()
        .find(|l| l.starts_with("requests"))
        .expect("requests row");
    // Right-aligned: the header and the cells end in the same column.
    assert_eq!(header.len(), requests.len(), "{header:?} / {requests:?}");
}

#[test]
fn check_is_linear_in_the_number_of_functions() {
    let d = tmp("many");
    let n = 80_000;
    let mut t = String::from(
        "name = \"many\"\nduration = \"10s\"\n[account]\nconcurrency_limit = 10000000\n",
    );
    for i in 0..n {
        t.push_str(&format!(
            "[[functions]]\nname = \"f{i}\"\nduration = \"100ms\"\n"
        ));
    }
    for i in 0..n {
        t.push_str(&format!(
            "[[traffic]]\nfunction = \"f{i}\"\nload = {{ kind = \"constant\", rps = 0.1 }}\n"
        ));
    }
    let p = d.join("many.toml");
    std::fs::write(&p, t).unwrap();
    let start = Instant::now();
    let o = bin().arg("check").arg(&p).output().unwrap();
    let took = start.elapsed();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Quadratic code took 24 s (issue #16); linear code takes about 1 s on a shared 2-core machine.
    assert!(
        took < Duration::from_secs(8),
        "check of {n} functions took {took:?}"
    );
}

#[test]
fn replications_and_jobs_are_bounded_naming_the_limit() {
    let d = tmp("sweep");
    let base = std::fs::canonicalize("scenarios/provisioned-pays-off.toml").unwrap();
    let sweep = |reps: &str| {
        let p = d.join("w.toml");
        std::fs::write(
            &p,
            format!(
                "scenario = {:?}\nreplications = {reps}\n[[vary]]\nkey = \"seed\"\nvalues = [1]\n",
                base.display().to_string()
            ),
        )
        .unwrap();
        p
    };
    let run = |file: &Path, extra: &[&str]| {
        bin()
            .arg("sweep")
            .arg(file)
            .args(["--no-charts", "--out"])
            .arg(d.join("out"))
            .args(extra)
            .output()
            .unwrap()
    };
    assert_refused(
        &run(&sweep("9223372036854775807"), &[]),
        "limit of replications",
    );
    let ok = sweep("1");
    assert_refused(
        &run(&ok, &["--replications", "1000000000"]),
        "limit of replications",
    );
    assert_refused(&run(&ok, &["--jobs", "100000"]), "limit of --jobs");
    assert_refused(&run(&ok, &["--jobs", "0"]), "limit of --jobs");
}

#[test]
fn pricing_must_be_finite_non_negative_and_bounded() {
    let d = tmp("pricing");
    let s = scenario(&d, "f");
    for v in ["-1.0", "nan", "inf", "1e300"] {
        let o = bin()
            .arg("check")
            .arg(&s)
            .args(["--set", &format!("pricing.gb_second_arm64={v}")])
            .output()
            .unwrap();
        assert_refused(&o, "pricing.gb_second_arm64");
    }
    let ok = bin()
        .arg("check")
        .arg(&s)
        .args(["--set", "pricing.gb_second_arm64=0"])
        .output()
        .unwrap();
    assert!(ok.status.success());
}

#[test]
fn set_seed_takes_the_full_u64_range_like_the_seed_flag() {
    let d = tmp("seed");
    let s = scenario(&d, "f");
    let o = bin()
        .arg("check")
        .arg(&s)
        .args(["--set", "seed=18446744073709551615"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("seed = 18446744073709551615"));
}

#[test]
fn flag_errors_are_one_short_line() {
    let long = "a".repeat(23_000);
    for args in [
        vec!["run", "--bogus"],
        vec!["run"],
        vec!["sweep", "x", "--jobs", "abc"],
        vec!["run", "x", "--format", long.as_str()],
    ] {
        let o = bin().args(&args).output().unwrap();
        assert_refused(&o, "error");
        assert!(String::from_utf8_lossy(&o.stderr).contains("--help"));
    }
}

#[test]
fn a_sweep_value_of_1e25_is_reported_as_a_number() {
    let d = tmp("e25");
    let base = std::fs::canonicalize("scenarios/provisioned-pays-off.toml").unwrap();
    let p = d.join("w.toml");
    std::fs::write(
        &p,
        format!(
            "scenario = {:?}\n[[vary]]\nkey = \"account.concurrency_limit\"\nvalues = [1e25]\n",
            base.display().to_string()
        ),
    )
    .unwrap();
    let o = bin()
        .arg("sweep")
        .arg(&p)
        .args(["--no-charts", "--out"])
        .arg(d.join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_refused(&o, "concurrency_limit");
    assert!(!err.contains("type: string"), "{err}");
}

/// Runs `cmd` with a deadline; a process still running then is killed and the test fails.
fn output_within(mut cmd: Command, limit: Duration) -> Output {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn trace_scenario(dir: &Path, trace: &Path, format: &str) -> PathBuf {
    let p = dir.join("t.toml");
    std::fs::write(
        &p,
        format!(
            "name = \"t\"\nduration = \"10s\"\n[[functions]]\nname = \"f\"\nduration = \"100ms\"\n\
             [[traffic]]\nfunction = \"f\"\nload = {{ kind = \"trace\", path = {:?}, format = \"{format}\" }}\n",
            trace.display().to_string()
        ),
    )
    .unwrap();
    p
}

#[test]
fn a_timestamps_trace_with_extra_columns_is_refused_naming_file_and_line() {
    let d = tmp("tscols");
    let trace = d.join("times.csv");
    std::fs::write(&trace, "0.5\n1.0\n1.5,GET /api\n").unwrap();
    let s = trace_scenario(&d, &trace, "timestamps");
    let o = bin().arg("check").arg(&s).output().unwrap();
    assert_refused(&o, "line 3");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("times.csv") && err.contains("one column"),
        "{err}"
    );
    std::fs::write(&trace, "0.5\n1.0\n1.5\n").unwrap();
    assert!(bin()
        .arg("check")
        .arg(&s)
        .output()
        .unwrap()
        .status
        .success());
}

#[cfg(unix)]
#[test]
fn a_fifo_as_scenario_or_trace_is_refused_instead_of_hanging() {
    let d = tmp("fifo");
    let fifo = d.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // As the scenario: nobody ever writes to the FIFO, so reading it would block forever.
    let mut c = bin();
    c.arg("check").arg(&fifo);
    let o = output_within(c, Duration::from_secs(20));
    assert_refused(&o, "not a regular file");
    assert!(String::from_utf8_lossy(&o.stderr).contains("pipe"));
    // As a trace, and a folder as a trace.
    for path in [fifo.clone(), d.clone()] {
        let s = trace_scenario(&d, &path, "counts");
        let mut c = bin();
        c.arg("check").arg(&s);
        let o = output_within(c, Duration::from_secs(20));
        assert_refused(&o, "not a regular file");
        assert!(String::from_utf8_lossy(&o.stderr).contains("traffic[0].load.path"));
    }
}

#[test]
fn short_runs_print_no_progress_when_stderr_is_not_a_terminal() {
    // Progress off a terminal is a plain line every 10 s of wall-clock time (unit test
    // app::tests::plain_progress_prints_one_line_per_interval_and_nothing_before); a run that
    // ends sooner prints nothing, with or without --quiet.
    let d = tmp("progress");
    let s = scenario(&d, "f");
    for quiet in [false, true] {
        let mut c = bin();
        c.args(["run", "--no-charts", "--no-whatif", "--out"])
            .arg(d.join("out"))
            .arg(&s);
        if quiet {
            c.arg("--quiet");
        }
        let o = c.output().unwrap();
        assert!(o.status.success());
        assert!(
            o.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Sums of `column` over `timeseries.csv` rows of `function` whose bucket starts at or after
/// `from_s`.
fn csv_sum(csv: &str, function: &str, column: &str, from_s: f64) -> u64 {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = header.iter().position(|h| *h == column).unwrap();
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|v| v[1] == function && v[0].parse::<f64>().unwrap() >= from_s)
        .map(|v| v[c].parse::<u64>().unwrap())
        .sum()
}

#[test]
fn summary_totals_equal_the_time_series_sums_after_the_warmup() {
    // RELIABILITY.md: summary totals equal the sums of timeseries.csv without warmup; with a
    // warmup they equal the sums of the buckets from the warmup on (the CSV keeps the warmup's
    // buckets, the summary does not count them).
    let d = tmp("warmup");
    let p = d.join("w.toml");
    for warmup in [0u32, 20] {
        std::fs::write(
            &p,
            format!(
                "name = \"w\"\nduration = \"60s\"\nwarmup = \"{warmup}s\"\nbucket = \"1s\"\n\
                 [[functions]]\nname = \"f\"\nduration = \"300ms\"\nreserved_concurrency = 20\n\
                 [[traffic]]\nfunction = \"f\"\nload = {{ kind = \"constant\", rps = 100 }}\n"
            ),
        )
        .unwrap();
        let out = d.join(format!("out{warmup}"));
        let o = bin()
            .args([
                "run",
                "--no-charts",
                "--no-whatif",
                "--format",
                "json",
                "--out",
            ])
            .arg(&out)
            .arg(&p)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let field = |key: &str| json["functions"]["f"][key].as_u64().unwrap();
        let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
        let (inv, cold) = (field("invocations"), field("cold_starts"));
        // 100 rps into 20 environments of 300 ms: at most 66.7 invocations per second are
        // admitted (fewer while the first 20 environments start).
        let secs = f64::from(60 - warmup);
        assert!(
            (inv as f64 - 66.7 * secs).abs() < 0.1 * 66.7 * secs,
            "{inv}"
        );
        assert_eq!(csv_sum(&csv, "f", "Invocations", f64::from(warmup)), inv);
        assert_eq!(csv_sum(&csv, "f", "ColdStarts", f64::from(warmup)), cold);
        let all = csv_sum(&csv, "f", "Invocations", 0.0);
        if warmup == 0 {
            assert_eq!(all, inv);
        } else {
            assert!(
                all > inv,
                "the warmup's buckets are in the CSV: {all} vs {inv}"
            );
            assert_eq!(cold, 0, "the 20 cold starts happen in the warmup");
        }
    }
}

#[test]
fn a_trace_of_5e9_requests_in_one_second_is_refused_naming_the_rate_limit() {
    let d = tmp("tracerate");
    let trace = d.join("burst.csv");
    std::fs::write(&trace, "time_s,count\n0,100\n1,5000000000\n2,100\n").unwrap();
    let s = trace_scenario(&d, &trace, "auto");
    let o = bin().arg("check").arg(&s).output().unwrap();
    assert_refused(&o, "over the limit of 1e7 requests per second");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("burst.csv") && err.contains("line 3"), "{err}");
    // 4e9 requests spread over 1,000 s (4e6 per second) are within the limit.
    std::fs::write(&trace, "time_s,count\n0,100\n1,4000000000\n1001,100\n").unwrap();
    let o = bin().arg("check").arg(&s).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

// Outputs whole or absent (#16 deliver 3, #15 item 7): src/output/staging.rs.

fn entries(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn run_into(out: &Path, scenario: &Path, extra: &[&str]) -> Output {
    bin()
        .args(["run", "--no-whatif", "--out"])
        .arg(out)
        .arg(scenario)
        .args(extra)
        .output()
        .unwrap()
}

fn long_scenario(dir: &Path) -> PathBuf {
    let p = dir.join("long.toml");
    std::fs::write(
        &p,
        "name = \"k\"\nduration = \"12h\"\n[account]\nconcurrency_limit = 10000\n[[functions]]\n\
         name = \"f\"\nduration = { dist = \"exponential\", mean = \"100ms\" }\n[[traffic]]\n\
         function = \"f\"\nload = { kind = \"constant\", rps = 1000 }\n",
    )
    .unwrap();
    p
}

#[test]
fn a_killed_run_keeps_the_previous_outputs_and_a_concurrent_run_is_refused() {
    let d = tmp("staging-kill");
    let out = d.join("out");
    let short = scenario(&d, "f");
    let first = run_into(&out, &short, &["--no-charts"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before: Vec<(String, Vec<u8>)> = entries(&out)
        .into_iter()
        .map(|n| (n.clone(), std::fs::read(out.join(&n)).unwrap()))
        .collect();
    assert_eq!(before.len(), 4, "{:?}", entries(&out));
    // A 12-hour run at 1000/s takes minutes: it holds the lock while it streams its CSV.
    let mut child = bin()
        .args(["run", "--no-charts", "--no-whatif", "--out"])
        .arg(&out)
        .arg(long_scenario(&d))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let staged = d
        .join(format!(".out.lambdasim-tmp.{}", child.id()))
        .join(format!(".timeseries.csv.tmp{}", child.id()));
    let t0 = Instant::now();
    while std::fs::metadata(&staged).map_or(0, |m| m.len()) < 100_000 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the long run ended early"
        );
        assert!(t0.elapsed() < Duration::from_secs(60), "no staged CSV");
        std::thread::sleep(Duration::from_millis(20));
    }
    let lock = d.join(".out.lambdasim-lock");
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        child.id().to_string()
    );
    // A second run into the same folder is refused while the first is alive.
    let second = run_into(&out, &short, &["--no-charts"]);
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("another lambdasim run (pid {})", child.id())),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    child.kill().unwrap();
    child.wait().unwrap();
    // The killed run left its lock and staging folder; the previous outputs are untouched.
    for (name, bytes) in &before {
        assert!(
            std::fs::read(out.join(name)).unwrap() == *bytes,
            "{name} changed"
        );
    }
    assert_eq!(
        entries(&out),
        before.iter().map(|b| b.0.clone()).collect::<Vec<_>>()
    );
    assert!(lock.exists() && staged.exists());
    // The next run takes the stale lock, removes the dead run's folder and swaps its files in.
    let next = run_into(&out, &short, &["--no-charts", "--seed", "7"]);
    assert!(
        next.status.success(),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    assert_eq!(
        entries(&d),
        ["long.toml", "out", "s.toml"],
        "no lock or staging folder left"
    );
    assert!(
        entries(&out).iter().all(|n| !n.starts_with('.')),
        "{:?}",
        entries(&out)
    );
    assert_ne!(
        std::fs::read(out.join("summary.json")).unwrap(),
        before.iter().find(|b| b.0 == "summary.json").unwrap().1,
        "seed 7's summary"
    );
}

#[test]
fn a_reused_out_keeps_foreign_files_and_drops_stale_outputs() {
    let d = tmp("staging-reuse");
    let out = d.join("out");
    let s = scenario(&d, "f");
    let o = run_into(&out, &s, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("throttles.png").exists() && out.join("latency.svg").exists());
    // The user keeps their own files there, a folder too, and one named like a chart.
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    std::fs::write(out.join("my-chart.png"), "mine too").unwrap();
    std::fs::create_dir(out.join("keep")).unwrap();
    std::fs::write(out.join("keep").join("a.csv"), "1,2").unwrap();
    let o = run_into(&out, &s, &["--no-charts"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = entries(&out);
    assert_eq!(
        got,
        [
            "keep",
            "my-chart.png",
            "notes.txt",
            "report.html",
            "scenario.resolved.toml",
            "summary.json",
            "timeseries.csv"
        ],
        "the charts of the previous run are gone, the user's files stay"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("keep/a.csv")).unwrap(),
        "1,2"
    );
    assert_eq!(
        entries(&d),
        ["out", "s.toml"],
        "no lock or staging folder left"
    );
    // A run that fails (an invalid --lanes function) leaves the folder as it was.
    let o = run_into(&out, &s, &["--lanes", "--function", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(entries(&out), got);
}

#[test]
fn every_file_a_run_writes_is_a_known_output_name() {
    // Only known output names are ever removed from --out: a new output file must be added to
    // output::staging's list, or a reused folder would keep the previous run's copy.
    let d = tmp("staging-known");
    let out = d.join("out");
    let o = run_into(
        &out,
        Path::new("scenarios/async-backlog.toml"),
        &["--animate", "--lanes", "--set", "duration=2m"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let names = entries(&out);
    for n in [
        "queues.png",
        "scaling.gif",
        "environments.svg",
        "report.html",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} in {names:?}");
    }
    for n in &names {
        assert!(
            lambdasim::output::staging::is_known_output(n),
            "{n} is not a known output name"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn an_sqs_backlog_of_nine_million_messages_needs_no_memory_per_message() {
    // 30,000 messages/s for 5 minutes into 2 pollers of 10-message batches that take 1 s:
    // 20 messages/s leave, so the backlog ends at 9,000,000 - 6,000 messages. Stored as
    // 16-byte messages that was 150 MB (288 MB for 10 minutes); the consumer cursor stores none.
    let d = tmp("sqsmem");
    let p = d.join("sqs.toml");
    std::fs::write(
        &p,
        "name = \"sqs-backlog\"\nduration = \"5m\"\nbucket = \"60s\"\n[[functions]]\n\
         name = \"worker\"\nduration = \"1s\"\n[[traffic]]\nfunction = \"worker\"\n\
         invocation = \"sqs\"\nload = { kind = \"constant\", rps = 30000 }\n\
         sqs = { batch_size = 10, maximum_concurrency = 2, poison_rate = 0.001 }\n",
    )
    .unwrap();
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
    let (o, peak_kb) = peak_rss_kb(c);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &json["functions"]["worker"];
    let requests = f["requests"].as_u64().unwrap();
    assert!((requests as f64 - 9e6).abs() < 0.01 * 9e6, "{requests}");
    let in_flight = f["in_flight"].as_u64().unwrap();
    // At most 2 pollers x 10 messages per second leave (poison ones come back).
    assert!(
        in_flight + 6_100 >= requests && in_flight < requests,
        "{in_flight}"
    );
    assert!(
        peak_kb < 60_000,
        "peak RSS {peak_kb} kB for a 9e6-message backlog"
    );
}
