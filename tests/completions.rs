//! Shell completions and the man page are generated from the CLI definition, so every
//! subcommand the binary has appears in both (a command added later is documented by itself).

use assert_cmd::Command;

const COMMANDS: [&str; 8] = [
    "run",
    "check",
    "explain",
    "schema",
    "presets",
    "sweep",
    "merge",
    "completions",
];

fn stdout(args: &[&str]) -> String {
    let out = Command::cargo_bin("lambdasim")
        .expect("binary")
        .args(args)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{args:?} failed: {:?}", out);
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn completions_name_every_subcommand_in_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout(&["completions", shell]);
        for c in COMMANDS {
            assert!(script.contains(c), "{shell} completions lack `{c}`");
        }
    }
    let bash = stdout(&["completions", "bash"]);
    assert!(
        bash.contains("complete -F _lambdasim"),
        "bash script registers the function"
    );
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let page = stdout(&["man"]);
    assert!(page.contains(".TH lambdasim 1"), "a section-1 roff page");
    for c in COMMANDS {
        assert!(page.contains(c), "man page lacks `{c}`");
    }
}

#[test]
fn an_unknown_shell_is_refused_with_exit_code_2() {
    let out = Command::cargo_bin("lambdasim")
        .expect("binary")
        .args(["completions", "nosh"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}
