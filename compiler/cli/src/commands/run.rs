//! `cairn run DIR --input INPUT.json`: the compiled program on the Cairo VM (proof mode),
//! checked against the float reference (tract on the ONNX model) and against Cairn's own
//! fixed-point interpreter, which it must match bit for bit.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use cairn_ir::fixed::{dequantise, quantise, INPUT_BOUND_BITS};
use cairn_ir::Graph;
use serde::Serialize;

use super::{felt, load_program, signed};
use crate::artifacts::*;
use crate::io;
use crate::progress::spinner;

#[derive(Debug, Clone)]
pub struct RunArgs {
    pub dir: PathBuf,
    pub input: PathBuf,
    pub output: Option<PathBuf>,
    pub quiet: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputReport {
    pub name: String,
    pub shape: Vec<usize>,
    pub cairn: Vec<f64>,
    pub reference: Vec<f64>,
    /// max |cairn − reference| / max |reference|.
    pub max_rel_error: f64,
    /// Whether the index of the largest value agrees (classifier decisions).
    pub argmax_match: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub steps: usize,
    pub multiply_adds: u64,
    pub input_hash: String,
    pub outputs: Vec<OutputReport>,
    pub max_rel_error: f64,
    /// The VM's outputs equal Cairn's fixed-point interpreter's, bit for bit.
    pub bit_exact: bool,
    pub output_file: PathBuf,
    pub vm_seconds: f64,
}

pub fn run(args: &RunArgs) -> Result<RunSummary> {
    let dir = Dir(args.dir.clone());
    let manifest = dir.manifest()?;
    let inputs = io::read_inputs(&args.input, &manifest.inputs)?;
    let quantised = quantise_inputs(&inputs, &manifest.inputs)?;
    let flat: Vec<i128> = quantised.iter().flatten().copied().collect();

    let exe = load_program(&dir)?;
    let args_felts: Vec<_> = flat.iter().map(|&v| felt(v)).collect();
    let bar = spinner("running on the Cairo VM", args.quiet);
    let t = Instant::now();
    let execution = cairn_cairo::execute(&exe, &args_felts);
    bar.finish_and_clear();
    let execution = match execution {
        Ok(e) => e,
        // The program's panic says what failed; Cairn's interpreter, stopping at the same
        // check on the same input, says which node.
        Err(e) => {
            let graph: Result<Graph> = dir.read_json(GRAPH, "recompile the model");
            return match graph.map(|g| cairn_ir::eval::eval_fixed(&g, &quantised)) {
                Ok(Err(at)) => Err(e).context(format!("at {at}")),
                _ => Err(e.into()),
            };
        }
    };
    let vm_seconds = t.elapsed().as_secs_f64();

    let (input_hash, outputs) = decode_output(&execution.output, &manifest)?;

    // Cairn's own fixed-point interpreter must agree exactly.
    let graph: Graph = dir.read_json(GRAPH, "recompile the model")?;
    let expected = cairn_ir::eval::eval_fixed(&graph, &quantised)
        .context("Cairn's fixed-point interpreter")?;
    let bit_exact = graph
        .outputs
        .iter()
        .flat_map(|&o| expected[o].iter().copied())
        .eq(outputs.iter().copied());

    // The float reference: tract on the same ONNX.
    let model = cairn_onnx::load(&dir.path(MODEL), &manifest.load_options())?;
    let reference = model.reference(&inputs)?;

    let mut reports = Vec::new();
    let mut offset = 0;
    let mut dequantised = Vec::new();
    for (info, r) in manifest.outputs.iter().zip(&reference) {
        let n = info.len();
        let cairn: Vec<f64> = outputs[offset..offset + n]
            .iter()
            .map(|&q| dequantise(q, info.scale))
            .collect();
        offset += n;
        let reference: Vec<f64> = r.iter().map(|&x| x as f64).collect();
        let scale = reference
            .iter()
            .fold(0f64, |m, x| m.max(x.abs()))
            .max(f64::MIN_POSITIVE);
        let max_err = cairn
            .iter()
            .zip(&reference)
            .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        reports.push(OutputReport {
            name: info.name.clone(),
            shape: info.shape.clone(),
            max_rel_error: max_err / scale,
            argmax_match: argmax(&cairn) == argmax(&reference),
            cairn: cairn.clone(),
            reference,
        });
        dequantised.push(cairn);
    }
    let output_file = args.output.clone().unwrap_or_else(|| dir.path(OUTPUT));
    write_json(
        &output_file,
        &io::outputs_json(&manifest.outputs, &dequantised),
    )?;
    dir.write_json(
        RUN,
        &RunRecord {
            input: flat,
            input_hash: input_hash.clone(),
            outputs,
            steps: execution.steps,
        },
    )?;
    Ok(RunSummary {
        steps: execution.steps,
        multiply_adds: manifest.multiply_adds,
        input_hash,
        max_rel_error: reports.iter().fold(0f64, |m, r| m.max(r.max_rel_error)),
        outputs: reports,
        bit_exact,
        output_file,
        vm_seconds,
    })
}

/// Each input at its scale, rejecting values outside the range the program accepts.
pub fn quantise_inputs(inputs: &[Vec<f32>], infos: &[TensorInfo]) -> Result<Vec<Vec<i128>>> {
    let bound = 1i128 << INPUT_BOUND_BITS;
    inputs
        .iter()
        .zip(infos)
        .map(|(values, info)| {
            values
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    if info.dtype == "bool" && x != 0.0 && x != 1.0 {
                        bail!(
                            "input '{}' is bool; element {i} ({x}) is neither 0 nor 1",
                            info.name
                        );
                    }
                    if info.dtype != "f32" && x.fract() != 0.0 {
                        bail!(
                            "input '{}' is {}; element {i} ({x}) is not an integer",
                            info.name,
                            info.dtype
                        );
                    }
                    let q = quantise(x as f64, info.scale)
                        .map(|q| q as i128)
                        .filter(|q| (-bound..bound).contains(q));
                    q.with_context(|| {
                        format!(
                            "input '{}' element {i} ({x}) is out of the fixed-point range",
                            info.name
                        )
                    })
                })
                .collect()
        })
        .collect()
}

/// Splits the program's return value `[poseidon(input), outputs...]`.
pub fn decode_output(
    output: &[cairn_cairo::Felt252],
    manifest: &Manifest,
) -> Result<(String, Vec<i128>)> {
    let expected: usize = manifest.outputs.iter().map(|o| o.len()).sum();
    let Some((hash, values)) = output.split_first() else {
        bail!("the program returned nothing")
    };
    if values.len() != expected {
        bail!(
            "the program returned {} output values, the manifest describes {expected}",
            values.len()
        );
    }
    let values = values
        .iter()
        .enumerate()
        .map(|(i, f)| {
            signed(f)
                .with_context(|| format!("output value {i} ({f:#x}) is not a fixed-point number"))
        })
        .collect::<Result<_>>()?;
    Ok((format!("{hash:#x}"), values))
}

fn argmax(v: &[f64]) -> Option<usize> {
    (!v.is_empty()).then(|| {
        v.iter()
            .enumerate()
            .fold(0, |best, (i, x)| if *x > v[best] { i } else { best })
    })
}
