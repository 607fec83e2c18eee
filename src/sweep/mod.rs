//! Parameter sweeps (`lambdasim sweep`) and the merge of sharded sweeps (`lambdasim merge`).
//!
//! A sweep file names a base scenario and `[[vary]]` entries; the grid is their
//! cartesian product, in row-major order (the first `vary` entry changes slowest). Point `p`,
//! replication `r` runs the base scenario with the point's overrides and the seed
//! `replication_seed(seed, r)`, so every point sees the same random numbers (common random
//! numbers). Every output file is a function of the sorted rows only, so results do not depend on
//! `--jobs`, and `merge` of `--shard 1/N … N/N` writes the same bytes as one unsharded sweep.

//!
//! Files: [`grid`] reads the sweep file and expands the grid; [`runner`] runs the points and
//! replications on rayon workers; [`shards`] slices the grid (`--shard K/N`) and merges shard
//! folders; [`results`] writes the CSVs with Student-t intervals; [`charts`] draws one chart per
//! metric with the run charts' toolkit.

pub mod charts;
pub mod find;
pub mod grid;
pub mod labels;
mod report;
pub mod results;
pub mod runner;
pub mod shards;
mod table;

use crate::error::{Error, KeyPath};
use crate::output::write_atomic;
use crate::rng::replication_seed;
use crate::run::load_model;
use crate::run::simulate;
use crate::scenario::source::locate;
use crate::scenario::Override;
use crate::stats::summary::FunctionSummary;
use crate::stats::{NoRecorder, Summary};
use rayon::prelude::*;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use find::{Find, FindOutcome, Goal, Op, Requirement};
pub use grid::{format_f64, load, load_str, value_cell, value_text, Sweep, Vary};
pub use results::{stat, t975, t_quantile, write_outputs, Results, Row, Stat};
pub use runner::{run, SweepOptions, SweepReport};
pub use shards::{content_hash, merge, Shard};

/// Largest grid accepted (points), to catch a range with a tiny step.
pub const MAX_POINTS: usize = 1_000_000;

/// What `sweep` and `merge` print on stdout.
pub fn report_text(r: &SweepReport) -> String {
    if let Some(f) = &r.find {
        let mut s = find::report_text(f);
        s.push_str(&format!("outputs in {}\n", r.out_dir.display()));
        return s;
    }
    let mut s = format!(
        "{} points, {} runs ({} replication(s) per point)",
        r.points, r.runs, r.results.replications
    );
    if r.results.shard.n > 1 {
        s.push_str(&format!(
            ", shard {} of a {}-point grid",
            r.results.shard, r.results.points_total
        ));
    }
    s.push('\n');
    if r.results.shard.n == 1 && !r.results.rows.is_empty() {
        s.push_str(&table::text(&r.results));
    }
    for (p, e) in &r.failed_points {
        s.push_str(&format!("point {p} failed: {e}\n"));
    }
    s.push_str(&format!("outputs in {}\n", r.out_dir.display()));
    s
}

/// A number for a person: four significant digits, no trailing zeros, exponent form outside
/// 1e-4..1e7 ("0.01234", "1234", "2.5e-6").
pub fn readable(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-4..1e7).contains(&a) {
        let s = format!("{x:.3e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        return format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'));
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 8) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}
