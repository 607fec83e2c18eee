//! Lambda Managed Instances: the slot accounting, the documented doubling rule, no cold start on
//! the request path, and the bill against a hand calculation. Each law is checked against a
//! number computed here, independently of the engine.

mod common;

use common::{assert_conserved, erlang_b, write};
use lambdasim::engine::Sim;
use lambdasim::run::load_model;
use lambdasim::stats::{BucketRow, ThrottleReason};
use lambdasim::{simulate, Model};
use std::path::Path;

fn model_of(text: &str) -> Model {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = write(dir.path(), "s.toml", text);
    load_model(&p, &[], None).expect("valid scenario").1
}

fn shipped(name: &str, overrides: &[&str]) -> Model {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    let o: Vec<_> = overrides
        .iter()
        .map(|s| s.parse().expect("override"))
        .collect();
    load_model(&p, &o, None).expect("shipped scenario").1
}

/// One instance of 4 vCPUs holds 4 environments of 1 vCPU with 4 slots each: 16 slots, never
/// more. 400 requests per second of exactly 100 ms offer 40 Erlang to them, without retries
/// and without CPU sharing, so it is a loss system: M/D/16/16, whose share of refused requests
/// is Erlang-B(16, 40) whatever the service distribution.
const SATURATED: &str = r#"
name = "slots"
duration = "11m"
warmup = "1m"
seed = 3

[[capacity_providers]]
name = "one"
min_instances = 1
max_vcpus = 4

[[functions]]
name = "api"
runtime = "python3.13"
memory_mb = 2048
timeout = "10s"
duration = "100ms"
capacity_provider = "one"
max_concurrency_per_environment = 4
cpu_per_request = 0

[[traffic]]
function = "api"
retry = { mode = "none" }
load = { kind = "constant", rps = 400 }
"#;

#[test]
fn an_environment_never_holds_more_than_its_maximum_concurrency() {
    let m = model_of(SATURATED);
    let mut rows: Vec<BucketRow> = Vec::new();
    let r = Sim::new(&m, &mut rows).run();
    // The bound holds, and it binds: under saturation some environment is full.
    assert_eq!(r.functions[0].managed_peak_slots, 4);
    // Environments x slots never exceed 16, and concurrency never exceeds the slots serving.
    for row in rows.iter().filter(|r| r.function == Some(0)) {
        assert!(row.managed_environments <= 4, "{row:?}");
        assert!(
            row.concurrency_max <= row.managed_environments * 4,
            "{} in flight on {} environments of 4 slots",
            row.concurrency_max,
            row.managed_environments
        );
    }
    let out = simulate(&m, &mut lambdasim::stats::NoRecorder);
    let f = &out.summary.functions[0].1;
    assert_conserved("api", f);
    assert_eq!(
        f.throttles.total, f.throttles.capacity,
        "only capacity throttles"
    );
    // Erlang-B(16, 40) = 0.6094; 240 000 attempts give a standard error near 0.001 (buckets
    // of 100 ms are correlated, so allow 0.01).
    let b = erlang_b(16, 40.0);
    assert!(
        (f.throttle_ratio - b).abs() < 0.01,
        "blocked {:.4}, Erlang-B {b:.4}",
        f.throttle_ratio
    );
}

#[test]
fn traffic_more_than_doubling_within_5_minutes_throttles_and_a_slower_ramp_does_not() {
    // Shipped: both functions go from 1000 to 2500 requests per second at 10 minutes, `step`
    // at once and `ramp` over 10 minutes.
    let m = shipped("managed-instances-doubling.toml", &[]);
    let step = m.functions.iter().position(|f| f.name == "step").unwrap();
    let ramp = m.functions.iter().position(|f| f.name == "ramp").unwrap();
    let mut rows: Vec<BucketRow> = Vec::new();
    let out = simulate(&m, &mut rows);
    let s = &out.summary.functions[step].1;
    let r = &out.summary.functions[ramp].1;
    assert!(
        s.throttles.capacity > 1000,
        "a 2.5x step throttles: {}",
        s.throttles.capacity
    );
    assert_eq!(r.throttles.total, 0, "a 10-minute ramp does not throttle");
    // The step's throttles fall while capacity catches up: within 5 minutes of the step.
    for row in rows.iter().filter(|r| r.function == Some(step as u32)) {
        let t = row.start.as_secs_f64();
        if row.throttles[ThrottleReason::Capacity] > 0 && t >= 300.0 {
            assert!((600.0..900.0).contains(&t), "throttled at {t} s");
        }
    }
    // The rule is about pace: the same 2.5x over 6 minutes is absorbed, over 1 minute it is
    // not.
    for (over, throttled) in [("6m", false), ("1m", true)] {
        let set = format!("traffic.ramp.load.over={over}");
        let m = shipped("managed-instances-doubling.toml", &[&set]);
        let out = simulate(&m, &mut lambdasim::stats::NoRecorder);
        let n = out.summary.functions[ramp].1.throttles.capacity;
        assert_eq!(
            n > 100,
            throttled,
            "ramp over {over}: {n} capacity throttles"
        );
    }
}

#[test]
fn no_cold_start_on_the_request_path() {
    for name in [
        "managed-instances-steady.toml",
        "managed-instances-doubling.toml",
    ] {
        let m = shipped(name, &[]);
        let out = simulate(&m, &mut lambdasim::stats::NoRecorder);
        for (f, s) in &out.summary.functions {
            assert_conserved(f, s);
            assert_eq!(s.cold_starts, 0, "{name} {f}: cold starts");
            assert_eq!(
                s.environments_created, 0,
                "{name} {f}: on-demand environments"
            );
            assert!(s.invocations > 100_000, "{name} {f}: ran");
        }
    }
}

#[test]
fn cost_is_instance_hours_plus_the_management_fee_plus_requests() {
    // Three m7g.xlarge for exactly one hour (the load never needs more than the three
    // environments they start with, and never fewer: three is the floor): 3 x $0.1632 EC2, 15 %
    // of it as management fee, $0.20 per million requests, no duration charge.
    let m = model_of(
        r#"
name = "bill"
duration = "1h"
seed = 9

[[capacity_providers]]
name = "graviton"
instance_type = "m7g.xlarge"

[[functions]]
name = "api"
runtime = "python3.13"
architecture = "arm64"
memory_mb = 2048
duration = "50ms"
capacity_provider = "graviton"

[[traffic]]
function = "api"
load = { kind = "constant", rps = 100 }
"#,
    );
    let out = simulate(&m, &mut lambdasim::stats::NoRecorder);
    let s = &out.summary;
    let f = &s.functions[0].1;
    let ec2 = 3.0 * 1.0 * 0.1632;
    let fee = 0.15 * ec2;
    let requests = f.invocations as f64 * 0.20 / 1e6;
    assert_eq!(s.capacity_providers.len(), 1);
    let p = &s.capacity_providers[0];
    assert_eq!(p.instances_peak, 3);
    assert!(
        (p.instance_hours - 3.0).abs() < 1e-9,
        "{}",
        p.instance_hours
    );
    assert!((p.ec2_usd - ec2).abs() < 1e-9);
    assert!((p.management_fee_usd - fee).abs() < 1e-9);
    assert_eq!(f.cost_usd.compute, 0.0, "no duration charge");
    assert!((f.cost_usd.managed_instances - (ec2 + fee)).abs() < 1e-9);
    assert!((f.cost_usd.total - (ec2 + fee + requests)).abs() < 1e-9);
    // The same traffic on default Lambda (what-if, same seed): 360 000 x 50 ms x 2 GB of
    // arm64 on-demand compute, INIT of its few cold starts aside.
    let w = lambdasim::whatif::whatifs(&m, &out);
    let v = &w[0].1.provisioned;
    assert_eq!(v[0].lever, "managed_instances");
    let od = v
        .iter()
        .find(|v| v.simulated && v.provisioned_concurrency == 0)
        .expect("on-demand variant");
    assert_eq!(od.lever, "provisioned");
    let compute = f.invocations as f64 * 0.05 * 2.0 * 0.0000133334;
    assert!(
        (od.cost_usd - (compute + requests)) / (compute + requests) < 0.01
            && od.cost_usd >= compute + requests - 1e-9,
        "on-demand {} vs {}",
        od.cost_usd,
        compute + requests
    );
}

#[test]
fn steady_traffic_is_cheaper_on_managed_instances() {
    let m = shipped("managed-instances-steady.toml", &[]);
    let out = simulate(&m, &mut lambdasim::stats::NoRecorder);
    let w = lambdasim::whatif::whatifs(&m, &out);
    let v = &w[0].1.provisioned;
    let this = v.iter().find(|v| !v.simulated).unwrap();
    assert_eq!(this.throttles.total, 0);
    for other in v.iter().filter(|v| v.simulated) {
        assert!(
            other.cost_usd > 2.0 * this.cost_usd,
            "default Lambda {} vs Managed Instances {}",
            other.cost_usd,
            this.cost_usd
        );
    }
}

#[test]
fn the_platform_refuses_what_the_scenario_refuses() {
    let base = |extra_fn: &str, extra_cp: &str| {
        format!(
            "name = \"x\"\nduration = \"1m\"\n\n[[capacity_providers]]\nname = \"cp\"\n{extra_cp}\n\n[[functions]]\nname = \"api\"\nduration = \"10ms\"\ncapacity_provider = \"cp\"\n{extra_fn}\n"
        )
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (base("memory_mb = 1024", ""), "functions[0].memory_mb"),
        (
            base("memory_mb = 2048\nprovisioned_concurrency = 5", ""),
            "functions[0].provisioned_concurrency",
        ),
        (
            base("memory_mb = 2048\nmax_concurrency_per_environment = 65", ""),
            "functions[0].max_concurrency_per_environment",
        ),
        (
            base("memory_mb = 2048\nmemory_gib_per_vcpu = 9", ""),
            "functions[0].memory_gib_per_vcpu",
        ),
        (
            base("memory_mb = 2048", "max_vcpus = 1"),
            "capacity_providers[0].max_vcpus",
        ),
        (
            base("memory_mb = 2048", "instance_type = \"z9.huge\""),
            "capacity_providers[0].instance_type",
        ),
        (
            base("memory_mb = 2048", "")
                .replace("capacity_provider = \"cp\"", "capacity_provider = \"nope\""),
            "functions[0].capacity_provider",
        ),
    ];
    for (text, key) in cases {
        let p = write(dir.path(), "bad.toml", &text);
        let e = load_model(&p, &[], None).expect_err("refused");
        let msg = e.to_string();
        assert!(msg.contains(key), "{msg} should name {key}");
        assert!(msg.contains("bad.toml"), "{msg} should name the file");
        assert_eq!(e.exit_code(), 2);
    }
    // A provider with a name alone is valid.
    let p = write(dir.path(), "ok.toml", &base("memory_mb = 2048", ""));
    assert!(load_model(&p, &[], None).is_ok());
}
