//! Proving and verification with the real Stwo prover and verifier: a proof of the bundled
//! example verifies; a changed byte, a truncated file, a proof presented for another program and
//! a proof presented for other outputs are each rejected with an error (never a panic).

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the assertion

mod common;

use std::path::Path;

use cairn_cli::commands::{compile, prove, run, verify};
use common::*;

fn compile_run(model: &Path, input: &Path, dir: &Path) {
    compile::compile(&compile_args(model, dir)).unwrap();
    run::run(&run::RunArgs {
        dir: dir.to_path_buf(),
        input: input.to_path_buf(),
        output: None,
        quiet: true,
    })
    .unwrap();
}

fn verify_with(dir: &Path, proof: &Path) -> anyhow::Result<verify::VerifySummary> {
    verify::verify(&verify::VerifyArgs {
        dir: dir.to_path_buf(),
        proof: Some(proof.to_path_buf()),
    })
}

#[test]
fn proofs_verify_and_tampering_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("example");
    let example = root().join("tests/models/example");
    compile_run(
        &example.join("model.onnx"),
        &example.join("model.input.json"),
        &dir,
    );
    let p = prove::prove(&prove::ProveArgs {
        dir: dir.clone(),
        proof: None,
        quiet: true,
    })
    .unwrap();
    assert!(p.proof_bytes > 1000);

    // The genuine proof verifies, for this program, with the run's outputs.
    let ok = verify_with(&dir, &p.proof).unwrap();
    assert!(ok.valid);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["program_hash"], ok.program_hash.as_str());
    let output: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("output.json")).unwrap()).unwrap();
    assert_eq!(ok.outputs, output);

    let bytes = std::fs::read(&p.proof).unwrap();
    let write = |name: &str, data: &[u8]| {
        let path = tmp.path().join(name);
        std::fs::write(&path, data).unwrap();
        path
    };

    // One changed byte, at several places of the file.
    for at in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 10] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x01;
        let e = verify_with(&dir, &write("flipped.bin", &flipped)).unwrap_err();
        assert!(format!("{e:#}").contains("proof"), "byte {at}: {e:#}");
    }
    // Truncated, and empty.
    assert!(verify_with(&dir, &write("truncated.bin", &bytes[..bytes.len() / 2])).is_err());
    assert!(verify_with(&dir, &write("empty.bin", &[])).is_err());

    // The same valid proof presented for another compiled program.
    let other = tmp.path().join("other");
    compile_run(&model("mlp_relu"), &input("mlp_relu"), &other);
    let e = format!("{:#}", verify_with(&other, &p.proof).unwrap_err());
    assert!(e.contains("another program"), "{e}");

    // ... and for other outputs than the run recorded.
    let run_file = dir.join("run.json");
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&run_file).unwrap()).unwrap();
    let first = record["outputs"][0].as_i64().unwrap();
    record["outputs"][0] = (first + 1).into();
    std::fs::write(&run_file, record.to_string()).unwrap();
    let e = format!("{:#}", verify_with(&dir, &p.proof).unwrap_err());
    assert!(e.contains("public output"), "{e}");
}

/// The stated targets' model, through the same path: 784-64-32-10 proves and verifies.
#[test]
fn mnist_shaped_mlp_proves_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    compile_run(
        &model("mlp_784_64_32_10"),
        &input("mlp_784_64_32_10"),
        tmp.path(),
    );
    let p = prove::prove(&prove::ProveArgs {
        dir: tmp.path().to_path_buf(),
        proof: None,
        quiet: true,
    })
    .unwrap();
    assert!(verify_with(tmp.path(), &p.proof).unwrap().valid);
}
