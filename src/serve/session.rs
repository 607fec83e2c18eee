//! What the interactive page asks for: the controls a scenario offers, and one run with the
//! page's settings turned into `--set` overrides (the same path, validation and messages as
//! `lambdasim run --set`), answered as JSON with the numbers, charts and narration.

use crate::error::Error;
use crate::explain::{ExplainOptions, Narrator};
use crate::model::Model;
use crate::output::charts::{render_svg, ChartData, QUEUES};
use crate::output::report::summary_table;
use crate::output::timeseries::ChartSeries;
use crate::presets;
use crate::run::simulate;
use crate::scenario::{self, Invocation, Override, Scenario};
use crate::stats::{BucketRow, Recorder};
use crate::time::{parse_duration, Micros};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Most requests one page run may simulate (expected arrivals over the scenario's duration,
/// from its load shapes): about two seconds of simulation on one core. `lambdasim run` has
/// no such cap.
pub const MAX_REQUESTS: f64 = 3_000_000.0;
/// Most time-series rows (buckets × (functions + 1)) one page run may produce: long runs
/// with little load cost bucket closings, not requests.
pub const MAX_ROWS: u64 = 2_000_000;
/// Scale factors a page control may send.
pub const SCALE_RANGE: (f64, f64) = (0.01, 100.0);
/// Most overrides one page request may carry.
pub const MAX_OVERRIDES: usize = 64;
/// Functions that get their own controls (the rest keep the file's values).
const MAX_CONTROLLED: usize = 4;

/// The scenario a page edits: its text (re-read from the file on every run, so edits to the
/// file show on the next change) or a built-in example.
pub struct Session {
    /// The scenario file watched.
    pub path: PathBuf,
    /// The text of the built-in example (then `path` is only its name).
    pub builtin: Option<&'static str>,
}

/// The example served when no scenario is named: the tutorial's first scenario.
const BUILTIN: &str = include_str!("../../scenarios/spiky-api.toml");

impl Session {
    /// A session on `path`, or on the built-in example when `None`. Fails as `check` would.
    pub fn new(path: Option<&Path>) -> Result<Session, Error> {
        let s = match path {
            Some(p) => Session {
                path: p.to_path_buf(),
                builtin: None,
            },
            // Named as in the repository, so messages and the command line read as for the file.
            None => Session {
                path: PathBuf::from("scenarios/spiky-api.toml"),
                builtin: Some(BUILTIN),
            },
        };
        s.load(&[])?;
        Ok(s)
    }

    fn load(&self, overrides: &[Override]) -> Result<(Scenario, Model), Error> {
        let s = match self.builtin {
            Some(text) => scenario::load_str(text, &self.path, overrides)?,
            None => scenario::load(&self.path, overrides)?,
        };
        let base = self.path.parent().unwrap_or(Path::new("."));
        let model = Model::build(&s, base, &self.path)?;
        Ok((s, model))
    }

    /// The page's controls for this scenario, as JSON (see `page.html` for their use).
    pub fn controls(&self) -> Result<Value, Error> {
        let (s, _) = self.load(&[])?;
        let limit = s.account.concurrency_limit;
        let mut c = Vec::new();
        for (i, t) in s.traffic.iter().enumerate() {
            if s.function_index(&t.function)
                .is_none_or(|f| f >= MAX_CONTROLLED)
            {
                continue;
            }
            if let crate::load::LoadSpec::Constant { rps } = t.load {
                let max = nice_max((rps * 4.0).max(10.0));
                c.push(range(
                    format!("traffic.{i}.load.rps"),
                    format!("{}: load (requests/s)", t.function),
                    0.0,
                    max,
                    Some(rps),
                ));
            } else {
                c.push(scale(
                    format!("traffic.{i}.load"),
                    format!("{}: load ×", t.function),
                ));
            }
            if t.invocation == Invocation::Sync {
                c.push(select(
                    format!("traffic.{i}.retry.mode"),
                    format!("{}: client retry mode", t.function),
                    &["none", "legacy", "standard", "adaptive"],
                    retry_name(t.retry.as_ref().map(|r| r.mode).unwrap_or_default()),
                ));
            }
            if t.invocation == Invocation::Sqs {
                let m = t.sqs.as_ref().map_or(1000, |q| q.maximum_concurrency) as f64;
                c.push(range(
                    format!("traffic.{i}.sqs.maximum_concurrency"),
                    format!("{}: SQS maximum concurrency", t.function),
                    2.0,
                    nice_max((m * 4.0).max(20.0)).min(1000.0),
                    Some(m),
                ));
            }
        }
        for f in s.functions.iter().take(MAX_CONTROLLED) {
            let key = |k: &str| format!("functions.{}.{k}", f.name);
            c.push(scale(key("duration"), format!("{}: duration ×", f.name)));
            c.push(range(
                key("reserved_concurrency"),
                format!("{}: reserved concurrency", f.name),
                0.0,
                limit as f64,
                f.reserved_concurrency.map(f64::from),
            ));
            c.push(range(
                key("provisioned_concurrency"),
                format!("{}: provisioned concurrency", f.name),
                0.0,
                nice_max(
                    (limit as f64)
                        .min(2000.0)
                        .max(f.provisioned_concurrency as f64),
                ),
                Some(f.provisioned_concurrency as f64),
            ));
        }
        c.push(range(
            "account.concurrency_limit".into(),
            "account concurrency limit".into(),
            10.0,
            nice_max((2.0 * limit as f64).max(1000.0)),
            Some(limit as f64),
        ));
        c.push(select(
            "account.scaling".into(),
            "scaling mode".into(),
            &["per-function", "burst"],
            match s.account.scaling {
                scenario::Scaling::PerFunction => "per-function",
                scenario::Scaling::Burst => "burst",
            },
        ));
        let mut regions: Vec<&str> = presets::BURST_QUOTAS.iter().map(|(r, _)| *r).collect();
        if !regions.contains(&s.account.region.as_str()) {
            regions.push(&s.account.region);
        }
        c.push(select(
            "account.region".into(),
            "region (burst quota, scaling = burst)".into(),
            &regions,
            &s.account.region,
        ));
        Ok(json!({
            "scenario": s.name,
            "file": self.path.display().to_string(),
            "description": s.description,
            "controls": c,
        }))
    }

    /// One run with the page's settings: `sets` are `KEY=VALUE` overrides as typed,
    /// `scales` are `(KEY, factor)` pairs turned into overrides of the scenario's own values.
    /// Errors (bad values, too much work) come back as `{"ok": false, "error": ...}`.
    pub fn run(&self, sets: &[String], scales: &[(String, String)]) -> Value {
        let t0 = Instant::now();
        match self.try_run(sets, scales) {
            Ok(mut v) => {
                v["ms"] = json!(t0.elapsed().as_secs_f64() * 1e3);
                v
            }
            Err(e) => json!({ "ok": false, "error": e.to_string(),
                              "ms": t0.elapsed().as_secs_f64() * 1e3 }),
        }
    }

    fn try_run(&self, sets: &[String], scales: &[(String, String)]) -> Result<Value, Error> {
        if sets.len() + scales.len() > MAX_OVERRIDES {
            return Err(Error::runtime(format!(
                "at most {MAX_OVERRIDES} settings per run"
            )));
        }
        let mut overrides = Vec::new();
        if !scales.is_empty() {
            let (base, _) = self.load(&[])?;
            let table = toml::Table::try_from(&base)
                .map_err(|e| Error::runtime(format!("cannot read the scenario back: {e}")))?;
            for (key, factor) in scales {
                overrides.push(scaled_override(&table, key, factor)?);
            }
        }
        for s in sets {
            let o: Override = s
                .parse()
                .map_err(|m: String| Error::input(Path::new("--set"), Default::default(), m))?;
            overrides.push(o);
        }
        let (_, model) = self.load(&overrides)?;
        let rows = (model.duration.0 / model.bucket.0.max(1)) * (model.functions.len() as u64 + 1);
        if rows > MAX_ROWS {
            return Err(Error::runtime(format!(
                "this run would record {rows} time-series rows; the page records at most {MAX_ROWS} (use a larger bucket or a shorter duration, or `lambdasim run`)"
            )));
        }
        let expected = expected_requests(&model);
        if expected > MAX_REQUESTS {
            return Err(Error::runtime(format!(
                "this run would simulate about {expected:.0} requests; the page runs at most {MAX_REQUESTS:.0} (lower the load or the duration, or use `lambdasim run`)"
            )));
        }
        // One run feeds both the charts and the narration (default options cannot fail
        // on a valid model).
        let narrator = Narrator::new(&model, &self.path, &ExplainOptions::default());
        let mut rec = SeriesRecorder(ChartSeries::default(), narrator.ok());
        let out = simulate(&model, &mut rec);
        let SeriesRecorder(series, narrator) = rec;
        let narration = narrator.map_or_else(
            || "(no narration)".to_string(),
            |n| n.finish(&model, &out.summary),
        );
        let d = ChartData::new(&model, &series, &out);
        let mut names = vec!["throttles", "concurrency"];
        if d.names().contains(&QUEUES) {
            names.push(QUEUES);
        }
        let mut charts = Vec::new();
        for n in names {
            charts.push(json!({ "name": n, "svg": render_svg(n, &d)? }));
        }
        let a = &out.summary.account;
        let command = std::iter::once(format!("lambdasim run {}", shell_word(&self.path)))
            .chain(overrides.iter().map(|o| {
                format!(
                    "--set {}",
                    shell_word(Path::new(&format!("{}={}", o.key, o.value)))
                )
            }))
            .collect::<Vec<_>>()
            .join(" ");
        Ok(json!({
            "ok": true,
            "throttles": a.throttles.total,
            "throttles_by_reason": {
                "burst": a.throttles.burst, "account": a.throttles.account,
                "reserved": a.throttles.reserved, "rate": a.throttles.rate,
                "gateway": a.throttles.gateway,
            },
            "requests": a.requests,
            "invocations": a.invocations,
            "cold_starts": a.cold_starts,
            "concurrency_peak": a.concurrency.peak,
            "latency_p99_ms": a.latency_ms.p99,
            "cost_usd": a.cost_usd.total,
            "summary_html": summary_table(&out.summary),
            "narration": narration,
            "charts": charts,
            "command": command,
        }))
    }
}

/// Keeps the chart series of a run in memory, and the narrator's rows.
struct SeriesRecorder(ChartSeries, Option<Narrator>);

impl Recorder for SeriesRecorder {
    fn bucket(&mut self, rows: &[BucketRow]) {
        self.0.push(rows);
        if let Some(n) = &mut self.1 {
            n.bucket(rows);
        }
    }
}

/// Expected arrivals of every source over the run: the load shapes' rates integrated on at
/// most 20 000 steps (enough to bound work; not an exact count).
pub fn expected_requests(model: &Model) -> f64 {
    let secs = model.duration.as_secs_f64();
    let steps = (secs.ceil() as usize).clamp(1, 20_000);
    let dt = secs / steps as f64;
    model
        .sources
        .iter()
        .map(|s| {
            (0..steps)
                .map(|k| s.profile.rate_at((k as f64 + 0.5) * dt) * dt)
                .sum::<f64>()
        })
        .sum()
}

/// `KEY=<the scenario's value at KEY, scaled>`: durations (strings like "7s") and request
/// rates are multiplied by the factor; everything else is kept.
fn scaled_override(table: &toml::Table, key: &str, factor: &str) -> Result<Override, Error> {
    let bad = |m: String| Error::input(Path::new("--set"), crate::error::KeyPath::parse(key), m);
    let f: f64 = factor
        .trim()
        .parse()
        .map_err(|_| bad(format!("scale factor {factor:?} is not a number")))?;
    if !(SCALE_RANGE.0..=SCALE_RANGE.1).contains(&f) {
        return Err(bad(format!(
            "scale factor {f} must be in {}..={}",
            SCALE_RANGE.0, SCALE_RANGE.1
        )));
    }
    let value = lookup(table, key).ok_or_else(|| bad("no such key to scale".into()))?;
    let mut v = value.clone();
    scale_value(&mut v, f, key.ends_with(".load"));
    Ok(Override {
        key: key.to_string(),
        value: v.to_string(),
    })
}

/// The value at a dotted key, addressing `functions.NAME` and `traffic.N` as `--set` does.
fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let parts: Vec<&str> = key.split('.').collect();
    let mut cur = table;
    let mut i = 0;
    while i + 1 < parts.len() {
        if parts[i] == "functions" || parts[i] == "traffic" {
            let arr = cur.get(parts[i])?.as_array()?;
            let entry = match parts[i + 1].parse::<usize>() {
                Ok(n) => arr.get(n)?,
                Err(_) => arr
                    .iter()
                    .find(|v| v.get("name").and_then(|n| n.as_str()) == Some(parts[i + 1]))?,
            };
            cur = entry.as_table()?;
            i += 2;
        } else {
            cur = cur.get(parts[i])?.as_table()?;
            i += 1;
        }
    }
    cur.get(*parts.get(i)?)
}

/// Request-rate fields of the load shapes (`LoadSpec`).
const RATE_KEYS: [&str; 8] = [
    "rps",
    "from",
    "to",
    "base",
    "peak",
    "mean",
    "amplitude",
    "scale",
];

fn scale_value(v: &mut toml::Value, f: f64, load: bool) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t.iter_mut() {
                match x {
                    toml::Value::Float(n) if load && RATE_KEYS.contains(&k.as_str()) => {
                        *n *= f;
                    }
                    toml::Value::Integer(n) if load && RATE_KEYS.contains(&k.as_str()) => {
                        *x = toml::Value::Float(*n as f64 * f);
                    }
                    toml::Value::String(s) if !load => {
                        if let Ok(d) = parse_duration(s) {
                            *s = Micros::from_secs_f64(d.as_secs_f64() * f).to_string();
                        }
                    }
                    _ => scale_value(x, f, load),
                }
            }
        }
        toml::Value::Array(a) => a.iter_mut().for_each(|x| scale_value(x, f, load)),
        _ => {}
    }
}

fn range(key: String, label: String, min: f64, max: f64, value: Option<f64>) -> Value {
    let step = if max > 1000.0 {
        (max / 1000.0).round()
    } else {
        1.0
    };
    json!({ "kind": "range", "key": key, "label": label, "min": min, "max": max,
            "step": step, "value": value })
}

fn scale(key: String, label: String) -> Value {
    json!({ "kind": "scale", "key": key, "label": label, "min": 0.1, "max": 4.0,
            "step": 0.05, "value": 1.0 })
}

fn select(key: String, label: String, options: &[&str], value: &str) -> Value {
    json!({ "kind": "select", "key": key, "label": label, "options": options,
            "value": value })
}

fn retry_name(m: scenario::RetryMode) -> &'static str {
    match m {
        scenario::RetryMode::None => "none",
        scenario::RetryMode::Legacy => "legacy",
        scenario::RetryMode::Standard => "standard",
        scenario::RetryMode::Adaptive => "adaptive",
    }
}

/// A round slider maximum: 1, 2 or 5 times a power of ten, at least `v`.
fn nice_max(v: f64) -> f64 {
    let p = 10f64.powf(v.max(1.0).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&m| m >= v)
        .unwrap_or(10.0 * p)
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_word(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:,".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page narrates the run it draws (one simulation): the same text as `explain`, which
    /// simulates on its own, for the same settings; and the page's throttles are that run's.
    #[test]
    fn the_page_narration_is_explain_of_the_same_run() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/async-backlog.toml"
        ));
        let session = Session::new(Some(path)).unwrap();
        let v = session.run(&["seed=3".into()], &[]);
        assert_eq!(v["ok"], true, "{v}");
        let (_, model) = session.load(&["seed=3".parse().unwrap()]).unwrap();
        let alone = crate::explain::explain(&model, path, &ExplainOptions::default()).unwrap();
        assert_eq!(v["narration"].as_str().unwrap(), alone);
        let throttles = simulate(&model, &mut crate::stats::NoRecorder)
            .summary
            .account
            .throttles
            .total;
        assert!(throttles > 0);
        assert_eq!(v["throttles"], throttles);
    }
}
