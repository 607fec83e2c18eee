//! docs/tutorial.md never rots: every command in its ```sh blocks runs through the built
//! binary and exits 0, every output excerpt it quotes (plain ``` blocks) appears in what those
//! commands printed, and every image and scenario it names exists.

use std::path::Path;
use std::process::Command;

const TUTORIAL: &str = "docs/tutorial.md";

/// (info string, lines) of every fenced block.
fn blocks(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut cur: Option<(String, Vec<String>)> = None;
    for line in text.lines() {
        if let Some(info) = line.strip_prefix("```") {
            match cur.take() {
                Some(b) => out.push(b),
                None => cur = Some((info.trim().to_string(), Vec::new())),
            }
        } else if let Some((_, lines)) = cur.as_mut() {
            lines.push(line.to_string());
        }
    }
    assert!(cur.is_none(), "unclosed code block in {TUTORIAL}");
    out
}

/// The arguments after the program: `cargo run --release -- ARGS` or `lambdasim ARGS`.
fn args_of(cmd: &str) -> Vec<String> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let rest = if words.starts_with(&["cargo", "run", "--release", "--"]) {
        &words[4..]
    } else if words.first() == Some(&"lambdasim") {
        &words[1..]
    } else {
        panic!("{TUTORIAL}: command {cmd:?} is neither `cargo run --release -- ...` nor `lambdasim ...`");
    };
    for w in rest {
        assert!(
            !w.contains(['"', '\'', '>', '|', '$', '`']),
            "{TUTORIAL}: keep commands free of shell syntax so this test runs them as written: {cmd:?}"
        );
    }
    rest.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_tutorial_command_runs_and_every_quoted_output_is_real() {
    let text = std::fs::read_to_string(TUTORIAL).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut printed = String::new();
    let mut n = 0;
    for (info, lines) in blocks(&text) {
        if info != "sh" {
            continue;
        }
        for cmd in lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let mut args = args_of(cmd);
            // Outputs go to a temp dir, never into the repository: `output/...` paths that a
            // command names itself (import's scenario, compare's folder) are moved there too.
            for a in args.iter_mut() {
                if let Some(rest) = a.strip_prefix("output/") {
                    *a = tmp
                        .path()
                        .join("output")
                        .join(rest)
                        .to_string_lossy()
                        .into_owned();
                }
            }
            if (args[0] == "run" || args[0] == "sweep") && !args.iter().any(|a| a == "--out") {
                args.push("--out".into());
                args.push(
                    tmp.path()
                        .join(format!("cmd{n}"))
                        .to_string_lossy()
                        .into_owned(),
                );
            }
            let out = Command::new(env!("CARGO_BIN_EXE_lambdasim"))
                .args(&args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{TUTORIAL}: `{cmd}` exited {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            );
            printed.push_str(&String::from_utf8_lossy(&out.stdout));
            n += 1;
        }
    }
    assert!(n >= 15, "only {n} commands found in {TUTORIAL}");
    // Quoted outputs: each line (split at "...", which marks an elision) was really printed.
    let mut quoted = 0;
    for (info, lines) in blocks(&text) {
        if !info.is_empty() {
            continue;
        }
        for line in &lines {
            for frag in line.split("...").map(str::trim).filter(|f| f.len() > 3) {
                assert!(
                    printed.contains(frag),
                    "{TUTORIAL} quotes output that no command printed: {frag:?}"
                );
                quoted += 1;
            }
        }
    }
    assert!(
        quoted >= 10,
        "only {quoted} quoted output fragments checked"
    );
}

#[test]
fn every_image_and_scenario_named_exists() {
    let text = std::fs::read_to_string(TUTORIAL).unwrap();
    let mut images = 0;
    for part in text.split("](").skip(1) {
        let target = part.split(')').next().unwrap();
        if target.starts_with("http") {
            continue;
        }
        let path = Path::new("docs").join(target);
        assert!(
            path.exists(),
            "{TUTORIAL} links to missing {}",
            path.display()
        );
        images += 1;
    }
    assert!(
        images >= 5,
        "expected the tutorial's charts, found {images}"
    );
    for word in text.split(|c: char| c.is_whitespace() || c == '`') {
        if let Some(i) = word.find("scenarios/") {
            let name = word[i..].trim_end_matches(['.', ',', ':', ')']);
            // `scenarios/X.toml` is the placeholder in the prose.
            if name.ends_with(".toml") && name != "scenarios/X.toml" {
                assert!(Path::new(name).exists(), "{TUTORIAL} names missing {name}");
            }
        }
    }
}

#[test]
fn readme_links_the_tutorial() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    assert!(
        readme.contains("(docs/tutorial.md)"),
        "README must link docs/tutorial.md"
    );
}
