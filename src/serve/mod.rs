//! `lambdasim serve`: a local page to play with a scenario. Sliders and fields for the
//! parameters that teach (load, durations, reserved, provisioned, account limit, scaling mode,
//! region, retry mode) rerun the scenario on each change and redraw the charts and narration.
//!
//! Plain `std::net`, no async runtime: the page makes one request per change. Connections are
//! read on their own threads, at most [`MAX_CONNECTIONS`] at once (browsers open idle sockets
//! ahead of time, which must not block the others), and runs take one lock, so one simulation
//! runs at a time. Each run is bounded in simulated work ([`session::MAX_REQUESTS`]). The page
//! (HTML, script, style and font) is compiled into the binary: it works offline.

pub mod session;

use crate::error::Error;
use session::Session;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most connections handled at once; more are answered 503 at once.
pub const MAX_CONNECTIONS: usize = 8;
/// Longest request head read (request line and headers).
const MAX_HEAD: u64 = 16 * 1024;

const PAGE: &str = include_str!("page.html");

/// Options of `lambdasim serve`.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The scenario file; `None` serves the built-in example (scenarios/spiky-api.toml).
    pub scenario: Option<PathBuf>,
    /// Address to listen on.
    pub bind: IpAddr,
    /// 0 picks a free port (printed on stdout).
    pub port: u16,
}

/// Binds, prints the address and serves until the process is stopped.
pub fn serve(opts: &ServeOptions) -> Result<(), Error> {
    let session = Arc::new(Session::new(opts.scenario.as_deref())?);
    let page = Arc::new(render_page(&session)?);
    let listener = TcpListener::bind(SocketAddr::new(opts.bind, opts.port)).map_err(|e| {
        Error::runtime(format!("cannot listen on {}:{}: {e}", opts.bind, opts.port))
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::runtime(e.to_string()))?;
    let built_in = if session.builtin.is_some() {
        " (built in)"
    } else {
        ""
    };
    println!(
        "serving {}{built_in} on http://{addr}/ (Ctrl-C to stop)",
        session.path.display()
    );
    let _ = std::io::stdout().flush();
    let live = Arc::new(AtomicUsize::new(0));
    let lock = Arc::new(Mutex::new(()));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        if live.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            live.fetch_sub(1, Ordering::SeqCst);
            // Read what the client sent (briefly) so the answer is not lost to a reset.
            let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
            let _ = read_request(&stream);
            let _ = respond(
                &mut stream,
                "503 Service Unavailable",
                "text/plain",
                b"busy\n",
            );
            continue;
        }
        let (session, page, live, lock) =
            (session.clone(), page.clone(), live.clone(), lock.clone());
        std::thread::spawn(move || {
            handle(stream, &session, &page, &lock);
            live.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

/// The page with the controls and the font filled in.
pub fn render_page(session: &Session) -> Result<String, Error> {
    let controls = session.controls()?;
    // `</` cannot end the script early inside a JSON string once escaped.
    let json = controls.to_string().replace("</", "<\\/");
    Ok(PAGE.replace("/*CONTROLS*/null", &json).replace(
        "FONT_BASE64",
        &crate::output::report::base64(dejavu::sans::regular()),
    ))
}

fn handle(mut stream: TcpStream, session: &Session, page: &str, lock: &Mutex<()>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let Some(target) = read_request(&stream) else {
        return;
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let _ = match path {
        "/" | "/index.html" => respond(
            &mut stream,
            "200 OK",
            "text/html; charset=utf-8",
            page.as_bytes(),
        ),
        "/run" => {
            let mut sets = Vec::new();
            let mut scales = Vec::new();
            for (k, v) in parse_query(query) {
                match k.as_str() {
                    "set" => sets.push(v),
                    "scale" => {
                        let (key, f) = v.split_once('=').unwrap_or((&v, ""));
                        scales.push((key.to_string(), f.to_string()));
                    }
                    _ => {}
                }
            }
            let body = {
                let _one_at_a_time = lock.lock().unwrap_or_else(|e| e.into_inner());
                session.run(&sets, &scales).to_string()
            };
            respond(&mut stream, "200 OK", "application/json", body.as_bytes())
        }
        "/favicon.ico" => respond(&mut stream, "204 No Content", "text/plain", b""),
        _ => respond(&mut stream, "404 Not Found", "text/plain", b"not found\n"),
    };
}

/// The target of a `GET` request (`/run?...`), or None for anything else or a bad request.
fn read_request(stream: &TcpStream) -> Option<String> {
    let mut r = BufReader::new(stream.take(MAX_HEAD));
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?, parts.next()?);
    // Drain the headers so the client sees its request read before the answer.
    loop {
        let mut h = String::new();
        match r.read_line(&mut h) {
            Ok(0) | Err(_) => break,
            Ok(_) if h == "\r\n" || h == "\n" => break,
            Ok(_) => {}
        }
    }
    (method == "GET").then(|| target.to_string())
}

fn respond(stream: &mut TcpStream, status: &str, kind: &str, body: &[u8]) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

/// `a=1&b=x%3Dy` → [("a", "1"), ("b", "x=y")], `+` as space, bad escapes kept as typed.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("set=a.b%3D3&scale=x.load%3D1.5&q=a+b%zz"),
            vec![
                ("set".into(), "a.b=3".into()),
                ("scale".into(), "x.load=1.5".into()),
                ("q".into(), "a b%zz".into())
            ]
        );
        assert_eq!(parse_query("set=%4"), vec![("set".into(), "%4".into())]);
    }
}
