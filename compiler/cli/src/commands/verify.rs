//! `cairn verify DIR`: checks a proof with Stwo's verifier, then that it proves this compiled
//! program (program hash) on this run's input and outputs (public output).

use std::path::PathBuf;

use anyhow::{bail, Result};
use cairn_cairo::Felt252;
use cairn_ir::fixed::dequantise;
use serde::Serialize;

use super::{felt, signed};
use crate::artifacts::*;
use crate::io;

#[derive(Debug, Clone)]
pub struct VerifyArgs {
    pub dir: PathBuf,
    pub proof: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifySummary {
    pub valid: bool,
    pub program_hash: String,
    pub input_hash: String,
    /// The outputs the proof attests, dequantised.
    pub outputs: serde_json::Value,
    pub seconds: f64,
}

pub fn verify(args: &VerifyArgs) -> Result<VerifySummary> {
    let dir = Dir(args.dir.clone());
    let manifest = dir.manifest()?;
    let path = args.proof.clone().unwrap_or_else(|| dir.path(PROOF));
    let (claim, seconds) = cairn_prover::verify_file(&path)?;

    let program_hash = format!("{:#x}", claim.program_hash);
    if program_hash != manifest.program_hash {
        bail!(
            "the proof is valid but for another program ({program_hash}), not the one compiled in {} ({})",
            dir.0.display(),
            manifest.program_hash
        );
    }
    // An executable's output segment is [length, return value...].
    let record: RunRecord = dir.read_json(RUN, "run `cairn run DIR --input INPUT.json` first")?;
    let mut expected = vec![Felt252::from(record.outputs.len() + 1)];
    expected.push(Felt252::from_hex(&record.input_hash).unwrap_or(Felt252::ZERO));
    expected.extend(record.outputs.iter().map(|&v| felt(v)));
    if claim.output != expected {
        bail!("the proof is valid but its public output is not this run's input hash and outputs (recorded in {})", dir.path(RUN).display());
    }
    let mut values = claim.output[2..].iter().map(|f| signed(f).unwrap_or(0));
    let dequantised: Vec<Vec<f64>> = manifest
        .outputs
        .iter()
        .map(|o| {
            values
                .by_ref()
                .take(o.len())
                .map(|q| dequantise(q, o.scale))
                .collect()
        })
        .collect();
    Ok(VerifySummary {
        valid: true,
        program_hash,
        input_hash: format!("{:#x}", claim.output[1]),
        outputs: io::outputs_json(&manifest.outputs, &dequantised),
        seconds,
    })
}
