//! Outputs whole or absent: a run writes its files into a fresh hidden folder beside `--out`
//! and swaps it in at the end, under a lock, so a reused `--out` holds only this run's files
//! and an interrupted run leaves the previous ones untouched.
//!
//! Names beside the output folder `DIR` (in its parent):
//! - `.DIR.lambdasim-lock`: the lock, created with `create_new`, holding the run's pid. A second
//!   run into `DIR` while the first is alive is refused; a lock whose pid is gone is stale.
//! - `.DIR.lambdasim-tmp.PID`: the run's files while it runs.
//! - `.DIR.lambdasim-old.PID`: the previous files for the moment of the swap.
//!
//! The swap moves every entry of `DIR` that is not a known output name ([`is_known_output`])
//! into the new folder first, so files a user keeps there survive; the previous run's known
//! outputs that this run did not write are dropped with the old folder. Nothing else is ever
//! deleted: recovering a dead run's folders (under the lock) moves entries that are not known
//! outputs back into `DIR`, restores `DIR` from the old folder when the swap was cut between
//! its two renames, and only then deletes known outputs and temporary files.

use crate::error::Error;
use std::path::{Path, PathBuf};

/// Files a run writes besides the charts.
const FILES: [&str; 9] = [
    "summary.json",
    "timeseries.csv",
    "scenario.resolved.toml",
    "report.html",
    "environments.png",
    "environments.svg",
    "scaling.gif",
    "scaling.svg",
    "dependencies.csv",
];

/// Files `sweep`, `merge` and `compare` write besides their charts (compare-*.png, and the
/// sweep's `charts` folder: [`KNOWN_DIR`]). The same staging keeps their outputs whole.
const SWEEP_COMPARE_FILES: [&str; 5] = [
    "results.csv",
    "manifest.json",
    "results_summary.csv",
    "find.json",
    "compare.csv",
];

/// The folder of sweep charts: a known output whose PNG and SVG files are outputs.
pub const KNOWN_DIR: &str = "charts";

/// Whether `name` is a file `lambdasim run` (or `sweep`, `merge`, `compare`) writes (or its temporary file): only these are
/// ever removed from an output folder.
pub fn is_known_output(name: &str) -> bool {
    let base = temp_base(name).unwrap_or(name);
    if FILES.contains(&base) || base == ".lambdasim-write-test" {
        return true;
    }
    if SWEEP_COMPARE_FILES.contains(&base) {
        return true;
    }
    if base.starts_with("compare-") && base.ends_with(".png") {
        return true;
    }
    let chart = |stem: &str| {
        super::charts::NAMES.contains(&stem)
            || stem == super::charts::QUEUES
            || stem == super::charts::dependencies::NAME
            || stem == super::charts::MANAGED
    };
    match base.rsplit_once('.') {
        Some((stem, "png" | "svg")) => chart(stem),
        _ => false,
    }
}

/// `name` of a temporary file `.name.tmpPID` written by [`super::write_atomic`], or
/// `.tmpPID-name` written by the chart toolkit's PNG writer.
fn temp_base(name: &str) -> Option<&str> {
    temp_of(name).map(|(base, _)| base)
}

/// (`name`, pid) of a temporary file of either form (see [`temp_base`]).
fn temp_of(name: &str) -> Option<(&str, u32)> {
    let rest = name.strip_prefix('.')?;
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if let Some((pid, base)) = rest.strip_prefix("tmp").and_then(|r| r.split_once('-')) {
        if digits(pid) {
            return Some((base, pid.parse().ok()?));
        }
    }
    let (base, pid) = rest.rsplit_once(".tmp")?;
    digits(pid).then_some((base, pid.parse().ok()?))
}

/// Whether process `pid` is alive. Where that cannot be told (no `/proc`), a lock counts as
/// held: the error says how to remove it by hand.
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if Path::new("/proc/self").exists() {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::runtime(format!("{what} {}: {e}", path.display()))
}

/// A run's output folder being written: see the module documentation.
pub struct Staging {
    /// The output folder (absolute, symlinks resolved).
    target: PathBuf,
    /// Where this run writes.
    tmp: PathBuf,
    lock: PathBuf,
    committed: bool,
}

impl Staging {
    /// Takes the lock on `out`, recovers what dead runs left beside it, and creates the fresh
    /// folder the run writes into ([`Staging::dir`]). Fails before any simulation when the
    /// folder cannot be created or another live run writes into it.
    pub fn begin(out: &Path) -> Result<Staging, Error> {
        let cannot = |e: std::io::Error| io_err("cannot create output folder", out, e);
        let target = if out.exists() {
            if !out.is_dir() {
                return Err(Error::runtime(format!(
                    "cannot create output folder {}: a file of that name exists",
                    out.display()
                )));
            }
            std::fs::canonicalize(out).map_err(cannot)?
        } else {
            let name = out.file_name().ok_or_else(|| {
                Error::runtime(format!("cannot create output folder {}", out.display()))
            })?;
            let parent = match out.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            std::fs::create_dir_all(&parent).map_err(cannot)?;
            std::fs::canonicalize(&parent).map_err(cannot)?.join(name)
        };
        let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
            return Err(Error::runtime(format!(
                "cannot use {} as the output folder (it has no parent folder)",
                out.display()
            )));
        };
        if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) {
            if cwd.starts_with(&target) {
                return Err(Error::runtime(format!(
                    "cannot use {} as the output folder: it holds the current folder, which the run would replace",
                    out.display()
                )));
            }
        }
        let name = name.to_string_lossy().into_owned();
        let parent = parent.to_path_buf();
        let lock = parent.join(format!(".{name}.lambdasim-lock"));
        take_lock(&lock, out)?;
        let pid = std::process::id();
        let tmp = parent.join(format!(".{name}.lambdasim-tmp.{pid}"));
        let mut staging = Staging {
            target,
            tmp,
            lock,
            committed: false,
        };
        let created = staging
            .recover(&parent, &name)
            .and_then(|()| std::fs::create_dir(&staging.tmp).map_err(cannot));
        if let Err(e) = created {
            staging.committed = true; // nothing of ours to clean but the lock
            let _ = std::fs::remove_file(&staging.lock);
            return Err(e);
        }
        Ok(staging)
    }

    /// The folder to write this run's files into.
    pub fn dir(&self) -> &Path {
        &self.tmp
    }

    /// Swaps the written files in as the output folder and releases the lock.
    pub fn commit(mut self) -> Result<(), Error> {
        let t = &self.target;
        if t.exists() {
            let entries = std::fs::read_dir(t).map_err(|e| io_err("cannot read", t, e))?;
            for e in entries {
                let e = e.map_err(|e| io_err("cannot read", t, e))?;
                let name = e.file_name().to_string_lossy().into_owned();
                let is_file = e.file_type().is_ok_and(|f| f.is_file());
                let known_dir = name == KNOWN_DIR && self.tmp.join(KNOWN_DIR).is_dir();
                if !(known_dir || is_file && is_known_output(&name)) {
                    let to = self.tmp.join(e.file_name());
                    std::fs::rename(e.path(), &to)
                        .map_err(|err| io_err("cannot move", &e.path(), err))?;
                }
            }
            let old = old_path(&self.tmp);
            std::fs::rename(t, &old).map_err(|e| io_err("cannot replace", t, e))?;
            std::fs::rename(&self.tmp, t).map_err(|e| io_err("cannot replace", t, e))?;
            // Only known outputs are left in the old folder.
            remove_outputs(&old);
        } else {
            std::fs::rename(&self.tmp, t).map_err(|e| io_err("cannot create", t, e))?;
        }
        self.committed = true;
        let _ = std::fs::remove_file(&self.lock);
        Ok(())
    }

    /// Recovers the folders of dead runs (and a leftover of this pid) beside the output folder.
    fn recover(&self, parent: &Path, name: &str) -> Result<(), Error> {
        let prefix = format!(".{name}.lambdasim-");
        let mut olds = Vec::new();
        let mut tmps = Vec::new();
        let entries = std::fs::read_dir(parent).map_err(|e| io_err("cannot read", parent, e))?;
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = n.strip_prefix(&prefix) else {
                continue;
            };
            let (kind, pid) = match rest.split_once('.') {
                Some((k @ ("tmp" | "old"), p)) => (k, p.parse::<u32>().ok()),
                _ => continue,
            };
            match pid {
                Some(p) if p == std::process::id() || !alive(p) => {}
                _ => continue,
            }
            if kind == "old" {
                olds.push(e.path());
            } else {
                tmps.push(e.path());
            }
        }
        // A swap cut between its two renames: the previous files are in the old folder.
        for old in &olds {
            if !self.target.exists() {
                std::fs::rename(old, &self.target)
                    .map_err(|e| io_err("cannot restore", &self.target, e))?;
            }
        }
        for dir in olds.iter().chain(&tmps).filter(|d| d.exists()) {
            self.give_back(dir)?;
            remove_outputs(dir);
        }
        // Temporary files of runs from before staging (they wrote inside the folder).
        if let Ok(entries) = std::fs::read_dir(&self.target) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if let Some((_, pid)) = temp_of(&n) {
                    if is_known_output(&n) && !alive(pid) {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
        Ok(())
    }

    /// Moves every entry of `dir` that is not a known output back into the output folder.
    fn give_back(&self, dir: &Path) -> Result<(), Error> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_ok_and(|f| f.is_file()) && is_known_output(&n) {
                continue;
            }
            if n == KNOWN_DIR && e.file_type().is_ok_and(|f| f.is_dir()) {
                remove_outputs(&e.path());
                if !e.path().exists() {
                    continue;
                }
            }
            std::fs::create_dir_all(&self.target)
                .map_err(|err| io_err("cannot create output folder", &self.target, err))?;
            let to = self.target.join(e.file_name());
            if !to.exists() {
                std::fs::rename(e.path(), &to)
                    .map_err(|err| io_err("cannot move back", &e.path(), err))?;
            }
        }
        Ok(())
    }
}

impl Drop for Staging {
    /// A failed run: its folder goes (entries that are not outputs go back first), the
    /// previous outputs stay, the lock is released.
    fn drop(&mut self) {
        if !self.committed {
            if self.tmp.exists() && self.give_back(&self.tmp).is_ok() {
                remove_outputs(&self.tmp);
            }
            let _ = std::fs::remove_file(&self.lock);
        }
    }
}

fn old_path(tmp: &Path) -> PathBuf {
    let n = tmp.file_name().unwrap_or_default().to_string_lossy();
    tmp.with_file_name(n.replacen(".lambdasim-tmp.", ".lambdasim-old.", 1))
}

/// Deletes the known outputs (and temporary files) in `dir`, then `dir` if it is empty. Anything
/// else stays.
fn remove_outputs(dir: &Path) {
    remove_outputs_in(dir, false);
}

/// [`remove_outputs`]; in the sweep's chart folder ([`KNOWN_DIR`]) every PNG and SVG file (and
/// its temporary file) is an output.
fn remove_outputs_in(dir: &Path, chart_dir: bool) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let base = temp_base(&n).unwrap_or(&n);
            let chart = chart_dir && (base.ends_with(".png") || base.ends_with(".svg"));
            if e.file_type().is_ok_and(|f| f.is_file()) && (chart || is_known_output(&n)) {
                let _ = std::fs::remove_file(e.path());
            } else if !chart_dir && n == KNOWN_DIR && e.file_type().is_ok_and(|f| f.is_dir()) {
                remove_outputs_in(&e.path(), true);
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Creates the lock file holding this pid; a lock of a dead process is replaced.
fn take_lock(lock: &Path, out: &Path) -> Result<(), Error> {
    use std::io::Write;
    for _ in 0..3 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(lock)
        {
            Ok(mut f) => {
                return write!(f, "{}", std::process::id())
                    .map_err(|e| io_err("cannot write the lock", lock, e));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(lock).unwrap_or_default();
                match text.trim().parse::<u32>() {
                    Ok(pid) if alive(pid) => {
                        return Err(Error::runtime(format!(
                            "another lambdasim run (pid {pid}) is writing into {}; wait for it to end (or remove {} if that process is gone)",
                            out.display(),
                            lock.display()
                        )));
                    }
                    // A lock being written (empty for an instant) or of a dead run.
                    Err(_) if text.is_empty() => {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        if std::fs::read_to_string(lock).is_ok_and(|t| !t.trim().is_empty()) {
                            continue;
                        }
                        let _ = std::fs::remove_file(lock);
                    }
                    _ => {
                        let _ = std::fs::remove_file(lock);
                    }
                }
            }
            Err(e) => return Err(io_err("cannot create output folder", out, e)),
        }
    }
    Err(Error::runtime(format!(
        "cannot take the lock {} for {}",
        lock.display(),
        out.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_outputs_are_the_files_a_run_writes_and_their_temporaries() {
        for n in [
            "summary.json",
            "throttles.png",
            "queues.svg",
            "scaling.gif",
            ".timeseries.csv.tmp4242",
            ".tmp17227-throttles.png",
            "results.csv",
            "compare-api-Invocations.png",
            ".lambdasim-write-test",
        ] {
            assert!(is_known_output(n), "{n}");
        }
        for n in [
            "notes.txt",
            "throttles.jpg",
            "my.png",
            ".timeseries.csv.tmpx",
            ".tmp12-my.png",
            ".tmpx-throttles.png",
            "summary",
        ] {
            assert!(!is_known_output(n), "{n}");
        }
    }

    #[test]
    fn a_swap_cut_between_its_renames_is_undone_and_nothing_foreign_is_lost() {
        let parent = tempfile::tempdir().unwrap();
        let p = parent.path();
        let dead = 999_999_999u32; // above any pid_max
        let old = p.join(format!(".out.lambdasim-old.{dead}"));
        let tmp = p.join(format!(".out.lambdasim-tmp.{dead}"));
        std::fs::create_dir(&old).unwrap();
        std::fs::create_dir(&tmp).unwrap();
        std::fs::write(old.join("summary.json"), "previous").unwrap();
        std::fs::write(old.join("notes.txt"), "kept").unwrap();
        std::fs::write(tmp.join("summary.json"), "half written").unwrap();
        std::fs::write(tmp.join("user.txt"), "moved in before the swap").unwrap();
        std::fs::write(p.join(".out.lambdasim-lock"), dead.to_string()).unwrap();
        let s = Staging::begin(&p.join("out")).unwrap();
        let out = p.join("out");
        let read = |n: &str| std::fs::read_to_string(out.join(n)).unwrap();
        assert_eq!(read("summary.json"), "previous");
        assert_eq!(read("notes.txt"), "kept");
        assert_eq!(read("user.txt"), "moved in before the swap");
        assert!(!old.exists() && !tmp.exists());
        drop(s); // a failed run
        let mut left: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["out"]);
        assert_eq!(read("summary.json"), "previous");
    }
}
