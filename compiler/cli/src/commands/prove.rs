//! `cairn prove DIR`: re-executes the recorded run (deterministic, and cheaper than storing
//! the trace) and proves it with Stwo.

use std::path::PathBuf;

use anyhow::{ensure, Result};
use serde::Serialize;

use super::{felt, load_program};
use crate::artifacts::*;
use crate::progress::spinner;

#[derive(Debug, Clone)]
pub struct ProveArgs {
    pub dir: PathBuf,
    pub proof: Option<PathBuf>,
    pub quiet: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProveSummary {
    pub proof: PathBuf,
    pub proof_bytes: u64,
    pub steps: usize,
    pub seconds: f64,
}

pub fn prove(args: &ProveArgs) -> Result<ProveSummary> {
    let dir = Dir(args.dir.clone());
    let manifest = dir.manifest()?;
    let record: RunRecord = dir.read_json(RUN, "run `cairn run DIR --input INPUT.json` first")?;
    let exe = load_program(&dir)?;
    let felts: Vec<_> = record.input.iter().map(|&v| felt(v)).collect();
    let execution = cairn_cairo::execute(&exe, &felts)?;
    let (_, outputs) = super::run::decode_output(&execution.output, &manifest)?;
    ensure!(
        outputs == record.outputs,
        "re-running the program gave different outputs from {}: recompile and run again",
        RUN
    );

    let bar = spinner(
        &format!("proving {} steps with Stwo", execution.steps),
        args.quiet,
    );
    let proved = cairn_prover::prove(&execution);
    bar.finish_and_clear();
    let proved = proved?;
    let path = args.proof.clone().unwrap_or_else(|| dir.path(PROOF));
    let proof_bytes = cairn_prover::save(&proved.proof, &path)?;
    Ok(ProveSummary {
        proof: path,
        proof_bytes,
        steps: execution.steps,
        seconds: proved.seconds,
    })
}
