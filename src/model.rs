//! The resolved model: what the engine runs. Built once from a validated [`Scenario`], it holds
//! index-based tables (functions and traffic sources are indices, never strings, on the hot
//! path), ready-to-draw samplers and loaded trace data.

use crate::dist::{load_empirical, DistSpec, Sampler};
use crate::error::{Error, KeyPath};
use crate::load::{LoadSpec, Profile, TraceData};
use crate::presets;
use crate::scenario::{
    Architecture, Arrivals, AsyncSpec, Invocation, Pricing, Refill, RetrySpec, Scaling, Scenario,
    SqsSpec, StreamSpec,
};
use crate::time::Micros;
use crate::trace;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A function with every default resolved and its distributions ready to draw.
#[derive(Clone, Debug)]
pub struct FunctionModel {
    /// The function's name.
    pub name: String,
    /// Memory, MB.
    pub memory_mb: u32,
    /// Instruction set (selects the prices).
    pub architecture: Architecture,
    /// Invocation timeout.
    pub timeout: Micros,
    /// Handler duration.
    pub duration: Sampler,
    /// INIT (cold start) duration.
    pub init: Sampler,
    /// Idle time after which an environment is reclaimed.
    pub idle_timeout: Sampler,
    /// Age after which an idle environment is retired.
    pub max_lifetime: Micros,
    /// Reserved concurrency, when set.
    pub reserved: Option<u32>,
    /// Provisioned environments.
    pub provisioned: u32,
    /// Probability that an invocation ends in a function error.
    pub error_rate: f64,
    /// Factor on sampled `duration` and `init` for the CPU that memory buys:
    /// (1 - cpu_bound) + cpu_bound x [`presets::cpu_slowdown`]; exactly 1 when `cpu_bound` is 0.
    pub cpu_factor: f64,
    /// How the provisioned concurrency changes during the run (`provisioned` is its value at
    /// the start); nothing when it is constant.
    pub provisioned_plan: ProvisionedPlan,
    /// SnapStart settings, present when the function uses SnapStart or asks for its what-if.
    pub snapstart: Option<SnapStart>,
    /// SnapStart is on: a cold start restores the snapshot instead of running INIT.
    pub snapstart_on: bool,
}

/// Scheduled actions and target tracking of one function's provisioned concurrency
/// (`scenario::provisioned`); the engine runs it in `engine::provisioned`.
#[derive(Clone, Debug, Default)]
pub struct ProvisionedPlan {
    /// (when, provisioned concurrency from then on), sorted by time.
    pub schedule: Vec<(Micros, u32)>,
    /// Target tracking on `ProvisionedConcurrencyUtilization`.
    pub autoscaling: Option<crate::scenario::provisioned::Autoscaling>,
    /// Time to allocate a new provisioned environment before its INIT starts.
    pub allocation_delay: Micros,
}

impl ProvisionedPlan {
    /// Whether the provisioned concurrency changes during the run.
    pub fn varies(&self) -> bool {
        !self.schedule.is_empty() || self.autoscaling.is_some()
    }
}

/// A function's SnapStart: what a cold start costs in time and money when it restores a
/// snapshot instead of running INIT.
///
/// Cold-start latency is `Restore Duration`: restoring the snapshot (not billed) plus loading
/// the runtime and running the after-restore hooks (billed as duration, "Billed Restore
/// Duration"), <https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html>.
#[derive(Clone, Debug)]
pub struct SnapStart {
    /// Time to restore the snapshot (not billed).
    pub restore: Sampler,
    /// After-restore hooks and runtime load (billed).
    pub hooks: Micros,
    /// The cache and restore charges apply (Python and .NET; not Java).
    pub charged: bool,
}

impl FunctionModel {
    /// The delay of one cold start, µs: a SnapStart restore plus hooks when SnapStart is on,
    /// else a sampled INIT at this function's memory.
    #[inline]
    pub fn cold_start_us(&self, rng: &mut crate::rng::Rng) -> u64 {
        match &self.snapstart {
            Some(s) if self.snapstart_on => s.restore.sample(rng).0 + s.hooks.0,
            _ => self.at_memory(self.init.sample(rng).0),
        }
    }

    /// The billed part of a SnapStart cold start, µs (its hooks); None when SnapStart is off.
    #[inline]
    pub fn snapstart_billed_us(&self) -> Option<u64> {
        match &self.snapstart {
            Some(s) if self.snapstart_on => Some(s.hooks.0),
            _ => None,
        }
    }
}

impl FunctionModel {
    /// A sampled duration or INIT (µs, measured at the reference memory) at this function's
    /// memory.
    #[inline]
    pub fn at_memory(&self, us: u64) -> u64 {
        if self.cpu_factor == 1.0 {
            us
        } else {
            (us as f64 * self.cpu_factor).round() as u64
        }
    }
}

/// A traffic source with its rate profile and invocation settings resolved.
#[derive(Clone, Debug)]
pub struct SourceModel {
    /// Stable name used to derive the source's random stream ("<function>#<n>").
    pub name: String,
    /// Index of the function it invokes.
    pub function: usize,
    /// How it invokes the function.
    pub invocation: Invocation,
    /// How requests are placed in time.
    pub arrivals: Arrivals,
    /// The rate over time.
    pub profile: Profile,
    /// Client retry policy (sync traffic).
    pub retry: RetrySpec,
    /// The invocation model's settings (defaults where the model is another one).
    pub async_: AsyncSpec,
    /// SQS mapping settings (SQS traffic).
    pub sqs: SqsSpec,
    /// Stream settings (stream traffic).
    pub stream: StreamSpec,
    /// Index in [`Model::gateways`] of the API Gateway in front of it (sync traffic).
    pub gateway: Option<u32>,
}

/// The account's limits and scaling budget, resolved.
#[derive(Clone, Debug)]
pub struct AccountModel {
    /// Account concurrency limit.
    pub concurrency_limit: u32,
    /// Scaling model.
    pub scaling: Scaling,
    /// Capacity of the scaling budget's token bucket.
    pub bucket_capacity: u32,
    /// Environments added per `scale_interval`.
    pub scale_step: u32,
    /// Refill interval of the scaling budget.
    pub scale_interval: Micros,
    /// How the scaling budget refills.
    pub scale_refill: Refill,
    /// Requests-per-second limit as a multiple of the concurrency limit (0 = off).
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

/// A scenario resolved into index-based tables: what the engine runs.
#[derive(Clone, Debug)]
pub struct Model {
    /// The scenario's name.
    pub name: String,
    /// Seed of the random streams.
    pub seed: u64,
    /// Simulated time.
    pub duration: Micros,
    /// Time-series resolution.
    pub bucket: Micros,
    /// Excluded from summary statistics.
    pub warmup: Micros,
    /// Account limits and scaling.
    pub account: AccountModel,
    /// Functions, in scenario order.
    pub functions: Vec<FunctionModel>,
    /// Traffic sources, in scenario order.
    pub sources: Vec<SourceModel>,
    /// Prices.
    pub pricing: Pricing,
    /// API Gateways, one token bucket each: the named `[[gateways]]` in scenario order, then
    /// the traffic entries' own.
    pub gateways: Vec<crate::scenario::GatewaySpec>,
    /// Downstream limits (`[[dependencies]]`) and which functions use them.
    pub dependencies: crate::scenario::dependencies::DependencyTable,
    /// Lambda Managed Instances: capacity providers and the functions on them.
    pub capacity: crate::scenario::capacity::Capacity,
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
                        let text = crate::trace::read_text_file(&p).map_err(|e| {
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
            let snapstart = match (&f.snapstart_restore, presets::runtime(&f.runtime)) {
                (Some(d), Some(p))
                    if p.snapstart.is_some() && (f.snapstart || f.whatif_snapstart) =>
                {
                    Some(SnapStart {
                        restore: sampler(d, "snapstart_restore")?,
                        hooks: f.snapstart_hooks,
                        charged: p.snapstart.is_some_and(|s| s.charged),
                    })
                }
                _ => None,
            };
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
                provisioned: f.provisioned_initial(),
                error_rate: f.error_rate,
                cpu_factor: if f.cpu_bound == 0.0 {
                    1.0
                } else {
                    let slow = presets::cpu_slowdown(
                        f.memory_mb,
                        f.duration_reference_mb.unwrap_or(f.memory_mb),
                        f.threads,
                    );
                    (1.0 - f.cpu_bound) + f.cpu_bound * slow
                },
                provisioned_plan: ProvisionedPlan {
                    schedule: f
                        .provisioned_schedule
                        .iter()
                        .map(|a| (a.at, a.concurrency))
                        .collect(),
                    autoscaling: f.provisioned_autoscaling.clone(),
                    allocation_delay: f.provisioned_allocation_delay,
                },
                snapstart_on: f.snapstart && snapstart.is_some(),
                snapstart,
            });
        }
        let mut sources = Vec::with_capacity(s.traffic.len());
        let mut gateways: Vec<_> = s.gateways.iter().map(|g| g.spec()).collect();
        let gateway_index: std::collections::HashMap<&str, u32> = s
            .gateways
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.as_str(), i as u32))
            .collect();
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
                    let text = crate::trace::read_text_file(&p).map_err(|e| {
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
                gateway: match &t.gateway {
                    None => None,
                    Some(crate::scenario::GatewayRef::Named(n)) => {
                        gateway_index.get(n.as_str()).copied()
                    }
                    Some(crate::scenario::GatewayRef::Inline(g)) => {
                        gateways.push(g.clone());
                        Some(gateways.len() as u32 - 1)
                    }
                },
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
            gateways,
            dependencies: crate::scenario::dependencies::DependencyTable::build(s),
            capacity: crate::scenario::capacity::Capacity::build(s),
        })
    }

    /// The same model with another seed.
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

/// `p` resolved relative to the folder `base` (absolute paths unchanged).
pub fn resolve_path(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}
