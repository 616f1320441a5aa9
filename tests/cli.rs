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

/// The JSON summary a `--json` run prints as its last line of stdout.
fn last_json(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().expect("a last line")).expect("JSON")
}

#[test]
fn help_lists_every_command() {
    let out = cairn(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "compile", "run", "report", "prove", "verify", "deploy", "submit", "facts", "act",
        "inspect",
    ] {
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
    let last = last_json(&out);
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
    let last = last_json(&out);
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

/// The no-configuration path: with no --rpc, `deploy` starts a local devnet in the background
/// and `submit`, run as a separate process, finds the deployment; after the node is stopped, the
/// next command restarts it and the state (the registered fact) is still there. The port and
/// state folder are private to this test (`CAIRN_DEVNET_PORT`, `CAIRN_HOME`).
#[test]
fn deploy_then_submit_need_no_configuration_and_state_survives() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let dir_s = dir.to_str().unwrap();
    let home = tmp.path().join("home");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(args)
            .env("CAIRN_DEVNET_PORT", &port)
            .env("CAIRN_HOME", &home)
            .env("CAIRN_DEVNET_BIN", env!("CARGO_BIN_EXE_cairn-devnet"))
            .env_remove("STARKNET_ACCOUNT")
            .output()
            .expect("runs")
    };
    // Stops the node this test started, whatever happens.
    struct Stop(std::path::PathBuf);
    impl Drop for Stop {
        fn drop(&mut self) {
            if let Ok(pid) = std::fs::read_to_string(self.0.join("devnet/pid")) {
                let _ = Command::new("kill").arg(pid.trim()).status();
            }
        }
    }
    let _stop = Stop(home.clone());
    let example = root().join("tests/models/example");
    let model = example.join("model.onnx");
    let input = example.join("model.input.json");
    for args in [
        vec!["compile", model.to_str().unwrap(), "-o", dir_s],
        vec!["run", dir_s, "--input", input.to_str().unwrap()],
        vec!["deploy", dir_s],
    ] {
        let out = run(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = run(&[
        "submit",
        dir_s,
        "--input",
        input.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = last_json(&out);
    assert_eq!(last["accepted"], true);
    let fact = last["fact_hash"].as_str().unwrap().to_string();
    // The account's key reaches no output, log or artifact.
    let url: cairn_chain::Url = format!("http://127.0.0.1:{port}/").parse().unwrap();
    let (_, key) = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(cairn_chain::devnet::predeployed_account(&url))
        .unwrap()
        .unwrap();
    let key = format!("{key:x}");
    let mut seen = String::from_utf8_lossy(&out.stderr).into_owned() + &stdout;
    for f in [dir.join("deployment.json"), home.join("devnet/devnet.log")] {
        seen += &std::fs::read_to_string(f).unwrap();
    }
    assert!(!seen.contains(&key));

    // Stop the node; the next command starts it again from its state file.
    let pid = std::fs::read_to_string(home.join("devnet/pid")).unwrap();
    assert!(Command::new("kill")
        .arg(pid.trim())
        .status()
        .unwrap()
        .success());
    std::thread::sleep(std::time::Duration::from_millis(500));
    let out = run(&["facts", dir_s, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = last_json(&out);
    assert_eq!(last["fact_hash"], fact.as_str());
    assert_eq!(last["valid"], true);

    // A wrong claim: exit status 1, the reason, and `ok: false` with the summary.
    let claim = tmp.path().join("claim.json");
    let mut out_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("output.json")).unwrap()).unwrap();
    let first = out_json
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    let mut v = first;
    while v.is_array() {
        v = &mut v[0];
    }
    *v = serde_json::json!(v.as_f64().unwrap() + 1.0);
    std::fs::write(&claim, out_json.to_string()).unwrap();
    let out = run(&[
        "submit",
        dir_s,
        "--input",
        input.to_str().unwrap(),
        "--claim",
        claim.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outputs differ"));
    let last = last_json(&out);
    assert_eq!(last["ok"], false);
    assert_eq!(last["accepted"], false);
}

#[test]
fn chain_commands_explain_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let out = cairn(&["submit", dir, "--input", "x.json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("deployment.json") && err.contains("cairn deploy"),
        "{err}"
    );
    // A node that is down.
    let model = model("linear");
    assert!(cairn(&["compile", model.to_str().unwrap(), "-o", dir])
        .status
        .success());
    let out = cairn(&["deploy", dir, "--rpc", "http://127.0.0.1:9/", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let last = last_json(&out);
    assert_eq!(last["ok"], false);
    assert!(last["error"].as_str().unwrap().contains("cannot reach"));
}

/// `cairn report`: a row per float layer, every error within the fidelity bound, the model's
/// output among the rows, and the plot written.
#[test]
fn report_prints_per_layer_errors_and_writes_a_plot() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let name = "mlp_tanh_sigmoid";
    assert!(
        cairn(&["compile", model(name).to_str().unwrap(), "-o", dir])
            .status
            .success()
    );
    let out = cairn(&[
        "report",
        dir,
        "--input",
        input(name).to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = last_json(&out);
    let layers = last["layers"].as_array().unwrap();
    // Gemm, Tanh, Gemm, Sigmoid at least.
    assert!(layers.len() >= 4, "{layers:?}");
    for l in layers {
        assert!(l["max_rel_error"].as_f64().unwrap() <= 1e-3, "{l}");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("manifest.json")).unwrap())
            .unwrap();
    let output = manifest["outputs"][0]["name"].as_str().unwrap();
    assert!(layers.iter().any(|l| l["tensor"] == output));
    let svg = std::fs::read_to_string(tmp.path().join("report.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.matches("<rect").count() == layers.len());
}
