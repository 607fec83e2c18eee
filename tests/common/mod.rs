//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// Every shipped scenario in `scenarios/` (sweep files, which name a base scenario instead of
/// defining functions, are skipped), sorted.
pub fn shipped_scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("[[functions]]")
        })
        .collect();
    v.sort();
    assert!(v.len() >= 8, "expected the shipped scenarios, found {v:?}");
    v
}
