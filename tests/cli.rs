//! The `cairn` binary as a user runs it: help, exit codes, and `--json` summaries.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the assertion

mod common;

use std::process::Command;

use common::*;

fn cairn(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn help_lists_every_command() {
    let out = cairn(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["compile", "run", "prove", "verify", "inspect"] {
        assert!(text.contains(cmd), "{cmd} missing from --help");
    }
}

#[test]
fn json_summaries_are_the_last_line_and_errors_exit_non_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let model = model("linear");
    let out = cairn(&["compile", model.to_str().unwrap(), "-o", dir, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["ok"], true);
    assert!(last["program_hash"].as_str().unwrap().starts_with("0x"));

    let out = cairn(&[
        "run",
        dir,
        "--input",
        input("linear").to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(last["steps"].as_u64().unwrap() > 0);
    assert_eq!(last["bit_exact"], true);

    // Recompiling drops the previous run's artifacts.
    assert!(tmp.path().join("run.json").exists());
    let out = cairn(&["compile", model.to_str().unwrap(), "-o", dir, "--json"]);
    assert!(out.status.success());
    assert!(!tmp.path().join("run.json").exists());

    // A missing proof: a clear error, a JSON error line, exit code 1, no panic.
    let out = cairn(&["verify", dir, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot read the proof"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["ok"], false);
}
