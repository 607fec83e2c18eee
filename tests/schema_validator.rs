//! The scenario schema checked by a real JSON Schema validator (the `jsonschema` crate, draft
//! 2020-12), independent of the small validator in `tests/schema.rs`: every shipped scenario
//! and every resolved scenario `lambdasim check` prints is valid, and a misspelt key or an
//! out-of-range value is refused by the schema AND by `check` (exit code 2).

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(&lambdasim::schema::schema_text()).expect("schema is JSON");
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

fn toml_to_json(text: &str) -> Value {
    let t: toml::Table = toml::from_str(text).expect("TOML");
    serde_json::to_value(t).expect("JSON")
}

fn scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "toml")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("sweep-"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_shipped_and_resolved_scenario_is_valid() {
    let v = validator();
    let files = scenarios();
    assert!(files.len() >= 10, "{} scenarios", files.len());
    for p in files {
        let text = std::fs::read_to_string(&p).expect("read");
        let errs: Vec<String> = v
            .iter_errors(&toml_to_json(&text))
            .map(|e| e.to_string())
            .collect();
        assert!(errs.is_empty(), "{}: {errs:?}", p.display());
        let out = Command::cargo_bin("lambdasim")
            .expect("binary")
            .arg("check")
            .arg(&p)
            .output()
            .expect("runs");
        assert!(out.status.success(), "check {}", p.display());
        let resolved = toml_to_json(&String::from_utf8(out.stdout).expect("utf-8"));
        let errs: Vec<String> = v.iter_errors(&resolved).map(|e| e.to_string()).collect();
        assert!(errs.is_empty(), "check {}: {errs:?}", p.display());
    }
}

#[test]
fn a_misspelt_key_and_out_of_range_values_are_refused_by_schema_and_check() {
    let v = validator();
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/provisioned-vs-on-demand.toml"
    ))
    .expect("read");
    assert!(v.is_valid(&toml_to_json(&base)));
    let cases = [
        ("misspelt key", "memory_mb = 2048", "memroy_mb = 2048"),
        ("memory below 128", "memory_mb = 2048", "memory_mb = 64"),
        (
            "memory above 10240",
            "memory_mb = 2048",
            "memory_mb = 10241",
        ),
        (
            "account limit above its bound",
            "concurrency_limit = 1000",
            "concurrency_limit = 10000001",
        ),
    ];
    for (what, from, to) in cases {
        assert!(base.contains(from), "{what}: {from} not in the scenario");
        let text = base.replacen(from, to, 1);
        assert!(
            !v.is_valid(&toml_to_json(&text)),
            "{what}: the schema accepted {to}"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, &text).expect("write");
        Command::cargo_bin("lambdasim")
            .expect("binary")
            .arg("check")
            .arg(&path)
            .assert()
            .code(2);
    }
}
