//! `cairn facts DIR`: what the registry holds for a prediction's fact (read-only), and what the
//! verifier says it checks.

use anyhow::Result;
use cairn_chain::Felt;
use serde::Serialize;

use super::network::*;
use super::submit::{claim_or_last_run, felt_usize};
use crate::artifacts::*;

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub verification_hash: String,
    pub security_bits: u32,
    pub layout: String,
    pub hasher: String,
    pub stone_version: String,
    pub memory_verification: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FactsSummary {
    pub fact_hash: String,
    pub registry: String,
    pub valid: bool,
    pub verifications: Vec<Verification>,
    /// What the verifier contract says it checks.
    pub program_hash: String,
    pub weights_commitment: String,
    pub stages: u32,
}

/// The registry's verifications of a fact: `fact`, or the fact of the claim given.
pub fn facts(
    dir: &std::path::Path,
    network: &NetworkArgs,
    fact: Option<Felt>,
    input: Option<&std::path::Path>,
    claim: Option<&std::path::Path>,
    quiet: bool,
) -> Result<FactsSummary> {
    let dir = Dir(dir.to_path_buf());
    let deployment = Deployment::read(&dir)?;
    let program_hash = felt_hex(&deployment.program_hash, "program hash")?;
    let fact = match fact {
        Some(f) => f,
        None => claim_or_last_run(&dir, input, claim, "pass --fact HASH or --input INPUT.json")?
            .fact_hash(program_hash),
    };
    let registry = felt_hex(&deployment.registry, "registry address")?;
    let verifier = felt_hex(&deployment.verifier, "verifier address")?;
    let network = deployment.network(network)?;
    runtime()?.block_on(async {
        let (chain, _) = connect(&network, quiet).await?;
        let raw = chain
            .call(registry, "get_all_verifications_for_fact_hash", vec![fact])
            .await?;
        let valid = chain.call(registry, "is_valid", vec![fact]).await?;
        let model = chain.call(verifier, "model", vec![]).await?;
        // Array<VerificationListElement>: [n, (hash, bits, layout, hasher, stone, memory)*n].
        let n = raw.first().map(felt_usize).unwrap_or(0);
        let text = |f: &Felt| {
            cairn_chain::parse_cairo_short_string(f).unwrap_or_else(|_| format!("{f:#x}"))
        };
        let verifications = (0..n)
            .filter_map(|i| raw.get(1 + 6 * i..7 + 6 * i))
            .map(|v| Verification {
                verification_hash: format!("{:#x}", v[0]),
                security_bits: felt_usize(&v[1]) as u32,
                layout: text(&v[2]),
                hasher: text(&v[3]),
                stone_version: text(&v[4]),
                memory_verification: text(&v[5]),
            })
            .collect();
        Ok(FactsSummary {
            fact_hash: format!("{fact:#x}"),
            registry: deployment.registry.clone(),
            valid: valid.first() == Some(&Felt::ONE),
            verifications,
            program_hash: model.first().map(|f| format!("{f:#x}")).unwrap_or_default(),
            weights_commitment: model.get(1).map(|f| format!("{f:#x}")).unwrap_or_default(),
            stages: model.get(3).map(felt_usize).unwrap_or(0) as u32,
        })
    })
}
