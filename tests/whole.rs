//! `sweep`, `merge` and `compare` outputs are whole or absent, like `run`'s (issue #16 deliver
//! 3; src/output/staging.rs): a staging folder swapped in at the end, a lock that refuses a
//! second writer, stale known outputs dropped, foreign files kept, a killed run's folder left
//! whole and its leftovers removed by the next run.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lambdasim"))
}

const GRID: &str = r#"
scenario = "small.toml"
replications = 2
metrics = ["functions.api.throttle_ratio"]

[[vary]]
key = "functions.api.reserved_concurrency"
values = [20, 40]
"#;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn sweep(grid: &Path, out: &Path) -> Output {
    bin()
        .args(["sweep", "--jobs", "1"])
        .arg(grid)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// A process that stays alive (its pid holds a lock), ended by the test.
fn live_pid() -> Child {
    Command::new("sleep")
        .arg("60")
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn assert_locked_out(o: &Output, pid: u32) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("another lambdasim run (pid {pid})")),
        "{err}"
    );
}

#[test]
fn a_sweep_swaps_its_outputs_in_whole_and_keeps_foreign_files() {
    let d = tempfile::tempdir().unwrap();
    common::write(d.path(), "small.toml", common::SMALL);
    let grid = common::write(d.path(), "grid.toml", GRID);
    let out = d.path().join("out");
    std::fs::create_dir_all(out.join("charts")).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    std::fs::write(out.join("find.json"), "stale").unwrap();
    std::fs::write(out.join("charts/stale.png"), "stale").unwrap();
    let o = sweep(&grid, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        names(&out),
        [
            "charts",
            "manifest.json",
            "notes.txt",
            "report.html",
            "results.csv",
            "results_summary.csv"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(!out.join("charts/stale.png").exists());
    // 2 points x 2 replications.
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    assert_eq!(names(d.path()), ["grid.toml", "out", "small.toml"]);

    // A second writer is refused while the lock's process lives; the folder is untouched.
    let before = std::fs::read(out.join("results.csv")).unwrap();
    let mut holder = live_pid();
    let lock = d.path().join(".out.lambdasim-lock");
    std::fs::write(&lock, holder.id().to_string()).unwrap();
    let o = sweep(&grid, &out);
    assert_locked_out(&o, holder.id());
    assert_eq!(std::fs::read(out.join("results.csv")).unwrap(), before);
    holder.kill().unwrap();
    holder.wait().unwrap();
    // Its process gone, the lock is stale: the next sweep takes it and leaves nothing behind.
    let o = sweep(&grid, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(out.join("results.csv")).unwrap(), before);
    assert_eq!(names(d.path()), ["grid.toml", "out", "small.toml"]);
}

#[test]
fn a_killed_sweep_leaves_the_previous_outputs_whole() {
    let d = tempfile::tempdir().unwrap();
    common::write(d.path(), "small.toml", common::SMALL);
    let grid = common::write(d.path(), "grid.toml", GRID);
    let out = d.path().join("out");
    let o = sweep(&grid, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let before: Vec<(String, Vec<u8>)> = names(&out)
        .into_iter()
        .filter(|n| n != "charts")
        .map(|n| (n.clone(), std::fs::read(out.join(&n)).unwrap()))
        .collect();
    // A long sweep (one-hour points) is killed while it runs: it has taken the lock and
    // created its staging folder.
    let long = common::SMALL.replace("duration = \"60s\"", "duration = \"2h\"");
    common::write(d.path(), "small.toml", &long);
    let mut child = bin()
        .args(["sweep", "--jobs", "1"])
        .arg(&grid)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let staged = d.path().join(format!(".out.lambdasim-tmp.{}", child.id()));
    let t0 = Instant::now();
    while !staged.exists() {
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended early");
        assert!(t0.elapsed() < Duration::from_secs(60), "no staging folder");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    child.wait().unwrap();
    for (name, bytes) in &before {
        assert!(
            std::fs::read(out.join(name)).unwrap() == *bytes,
            "{name} changed"
        );
    }
    // The next sweep recovers the dead one's lock and folder.
    common::write(d.path(), "small.toml", common::SMALL);
    let o = sweep(&grid, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(names(d.path()), ["grid.toml", "out", "small.toml"]);
    for (name, bytes) in &before {
        assert!(
            std::fs::read(out.join(name)).unwrap() == *bytes,
            "{name} differs from the first sweep's"
        );
    }
}

#[test]
fn compare_swaps_its_outputs_in_whole_and_refuses_a_second_writer() {
    let d = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let observed = root.join("examples/observed/orders-metrics.json");
    let scenario = d.path().join("orders.toml");
    let o = bin()
        .arg("import")
        .arg(&observed)
        .arg("--out")
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = d.path().join("cmp");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    std::fs::write(out.join("compare-gone-Metric.png"), "stale").unwrap();
    let compare = || {
        bin()
            .arg("compare")
            .arg(&scenario)
            .arg("--observed")
            .arg(&observed)
            .arg("--no-charts")
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let mut holder = live_pid();
    std::fs::write(
        d.path().join(".cmp.lambdasim-lock"),
        holder.id().to_string(),
    )
    .unwrap();
    assert_locked_out(&compare(), holder.id());
    assert_eq!(names(&out), ["compare-gone-Metric.png", "notes.txt"]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    let o = compare();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(names(&out), ["compare.csv", "notes.txt", "report.html"]);
    // Beside the output folder: only what `import` wrote (the scenario and its trace).
    assert_eq!(names(d.path()), ["cmp", "orders-trace.csv", "orders.toml"]);
}
