//! Output files of a run: `summary.json`, `timeseries.csv`, `scenario.resolved.toml`, and the
//! table printed on stdout. Outputs read results; they never reach back into the engine.
//!
//! Every file is written atomically (a temporary file in the same folder, then a rename), so an
//! interrupted run never leaves a truncated file behind.

pub mod animation;
pub mod charts;
pub mod dependencies;
pub mod report;
pub mod staging;
pub mod summary;
pub mod timeseries;

use crate::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Creates `dir` and checks that files can be written in it, before any simulation starts.
pub fn prepare_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::runtime(format!(
            "cannot create output folder {}: {e}",
            dir.display()
        ))
    })?;
    let probe = dir.join(".lambdasim-write-test");
    std::fs::write(&probe, b"").map_err(|e| {
        Error::runtime(format!(
            "output folder {} is not writable: {e}",
            dir.display()
        ))
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Temporary name beside `path` for an atomic write.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = temp_path(path);
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::runtime(format!("cannot write {}: {e}", path.display()))
    })
}
