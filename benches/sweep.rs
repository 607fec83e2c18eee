//! Sweep throughput in grid points per second (criterion "thrpt", one element = one point):
//! a 64-point grid (16 provisioned-concurrency values x 4 memory sizes, one replication each)
//! of a 2-minute spiky Java API, run with 1 and with 2 worker threads (`--jobs`), results and
//! summary files written, no charts.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lambdasim::sweep::{self, SweepOptions};
use std::hint::black_box;

const SCENARIO: &str = r#"
name = "bench-spiky"
duration = "120s"
seed = 3
[account]
concurrency_limit = 1000
[[functions]]
name = "api"
runtime = "java21"
memory_mb = 1024
duration = { dist = "lognormal", median = "60ms", p99 = "250ms" }
reserved_concurrency = 500
[[traffic]]
function = "api"
load = { kind = "spike", base = 50, peak = 400, at = "60s", length = "15s" }
"#;

const SWEEP: &str = r#"
scenario = "scenario.toml"
metrics = ["functions.api.latency_ms.p99", "functions.api.cold_starts", "functions.api.cost_usd.total"]
[[vary]]
key = "functions.api.provisioned_concurrency"
range = { from = 0, to = 60, step = 4 }
[[vary]]
key = "functions.api.memory_mb"
values = [512, 1024, 1536, 2048]
"#;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("scenario.toml"), SCENARIO).expect("write scenario");
    let file = dir.path().join("sweep.toml");
    std::fs::write(&file, SWEEP).expect("write sweep");
    let points = sweep::load(&file).expect("sweep file").len() as u64;
    assert_eq!(points, 64);
    let mut g = c.benchmark_group("sweep-64");
    g.sample_size(10);
    g.throughput(Throughput::Elements(points));
    for jobs in [1, 2] {
        let opts = SweepOptions {
            sweep: file.clone(),
            out: Some(dir.path().join(format!("out-{jobs}"))),
            jobs: Some(jobs),
            charts: false,
            ..Default::default()
        };
        g.bench_function(format!("jobs={jobs}"), |b| {
            b.iter(|| black_box(sweep::run(&opts).expect("sweep")).runs)
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
