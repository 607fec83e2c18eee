//! Simulated time: integer microseconds, and the duration strings of scenario files.
//!
//! Every instant and duration in the model is a [`Micros`]; floating point only appears at the
//! edges (sampling a distribution, printing a rate), so runs are exactly reproducible.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A duration or an instant since the start of the simulation, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micros(pub u64);

impl Micros {
    /// Zero.
    pub const ZERO: Micros = Micros(0);
    /// The largest representable time.
    pub const MAX: Micros = Micros(u64::MAX);
    /// One second.
    pub const SECOND: Micros = Micros(1_000_000);
    /// One minute.
    pub const MINUTE: Micros = Micros(60_000_000);

    /// `s` seconds.
    pub const fn from_secs(s: u64) -> Micros {
        Micros(s * 1_000_000)
    }
    /// `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Micros {
        Micros(ms * 1_000)
    }
    /// Seconds as f64, rounded to the nearest microsecond; negative and NaN become zero.
    pub fn from_secs_f64(s: f64) -> Micros {
        if s.is_nan() || s <= 0.0 {
            Micros(0)
        } else if s >= 1.8e13 {
            Micros(u64::MAX / 2)
        } else {
            Micros((s * 1e6).round() as u64)
        }
    }
    /// In seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// In milliseconds.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e3
    }
    /// Sum, at most [`Micros::MAX`].
    pub fn saturating_add(self, other: Micros) -> Micros {
        Micros(self.0.saturating_add(other.0))
    }
    /// Difference, at least zero.
    pub fn saturating_sub(self, other: Micros) -> Micros {
        Micros(self.0.saturating_sub(other.0))
    }
}

impl std::ops::Add for Micros {
    type Output = Micros;
    fn add(self, o: Micros) -> Micros {
        Micros(self.0 + o.0)
    }
}
impl std::ops::Sub for Micros {
    type Output = Micros;
    fn sub(self, o: Micros) -> Micros {
        Micros(self.0 - o.0)
    }
}
impl std::ops::AddAssign for Micros {
    fn add_assign(&mut self, o: Micros) {
        self.0 += o.0;
    }
}

/// Parses `"250ms"`, `"10s"`, `"5m"`, `"1h"`, `"500us"`, `"1.5s"`, `"2d"` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Micros, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim();
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected a number with a unit, like \"250ms\", \"10s\", \"5m\", \"1h\""))?;
    let scale = match unit {
        "" | "s" | "sec" | "secs" => 1e6,
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "m" | "min" | "mins" => 60e6,
        "h" | "hr" | "hours" => 3600e6,
        "d" | "days" => 86400e6,
        _ => {
            return Err(format!(
                "invalid duration unit {unit:?} in {text:?}: use us, ms, s, m, h or d"
            ))
        }
    };
    micros_from_f64(value * scale, text)
}

fn micros_from_f64(us: f64, text: &str) -> Result<Micros, String> {
    if !us.is_finite() {
        return Err(format!("invalid duration {text:?}: not a finite number"));
    }
    if us < 0.0 {
        return Err(format!("invalid duration {text:?}: must not be negative"));
    }
    // 10^16 us is about 317 years of simulated time: anything larger is a mistake.
    if us > 1e16 {
        return Err(format!(
            "invalid duration {text:?}: too large (limit 100 years)"
        ));
    }
    Ok(Micros(us.round() as u64))
}

impl fmt::Display for Micros {
    /// Shortest exact form: `"1h"`, `"90s"`, `"250ms"`, `"17us"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us == 0 {
            return write!(f, "0s");
        }
        for (unit, scale) in [
            ("h", 3_600_000_000u64),
            ("m", 60_000_000),
            ("s", 1_000_000),
            ("ms", 1_000),
        ] {
            if us.is_multiple_of(scale) {
                return write!(f, "{}{}", us / scale, unit);
            }
        }
        write!(f, "{us}us")
    }
}

impl Serialize for Micros {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Micros;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a duration such as \"250ms\", \"10s\", \"5m\" or a number of seconds"
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Micros, E> {
                parse_duration(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Micros, E> {
                micros_from_f64(v as f64 * 1e6, &v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Micros, E> {
                micros_from_f64(v as f64 * 1e6, &v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Micros, E> {
                micros_from_f64(v * 1e6, &v.to_string()).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("250ms").unwrap(), Micros(250_000));
        assert_eq!(parse_duration("10s").unwrap(), Micros(10_000_000));
        assert_eq!(parse_duration("5m").unwrap(), Micros(300_000_000));
        assert_eq!(parse_duration("1h").unwrap(), Micros(3_600_000_000));
        assert_eq!(parse_duration("500us").unwrap(), Micros(500));
        assert_eq!(parse_duration("1.5s").unwrap(), Micros(1_500_000));
        assert_eq!(parse_duration("2").unwrap(), Micros(2_000_000));
    }

    #[test]
    fn rejects_bad_durations() {
        for bad in ["", "ms", "10 parsecs", "-5s", "nan", "inf", "1e30h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn display_round_trips() {
        for us in [
            0u64,
            17,
            250_000,
            1_500_000,
            90_000_000,
            3_600_000_000,
            7_200_000_001,
        ] {
            let m = Micros(us);
            assert_eq!(parse_duration(&m.to_string()).unwrap(), m);
        }
    }
}
