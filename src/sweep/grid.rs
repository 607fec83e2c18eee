//! The sweep file and its grid: `[[vary]]` entries (values or ranges), their cartesian product in
//! row-major order, and the `--set` overrides of each point.

use super::*;
use crate::scenario::limits::MAX_REPLICATIONS;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SweepFile {
    scenario: String,
    replications: Option<i64>,
    metrics: Option<Vec<String>>,
    #[serde(default)]
    vary: Vec<VaryFile>,
    find: Option<super::find::FindFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VaryFile {
    key: String,
    values: Option<Vec<toml::Value>>,
    range: Option<RangeFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RangeFile {
    from: toml::Value,
    to: toml::Value,
    step: toml::Value,
}

/// One varied parameter: a scenario key (same syntax as `--set`) and its values.
#[derive(Clone, Debug)]
pub struct Vary {
    /// The scenario key, as for `--set`.
    pub key: String,
    /// The values it takes, in order.
    pub values: Vec<toml::Value>,
}

/// A parsed and checked sweep file.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The sweep file itself.
    pub file: PathBuf,
    /// The base scenario (resolved relative to the sweep file).
    pub scenario: PathBuf,
    /// Runs per point, each with its own seed.
    pub replications: u64,
    /// Metrics listed in the file; `None` means every summary metric.
    pub metrics: Option<Vec<String>>,
    /// The varied parameters; the points are their cross product.
    pub vary: Vec<Vary>,
    /// The `[find]` search, when the file has one (then `vary` is empty).
    pub find: Option<super::find::Find>,
    pub(super) text: String,
}

pub(super) fn in_file(sweep: &Path, text: &str, key: &str, msg: impl Into<String>) -> Error {
    let key = KeyPath::parse(key);
    let pos = locate(text, &key);
    Error::Input {
        file: sweep.to_path_buf(),
        key: Some(key),
        pos,
        msg: msg.into(),
    }
}

pub(super) fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    }
}

pub(super) fn expand_range(r: &RangeFile) -> Result<Vec<toml::Value>, String> {
    let (from, to, step) = match (number(&r.from), number(&r.to), number(&r.step)) {
        (Some(a), Some(b), Some(c)) => (a, b, c),
        _ => return Err("from, to and step must be numbers".into()),
    };
    if step.is_nan() || step <= 0.0 || !step.is_finite() {
        return Err(format!("step must be > 0, got {step}"));
    }
    if !from.is_finite() || !to.is_finite() {
        return Err("from and to must be finite".into());
    }
    if to < from {
        return Err(format!("is empty: to ({to}) is below from ({from})"));
    }
    let count = ((to - from) / step + 1e-9).floor() + 1.0;
    if count > MAX_POINTS as f64 {
        return Err(format!(
            "has {count} values, more than the {MAX_POINTS} allowed"
        ));
    }
    let count = count as usize;
    let ints = [&r.from, &r.to, &r.step]
        .iter()
        .all(|v| matches!(v, toml::Value::Integer(_)));
    Ok((0..count)
        .map(|i| {
            if ints {
                let (a, s) = (r.from.as_integer(), r.step.as_integer());
                toml::Value::Integer(a.unwrap_or(0) + i as i64 * s.unwrap_or(1))
            } else {
                // Rounded to 10 decimals so 0.1 steps read 0.3, not 0.30000000000000004.
                let x = from + i as f64 * step;
                let x: f64 = format!("{x:.10}").parse().unwrap_or(x);
                toml::Value::Float(x)
            }
        })
        .collect())
}

/// Reads and checks a sweep file (not yet the scenario).
pub fn load(path: &Path) -> Result<Sweep, Error> {
    let text = crate::trace::read_text_file(path)
        .map_err(|e| Error::input_at(path, None, format!("cannot read the sweep file: {e}")))?;
    load_str(&text, path)
}

/// As [`load`], from text; `file` names the text in errors and anchors the scenario path.
pub fn load_str(text: &str, file: &Path) -> Result<Sweep, Error> {
    let f: SweepFile = toml::from_str(text).map_err(|e| {
        let pos = e.span().map(|s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, col)
        });
        Error::input_at(file, pos, e.message().to_string())
    })?;
    let base = file.parent().unwrap_or(Path::new("."));
    let scenario = base.join(&f.scenario);
    if !scenario.is_file() {
        return Err(in_file(
            file,
            text,
            "scenario",
            format!("base scenario {} not found", scenario.display()),
        ));
    }
    let replications = match f.replications {
        None => 1,
        Some(r) if (1..=MAX_REPLICATIONS as i64).contains(&r) => r as u64,
        Some(r) => {
            return Err(in_file(
                file,
                text,
                "replications",
                format!("must be in 1..={MAX_REPLICATIONS} (the limit of replications), got {r}"),
            ))
        }
    };
    if let Some(m) = &f.metrics {
        if m.is_empty() {
            return Err(in_file(
                file,
                text,
                "metrics",
                "is empty: list metrics, or leave it out for every summary metric",
            ));
        }
    }
    let mut vary = Vec::new();
    for (i, v) in f.vary.iter().enumerate() {
        let at = |k: &str| format!("vary[{i}].{k}");
        if v.key.trim().is_empty() {
            return Err(in_file(file, text, &at("key"), "is empty"));
        }
        if vary.iter().any(|x: &Vary| x.key == v.key) {
            return Err(in_file(
                file,
                text,
                &at("key"),
                format!("{} is varied twice", v.key),
            ));
        }
        let values = match (&v.values, &v.range) {
            (Some(_), Some(_)) => {
                return Err(in_file(
                    file,
                    text,
                    &format!("vary[{i}]"),
                    "give either values or range, not both",
                ))
            }
            (None, None) => {
                return Err(in_file(
                    file,
                    text,
                    &format!("vary[{i}]"),
                    format!(
                        "{}: needs values = [...] or range = {{ from, to, step }}",
                        v.key
                    ),
                ))
            }
            (Some(vals), None) => {
                if vals.is_empty() {
                    return Err(in_file(
                        file,
                        text,
                        &at("values"),
                        format!("{}: values is empty", v.key),
                    ));
                }
                vals.clone()
            }
            (None, Some(r)) => expand_range(r)
                .map_err(|m| in_file(file, text, &at("range"), format!("{}: range {m}", v.key)))?,
        };
        vary.push(Vary {
            key: v.key.trim().to_string(),
            values,
        });
    }
    let find = match &f.find {
        None => None,
        Some(_) if !vary.is_empty() => {
            return Err(in_file(
                file,
                text,
                "find",
                "a sweep with [find] searches only find.parameter: remove the [[vary]] entries",
            ))
        }
        Some(x) => Some(super::find::parse(file, text, x)?),
    };
    let sweep = Sweep {
        file: file.to_path_buf(),
        scenario,
        replications,
        metrics: f.metrics,
        vary,
        find,
        text: text.to_string(),
    };
    let total = sweep
        .vary
        .iter()
        .try_fold(1usize, |acc, v| acc.checked_mul(v.values.len()));
    match total {
        Some(n) if n <= MAX_POINTS => Ok(sweep),
        _ => Err(in_file(
            file,
            text,
            "vary",
            format!("the grid has more than {MAX_POINTS} points"),
        )),
    }
}

/// A value as `--set` text (TOML: strings quoted).
pub fn value_text(v: &toml::Value) -> String {
    match v {
        // Whole floats beyond i64 would print as a digit string that TOML reads back as text,
        // not a number: keep them in exponent form so the scenario names the real type error.
        toml::Value::Float(f) if f.fract() == 0.0 && f.abs() >= 9.0e18 => format!("{f:e}"),
        toml::Value::Float(f) => format_f64(*f),
        other => other.to_string(),
    }
}

/// A value as a CSV cell (strings bare).
pub fn value_cell(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        // Whole floats beyond i64 would print as a digit string that TOML reads back as text,
        // not a number: keep them in exponent form so the scenario names the real type error.
        toml::Value::Float(f) if f.fract() == 0.0 && f.abs() >= 9.0e18 => format!("{f:e}"),
        toml::Value::Float(f) => format_f64(*f),
        other => other.to_string(),
    }
}

/// Shortest text that parses back to the same `f64` (how every number is written).
pub fn format_f64(x: f64) -> String {
    format!("{x}")
}

impl Sweep {
    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.vary.iter().map(|v| v.values.len()).product()
    }

    /// Whether the sweep has no point.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values of point `index` (one per `vary` entry; the first entry changes slowest).
    pub fn point(&self, index: usize) -> Vec<&toml::Value> {
        let mut rest = index;
        let mut out = Vec::with_capacity(self.vary.len());
        for v in self.vary.iter().rev() {
            out.push(&v.values[rest % v.values.len()]);
            rest /= v.values.len();
        }
        out.reverse();
        out
    }

    /// The `--set` overrides of point `index`.
    pub fn overrides(&self, index: usize) -> Vec<Override> {
        self.vary
            .iter()
            .zip(self.point(index))
            .map(|(v, x)| Override {
                key: v.key.clone(),
                value: value_text(x),
            })
            .collect()
    }

    pub(super) fn describe(&self, index: usize) -> String {
        self.vary
            .iter()
            .zip(self.point(index))
            .map(|(v, x)| format!("{}={}", v.key, value_text(x)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
