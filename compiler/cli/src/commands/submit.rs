//! `cairn submit DIR --input INPUT.json [--claim CLAIM.json]`: have the chain check a claimed
//! prediction. Also the claim (input and outputs, exact fixed point, and its fact) that `facts`
//! and `act` share.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use cairn_chain::{call, Chain, ChainError, Felt, TxReport};
use serde::Serialize;
use serde_json::Value;
use starknet_types_core::hash::{Poseidon, StarkHash};

use super::felt;
use super::network::*;
use super::run::quantise_inputs;
use crate::artifacts::*;
use crate::io;
use crate::progress::spinner;

/// L2 gas bound of a claim sent although the node predicted its revert (`--send-anyway`).
const REVERT_L2_GAS: u64 = 200_000_000;

#[derive(Debug, Clone)]
pub struct SubmitArgs {
    pub dir: PathBuf,
    pub input: PathBuf,
    /// The claimed outputs (`cairn run --output` format); `None`: the last run's outputs.
    pub claim: Option<PathBuf>,
    pub network: NetworkArgs,
    /// Send a claim even when the node predicts that it reverts, so the chain records the revert.
    pub send_anyway: bool,
    pub quiet: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubmitSummary {
    /// The chain verified the claim and registered its fact.
    pub accepted: bool,
    /// Why not, when not accepted.
    pub reason: Option<String>,
    pub fact_hash: String,
    pub input_hash: String,
    pub verifier: String,
    pub transactions: Vec<TxRecord>,
    /// Whether a transaction was sent and reverted (as opposed to refused after estimation).
    pub reverted_onchain: bool,
    pub seconds: f64,
}

/// The claim: fixed-point input and outputs, with its fact.
pub struct Claim {
    pub input: Vec<i128>,
    pub outputs: Vec<i128>,
}

impl Claim {
    pub fn input_felts(&self) -> Vec<Felt> {
        self.input.iter().map(|&v| felt(v)).collect()
    }
    pub fn output_felts(&self) -> Vec<Felt> {
        self.outputs.iter().map(|&v| felt(v)).collect()
    }
    pub fn input_hash(&self) -> Felt {
        Poseidon::hash_array(&self.input_felts())
    }
    /// Integrity's fact formula over the program's public output `[input_hash, outputs...]`.
    pub fn fact_hash(&self, program_hash: Felt) -> Felt {
        let mut public_output = vec![self.input_hash()];
        public_output.extend(self.output_felts());
        Poseidon::hash_array(&[program_hash, Poseidon::hash_array(&public_output)])
    }
}

/// Reads the input and the claimed outputs of a submission.
pub fn read_claim(
    dir: &Dir,
    input: &std::path::Path,
    claim: Option<&std::path::Path>,
) -> Result<Claim> {
    let manifest = dir.manifest()?;
    let inputs = io::read_inputs(input, &manifest.inputs)?;
    let input: Vec<i128> = quantise_inputs(&inputs, &manifest.inputs)?
        .into_iter()
        .flatten()
        .collect();
    let outputs = match claim {
        Some(path) => read_outputs(path, &manifest.outputs)?,
        None => {
            let run: RunRecord = dir.read_json(
                RUN,
                "run `cairn run DIR --input ...` first, or pass --claim",
            )?;
            if run.input != input {
                bail!(
                    "the last `cairn run` was on another input, so its outputs are no claim for \
                     {}: run it on this input first, or pass --claim",
                    dir.path(RUN).display()
                );
            }
            run.outputs
        }
    };
    Ok(Claim { input, outputs })
}

/// The claim of `input` (and `claim`, else the last run's outputs), or, with no input, the last
/// run's input and outputs.
pub fn claim_or_last_run(
    dir: &Dir,
    input: Option<&std::path::Path>,
    claim: Option<&std::path::Path>,
    hint: &str,
) -> Result<Claim> {
    match input {
        Some(input) => read_claim(dir, input, claim),
        None => {
            let run: RunRecord = dir.read_json(RUN, hint)?;
            Ok(Claim {
                input: run.input,
                outputs: run.outputs,
            })
        }
    }
}

/// Outputs in the format `cairn run --output` writes, back to exact fixed point.
pub fn read_outputs(path: &std::path::Path, outputs: &[TensorInfo]) -> Result<Vec<i128>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let mut flat = Vec::new();
    for info in outputs {
        let v = json
            .get(&info.name)
            .with_context(|| format!("{}: no output named '{}'", path.display(), info.name))?;
        let mut values = Vec::new();
        collect_numbers(v, &mut values, &info.name)?;
        if values.len() != info.len() {
            bail!(
                "{}: output '{}' has {} values, the model gives {}",
                path.display(),
                info.name,
                values.len(),
                info.len()
            );
        }
        for (i, x) in values.into_iter().enumerate() {
            let q = x * (1u64 << info.scale) as f64;
            if q.fract() != 0.0 || q.abs() >= 2f64.powi(100) {
                bail!(
                    "{}: output '{}' value {i} ({x}) is not a fixed-point number at scale 2^-{}",
                    path.display(),
                    info.name,
                    info.scale
                );
            }
            flat.push(q as i128);
        }
    }
    Ok(flat)
}

fn collect_numbers(v: &Value, out: &mut Vec<f64>, at: &str) -> Result<()> {
    match v {
        Value::Array(items) => items.iter().try_for_each(|x| collect_numbers(x, out, at)),
        Value::Number(n) => {
            out.push(
                n.as_f64()
                    .with_context(|| format!("'{at}': {n} is not a number"))?,
            );
            Ok(())
        }
        other => bail!("'{at}': {other} is not a number"),
    }
}

pub fn submit(args: &SubmitArgs) -> Result<SubmitSummary> {
    let start = std::time::Instant::now();
    let dir = Dir(args.dir.clone());
    let deployment = Deployment::read(&dir)?;
    let manifest = dir.manifest()?;
    if manifest.program_hash != deployment.program_hash {
        bail!(
            "{} was deployed for another program ({}); run `cairn deploy` again",
            dir.0.display(),
            deployment.program_hash
        );
    }
    let claim = read_claim(&dir, &args.input, args.claim.as_deref())?;
    let program_hash = felt_hex(&deployment.program_hash, "program hash")?;
    let verifier = felt_hex(&deployment.verifier, "verifier address")?;
    let expected_fact = claim.fact_hash(program_hash);
    let network = deployment.network(&args.network)?;
    let rt = runtime()?;
    rt.block_on(async {
        let (chain, _) = connect(&network, args.quiet).await?;
        let mut txs: Vec<TxReport> = Vec::new();
        let outcome = if deployment.plan.single {
            let mut calldata = with_len(&claim.input_felts());
            calldata.extend(with_len(&claim.output_felts()));
            let calls = [call(verifier, "verify_and_register", calldata)];
            send(&chain, "verify_and_register", &calls, args, &mut txs).await?
        } else {
            sessions(&chain, &deployment, &claim, verifier, args, &mut txs).await?
        };
        let (accepted, reason) = match outcome {
            Outcome::Done => (true, None),
            Outcome::Refused(r) => (false, Some(r)),
        };
        if accepted {
            // The fact the verifier emitted must be the one Cairn computes.
            let emitted = txs
                .last()
                .and_then(|t| claim_event_fact(t, verifier))
                .context("the verifier registered no fact (ClaimVerified event missing)")?;
            anyhow::ensure!(
                emitted == expected_fact,
                "the chain registered fact {emitted:#x}, Cairn computes {expected_fact:#x}"
            );
        }
        Ok(SubmitSummary {
            accepted,
            reason,
            fact_hash: format!("{expected_fact:#x}"),
            input_hash: format!("{:#x}", claim.input_hash()),
            verifier: deployment.verifier.clone(),
            reverted_onchain: txs.iter().any(|t| t.reverted.is_some()),
            transactions: txs.iter().map(TxRecord::from).collect(),
            seconds: start.elapsed().as_secs_f64(),
        })
    })
}

pub(crate) enum Outcome {
    Done,
    /// The chain refused: the node's simulation reverted, or the sent transaction did.
    Refused(String),
}

/// `[len, values...]`: how an `Array<felt252>` argument is serialised.
pub(crate) fn with_len(v: &[Felt]) -> Vec<Felt> {
    let mut out = vec![Felt::from(v.len())];
    out.extend_from_slice(v);
    out
}

/// Estimates, then sends one transaction. A predicted revert is reported, not sent, unless
/// `--send-anyway`.
pub(crate) async fn send(
    chain: &Chain,
    what: &str,
    calls: &[cairn_chain::Call],
    args: &SubmitArgs,
    txs: &mut Vec<TxReport>,
) -> Result<Outcome> {
    let est = match chain.estimate_invoke(calls).await {
        Ok(e) => Some(e),
        Err(ChainError::Rejected(reason)) if !args.send_anyway => {
            return Ok(Outcome::Refused(reason));
        }
        Err(ChainError::Rejected(_)) => None,
        Err(e) => return Err(e.into()),
    };
    if let (Some(e), false) = (&est, args.quiet) {
        eprintln!("{what}: estimated {} L2 gas, fee {} FRI", e.l2_gas, e.fee);
    }
    let bar = spinner(&format!("{what}: waiting for the receipt"), args.quiet);
    let r = chain.invoke(what, calls, est.as_ref(), REVERT_L2_GAS).await;
    bar.finish_and_clear();
    let r = r?;
    let reverted = r.reverted.clone();
    txs.push(r);
    Ok(match reverted {
        None => Outcome::Done,
        Some(reason) => Outcome::Refused(reason),
    })
}

/// The multi-transaction check: begin, advance stage group by stage group, finish.
async fn sessions(
    chain: &Chain,
    deployment: &Deployment,
    claim: &Claim,
    verifier: Felt,
    args: &SubmitArgs,
    txs: &mut Vec<TxReport>,
) -> Result<Outcome> {
    let input = claim.input_felts();
    let calls = [call(verifier, "begin", with_len(&input))];
    if let Outcome::Refused(r) = send(chain, "begin", &calls, args, txs).await? {
        return Ok(Outcome::Refused(r));
    }
    let session = txs
        .last()
        .and_then(|t| event_key(t, verifier, "SessionStarted"))
        .context("the verifier started no session (SessionStarted event missing)")?;
    let mut live = input;
    let n = deployment.plan.groups.len();
    for (i, &(first, count)) in deployment.plan.groups.iter().enumerate() {
        // The next live tensors, computed by the verifier itself in a free read-only call.
        let mut calldata = vec![Felt::from(first), Felt::from(count)];
        calldata.extend(with_len(&live));
        let next = chain.call(verifier, "run_stages", calldata).await?;
        let mut calldata = vec![session, Felt::from(count)];
        calldata.extend(with_len(&live));
        let calls = [call(verifier, "advance", calldata)];
        let what = format!("advance {}/{n} (stages {first}..{})", i + 1, first + count);
        if let Outcome::Refused(r) = send(chain, &what, &calls, args, txs).await? {
            return Ok(Outcome::Refused(r));
        }
        live = next.get(1..).map(|s| s.to_vec()).unwrap_or_default();
    }
    let mut calldata = vec![session];
    calldata.extend(with_len(&claim.output_felts()));
    let calls = [call(verifier, "finish", calldata)];
    send(chain, "finish", &calls, args, txs).await
}

fn event_key(t: &TxReport, from: Felt, name: &str) -> Option<Felt> {
    let selector = cairn_chain::get_selector_from_name(name).ok()?;
    t.events
        .iter()
        .find(|e| e.from_address == from && e.keys.first() == Some(&selector))
        .and_then(|e| e.keys.get(1).copied())
}

fn claim_event_fact(t: &TxReport, verifier: Felt) -> Option<Felt> {
    event_key(t, verifier, "ClaimVerified")
}

pub(crate) fn felt_usize(f: &Felt) -> usize {
    f.to_biguint().try_into().unwrap_or(usize::MAX)
}
