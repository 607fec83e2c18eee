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

/// The columns of `timeseries.csv` after `time_s` and `function`: each column's name and how its
/// cell is written, in file order. The header and every row are made from this one table.
const CELLS: &[(&str, Cell)] = &[
    ("Invocations", |w, r| write!(w, "{}", r.invocations)),
    ("Errors", |w, r| write!(w, "{}", r.errors)),
    ("Throttles", |w, r| write!(w, "{}", r.throttles_total())),
    ("ThrottlesBurst", |w, r| {
        write!(w, "{}", r.throttles[ThrottleReason::Burst])
    }),
    ("ThrottlesAccount", |w, r| {
        write!(w, "{}", r.throttles[ThrottleReason::Account])
    }),
    ("ThrottlesReserved", |w, r| {
        write!(w, "{}", r.throttles[ThrottleReason::Reserved])
    }),
    ("ThrottlesRate", |w, r| {
        write!(w, "{}", r.throttles[ThrottleReason::Rate])
    }),
    ("ColdStarts", |w, r| write!(w, "{}", r.cold_starts)),
    ("ConcurrentExecutions", |w, r| {
        write!(w, "{}", r.concurrency_max)
    }),
    ("ConcurrentExecutionsMean", |w, r| {
        write!(w, "{:.3}", r.concurrency_mean)
    }),
    ("ProvisionedConcurrencyUtilization", |w, r| {
        write!(w, "{:.4}", r.provisioned_utilization)
    }),
    ("ProvisionedConcurrencySpilloverInvocations", |w, r| {
        write!(w, "{}", r.spillover)
    }),
    ("UnreservedConcurrentExecutions", |w, r| {
        write!(w, "{}", r.unreserved_concurrency)
    }),
    ("ScalingTokensAvailable", |w, r| {
        write!(w, "{}", r.scaling_tokens)
    }),
    ("LatencyP50Ms", |w, r| write!(w, "{:.3}", r.latency_p50_ms)),
    ("LatencyP99Ms", |w, r| write!(w, "{:.3}", r.latency_p99_ms)),
    ("AsyncEventAgeMs", |w, r| {
        write!(w, "{:.3}", r.async_event_age_ms)
    }),
    ("IteratorAgeMs", |w, r| {
        write!(w, "{:.3}", r.iterator_age_ms)
    }),
    ("DeadLetters", |w, r| write!(w, "{}", r.dead_letters)),
    // Added later (appended, so the first columns keep their positions):
    ("Dropped", |w, r| write!(w, "{}", r.dropped)),
    ("QueueDepth", |w, r| write!(w, "{}", r.queue_depth)),
    ("QueueOldestAgeMs", |w, r| {
        write!(w, "{:.3}", r.queue_oldest_age_ms)
    }),
];

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

/// Most buckets kept per series for charts; longer runs are coarsened by merging neighbours.
pub const CHART_POINTS: usize = 4000;

/// Writes one row as CSV (no allocation beyond the writer's buffer).
pub fn write_row(w: &mut impl Write, r: &BucketRow, name: &str) -> std::io::Result<()> {
    write!(w, "{},{name}", fmt_time(r.start.as_secs_f64()))?;
    for (_, cell) in CELLS {
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
