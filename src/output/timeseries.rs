//! `timeseries.csv`: one row per bucket and function plus the account row (`function = *`),
//! with CloudWatch-style column names. Rows stream to disk as buckets close;
//! a bounded, coarsened copy is kept for charts.

use crate::error::Error;
use crate::stats::{BucketRow, Recorder, ThrottleReason, TokensKept};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes one cell of a row.
type Cell = fn(&mut dyn Write, &BucketRow) -> std::io::Result<()>;

/// Writes `v` with three decimals, or nothing (an empty cell, NaN for pandas) when the
/// bucket has no sample of it: CloudWatch has no data point for a period without samples.
fn opt_ms(w: &mut dyn Write, samples: u64, v: f64) -> std::io::Result<()> {
    if samples == 0 {
        Ok(())
    } else {
        write!(w, "{v:.3}")
    }
}

/// Writes `v` on rows that have provisioned concurrency; CloudWatch emits the provisioned
/// metrics only for functions with provisioned concurrency configured.
fn if_provisioned(
    w: &mut dyn Write,
    r: &BucketRow,
    v: impl std::fmt::Display,
) -> std::io::Result<()> {
    if r.provisioned == 0 {
        Ok(())
    } else {
        write!(w, "{v}")
    }
}

/// Writes `v` on the account row only (account-level CloudWatch metrics).
fn account_only(w: &mut dyn Write, r: &BucketRow, v: u32) -> std::io::Result<()> {
    if r.function.is_some() {
        Ok(())
    } else {
        write!(w, "{v}")
    }
}

/// The columns of `timeseries.csv` after `time_s` and `function`: each column's name, its
/// unit, its CloudWatch counterpart (with the statistic) and how its cell is written, in file order. The header, every row and the README's column
/// table are made from this one table.
///
/// The first columns are CloudWatch's Lambda metrics under their exact names, units and
/// meanings, each with the statistic the documentation says to view it with, over one bucket:
/// <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html> (invocation,
/// performance, async and event source mapping metrics) and
/// <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-concurrency.html> (concurrency
/// metrics). The columns after them are this project's own and keep their names.
pub const CELLS: &[(&str, &str, &str, Cell)] = &[
    // Sum: invocations that ran, errors and timeouts included, throttles excluded.
    ("Invocations", "count", "`Invocations` (Sum)", |w, r| write!(w, "{}", r.invocations)),
    // Sum: invocations that ended in a function error or a timeout.
    ("Errors", "count", "`Errors` (Sum)", |w, r| write!(w, "{}", r.errors)),
    // Sum: throttled invocation requests, every reason together.
    ("Throttles", "count", "`Throttles` (Sum)", |w, r| write!(w, "{}", r.throttles_total())),
    // Average handler time of the invocations that ended in the bucket, INIT excluded.
    ("Duration", "ms", "`Duration` (Average)", |w, r| {
        let mean = r.duration_sum_us as f64 / r.durations.max(1) as f64 / 1e3;
        opt_ms(w, r.durations, mean)
    }),
    // Maximum of busy environments.
    ("ConcurrentExecutions", "count", "`ConcurrentExecutions` (Maximum)", |w, r| {
        write!(w, "{}", r.concurrency_max)
    }),
    // Account row, maximum: busy on-demand environments of functions without reserved
    // concurrency.
    ("UnreservedConcurrentExecutions", "count", "`UnreservedConcurrentExecutions` (Maximum; account row only)", |w, r| {
        account_only(w, r, r.unreserved_concurrency)
    }),
    // Account row, maximum: UnreservedConcurrentExecutions plus allocated concurrency.
    ("ClaimedAccountConcurrency", "count", "`ClaimedAccountConcurrency` (Maximum; account row only)", |w, r| {
        account_only(w, r, r.claimed_concurrency)
    }),
    // Maximum of busy provisioned environments (account row: the functions' maxima summed).
    ("ProvisionedConcurrentExecutions", "count", "`ProvisionedConcurrentExecutions` (Maximum; account row: sum of the functions' maxima)", |w, r| {
        if_provisioned(w, r, r.provisioned_max)
    }),
    // Sum: invocations that ran on provisioned environments.
    ("ProvisionedConcurrencyInvocations", "count", "`ProvisionedConcurrencyInvocations` (Sum)", |w, r| {
        if_provisioned(w, r, r.provisioned_invocations)
    }),
    // Sum: invocations of a provisioned function that ran on on-demand environments.
    ("ProvisionedConcurrencySpilloverInvocations", "count", "`ProvisionedConcurrencySpilloverInvocations` (Sum)", |w, r| {
        if_provisioned(w, r, r.spillover)
    }),
    // Maximum: ProvisionedConcurrentExecutions / provisioned concurrency allocated.
    ("ProvisionedConcurrencyUtilization", "ratio", "`ProvisionedConcurrencyUtilization` (Maximum)", |w, r| {
        let u = r.provisioned_max as f64 / r.provisioned.max(1) as f64;
        if_provisioned(w, r, format_args!("{u:.4}"))
    }),
    // Sum: events that async sources queued.
    ("AsyncEventsReceived", "count", "`AsyncEventsReceived` (Sum)", |w, r| {
        write!(w, "{}", r.async_received)
    }),
    // Maximum: age of an async event when it is tried.
    ("AsyncEventAge", "ms", "`AsyncEventAge` (Maximum)", |w, r| {
        opt_ms(w, r.async_age_samples, r.async_event_age_ms)
    }),
    // Sum: async events that left without a successful invocation, to a DLQ or dropped.
    ("AsyncEventsDropped", "count", "`AsyncEventsDropped` (Sum)", |w, r| {
        write!(w, "{}", r.async_dropped)
    }),
    // Sum: failed deliveries to a dead-letter queue. The model never fails a delivery, so
    // this is 0; events delivered to a DLQ are `DeadLetters`.
    ("DeadLetterErrors", "count", "`DeadLetterErrors` (Sum; always 0)", |w, _| w.write_all(b"0")),
    // Maximum: age of a stream batch's last record when the batch is tried.
    ("IteratorAge", "ms", "`IteratorAge` (Maximum)", |w, r| {
        opt_ms(w, r.iterator_age_samples, r.iterator_age_ms)
    }),
    // This project's columns.
    ("Arrivals", "count", "none: new requests (SQS / streams: messages or records)", |w, r| write!(w, "{}", r.arrivals)),
    ("Retries", "count", "none: retries (client, async, SQS redeliveries, stream batch retries)", |w, r| write!(w, "{}", r.retries)),
    ("ThrottlesBurst", "count", "part of `Throttles`: no scaling token", |w, r| {
        write!(w, "{}", r.throttles[ThrottleReason::Burst])
    }),
    ("ThrottlesAccount", "count", "part of `Throttles`: unreserved pool full", |w, r| {
        write!(w, "{}", r.throttles[ThrottleReason::Account])
    }),
    ("ThrottlesReserved", "count", "part of `Throttles`: reserved concurrency reached", |w, r| {
        write!(w, "{}", r.throttles[ThrottleReason::Reserved])
    }),
    ("ThrottlesRate", "count", "part of `Throttles`: requests-per-second limit", |w, r| {
        write!(w, "{}", r.throttles[ThrottleReason::Rate])
    }),
    ("ColdStarts", "count", "none (the `Init Duration` lines of the logs)", |w, r| write!(w, "{}", r.cold_starts)),
    ("ConcurrentExecutionsMean", "count", "`ConcurrentExecutions` (time-weighted Average)", |w, r| {
        write!(w, "{:.3}", r.concurrency_mean)
    }),
    ("ProvisionedConcurrencyUtilizationMean", "ratio", "`ProvisionedConcurrencyUtilization` (time-weighted Average)", |w, r| {
        if_provisioned(w, r, format_args!("{:.4}", r.provisioned_utilization))
    }),
    ("ScalingTokensAvailable", "count", "none: scaling budget left at the bucket's end", |w, r| {
        write!(w, "{}", r.scaling_tokens)
    }),
    ("LatencyP50Ms", "ms", "none: end-to-end latency p50 (client's view)", |w, r| {
        opt_ms(w, r.latency_samples, r.latency_p50_ms)
    }),
    ("LatencyP99Ms", "ms", "none: end-to-end latency p99 (client's view)", |w, r| {
        opt_ms(w, r.latency_samples, r.latency_p99_ms)
    }),
    ("DeadLetters", "count", "none: events, messages or records delivered to a DLQ or on-failure destination", |w, r| write!(w, "{}", r.dead_letters)),
    ("Dropped", "count", "none: events or records discarded without a DLQ", |w, r| write!(w, "{}", r.dropped)),
    ("QueueDepth", "count", "none: async events, SQS messages or stream records waiting at the bucket's end", |w, r| write!(w, "{}", r.queue_depth)),
    ("QueueOldestAgeMs", "ms", "like SQS `ApproximateAgeOfOldestMessage`: oldest waiting message or record at the bucket's end", |w, r| {
        write!(w, "{:.3}", r.queue_oldest_age_ms)
    }),
    // The product contract's original names of the two ages, kept beside CloudWatch's.
    ("AsyncEventAgeMs", "ms", "same as `AsyncEventAge` (this project's original name)", |w, r| {
        opt_ms(w, r.async_age_samples, r.async_event_age_ms)
    }),
    ("IteratorAgeMs", "ms", "same as `IteratorAge` (this project's original name)", |w, r| {
        opt_ms(w, r.iterator_age_samples, r.iterator_age_ms)
    }),
    // Maximum in the bucket of the provisioned concurrency configured (schedules and auto
    // scaling change it; otherwise the constant setting, 0 without any); account row: the sum.
    ("ProvisionedConcurrencyConfigured", "count", "none: provisioned concurrency configured, maximum in the bucket (the Lambda API's `RequestedProvisionedConcurrentExecutions`)", |w, r| {
        write!(w, "{}", r.provisioned)
    }),
    ("ThrottlesGateway", "count", "API Gateway's 429s (in its `4XXError`, not in Lambda's `Throttles`; part of this file's `Throttles`)", |w, r| {
        write!(w, "{}", r.throttles[ThrottleReason::Gateway])
    }),
    // Lambda Managed Instances (throttle reason "capacity"; the other columns are written on
    // rows of functions on a capacity provider, and on the account row when there is one).
    // https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-scaling.html
    ("ThrottlesCapacity", "count", "part of `Throttles`: Managed Instances, every environment's slots taken", |w, r| {
        write!(w, "{}", r.throttles[ThrottleReason::Capacity])
    }),
    ("ManagedInstances", "count", "none: Managed Instances instances running or launching (Maximum; function rows: its capacity provider's)", |w, r| {
        if_managed(w, r, r.managed_instances)
    }),
    ("ManagedExecutionEnvironments", "count", "none: Managed Instances execution environments serving (Maximum)", |w, r| {
        if_managed(w, r, r.managed_environments)
    }),
    ("InFlightPerExecutionEnvironment", "count", "none: Managed Instances requests in flight per environment (time-weighted Average)", |w, r| {
        if_managed(w, r, format_args!("{:.3}", r.managed_in_flight_per_environment))
    }),
    ("ExecutionEnvironmentVCPUUtilization", "ratio", "`ExecutionEnvironmentVCPUUtilization` (time-weighted Average; model: in flight x cpu_per_request / vCPUs)", |w, r| {
        if_managed(w, r, format_args!("{:.4}", r.managed_vcpu_utilization))
    }),
];

/// Writes `v` on rows of Managed Instances functions (and the account row of a run with one).
fn if_managed(w: &mut dyn Write, r: &BucketRow, v: impl std::fmt::Display) -> std::io::Result<()> {
    if r.managed {
        write!(w, "{v}")
    } else {
        Ok(())
    }
}

/// Every column name of `timeseries.csv`, in file order.
pub const COLUMNS: [&str; CELLS.len() + 2] = {
    let mut out = [""; CELLS.len() + 2];
    out[0] = "time_s";
    out[1] = "function";
    let mut i = 0;
    while i < CELLS.len() {
        out[i + 2] = CELLS[i].0;
        i += 1;
    }
    out
};

/// The README's table of the columns (Markdown), made from [`CELLS`]; a test keeps the
/// README's copy equal to it.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| column | unit | CloudWatch counterpart (statistic over the bucket) |\n\
         | --- | --- | --- |\n\
         | `time_s` | s | start of the bucket |\n\
         | `function` | | function name; `*` is the account row |\n",
    );
    for (name, unit, cloudwatch, _) in CELLS {
        out.push_str(&format!("| `{name}` | {unit} | {cloudwatch} |\n"));
    }
    out
}

/// Most buckets kept per series for charts; longer runs are coarsened by merging neighbours.
pub const CHART_POINTS: usize = 4000;

/// Writes one row as CSV (no allocation beyond the writer's buffer).
pub fn write_row(w: &mut impl Write, r: &BucketRow, name: &str) -> std::io::Result<()> {
    write!(w, "{},{name}", fmt_time(r.start.as_secs_f64()))?;
    for (_, _, _, cell) in CELLS {
        w.write_all(b",")?;
        cell(w, r)?;
    }
    w.write_all(b"\n")
}

fn fmt_time(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.3}")
    }
}

/// Merges bucket `b` into `a` (a coarser bucket of a chart series): [`BucketRow::merge_later`],
/// keeping the later bucket's scaling tokens.
pub fn merge_rows(a: &mut BucketRow, b: &BucketRow) {
    a.merge_later(b, TokensKept::Last);
}
/// Time-series rows kept for charts: at most [`CHART_POINTS`] buckets per series. When full,
/// neighbouring buckets are merged pairwise and later buckets are merged `factor` at a time.
#[derive(Default)]
pub struct ChartSeries {
    /// Rows grouped per bucket: `per_bucket` rows (functions, then account) per bucket.
    pub rows: Vec<BucketRow>,
    /// Rows per bucket: one per function, then the account.
    pub per_bucket: usize,
    /// How many simulation buckets one kept bucket stands for.
    pub factor: usize,
    pending: usize,
}

impl ChartSeries {
    /// Adds one bucket's rows, coarsening when the series is full.
    pub fn push(&mut self, rows: &[BucketRow]) {
        if self.factor == 0 {
            self.factor = 1;
            self.per_bucket = rows.len();
        }
        if self.pending > 0 {
            let n = self.rows.len();
            for (i, r) in rows.iter().enumerate() {
                merge_rows(&mut self.rows[n - self.per_bucket + i], r);
            }
        } else {
            self.rows.extend_from_slice(rows);
        }
        self.pending = (self.pending + 1) % self.factor;
        if self.pending == 0 && self.rows.len() / self.per_bucket.max(1) >= CHART_POINTS {
            self.halve();
        }
    }

    fn halve(&mut self) {
        let p = self.per_bucket;
        let buckets = self.rows.len() / p;
        let mut out = Vec::with_capacity(self.rows.len() / 2 + p);
        for b in (0..buckets).step_by(2) {
            for i in 0..p {
                let mut r = self.rows[b * p + i].clone();
                if b + 1 < buckets {
                    merge_rows(&mut r, &self.rows[(b + 1) * p + i]);
                }
                out.push(r);
            }
        }
        self.rows = out;
        self.factor *= 2;
    }

    /// Rows of one function (`None`: the account).
    pub fn series(&self, function: Option<u32>) -> impl Iterator<Item = &BucketRow> {
        self.rows.iter().filter(move |r| r.function == function)
    }
}

/// The CLI's recorder: streams CSV to a temporary file, keeps chart data, reports progress.
pub struct CsvRecorder {
    out: BufWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    names: Vec<String>,
    error: Option<std::io::Error>,
    /// The rows kept for charts.
    pub chart: ChartSeries,
    /// Whether to keep chart rows (off with `--no-charts`: they grow with the functions).
    keep_chart: bool,
    progress: Option<Box<dyn FnMut(f64)>>,
}

impl CsvRecorder {
    /// A recorder writing timeseries.csv at `path` for these functions.
    pub fn create(path: &Path, function_names: Vec<String>) -> Result<CsvRecorder, Error> {
        let tmp = super::temp_path(path);
        let f = File::create(&tmp)
            .map_err(|e| Error::runtime(format!("cannot write {}: {e}", path.display())))?;
        let mut out = BufWriter::with_capacity(1 << 16, f);
        writeln!(out, "{}", COLUMNS.join(","))
            .map_err(|e| Error::runtime(format!("cannot write {}: {e}", path.display())))?;
        Ok(CsvRecorder {
            out,
            tmp,
            path: path.to_path_buf(),
            names: function_names,
            error: None,
            chart: ChartSeries::default(),
            keep_chart: true,
            progress: None,
        })
    }

    /// Keeps no chart rows (`finish` then returns an empty series): for runs without charts
    /// or animation, whose memory then does not grow with buckets x functions.
    pub fn without_chart(mut self) -> CsvRecorder {
        self.keep_chart = false;
        self
    }

    /// Calls `f(simulated seconds)` as buckets close (progress bars).
    pub fn on_progress(&mut self, f: impl FnMut(f64) + 'static) {
        self.progress = Some(Box::new(f));
    }

    /// Flushes and moves the file into place.
    pub fn finish(mut self) -> Result<ChartSeries, Error> {
        let err = |e: std::io::Error| {
            Error::runtime(format!("cannot write {}: {e}", self.path.display()))
        };
        if let Some(e) = self.error.take() {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(err(e));
        }
        self.out.flush().map_err(err)?;
        std::fs::rename(&self.tmp, &self.path).map_err(err)?;
        Ok(std::mem::take(&mut self.chart))
    }
}

impl Recorder for CsvRecorder {
    fn bucket(&mut self, rows: &[BucketRow]) {
        if self.error.is_none() {
            for r in rows {
                let name = r.function.map_or("*", |i| self.names[i as usize].as_str());
                if let Err(e) = write_row(&mut self.out, r, name) {
                    self.error = Some(e);
                    break;
                }
            }
        }
        if self.keep_chart {
            self.chart.push(rows);
        }
        if let (Some(p), Some(r)) = (self.progress.as_mut(), rows.first()) {
            p(r.start.as_secs_f64());
        }
    }
}

impl Drop for CsvRecorder {
    fn drop(&mut self) {
        // A recorder dropped without `finish` (a failed run) leaves no partial file behind.
        if self.tmp.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_lists_every_column_with_its_unit_and_counterpart() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let table = markdown_table();
        assert!(
            readme.contains(&table),
            "README.md's column table differs from CELLS; it should read:\n{table}"
        );
    }

    #[test]
    fn empty_buckets_write_empty_cells() {
        let r = BucketRow::default();
        let mut line = Vec::new();
        write_row(&mut line, &r, "f").unwrap();
        let line = String::from_utf8(line).unwrap();
        let cells: Vec<&str> = line.trim_end().split(',').collect();
        for name in [
            "Duration",
            "AsyncEventAge",
            "IteratorAge",
            "LatencyP50Ms",
            "LatencyP99Ms",
        ] {
            let i = COLUMNS.iter().position(|c| *c == name).unwrap();
            assert_eq!(cells[i], "", "{name}");
        }
        let i = COLUMNS.iter().position(|c| *c == "Invocations").unwrap();
        assert_eq!(cells[i], "0");
    }
}
