//! `cairn act DIR`: hands a verified prediction to the example consumer contract, which acts
//! once per fact.

use std::path::PathBuf;

use anyhow::Result;
use cairn_chain::{call, Felt};
use serde::Serialize;

use super::network::*;
use super::submit::{claim_or_last_run, felt_usize, send, with_len, Outcome, SubmitArgs};
use crate::artifacts::*;

#[derive(Debug, Clone, Serialize)]
pub struct ActSummary {
    pub accepted: bool,
    pub reason: Option<String>,
    pub consumer: String,
    pub fact_hash: String,
    /// The decision the consumer recorded (index of the largest output).
    pub decision: Option<u32>,
    pub transaction: Option<TxRecord>,
}

/// Hands a prediction (default: the last run's) to the example consumer, which acts once per
/// verified fact.
pub fn act(
    dir: &std::path::Path,
    network: &NetworkArgs,
    input: Option<&std::path::Path>,
    claim: Option<&std::path::Path>,
    quiet: bool,
) -> Result<ActSummary> {
    let dir = Dir(dir.to_path_buf());
    let deployment = Deployment::read(&dir)?;
    let claim = claim_or_last_run(&dir, input, claim, "pass --input INPUT.json")?;
    let program_hash = felt_hex(&deployment.program_hash, "program hash")?;
    let consumer = felt_hex(&deployment.consumer, "consumer address")?;
    let fact = claim.fact_hash(program_hash);
    let network = deployment.network(network)?;
    runtime()?.block_on(async {
        let (chain, _) = connect(&network, quiet).await?;
        let mut calldata = vec![claim.input_hash()];
        calldata.extend(with_len(&claim.output_felts()));
        let calls = [call(consumer, "act", calldata)];
        let args = SubmitArgs {
            dir: dir.0.clone(),
            input: PathBuf::new(),
            claim: None,
            network: network.clone(),
            send_anyway: false,
            quiet,
        };
        let mut txs = Vec::new();
        let outcome = send(&chain, "consumer.act", &calls, &args, &mut txs).await?;
        let decision = chain.call(consumer, "decision", vec![fact]).await?;
        // Option<u32>: [0, value] for Some, [1] for None.
        let decision = match decision.as_slice() {
            [tag, v] if *tag == Felt::ZERO => Some(felt_usize(v) as u32),
            _ => None,
        };
        let (accepted, reason) = match outcome {
            Outcome::Done => (true, None),
            Outcome::Refused(r) => (false, Some(r)),
        };
        Ok(ActSummary {
            accepted,
            reason,
            consumer: deployment.consumer.clone(),
            fact_hash: format!("{fact:#x}"),
            decision,
            transaction: txs.last().map(TxRecord::from),
        })
    })
}
