//! Downstream limits: `[[dependencies]]` (a database, a cache, any service with a connection
//! limit) and the functions' `uses = [...]`. The serde form, its validation and its resolved,
//! index-based form ([`DependencyTable`]) the engine reads.
//!
//! A pool is a flat key, `pool_timeout = "2s"`: a dependency with it sits behind a connection
//! pool (the RDS Proxy pattern) where a borrower waits, first come first served, up to that
//! long for a connection; without it an invocation that finds every connection taken fails at
//! once. A flat key keeps `--set dependencies[0].pool_timeout=...` one key deep.

use super::limits as lim;
use super::Scenario;
use crate::error::KeyPath;
use crate::time::Micros;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A downstream resource with a connection limit (`[[dependencies]]`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct Dependency {
    /// Unique; functions name it in `uses`.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Connections it accepts at once; each invocation of a function that uses it holds one
    /// for its handler's duration.
    #[schemars(range(min = lim::MAX_CONNECTIONS.min, max = lim::MAX_CONNECTIONS.max))]
    pub max_connections: u32,
    /// With a connection pool (RDS Proxy): an invocation waits up to this long, first come
    /// first served, for a free connection before it fails (default: no pool, it fails at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_timeout: Option<Micros>,
}

/// The resolved dependencies: what the engine reads.
#[derive(Clone, Debug, Default)]
pub struct DependencyTable {
    /// Every dependency, in scenario order.
    pub deps: Vec<Dependency>,
    /// Per function (scenario order): indices of the dependencies it uses, ascending (every
    /// invocation takes its connections in this one order, so two waiting invocations can
    /// never each hold what the other waits for).
    pub uses: Vec<Vec<u32>>,
}

impl DependencyTable {
    /// The table of a validated scenario.
    pub fn build(s: &Scenario) -> DependencyTable {
        let index: HashMap<&str, u32> = s
            .dependencies
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.as_str(), i as u32))
            .collect();
        let uses = s
            .functions
            .iter()
            .map(|f| {
                let mut v: Vec<u32> = f
                    .uses
                    .iter()
                    .filter_map(|n| index.get(n.as_str()).copied())
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            })
            .collect();
        DependencyTable {
            deps: s.dependencies.clone(),
            uses,
        }
    }

    /// Whether any function uses a dependency (else the engine skips every dependency step).
    pub fn any_used(&self) -> bool {
        self.uses.iter().any(|u| !u.is_empty())
    }
}

type R = Result<(), (KeyPath, String)>;

/// Names, bounds and references: unique names, `max_connections` and `pool_timeout` in range,
/// every `uses` entry a declared dependency, and a function's pool waits shorter than its
/// timeout (so a waiting invocation ends by its pool timeout, never past its own timeout).
pub fn validate(s: &Scenario) -> R {
    let k = |i: usize, key: &str| KeyPath::parse(&format!("dependencies[{i}].{key}"));
    if s.dependencies.len() > lim::MAX_DEPENDENCIES {
        return Err((
            KeyPath::parse("dependencies"),
            format!(
                "{} dependencies, more than the limit of {}",
                s.dependencies.len(),
                lim::MAX_DEPENDENCIES
            ),
        ));
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, d) in s.dependencies.iter().enumerate() {
        if d.name.trim().is_empty() {
            return Err((k(i, "name"), "must not be empty".into()));
        }
        // The name is a field of dependencies.csv (written unquoted).
        if d.name.contains([',', '"']) || d.name.chars().any(char::is_control) {
            return Err((
                k(i, "name"),
                format!(
                    "{:?}: a dependency name may not contain commas, quotes or control characters",
                    d.name
                ),
            ));
        }
        if d.name.chars().count() > lim::MAX_FUNCTION_NAME {
            return Err((
                k(i, "name"),
                format!("is longer than {} characters", lim::MAX_FUNCTION_NAME),
            ));
        }
        if index.insert(d.name.as_str(), i).is_some() {
            return Err((
                k(i, "name"),
                format!("duplicate dependency name {:?}", d.name),
            ));
        }
        if !lim::MAX_CONNECTIONS.contains(d.max_connections) {
            return Err((
                k(i, "max_connections"),
                format!(
                    "{}, got {}",
                    lim::MAX_CONNECTIONS.message(),
                    d.max_connections
                ),
            ));
        }
        if let Some(t) = d.pool_timeout {
            if t.0 == 0 || t > lim::MAX_POOL_TIMEOUT {
                return Err((
                    k(i, "pool_timeout"),
                    format!("must be greater than 0 and at most 15m, got {t}"),
                ));
            }
        }
    }
    for (i, f) in s.functions.iter().enumerate() {
        let mut waits = Micros::ZERO;
        for (j, name) in f.uses.iter().enumerate() {
            let key = || KeyPath::function(i, &format!("uses[{j}]"));
            let Some(&d) = index.get(name.as_str()) else {
                let names: Vec<&str> = s
                    .dependencies
                    .iter()
                    .take(8)
                    .map(|d| d.name.as_str())
                    .collect();
                let shown: String = name.chars().take(lim::MAX_FUNCTION_NAME).collect();
                return Err((
                    key(),
                    format!(
                        "no dependency named {shown:?} (dependencies: {})",
                        if names.is_empty() {
                            "none declared; add a [[dependencies]] table".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                ));
            };
            if f.uses[..j].contains(name) {
                return Err((key(), format!("{name:?} is listed twice")));
            }
            waits += s.dependencies[d].pool_timeout.unwrap_or(Micros::ZERO);
        }
        if waits >= f.timeout {
            return Err((
                KeyPath::function(i, "uses"),
                format!(
                    "the pool timeouts of its dependencies add up to {waits}, not shorter than the function's timeout {}: a waiting invocation would time out first",
                    f.timeout
                ),
            ));
        }
    }
    Ok(())
}
