//! The library's error type. Input errors carry the file, the key path inside it and, where
//! known, the line and column, so the CLI prints one line a user can act on and exits 2.

use std::fmt;
use std::path::{Path, PathBuf};

/// A path to a key inside a scenario or sweep file, e.g. `functions[1].memory_mb`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

/// One segment of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

impl KeyPath {
    /// Parses `a.b[2].c` (dots between keys, `[n]` for array elements).
    pub fn parse(text: &str) -> KeyPath {
        let mut segs = Vec::new();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let mut rest = part;
            if let Some(b) = rest.find('[') {
                if b > 0 {
                    segs.push(Seg::Key(rest[..b].to_string()));
                }
                rest = &rest[b..];
                while let Some(stripped) = rest.strip_prefix('[') {
                    let end = stripped.find(']').unwrap_or(stripped.len());
                    match stripped[..end].parse() {
                        Ok(i) => segs.push(Seg::Index(i)),
                        Err(_) => segs.push(Seg::Key(stripped[..end].to_string())),
                    }
                    rest = stripped.get(end + 1..).unwrap_or("");
                }
            } else {
                segs.push(Seg::Key(rest.to_string()));
            }
        }
        KeyPath(segs)
    }
    /// The path `functions[i].key`.
    pub fn function(i: usize, key: &str) -> KeyPath {
        KeyPath::parse(&format!("functions[{i}].{key}"))
    }
    /// The path `traffic[i].key`.
    pub fn traffic(i: usize, key: &str) -> KeyPath {
        KeyPath::parse(&format!("traffic[{i}].{key}"))
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Errors of lambdasim: bad input (exit code 2) or a failure while running.
#[derive(Debug)]
pub enum Error {
    /// Bad input (exit code 2): a file, the key path inside it, line and column, the problem.
    Input {
        /// The file the error is in.
        file: PathBuf,
        /// The key path of the offending value, when known.
        key: Option<KeyPath>,
        /// Line and column, when known.
        pos: Option<(usize, usize)>,
        /// What is wrong.
        msg: String,
    },
    /// Anything else that went wrong at run time (exit code 1), e.g. an unwritable output folder.
    Runtime(String),
}

impl Error {
    /// Bad input at key path `key` of `file`.
    pub fn input(file: &Path, key: KeyPath, msg: impl Into<String>) -> Error {
        Error::Input {
            file: file.to_path_buf(),
            key: Some(key),
            pos: None,
            msg: msg.into(),
        }
    }
    /// Bad input at position `pos` of `file`.
    pub fn input_at(file: &Path, pos: Option<(usize, usize)>, msg: impl Into<String>) -> Error {
        Error::Input {
            file: file.to_path_buf(),
            key: None,
            pos,
            msg: msg.into(),
        }
    }
    /// A failure while running (not the input's fault).
    pub fn runtime(msg: impl Into<String>) -> Error {
        Error::Runtime(msg.into())
    }
    /// The process exit code this error calls for.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input { .. } => 2,
            Error::Runtime(_) => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input {
                file,
                key,
                pos,
                msg,
            } => {
                let mut line = file.display().to_string();
                if let Some((l, c)) = pos {
                    line.push_str(&format!(":{l}:{c}"));
                }
                line.push_str(": ");
                if let Some(k) = key {
                    if !k.0.is_empty() {
                        line.push_str(&format!("{k}: "));
                    }
                }
                // One line: a multi-line parser message is folded.
                let one_line: Vec<&str> = msg
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                line.push_str(&shorten_quoted(&one_line.join(" ")));
                // Control characters from the input (a `--set` key, a file name) are shown
                // escaped, so they cannot garble the terminal line.
                for c in line.chars() {
                    if c.is_control() {
                        write!(f, "{}", c.escape_default())?;
                    } else {
                        write!(f, "{c}")?;
                    }
                }
                Ok(())
            }
            Error::Runtime(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Longest quoted input value an error message repeats in full; longer ones (a 1 MB string
/// where a number belongs) are cut, so the error stays one short line.
const MAX_QUOTED: usize = 64;

/// `msg` with every quoted run longer than [`MAX_QUOTED`] characters cut to its start and its
/// length, and the whole cut to 1000 characters.
fn shorten_quoted(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len().min(1100));
    for (i, piece) in msg.split('"').enumerate() {
        if i > 0 {
            out.push('"');
        }
        let n = piece.chars().count();
        if i % 2 == 1 && n > MAX_QUOTED {
            out.extend(piece.chars().take(40));
            out.push_str(&format!("... ({n} characters)"));
        } else {
            out.push_str(piece);
        }
    }
    if out.chars().count() > 1000 {
        let n = out.chars().count();
        out = out.chars().take(960).collect();
        out.push_str(&format!("... ({n} characters)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_round_trip() {
        for p in [
            "functions[1].memory_mb",
            "account.concurrency_limit",
            "traffic[0].load.steps[2].rps",
        ] {
            assert_eq!(KeyPath::parse(p).to_string(), p);
        }
    }

    #[test]
    fn input_errors_are_one_line_with_position() {
        let e = Error::Input {
            file: "s.toml".into(),
            key: Some(KeyPath::parse("functions[0].memory_mb")),
            pos: Some((12, 3)),
            msg: "must be in 128..=10240\n  got 99".into(),
        };
        assert_eq!(
            e.to_string(),
            "s.toml:12:3: functions[0].memory_mb: must be in 128..=10240 got 99"
        );
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn long_quoted_values_are_cut_in_messages() {
        let big = "x".repeat(1 << 20);
        let e = Error::input(
            Path::new("s.toml"),
            KeyPath::parse("traffic[0].load"),
            format!("invalid type: string \"{big}\", expected a number"),
        );
        let text = e.to_string();
        assert!(text.len() < 300, "{} bytes", text.len());
        assert!(text.contains("(1048576 characters)"), "{text}");
        assert!(text.ends_with("expected a number"), "{text}");
        // Short values stay whole.
        let e = Error::input(Path::new("s.toml"), KeyPath::parse("a"), "got \"abc\"");
        assert_eq!(e.to_string(), "s.toml: a: got \"abc\"");
    }

    #[test]
    fn control_characters_are_escaped() {
        let e = Error::input(
            Path::new("s.toml"),
            KeyPath::parse("account.lim\rit"),
            "unknown key \u{1b}[31m",
        );
        let text = e.to_string();
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(text.contains("lim\\rit"), "{text:?}");
    }
}
