//! The platform's numbers, one table each: runtime INIT presets, regional burst quotas and
//! prices. The model, `lambdasim presets`, `check` and the docs all read these tables.

use crate::dist::DistSpec;
use crate::time::Micros;

/// A runtime's default INIT (cold start) duration.
/// Source: docs/platform.md "Execution environments" (typical cold-start durations by runtime).
pub struct RuntimePreset {
    /// Runtime identifier, as in `functions.runtime` (e.g. python3.12).
    pub name: &'static str,
    /// Language family (e.g. python).
    pub family: &'static str,
    /// Shortest typical INIT duration, ms.
    pub init_min_ms: u64,
    /// Longest typical INIT duration, ms.
    pub init_max_ms: u64,
    /// SnapStart on this runtime, if the platform supports it (see [`SnapStartPreset`]).
    pub snapstart: Option<SnapStartPreset>,
}

/// SnapStart on a runtime: the restore time that replaces INIT on a cold start, and whether
/// the cache and restore charges apply.
///
/// Supported runtimes: Java 11 and later, Python 3.12 and later, .NET 8 and later ("Supported
/// features and limitations", <https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html>).
/// Restore time: AWS publishes no number beyond "as low as sub-second" (same page); the
/// defaults below are a stated assumption (docs/platform.md "SnapStart"), overridable per
/// function with `snapstart_restore`. Charges: "SnapStart pricing does not apply to supported
/// Java managed runtimes" (<https://aws.amazon.com/lambda/pricing/>, "SnapStart Pricing").
#[derive(Clone, Copy, Debug)]
pub struct SnapStartPreset {
    /// Shortest assumed restore duration, ms.
    pub restore_min_ms: u64,
    /// Longest assumed restore duration, ms.
    pub restore_max_ms: u64,
    /// The cache and restore charges apply (Python, .NET); false on Java.
    pub charged: bool,
}

/// Assumed SnapStart restore of a Java runtime: uniform 100..400 ms, no SnapStart charges.
const SNAP_JAVA: Option<SnapStartPreset> = Some(SnapStartPreset {
    restore_min_ms: 100,
    restore_max_ms: 400,
    charged: false,
});
/// Assumed SnapStart restore of a Python runtime: uniform 100..400 ms, cache and restore charged.
const SNAP_PYTHON: Option<SnapStartPreset> = Some(SnapStartPreset {
    restore_min_ms: 100,
    restore_max_ms: 400,
    charged: true,
});
/// Assumed SnapStart restore of a .NET runtime: uniform 100..400 ms, cache and restore charged.
const SNAP_DOTNET: Option<SnapStartPreset> = Some(SnapStartPreset {
    restore_min_ms: 100,
    restore_max_ms: 400,
    charged: true,
});

/// The runtime presets `functions.runtime` may name.
pub const RUNTIMES: &[RuntimePreset] = &[
    RuntimePreset {
        name: "python3.9",
        family: "Python",
        init_min_ms: 100,
        init_max_ms: 300,
        snapstart: None,
    },
    RuntimePreset {
        name: "python3.10",
        family: "Python",
        init_min_ms: 100,
        init_max_ms: 300,
        snapstart: None,
    },
    RuntimePreset {
        name: "python3.11",
        family: "Python",
        init_min_ms: 100,
        init_max_ms: 300,
        snapstart: None,
    },
    RuntimePreset {
        name: "python3.12",
        family: "Python",
        init_min_ms: 100,
        init_max_ms: 300,
        snapstart: SNAP_PYTHON,
    },
    RuntimePreset {
        name: "python3.13",
        family: "Python",
        init_min_ms: 100,
        init_max_ms: 300,
        snapstart: SNAP_PYTHON,
    },
    RuntimePreset {
        name: "nodejs18.x",
        family: "Node.js",
        init_min_ms: 100,
        init_max_ms: 200,
        snapstart: None,
    },
    RuntimePreset {
        name: "nodejs20.x",
        family: "Node.js",
        init_min_ms: 100,
        init_max_ms: 200,
        snapstart: None,
    },
    RuntimePreset {
        name: "nodejs22.x",
        family: "Node.js",
        init_min_ms: 100,
        init_max_ms: 200,
        snapstart: None,
    },
    RuntimePreset {
        name: "provided.al2023",
        family: "Go / Rust (custom runtime)",
        init_min_ms: 50,
        init_max_ms: 100,
        snapstart: None,
    },
    RuntimePreset {
        name: "provided.al2",
        family: "Go / Rust (custom runtime)",
        init_min_ms: 50,
        init_max_ms: 100,
        snapstart: None,
    },
    RuntimePreset {
        name: "go",
        family: "Go / Rust (custom runtime)",
        init_min_ms: 50,
        init_max_ms: 100,
        snapstart: None,
    },
    RuntimePreset {
        name: "rust",
        family: "Go / Rust (custom runtime)",
        init_min_ms: 50,
        init_max_ms: 100,
        snapstart: None,
    },
    RuntimePreset {
        name: "java17",
        family: "Java (no SnapStart)",
        init_min_ms: 500,
        init_max_ms: 1000,
        snapstart: SNAP_JAVA,
    },
    RuntimePreset {
        name: "java21",
        family: "Java (no SnapStart)",
        init_min_ms: 500,
        init_max_ms: 1000,
        snapstart: SNAP_JAVA,
    },
    RuntimePreset {
        name: "dotnet8",
        family: ".NET",
        init_min_ms: 400,
        init_max_ms: 800,
        snapstart: SNAP_DOTNET,
    },
];

/// The preset named `name`, if any.
pub fn runtime(name: &str) -> Option<&'static RuntimePreset> {
    RUNTIMES.iter().find(|r| r.name == name)
}

impl RuntimePreset {
    /// Default INIT distribution of the runtime: uniform between its typical bounds.
    pub fn init_dist(&self) -> DistSpec {
        DistSpec::Uniform {
            min: Micros::from_millis(self.init_min_ms),
            max: Micros::from_millis(self.init_max_ms),
        }
    }

    /// Default SnapStart restore distribution of the runtime: uniform between its assumed
    /// bounds (None where the runtime has no SnapStart).
    pub fn restore_dist(&self) -> Option<DistSpec> {
        self.snapstart.map(|s| DistSpec::Uniform {
            min: Micros::from_millis(s.restore_min_ms),
            max: Micros::from_millis(s.restore_max_ms),
        })
    }
}

/// Legacy account burst quotas. Source: docs/platform.md "Scaling quotas" (legacy account burst).
pub const BURST_QUOTAS: &[(&str, u32)] = &[
    ("us-east-1", 3000),
    ("us-west-2", 3000),
    ("eu-west-1", 3000),
    ("ap-northeast-1", 1000),
    ("eu-central-1", 1000),
    ("us-east-2", 1000),
];
/// Burst quota of every region not listed in [`BURST_QUOTAS`].
pub const BURST_QUOTA_OTHER: u32 = 500;

/// Legacy account burst quota of `region` (default for unknown regions).
pub fn burst_quota(region: &str) -> u32 {
    BURST_QUOTAS
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(_, q)| *q)
        .unwrap_or(BURST_QUOTA_OTHER)
}

/// Scaling defaults. Source: docs/platform.md "Scaling quotas".
pub const PER_FUNCTION_CAPACITY: u32 = 1000;
/// Environments a function adds per interval (per-function scaling).
pub const PER_FUNCTION_STEP: u32 = 1000;
/// Refill interval of per-function scaling.
pub const PER_FUNCTION_INTERVAL: Micros = Micros::from_secs(10);
/// Environments added per interval after the burst (legacy burst scaling).
pub const BURST_STEP: u32 = 500;
/// Refill interval of legacy burst scaling.
pub const BURST_INTERVAL: Micros = Micros::from_secs(60);
/// Requests per second allowed per unit of account concurrency. Source: docs/platform.md "Concurrency limits".
pub const RPS_LIMIT_FACTOR: u32 = 10;

/// Memory that buys one vCPU, MB: Lambda allocates CPU in proportion to memory, one vCPU
/// (one vCPU-second of credit per second) at 1,769 MB.
/// Source: docs/platform.md "Memory and CPU",
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html>.
pub const MB_PER_VCPU: f64 = 1769.0;
/// Most vCPUs of a function (at 10,240 MB).
/// Source: <https://aws.amazon.com/blogs/aws/new-for-aws-lambda-functions-with-up-to-10-gb-of-memory-and-6-vcpus/>.
pub const MAX_VCPUS: f64 = 6.0;

/// vCPUs that `memory_mb` buys: memory / 1,769, at most 6.
pub fn vcpus(memory_mb: u32) -> f64 {
    (memory_mb as f64 / MB_PER_VCPU).min(MAX_VCPUS)
}

/// How much longer the CPU work of code using `threads` threads takes at `memory_mb` than at
/// `reference_mb`: min(vCPU(reference), threads) / min(vCPU(memory), threads).
pub fn cpu_slowdown(memory_mb: u32, reference_mb: u32, threads: u32) -> f64 {
    let t = threads.max(1) as f64;
    vcpus(reference_mb).min(t) / vcpus(memory_mb).min(t)
}

/// us-east-1 list prices. Source: docs/platform.md "Prices".
pub mod prices {
    /// USD per million requests.
    pub const REQUEST_PER_MILLION: f64 = 0.20;
    /// USD per GB-second of on-demand duration, x86_64.
    pub const GB_SECOND_X86: f64 = 0.0000166667;
    /// USD per GB-second of on-demand duration, arm64.
    pub const GB_SECOND_ARM: f64 = 0.0000133334;
    /// USD per GB-second of provisioned concurrency configured, x86_64.
    pub const PROVISIONED_GB_SECOND_X86: f64 = 0.0000041667;
    /// USD per GB-second of provisioned concurrency configured, arm64.
    pub const PROVISIONED_GB_SECOND_ARM: f64 = 0.0000033334;
    /// USD per GB-second of duration on provisioned environments, x86_64.
    pub const PROVISIONED_DURATION_GB_SECOND_X86: f64 = 0.0000097222;
    /// USD per GB-second of duration on provisioned environments, arm64.
    pub const PROVISIONED_DURATION_GB_SECOND_ARM: f64 = 0.0000077778;
    /// USD per GB-second of a SnapStart snapshot cached (Python, .NET), for as long as the
    /// version is active, at least [`SNAPSTART_CACHE_MIN_S`]. Source:
    /// <https://aws.amazon.com/lambda/pricing/> ("SnapStart Pricing").
    pub const SNAPSTART_CACHE_GB_SECOND: f64 = 0.0000015046;
    /// Shortest time a SnapStart snapshot is charged for: 3 hours (same source).
    pub const SNAPSTART_CACHE_MIN_S: f64 = 3.0 * 3600.0;
    /// USD per GB restored from a SnapStart snapshot (Python, .NET; same source).
    pub const SNAPSTART_RESTORE_GB: f64 = 0.0001397998;
}

/// Lambda Managed Instances: the documented numbers and the instance types lambdasim knows.
///
/// Sources (Lambda developer guide, Managed Instances pages):
/// - scaling: <https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-scaling.html>
///   (three instances and three execution environments at the start; traffic more than doubling
///   within 5 minutes may be throttled; functions of at least 2 GB and 1 vCPU; up to 64
///   concurrent requests per vCPU);
/// - API: <https://docs.aws.amazon.com/lambda/latest/api/API_CapacityProviderScalingConfig.html>
///   (MaxVCpuCount 2..15,000) and
///   <https://docs.aws.amazon.com/lambda/latest/api/API_LambdaManagedInstancesCapacityProviderConfig.html>
///   (ExecutionEnvironmentMemoryGiBPerVCpu 2.0..8.0, PerExecutionEnvironmentMaxConcurrency
///   1..1600);
/// - pricing: <https://aws.amazon.com/lambda/pricing/> (EC2 on-demand instance price, a 15 %
///   compute management fee on it, $0.20 per million requests, no duration charge).
pub mod managed {
    /// Instances a capacity provider starts with (AZ resiliency).
    pub const START_INSTANCES: u32 = 3;
    /// Execution environments a function starts with before it is ACTIVE.
    pub const START_ENVIRONMENTS: u32 = 3;
    /// Smallest function memory on Managed Instances, MB (2 GB).
    pub const MIN_MEMORY_MB: u32 = 2048;
    /// Most concurrent requests per vCPU of an environment.
    pub const MAX_CONCURRENCY_PER_VCPU: u32 = 64;
    /// PerExecutionEnvironmentMaxConcurrency bounds.
    pub const MAX_CONCURRENCY: u32 = 1600;
    /// ExecutionEnvironmentMemoryGiBPerVCpu bounds.
    pub const MEMORY_GIB_PER_VCPU: (f64, f64) = (2.0, 8.0);
    /// MaxVCpuCount bounds.
    pub const MAX_VCPU_COUNT: (u32, u32) = (2, 15_000);
    /// Compute management fee, a share of the EC2 on-demand instance price.
    pub const MANAGEMENT_FEE: f64 = 0.15;
    /// Traffic growth the documentation says scaling absorbs without throttles: 2x ...
    pub const DOUBLING_FACTOR: f64 = 2.0;
    /// ... within 5 minutes.
    pub const DOUBLING_WINDOW_S: u64 = 300;

    /// An EC2 instance type a capacity provider may run.
    pub struct InstanceType {
        /// EC2 name, e.g. m7i.xlarge.
        pub name: &'static str,
        /// vCPUs.
        pub vcpus: u32,
        /// Memory, GiB.
        pub memory_gib: u32,
        /// us-east-1 Linux on-demand list price per hour, USD, as published in 2025-2026
        /// (<https://aws.amazon.com/ec2/pricing/on-demand/>; prices change and differ by
        /// Region: set `instance_price_per_hour` for yours).
        pub price_per_hour: f64,
        /// arm64 (Graviton) or x86_64.
        pub arm64: bool,
    }

    /// The instance types lambdasim knows (others: give `vcpus`, `memory_gib` and
    /// `instance_price_per_hour`).
    pub const INSTANCE_TYPES: &[InstanceType] = &[
        InstanceType {
            name: "m7i.xlarge",
            vcpus: 4,
            memory_gib: 16,
            price_per_hour: 0.2016,
            arm64: false,
        },
        InstanceType {
            name: "c7i.xlarge",
            vcpus: 4,
            memory_gib: 8,
            price_per_hour: 0.1785,
            arm64: false,
        },
        InstanceType {
            name: "r7i.xlarge",
            vcpus: 4,
            memory_gib: 32,
            price_per_hour: 0.2646,
            arm64: false,
        },
        InstanceType {
            name: "m7g.xlarge",
            vcpus: 4,
            memory_gib: 16,
            price_per_hour: 0.1632,
            arm64: true,
        },
        InstanceType {
            name: "c7g.xlarge",
            vcpus: 4,
            memory_gib: 8,
            price_per_hour: 0.145,
            arm64: true,
        },
        InstanceType {
            name: "r7g.xlarge",
            vcpus: 4,
            memory_gib: 32,
            price_per_hour: 0.2142,
            arm64: true,
        },
    ];

    /// The instance type named `name`.
    pub fn instance_type(name: &str) -> Option<&'static InstanceType> {
        INSTANCE_TYPES.iter().find(|t| t.name == name)
    }
}
