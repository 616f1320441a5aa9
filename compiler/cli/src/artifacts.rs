//! The output folder: file names (fixed), the manifest and the run record.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Copy of the compiled model.
pub const MODEL: &str = "model.onnx";
/// The float IR, as printed.
pub const IR: &str = "model.ir";
/// The quantised IR, as printed.
pub const QUANTISED_IR: &str = "model.quantised.ir";
/// The quantised IR as data (what `run` checks the VM against).
pub const GRAPH: &str = "graph.json";
/// The generated Cairo package.
pub const PACKAGE: &str = "cairo";
/// The compiled Cairo executable.
pub const PROGRAM: &str = "program.json";
pub const MANIFEST: &str = "manifest.json";
/// What `run` recorded for `prove` and `verify`.
pub const RUN: &str = "run.json";
/// Default path of the dequantised outputs.
pub const OUTPUT: &str = "output.json";
/// Default path of the proof.
pub const PROOF: &str = "proof.bin";
/// The compiled contract classes (`NAME.contract_class.json`, `NAME.compiled_contract_class.json`).
pub const CLASSES: &str = "classes";
/// Where `deploy` recorded the network, the classes and the contracts.
pub const DEPLOYMENT: &str = "deployment.json";

pub const MANIFEST_FORMAT: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: String,
    /// Fixed-point fractional bits.
    pub scale: u32,
}

impl TensorInfo {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    /// File name of the source model given to `compile`.
    pub source: String,
    /// SHA-256 of the model file.
    pub model_sha256: String,
    /// Stwo's program hash of the compiled executable (hex).
    pub program_hash: String,
    pub bytecode_len: usize,
    /// Activation scale chosen (fractional bits).
    pub scale: u32,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    pub multiply_adds: u64,
    /// Poseidon hash of the quantised constants (hex), recorded by the verifier contract.
    pub weights_commitment: String,
    /// The stages of the forward pass (one contract class each).
    pub stages: Vec<StageInfo>,
    /// Why the model cannot be checked onchain, if it cannot (`cairn deploy` refuses with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onchain_refusal: Option<String>,
    /// Inputs bound at compile time (`--bind`): constants of the program, not inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bound: Vec<BoundInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BoundInput {
    pub name: String,
    pub values: Vec<f64>,
}

impl Manifest {
    /// How `compile` read the model: the run and the report read it the same way.
    pub fn load_options(&self) -> cairn_onnx::LoadOptions {
        cairn_onnx::LoadOptions {
            input_shapes: self
                .inputs
                .iter()
                .map(|i| (i.name.clone(), i.shape.clone()))
                .collect(),
            binds: self
                .bound
                .iter()
                .map(|b| (b.name.clone(), b.values.clone()))
                .collect(),
        }
    }
}

/// One stage of the forward pass, with the compile-time estimates of its onchain cost.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageInfo {
    /// Where the stage starts: `[node, block]` of the quantised IR (blocks of outputs count
    /// only inside a dense layer cut across stages).
    pub start: [usize; 2],
    /// Felts of live tensors in and out.
    pub in_len: usize,
    pub out_len: usize,
    pub est_felts: u64,
    pub est_steps: u64,
}

/// What one `cairn run` did: the fixed-point input it fed the program and what came back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    /// The program's argument, as signed integers.
    pub input: Vec<i128>,
    /// Poseidon hash of the input (hex), the first public output.
    pub input_hash: String,
    /// The model's outputs, as signed fixed-point integers.
    pub outputs: Vec<i128>,
    pub steps: usize,
}

/// An output folder.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn read_json<T: serde::de::DeserializeOwned>(&self, name: &str, hint: &str) -> Result<T> {
        read_json(&self.path(name), hint)
    }

    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        write_json(&self.path(name), value)
    }

    pub fn manifest(&self) -> Result<Manifest> {
        let m: Manifest = self.read_json(MANIFEST, "run `cairn compile MODEL -o DIR` first")?;
        anyhow::ensure!(
            m.format == MANIFEST_FORMAT,
            "{} has format {}, expected {MANIFEST_FORMAT}: recompile the model",
            self.path(MANIFEST).display(),
            m.format
        );
        Ok(m)
    }
}

pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, hint: &str) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {} ({hint})", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid ({hint})", path.display()))
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}
