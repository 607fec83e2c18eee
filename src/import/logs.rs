//! Lambda `REPORT` log lines: plain text from `aws logs` and CloudWatch Logs Insights CSV.
//!
//! A REPORT line (Lambda's platform log, https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html)
//! reads `REPORT RequestId: <id>\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size:
//! 512 MB\tMax Memory Used: 81 MB\tInit Duration: 412.08 ms` (Init Duration on cold starts
//! only). The line has no time of its own: the log event's timestamp (epoch milliseconds,
//! https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilteredLogEvent.html)
//! is the time it was written, at the end of the invocation. Accepted plain-text forms:
//! `aws logs filter-log-events --query 'events[*].[timestamp,message]' --output text`
//! (`<epoch ms>\tREPORT ...`, https://docs.aws.amazon.com/cli/latest/reference/logs/filter-log-events.html)
//! and `aws logs tail` (`<ISO 8601> <stream> REPORT ...`); other lines (START, END, the
//! function's own output) are skipped.
//!
//! Logs Insights CSV exports (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html)
//! have a header of the queried fields: `@timestamp` (`2026-11-20 09:00:00.123`, UTC) with
//! either `@message` (the REPORT line) or Lambda's discovered fields `@duration`,
//! `@initDuration` (ms), `@memorySize`, `@maxMemoryUsed` (bytes).
//!
//! Both are read line by line; memory stays bounded whatever the file's size: durations go to a
//! fixed-memory histogram and a fixed-size uniform reservoir sample, arrivals to per-second counts.

use super::utc;
use crate::error::Error;
use crate::rng::{stream, Rng};
use crate::stats::histogram::Histogram;
use rand::RngExt;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

/// Most durations kept for the empirical distribution file (a uniform sample of all of them).
pub const RESERVOIR: usize = 20_000;
/// Longest line read (a longer one is not a log line).
const MAX_LINE: usize = 1 << 20;

/// A fixed-size uniform sample of a stream (Vitter's algorithm R), seeded.
#[derive(Debug)]
pub struct Reservoir {
    /// The sample kept.
    pub items: Vec<u64>,
    /// Values seen so far.
    pub seen: u64,
    rng: Rng,
}

impl Reservoir {
    /// An empty reservoir, seeded from `purpose`.
    pub fn new(purpose: u64) -> Reservoir {
        Reservoir {
            items: Vec::new(),
            seen: 0,
            rng: stream(1, "import-reservoir", purpose),
        }
    }
    /// Offers one value to the sample.
    pub fn push(&mut self, v: u64) {
        self.seen += 1;
        if self.items.len() < RESERVOIR {
            self.items.push(v);
        } else {
            let j = self.rng.random_range(0..self.seen);
            if (j as usize) < RESERVOIR {
                self.items[j as usize] = v;
            }
        }
    }
}

/// What REPORT lines say about a function.
#[derive(Debug)]
pub struct LogStats {
    /// Handler durations, µs.
    pub durations: Reservoir,
    /// Histogram of billed durations, µs.
    pub duration_hist: Histogram,
    /// INIT durations of cold starts, µs.
    pub init: Reservoir,
    /// Configured memory, MB (from the REPORT lines).
    pub memory_mb: Option<u32>,
    /// Largest memory used, MB.
    pub max_memory_used_mb: f64,
    /// Invocation start (timestamp minus duration and INIT) per Unix second.
    pub starts_per_s: BTreeMap<i64, u64>,
    /// First REPORT line's time, Unix ms.
    pub first_ms: i64,
    /// Last REPORT line's time, Unix ms.
    pub last_ms: i64,
    /// Lines that were not REPORT lines.
    pub skipped: u64,
}

impl LogStats {
    fn new() -> LogStats {
        LogStats {
            durations: Reservoir::new(1),
            duration_hist: Histogram::new(),
            init: Reservoir::new(2),
            memory_mb: None,
            max_memory_used_mb: 0.0,
            starts_per_s: BTreeMap::new(),
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            skipped: 0,
        }
    }
    /// Number of REPORT lines read.
    pub fn count(&self) -> u64 {
        self.durations.seen
    }
    fn add(&mut self, ts_ms: i64, r: &Report) {
        let d = (r.duration_ms * 1000.0).round() as u64;
        self.durations.push(d);
        self.duration_hist.record(d);
        let init_ms = r.init_ms.unwrap_or(0.0);
        if let Some(i) = r.init_ms {
            self.init.push((i * 1000.0).round() as u64);
        }
        if let Some(m) = r.memory_mb {
            self.memory_mb = Some(m);
        }
        self.max_memory_used_mb = self.max_memory_used_mb.max(r.max_memory_used_mb);
        let start = ts_ms - (r.duration_ms + init_ms).round() as i64;
        *self.starts_per_s.entry(start.div_euclid(1000)).or_insert(0) += 1;
        self.first_ms = self.first_ms.min(start);
        self.last_ms = self.last_ms.max(start);
    }
}

/// The fields of one REPORT line.
#[derive(Debug, PartialEq)]
pub struct Report {
    /// Duration, ms.
    pub duration_ms: f64,
    /// Init duration, ms (cold starts only).
    pub init_ms: Option<f64>,
    /// Memory size, MB.
    pub memory_mb: Option<u32>,
    /// Max memory used, MB.
    pub max_memory_used_mb: f64,
}

/// The number after `key` (e.g. `Duration:`), skipping matches that end a longer key
/// (`Billed Duration:` when looking for `Duration:`).
fn field(text: &str, key: &str, not_after: &[&str]) -> Option<f64> {
    for (i, _) in text.match_indices(key) {
        if not_after.iter().any(|p| text[..i].ends_with(p)) {
            continue;
        }
        let rest = text[i + key.len()..].trim_start();
        let n: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let unit = rest[n.len()..].trim_start();
        // A number without its unit is a cut line.
        if !(unit.starts_with("ms") || unit.starts_with("MB")) {
            return None;
        }
        return n.parse().ok().filter(|v: &f64| v.is_finite() && *v < 1e9);
    }
    None
}

/// Parses the REPORT part of a line; `Err` names what is missing.
pub fn parse_report(text: &str) -> Result<Report, String> {
    let duration_ms = field(text, "Duration:", &["Billed ", "Init "])
        .ok_or("REPORT line without a readable `Duration: N ms` (truncated?)")?;
    field(text, "Billed Duration:", &[])
        .ok_or("REPORT line without a readable `Billed Duration: N ms` (truncated?)")?;
    let memory = field(text, "Memory Size:", &[])
        .ok_or("REPORT line without a readable `Memory Size: N MB` (truncated?)")?;
    let used = field(text, "Max Memory Used:", &[])
        .ok_or("REPORT line without a readable `Max Memory Used: N MB` (truncated?)")?;
    Ok(Report {
        duration_ms,
        init_ms: field(text, "Init Duration:", &[]),
        memory_mb: Some(memory.round() as u32),
        max_memory_used_mb: used,
    })
}

/// Reads lines into `buf`, calling `f(line_number, line)`; errors name the file and line.
fn each_line(
    file: &Path,
    mut reader: impl BufRead,
    mut f: impl FnMut(usize, &str) -> Result<(), String>,
) -> Result<(), Error> {
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        let read = std::io::Read::take(&mut reader, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::input_at(file, Some((n + 1, 1)), format!("cannot read: {e}")))?;
        if read == 0 {
            return Ok(());
        }
        n += 1;
        if buf.len() > MAX_LINE {
            return Err(Error::input_at(
                file,
                Some((n, 1)),
                format!("line longer than {MAX_LINE} bytes: not a log export"),
            ));
        }
        let line = std::str::from_utf8(&buf)
            .map_err(|_| Error::input_at(file, Some((n, 1)), "not UTF-8 text"))?;
        f(n, line.trim_end_matches(['\n', '\r']))
            .map_err(|m| Error::input_at(file, Some((n, 1)), m))?;
    }
}

/// Reads plain-text log lines.
pub fn read_text(file: &Path, reader: impl BufRead) -> Result<LogStats, Error> {
    let mut st = LogStats::new();
    each_line(file, reader, |_, line| {
        let Some(at) = line.find("REPORT RequestId:") else {
            st.skipped += 1;
            return Ok(());
        };
        let r = parse_report(&line[at..])?;
        let ts = line[..at]
            .split_whitespace()
            .find_map(|w| utc::parse_epoch_ms(w).or_else(|| utc::parse_iso(w)))
            .ok_or(
                "REPORT line without a timestamp before it: export with \
                 --query 'events[*].[timestamp,message]' --output text",
            )?;
        st.add(ts, &r);
        Ok(())
    })?;
    finish(file, st)
}

/// Reads a Logs Insights CSV export.
pub fn read_insights_csv(file: &Path, reader: impl BufRead) -> Result<LogStats, Error> {
    let mut st = LogStats::new();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| Error::input_at(file, Some((1, 1)), format!("bad CSV header: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let ts_col = col("@timestamp").ok_or_else(|| {
        Error::input_at(
            file,
            Some((1, 1)),
            "Logs Insights CSV without a @timestamp column",
        )
    })?;
    let (msg, dur) = (col("@message"), col("@duration"));
    if msg.is_none() && dur.is_none() {
        return Err(Error::input_at(
            file,
            Some((1, 1)),
            "Logs Insights CSV needs a @message column (REPORT lines) or @duration",
        ));
    }
    let (init_col, mem_col, used_col) = (
        col("@initDuration"),
        col("@memorySize"),
        col("@maxMemoryUsed"),
    );
    let mut rec = csv::StringRecord::new();
    loop {
        let more = rdr.read_record(&mut rec).map_err(|e| {
            let line = e.position().map(|p| p.line() as usize);
            Error::input_at(file, line.map(|l| (l, 1)), format!("bad CSV row: {e}"))
        })?;
        if !more {
            break;
        }
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        let at = |m: String| Error::input_at(file, Some((line, 1)), m);
        let ts_text = rec.get(ts_col).unwrap_or("");
        let ts = utc::parse_iso(ts_text)
            .or_else(|| utc::parse_epoch_ms(ts_text))
            .ok_or_else(|| at(format!("@timestamp {ts_text:?} is not a timestamp")))?;
        let num = |c: Option<usize>, name: &str| -> Result<Option<f64>, Error> {
            match c.and_then(|c| rec.get(c)).map(str::trim) {
                None | Some("") => Ok(None),
                Some(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0 && *x < 1e12)
                    .map(Some)
                    .ok_or_else(|| at(format!("{name} {v:?} is not a number"))),
            }
        };
        let r = if let Some(m) = msg.and_then(|c| rec.get(c)) {
            let Some(i) = m.find("REPORT RequestId:") else {
                st.skipped += 1;
                continue;
            };
            parse_report(&m[i..]).map_err(at)?
        } else {
            let mb = |b: f64| if b > 65_536.0 { b / 1_048_576.0 } else { b };
            Report {
                duration_ms: num(dur, "@duration")?.ok_or_else(|| at("empty @duration".into()))?,
                init_ms: num(init_col, "@initDuration")?,
                memory_mb: num(mem_col, "@memorySize")?.map(|b| mb(b).round() as u32),
                max_memory_used_mb: num(used_col, "@maxMemoryUsed")?.map(mb).unwrap_or(0.0),
            }
        };
        st.add(ts, &r);
    }
    finish(file, st)
}

fn finish(file: &Path, st: LogStats) -> Result<LogStats, Error> {
    if st.count() == 0 {
        return Err(Error::input_at(
            file,
            None,
            format!("no REPORT lines found ({} other lines)", st.skipped),
        ));
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_fields() {
        let r = parse_report("REPORT RequestId: 3f1c\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 512 MB\tMax Memory Used: 81 MB\tInit Duration: 412.08 ms\t").unwrap();
        assert_eq!(r.duration_ms, 102.25);
        assert_eq!(r.init_ms, Some(412.08));
        assert_eq!(r.memory_mb, Some(512));
        let cut = parse_report("REPORT RequestId: 3f1c\tDuration: 102.25 ms\tBilled Duration: 10")
            .unwrap_err();
        assert!(cut.contains("Billed Duration"), "{cut}");
    }

    #[test]
    fn text_and_csv_lines() {
        let text = "1795165200500\tSTART RequestId: a Version: $LATEST\n1795165200500\tREPORT RequestId: a\tDuration: 100.00 ms\tBilled Duration: 100 ms\tMemory Size: 256 MB\tMax Memory Used: 70 MB\t\n";
        let st = read_text(Path::new("l.txt"), text.as_bytes()).unwrap();
        assert_eq!(st.count(), 1);
        assert_eq!(st.skipped, 1);
        assert_eq!(st.first_ms, 1_795_165_200_400);
        let csv = "@timestamp,@duration,@initDuration,@memorySize,@maxMemoryUsed\n2026-11-20 09:00:00.500,100,,268435456,73400320\n2026-11-20 09:00:01.000,x,,1,1\n";
        let e = read_insights_csv(Path::new("q.csv"), csv.as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "q.csv:3:1: @duration \"x\" is not a number");
        let e = read_text(Path::new("l.txt"), "REPORT RequestId: a\tDuration: 1 ms\tBilled Duration: 1 ms\tMemory Size: 1 MB\tMax Memory Used: 1 MB".as_bytes()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("l.txt:1:1: REPORT line without a timestamp"),
            "{e}"
        );
    }
}
