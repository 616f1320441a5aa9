//! The model zoo (`scripts/export_zoo.py`, committed in `tests/zoo/`): ordinary PyTorch modules
//! as the TorchScript and dynamo exporters write them, and scikit-learn models as skl2onnx
//! writes them. Each compiles, runs on the Cairo VM, and is checked against onnxruntime's
//! outputs recorded by the script: floats within 1e-3 of the largest expected magnitude,
//! integers (class labels) exact, and a classifier's winning class equal. Then its execution is
//! proved with Stwo and the proof verified.
//!
//! The small models run in the default test run, and one of each kind is proved there (every
//! proof costs the prover's fixed ~9 s); `cargo test --test zoo -- --ignored` (or
//! `scripts/zoo.sh`) runs every model, each proved and verified.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the assertion

mod common;

use cairn_cli::commands::{compile, prove, run, verify};
use common::*;
use serde_json::Value;

fn entries(small: bool) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("tests/zoo/zoo.json")).unwrap();
    let list: Vec<Value> = serde_json::from_str(&text).unwrap();
    list.iter()
        .filter(|e| e["small"].as_bool() == Some(small))
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

fn is_classifier(name: &str) -> bool {
    let text = std::fs::read_to_string(root().join("tests/zoo/zoo.json")).unwrap();
    let list: Vec<Value> = serde_json::from_str(&text).unwrap();
    list.iter()
        .any(|e| e["name"] == name && e["classifier"].as_bool() == Some(true))
}

/// The dimensions of a nested JSON list.
fn dims(v: &Value) -> Vec<usize> {
    match v {
        Value::Array(items) => {
            let mut d = vec![items.len()];
            d.extend(items.first().map(dims).unwrap_or_default());
            d
        }
        _ => vec![],
    }
}

fn flat(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flat(i, out)),
        v => out.push(v.as_f64().unwrap()),
    }
}

fn argmax_rows(v: &[f64], width: usize) -> Vec<usize> {
    v.chunks(width)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold(0, |best, (i, &x)| if x > row[best] { i } else { best })
        })
        .collect()
}

/// The small models the default run also proves: one per kind of model.
const PROVED_BY_DEFAULT: &[&str] = &[
    "mlp",
    "conv1d_dynamo",
    "autoencoder",
    "logistic_regression",
    "svm_rbf",
    "random_forest",
    "gradient_boosting",
];

/// Compiles, runs and checks one zoo model; with `prove`, proves and verifies it.
fn check(name: &str, prove: bool) {
    let zoo = root().join("tests/zoo");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    let input_path = zoo.join(format!("{name}.input.json"));
    let input: Value =
        serde_json::from_str(&std::fs::read_to_string(&input_path).unwrap()).unwrap();
    // Exporters leave the batch dimension symbolic: it is the input's.
    let mut args = compile_args(&zoo.join(format!("{name}.onnx")), &dir);
    args.load.input_shapes = input
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), dims(v)))
        .collect();
    compile::compile(&args).unwrap_or_else(|e| panic!("{name}: compile: {e:#}"));
    let s = run::run(&run::RunArgs {
        dir: dir.clone(),
        input: input_path,
        output: None,
        quiet: true,
    })
    .unwrap_or_else(|e| panic!("{name}: run: {e:#}"));
    assert!(s.bit_exact, "{name}: the VM and the interpreter disagree");

    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(zoo.join(format!("{name}.expected.json"))).unwrap(),
    )
    .unwrap();
    for (out_name, e) in expected.as_object().unwrap() {
        let got = s
            .outputs
            .iter()
            .find(|o| &o.name == out_name)
            .unwrap_or_else(|| panic!("{name}: no output '{out_name}'"));
        let mut want = Vec::new();
        flat(e, &mut want);
        assert_eq!(got.cairn.len(), want.len(), "{name}/{out_name}: length");
        let integral = want.iter().all(|x| x.fract() == 0.0) && e.to_string().find('.').is_none();
        if integral {
            assert_eq!(got.cairn, want, "{name}/{out_name}: integers must be exact");
            continue;
        }
        let scale = want.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-30);
        let err = got
            .cairn
            .iter()
            .zip(&want)
            .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err / scale < 1e-3,
            "{name}/{out_name}: relative error {:.2e} (cairn {:?}, onnxruntime {want:?})",
            err / scale,
            got.cairn
        );
        let shape = dims(e);
        if is_classifier(name) && shape.len() == 2 && shape[1] > 1 {
            assert_eq!(
                argmax_rows(&got.cairn, shape[1]),
                argmax_rows(&want, shape[1]),
                "{name}/{out_name}: a different winning class"
            );
        }
    }

    if !prove {
        return;
    }
    let p = prove::prove(&prove::ProveArgs {
        dir: dir.clone(),
        proof: None,
        quiet: true,
    })
    .unwrap_or_else(|e| panic!("{name}: prove: {e:#}"));
    let v = verify::verify(&verify::VerifyArgs {
        dir: dir.clone(),
        proof: Some(p.proof),
    })
    .unwrap_or_else(|e| panic!("{name}: verify: {e:#}"));
    assert!(v.valid, "{name}: the proof does not verify");
}

#[test]
fn small_zoo_models_match_onnxruntime_and_prove() {
    let names = entries(true);
    assert!(
        names.len() >= 10,
        "the zoo lists {} small models",
        names.len()
    );
    for name in names {
        let prove = PROVED_BY_DEFAULT.contains(&name.as_str());
        check(&name, prove);
    }
}

#[test]
#[ignore = "slower tier: scripts/zoo.sh"]
fn every_zoo_model_matches_onnxruntime_and_proves() {
    for name in entries(true).into_iter().chain(entries(false)) {
        check(&name, true);
    }
}
