//! Hostile and extreme input through the real binary (issue #16 deliver 5): one key of a
//! valid shipped scenario at a time set to a hostile value, extreme sizes under an address-space
//! limit (`prlimit --as`), and runs killed at a random moment then rerun into the same `--out`.
//! Every process must end with exit 0 or 2 — never 101 (panic), 134 (abort) or 137 (killed by
//! the memory limit) — and an input error is one stderr line.
//!
//! `FUZZ_CASES` (or `LAMBDASIM_FUZZ_CASES`) scales the random parts (default: a few seconds);
//! `FUZZ_SEED` picks another sequence. RELIABILITY.md lists the campaign's figures.

mod common;

use lambdasim::rng::Rng;
use rand::RngExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn env_u64(names: &[&str]) -> Option<u64> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().and_then(|v| v.trim().parse().ok()))
}

fn cases(default: u64) -> u64 {
    env_u64(&["FUZZ_CASES", "LAMBDASIM_FUZZ_CASES"]).unwrap_or(default)
}

fn rng(salt: u64) -> Rng {
    lambdasim::rng::stream(env_u64(&["FUZZ_SEED"]).unwrap_or(16), "extreme", salt)
}

/// Address-space limit of every process (the binary's own threads and allocator included).
const AS_LIMIT: &str = "--as=3000000000";

/// `lambdasim ARGS` under the address-space limit, killed after `timeout` (then `None`).
fn lambdasim(args: &[&std::ffi::OsStr], timeout: Duration) -> Option<Output> {
    // Output goes to files: a pipe read only at the end would block a child that writes more
    // than the pipe holds (a large table) and look like a hang.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let base =
        std::env::temp_dir().join(format!("lambdasim-extreme-io-{}-{n}", std::process::id()));
    let (out, err) = (base.with_extension("out"), base.with_extension("err"));
    let mut c = Command::new("prlimit");
    c.arg(AS_LIMIT)
        .arg(env!("CARGO_BIN_EXE_lambdasim"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    let mut child = c.spawn().expect("prlimit");
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if t0.elapsed() > timeout {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let o = status.map(|status| Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    });
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&err);
    o
}

/// Outcome classes of one process.
#[derive(Default, Debug)]
struct Tally {
    ok: u64,
    refused: u64,
    slow: u64,
    other: Vec<String>,
}

impl Tally {
    fn add(&mut self, what: &str, o: Option<Output>) {
        let Some(o) = o else {
            eprintln!("slow: {what}");
            self.slow += 1;
            return;
        };
        let err = String::from_utf8_lossy(&o.stderr);
        match o.status.code() {
            Some(0) => self.ok += 1,
            Some(2)
                if err.trim_end().lines().count() == 1
                    && err.len() < 2000
                    && !err.contains("panicked") =>
            {
                self.refused += 1
            }
            c => self.other.push(format!(
                "{what}: exit {c:?} (signal {:?}): {}",
                std::os::unix::process::ExitStatusExt::signal(&o.status),
                err.chars().take(300).collect::<String>()
            )),
        }
    }
}

/// Leaf keys of a TOML document with their values ("functions.0.memory_mb" style paths
/// become file edits, so arrays of tables are fine).
fn leaves(v: &toml::Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                path.push(k.clone());
                leaves(x, path, out);
                path.pop();
            }
        }
        toml::Value::Array(a) if a.iter().all(|x| x.is_table()) && !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                path.push(i.to_string());
                leaves(x, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn slot<'a>(v: &'a mut toml::Value, path: &[String]) -> &'a mut toml::Value {
    path.iter().fold(v, |v, k| match v {
        toml::Value::Table(t) => t.get_mut(k).unwrap(),
        toml::Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        _ => unreachable!(),
    })
}

/// Hostile replacements for a value: bounds of every numeric type, beyond them, NaN and
/// infinities, scaled copies, huge and odd strings, wrong types.
fn hostile(rng: &mut Rng, old: &toml::Value) -> toml::Value {
    use toml::Value as V;
    let big = |n: usize| "x".repeat(n);
    match rng.random_range(0..22) {
        0 => V::Integer(0),
        1 => V::Integer(-1),
        2 => V::Integer(i64::MAX),
        3 => V::Integer(i64::MIN),
        4 => V::Integer(u32::MAX as i64 + 1),
        5 => V::Integer(1 << 53),
        6 => V::Float(f64::NAN),
        7 => V::Float(f64::INFINITY),
        8 => V::Float(-f64::INFINITY),
        9 => V::Float(1e25),
        10 => V::Float(1e-300),
        11 => V::Float(-0.0),
        12 => V::String(big(65_536)),
        13 => V::String(big(1 << 20)),
        14 => V::String(String::new()),
        15 => V::String("\u{0}\u{7}\r\n,\"".into()),
        16 => V::String(
            ["1e25", "-1s", "1e400ms", "NaN", "99999999999h", "0ms"][rng.random_range(0..6)].into(),
        ),
        17 => V::Boolean(true),
        18 => V::Array(vec![V::Integer(1); 10_000]),
        // Scaled copies of the value itself: just past a bound in either direction.
        _ => match old {
            V::Integer(i) => {
                let f = [1_000_000i64, -1, 1000, 10][rng.random_range(0..4)];
                V::Integer(i.saturating_mul(f).saturating_add(1))
            }
            V::Float(x) => V::Float(x * [1e6, -1.0, 1e-6, 1.0001][rng.random_range(0..4)]),
            V::String(s) => {
                // Durations and names: a huge multiple, or the same text 1000 times.
                let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
                if digits.is_empty() {
                    V::String(s.repeat(1000))
                } else {
                    V::String(format!("{digits}000000000{}", &s[digits.len()..]))
                }
            }
            other => other.clone(),
        },
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lambdasim-extreme-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn one_hostile_value_on_a_valid_scenario_exits_0_or_2() {
    let n = cases(60);
    let mut rng = rng(1);
    let d = tmpdir("hostile");
    let shipped: Vec<(PathBuf, toml::Value)> = common::shipped_scenarios()
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let v = toml::Value::Table(toml::from_str(&text).unwrap());
            (p, v)
        })
        .collect();
    let mut tally = Tally::default();
    let mut ran = Tally::default();
    let t0 = Instant::now();
    for i in 0..n {
        let (path, doc) = &shipped[rng.random_range(0..shipped.len())];
        let mut keys = Vec::new();
        leaves(doc, &mut Vec::new(), &mut keys);
        let key = &keys[rng.random_range(0..keys.len())];
        let mut v = doc.clone();
        let new = hostile(&mut rng, slot(&mut v, key));
        *slot(&mut v, key) = new;
        // Traces and empirical files are named relative to the scenario: keep its folder.
        let file = path.with_file_name(format!(".extreme-{}-{i}.toml", std::process::id()));
        std::fs::write(&file, toml::to_string(&v).unwrap()).unwrap();
        let what = format!(
            "case {i}: {} {} = {}",
            path.display(),
            key.join("."),
            slot(&mut v, key)
                .to_string()
                .chars()
                .take(60)
                .collect::<String>()
        );
        let o = lambdasim(
            &["check".as_ref(), file.as_os_str()],
            Duration::from_secs(20),
        );
        let valid = o.as_ref().is_some_and(|o| o.status.success());
        tally.add(&what, o);
        // A valid one is also run, shortened to 30 simulated seconds, into a fresh folder.
        if valid {
            let out = d.join(format!("out{i}"));
            let o = lambdasim(
                &[
                    "run".as_ref(),
                    "--no-whatif".as_ref(),
                    "--quiet".as_ref(),
                    "--set".as_ref(),
                    "duration=30s".as_ref(),
                    "--out".as_ref(),
                    out.as_os_str(),
                    file.as_os_str(),
                ],
                Duration::from_secs(60),
            );
            ran.add(&what, o);
            let _ = std::fs::remove_dir_all(&out);
        }
        let _ = std::fs::remove_file(&file);
    }
    let _ = std::fs::remove_dir_all(&d);
    eprintln!(
        "hostile values: {n} cases in {:.1} s; check: {} ok, {} refused (exit 2, one line), {} slow, {} other; runs of the valid ones: {} ok, {} refused, {} slow, {} other",
        t0.elapsed().as_secs_f64(),
        tally.ok,
        tally.refused,
        tally.slow,
        tally.other.len(),
        ran.ok,
        ran.refused,
        ran.slow,
        ran.other.len()
    );
    assert!(tally.other.is_empty(), "{:#?}", tally.other);
    assert!(ran.other.is_empty(), "{:#?}", ran.other);
    assert_eq!(tally.slow, 0, "a check took over 20 s");
    assert_eq!(ran.slow, 0, "a 30-second run took over 60 s");
}

/// Scenarios of extreme size: each is refused (exit 2, naming the limit) or runs within the
/// address-space limit.
const EXTREME: &[(&str, &str)] = &[
    (
        "5,000 functions",
        "name = \"x\"\nduration = \"10s\"\nbucket = \"10s\"\n{FUNCS}",
    ),
    (
        "an async backlog behind reserved concurrency 0 at 100,000 events/s",
        "name = \"x\"\nduration = \"20s\"\nbucket = \"60s\"\n[[functions]]\nname = \"f\"\nduration = \"100ms\"\nreserved_concurrency = 0\n[[traffic]]\nfunction = \"f\"\ninvocation = \"async\"\nload = { kind = \"constant\", rps = 100000 }\n",
    ),
    (
        "an SQS backlog of 2·10^6 messages",
        "name = \"x\"\nduration = \"20s\"\nbucket = \"60s\"\n[[functions]]\nname = \"f\"\nduration = \"1s\"\n[[traffic]]\nfunction = \"f\"\ninvocation = \"sqs\"\nload = { kind = \"constant\", rps = 100000 }\nsqs = { batch_size = 10, maximum_concurrency = 2 }\n",
    ),
    (
        "a bucket of 1 ms over 90 days",
        "name = \"x\"\nduration = \"90d\"\nbucket = \"1ms\"\n[[functions]]\nname = \"f\"\nduration = \"100ms\"\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"constant\", rps = 1 }\n",
    ),
    (
        "10^7 requests per second for 90 days",
        "name = \"x\"\nduration = \"90d\"\nbucket = \"1h\"\n[[functions]]\nname = \"f\"\nduration = \"100ms\"\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"constant\", rps = 10000000 }\n",
    ),
    (
        "100,000 stream lanes",
        "name = \"x\"\nduration = \"30s\"\nbucket = \"10s\"\n[[functions]]\nname = \"f\"\nduration = \"100ms\"\n[[traffic]]\nfunction = \"f\"\ninvocation = \"stream\"\nload = { kind = \"constant\", rps = 1000 }\nstream = { shards = 10000, parallelization_factor = 10 }\n",
    ),
    (
        "an account limit of 10^7 with 10^7 requests per second",
        "name = \"x\"\nduration = \"2s\"\nbucket = \"1s\"\n[account]\nconcurrency_limit = 10000000\n[[functions]]\nname = \"f\"\nduration = \"10s\"\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"constant\", rps = 10000000 }\n",
    ),
    (
        "a function name of 65,536 characters",
        "name = \"x\"\nduration = \"10s\"\n[[functions]]\nname = \"{LONG}\"\nduration = \"100ms\"\n[[traffic]]\nfunction = \"{LONG}\"\nload = { kind = \"constant\", rps = 1 }\n",
    ),
    (
        "10^6 SDK clients",
        "name = \"x\"\nduration = \"10s\"\n[[functions]]\nname = \"f\"\nduration = \"100ms\"\n[[traffic]]\nfunction = \"f\"\nload = { kind = \"constant\", rps = 100 }\nretry = { mode = \"adaptive\", clients = 1000000 }\n",
    ),
];

#[test]
fn extreme_sizes_under_a_memory_limit_exit_0_or_2() {
    let d = tmpdir("sizes");
    let funcs: String = (0..5_000)
        .map(|i| format!("[[functions]]\nname = \"f{i}\"\nduration = \"100ms\"\n"))
        .collect();
    let long = "n".repeat(65_536);
    let mut tally = Tally::default();
    for (i, (what, text)) in EXTREME.iter().enumerate() {
        let text = text.replace("{FUNCS}", &funcs).replace("{LONG}", &long);
        let file = common::write(&d, &format!("x{i}.toml"), &text);
        let out = d.join(format!("out{i}"));
        let t0 = Instant::now();
        let o = lambdasim(
            &[
                "run".as_ref(),
                "--no-charts".as_ref(),
                "--no-whatif".as_ref(),
                "--quiet".as_ref(),
                "--out".as_ref(),
                out.as_os_str(),
                file.as_os_str(),
            ],
            Duration::from_secs(300),
        );
        eprintln!(
            "{what}: exit {:?} in {:.1} s: {}",
            o.as_ref().map(|o| o.status.code()),
            t0.elapsed().as_secs_f64(),
            o.as_ref()
                .map(|o| String::from_utf8_lossy(&o.stderr)
                    .chars()
                    .take(200)
                    .collect::<String>())
                .unwrap_or_default()
                .trim_end()
        );
        tally.add(what, o);
    }
    let _ = std::fs::remove_dir_all(&d);
    assert!(tally.other.is_empty(), "{:#?}", tally.other);
    assert_eq!(tally.slow, 0, "a case took over 300 s");
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn runs_killed_at_a_random_moment_leave_a_folder_the_next_run_replaces() {
    let n = cases(6).min(10_000);
    let mut rng = rng(3);
    let d = tmpdir("kill");
    let shipped = common::shipped_scenarios();
    let out = d.join("out");
    let bin = env!("CARGO_BIN_EXE_lambdasim");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    for i in 0..n {
        let s = &shipped[rng.random_range(0..shipped.len())];
        let mut child = Command::new(bin)
            .args(["run", "--quiet", "--out"])
            .arg(&out)
            .arg(s)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(0..400)));
        let _ = child.kill();
        child.wait().unwrap();
        // The next run into the same folder succeeds and leaves only known outputs there, and
        // nothing of either run beside it.
        let s = &shipped[rng.random_range(0..shipped.len())];
        let o = Command::new(bin)
            .args(["run", "--quiet", "--no-whatif", "--out"])
            .arg(&out)
            .arg(s)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "case {i} ({}): {}",
            s.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        for name in names(&out) {
            assert!(
                name == "notes.txt" || lambdasim::output::staging::is_known_output(&name),
                "case {i}: {name} left in the output folder"
            );
            assert!(!name.starts_with('.'), "case {i}: {name}");
        }
        assert_eq!(
            std::fs::read_to_string(out.join("notes.txt")).unwrap(),
            "mine"
        );
        assert!(out.join("summary.json").exists() && out.join("timeseries.csv").exists());
        assert_eq!(names(&d), ["out"], "case {i}: leftovers beside the folder");
    }
    let _ = std::fs::remove_dir_all(&d);
}
