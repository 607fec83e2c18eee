//! `dependencies.csv`: one row per dependency and bucket (written only when the scenario
//! declares `[[dependencies]]`), and the bounded series the `dependencies` chart draws.
//!
//! A separate file rather than columns of timeseries.csv: its rows are per dependency, not
//! per function, and a scenario without dependencies keeps its timeseries.csv unchanged.

use crate::error::Error;
use crate::stats::DependencyRow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The header of dependencies.csv.
pub const COLUMNS: [&str; 8] = [
    "Time",
    "Dependency",
    "MaxConnections",
    "ConnectionsMax",
    "ConnectionsMean",
    "Waiting",
    "ConnectionErrors",
    "Waits",
];

/// Most chart points kept per dependency; past it, neighbouring points merge in pairs.
const MAX_POINTS: usize = 2000;

/// Writes dependencies.csv as buckets close and keeps the chart series.
pub struct DependencyCsv {
    out: BufWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    names: Vec<String>,
    error: Option<std::io::Error>,
    /// Per dependency: kept rows (each stands for `factor` buckets).
    pub series: Vec<Vec<DependencyRow>>,
    /// Buckets per kept row.
    pub factor: usize,
    pending: usize,
}

impl DependencyCsv {
    /// A writer of `path` for dependencies named `names` (scenario order).
    pub fn create(path: &Path, names: Vec<String>) -> Result<DependencyCsv, Error> {
        let tmp = super::temp_path(path);
        let err =
            |e: std::io::Error| Error::runtime(format!("cannot write {}: {e}", path.display()));
        let mut out = BufWriter::new(File::create(&tmp).map_err(err)?);
        writeln!(out, "{}", COLUMNS.join(",")).map_err(err)?;
        Ok(DependencyCsv {
            out,
            tmp,
            path: path.to_path_buf(),
            series: vec![Vec::new(); names.len()],
            names,
            error: None,
            factor: 1,
            pending: 0,
        })
    }

    /// One bucket's rows.
    pub fn push(&mut self, rows: &[DependencyRow]) {
        if self.error.is_none() {
            for r in rows {
                let res = writeln!(
                    self.out,
                    "{},{},{},{},{:.3},{},{},{}",
                    r.start.as_secs_f64(),
                    self.names[r.dependency as usize],
                    r.max_connections,
                    r.connections_max,
                    r.connections_mean,
                    r.waiting_max,
                    r.connection_errors,
                    r.waits
                );
                if let Err(e) = res {
                    self.error = Some(e);
                    break;
                }
            }
        }
        for r in rows {
            let s = &mut self.series[r.dependency as usize];
            if self.pending > 0 {
                if let Some(last) = s.last_mut() {
                    merge(last, r, self.pending);
                }
            } else {
                s.push(*r);
            }
        }
        self.pending = (self.pending + 1) % self.factor;
        if self.pending == 0 && self.series.first().is_some_and(|s| s.len() >= MAX_POINTS) {
            for s in &mut self.series {
                let halved: Vec<DependencyRow> = s
                    .chunks(2)
                    .map(|c| {
                        let mut a = c[0];
                        if let Some(b) = c.get(1) {
                            merge(&mut a, b, 1);
                        }
                        a
                    })
                    .collect();
                *s = halved;
            }
            self.factor *= 2;
        }
    }

    /// Flushes and moves the file into place; returns the chart series and its factor.
    pub fn finish(mut self) -> Result<(Vec<Vec<DependencyRow>>, usize), Error> {
        let err = |e: std::io::Error| {
            Error::runtime(format!("cannot write {}: {e}", self.path.display()))
        };
        if let Some(e) = self.error.take() {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(err(e));
        }
        self.out.flush().map_err(err)?;
        std::fs::rename(&self.tmp, &self.path).map_err(err)?;
        Ok((std::mem::take(&mut self.series), self.factor))
    }
}

impl Drop for DependencyCsv {
    fn drop(&mut self) {
        if self.tmp.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Folds `b` into `a`, which already stands for `n` buckets: maxima take the larger, the mean
/// is weighted by buckets, counts add.
fn merge(a: &mut DependencyRow, b: &DependencyRow, n: usize) {
    a.connections_max = a.connections_max.max(b.connections_max);
    a.waiting_max = a.waiting_max.max(b.waiting_max);
    a.connections_mean = (a.connections_mean * n as f64 + b.connections_mean) / (n + 1) as f64;
    a.connection_errors += b.connection_errors;
    a.waits += b.waits;
}

/// The stdout block of a run with dependencies (empty without any): one line each.
pub fn text(s: &crate::stats::Summary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if s.dependencies.is_empty() {
        return out;
    }
    out.push_str("dependencies:\n");
    for (name, d) in &s.dependencies {
        let _ = write!(
            out,
            "  {name}: max_connections {}, peak {}, mean {:.1} ({:.0} %), connection errors {} ({:.2} % of {} asked)",
            d.max_connections,
            d.peak_connections,
            d.mean_connections,
            d.utilization * 100.0,
            d.connection_errors,
            d.error_ratio * 100.0,
            d.acquired + d.connection_errors,
        );
        if d.waits > 0 {
            let _ = write!(
                out,
                ", waits {} ({} timed out), wait p99 {:.1} ms",
                d.waits, d.wait_timeouts, d.wait_ms.p99
            );
        }
        out.push('\n');
    }
    out
}
