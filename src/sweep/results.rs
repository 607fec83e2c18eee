//! The rows of a sweep and the files made of them: `results.csv`, `results_summary.csv` (mean,
//! standard deviation, 95 % Student-t interval) and `manifest.json`.

use super::charts::write_charts;
use super::shards::{manifest_json, MANIFEST};
use super::*;

/// One row of `results.csv`: a point and replication.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Index of the point in the grid.
    pub point: usize,
    /// Replication number of the point.
    pub replication: u64,
    /// Seed of the run.
    pub seed: u64,
    /// The varied values as written in the CSV.
    pub values: Vec<String>,
    /// One per metric; `None` when the point failed or the metric does not exist there.
    pub metrics: Vec<Option<f64>>,
    /// Why the point could not run (empty when it ran).
    pub error: String,
}

/// The rows of a sweep (or of a shard) with the header information of the files.
#[derive(Clone, Debug, PartialEq)]
pub struct Results {
    /// Names of the varied keys.
    pub vary: Vec<String>,
    /// Names of the metrics.
    pub metrics: Vec<String>,
    /// Points in the whole grid.
    pub points_total: usize,
    /// Runs per point.
    pub replications: u64,
    /// The shard the rows belong to (1/1 when not sharded).
    pub shard: Shard,
    /// [`content_hash`](super::shards::content_hash) of the sweep and scenario files the rows were computed from.
    pub content_hash: String,
    /// The rows, by point and replication.
    pub rows: Vec<Row>,
}

pub(super) fn results_csv(res: &Results) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_string(), "replication".into(), "seed".into()];
    header.extend(res.vary.iter().cloned());
    header.extend(res.metrics.iter().cloned());
    header.push("error".into());
    let err = |e: csv::Error| Error::runtime(format!("cannot write results.csv: {e}"));
    w.write_record(&header).map_err(err)?;
    for r in &res.rows {
        let mut rec = vec![
            r.point.to_string(),
            r.replication.to_string(),
            if r.error.is_empty() {
                r.seed.to_string()
            } else {
                String::new()
            },
        ];
        rec.extend(r.values.iter().cloned());
        rec.extend(
            r.metrics
                .iter()
                .map(|m| m.map(format_f64).unwrap_or_default()),
        );
        rec.push(r.error.clone());
        w.write_record(&rec).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::runtime(format!("cannot write results.csv: {e}")))
}

/// Mean, sample standard deviation and 95% confidence interval (Student t) of some values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    /// Number of values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// `None` below two values.
    pub stddev: Option<f64>,
    /// 95% confidence interval of the mean; `None` below two values.
    pub ci95: Option<(f64, f64)>,
}

/// Two-sided 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706204736,
        4.302652730,
        3.182446305,
        2.776445105,
        2.570581836,
        2.446911851,
        2.364624252,
        2.306004135,
        2.262157163,
        2.228138852,
        2.200985160,
        2.178812830,
        2.160368656,
        2.144786688,
        2.131449546,
        2.119905299,
        2.109815578,
        2.100922040,
        2.093024054,
        2.085963447,
        2.079613845,
        2.073873068,
        2.068657610,
        2.063898562,
        2.059538553,
        2.055529439,
        2.051830516,
        2.048407142,
        2.045229642,
        2.042272456,
    ];
    if df == 0 {
        return f64::NAN;
    }
    if df <= 30 {
        return T[df - 1];
    }
    // Cornish-Fisher expansion around the normal quantile (error < 1e-6 for df > 30).
    let z = 1.959963984540054_f64;
    let d = df as f64;
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * d)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * d * d)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * d.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * d.powi(4))
}

/// Quantile `p` (in (0, 1)) of Student's t with `df` degrees of freedom: the inverse of the
/// distribution function `1 - I_x(df/2, 1/2) / 2` (x = df / (df + t^2), `I` the regularized
/// incomplete beta function), found by bisection to about 1e-12. The one-sided bounds of
/// `[find]` use it at the chosen confidence.
pub fn t_quantile(p: f64, df: usize) -> f64 {
    if df == 0 || !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    let d = df as f64;
    let cdf = |t: f64| 1.0 - 0.5 * inc_beta(d / (d + t * t), d / 2.0, 0.5);
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while cdf(hi) < p && hi < 1e300 {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |s, (i, c)| s + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Regularized incomplete beta function I_x(a, b), by its continued fraction (modified Lentz).
fn inc_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    // The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - inc_beta(1.0 - x, b, a);
    }
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut f = d;
    for m in 1..500 {
        let m = m as f64;
        for num in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = 1.0 + num / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            f *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    front * f / a
}

/// Statistics of `values` (in order; the order fixes the last bits of the sums).
pub fn stat(values: &[f64]) -> Option<Stat> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Some(Stat {
            n,
            mean,
            stddev: None,
            ci95: None,
        });
    }
    let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    let half = t975(n - 1) * sd / (n as f64).sqrt();
    Some(Stat {
        n,
        mean,
        stddev: Some(sd),
        ci95: Some((mean - half, mean + half)),
    })
}

/// Per point: its first row (for the values and error) and, per metric, the statistics.
pub(super) fn point_stats(res: &Results) -> Vec<(&Row, Vec<Option<Stat>>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < res.rows.len() {
        let p = res.rows[i].point;
        let j = i + res.rows[i..].iter().take_while(|r| r.point == p).count();
        let rows = &res.rows[i..j];
        let stats = (0..res.metrics.len())
            .map(|m| {
                let v: Vec<f64> = rows
                    .iter()
                    .filter_map(|r| r.metrics[m])
                    .filter(|x| x.is_finite())
                    .collect();
                stat(&v)
            })
            .collect();
        out.push((&rows[0], stats));
        i = j;
    }
    out
}

pub(super) fn summary_csv(res: &Results) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_string()];
    header.extend(res.vary.iter().cloned());
    for h in [
        "metric",
        "n",
        "mean",
        "stddev",
        "ci95_lower",
        "ci95_upper",
        "error",
    ] {
        header.push(h.into());
    }
    let err = |e: csv::Error| Error::runtime(format!("cannot write results_summary.csv: {e}"));
    w.write_record(&header).map_err(err)?;
    let f = |x: Option<f64>| x.map(format_f64).unwrap_or_default();
    for (row, stats) in point_stats(res) {
        for (m, st) in res.metrics.iter().zip(stats) {
            let mut rec = vec![row.point.to_string()];
            rec.extend(row.values.iter().cloned());
            rec.push(m.clone());
            rec.push(st.map_or(0, |s| s.n).to_string());
            rec.push(f(st.map(|s| s.mean)));
            rec.push(f(st.and_then(|s| s.stddev)));
            rec.push(f(st.and_then(|s| s.ci95).map(|c| c.0)));
            rec.push(f(st.and_then(|s| s.ci95).map(|c| c.1)));
            rec.push(row.error.clone());
            w.write_record(&rec).map_err(err)?;
        }
    }
    w.into_inner()
        .map_err(|e| Error::runtime(format!("cannot write results_summary.csv: {e}")))
}

/// `results_summary.csv`, the charts and report.html.
pub fn write_outputs(res: &Results, dir: &Path, charts: bool) -> Result<(), Error> {
    write_outputs_with(res, dir, charts, None)
}

/// As [`write_outputs`], with the answer of a `[find]` on report.html.
pub(super) fn write_outputs_with(
    res: &Results,
    dir: &Path,
    charts: bool,
    find: Option<&super::find::FindOutcome>,
) -> Result<(), Error> {
    write_atomic(&dir.join("results.csv"), &results_csv(res)?)?;
    write_atomic(&dir.join(MANIFEST), manifest_json(res).as_bytes())?;
    if res.shard.n == 1 {
        write_atomic(&dir.join("results_summary.csv"), &summary_csv(res)?)?;
        let drawn = if charts && !res.vary.is_empty() {
            write_charts(res, dir)?
        } else {
            Vec::new()
        };
        let page = super::report::page(res, &drawn, find);
        write_atomic(&dir.join("report.html"), page.as_bytes())?;
    }
    Ok(())
}
