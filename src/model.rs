//! The resolved model: what the engine runs. Built once from a validated [`Scenario`], it holds
//! index-based tables (functions and traffic sources are indices, never strings, on the hot
//! path), ready-to-draw samplers and loaded trace data.

use crate::dist::{load_empirical, DistSpec, Sampler};
use crate::error::{Error, KeyPath};
use crate::load::{LoadSpec, Profile, TraceData};
use crate::scenario::{
    Architecture, Arrivals, AsyncSpec, Invocation, Pricing, Refill, RetrySpec, Scaling, Scenario,
    SqsSpec, StreamSpec,
};
use crate::time::Micros;
use crate::trace;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct FunctionModel {
    pub name: String,
    pub memory_mb: u32,
    pub architecture: Architecture,
    pub timeout: Micros,
    pub duration: Sampler,
    pub init: Sampler,
    pub idle_timeout: Sampler,
    pub max_lifetime: Micros,
    pub reserved: Option<u32>,
    pub provisioned: u32,
    pub error_rate: f64,
}

#[derive(Clone, Debug)]
pub struct SourceModel {
    /// Stable name used to derive the source's random stream ("<function>#<n>").
    pub name: String,
    pub function: usize,
    pub invocation: Invocation,
    pub arrivals: Arrivals,
    pub profile: Profile,
    pub retry: RetrySpec,
    /// The invocation model's settings (defaults where the model is another one).
    pub async_: AsyncSpec,
    pub sqs: SqsSpec,
    pub stream: StreamSpec,
}

#[derive(Clone, Debug)]
pub struct AccountModel {
    pub concurrency_limit: u32,
    pub scaling: Scaling,
    pub bucket_capacity: u32,
    pub scale_step: u32,
    pub scale_interval: Micros,
    pub scale_refill: Refill,
    pub rps_limit_factor: u32,
    /// Account limit minus every reservation.
    pub unreserved_pool: u32,
}

impl AccountModel {
    /// Requests per second the account accepts: `rps_limit_factor` × the account's concurrency
    /// limit (docs/platform.md "Concurrency limits"). The one place this product is formed.
    pub fn rps_limit(&self) -> u64 {
        self.rps_limit_factor as u64 * self.concurrency_limit as u64
    }
}

#[derive(Clone, Debug)]
pub struct Model {
    pub name: String,
    pub seed: u64,
    pub duration: Micros,
    pub bucket: Micros,
    pub warmup: Micros,
    pub account: AccountModel,
    pub functions: Vec<FunctionModel>,
    pub sources: Vec<SourceModel>,
    pub pricing: Pricing,
}

impl Model {
    /// Builds the model of a resolved, validated scenario. `base` is the folder relative paths
    /// (traces, empirical distributions) are read from; `file` names the scenario in errors.
    pub fn build(s: &Scenario, base: &Path, file: &Path) -> Result<Model, Error> {
        let a = &s.account;
        let reserved_total: u64 = s
            .functions
            .iter()
            .filter_map(|f| f.reserved_concurrency)
            .map(u64::from)
            .sum();
        let (scale_step, scale_interval, scale_refill) = a.scale_rule();
        let account = AccountModel {
            concurrency_limit: a.concurrency_limit,
            scaling: a.scaling,
            bucket_capacity: a.bucket_capacity(),
            scale_step,
            scale_interval,
            scale_refill,
            rps_limit_factor: a.rps_limit_factor,
            unreserved_pool: (a.concurrency_limit as u64).saturating_sub(reserved_total) as u32,
        };
        let mut functions = Vec::with_capacity(s.functions.len());
        for (i, f) in s.functions.iter().enumerate() {
            let key = |k: &str| KeyPath::function(i, k);
            let sampler = |d: &DistSpec, k: &str| -> Result<Sampler, Error> {
                let data = match d {
                    DistSpec::Empirical { path } => {
                        let p = resolve_path(base, path);
                        let text = std::fs::read_to_string(&p).map_err(|e| {
                            Error::input(
                                file,
                                key(&format!("{k}.path")),
                                format!("cannot read {}: {e}", p.display()),
                            )
                        })?;
                        let v = load_empirical(&text).map_err(|(line, m)| {
                            Error::input(&p, key(&format!("{k}.path")), format!("line {line}: {m}"))
                        })?;
                        Some(Arc::from(v))
                    }
                    _ => None,
                };
                Ok(d.sampler(data))
            };
            let init = f.init.clone().unwrap_or(DistSpec::fixed(Micros::ZERO));
            functions.push(FunctionModel {
                name: f.name.clone(),
                memory_mb: f.memory_mb,
                architecture: f.architecture,
                timeout: f.timeout,
                duration: sampler(&f.duration, "duration")?,
                init: sampler(&init, "init")?,
                idle_timeout: sampler(&f.idle_timeout, "idle_timeout")?,
                max_lifetime: f.max_lifetime,
                reserved: f.reserved_concurrency,
                provisioned: f.provisioned_concurrency,
                error_rate: f.error_rate,
            });
        }
        let mut sources = Vec::with_capacity(s.traffic.len());
        let mut per_fn = vec![0usize; s.functions.len()];
        // Name -> index once, so building stays linear in the number of functions.
        let index: std::collections::HashMap<&str, usize> = s
            .functions
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), i))
            .rev()
            .collect();
        for (i, t) in s.traffic.iter().enumerate() {
            let function = index.get(t.function.as_str()).copied().ok_or_else(|| {
                Error::input(
                    file,
                    KeyPath::traffic(i, "function"),
                    format!("no function named {:?}", t.function),
                )
            })?;
            let trace = match &t.load {
                LoadSpec::Trace {
                    path,
                    format,
                    interval,
                    select,
                    scale,
                } => {
                    let p = resolve_path(base, path);
                    let text = std::fs::read_to_string(&p).map_err(|e| {
                        Error::input(
                            file,
                            KeyPath::traffic(i, "load.path"),
                            format!("cannot read {}: {e}", p.display()),
                        )
                    })?;
                    let data = trace::parse(&text, *format, *interval, select.as_deref(), *scale)
                        .map_err(|m| Error::input(&p, KeyPath::traffic(i, "load"), m))?;
                    Some(data)
                }
                _ => None,
            };
            let n = per_fn[function];
            per_fn[function] += 1;
            sources.push(SourceModel {
                name: format!("{}#{}", t.function, n),
                function,
                invocation: t.invocation,
                arrivals: t.arrivals,
                profile: Profile::new(&t.load, trace),
                retry: t.retry.clone().unwrap_or_default(),
                async_: t.async_.clone().unwrap_or_default(),
                sqs: t.sqs.clone().unwrap_or_default(),
                stream: t.stream.clone().unwrap_or_default(),
            });
        }
        Ok(Model {
            name: s.name.clone(),
            seed: s.seed,
            duration: s.duration,
            bucket: s.bucket,
            warmup: s.warmup,
            account,
            functions,
            sources,
            pricing: s.pricing.clone(),
        })
    }

    pub fn with_seed(mut self, seed: u64) -> Model {
        self.seed = seed;
        self
    }

    /// Raw trace rows of a counts trace, for tests and charts.
    pub fn source_trace(&self, i: usize) -> Option<TraceData> {
        match &self.sources[i].profile {
            Profile::Counts(rows) => Some(TraceData::Counts(rows.to_vec())),
            Profile::Timestamps(t) => Some(TraceData::Timestamps(t.clone())),
            _ => None,
        }
    }
}

pub fn resolve_path(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}
