//! `lambdasim schema`: a JSON Schema (draft 2020-12) of the scenario file, for editors.
//!
//! Derived from the types with `schemars`: [`crate::scenario::Scenario`] and its tables derive
//! `JsonSchema`, so keys, enum values, required keys and `deny_unknown_fields`
//! (`additionalProperties: false`) follow serde, and every description is the field's doc
//! comment. Integer ranges are `#[schemars(range(...))]` attributes reading
//! `scenario::limits`, the one place bounds are written (`retry.max_attempts` and `retry.clients`, whose type lives
//! below `scenario`, gets its bound from the same constant in [`schema`]). Three schemas are written by hand,
//! here, because serde reads them with custom code: [`Micros`] (a duration string or a number
//! of seconds), [`DistSpec`] (whose `lognormal` accepts either `{median, p99}` or
//! `{mean, stddev}`: two variants of one tag, which a derive would merge into one variant with
//! four optional keys) and [`DistOrDuration`] (a distribution table or a bare duration,
//! `dist::dist_or_fixed`). A last pass makes the output plain for editors:
//! `Option` adds no `null` (TOML has none) and the `format` annotations are dropped.
//! `tests/schema.rs` and `tests/schema_validator.rs` keep it honest against the shipped
//! scenarios and `check`; `tests/scenario_doc.rs` against docs/scenario.md.

use crate::dist::{DistOrDuration, DistSpec};
use crate::presets;
use crate::scenario::{limits as lim, Scenario};
use crate::time::Micros;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};
use std::borrow::Cow;

/// Units `time::parse_duration` accepts.
const DURATION_PATTERN: &str = r"^\s*\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*(us|µs|ms|s|sec|secs|m|min|mins|h|hr|hours|d|days)?\s*$";

impl JsonSchema for Micros {
    fn schema_name() -> Cow<'static, str> {
        "duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "a duration with a unit (\"250ms\", \"10s\", \"5m\", \"1h\", \"500us\") or a number of seconds",
            "anyOf": [
                { "type": "string", "pattern": DURATION_PATTERN },
                { "type": "number", "minimum": 0 },
            ],
        })
    }
}

/// One variant of the `{ dist = "<name>", ... }` table, every field required.
fn dist_variant(name: &str, description: &str, fields: &[(&str, Value)]) -> Value {
    let mut props = Map::new();
    props.insert("dist".into(), json!({ "const": name }));
    let mut required = vec!["dist"];
    for (k, v) in fields {
        props.insert((*k).into(), v.clone());
        required.push(k);
    }
    json!({
        "type": "object",
        "description": description,
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

impl JsonSchema for DistSpec {
    fn schema_name() -> Cow<'static, str> {
        "dist".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let duration = generator.subschema_for::<Micros>();
        let d = |s: &str| {
            let mut v = duration.clone().to_value();
            v["description"] = json!(s);
            v
        };
        let path = json!({"type": "string", "description": "relative to the scenario file"});
        let shape = json!({"type": "number", "exclusiveMinimum": 0, "description": "shape parameter k, > 0"});
        json_schema!({ "oneOf": [
            dist_variant("fixed", "Always the same duration.", &[("value", d("the duration"))]),
            dist_variant("exponential", "Exponential.", &[("mean", d("mean, > 0"))]),
            dist_variant("uniform", "Uniform between min and max.", &[("min", d("lowest")), ("max", d("highest, >= min"))]),
            dist_variant("lognormal", "Log-normal given its median and 99th percentile.", &[("median", d("median, > 0")), ("p99", d("99th percentile, >= median"))]),
            dist_variant("lognormal", "Log-normal given its mean and standard deviation.", &[("mean", d("mean, > 0")), ("stddev", d("standard deviation"))]),
            dist_variant("normal", "Normal, truncated at 0.", &[("mean", d("mean, > 0")), ("stddev", d("standard deviation"))]),
            dist_variant("gamma", "Gamma.", &[("shape", shape), ("scale", d("scale, > 0"))]),
            dist_variant("empirical", "One duration per line of a file, drawn uniformly.", &[("path", path)]),
        ]})
    }
}

impl JsonSchema for DistOrDuration {
    fn schema_name() -> Cow<'static, str> {
        "dist_or_duration".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let duration = generator.subschema_for::<Micros>().to_value();
        let dist = generator.subschema_for::<DistSpec>().to_value();
        json_schema!({ "anyOf": [duration, dist] })
    }
}

/// The schema as pretty-printed JSON text.
pub fn schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    s.push('\n');
    s
}

/// Drops what the derive adds for Rust's sake and a TOML editor does not need: `null` as an
/// alternative (from `Option`; TOML has no null) and `format` annotations (`uint32`, `double`);
/// joins the lines of a doc comment into one.
fn plain(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("format").is_some_and(Value::is_string) {
                m.remove("format");
            }
            if let Some(Value::String(d)) = m.get_mut("description") {
                *d = d
                    .replace("\n\n", "\u{1}")
                    .replace('\n', " ")
                    .replace('\u{1}', "\n\n");
            }
            if let Some(Value::Array(types)) = m.get("type") {
                let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                let t = match kept.len() {
                    1 => kept[0].clone(),
                    _ => Value::Array(kept),
                };
                m.insert("type".into(), t);
            }
            if let Some(Value::Array(alts)) = m.get_mut("anyOf") {
                alts.retain(|a| a.get("type") != Some(&json!("null")));
                if alts.len() == 1 {
                    let only = alts.remove(0);
                    m.remove("anyOf");
                    if let Value::Object(o) = only {
                        for (k, x) in o {
                            m.entry(k).or_insert(x);
                        }
                    }
                }
            }
            for x in m.values_mut() {
                plain(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(plain),
        _ => {}
    }
}

/// The scenario schema as a JSON value.
pub fn schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut top = generator.into_root_schema_for::<Scenario>().to_value();
    plain(&mut top);
    top["title"] = json!("lambdasim scenario");
    // Preset names as editor suggestions (other names are valid with their own settings).
    let runtimes: Vec<&str> = presets::RUNTIMES.iter().map(|r| r.name).collect();
    let regions: Vec<&str> = presets::BURST_QUOTAS.iter().map(|(r, _)| *r).collect();
    top["properties"]["functions"]["items"]["properties"]["runtime"]["examples"] = json!(runtimes);
    top["properties"]["account"]["properties"]["region"]["examples"] = json!(regions);
    // `retry` sits below `scenario` (which re-exports it) and so cannot read
    // `scenario::limits` in an attribute; its one bound is set here, from the same constant.
    let attempts = &mut top["properties"]["traffic"]["items"]["properties"]["retry"]["properties"]
        ["max_attempts"];
    attempts["minimum"] = json!(lim::RETRY_MAX_ATTEMPTS.min);
    attempts["maximum"] = json!(lim::RETRY_MAX_ATTEMPTS.max);
    let clients =
        &mut top["properties"]["traffic"]["items"]["properties"]["retry"]["properties"]["clients"];
    clients["minimum"] = json!(lim::RETRY_CLIENTS.min);
    clients["maximum"] = json!(lim::RETRY_CLIENTS.max);
    top
}
