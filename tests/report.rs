//! report.html reads on its own: it carries the resolved scenario (in a collapsed <details>)
//! and the narration of `lambdasim explain`, byte for byte as those commands print them.

use assert_cmd::Command;
use lambdasim::output::report::escape;

#[test]
fn report_contains_resolved_toml_and_narration() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/spiky-api.toml");
    Command::cargo_bin("lambdasim")
        .unwrap()
        .args([
            "run",
            scenario,
            "--no-charts",
            "--no-whatif",
            "--seed",
            "11",
        ])
        .arg("--set")
        .arg("functions.api.reserved_concurrency=120")
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let resolved = std::fs::read_to_string(out.join("scenario.resolved.toml")).unwrap();
    // The override and the seed are in the embedded inputs: the report reproduces this run.
    assert!(resolved.contains("reserved_concurrency = 120") && resolved.contains("seed = 11"));
    let inputs = html
        .find("<details id=\"inputs\">")
        .expect("collapsible inputs");
    let pre = format!("<pre>{}</pre>", escape(resolved.trim_end()));
    assert!(
        html[inputs..].contains(&pre),
        "resolved TOML in the <details>"
    );

    let explain = Command::cargo_bin("lambdasim")
        .unwrap()
        .args(["explain", scenario, "--seed", "11"])
        .arg("--set")
        .arg("functions.api.reserved_concurrency=120")
        .output()
        .unwrap();
    assert!(explain.status.success());
    let narration = String::from_utf8(explain.stdout).unwrap();
    assert!(narration.contains("Function api"));
    let pre = format!(
        "<pre id=\"narration\">{}</pre>",
        escape(narration.trim_end())
    );
    assert!(html.contains(&pre), "narration equals `lambdasim explain`");
}
