//! `lambdasim serve` over real HTTP: a bad value gets the message `check` prints, the throttle
//! count equals `lambdasim run`'s for the same --set, work is capped with a clear message, idle
//! connections beyond the bound are refused at once, and the page loads nothing from outside.

use assert_cmd::cargo::CommandCargoExt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/spiky-api.toml");

/// The server, stopped when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let mut child = Command::cargo_bin("lambdasim")
        .unwrap()
        .args(["serve", SCENARIO, "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    assert!(
        addr.starts_with("127.0.0.1:"),
        "loopback by default: {addr}"
    );
    Server { child, addr }
}

/// GET `target`: (status line, body).
fn get(addr: &str, target: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {target} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

fn run_json(addr: &str, query: &str) -> serde_json::Value {
    let (status, body) = get(addr, &format!("/run?{query}"));
    assert!(status.contains("200"), "{status}");
    serde_json::from_str(&body).unwrap()
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("lambdasim")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn serve_answers_like_check_and_run() {
    let srv = start();
    // Bad values: a type error and a range error, each with the message `check` prints.
    for set in [
        "account.concurrency_limit=-5",
        "functions.api.reserved_concurrency=5000",
    ] {
        let v = run_json(&srv.addr, &format!("set={}", set.replace('=', "%3D")));
        assert_eq!(v["ok"], false);
        let check = cli(&["check", SCENARIO, "--set", set]);
        assert_eq!(check.status.code(), Some(2));
        let msg = String::from_utf8(check.stderr).unwrap();
        assert_eq!(
            format!("error: {}", v["error"].as_str().unwrap()),
            msg.trim_end()
        );
    }
    // The same settings as `lambdasim run`: the same throttle count.
    let v = run_json(&srv.addr, "set=functions.api.reserved_concurrency%3D100");
    assert_eq!(v["ok"], true, "{v}");
    let out = tempfile::tempdir().unwrap();
    let o = cli(&[
        "run",
        SCENARIO,
        "--set",
        "functions.api.reserved_concurrency=100",
        "--format",
        "json",
        "--no-charts",
        "--no-whatif",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let expected = &j["account"]["throttles"]["total"];
    assert!(
        expected.as_u64().unwrap() > 0,
        "a reservation of 100 throttles the spikes"
    );
    assert_eq!(&v["throttles"], expected);
    assert!(v["narration"]
        .as_str()
        .unwrap()
        .contains("reserved concurrency 100"));
    assert!(v["charts"][0]["svg"].as_str().unwrap().contains("<svg"));
    // A scaled duration goes through the same override path: the command line says how.
    let v = run_json(&srv.addr, "scale=functions.api.duration%3D2");
    assert_eq!(v["ok"], true, "{v}");
    assert!(
        v["command"]
            .as_str()
            .unwrap()
            .contains("median = \"120ms\""),
        "{v}"
    );
}

#[test]
fn serve_caps_work_and_connections() {
    let srv = start();
    // 100 times the load: about 3.3 million requests, over the page's cap.
    let v = run_json(&srv.addr, "scale=traffic.0.load%3D100");
    assert_eq!(v["ok"], false);
    let err = v["error"].as_str().unwrap();
    assert!(err.contains("the page runs at most 3000000"), "{err}");
    assert!(
        v["ms"].as_f64().unwrap() < 1000.0,
        "refused before simulating"
    );
    // A long run with little load is capped by its time-series rows (90 days of 1 s buckets).
    let v = run_json(
        &srv.addr,
        "set=duration%3D%2290d%22&set=traffic.0.load%3D%7Bkind%3D%22constant%22%2Crps%3D0.01%7D",
    );
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("the page records at most 2000000"),
        "{v}"
    );
    let v = run_json(&srv.addr, "scale=traffic.0.load%3D1000");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("must be in 0.01..=100"),
        "{v}"
    );

    // Eight idle connections take every slot: a ninth is refused at once, not queued. (The
    // kernel may hand the server the ninth before the last idle one: ask a few times.)
    let idle: Vec<TcpStream> = (0..lambdasim::serve::MAX_CONNECTIONS)
        .map(|_| TcpStream::connect(&srv.addr).unwrap())
        .collect();
    // Generous on a loaded machine: the server may take a while to accept all eight.
    let refused = (0..80).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        get(&srv.addr, "/").0.contains("503")
    });
    assert!(
        refused,
        "a request beyond the connection bound is answered 503"
    );
    drop(idle);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (status, page) = get(&srv.addr, "/");
    assert!(status.contains("200"), "{status}");
    // Offline: nothing is fetched from elsewhere (no external script, style, font or image).
    for bad in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!page.contains(bad), "page refers to {bad}");
    }
    assert!(page.contains("functions.api.reserved_concurrency"));
}
