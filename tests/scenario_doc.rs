//! docs/scenario.md is the reference of every scenario key. It is checked against the schema
//! `lambdasim schema` prints: every key of the schema is documented there, every key documented
//! there is in the schema, and each documented range is the schema's (so a bound changed in
//! `src/scenario/limits.rs` fails here until the page says so too).

use serde_json::Value;
use std::collections::BTreeSet;

/// Key paths of the schema: tables as `account.region`, arrays of tables as
/// `functions[].memory_mb`, and the keys of the distribution and load variants as
/// `dist.<key>` and `load.<key>`. Each with its (minimum, maximum) if it has one.
fn schema_keys(schema: &Value) -> Vec<(String, Option<(i64, i64)>)> {
    fn walk(node: &Value, path: &str, out: &mut Vec<(String, Option<(i64, i64)>)>) {
        let Some(props) = node.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (k, v) in props {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match v.get("type").and_then(Value::as_str) {
                Some("object") => walk(v, &p, out),
                Some("array") if v["items"].get("type") == Some(&Value::from("object")) => {
                    out.push((p.clone(), None));
                    walk(&v["items"], &format!("{p}[]"), out);
                }
                _ => {
                    let range = match (v["minimum"].as_i64(), v["maximum"].as_i64()) {
                        (Some(lo), Some(hi)) => Some((lo, hi)),
                        _ => None,
                    };
                    out.push((p, range));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(schema, "", &mut out);
    for (def, tag) in [("dist", "dist"), ("load", "kind")] {
        for variant in schema["$defs"][def]["oneOf"].as_array().expect("variants") {
            for k in variant["properties"]
                .as_object()
                .expect("properties")
                .keys()
            {
                if k != tag {
                    out.push((format!("{def}.{k}"), None));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scenario.md"))
        .expect("docs/scenario.md")
}

fn schema() -> Value {
    serde_json::from_str(&lambdasim::schema::schema_text()).expect("schema is JSON")
}

/// Every `key path` written in backticks in the tables of the page.
fn documented(doc: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in doc.lines().filter(|l| l.starts_with('|')) {
        for (i, part) in line.split('`').enumerate() {
            let key_like = !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.[]".contains(c))
                && part.chars().next().is_some_and(|c| c.is_ascii_lowercase());
            if i % 2 == 1 && key_like {
                out.insert(part.to_string());
            }
        }
    }
    out
}

#[test]
fn every_schema_key_is_documented_with_its_range() {
    let doc = doc();
    let keys = schema_keys(&schema());
    assert!(keys.len() > 80, "schema walk found {} keys", keys.len());
    for (k, range) in keys {
        let row = doc
            .lines()
            .find(|l| l.contains(&format!("| `{k}` |")) || l.contains(&format!("`{k}`")))
            .unwrap_or_else(|| panic!("docs/scenario.md does not document `{k}`"));
        if let Some((lo, hi)) = range {
            assert!(
                row.contains(&format!("{lo}..={hi}")),
                "docs/scenario.md gives `{k}` another range than the schema's {lo}..={hi}: {row}"
            );
        }
    }
}

#[test]
fn every_documented_key_is_in_the_schema() {
    let keys: BTreeSet<String> = schema_keys(&schema()).into_iter().map(|k| k.0).collect();
    let doc = doc();
    let stale: Vec<String> = documented(&doc)
        .into_iter()
        .filter(|k| k.contains('.') || keys.contains(k) || k.ends_with("[]"))
        .filter(|k| !keys.contains(k))
        .collect();
    assert!(
        stale.is_empty(),
        "documented but not in the schema: {stale:?}"
    );
}
