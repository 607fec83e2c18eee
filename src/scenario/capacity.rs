//! Lambda Managed Instances in the scenario file: the `[[capacity_providers]]` table, the
//! per-function keys that put a function on one, their defaults, their validation, and the
//! resolved form the engine runs ([`Capacity`]).
//!
//! Every number the documentation gives comes from [`crate::presets::managed`] (sources cited
//! there). Where the documentation gives none (instance launch time, environment start time,
//! the scaling decision interval, the pace of scale-down, the default target utilization and
//! default concurrency per vCPU), the value is a stated assumption, a key of the provider or
//! the function, listed in docs/platform.md "Lambda Managed Instances".

use super::limits as lim;
use super::{Architecture, Function, Scenario};
use crate::error::KeyPath;
use crate::presets::managed as pm;
use crate::time::Micros;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A capacity provider (`[[capacity_providers]]`): EC2 instances Lambda manages for the
/// functions that name it. Every key but `name` is optional; missing keys take their values
/// from [`CapacityProvider::default`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(inline)]
pub struct CapacityProvider {
    /// Unique; functions name it in `capacity_provider`.
    #[schemars(length(min = 1))]
    pub name: String,
    /// EC2 instance type (default m7i.xlarge; see `lambdasim presets`): sets `vcpus`,
    /// `memory_gib`, `instance_price_per_hour` and the architecture.
    pub instance_type: String,
    /// vCPUs of one instance (default from `instance_type`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = lim::MI_INSTANCE_VCPUS.min, max = lim::MI_INSTANCE_VCPUS.max))]
    pub vcpus: Option<u32>,
    /// Memory of one instance, GiB (default from `instance_type`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = lim::MI_INSTANCE_MEMORY_GIB.min, max = lim::MI_INSTANCE_MEMORY_GIB.max))]
    pub memory_gib: Option<u32>,
    /// EC2 on-demand price of one instance per hour, USD (default from `instance_type`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = lim::MAX_PRICE))]
    pub instance_price_per_hour: Option<f64>,
    /// Instances kept at least, and started with (default 3, as the platform starts).
    #[schemars(range(min = lim::MI_MIN_INSTANCES.min, max = lim::MI_MIN_INSTANCES.max))]
    pub min_instances: u32,
    /// MaxVCpuCount: most vCPUs over all instances, 2..15000 (default 15000).
    #[schemars(range(min = lim::MI_MAX_VCPUS.min, max = lim::MI_MAX_VCPUS.max))]
    pub max_vcpus: u32,
    /// Target resource utilization, 0.1..1: scaling keeps CPU utilization and
    /// multi-concurrency saturation near it (default 0.5, an assumption: the headroom that lets
    /// traffic double without throttles).
    #[schemars(range(min = 0.1, max = 1))]
    pub target_utilization: f64,
    /// Time from the decision to launch an instance to its first environment (default 60s,
    /// an assumption).
    pub instance_launch: Micros,
    /// Time an execution environment takes to start before it serves (default 10s, an
    /// assumption).
    pub environment_start: Micros,
    /// Scaling decisions are taken at this interval from the utilization measured over it
    /// (default 30s, an assumption).
    pub scaling_interval: Micros,
    /// Most of the surplus environments and instances removed per scaling interval, 0..1
    /// (default 0.1, an assumption: scale-down is gradual).
    #[schemars(range(min = 0.01, max = 1))]
    pub scale_down_fraction: f64,
    /// Compute management fee as a share of the instance price (default 0.15).
    #[schemars(range(min = 0, max = 10))]
    pub management_fee: f64,
}

impl Default for CapacityProvider {
    fn default() -> Self {
        CapacityProvider {
            name: String::new(),
            instance_type: "m7i.xlarge".into(),
            vcpus: None,
            memory_gib: None,
            instance_price_per_hour: None,
            min_instances: pm::START_INSTANCES,
            max_vcpus: pm::MAX_VCPU_COUNT.1,
            target_utilization: 0.5,
            instance_launch: Micros::from_secs(60),
            environment_start: Micros::from_secs(10),
            scaling_interval: Micros::from_secs(30),
            scale_down_fraction: 0.1,
            management_fee: pm::MANAGEMENT_FEE,
        }
    }
}

/// Default maximum concurrency per environment, per vCPU of the environment (an assumption:
/// the documentation allows up to 64 and says Lambda picks a balanced default).
pub const DEFAULT_CONCURRENCY_PER_VCPU: u32 = 16;
/// Default ExecutionEnvironmentMemoryGiBPerVCpu (the documented minimum ratio, 2:1).
pub const DEFAULT_MEMORY_GIB_PER_VCPU: f64 = 2.0;
/// Default vCPU one request keeps busy while it runs (an assumption: the default 16 requests per vCPU fill it).
pub const DEFAULT_CPU_PER_REQUEST: f64 = 0.0625;

/// One resolved capacity provider, as the engine runs it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderModel {
    /// Its name.
    pub name: String,
    /// vCPUs per instance.
    pub vcpus: u32,
    /// Memory per instance, GiB.
    pub memory_gib: u32,
    /// Price of one instance-hour, USD.
    pub price_per_hour: f64,
    /// Fewest instances (also the number at the start).
    pub min_instances: u32,
    /// Most instances (MaxVCpuCount / vcpus).
    pub max_instances: u32,
    /// Target utilization.
    pub target: f64,
    /// Instance launch delay.
    pub instance_launch: Micros,
    /// Environment start delay.
    pub environment_start: Micros,
    /// Scaling decision interval.
    pub interval: Micros,
    /// Share of the surplus removed per interval.
    pub scale_down_fraction: f64,
    /// Management fee share.
    pub management_fee: f64,
}

/// A function on Managed Instances, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedFunction {
    /// Index of its provider in [`Capacity::providers`].
    pub provider: usize,
    /// Most concurrent invocations per environment.
    pub max_concurrency: u32,
    /// vCPUs of one environment.
    pub vcpus: f64,
    /// Memory of one environment, GiB.
    pub memory_gib: f64,
    /// vCPU one running request keeps busy (0: no CPU sharing).
    pub cpu_per_request: f64,
}

impl ManagedFunction {
    /// The CPU-sharing model: a request that starts while `in_flight` requests (itself
    /// included) run on its environment takes `duration x max(1, in_flight x cpu_per_request /
    /// vcpus)`; the factor is fixed when it starts.
    #[inline]
    pub fn stretch(&self, in_flight: u32) -> f64 {
        (in_flight as f64 * self.cpu_per_request / self.vcpus).max(1.0)
    }
    /// CPU utilization of one environment with `in_flight` requests, 0..1.
    pub fn cpu_utilization(&self, in_flight: f64) -> f64 {
        (in_flight * self.cpu_per_request / self.vcpus).min(1.0)
    }
}

/// The Managed Instances part of a model: providers and, per function, its placement.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capacity {
    /// Providers in scenario order.
    pub providers: Vec<ProviderModel>,
    /// Per function (scenario order): `Some` when it runs on a provider.
    pub functions: Vec<Option<ManagedFunction>>,
}

impl Capacity {
    /// The resolved providers and managed functions of a validated, resolved scenario.
    pub fn build(s: &Scenario) -> Capacity {
        let providers = s
            .capacity_providers
            .iter()
            .map(|p| {
                let t = pm::instance_type(&p.instance_type);
                let vcpus = p.vcpus.or(t.map(|t| t.vcpus)).unwrap_or(1);
                ProviderModel {
                    name: p.name.clone(),
                    vcpus,
                    memory_gib: p.memory_gib.or(t.map(|t| t.memory_gib)).unwrap_or(1),
                    price_per_hour: p
                        .instance_price_per_hour
                        .or(t.map(|t| t.price_per_hour))
                        .unwrap_or(0.0),
                    min_instances: p.min_instances,
                    max_instances: (p.max_vcpus / vcpus).max(p.min_instances),
                    target: p.target_utilization,
                    instance_launch: p.instance_launch,
                    environment_start: p.environment_start,
                    interval: p.scaling_interval,
                    scale_down_fraction: p.scale_down_fraction,
                    management_fee: p.management_fee,
                }
            })
            .collect();
        let functions = s
            .functions
            .iter()
            .map(|f| {
                let name = f.capacity_provider.as_ref()?;
                let provider = s.capacity_providers.iter().position(|p| &p.name == name)?;
                let memory_gib = f.memory_mb as f64 / 1024.0;
                let vcpus =
                    memory_gib / f.memory_gib_per_vcpu.unwrap_or(DEFAULT_MEMORY_GIB_PER_VCPU);
                Some(ManagedFunction {
                    provider,
                    max_concurrency: f
                        .max_concurrency_per_environment
                        .unwrap_or_else(|| default_concurrency(vcpus)),
                    vcpus,
                    memory_gib,
                    cpu_per_request: f.cpu_per_request.unwrap_or(DEFAULT_CPU_PER_REQUEST),
                })
            })
            .collect();
        Capacity {
            providers,
            functions,
        }
    }

    /// Whether any function runs on Managed Instances.
    pub fn any(&self) -> bool {
        self.functions.iter().any(Option::is_some)
    }
}

fn default_concurrency(vcpus: f64) -> u32 {
    ((vcpus * DEFAULT_CONCURRENCY_PER_VCPU as f64).floor() as u32).clamp(1, pm::MAX_CONCURRENCY)
}

/// Writes the defaults of the per-function keys into Managed Instances functions, so the
/// resolved scenario shows them; functions without a provider are left as they are.
pub fn resolve(functions: &mut [Function]) {
    for f in functions
        .iter_mut()
        .filter(|f| f.capacity_provider.is_some())
    {
        let ratio = *f
            .memory_gib_per_vcpu
            .get_or_insert(DEFAULT_MEMORY_GIB_PER_VCPU);
        let vcpus = f.memory_mb as f64 / 1024.0 / ratio;
        f.max_concurrency_per_environment
            .get_or_insert_with(|| default_concurrency(vcpus));
        f.cpu_per_request.get_or_insert(DEFAULT_CPU_PER_REQUEST);
    }
}

type R = Result<(), (KeyPath, String)>;

fn fail(key: KeyPath, msg: impl Into<String>) -> R {
    Err((key, msg.into()))
}

/// The path `capacity_providers[i].key`.
fn pk(i: usize, key: &str) -> KeyPath {
    KeyPath::parse(&format!("capacity_providers[{i}].{key}"))
}

/// Checks the providers and the Managed Instances keys of every function: what the platform
/// refuses is refused here, with the key path.
pub fn validate(s: &Scenario) -> R {
    let mut names = std::collections::HashSet::new();
    for (i, p) in s.capacity_providers.iter().enumerate() {
        if p.name.trim().is_empty() {
            return fail(pk(i, "name"), "a capacity provider needs a name");
        }
        if p.name.chars().count() > lim::MAX_FUNCTION_NAME || p.name.chars().any(char::is_control) {
            return fail(
                pk(i, "name"),
                format!(
                    "at most {} characters, no control characters",
                    lim::MAX_FUNCTION_NAME
                ),
            );
        }
        if !names.insert(p.name.as_str()) {
            return fail(
                pk(i, "name"),
                format!("duplicate capacity provider {:?}", p.name),
            );
        }
        let t = pm::instance_type(&p.instance_type);
        if t.is_none()
            && (p.vcpus.is_none() || p.memory_gib.is_none() || p.instance_price_per_hour.is_none())
        {
            let known: Vec<&str> = pm::INSTANCE_TYPES.iter().map(|t| t.name).collect();
            return fail(
                pk(i, "instance_type"),
                format!(
                    "unknown instance type {:?} (one of: {}; or give vcpus, memory_gib and instance_price_per_hour)",
                    p.instance_type,
                    known.join(", ")
                ),
            );
        }
        if let Some(v) = p.vcpus {
            if !lim::MI_INSTANCE_VCPUS.contains(v) {
                return fail(pk(i, "vcpus"), lim::MI_INSTANCE_VCPUS.message());
            }
        }
        if let Some(m) = p.memory_gib {
            if !lim::MI_INSTANCE_MEMORY_GIB.contains(m) {
                return fail(pk(i, "memory_gib"), lim::MI_INSTANCE_MEMORY_GIB.message());
            }
        }
        if let Some(v) = p.instance_price_per_hour {
            if !(0.0..=lim::MAX_PRICE).contains(&v) {
                return fail(
                    pk(i, "instance_price_per_hour"),
                    format!("must be a finite price in 0..={} dollars", lim::MAX_PRICE),
                );
            }
        }
        if !lim::MI_MIN_INSTANCES.contains(p.min_instances) {
            return fail(pk(i, "min_instances"), lim::MI_MIN_INSTANCES.message());
        }
        if !lim::MI_MAX_VCPUS.contains(p.max_vcpus) {
            return fail(
                pk(i, "max_vcpus"),
                format!("{} (MaxVCpuCount)", lim::MI_MAX_VCPUS.message()),
            );
        }
        let vcpus = p.vcpus.or(t.map(|t| t.vcpus)).unwrap_or(1);
        if p.min_instances as u64 * vcpus as u64 > p.max_vcpus as u64 {
            return fail(
                pk(i, "min_instances"),
                format!(
                    "{} instances of {vcpus} vCPUs exceed max_vcpus = {}",
                    p.min_instances, p.max_vcpus
                ),
            );
        }
        if !(0.1..=1.0).contains(&p.target_utilization) {
            return fail(pk(i, "target_utilization"), "must be in 0.1..=1");
        }
        for (key, v) in [
            ("instance_launch", p.instance_launch),
            ("environment_start", p.environment_start),
        ] {
            if v > lim::MI_MAX_DELAY {
                return fail(pk(i, key), format!("must be at most {}", lim::MI_MAX_DELAY));
            }
        }
        if p.scaling_interval < Micros::SECOND || p.scaling_interval > lim::MI_MAX_DELAY {
            return fail(
                pk(i, "scaling_interval"),
                format!("must be in 1s..={}", lim::MI_MAX_DELAY),
            );
        }
        if !(0.01..=1.0).contains(&p.scale_down_fraction) {
            return fail(pk(i, "scale_down_fraction"), "must be in 0.01..=1");
        }
        if !(0.0..=10.0).contains(&p.management_fee) {
            return fail(pk(i, "management_fee"), "must be a share in 0..=10");
        }
    }
    for (i, f) in s.functions.iter().enumerate() {
        let fk = |key: &str| KeyPath::function(i, key);
        let Some(name) = &f.capacity_provider else {
            for (key, set) in [
                (
                    "max_concurrency_per_environment",
                    f.max_concurrency_per_environment.is_some(),
                ),
                ("memory_gib_per_vcpu", f.memory_gib_per_vcpu.is_some()),
                ("cpu_per_request", f.cpu_per_request.is_some()),
            ] {
                if set {
                    return fail(fk(key), "applies only with capacity_provider");
                }
            }
            continue;
        };
        let Some(p) = s.capacity_providers.iter().find(|p| &p.name == name) else {
            let known: Vec<&str> = s
                .capacity_providers
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            return fail(
                fk("capacity_provider"),
                format!(
                    "no capacity provider named {:?} (capacity_providers: {})",
                    name.chars()
                        .take(lim::MAX_FUNCTION_NAME)
                        .collect::<String>(),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            );
        };
        if f.memory_mb < pm::MIN_MEMORY_MB {
            return fail(
                fk("memory_mb"),
                format!(
                    "Managed Instances need at least {} MB (2 GB), got {}",
                    pm::MIN_MEMORY_MB,
                    f.memory_mb
                ),
            );
        }
        // Provisioned concurrency pre-warms on-demand environments; a Managed Instances
        // function has none (its environments are always started by the capacity provider).
        if f.provisioned_varies() {
            return fail(
                fk(if f.provisioned_autoscaling.is_some() {
                    "provisioned_autoscaling"
                } else {
                    "provisioned_schedule"
                }),
                "does not apply to a function on a capacity provider (Managed Instances keep their environments started)",
            );
        }
        if f.snapstart {
            return fail(
                fk("snapstart"),
                "does not apply to a function on a capacity provider (Managed Instances have no cold start to restore)",
            );
        }
        if f.provisioned_concurrency > 0 {
            return fail(
                fk("provisioned_concurrency"),
                "does not apply to a function on a capacity provider (Managed Instances keep their environments started)",
            );
        }
        if f.reserved_concurrency.is_some() {
            return fail(
                fk("reserved_concurrency"),
                "does not apply to a function on a capacity provider (its concurrency is its environments' slots)",
            );
        }
        let ratio = f.memory_gib_per_vcpu.unwrap_or(DEFAULT_MEMORY_GIB_PER_VCPU);
        if !(pm::MEMORY_GIB_PER_VCPU.0..=pm::MEMORY_GIB_PER_VCPU.1).contains(&ratio) {
            return fail(
                fk("memory_gib_per_vcpu"),
                format!(
                    "must be in {}..={} (ExecutionEnvironmentMemoryGiBPerVCpu), got {ratio}",
                    pm::MEMORY_GIB_PER_VCPU.0,
                    pm::MEMORY_GIB_PER_VCPU.1
                ),
            );
        }
        let vcpus = f.memory_mb as f64 / 1024.0 / ratio;
        if vcpus < 1.0 {
            return fail(
                fk("memory_gib_per_vcpu"),
                format!(
                    "{} MB at {ratio} GiB per vCPU is {vcpus:.2} vCPU; Managed Instances need at least 1 vCPU",
                    f.memory_mb
                ),
            );
        }
        let t = pm::instance_type(&p.instance_type);
        let (iv, im) = (
            p.vcpus.or(t.map(|t| t.vcpus)).unwrap_or(1),
            p.memory_gib.or(t.map(|t| t.memory_gib)).unwrap_or(1),
        );
        if vcpus > iv as f64 || f.memory_mb as f64 / 1024.0 > im as f64 {
            return fail(
                fk("memory_mb"),
                format!(
                    "an environment of {} MB and {vcpus:.2} vCPU does not fit on an instance of capacity provider {:?} ({iv} vCPU, {im} GiB)",
                    f.memory_mb, p.name
                ),
            );
        }
        if let Some(t) = t {
            let arm = f.architecture == Architecture::Arm64;
            if p.vcpus.is_none() && t.arm64 != arm {
                return fail(
                    fk("architecture"),
                    format!(
                        "capacity provider {:?} runs {} instances ({}), the function is {}",
                        p.name,
                        if t.arm64 { "arm64" } else { "x86_64" },
                        t.name,
                        if arm { "arm64" } else { "x86_64" }
                    ),
                );
            }
        }
        if let Some(c) = f.max_concurrency_per_environment {
            let most = ((vcpus * pm::MAX_CONCURRENCY_PER_VCPU as f64).floor() as u32)
                .min(pm::MAX_CONCURRENCY);
            if c == 0 || c > most {
                return fail(
                    fk("max_concurrency_per_environment"),
                    format!(
                        "must be in 1..={most} (PerExecutionEnvironmentMaxConcurrency: at most 64 per vCPU and 1600), got {c}"
                    ),
                );
            }
        }
        if let Some(c) = f.cpu_per_request {
            if !(0.0..=lim::MI_MAX_CPU_PER_REQUEST).contains(&c) {
                return fail(
                    fk("cpu_per_request"),
                    format!("must be in 0..={} vCPU", lim::MI_MAX_CPU_PER_REQUEST),
                );
            }
        }
    }
    Ok(())
}
