//! Trace files for `load = { kind = "trace", path = ... }`.
//!
//! Three formats: counts (`time_s,count` rows, or one count per line every `interval`),
//! timestamps (one request time per line, seconds or a duration string), and the Azure
//! Functions public trace (`HashOwner,HashApp,HashFunction,Trigger,1,2,...,1440`: one row per
//! function, one column of invocation counts per minute).

use crate::load::{TraceData, TraceFormat, MAX_RPS};
use crate::time::{parse_duration, Micros};

/// Reads a whole input file (scenario, trace, empirical sample, sweep file) as text, refusing
/// anything that is not a regular file: reading a FIFO or a device would block (or never end)
/// instead of failing.
pub fn read_text_file(path: &std::path::Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "a FIFO, socket or device"
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file ({what})"),
        ));
    }
    std::fs::read_to_string(path)
}

/// Most requests a trace may expand to (a larger one is almost surely a unit mistake).
pub const MAX_TRACE_REQUESTS: f64 = 5e9;

/// Parses a trace file's text in `format` into counts or timestamps; `Err` names the line.
pub fn parse(
    text: &str,
    format: TraceFormat,
    interval: Option<Micros>,
    select: Option<&str>,
    scale: f64,
) -> Result<TraceData, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let Some((first_no, first)) = lines.next() else {
        return Err("the trace file is empty".into());
    };
    let header_like = first.chars().any(|c| c.is_ascii_alphabetic())
        && first
            .split(',')
            .any(|c| c.trim().parse::<f64>().is_err() && parse_duration(c.trim()).is_err());
    let fmt = match format {
        TraceFormat::Auto => {
            let lower = first.to_ascii_lowercase();
            if lower.contains("hashfunction") {
                TraceFormat::Azure
            } else if header_like {
                if lower.contains("count")
                    || lower.contains("requests")
                    || lower.contains("invocations")
                    || lower.contains("rps")
                {
                    TraceFormat::Counts
                } else {
                    TraceFormat::Timestamps
                }
            } else if first.split(',').count() >= 2 {
                TraceFormat::Counts
            } else {
                TraceFormat::Timestamps
            }
        }
        f => f,
    };
    let rest: Vec<(usize, &str)> = if header_like {
        lines.collect()
    } else {
        std::iter::once((first_no, first)).chain(lines).collect()
    };
    let data = match fmt {
        TraceFormat::Azure => parse_azure(
            first,
            &rest,
            select,
            interval.unwrap_or(Micros::MINUTE),
            scale,
        )?,
        TraceFormat::Counts | TraceFormat::Auto => {
            parse_counts(&rest, interval.unwrap_or(Micros::SECOND), scale)?
        }
        TraceFormat::Timestamps => parse_timestamps(&rest)?,
    };
    let total = match &data {
        TraceData::Counts(r) => r.iter().map(|x| x.2 as f64).sum::<f64>(),
        TraceData::Timestamps(t) => t.len() as f64,
    };
    if total > MAX_TRACE_REQUESTS {
        return Err(format!(
            "the trace expands to {total:.3e} requests, over the limit of {MAX_TRACE_REQUESTS:e}"
        ));
    }
    Ok(data)
}

fn count(v: &str, line: usize, scale: f64) -> Result<u64, String> {
    let x: f64 = v
        .trim()
        .parse()
        .map_err(|_| format!("line {line}: {v:?} is not a count"))?;
    if !x.is_finite() || !(0.0..=MAX_TRACE_REQUESTS).contains(&x) {
        return Err(format!(
            "line {line}: count {v:?} must be a number in 0..={MAX_TRACE_REQUESTS:e}"
        ));
    }
    Ok((x * scale).round() as u64)
}

fn parse_counts(rows: &[(usize, &str)], interval: Micros, scale: f64) -> Result<TraceData, String> {
    let mut out: Vec<(f64, f64, u64)> = Vec::with_capacity(rows.len());
    let step = interval.as_secs_f64();
    for (k, (line, l)) in rows.iter().enumerate() {
        let cols: Vec<&str> = l.split(',').collect();
        let (start, n) = match cols.as_slice() {
            [n] => (k as f64 * step, count(n, *line, scale)?),
            [t, n, ..] => {
                let t = parse_duration(t.trim()).map_err(|e| format!("line {line}: {e}"))?;
                (t.as_secs_f64(), count(n, *line, scale)?)
            }
            [] => unreachable!("split yields at least one field"),
        };
        if let Some(prev) = out.last() {
            if start <= prev.0 {
                return Err(format!("line {line}: times must increase"));
            }
        }
        out.push((start, step, n));
    }
    // A row lasts until the next one starts (or `interval` for the last one).
    for i in 0..out.len().saturating_sub(1) {
        out[i].1 = out[i + 1].0 - out[i].0;
    }
    for (row, (line, _)) in out.iter().zip(rows) {
        check_rate(row, &format!("line {line}"))?;
    }
    Ok(TraceData::Counts(out))
}

fn parse_timestamps(rows: &[(usize, &str)]) -> Result<TraceData, String> {
    let mut out = Vec::with_capacity(rows.len());
    for (line, l) in rows {
        let mut cols = l.split(',');
        let v = cols.next().unwrap_or("").trim();
        if cols.next().is_some() {
            return Err(format!(
                "line {line}: {l:?} has more than one column; the timestamps format takes one request time per line"
            ));
        }
        let t = parse_duration(v).map_err(|e| format!("line {line}: {e}"))?;
        out.push(t.0);
    }
    out.sort_unstable();
    check_timestamp_rate(&out)?;
    Ok(TraceData::Timestamps(out.into()))
}

fn parse_azure(
    header: &str,
    rows: &[(usize, &str)],
    select: Option<&str>,
    interval: Micros,
    scale: f64,
) -> Result<TraceData, String> {
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let fcol = cols
        .iter()
        .position(|c| c.eq_ignore_ascii_case("HashFunction"))
        .ok_or("no HashFunction column")?;
    let first_minute = cols
        .iter()
        .position(|c| *c == "1")
        .ok_or("no minute columns (1, 2, ...) in the header")?;
    let row = rows
        .iter()
        .find(|(_, l)| select.is_none_or(|s| l.split(',').nth(fcol).map(str::trim) == Some(s)))
        .ok_or_else(|| format!("no row with HashFunction = {:?}", select.unwrap_or("")))?;
    let step = interval.as_secs_f64();
    let fields: Vec<&str> = row.1.split(',').collect();
    let mut out = Vec::new();
    for (k, v) in fields.iter().enumerate().skip(first_minute) {
        out.push((
            (k - first_minute) as f64 * step,
            step,
            count(v, row.0, scale)?,
        ));
    }
    for (k, r) in out.iter().enumerate() {
        check_rate(r, &format!("line {}, minute column {}", row.0, k + 1))?;
    }
    Ok(TraceData::Counts(out))
}

/// A counts row spreads its requests evenly over its length: that rate is bounded like any
/// load's ([`MAX_RPS`]), so a trace cannot ask for more work per second than `rps` can.
fn check_rate(&(_, len_s, n): &(f64, f64, u64), at: &str) -> Result<(), String> {
    let rate = n as f64 / len_s;
    if rate > MAX_RPS {
        return Err(format!(
            "{at}: {n} requests in {len_s} s is {rate:.3e} requests per second, over the limit of {MAX_RPS:e} requests per second"
        ));
    }
    Ok(())
}

/// Timestamps: at most [`MAX_RPS`] requests in any one-second window.
fn check_timestamp_rate(times: &[u64]) -> Result<(), String> {
    let limit = MAX_RPS as usize;
    if let Some(i) = (limit..times.len()).find(|&i| times[i] - times[i - limit] < 1_000_000) {
        let t = Micros(times[i - limit]);
        return Err(format!(
            "more than {MAX_RPS:e} requests in the second from {} s, over the limit of {MAX_RPS:e} requests per second",
            t.as_secs_f64()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_format() {
        let TraceData::Counts(c) = parse(
            "time_s,count\n0,5\n1,7\n",
            TraceFormat::Auto,
            None,
            None,
            1.0,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(c, vec![(0.0, 1.0, 5), (1.0, 1.0, 7)]);
        let TraceData::Timestamps(t) =
            parse("0.5\n0.25\n2\n", TraceFormat::Auto, None, None, 1.0).unwrap()
        else {
            panic!()
        };
        assert_eq!(&*t, &[250_000, 500_000, 2_000_000]);
        let az = "HashOwner,HashApp,HashFunction,Trigger,1,2,3\na,b,f1,http,1,2,3\na,b,f2,timer,10,0,4\n";
        let TraceData::Counts(c) = parse(az, TraceFormat::Auto, None, Some("f2"), 2.0).unwrap()
        else {
            panic!()
        };
        assert_eq!(c, vec![(0.0, 60.0, 20), (60.0, 60.0, 0), (120.0, 60.0, 8)]);
    }

    #[test]
    fn bad_lines_are_named() {
        let e = parse(
            "time_s,count\n0,5\n1,x\n",
            TraceFormat::Auto,
            None,
            None,
            1.0,
        )
        .unwrap_err();
        assert!(e.contains("line 3"), "{e}");
        assert!(parse("", TraceFormat::Auto, None, None, 1.0).is_err());
        assert!(parse("0,1e12\n", TraceFormat::Counts, None, None, 1.0).is_err());
    }

    #[test]
    fn traces_are_bounded_by_the_requests_per_second_limit() {
        let e = parse("time_s,count\n0,5e9\n", TraceFormat::Auto, None, None, 1.0).unwrap_err();
        assert!(
            e.starts_with("line 2:") && e.contains("limit of 1e7"),
            "{e}"
        );
        // The limit itself is accepted; one more over 1 s is not.
        assert!(parse("0,10000000\n", TraceFormat::Counts, None, None, 1.0).is_ok());
        assert!(parse("0,10000001\n", TraceFormat::Counts, None, None, 1.0).is_err());
        // A short row: 20 requests in 1 µs (0 and 0.000001 s) is 2e7 per second.
        let e = parse("0,20\n0.000001,0\n", TraceFormat::Counts, None, None, 1.0).unwrap_err();
        assert!(e.starts_with("line 1:"), "{e}");
        // `scale` counts: 6e6 per second x 2.
        assert!(parse("0,6000000\n", TraceFormat::Counts, None, None, 2.0).is_err());
        // Azure: per-minute counts, 6e8 in a minute is exactly 1e7 per second.
        let az = "HashOwner,HashApp,HashFunction,Trigger,1,2\na,b,f,http,600000000,600000060\n";
        let e = parse(az, TraceFormat::Auto, None, None, 1.0).unwrap_err();
        assert!(e.contains("minute column 2"), "{e}");
        // Timestamps: a window of the limit + 1 requests within one second.
        let n = MAX_RPS as usize;
        let ok = check_timestamp_rate(&(0..n as u64).map(|i| i / 10).collect::<Vec<_>>());
        assert!(ok.is_ok());
        let mut t: Vec<u64> = (0..=n as u64).map(|i| 5_000_000 + i / 11).collect();
        let e = check_timestamp_rate(&t).unwrap_err();
        assert!(e.contains("from 5 s"), "{e}");
        t[n] = 6_000_000;
        assert!(check_timestamp_rate(&t).is_ok(), "spread over exactly 1 s");
    }

    #[test]
    fn timestamps_refuse_extra_columns_naming_the_line() {
        let e = parse("0.5\n1.5,GET\n", TraceFormat::Timestamps, None, None, 1.0).unwrap_err();
        assert!(e.starts_with("line 2:") && e.contains("one column"), "{e}");
        let e = parse("timestamp\n1\n2,x\n", TraceFormat::Auto, None, None, 1.0).unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
    }
}
