//! `cairn deploy DIR`: compile the contracts, check they fit, declare and deploy them.
//!
//! Nothing is sent before every class has been compiled and checked against the public-network
//! limits and the node has estimated every declaration. Deploying again is idempotent: declared
//! classes and deployed contracts (same class, arguments and salt) are found and reused.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use cairn_chain::{call, Chain, ClassToDeclare, Estimate, Felt};
use serde::Serialize;

use super::network::*;
use crate::artifacts::*;
use crate::progress::spinner;

/// Public-network limits on a declared class (devnet's defaults are the same).
pub const MAX_SIERRA_FELTS: usize = 81_920;
pub const MAX_CASM_FELTS: usize = 81_920;
pub const MAX_CLASS_BYTES: usize = 4_089_446;
/// Public-network limit on one transaction's calldata.
pub const MAX_CALLDATA_FELTS: usize = 5_000;
/// Calldata of an invoke beyond its arguments (account encoding, call header, lengths).
const CALLDATA_OVERHEAD: usize = 16;
/// Steps one transaction may run by default (the network's 10M, with room for estimate error).
pub const TX_STEP_BUDGET: u64 = 7_500_000;

#[derive(Debug, Clone)]
pub struct DeployArgs {
    pub dir: PathBuf,
    pub network: NetworkArgs,
    /// Stop after the checks and the estimates: send nothing.
    pub estimate_only: bool,
    /// Most estimated Cairo steps one claim transaction may run.
    pub max_tx_steps: u64,
    pub quiet: bool,
}

/// One line of the cost estimate.
#[derive(Debug, Clone, Serialize)]
pub struct EstimateLine {
    pub what: String,
    /// `None`: nothing to send (already declared or deployed).
    pub l2_gas: Option<u64>,
    pub fee_fri: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeploySummary {
    pub rpc: String,
    pub chain_id: String,
    pub account: String,
    pub classes: Vec<ClassRecord>,
    pub plan: TxPlan,
    pub estimates: Vec<EstimateLine>,
    pub sent: bool,
    pub registry: Option<String>,
    pub verifier: Option<String>,
    pub consumer: Option<String>,
    pub transactions: Vec<TxRecord>,
    pub seconds: f64,
}

/// Checks calldata sizes and groups the stages into transactions.
pub fn plan_transactions(manifest: &Manifest, max_tx_steps: u64) -> Result<TxPlan> {
    if let Some(why) = &manifest.onchain_refusal {
        bail!("this model cannot be checked onchain: {why}");
    }
    let input = manifest.inputs.iter().map(|i| i.len()).sum::<usize>();
    let output = manifest.outputs.iter().map(|o| o.len()).sum::<usize>();
    let steps: u64 = manifest.stages.iter().map(|s| s.est_steps).sum();
    if input + output + CALLDATA_OVERHEAD <= MAX_CALLDATA_FELTS && steps <= max_tx_steps {
        return Ok(TxPlan {
            single: true,
            groups: vec![(0, manifest.stages.len() as u32)],
            calldata: vec![input + output + CALLDATA_OVERHEAD],
            steps: vec![steps],
        });
    }
    for (what, len) in [("input", input), ("output", output)] {
        if len + CALLDATA_OVERHEAD > MAX_CALLDATA_FELTS {
            bail!(
                "the model's {what} is {len} felts; a transaction carries at most \
                 {MAX_CALLDATA_FELTS}: this model cannot be checked onchain"
            );
        }
    }
    let mut groups: Vec<(u32, u32)> = Vec::new();
    let mut group_steps = 0;
    for (i, s) in manifest.stages.iter().enumerate() {
        if s.in_len + CALLDATA_OVERHEAD > MAX_CALLDATA_FELTS {
            bail!(
                "stage {i} starts from {} felts of intermediate tensors; a transaction carries \
                 at most {MAX_CALLDATA_FELTS}: recompile with other --max-stage-steps or \
                 --max-class-felts so that the cut falls elsewhere",
                s.in_len
            );
        }
        match groups.last_mut() {
            Some(g) if group_steps + s.est_steps <= max_tx_steps => {
                g.1 += 1;
                group_steps += s.est_steps;
            }
            _ => {
                groups.push((i as u32, 1));
                group_steps = s.est_steps;
            }
        }
    }
    // begin, one advance per group (the group's first live tensors), finish.
    let mut calldata = vec![input + CALLDATA_OVERHEAD];
    let mut tx_steps = vec![0];
    for &(first, count) in &groups {
        let stages = &manifest.stages[first as usize..(first + count) as usize];
        calldata.push(stages[0].in_len + CALLDATA_OVERHEAD);
        tx_steps.push(stages.iter().map(|s| s.est_steps).sum());
    }
    calldata.push(output + CALLDATA_OVERHEAD);
    tx_steps.push(0);
    Ok(TxPlan {
        single: false,
        groups,
        calldata,
        steps: tx_steps,
    })
}

/// Compiles `DIR/cairo/contracts`, writes the classes to `DIR/classes/` and checks their sizes.
pub fn compile_classes(dir: &Dir, quiet: bool) -> Result<Vec<(ClassRecord, ClassToDeclare)>> {
    let pkg = dir.path(PACKAGE).join("contracts");
    let bar = spinner("compiling the contracts", quiet);
    let compiled = cairn_cairo::compile_contracts(&pkg, &Default::default());
    bar.finish_and_clear();
    let compiled = compiled?;
    let out = dir.path(CLASSES);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut classes = Vec::new();
    for c in compiled {
        let sierra_json = serde_json::to_string(&c.sierra)?;
        std::fs::write(
            out.join(format!("{}.contract_class.json", c.name)),
            &sierra_json,
        )?;
        write_json(
            &out.join(format!("{}.compiled_contract_class.json", c.name)),
            &c.casm,
        )?;
        let compiled_class_hash = Felt::from_bytes_be(&c.casm.compiled_class_hash().to_bytes_be());
        let to_declare = ClassToDeclare {
            name: c.name.clone(),
            sierra_json,
            compiled_class_hash,
        };
        let (class_hash, flat) = Chain::class_hash(&to_declare)?;
        // The size the network caps: the class as declared (no debug information).
        let class_bytes = serde_json::to_string(&*flat)?.len();
        let record = ClassRecord {
            name: c.name.clone(),
            class_hash: format!("{class_hash:#x}"),
            compiled_class_hash: format!("{compiled_class_hash:#x}"),
            sierra_felts: c.sierra_felts(),
            casm_felts: c.casm_felts(),
            class_bytes,
        };
        for (what, size, limit) in [
            ("Sierra program", record.sierra_felts, MAX_SIERRA_FELTS),
            ("CASM bytecode", record.casm_felts, MAX_CASM_FELTS),
            ("class", record.class_bytes, MAX_CLASS_BYTES),
        ] {
            if size > limit {
                bail!(
                    "class {} is too big for Starknet: its {what} is {size} (the limit is \
                     {limit}); recompile with a smaller --max-class-felts so that each stage \
                     holds fewer weights",
                    record.name
                );
            }
        }
        classes.push((record, to_declare));
    }
    // Fixed order: the shared contracts first, then the stages by index.
    classes.sort_by_key(|(r, _)| order_key(&r.name));
    Ok(classes)
}

fn order_key(name: &str) -> (usize, usize) {
    match name {
        "CairnFactRegistry" => (0, 0),
        "CairnVerifier" => (1, 0),
        "CairnDecisions" => (2, 0),
        _ => (
            3,
            name.trim_start_matches("CairnStage")
                .parse()
                .unwrap_or(usize::MAX),
        ),
    }
}

pub fn deploy(args: &DeployArgs) -> Result<DeploySummary> {
    let start = std::time::Instant::now();
    let dir = Dir(args.dir.clone());
    let manifest = dir.manifest()?;
    let plan = plan_transactions(&manifest, args.max_tx_steps)?;
    let classes = compile_classes(&dir, args.quiet)?;
    let stages: Vec<&ClassRecord> = classes
        .iter()
        .map(|(r, _)| r)
        .filter(|r| r.name.starts_with("CairnStage"))
        .collect();
    anyhow::ensure!(
        stages.len() == manifest.stages.len(),
        "the contracts hold {} stage classes, the manifest {}: recompile the model",
        stages.len(),
        manifest.stages.len()
    );
    let program_hash = felt_hex(&manifest.program_hash, "program hash")?;
    let weights = felt_hex(&manifest.weights_commitment, "weights commitment")?;
    let rt = runtime()?;
    rt.block_on(async {
        let (chain, local) = connect(&args.network, args.quiet).await?;
        let class_hash = |name: &str| -> Result<Felt> {
            let r = classes
                .iter()
                .find(|(r, _)| r.name == name)
                .with_context(|| format!("no {name} class"))?;
            felt_hex(&r.0.class_hash, "class hash")
        };

        // Every declaration estimated before anything is sent.
        let mut estimates = Vec::new();
        let mut to_declare = Vec::new();
        for (record, class) in &classes {
            let est = chain.estimate_declare(class).await?;
            estimates.push(EstimateLine {
                what: format!("declare {}", record.name),
                l2_gas: est.as_ref().map(|e| e.l2_gas),
                fee_fri: est.as_ref().map(|e| e.fee.to_string()),
            });
            if let Some(e) = est {
                to_declare.push((class, e));
            }
        }
        let mut summary = DeploySummary {
            rpc: chain.url.to_string(),
            chain_id: chain.chain_name(),
            account: format!("{:#x}", chain.address()),
            classes: classes.iter().map(|(r, _)| r.clone()).collect(),
            plan: plan.clone(),
            estimates,
            sent: false,
            registry: None,
            verifier: None,
            consumer: None,
            transactions: vec![],
            seconds: 0.0,
        };
        if !args.quiet {
            print_estimate(&summary);
        }
        if args.estimate_only {
            summary.seconds = start.elapsed().as_secs_f64();
            return Ok(summary);
        }

        let mut txs = Vec::new();
        for (class, est) in &to_declare {
            let bar = spinner(&format!("declaring {}", class.name), args.quiet);
            let r = chain.declare(class, est).await;
            bar.finish_and_clear();
            txs.push(checked(r?.1)?);
        }

        let salt = Felt::ZERO;
        let registry_args = vec![chain.address()];
        let registry = ensure_deployed(
            &chain,
            "registry",
            class_hash("CairnFactRegistry")?,
            &registry_args,
            salt,
            &mut txs,
            args.quiet,
        )
        .await?;
        let input_len = manifest.inputs.iter().map(|i| i.len()).sum::<usize>();
        let output_len = manifest.outputs.iter().map(|o| o.len()).sum::<usize>();
        let mut verifier_args = vec![
            program_hash,
            weights,
            registry,
            Felt::from(input_len),
            Felt::from(output_len),
            Felt::from(stages.len()),
        ];
        for s in &stages {
            verifier_args.push(felt_hex(&s.class_hash, "class hash")?);
        }
        let verifier = ensure_deployed(
            &chain,
            "verifier",
            class_hash("CairnVerifier")?,
            &verifier_args,
            salt,
            &mut txs,
            args.quiet,
        )
        .await?;
        let consumer = ensure_deployed(
            &chain,
            "consumer",
            class_hash("CairnDecisions")?,
            &[registry, program_hash],
            salt,
            &mut txs,
            args.quiet,
        )
        .await?;
        // The registry accepts facts only from verifiers its owner added.
        let added = chain.call(registry, "is_verifier", vec![verifier]).await?;
        if added.first() != Some(&Felt::ONE) {
            let calls = [call(registry, "add_verifier", vec![verifier])];
            let est = chain.estimate_invoke(&calls).await?;
            let r = chain
                .invoke("registry.add_verifier", &calls, Some(&est), 0)
                .await?;
            txs.push(checked(r)?);
        }

        let deployment = Deployment {
            rpc: chain.url.to_string(),
            local,
            chain_id: chain.chain_name(),
            account: format!("{:#x}", chain.address()),
            program_hash: manifest.program_hash.clone(),
            weights_commitment: manifest.weights_commitment.clone(),
            registry: format!("{registry:#x}"),
            verifier: format!("{verifier:#x}"),
            consumer: format!("{consumer:#x}"),
            classes: summary.classes.clone(),
            stage_classes: stages.iter().map(|s| s.class_hash.clone()).collect(),
            plan,
            transactions: txs.iter().map(TxRecord::from).collect(),
        };
        dir.write_json(DEPLOYMENT, &deployment)?;
        summary.sent = true;
        summary.registry = Some(deployment.registry);
        summary.verifier = Some(deployment.verifier);
        summary.consumer = Some(deployment.consumer);
        summary.transactions = deployment.transactions;
        summary.seconds = start.elapsed().as_secs_f64();
        Ok(summary)
    })
}

/// A transaction that must have succeeded.
pub fn checked(t: cairn_chain::TxReport) -> Result<cairn_chain::TxReport> {
    match &t.reverted {
        None => Ok(t),
        Some(reason) => bail!("{} (transaction {:#x}) reverted: {reason}", t.what, t.hash),
    }
}

async fn ensure_deployed(
    chain: &Chain,
    what: &str,
    class_hash: Felt,
    calldata: &[Felt],
    salt: Felt,
    txs: &mut Vec<cairn_chain::TxReport>,
    quiet: bool,
) -> Result<Felt> {
    let address = chain.deployed_address(class_hash, calldata, salt);
    if chain.is_deployed(address).await? {
        return Ok(address);
    }
    let est: Estimate = chain.estimate_deploy(class_hash, calldata, salt).await?;
    if !quiet {
        eprintln!(
            "deploy {what}: estimated {} L2 gas, fee {} FRI",
            est.l2_gas, est.fee
        );
    }
    let bar = spinner(&format!("deploying the {what}"), quiet);
    let r = chain.deploy(what, class_hash, calldata, salt, &est).await;
    bar.finish_and_clear();
    let (address, report) = r?;
    txs.push(checked(report)?);
    Ok(address)
}

fn print_estimate(s: &DeploySummary) {
    eprintln!("network {} ({}), account {}", s.rpc, s.chain_id, s.account);
    eprintln!(
        "{:<22} {:>12} {:>12} {:>12}",
        "class", "sierra felts", "casm felts", "bytes"
    );
    for c in &s.classes {
        eprintln!(
            "{:<22} {:>12} {:>12} {:>12}",
            c.name, c.sierra_felts, c.casm_felts, c.class_bytes
        );
    }
    for e in &s.estimates {
        match (&e.l2_gas, &e.fee_fri) {
            (Some(g), Some(f)) => eprintln!("{:<40} {:>14} L2 gas  {f:>22} FRI", e.what, g),
            _ => eprintln!("{:<40} {:>14}", e.what, "already on chain"),
        }
    }
    if s.plan.single {
        eprintln!("claims: one transaction each (verify_and_register)");
    } else {
        eprintln!(
            "claims: {} transactions each (begin, {} × advance, finish)",
            s.plan.groups.len() + 2,
            s.plan.groups.len()
        );
    }
    for (i, (c, st)) in s.plan.calldata.iter().zip(&s.plan.steps).enumerate() {
        eprintln!(
            "  claim transaction {}: {c} calldata felts (limit {MAX_CALLDATA_FELTS}), about {st} Cairo steps",
            i + 1
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(input: usize, output: usize, stages: &[(usize, u64)]) -> Manifest {
        let info = |name: &str, n: usize| TensorInfo {
            name: name.into(),
            shape: vec![1, n],
            dtype: "f32".into(),
            scale: 16,
        };
        Manifest {
            format: MANIFEST_FORMAT,
            source: "m.onnx".into(),
            model_sha256: String::new(),
            program_hash: "0x1".into(),
            bytecode_len: 0,
            scale: 16,
            inputs: vec![info("x", input)],
            outputs: vec![info("y", output)],
            multiply_adds: 0,
            weights_commitment: "0x2".into(),
            onchain_refusal: None,
            bound: vec![],
            stages: stages
                .iter()
                .enumerate()
                .map(|(i, &(in_len, est_steps))| StageInfo {
                    start: [i, 0],
                    in_len,
                    out_len: 0,
                    est_felts: 0,
                    est_steps,
                })
                .collect(),
        }
    }

    #[test]
    fn small_claims_take_one_transaction() {
        let m = manifest(784, 10, &[(784, 100_000), (64, 1_000)]);
        let p = plan_transactions(&m, TX_STEP_BUDGET).unwrap();
        assert!(p.single);
        assert_eq!(p.calldata, vec![784 + 10 + CALLDATA_OVERHEAD]);
    }

    #[test]
    fn slow_models_are_grouped_into_transactions_within_the_budget() {
        let m = manifest(10, 2, &[(10, 4), (8, 4), (8, 4), (6, 4)]);
        let p = plan_transactions(&m, 8).unwrap();
        assert!(!p.single);
        assert_eq!(p.groups, vec![(0, 2), (2, 2)]);
        assert_eq!(p.calldata.len(), 4);
        assert!(p.steps.iter().all(|&s| s <= 8));
    }

    #[test]
    fn models_too_big_for_onchain_checks_are_refused_with_the_reason() {
        let mut m = manifest(10, 2, &[(10, 10)]);
        m.onchain_refusal = Some("node \"y\" needs about 42M steps".into());
        let err = plan_transactions(&m, TX_STEP_BUDGET)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot be checked onchain") && err.contains("42M"),
            "{err}"
        );
    }

    #[test]
    fn calldata_beyond_the_network_limit_is_refused() {
        let m = manifest(6_000, 2, &[(6_000, 10)]);
        let err = plan_transactions(&m, TX_STEP_BUDGET)
            .unwrap_err()
            .to_string();
        assert!(err.contains("input is 6000 felts"), "{err}");
        let m = manifest(10, 2, &[(10, 10), (5_500, 10)]);
        let err = plan_transactions(&m, 15).unwrap_err().to_string();
        assert!(err.contains("stage 1 starts from 5500 felts"), "{err}");
    }
}
