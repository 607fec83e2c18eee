//! Regression tests of issue #16's defects: hostile values on valid scenarios through the real
//! binary. Each case must end in exit code 2 with one short stderr line naming the limit, never a
//! panic (exit 101), an abort or a hang.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

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
