//! Cost of a run: requests, on-demand GB-seconds by architecture (INIT of cold starts
//! included), and provisioned concurrency (allocation plus its lower duration price).
//! Prices: docs/platform.md "Prices", overridable in `[pricing]`.

use crate::model::FunctionModel;
use crate::scenario::{Architecture, Pricing};
use crate::stats::summary::Cost;

/// What one function used over the summary window.
pub struct Usage {
    /// Invocations that ran (billed requests).
    pub invocations: u64,
    /// Billed milliseconds on on-demand environments.
    pub billed_ondemand_ms: u128,
    /// Billed milliseconds on provisioned environments.
    pub billed_provisioned_ms: u128,
    /// Length of the summary window, seconds (provisioned concurrency is billed while configured).
    pub window_s: f64,
    /// Time-weighted mean of the provisioned concurrency configured over the window (the
    /// constant setting when it does not change): its integral over time is what is billed.
    pub provisioned_configured: f64,
    /// Cold starts that restored a SnapStart snapshot.
    pub restores: u64,
}

/// The cost of function `f`'s usage `u` at prices `p`.
pub fn cost(f: &FunctionModel, p: &Pricing, u: &Usage) -> Cost {
    let mut c = price(
        f.architecture,
        f.memory_mb,
        u.provisioned_configured,
        p,
        u.invocations,
        u.billed_ondemand_ms as f64 / 1000.0,
        u.billed_provisioned_ms as f64 / 1000.0,
        u.window_s,
    );
    let charged = f.snapstart_on && f.snapstart.as_ref().is_some_and(|s| s.charged);
    if charged {
        c.snapstart = snapstart_charges(f.memory_mb, p, u.window_s, u.restores);
        c.total += c.snapstart;
    }
    c
}

/// SnapStart charges of a Python or .NET function (<https://aws.amazon.com/lambda/pricing/>,
/// "SnapStart Pricing"): the snapshot cached for as long as the version is active, at least
/// 3 hours, per GB-second of the function's memory; and each restore, per GB of its memory.
/// The version counts as active for the summary window (published at its start).
pub fn snapstart_charges(memory_mb: u32, p: &Pricing, window_s: f64, restores: u64) -> f64 {
    let gb = memory_mb as f64 / 1024.0;
    let cached_s = window_s.max(crate::presets::prices::SNAPSTART_CACHE_MIN_S);
    gb * cached_s * p.snapstart_cache_gb_second + restores as f64 * gb * p.snapstart_restore_gb
}

/// Per-GB-second prices of one architecture: (on-demand, provisioned configured, duration on
/// provisioned environments).
pub fn rates(arch: Architecture, p: &Pricing) -> (f64, f64, f64) {
    match arch {
        Architecture::X86_64 => (
            p.gb_second_x86_64,
            p.provisioned_gb_second_x86_64,
            p.provisioned_duration_gb_second_x86_64,
        ),
        Architecture::Arm64 => (
            p.gb_second_arm64,
            p.provisioned_gb_second_arm64,
            p.provisioned_duration_gb_second_arm64,
        ),
    }
}

/// The one price formula: requests, on-demand seconds (INIT included when billed) and
/// seconds on provisioned environments, plus provisioned environments configured over the
/// window. Seconds are of billed duration, before multiplying by memory.
#[allow(clippy::too_many_arguments)]
pub fn price(
    arch: Architecture,
    memory_mb: u32,
    provisioned: f64,
    p: &Pricing,
    invocations: u64,
    ondemand_s: f64,
    provisioned_s: f64,
    window_s: f64,
) -> Cost {
    let gb = memory_mb as f64 / 1024.0;
    let (od, prov_alloc, prov_dur) = rates(arch, p);
    let requests = invocations as f64 * p.request_per_million / 1e6;
    let compute = ondemand_s * gb * od;
    let provisioned = provisioned * gb * window_s * prov_alloc + provisioned_s * gb * prov_dur;
    Cost {
        requests,
        compute,
        provisioned,
        total: requests + compute + provisioned,
        snapstart: 0.0,
        managed_instances: 0.0,
    }
}

/// Lambda Managed Instances: (EC2 price, management fee) of `instance_hours` of provider
/// `p`'s instances. Requests are priced per function as on default Lambda; there is no
/// duration charge. Source: <https://aws.amazon.com/lambda/pricing/> (Lambda Managed
/// Instances: EC2 instance price, a compute management fee of 15 % of it, $0.20 per million
/// requests).
pub fn managed_instances(
    p: &crate::scenario::capacity::ProviderModel,
    instance_hours: f64,
) -> (f64, f64) {
    let ec2 = instance_hours * p.price_per_hour;
    (ec2, ec2 * p.management_fee)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Sampler;
    use crate::time::Micros;

    fn func(mem: u32, arch: Architecture, prov: u32) -> FunctionModel {
        FunctionModel {
            name: "f".into(),
            memory_mb: mem,
            architecture: arch,
            timeout: Micros::from_secs(3),
            duration: Sampler::Fixed(0),
            init: Sampler::Fixed(0),
            idle_timeout: Sampler::Fixed(0),
            max_lifetime: Micros::from_secs(1),
            reserved: None,
            provisioned: prov,
            error_rate: 0.0,
            cpu_factor: 1.0,
            provisioned_plan: Default::default(),
            snapstart: None,
            snapstart_on: false,
        }
    }

    #[test]
    fn one_million_one_second_invocations_at_1gb_x86() {
        // 1M requests x 1 s x 1 GB = $0.20 + 1e6 GB-s x $0.0000166667 = $16.6667.
        let u = Usage {
            invocations: 1_000_000,
            billed_ondemand_ms: 1_000_000_000,
            billed_provisioned_ms: 0,
            window_s: 0.0,
            provisioned_configured: 0.0,
            restores: 0,
        };
        let c = cost(
            &func(1024, Architecture::X86_64, 0),
            &Pricing::default(),
            &u,
        );
        assert!((c.requests - 0.20).abs() < 1e-9);
        assert!((c.compute - 16.6667).abs() < 1e-6);
        assert!((c.total - 16.8667).abs() < 1e-6);
    }

    #[test]
    fn provisioned_allocation_for_an_hour_on_arm() {
        // 10 environments x 2 GB x 3600 s x $0.0000033334.
        let u = Usage {
            invocations: 0,
            billed_ondemand_ms: 0,
            billed_provisioned_ms: 0,
            window_s: 3600.0,
            provisioned_configured: 10.0,
            restores: 0,
        };
        let c = cost(
            &func(2048, Architecture::Arm64, 10),
            &Pricing::default(),
            &u,
        );
        assert!((c.provisioned - 10.0 * 2.0 * 3600.0 * 0.0000033334).abs() < 1e-9);
    }
}
