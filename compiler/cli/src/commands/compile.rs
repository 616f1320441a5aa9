//! `cairn compile MODEL.onnx -o DIR`: ONNX → IR → quantised IR → Cairo package → executable.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use cairn_codegen::{CodegenOptions, Limits};
use cairn_passes::QuantiseOptions;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::artifacts::*;
use crate::progress::spinner;

#[derive(Debug, Clone)]
pub struct CompileArgs {
    pub model: PathBuf,
    pub out: PathBuf,
    pub scale: u32,
    /// Calibration inputs (input JSON files): each activation gets its own scale from the
    /// magnitudes it reaches on them.
    pub calibration: Vec<PathBuf>,
    /// Shapes for symbolic input dimensions, and inputs bound at compile time.
    pub load: cairn_onnx::LoadOptions,
    pub codegen: CodegenOptions,
    /// Budgets that decide where the forward pass is cut into stages (one class each onchain).
    pub limits: Limits,
    pub quiet: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompileSummary {
    pub dir: PathBuf,
    pub program_hash: String,
    pub bytecode_len: usize,
    pub multiply_adds: u64,
    pub nodes: usize,
    pub stages: usize,
    pub lower_seconds: f64,
    pub codegen_seconds: f64,
    pub cairo_seconds: f64,
    pub seconds: f64,
}

pub fn compile(args: &CompileArgs) -> Result<CompileSummary> {
    let start = Instant::now();
    let dir = Dir(args.out.clone());
    std::fs::create_dir_all(&dir.0)
        .with_context(|| format!("cannot create {}", dir.0.display()))?;
    // What a previous run, proof and deployment left belongs to the previous program.
    for stale in [RUN, OUTPUT, PROOF, DEPLOYMENT, CLASSES] {
        let path = dir.path(stale);
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else if path.exists() {
            std::fs::remove_file(&path)
        } else {
            Ok(())
        };
        removed.with_context(|| format!("cannot remove {}", path.display()))?;
    }

    let model = cairn_onnx::load(&args.model, &args.load)?;
    let graph = model.lower()?;
    let float = cairn_ir::validate(graph).context("lowering produced invalid IR (a Cairn bug)")?;
    std::fs::write(dir.path(IR), float.to_string())?;
    let infos: Vec<TensorInfo> = float
        .inputs
        .iter()
        .map(|&i| TensorInfo {
            name: float.values[i].name.clone(),
            shape: float.values[i].ty.shape.clone(),
            dtype: float.values[i].ty.dtype.name().into(),
            scale: 0,
        })
        .collect();
    let calibration = args
        .calibration
        .iter()
        .map(|path| crate::io::read_inputs(path, &infos))
        .collect::<Result<Vec<_>>>()?;
    let opts = QuantiseOptions {
        scale: args.scale,
        calibration,
    };
    let quantised = cairn_passes::run_all(float.into_inner(), &opts)?;
    let quantised =
        cairn_ir::validate(quantised).context("quantisation produced invalid IR (a Cairn bug)")?;
    std::fs::write(dir.path(QUANTISED_IR), quantised.to_string())?;
    write_json(&dir.path(GRAPH), quantised.graph())?;
    let lower_seconds = start.elapsed().as_secs_f64();

    let t = Instant::now();
    let file_name = args
        .model
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let units = cairn_codegen::partition::Units::of(&quantised, &args.codegen);
    // A model too big for onchain re-execution still compiles, runs and proves: the reason is
    // recorded for `cairn deploy` to give.
    let (partition, onchain_refusal) =
        match cairn_codegen::partition::plan(&quantised, &units, &args.limits) {
            Ok(p) => (p, None),
            Err(e) => (Default::default(), Some(e.to_string())),
        };
    let package = cairn_codegen::generate(&quantised, &file_name, &args.codegen, &partition)?;
    let package_dir = dir.path(PACKAGE);
    if package_dir.exists() {
        std::fs::remove_dir_all(&package_dir)
            .with_context(|| format!("cannot replace {}", package_dir.display()))?;
    }
    package.write(&package_dir)?;
    let codegen_seconds = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let bar = spinner("compiling the Cairo program", args.quiet);
    let exe = cairn_cairo::compile(&package_dir, &Default::default());
    bar.finish_and_clear();
    let exe = exe?;
    let cairo_seconds = t.elapsed().as_secs_f64();
    write_json(&dir.path(PROGRAM), &exe)?;

    let bytecode = cairn_cairo::bytecode(&exe);
    let program_hash = format!("{:#x}", cairn_prover::program_hash(&bytecode));
    let model_bytes = std::fs::read(&args.model)
        .with_context(|| format!("cannot read {}", args.model.display()))?;
    if !same_file(&args.model, &dir.path(MODEL)) {
        std::fs::write(dir.path(MODEL), &model_bytes)?;
    }
    let info = |ids: &[usize]| -> Vec<TensorInfo> {
        ids.iter()
            .map(|&i| {
                let v = &quantised.values[i];
                TensorInfo {
                    name: v.name.clone(),
                    shape: v.ty.shape.clone(),
                    dtype: v.ty.dtype.name().into(),
                    scale: v.scale.unwrap_or(0),
                }
            })
            .collect()
    };
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        source: file_name,
        model_sha256: format!("{:x}", Sha256::digest(&model_bytes)),
        program_hash: program_hash.clone(),
        bytecode_len: bytecode.len(),
        scale: args.scale,
        inputs: info(&quantised.inputs),
        outputs: info(&quantised.outputs),
        multiply_adds: quantised.multiply_adds(),
        weights_commitment: format!("{:#x}", weights_commitment(&quantised)),
        stages: stage_infos(&quantised, &partition, &units),
        onchain_refusal,
        bound: args
            .load
            .binds
            .iter()
            .map(|(name, values)| BoundInput {
                name: name.clone(),
                values: values.clone(),
            })
            .collect(),
    };
    dir.write_json(MANIFEST, &manifest)?;
    Ok(CompileSummary {
        dir: dir.0.clone(),
        program_hash,
        bytecode_len: bytecode.len(),
        multiply_adds: manifest.multiply_adds,
        nodes: quantised.nodes.len(),
        stages: manifest.stages.len(),
        lower_seconds,
        codegen_seconds,
        cairo_seconds,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Poseidon hash of every constant of the quantised graph (weights, biases, tables' operands),
/// in value order, as field elements: what the verifier contract records as the model's weights.
pub fn weights_commitment(g: &cairn_ir::Graph) -> starknet_types_core::felt::Felt {
    use starknet_types_core::felt::Felt;
    let mut felts = Vec::new();
    for v in &g.values {
        if let cairn_ir::Def::Const(cairn_ir::Data::Int(d)) = &v.def {
            felts.extend(d.iter().map(|&x| {
                let f = Felt::from(x.unsigned_abs());
                if x < 0 {
                    -f
                } else {
                    f
                }
            }));
        }
    }
    use starknet_types_core::hash::StarkHash;
    starknet_types_core::hash::Poseidon::hash_array(&felts)
}

fn stage_infos(
    g: &cairn_ir::Graph,
    p: &cairn_codegen::Partition,
    units: &cairn_codegen::partition::Units,
) -> Vec<StageInfo> {
    let lens = cairn_codegen::partition::live_lens(g, p, units);
    let costs = cairn_codegen::partition::stage_costs(g, p, units);
    p.starts
        .iter()
        .enumerate()
        .map(|(i, &(node, block))| StageInfo {
            start: [node, block],
            in_len: lens[i],
            out_len: lens[i + 1],
            est_felts: costs[i].felts,
            est_steps: costs[i].steps,
        })
        .collect()
}
