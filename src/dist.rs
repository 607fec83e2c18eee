//! Duration distributions: the `{ dist = ... }` tables of a scenario and their samplers.
//!
//! A [`DistSpec`] is what the user wrote (serde); a [`Sampler`] is the ready-to-draw form built
//! once per run, so drawing a duration on the hot path never allocates.

use crate::rng::Rng;
use crate::time::Micros;
use rand::RngExt;
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Normal};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// z-score of the 99th percentile of a standard normal distribution.
const Z99: f64 = 2.326_347_874_040_841;

/// A duration distribution as written in a scenario (`{ dist = ... }`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum DistSpec {
    /// Always the same duration.
    Fixed {
        /// The duration.
        value: Micros,
    },
    /// Exponential.
    Exponential {
        /// Mean, > 0.
        mean: Micros,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// Lowest value.
        min: Micros,
        /// Highest value, >= `min`.
        max: Micros,
    },
    /// Either `{median, p99}` or `{mean, stddev}`.
    Lognormal {
        /// Median (with `p99`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        median: Option<Micros>,
        /// 99th percentile, >= `median`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        p99: Option<Micros>,
        /// Mean (with `stddev`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mean: Option<Micros>,
        /// Standard deviation (with `mean`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stddev: Option<Micros>,
    },
    /// Truncated at zero (negative draws are drawn again).
    Normal {
        /// Mean, > 0.
        mean: Micros,
        /// Standard deviation.
        stddev: Micros,
    },
    /// Gamma.
    Gamma {
        /// Shape parameter k, > 0.
        shape: f64,
        /// Scale, > 0.
        scale: Micros,
    },
    /// One duration per line of the file (same syntax as scenario durations), drawn uniformly.
    Empirical {
        /// File path, relative to the scenario file.
        path: String,
    },
}

/// Schema stand-in for the fields serde reads with [`dist_or_fixed`]: a distribution table or a
/// bare duration (`#[schemars(with = "DistOrDuration")]`; its schema is written in
/// `crate::schema`).
pub struct DistOrDuration;

impl DistSpec {
    /// A distribution that always gives `value`.
    pub fn fixed(value: Micros) -> DistSpec {
        DistSpec::Fixed { value }
    }

    /// Checks parameters; the message names the offending field (relative to the table).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |k: &str, m: &str| Err((k.to_string(), m.to_string()));
        match self {
            DistSpec::Fixed { .. } => Ok(()),
            DistSpec::Exponential { mean } if mean.0 == 0 => err("mean", "must be greater than 0"),
            DistSpec::Exponential { .. } => Ok(()),
            DistSpec::Uniform { min, max } if max < min => err("max", "must be at least min"),
            DistSpec::Uniform { .. } => Ok(()),
            DistSpec::Lognormal {
                median,
                p99,
                mean,
                stddev,
            } => match (median, p99, mean, stddev) {
                (Some(m), Some(p), None, None) => {
                    if m.0 == 0 {
                        err("median", "must be greater than 0")
                    } else if p < m {
                        err("p99", "must be at least median")
                    } else {
                        Ok(())
                    }
                }
                (None, None, Some(m), Some(_)) => {
                    if m.0 == 0 {
                        err("mean", "must be greater than 0")
                    } else {
                        Ok(())
                    }
                }
                _ => err(
                    "dist",
                    "lognormal takes either {median, p99} or {mean, stddev}",
                ),
            },
            DistSpec::Normal { mean, .. } if mean.0 == 0 => err("mean", "must be greater than 0"),
            DistSpec::Normal { .. } => Ok(()),
            DistSpec::Gamma { shape, .. } if !(shape.is_finite() && *shape > 0.0) => {
                err("shape", "must be a finite number greater than 0")
            }
            DistSpec::Gamma { scale, .. } if scale.0 == 0 => err("scale", "must be greater than 0"),
            DistSpec::Gamma { .. } => Ok(()),
            DistSpec::Empirical { path } if path.chars().any(char::is_control) => {
                err("path", "must not contain control characters")
            }
            DistSpec::Empirical { .. } => Ok(()),
        }
    }

    /// The mean of the distribution, where it has a closed form (for `check` and estimates).
    pub fn mean_secs(&self) -> Option<f64> {
        Some(match self {
            DistSpec::Fixed { value } => value.as_secs_f64(),
            DistSpec::Exponential { mean } => mean.as_secs_f64(),
            DistSpec::Uniform { min, max } => (min.as_secs_f64() + max.as_secs_f64()) / 2.0,
            DistSpec::Lognormal { .. } => {
                let (mu, sigma) = self.lognormal_params()?;
                (mu + sigma * sigma / 2.0).exp()
            }
            DistSpec::Normal { mean, .. } => mean.as_secs_f64(),
            DistSpec::Gamma { shape, scale } => shape * scale.as_secs_f64(),
            DistSpec::Empirical { .. } => return None,
        })
    }

    /// (mu, sigma) of the underlying normal, in ln(seconds).
    fn lognormal_params(&self) -> Option<(f64, f64)> {
        if let DistSpec::Lognormal {
            median,
            p99,
            mean,
            stddev,
        } = self
        {
            match (median, p99, mean, stddev) {
                (Some(m), Some(p), _, _) => {
                    let mu = m.as_secs_f64().ln();
                    Some((mu, (p.as_secs_f64().ln() - mu) / Z99))
                }
                (_, _, Some(m), Some(s)) => {
                    let (m, s) = (m.as_secs_f64(), s.as_secs_f64());
                    let sigma2 = (1.0 + (s * s) / (m * m)).ln();
                    Some((m.ln() - sigma2 / 2.0, sigma2.sqrt()))
                }
                _ => None,
            }
        } else {
            None
        }
    }

    /// Builds the sampler. `empirical` gives the loaded samples of an `empirical` table.
    pub fn sampler(&self, empirical: Option<Arc<[u64]>>) -> Sampler {
        match self {
            DistSpec::Fixed { value } => Sampler::Fixed(value.0),
            DistSpec::Exponential { mean } => Sampler::Exp(
                Exp::new(1.0 / mean.as_secs_f64()).expect("validated mean > 0"),
                mean.as_secs_f64(),
            ),
            DistSpec::Uniform { min, max } => Sampler::Uniform(min.0, max.0),
            DistSpec::Lognormal { .. } => {
                let (mu, sigma) = self.lognormal_params().expect("validated lognormal");
                let sigma = sigma.max(0.0);
                Sampler::LogNormal(
                    LogNormal::new(mu, sigma).expect("finite params"),
                    (mu + sigma * sigma / 2.0).exp(),
                )
            }
            DistSpec::Normal { mean, stddev } => Sampler::Normal(
                Normal::new(mean.as_secs_f64(), stddev.as_secs_f64()).expect("finite params"),
            ),
            DistSpec::Gamma { shape, scale } => Sampler::Gamma(
                Gamma::new(*shape, scale.as_secs_f64()).expect("validated gamma"),
                shape * scale.as_secs_f64(),
            ),
            DistSpec::Empirical { .. } => {
                Sampler::Empirical(empirical.unwrap_or_else(|| Arc::from(vec![0u64])))
            }
        }
    }
}

/// Seconds to microseconds, rounded half away from zero: exactly [`Micros::from_secs_f64`],
/// inline and without a call to `round` (which is out of line on x86-64 without SSE4.1).
/// `y - trunc(y)` is exact for every `y` below 2^53, and `y` above is already whole.
#[inline(always)]
fn micros(s: f64) -> Micros {
    if s.is_nan() || s <= 0.0 {
        Micros(0)
    } else if s >= 1.8e13 {
        Micros(u64::MAX / 2)
    } else {
        let y = s * 1e6;
        let t = y as u64;
        Micros(t + (y - t as f64 >= 0.5) as u64)
    }
}

/// A ready-to-draw distribution of durations.
#[derive(Clone, Debug)]
pub enum Sampler {
    /// Always this many µs.
    Fixed(u64),
    /// Exponential, µs, with its mean in seconds.
    Exp(Exp<f64>, f64),
    /// Uniform between the two bounds, µs.
    Uniform(u64, u64),
    /// Log-normal, µs, with its mean in seconds.
    LogNormal(LogNormal<f64>, f64),
    /// Normal truncated at zero, µs.
    Normal(Normal<f64>),
    /// Gamma, µs, with its mean in seconds.
    Gamma(Gamma<f64>, f64),
    /// Drawn uniformly from these µs values.
    Empirical(Arc<[u64]>),
}

impl Sampler {
    /// Mean of the distribution in seconds (the normal's before truncation at zero).
    pub fn mean_secs(&self) -> f64 {
        match self {
            Sampler::Fixed(v) => *v as f64 / 1e6,
            Sampler::Exp(_, m) | Sampler::LogNormal(_, m) | Sampler::Gamma(_, m) => *m,
            Sampler::Uniform(lo, hi) => (*lo as f64 + *hi as f64) / 2e6,
            Sampler::Normal(d) => d.mean(),
            Sampler::Empirical(v) => {
                v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64 / 1e6
            }
        }
    }

    /// Draws one duration.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> Micros {
        match self {
            Sampler::Fixed(v) => Micros(*v),
            Sampler::Exp(d, _) => micros(d.sample(rng)),
            Sampler::Uniform(lo, hi) => {
                if lo == hi {
                    Micros(*lo)
                } else {
                    Micros(rng.random_range(*lo..=*hi))
                }
            }
            Sampler::LogNormal(d, _) => micros(d.sample(rng)),
            Sampler::Normal(d) => {
                // Truncated at zero: redraw negatives (bounded, then 0).
                for _ in 0..64 {
                    let x = d.sample(rng);
                    if x >= 0.0 {
                        return micros(x);
                    }
                }
                Micros::ZERO
            }
            Sampler::Gamma(d, _) => micros(d.sample(rng)),
            Sampler::Empirical(v) => Micros(v[rng.random_range(0..v.len())]),
        }
    }
}

/// Reads an empirical distribution file: one duration per line (`#` comments and blank lines skipped).
pub fn load_empirical(text: &str) -> Result<Vec<u64>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.split('#').next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        let v = crate::time::parse_duration(l).map_err(|e| (i + 1, e))?;
        out.push(v.0);
    }
    if out.is_empty() {
        return Err((0, "the file holds no durations".into()));
    }
    Ok(out)
}

/// Deserializes a distribution table, or a bare duration (`"120ms"`, `0.5`) as a fixed one.
pub fn dist_or_fixed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DistSpec, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = DistSpec;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a duration (\"120ms\") or a distribution table ({{ dist = \"lognormal\", median = \"120ms\", p99 = \"900ms\" }})")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DistSpec, E> {
            Micros::deserialize(serde::de::value::StrDeserializer::<E>::new(v)).map(DistSpec::fixed)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DistSpec, E> {
            Micros::deserialize(serde::de::value::I64Deserializer::<E>::new(v)).map(DistSpec::fixed)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DistSpec, E> {
            Micros::deserialize(serde::de::value::U64Deserializer::<E>::new(v)).map(DistSpec::fixed)
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<DistSpec, E> {
            Micros::deserialize(serde::de::value::F64Deserializer::<E>::new(v)).map(DistSpec::fixed)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<DistSpec, A::Error> {
            DistSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(V)
}

/// [`dist_or_fixed`] for optional fields.
pub fn opt_dist_or_fixed<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<DistSpec>, D::Error> {
    dist_or_fixed(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn mean_of(spec: &DistSpec, n: usize) -> f64 {
        let s = spec.sampler(None);
        let mut rng = stream(1, "test", 0);
        (0..n)
            .map(|_| s.sample(&mut rng).as_secs_f64())
            .sum::<f64>()
            / n as f64
    }

    #[test]
    fn lognormal_median_p99_matches_its_definition() {
        // P(X <= median) = 0.5 and P(X <= p99) = 0.99, within 0.5 percentage points on 200k draws.
        let spec = DistSpec::Lognormal {
            median: Some(Micros::from_millis(120)),
            p99: Some(Micros::from_millis(900)),
            mean: None,
            stddev: None,
        };
        let s = spec.sampler(None);
        let mut rng = stream(7, "test", 0);
        let n = 200_000;
        let (mut below_med, mut below_p99) = (0, 0);
        for _ in 0..n {
            let x = s.sample(&mut rng);
            below_med += (x <= Micros::from_millis(120)) as usize;
            below_p99 += (x <= Micros::from_millis(900)) as usize;
        }
        assert!((below_med as f64 / n as f64 - 0.5).abs() < 0.005);
        assert!((below_p99 as f64 / n as f64 - 0.99).abs() < 0.005);
    }

    #[test]
    fn inline_rounding_equals_from_secs_f64() {
        // Halfway cases, tiny, huge and random values against the reference conversion.
        let mut rng = stream(5, "round", 0);
        let mut xs = vec![
            0.0,
            -1.0,
            f64::NAN,
            2.5e-6,
            0.5e-6,
            1.5e-6,
            4.9999999e-7,
            1e13,
            2e13,
        ];
        for _ in 0..200_000 {
            let e: f64 = rng.random_range(-9.0..7.0);
            xs.push(10f64.powf(e) * rng.random::<f64>());
        }
        for k in 0..100_000u64 {
            xs.push((k as f64 + 0.5) / 1e6);
        }
        for x in xs {
            assert_eq!(micros(x), Micros::from_secs_f64(x), "{x:e}");
        }
    }

    #[test]
    fn sample_means_match_closed_forms() {
        // Sample mean within 1 % of the closed-form mean on 200k draws.
        let specs = [
            DistSpec::Exponential {
                mean: Micros::from_millis(100),
            },
            DistSpec::Uniform {
                min: Micros::from_millis(200),
                max: Micros::from_millis(400),
            },
            DistSpec::Gamma {
                shape: 2.0,
                scale: Micros::from_millis(50),
            },
            DistSpec::Lognormal {
                median: None,
                p99: None,
                mean: Some(Micros::from_millis(100)),
                stddev: Some(Micros::from_millis(50)),
            },
        ];
        for spec in specs {
            let want = spec.mean_secs().unwrap();
            assert!((spec.sampler(None).mean_secs() / want - 1.0).abs() < 1e-12);
            let got = mean_of(&spec, 200_000);
            assert!((got / want - 1.0).abs() < 0.01, "{spec:?}: {got} vs {want}");
        }
    }
}
