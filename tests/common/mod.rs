//! Shared helpers of the end-to-end tests: paths to the committed models and a compile → run
//! helper through the `cairn` library (the same functions the CLI calls).

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use cairn_cli::commands::{compile, run};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn model(name: &str) -> PathBuf {
    root().join("tests/models").join(format!("{name}.onnx"))
}

pub fn input(name: &str) -> PathBuf {
    root()
        .join("tests/models")
        .join(format!("{name}.input.json"))
}

pub fn compile_args(model: &Path, out: &Path) -> compile::CompileArgs {
    compile::CompileArgs {
        model: model.to_path_buf(),
        out: out.to_path_buf(),
        scale: cairn_passes::quantise::DEFAULT_SCALE,
        load: Default::default(),
        calibration: vec![],
        codegen: Default::default(),
        limits: Default::default(),
        quiet: true,
    }
}

/// Compiles and runs a committed model in a fresh folder.
pub fn compile_and_run(name: &str, dir: &Path) -> run::RunSummary {
    compile::compile(&compile_args(&model(name), dir))
        .unwrap_or_else(|e| panic!("{name}: compile: {e:#}"));
    run::run(&run::RunArgs {
        dir: dir.to_path_buf(),
        input: input(name),
        output: None,
        quiet: true,
    })
    .unwrap_or_else(|e| panic!("{name}: run: {e:#}"))
}

/// onnxruntime's outputs, recorded by scripts/export_models.py, flattened per output.
pub fn expected(name: &str) -> Vec<(String, Vec<f64>)> {
    let path = root()
        .join("tests/models")
        .join(format!("{name}.expected.json"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    fn flat(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
            x => out.push(x.as_f64().unwrap()),
        }
    }
    json.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let mut out = vec![];
            flat(v, &mut out);
            (k.clone(), out)
        })
        .collect()
}

/// The bundled example model (what `scripts/demo.sh` runs).
pub fn example_model() -> PathBuf {
    root().join("tests/models/example/model.onnx")
}

pub fn example_input() -> PathBuf {
    root().join("tests/models/example/model.input.json")
}
