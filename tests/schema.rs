//! `lambdasim schema`: the JSON Schema editors use to complete and check scenario files.
//!
//! Checked with a small validator for exactly the keywords the schema uses ($ref, type,
//! properties, required, additionalProperties, enum, const, oneOf, anyOf, items, minimum,
//! maximum, exclusiveMinimum, minLength, minItems, pattern); any other keyword fails the test,
//! so the validator cannot silently ignore part of the schema.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn lambdasim() -> Command {
    Command::cargo_bin("lambdasim").unwrap()
}

fn schema() -> Value {
    let out = lambdasim().arg("schema").output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).expect("schema is JSON")
}

const KNOWN: &[&str] = &[
    "$schema",
    "title",
    "description",
    "examples",
    "default",
    "$defs",
    "$ref",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "const",
    "oneOf",
    "anyOf",
    "items",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "minLength",
    "minItems",
    "pattern",
];

/// Errors of `v` against schema `s` (`root` resolves `$ref`), as "path: problem".
fn validate(root: &Value, s: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let obj = s.as_object().expect("schema object");
    for k in obj.keys() {
        assert!(
            KNOWN.contains(&k.as_str()),
            "validator does not know keyword {k}"
        );
    }
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("local $ref");
        validate(root, &root["$defs"][name], v, path, errs);
    }
    if let Some(t) = obj.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "number" => v.is_number(),
            "integer" => v.is_i64() || v.is_u64(),
            _ => panic!("unknown type {t}"),
        };
        if !ok {
            errs.push(format!("{path}: expected {t}, got {v}"));
            return;
        }
    }
    if let Some(c) = obj.get("const") {
        if c != v {
            errs.push(format!("{path}: expected {c}, got {v}"));
        }
    }
    if let Some(e) = obj.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errs.push(format!("{path}: {v} is not one of {e:?}"));
        }
    }
    if let Some(n) = v.as_f64() {
        if let Some(m) = obj.get("minimum").and_then(Value::as_f64) {
            if n < m {
                errs.push(format!("{path}: {n} < minimum {m}"));
            }
        }
        if let Some(m) = obj.get("maximum").and_then(Value::as_f64) {
            if n > m {
                errs.push(format!("{path}: {n} > maximum {m}"));
            }
        }
        if let Some(m) = obj.get("exclusiveMinimum").and_then(Value::as_f64) {
            if n <= m {
                errs.push(format!("{path}: {n} <= exclusiveMinimum {m}"));
            }
        }
    }
    if let Some(text) = v.as_str() {
        if let Some(m) = obj.get("minLength").and_then(Value::as_u64) {
            if (text.chars().count() as u64) < m {
                errs.push(format!("{path}: shorter than {m}"));
            }
        }
        if let Some(p) = obj.get("pattern").and_then(Value::as_str) {
            if !regex::Regex::new(p).unwrap().is_match(text) {
                errs.push(format!("{path}: {text:?} does not match {p}"));
            }
        }
    }
    if let Some(map) = v.as_object() {
        let props = obj.get("properties").and_then(Value::as_object);
        if let Some(req) = obj.get("required").and_then(Value::as_array) {
            for r in req {
                let r = r.as_str().unwrap();
                if !map.contains_key(r) {
                    errs.push(format!("{path}: missing required key {r}"));
                }
            }
        }
        for (k, x) in map {
            let sub = format!("{path}.{k}");
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(root, ps, x, &sub, errs),
                None if obj.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errs.push(format!("{sub}: unknown key"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (obj.get("items"), v.as_array()) {
        if let Some(m) = obj.get("minItems").and_then(Value::as_u64) {
            if (arr.len() as u64) < m {
                errs.push(format!("{path}: fewer than {m} items"));
            }
        }
        for (i, x) in arr.iter().enumerate() {
            validate(root, items, x, &format!("{path}[{i}]"), errs);
        }
    }
    for (kw, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        if let Some(alts) = obj.get(kw).and_then(Value::as_array) {
            let mut sub_errs = Vec::new();
            let passing = alts
                .iter()
                .filter(|a| {
                    let mut e = Vec::new();
                    validate(root, a, v, path, &mut e);
                    sub_errs.extend(e.iter().cloned());
                    e.is_empty()
                })
                .count();
            if passing == 0 || (exactly_one && passing > 1) {
                errs.push(format!(
                    "{path}: {passing} of the {kw} alternatives match ({})",
                    sub_errs.join(" | ")
                ));
            }
        }
    }
}

fn errors(schema: &Value, doc: &Value) -> Vec<String> {
    let mut e = Vec::new();
    validate(schema, schema, doc, "$", &mut e);
    e
}

fn toml_to_json(text: &str) -> Value {
    let t: toml::Value = toml::from_str(text).unwrap();
    serde_json::to_value(t).unwrap()
}

fn scenarios() -> Vec<PathBuf> {
    common::shipped_scenarios()
}

#[test]
fn schema_is_draft_2020_12_and_closed() {
    let s = schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(
        s["properties"]["functions"]["items"]["additionalProperties"],
        false
    );
}

#[test]
fn every_shipped_scenario_validates() {
    let s = schema();
    for p in scenarios() {
        let doc = toml_to_json(&std::fs::read_to_string(&p).unwrap());
        let e = errors(&s, &doc);
        assert!(e.is_empty(), "{}: {e:#?}", p.display());
    }
}

#[test]
fn every_key_check_prints_is_in_the_schema() {
    // The resolved scenario has every default filled in, so it names every key the parser
    // writes; with additionalProperties false everywhere, a key missing from the schema fails.
    let s = schema();
    for p in scenarios() {
        let out = lambdasim().arg("check").arg(&p).output().unwrap();
        assert!(out.status.success(), "{}", p.display());
        let doc = toml_to_json(&String::from_utf8(out.stdout).unwrap());
        let e = errors(&s, &doc);
        assert!(e.is_empty(), "check {}: {e:#?}", p.display());
    }
}

#[test]
fn misspelt_keys_and_bad_values_are_rejected() {
    let s = schema();
    let base = std::fs::read_to_string("scenarios/provisioned-vs-on-demand.toml").unwrap();
    let good = toml_to_json(&base);
    assert!(errors(&s, &good).is_empty());
    let cases: &[(&str, &str, &str)] = &[
        (
            "misspelt top-level key",
            "duration = \"20m\"",
            "duraton = \"20m\"",
        ),
        (
            "misspelt function key",
            "memory_mb = 2048",
            "memroy_mb = 2048",
        ),
        (
            "misspelt account key",
            "concurrency_limit = 1000",
            "concurency_limit = 1000",
        ),
        ("unknown load kind", "kind = \"spike\"", "kind = \"spiky\""),
        ("unknown dist key", "p99 = \"600ms\"", "p95 = \"600ms\""),
        (
            "bad duration unit",
            "duration = \"20m\"",
            "duration = \"20 parsecs\"",
        ),
        ("memory out of range", "memory_mb = 2048", "memory_mb = 64"),
        (
            "unknown architecture",
            "name = \"checkout-on-demand\"",
            "name = \"checkout-on-demand\"\narchitecture = \"sparc\"",
        ),
    ];
    for (what, from, to) in cases {
        assert!(base.contains(from), "{what}: {from} not in the scenario");
        let doc = toml_to_json(&base.replacen(from, to, 1));
        assert!(!errors(&s, &doc).is_empty(), "{what}: schema accepted {to}");
        // The parser agrees: the same text is an input error.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, base.replacen(from, to, 1)).unwrap();
        lambdasim().arg("check").arg(&path).assert().code(2);
    }
}

#[test]
fn duration_pattern_agrees_with_the_parser() {
    let s = schema();
    let d = &s["$defs"]["duration"]["anyOf"][0]["pattern"];
    let re = regex::Regex::new(d.as_str().unwrap()).unwrap();
    for ok in [
        "250ms", "10s", "5m", "1h", "500us", "1.5s", "2d", "3 min", "7",
    ] {
        assert!(lambdasim::time::parse_duration(ok).is_ok(), "{ok}");
        assert!(re.is_match(ok), "pattern rejects {ok}");
    }
    for bad in ["", "ms", "10 parsecs", "-5s", "nan", "1e30h", "5 minutes"] {
        assert!(lambdasim::time::parse_duration(bad).is_err(), "{bad}");
        assert!(!re.is_match(bad), "pattern accepts {bad}");
    }
}
