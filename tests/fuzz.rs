//! Fuzzing of the input side: the shipped scenarios and trace files, mutated by a seeded RNG
//! (byte edits, extreme numbers and durations, wrong types, unknown and duplicate keys, deep
//! nesting, truncation, control characters, malformed trace lines, thousands of entries).
//!
//! Every case must end in success or a clean input error: `Err(Error)` with exit code 2 and a
//! one-line message naming a file of the case — never a panic (caught with `catch_unwind`), a
//! hang (each case runs on a worker thread watched with a timeout) or an out-of-memory (a
//! counting allocator refuses any allocation that would take the process over 2 GiB, and the
//! peak is checked). Scenarios that validate are simulated when they are cheap, and must then
//! conserve requests, write well-formed CSV rows and `explain` cleanly (any window, any
//! `--function`). A subset runs through the real binary (`lambdasim check`): same exit code,
//! one line on stderr, no "panicked".
//!
//! Cases: 2000 by default, `LAMBDASIM_FUZZ_CASES=100000` for a longer run, `LAMBDASIM_FUZZ_SEED`
//! for another seed. Run with `--nocapture` to see the counts.

mod common;

use lambdasim::app::load_model;
use lambdasim::explain::{explain, ExplainOptions};
use lambdasim::load::{LoadSpec, TraceData};
use lambdasim::model::Model;
use lambdasim::output::timeseries::{write_row, COLUMNS};
use lambdasim::rng::{stream, Rng};
use lambdasim::run::simulate;
use lambdasim::scenario::{load_str, Scenario};
use lambdasim::stats::{BucketRow, Recorder};
use lambdasim::time::Micros;
use rand::RngExt;
use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Memory: a counting allocator with a hard ceiling.

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// No input may make the process hold more than this (the machine has far more than the test
/// needs; a case that asks for more is an out-of-memory bug and aborts the test binary).
const HARD_LIMIT: usize = 2 << 30;
/// What the whole fuzz run may peak at.
const PEAK_LIMIT: usize = 1 << 30;

fn reserve(size: usize) -> bool {
    let now = CURRENT.fetch_add(size, Relaxed) + size;
    if now > HARD_LIMIT {
        CURRENT.fetch_sub(size, Relaxed);
        return false;
    }
    PEAK.fetch_max(now, Relaxed);
    true
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if !reserve(l.size()) {
            return std::ptr::null_mut();
        }
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if !reserve(l.size()) {
            return std::ptr::null_mut();
        }
        System.alloc_zeroed(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        CURRENT.fetch_sub(l.size(), Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > l.size() && !reserve(new - l.size()) {
            return std::ptr::null_mut();
        }
        let q = System.realloc(p, l, new);
        if q.is_null() {
            if new > l.size() {
                CURRENT.fetch_sub(new - l.size(), Relaxed);
            }
        } else if new < l.size() {
            CURRENT.fetch_sub(l.size() - new, Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// Mutations.

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1e308",
    "-1e308",
    "nan",
    "-nan",
    "inf",
    "-inf",
    "18446744073709551616",
    "18446744073709551615",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967296",
    "4294967295",
    "2147483648",
    "1e12",
    "1e7",
    "10000001",
    "0.0000001",
    "-0.0",
    "5e-324",
    "0x7fffffff",
    "0o777",
    "1_000_000_000_000",
    "1.",
    ".5",
    "01",
];

const DURATIONS: &[&str] = &[
    "\"0s\"",
    "\"-5s\"",
    "\"99999999h\"",
    "\"1e400s\"",
    "\"1e30h\"",
    "\"nan\"",
    "\"inf\"",
    "\"\"",
    "\"5 parsecs\"",
    "\"1us\"",
    "\"0.4us\"",
    "\"999us\"",
    "\"18446744073709551616us\"",
    "\"90d\"",
    "\"91d\"",
    "\"1.5.5s\"",
    "\"--1s\"",
    "\"µs\"",
    "\"10 s\"",
    "-5",
    "0",
    "1e308",
    "nan",
];

const WRONG_TYPES: &[&str] = &[
    "\"a string\"",
    "{ a = 1 }",
    "[1, 2]",
    "true",
    "1979-05-27T07:32:00Z",
    "07:32:00",
    "[]",
    "{}",
    "[[1], [\"x\"]]",
    "\"\"",
    "'''multi\nline'''",
    "{ dist = \"fixed\" }",
    "{ kind = \"constant\" }",
    "{ dist = \"empirical\", path = \"/dev/null\" }",
    "{ dist = \"empirical\", path = \"traces\" }",
    "{ kind = \"trace\", path = \"/dev/null\" }",
    "{ kind = \"trace\", path = \"no/such/file.csv\" }",
    "{ kind = \"steps\", steps = [] }",
    "{ mode = \"adaptive\" }",
];

const INSERTED_LINES: &[&str] = &[
    "bogus_key = 1",
    "rps = 5",
    "memory_mb = 128",
    "name = \"x\"",
    "[[functions]]",
    "[[traffic]]",
    "[account]",
    "[pricing]",
    "[functions]",
    "[[account]]",
    "functions = []",
    "traffic = 5",
    "invocation = \"async\"",
    "invocation = \"sqs\"",
    "async = { dlq = true }",
    "sqs = { batch_size = 0 }",
    "stream = { shards = 0 }",
    "invocation = \"stream\"",
    "sqs = { poison_rate = 2 }",
    "stream = { on_failure_destination = 1, poison_rate = nan }",
    "stream = { maximum_retry_attempts = -2 }",
    "async = { maximum_event_age = \"59s\" }",
    "sqs = { visibility_timeout = \"0s\" }",
    "retry = { mode = \"adaptive\", max_attempts = 21 }",
    "reserved_concurrency = 4294967295",
    "provisioned_concurrency = 4294967295",
    "concurrency_limit = 10000000",
    "scaling = \"burst\"",
    "burst_quota = 0",
    "scale_interval = \"1us\"",
    "bucket = \"1ms\"",
    "warmup = \"90d\"",
    "duration = \"90d\"",
    "error_rate = nan",
    "seed = -1",
    "a.b.c.d = 1",
    "\"quoted key\" = 1",
    "[a.b.c]",
    "x = 1 # comment",
    "=",
    "[",
    "[[",
    "]]",
    "\"",
    "'''",
];

const CONTROL: &[&str] = &[
    "\r",
    "\u{0}",
    "\u{feff}",
    "\t",
    "é",
    "\u{202e}",
    "\u{7f}",
    "\u{1b}[31m",
    "\\",
    "\\u0000",
    "\n",
];

/// Byte ranges of number tokens outside strings (roughly: a digit or sign after a delimiter).
fn number_spans(t: &str) -> Vec<(usize, usize)> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            in_str = !in_str;
            i += 1;
            continue;
        }
        let starts = !in_str
            && (c.is_ascii_digit()
                || ((c == b'-' || c == b'+') && b.get(i + 1).is_some_and(u8::is_ascii_digit)))
            && (i == 0 || matches!(b[i - 1], b' ' | b'=' | b'[' | b'{' | b',' | b'\n'));
        if starts {
            let s = i;
            i += 1;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'.' | b'_' | b'+' | b'-'))
            {
                i += 1;
            }
            out.push((s, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Byte ranges of double-quoted strings, quotes included.
fn string_spans(t: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in t.char_indices() {
        if c == '"' {
            match start {
                None => start = Some(i),
                Some(s) => {
                    out.push((s, i + 1));
                    start = None;
                }
            }
        } else if c == '\n' {
            start = None;
        }
    }
    out
}

/// Byte ranges of the values of `key = value` lines.
fn value_spans(t: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut off = 0;
    for line in t.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        if !body.trim_start().starts_with('#') {
            if let Some(eq) = body.find('=') {
                let v = eq + 1 + (body.len() - eq - 1 - body[eq + 1..].trim_start().len());
                if v < body.len() {
                    out.push((off + v, off + body.len()));
                }
            }
        }
        off += line.len();
    }
    out
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn replace_span(t: &mut String, spans: &[(usize, usize)], rng: &mut Rng, with: &str) -> bool {
    if spans.is_empty() {
        return false;
    }
    let (a, b) = spans[rng.random_range(0..spans.len())];
    t.replace_range(a..b, with);
    true
}

fn char_boundary(t: &str, rng: &mut Rng) -> usize {
    let mut i = rng.random_range(0..=t.len());
    while !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn line_starts(t: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(t.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i <= t.len())
        .collect()
}

/// Deeply nested or unbalanced brackets, braces, dotted keys or arrays of tables.
fn deep(rng: &mut Rng) -> String {
    let n = [10usize, 100, 1_000, 10_000, 100_000][rng.random_range(0..5)];
    match rng.random_range(0..6) {
        0 => format!("{}{}", "[".repeat(n), "]".repeat(n)),
        1 => format!("{}1{}", "{ a = ".repeat(n), " }".repeat(n)),
        2 => "[".repeat(n),
        3 => format!("{}1{}", "[{ a = ".repeat(n), " }]".repeat(n)),
        4 => format!("\n[{}]\n", vec!["a"; n].join(".")),
        _ => format!("\n{} = 1\n", vec!["a"; n].join(".")),
    }
}

/// Applies one random mutation to a scenario's text.
fn mutate_scenario(t: &mut String, rng: &mut Rng) -> &'static str {
    match rng.random_range(0..16) {
        0 => {
            // A random byte, possibly making the file invalid UTF-8.
            let mut bytes = std::mem::take(t).into_bytes();
            if !bytes.is_empty() {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = rng.random();
            }
            *t = String::from_utf8(bytes.clone())
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            "byte"
        }
        1 => {
            let i = char_boundary(t, rng);
            let c = pick(
                rng,
                &[
                    "[", "]", "{", "}", "=", ",", "\"", "'", "\n", "#", ".", "-", "0", "9", "e",
                    " ", "\\",
                ],
            );
            if rng.random_bool(0.5) {
                t.insert_str(i, c);
            } else {
                let j = (i + 1..=t.len())
                    .find(|&j| t.is_char_boundary(j))
                    .unwrap_or(i);
                t.replace_range(i..j, "");
            }
            "char"
        }
        2 | 3 => {
            let v = pick(rng, NUMBERS);
            replace_span(t, &number_spans(t), rng, v);
            "number"
        }
        4 | 5 => {
            let v = pick(rng, DURATIONS);
            replace_span(t, &string_spans(t), rng, v);
            "string"
        }
        6 => {
            let v = pick(rng, WRONG_TYPES);
            replace_span(t, &value_spans(t), rng, v);
            "type"
        }
        7 | 8 => {
            let starts = line_starts(t);
            let i = starts[rng.random_range(0..starts.len())];
            let line = pick(rng, INSERTED_LINES);
            t.insert_str(i, &format!("{line}\n"));
            "line"
        }
        9 => {
            let d = deep(rng);
            if !replace_span(t, &value_spans(t), rng, &d) {
                t.push_str(&d);
            }
            "deep"
        }
        10 => {
            // Duplicate a line: duplicate keys or tables.
            let lines: Vec<&str> = t.lines().collect();
            let k = rng.random_range(0..lines.len().max(1));
            let mut out: Vec<&str> = lines.clone();
            if let Some(l) = lines.get(k) {
                out.insert(k, l);
            }
            *t = out.join("\n");
            "duplicate"
        }
        11 => {
            let i = char_boundary(t, rng);
            t.truncate(i);
            "truncate"
        }
        12 => {
            let mut lines: Vec<&str> = t.lines().collect();
            if !lines.is_empty() {
                let a = rng.random_range(0..lines.len());
                if rng.random_bool(0.5) {
                    lines.remove(a);
                } else {
                    let b = rng.random_range(0..lines.len());
                    lines.swap(a, b);
                }
            }
            *t = lines.join("\n");
            "lines"
        }
        13 => {
            let i = char_boundary(t, rng);
            let c = pick(rng, CONTROL);
            t.insert_str(i, c);
            "control"
        }
        14 => {
            // Thousands of entries.
            let n = [10usize, 1_000, 5_000][rng.random_range(0..3)];
            let mut extra = String::new();
            for k in 0..n {
                if rng.random_bool(0.5) {
                    extra.push_str(&format!(
                        "\n[[functions]]\nname = \"g{k}\"\nduration = \"1ms\"\n"
                    ));
                } else {
                    extra.push_str(&format!("\n[[traffic]]\nfunction = \"g{k}\"\nload = {{ kind = \"constant\", rps = 1e7 }}\n"));
                }
            }
            t.push_str(&extra);
            "many"
        }
        _ => {
            // A very long line.
            let n = [1_000usize, 100_000][rng.random_range(0..2)];
            let v = match rng.random_range(0..3) {
                0 => format!("\"{}\"", "x".repeat(n)),
                1 => "9".repeat(n),
                _ => format!("[{}1]", "1, ".repeat(n)),
            };
            replace_span(t, &value_spans(t), rng, &v);
            "long"
        }
    }
}

const BAD_TRACE_LINES: &[&str] = &[
    "abc",
    ",,,",
    "1,2,3,4",
    "-5,10",
    "1e400,3",
    "5,NaN",
    "5,inf",
    "5,-1",
    "5,1e12",
    "5,18446744073709551616",
    "5,1e9",
    "0,0",
    "99999999h,1",
    "1e30h,1",
    "1s,",
    ",5",
    "\u{0}",
    "time_s,count",
    "HashOwner,HashApp,HashFunction,Trigger,1,2",
    "o,a,f,http,1,2,3,4,5,6,7,8,9,10",
    // Issue #16: over the requests-per-second limit (5e9 in one second; one over 1e7 per
    // second), and a timestamps line with an extra column.
    "1,5000000000",
    "2,10000001",
    "0.5,GET /api",
    "o,a,f,http,x",
    "\"1\",\"2\"",
    "1;2",
    "0.0000001,1",
    "-0,1",
];

fn mutate_trace(t: &mut String, rng: &mut Rng) -> &'static str {
    match rng.random_range(0..8) {
        0 | 1 => {
            let starts = line_starts(t);
            let i = starts[rng.random_range(0..starts.len())];
            let line = pick(rng, BAD_TRACE_LINES);
            t.insert_str(i, &format!("{line}\n"));
            "trace line"
        }
        2 | 3 => {
            let spans = number_spans(&t.replace(',', " "));
            let v = pick(rng, NUMBERS);
            replace_span(t, &spans, rng, v);
            "trace number"
        }
        4 => {
            let i = char_boundary(t, rng);
            t.truncate(i);
            "trace truncate"
        }
        5 => {
            let lines: Vec<&str> = t.lines().collect();
            let mut out = lines.clone();
            if !lines.is_empty() {
                let k = rng.random_range(0..lines.len());
                let reps = [1usize, 10, 100_000][rng.random_range(0..3)];
                out.splice(k..k, std::iter::repeat_n(lines[k], reps));
            }
            *t = out.join("\n");
            "trace repeat"
        }
        6 => {
            let mut lines: Vec<&str> = t.lines().collect();
            if !lines.is_empty() {
                let a = rng.random_range(0..lines.len());
                let b = rng.random_range(0..lines.len());
                if rng.random_bool(0.5) {
                    lines.remove(a);
                } else {
                    lines.swap(a, b);
                }
            }
            *t = lines.join("\n");
            "trace lines"
        }
        _ => {
            let i = char_boundary(t, rng);
            let c = pick(rng, &[",", "\n", "-", "e", "x", "\r", "\u{0}", ".", "9"]);
            t.insert_str(i, c);
            "trace char"
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cases.

struct Seeds {
    scenarios: Vec<(String, String)>,
    traces: Vec<(String, String)>,
}

fn seeds() -> Seeds {
    let mut scenarios = Vec::new();
    let mut traces = Vec::new();
    for e in std::fs::read_dir("scenarios").unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.extension().is_some_and(|x| x == "toml") && !name.starts_with("sweep") {
            scenarios.push((name, std::fs::read_to_string(&p).unwrap()));
        }
    }
    for e in std::fs::read_dir("scenarios/traces").unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        traces.push((name, std::fs::read_to_string(&p).unwrap()));
    }
    scenarios.sort();
    traces.sort();
    assert!(scenarios.len() >= 8 && traces.len() >= 2);
    Seeds { scenarios, traces }
}

/// One fuzz case: a scenario text and, for trace cases, the text of `traces/fuzz.csv`.
#[derive(Clone)]
struct Case {
    id: usize,
    what: String,
    scenario: String,
    trace: Option<String>,
}

/// Replaces the top-level `duration = ...` so most mutants are cheap enough to simulate.
fn shorten(text: &str, secs: u64) -> String {
    let mut out = String::new();
    let mut top = true;
    for line in text.lines() {
        if line.trim_start().starts_with('[') {
            top = false;
        }
        if top && line.trim_start().starts_with("duration") {
            out.push_str(&format!("duration = \"{secs}s\"\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn make_case(id: usize, seeds: &Seeds, rng: &mut Rng) -> Case {
    if rng.random_bool(0.25) {
        // A mutated trace behind a small valid scenario.
        let (name, base) = &seeds.traces[rng.random_range(0..seeds.traces.len())];
        let mut trace = base.clone();
        let mut what = vec![format!("trace {name}")];
        for _ in 0..rng.random_range(1..=3) {
            what.push(mutate_trace(&mut trace, rng).to_string());
        }
        let format = pick(
            rng,
            &[
                "",
                ", format = \"counts\"",
                ", format = \"timestamps\"",
                ", format = \"azure\"",
                ", format = \"auto\"",
            ],
        );
        let select = pick(
            rng,
            &[
                "",
                "",
                ", select = \"fn-timer\"",
                ", select = \"fn-http\"",
                ", select = \"nope\"",
            ],
        );
        let interval = pick(
            rng,
            &[
                "",
                "",
                ", interval = \"1ms\"",
                ", interval = \"1h\"",
                ", interval = \"0s\"",
            ],
        );
        let scale = pick(
            rng,
            &["", "", ", scale = 0.01", ", scale = 1e6", ", scale = 0"],
        );
        let arrivals = pick(rng, &["poisson", "uniform"]);
        let scenario = format!(
            "name = \"fuzz-trace\"\nduration = \"{}s\"\n[account]\nconcurrency_limit = 5000\n[[functions]]\nname = \"f\"\nduration = {{ dist = \"exponential\", mean = \"20ms\" }}\n[[traffic]]\nfunction = \"f\"\narrivals = \"{arrivals}\"\nload = {{ kind = \"trace\", path = \"traces/fuzz.csv\"{format}{select}{interval}{scale} }}\n",
            rng.random_range(1..=120)
        );
        return Case {
            id,
            what: what.join(" + "),
            scenario,
            trace: Some(trace),
        };
    }
    let (name, base) = &seeds.scenarios[rng.random_range(0..seeds.scenarios.len())];
    let mut text = if rng.random_bool(0.6) {
        shorten(base, rng.random_range(1..=30))
    } else {
        base.clone()
    };
    let mut what = vec![name.clone()];
    for _ in 0..rng.random_range(1..=3) {
        what.push(mutate_scenario(&mut text, rng).to_string());
    }
    Case {
        id,
        what: what.join(" + "),
        scenario: text,
        trace: None,
    }
}

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    rejected: usize,
    valid: usize,
    simulated: usize,
    binary: usize,
}

/// What one case ended in; `Err` is a bug.
enum Verdict {
    Rejected(String),
    Valid { simulated: bool },
}

/// Requests the scenario asks for (peak rate × duration; traces: their counts).
fn expected_requests(s: &Scenario, m: &Model) -> f64 {
    let dur = m.duration.as_secs_f64();
    s.traffic
        .iter()
        .enumerate()
        .map(|(i, t)| match &t.load {
            LoadSpec::Trace { .. } => match m.source_trace(i) {
                Some(TraceData::Counts(rows)) => {
                    rows.iter().filter(|r| r.0 < dur).map(|r| r.2 as f64).sum()
                }
                Some(TraceData::Timestamps(ts)) => ts.len() as f64,
                None => 0.0,
            },
            l => l.peak_rps() * dur,
        })
        .sum()
}

/// The message starts with the case's scenario or trace file, or a file the scenario names.
fn file_in_case(msg: &str, dir: &Path) -> bool {
    msg.starts_with(&dir.display().to_string()) || msg.starts_with("/dev/null")
}

fn run_case(case: &Case, dir: &Path) -> Result<Verdict, String> {
    let path = dir.join("case.toml");
    std::fs::write(&path, &case.scenario).unwrap();
    if let Some(t) = &case.trace {
        std::fs::write(dir.join("traces/fuzz.csv"), t).unwrap();
    }
    let loaded = catch_unwind(AssertUnwindSafe(|| load_model(&path, &[], None)))
        .map_err(|p| format!("panic while loading: {}", panic_text(&p)))?;
    let (s, m) = match loaded {
        Err(e) => {
            let msg = e.to_string();
            if e.exit_code() != 2 {
                return Err(format!("exit code {} for bad input: {msg}", e.exit_code()));
            }
            if msg.contains('\n') || msg.contains('\r') || msg.trim().is_empty() {
                return Err(format!("message is not one line: {msg:?}"));
            }
            if !file_in_case(&msg, dir) {
                return Err(format!("message does not name the file: {msg}"));
            }
            return Ok(Verdict::Rejected(msg));
        }
        Ok(x) => x,
    };
    // What `check` prints must load again.
    let resolved = s.to_toml();
    if let Err(e) = load_str(&resolved, &path, &[]) {
        return Err(format!(
            "the resolved scenario does not load: {e}\n{resolved}"
        ));
    }
    let cheap = m.duration.0 <= 7_200_000_000
        && m.duration.0 / m.bucket.0 <= 20_000
        && m.functions.len() <= 50
        && expected_requests(&s, &m) <= 50_000.0;
    if !cheap {
        return Ok(Verdict::Valid { simulated: false });
    }
    let mut csv = CsvShape {
        names: m.functions.iter().map(|f| f.name.clone()).collect(),
        bad_row: None,
    };
    let out = catch_unwind(AssertUnwindSafe(|| simulate(&m, &mut csv)))
        .map_err(|p| format!("panic while simulating: {}", panic_text(&p)))?;
    if let Some(row) = csv.bad_row {
        return Err(format!("malformed timeseries.csv row: {row:?}"));
    }
    catch_unwind(AssertUnwindSafe(|| {
        common::assert_run_conserved(&out.summary)
    }))
    .map_err(|p| format!("conservation broken: {}", panic_text(&p)))?;
    // `explain` on the same model with a window and function that may not exist.
    let d = m.duration.0;
    let pick_time = |k: u64| match (case.id as u64 + k) % 5 {
        0 => None,
        1 => Some(Micros(0)),
        2 => Some(Micros(d / 3)),
        3 => Some(Micros(d)),
        _ => Some(Micros(d.saturating_mul(7))),
    };
    let opts = ExplainOptions {
        function: match case.id % 3 {
            0 => None,
            1 => m.functions.first().map(|f| f.name.clone()),
            _ => Some("no-such-function".into()),
        },
        from: pick_time(0),
        to: pick_time(2),
    };
    let told = catch_unwind(AssertUnwindSafe(|| explain(&m, &path, &opts)))
        .map_err(|p| format!("panic in explain {opts:?}: {}", panic_text(&p)))?;
    if let Err(e) = told {
        let msg = e.to_string();
        if e.exit_code() != 2 || msg.contains('\n') || !file_in_case(&msg, dir) {
            return Err(format!("explain {opts:?}: not a clean input error: {msg}"));
        }
    }
    Ok(Verdict::Valid { simulated: true })
}

/// Renders every time-series row as `timeseries.csv` does and keeps the first one whose field
/// count is not the header's (a function name with a comma or a line break would do that).
struct CsvShape {
    names: Vec<String>,
    bad_row: Option<String>,
}

impl Recorder for CsvShape {
    fn bucket(&mut self, rows: &[BucketRow]) {
        for r in rows {
            let name = r.function.map_or("*", |i| self.names[i as usize].as_str());
            let mut line = Vec::new();
            write_row(&mut line, r, name).unwrap();
            let line = String::from_utf8_lossy(&line).into_owned();
            let fields = line.trim_end_matches('\n').split(',').count();
            if (fields != COLUMNS.len() || line.matches('\n').count() != 1)
                && self.bad_row.is_none()
            {
                self.bad_row = Some(line);
            }
        }
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(non-string panic)".into())
}

/// The real binary on the case's files: the library's verdict, one line on stderr, no panic.
fn check_binary(dir: &Path, verdict: &Verdict) -> Result<(), String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lambdasim"))
        .arg("check")
        .arg(dir.join("case.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
        return Err(format!("binary panicked: {err}"));
    }
    match verdict {
        Verdict::Rejected(msg) => {
            if out.status.code() != Some(2) {
                return Err(format!(
                    "binary exit {:?}, want 2: {err}",
                    out.status.code()
                ));
            }
            if err != format!("error: {msg}\n") {
                return Err(format!("binary said {err:?}, library {msg:?}"));
            }
        }
        Verdict::Valid { .. } => {
            if out.status.code() != Some(0) || !err.is_empty() {
                return Err(format!(
                    "binary exit {:?} on a valid scenario: {err}",
                    out.status.code()
                ));
            }
        }
    }
    Ok(())
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Longest a single case may take before it counts as a hang.
const CASE_TIMEOUT: Duration = Duration::from_secs(20);
/// Cases also run through the binary: this many rejected ones and a few valid ones.
const BINARY_REJECTED: usize = 50;
const BINARY_VALID: usize = 10;

#[test]
fn mutated_scenarios_and_traces_never_panic_hang_or_exhaust_memory() {
    let cases = env_u64("LAMBDASIM_FUZZ_CASES").unwrap_or(2000) as usize;
    let seed = env_u64("LAMBDASIM_FUZZ_SEED").unwrap_or(8);
    let seeds = seeds();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("traces")).unwrap();
    for (name, text) in &seeds.traces {
        std::fs::write(dir.path().join("traces").join(name), text).unwrap();
    }
    // Panics are caught and reported per case; keep their default message off the output.
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let (to_worker, inbox) = mpsc::channel::<Case>();
    let (reply, results) = mpsc::channel::<(Case, Result<Verdict, String>, Duration)>();
    let work_dir: PathBuf = dir.path().to_path_buf();
    // The worker has the default 2 MiB stack of spawned threads (sweep workers have no more;
    // the CLI's main thread has 8 MiB).
    let worker = std::thread::Builder::new()
        .spawn(move || {
            let mut binary = (0, 0);
            for case in inbox {
                let t0 = Instant::now();
                let mut v = run_case(&case, &work_dir);
                if let Ok(verdict) = &v {
                    let run_binary = match verdict {
                        Verdict::Rejected(_) if binary.0 < BINARY_REJECTED => {
                            binary.0 += 1;
                            true
                        }
                        Verdict::Valid { .. } if binary.1 < BINARY_VALID => {
                            binary.1 += 1;
                            true
                        }
                        _ => false,
                    };
                    if run_binary {
                        if let Err(e) = check_binary(&work_dir, verdict) {
                            v = Err(e);
                        }
                    }
                }
                if reply.send((case, v, t0.elapsed())).is_err() {
                    break;
                }
            }
            binary
        })
        .unwrap();
    let mut rng = stream(seed, "fuzz", 0);
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    let verbose = std::env::var_os("LAMBDASIM_FUZZ_VERBOSE").is_some();
    let mut busy = Duration::ZERO;
    for id in 0..cases {
        let case = make_case(id, &seeds, &mut rng);
        let what = case.what.clone();
        to_worker.send(case).unwrap();
        let (case, verdict, took) = match results.recv_timeout(CASE_TIMEOUT) {
            Ok(x) => x,
            Err(_) => {
                let _ = std::panic::take_hook();
                panic!("case {id} ({what}) did not finish within {CASE_TIMEOUT:?}: a hang");
            }
        };
        tally.cases += 1;
        if verbose && took > Duration::from_millis(30) {
            println!(
                "case {id} took {:.0} ms: {}",
                took.as_secs_f64() * 1e3,
                case.what
            );
        }
        busy += took;
        if took > slowest.0 {
            slowest = (took, case.what.clone());
        }
        match verdict {
            Ok(Verdict::Rejected(_)) => tally.rejected += 1,
            Ok(Verdict::Valid { simulated }) => {
                tally.valid += 1;
                tally.simulated += simulated as usize;
            }
            Err(e) => {
                let text: String = case.scenario.chars().take(2000).collect();
                failures.push(format!(
                    "case {} ({}): {e}\n--- scenario ---\n{text}\n--- trace ---\n{}",
                    case.id,
                    case.what,
                    case.trace
                        .as_deref()
                        .unwrap_or("")
                        .chars()
                        .take(500)
                        .collect::<String>()
                ));
            }
        }
    }
    drop(to_worker);
    let binary = worker.join().unwrap();
    tally.binary = binary.0 + binary.1;
    let _ = std::panic::take_hook();
    let peak = PEAK.load(Relaxed);
    if verbose {
        println!("time in cases: {:.1} s", busy.as_secs_f64());
    }
    println!(
        "fuzz: {} cases in {:.1} s: {} rejected with a clean error, {} valid ({} simulated); {} also through the binary; slowest case {:.0} ms ({}); peak memory {:.0} MiB",
        tally.cases,
        started.elapsed().as_secs_f64(),
        tally.rejected,
        tally.valid,
        tally.simulated,
        tally.binary,
        slowest.0.as_secs_f64() * 1e3,
        slowest.1,
        peak as f64 / (1 << 20) as f64
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        tally.cases,
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    assert!(peak < PEAK_LIMIT, "peak memory {peak} bytes");
    // The mutations must reach both sides: plenty of rejections, and valid runs.
    assert!(tally.rejected >= cases / 4, "{tally:?}");
    assert!(tally.simulated >= cases / 20, "{tally:?}");
    assert_eq!(binary.0, BINARY_REJECTED.min(tally.rejected), "{tally:?}");
    assert_eq!(binary.1, BINARY_VALID.min(tally.valid), "{tally:?}");
}

/// Names and paths end up in CSV fields, folder names and messages: commas, quotes and control
/// characters there are refused (a comma in a function name used to add a column to every
/// timeseries.csv row; found by review of the fuzz results).
#[test]
fn names_and_paths_that_would_break_outputs_are_refused() {
    let cases = [
        ("name = \"a,b\"", "functions[0].name"),
        ("name = \"a\\\"b\"", "functions[0].name"),
        ("name = \"a\\nb\"", "functions[0].name"),
        ("name = \"a\\rb\"", "functions[0].name"),
        (
            "name = \"f\"\ninit = { dist = \"empirical\", path = \"x\\ry\" }",
            "functions[0].init.path",
        ),
    ];
    for (function, needle) in cases {
        let text = format!(
            "name = \"n\"\nduration = \"1s\"\n[[functions]]\n{function}\nduration = \"1ms\"\n"
        );
        let e = load_str(&text, Path::new("n.toml"), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(needle) && !e.contains(['\r', '\n']),
            "{function}: {e:?}"
        );
    }
    let text = "name = \"n\\u001b[31m\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = \"1ms\"\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"trace\", path = \"t\\r.csv\" }\n";
    let e = load_str(text, Path::new("n.toml"), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("name: must not contain control characters"),
        "{e:?}"
    );
    let text = text.replace("\\u001b[31m", "");
    let e = load_str(&text, Path::new("n.toml"), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("traffic[0].load.path"), "{e:?}");
}

/// Absurd inputs are refused by validation with a message saying which limit, at once.
#[test]
fn absurd_inputs_are_rejected_with_a_clear_message() {
    const F: &str = "[[functions]]\nname = \"f\"\nduration = \"10ms\"\n";
    let traffic = |load: &str| format!("[[traffic]]\nfunction = \"f\"\nload = {load}\n");
    let many_functions: String = (0..2000)
        .map(|k| format!("[[functions]]\nname = \"f{k}\"\nduration = \"1ms\"\n"))
        .collect();
    let cases: Vec<(&str, String, &str)> = vec![
        ("10^12 rps", format!("name = \"a\"\nduration = \"1s\"\n{F}{}", traffic("{ kind = \"constant\", rps = 1e12 }")), "over the limit"),
        ("10^12 rps in a step", format!("name = \"a\"\nduration = \"1s\"\n{F}{}", traffic("{ kind = \"steps\", steps = [{ at = \"0s\", rps = 1 }, { at = \"1s\", rps = 1e12 }] }")), "over the limit"),
        ("diurnal peak over the limit", format!("name = \"a\"\nduration = \"1s\"\n{F}{}", traffic("{ kind = \"diurnal\", mean = 9e6, amplitude = 9e6, period = \"1h\" }")), "over the limit"),
        ("10^7 rps for 90 days", format!("name = \"a\"\nduration = \"90d\"\n{F}{}", traffic("{ kind = \"constant\", rps = 1e7 }")), "requests"),
        ("99999999 hours", format!("name = \"a\"\nduration = \"99999999h\"\n{F}"), "duration"),
        ("inf duration", format!("name = \"a\"\nduration = inf\n{F}"), "finite"),
        ("1 ms buckets for 90 days", format!("name = \"a\"\nduration = \"90d\"\nbucket = \"1ms\"\n{F}"), "buckets"),
        ("2000 functions, 1 s buckets, 60 days", format!("name = \"a\"\nduration = \"60d\"\n{many_functions}"), "rows"),
        ("2^64 concurrency", format!("name = \"a\"\nduration = \"1s\"\n[account]\nconcurrency_limit = 18446744073709551616\n{F}"), "concurrency_limit"),
        ("4e9 concurrency", format!("name = \"a\"\nduration = \"1s\"\n[account]\nconcurrency_limit = 4000000000\n{F}"), "concurrency_limit"),
        ("NaN error rate", format!("name = \"a\"\nduration = \"1s\"\n{F}error_rate = nan\n"), "error_rate"),
        ("trace count 10^12", format!("name = \"a\"\nduration = \"1s\"\n{F}{}", traffic("{ kind = \"trace\", path = \"big.csv\" }")), "big.csv"),
        ("trace scaled past the limit", format!("name = \"a\"\nduration = \"1s\"\n{F}{}", traffic("{ kind = \"trace\", path = \"many.csv\", scale = 1e6 }")), "over the limit"),
    ];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.csv"), "time_s,count\n0,1e12\n").unwrap();
    std::fs::write(dir.path().join("many.csv"), "time_s,count\n0,1e4\n1,1e4\n").unwrap();
    let path = dir.path().join("absurd.toml");
    for (what, text, needle) in cases {
        std::fs::write(&path, &text).unwrap();
        let t0 = Instant::now();
        let e = match load_model(&path, &[], None) {
            Ok(_) => panic!("{what}: accepted"),
            Err(e) => e,
        };
        let msg = e.to_string();
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "{what}: took {:?}",
            t0.elapsed()
        );
        assert_eq!(e.exit_code(), 2, "{what}: {msg}");
        assert!(!msg.contains('\n'), "{what}: {msg}");
        assert!(msg.contains(needle), "{what}: {msg:?} lacks {needle:?}");
    }
}

/// Deep nesting through the real binary: a clean error (or success), never a stack overflow.
#[test]
fn deeply_nested_input_fails_cleanly_in_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.toml");
    let base = "name = \"d\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = \"1ms\"\n";
    for n in [1_000usize, 100_000] {
        let nested = [
            format!("x = {}{}\n", "[".repeat(n), "]".repeat(n)),
            format!("x = {}1{}\n", "{ a = ".repeat(n), " }".repeat(n)),
            format!("x = {}\n", "[".repeat(n)),
            format!("[{}]\n", vec!["a"; n].join(".")),
            format!(
                "[[functions]]\nname = \"g\"\nduration = {}1{}\n",
                "{ a = ".repeat(n),
                " }".repeat(n)
            ),
        ];
        for text in nested {
            std::fs::write(&path, format!("{base}{text}")).unwrap();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_lambdasim"))
                .arg("check")
                .arg(&path)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{n} levels: {err}");
            assert!(
                err.starts_with("error: ") && err.contains("deep.toml"),
                "{err}"
            );
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        }
    }
}

/// Outputs are atomic (issue #8 item 3, re-checked here): a run killed while it writes leaves
/// the previous run's files whole, and a finished run leaves no temporary file behind.
#[test]
fn a_killed_run_leaves_the_previous_outputs_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let scenario = |duration: &str| {
        format!("name = \"k\"\nduration = \"{duration}\"\n[account]\nconcurrency_limit = 10000\n[[functions]]\nname = \"f\"\nduration = {{ dist = \"exponential\", mean = \"100ms\" }}\n[[traffic]]\nfunction = \"f\"\nload = {{ kind = \"constant\", rps = 1000 }}\n")
    };
    let short = dir.path().join("short.toml");
    let long = dir.path().join("long.toml");
    std::fs::write(&short, scenario("20s")).unwrap();
    std::fs::write(&long, scenario("12h")).unwrap();
    let bin = env!("CARGO_BIN_EXE_lambdasim");
    let ok = std::process::Command::new(bin)
        .args(["run", "--no-charts", "--out"])
        .arg(&out)
        .arg(&short)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert!(
        names(&out).iter().all(|n| !n.starts_with('.')),
        "temporary files left: {:?}",
        names(&out)
    );
    let before: Vec<(String, Vec<u8>)> = ["summary.json", "timeseries.csv"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(out.join(f)).unwrap()))
        .collect();
    // 12 simulated hours at 1000/s take many seconds: kill the run while it streams its CSV.
    let mut child = std::process::Command::new(bin)
        .args(["run", "--no-charts", "--out"])
        .arg(&out)
        .arg(&long)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The run writes into a staging folder beside `out` (src/output/staging.rs).
    let tmp = dir
        .path()
        .join(format!(".out.lambdasim-tmp.{}", child.id()))
        .join(format!(".timeseries.csv.tmp{}", child.id()));
    let t0 = Instant::now();
    while std::fs::metadata(&tmp).map_or(0, |m| m.len()) < 100_000 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the long run ended before it was killed"
        );
        assert!(t0.elapsed() < Duration::from_secs(60), "no temporary CSV");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    for (name, bytes) in &before {
        assert!(
            std::fs::read(out.join(name)).unwrap() == *bytes,
            "{name} changed by a killed run"
        );
    }
}
