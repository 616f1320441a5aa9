//! The Starknet path against a real starknet-devnet (`cairn-devnet`, started by each test on a
//! free port): deploy the generated contracts, submit claims, read facts, use the consumer.
//! Expectations are independent of the contracts: facts are recomputed in Rust with Poseidon,
//! outputs come from the Cairo VM run of the provable program.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use cairn_chain::devnet::DevnetProcess;
use cairn_chain::{Chain, Felt, Signer};
use cairn_cli::artifacts::{Dir, RunRecord, RUN};
use cairn_cli::commands::network::{Deployment, NetworkArgs};
use cairn_cli::commands::{act, compile, deploy, facts, run, submit};
use common::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn net(node: &DevnetProcess) -> NetworkArgs {
    NetworkArgs {
        rpc: Some(node.url.clone()),
    }
}

fn deploy_args(dir: &Path, node: &DevnetProcess) -> deploy::DeployArgs {
    deploy::DeployArgs {
        dir: dir.to_path_buf(),
        network: net(node),
        estimate_only: false,
        max_tx_steps: deploy::TX_STEP_BUDGET,
        quiet: true,
    }
}

fn submit_args(dir: &Path, name: &str, node: &DevnetProcess) -> submit::SubmitArgs {
    submit::SubmitArgs {
        dir: dir.to_path_buf(),
        input: input(name),
        claim: None,
        network: net(node),
        send_anyway: false,
        quiet: true,
    }
}

fn last_run(dir: &Path) -> RunRecord {
    Dir(dir.to_path_buf())
        .read_json(RUN, "run the model first")
        .unwrap()
}

/// The last run's outputs with one value changed, written as a claim file.
fn tampered_claim(dir: &Path) -> std::path::PathBuf {
    let out: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("output.json")).unwrap()).unwrap();
    let mut text = out.to_string();
    // Change the first number by one unit at scale 2^-16 (any exact fixed-point value works).
    let first: serde_json::Value = {
        fn first_number(v: &serde_json::Value) -> Option<f64> {
            match v {
                serde_json::Value::Array(a) => a.iter().find_map(first_number),
                serde_json::Value::Object(o) => o.values().find_map(first_number),
                serde_json::Value::Number(n) => n.as_f64(),
                _ => None,
            }
        }
        serde_json::json!(first_number(&out).unwrap())
    };
    let bumped = serde_json::json!(first.as_f64().unwrap() + 1.0 / 65536.0);
    text = text.replacen(&first.to_string(), &bumped.to_string(), 1);
    let path = dir.join("tampered.json");
    std::fs::write(&path, text).unwrap();
    path
}

fn expected_fact(dir: &Path, deployment: &Deployment) -> Felt {
    let run = last_run(dir);
    submit::Claim {
        input: run.input,
        outputs: run.outputs,
    }
    .fact_hash(Felt::from_hex(&deployment.program_hash).unwrap())
}

/// The whole path on the bundled example: accepted claim, fact read back, rejected claims
/// (refused at estimation and reverted onchain) register nothing, consumer once per fact.
#[test]
fn claims_are_checked_onchain_and_facts_registered() {
    let rt = rt();
    let node = rt.block_on(DevnetProcess::start()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    compile::compile(&compile_args(&example_model(), dir)).unwrap();
    run::run(&run::RunArgs {
        dir: dir.to_path_buf(),
        input: example_input(),
        output: None,
        quiet: true,
    })
    .unwrap();

    let d = deploy::deploy(&deploy_args(dir, &node)).unwrap();
    assert!(d.sent && d.plan.single);
    let deployment = Deployment::read(&Dir(dir.to_path_buf())).unwrap();
    // Deploying again finds everything in place and sends nothing.
    let again = deploy::deploy(&deploy_args(dir, &node)).unwrap();
    assert!(again.transactions.is_empty(), "{:?}", again.transactions);
    assert_eq!(again.verifier, d.verifier);

    let mut args = submit_args(dir, "example", &node);
    args.input = example_input();
    let s = submit::submit(&args).unwrap();
    assert!(s.accepted, "{:?}", s.reason);
    let fact = expected_fact(dir, &deployment);
    assert_eq!(s.fact_hash, format!("{fact:#x}"));
    let f = facts::facts(dir, &net(&node), None, None, None, true).unwrap();
    assert!(f.valid);
    assert_eq!(f.fact_hash, format!("{fact:#x}"));
    assert_eq!(f.verifications.len(), 1);
    assert_eq!(f.verifications[0].security_bits, 128);
    assert_eq!(f.program_hash, deployment.program_hash);
    assert_eq!(f.weights_commitment, deployment.weights_commitment);

    // One output changed: the node's simulation reverts, nothing is sent or registered.
    let tampered = tampered_claim(dir);
    args.claim = Some(tampered.clone());
    let bad = submit::submit(&args).unwrap();
    assert!(!bad.accepted && !bad.reverted_onchain);
    assert!(
        bad.reason.as_deref().unwrap().contains("outputs differ"),
        "{:?}",
        bad.reason
    );
    assert!(bad.transactions.is_empty());
    // Sent anyway: the chain itself reverts it, and still registers nothing.
    args.send_anyway = true;
    let reverted = submit::submit(&args).unwrap();
    assert!(!reverted.accepted && reverted.reverted_onchain);
    assert!(reverted
        .reason
        .as_deref()
        .unwrap()
        .contains("outputs differ"));
    let bad_fact = Felt::from_hex(&bad.fact_hash).unwrap();
    assert_ne!(bad_fact, fact);
    let f = facts::facts(dir, &net(&node), Some(bad_fact), None, None, true).unwrap();
    assert!(!f.valid && f.verifications.is_empty());

    // The consumer acts once on the verified prediction, with the decision the outputs give.
    let a = act::act(dir, &net(&node), None, None, true).unwrap();
    assert!(a.accepted, "{:?}", a.reason);
    let outputs = last_run(dir).outputs;
    let argmax = (0..outputs.len()).fold(0, |b, i| if outputs[i] > outputs[b] { i } else { b });
    assert_eq!(a.decision, Some(argmax as u32));
    let replay = act::act(dir, &net(&node), None, None, true).unwrap();
    assert!(!replay.accepted);
    assert!(replay.reason.unwrap().contains("already used"));
    // An unverified prediction is refused.
    let unverified = act::act(
        dir,
        &net(&node),
        Some(&example_input()),
        Some(&tampered),
        true,
    )
    .unwrap();
    assert!(!unverified.accepted);
    assert!(unverified.reason.unwrap().contains("not verified"));
}

/// A model cut into several stage classes, checked over several transactions.
#[test]
fn a_model_split_across_classes_and_transactions_goes_through() {
    let rt = rt();
    let node = rt.block_on(DevnetProcess::start()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let name = "mlp_tanh_sigmoid";
    let mut args = compile_args(&model(name), dir);
    // Budgets small enough to put every node in a stage of its own.
    args.limits.stage_steps = 1;
    compile::compile(&args).unwrap();
    run::run(&run::RunArgs {
        dir: dir.to_path_buf(),
        input: input(name),
        output: None,
        quiet: true,
    })
    .unwrap();
    let manifest = Dir(dir.to_path_buf()).manifest().unwrap();
    assert!(manifest.stages.len() >= 4, "{:?}", manifest.stages);

    let mut d = deploy_args(dir, &node);
    d.max_tx_steps = 1;
    let d = deploy::deploy(&d).unwrap();
    assert!(!d.plan.single);
    assert_eq!(d.plan.groups.len(), manifest.stages.len());
    let stage_classes = d
        .classes
        .iter()
        .filter(|c| c.name.starts_with("CairnStage"))
        .count();
    assert_eq!(stage_classes, manifest.stages.len());

    let s = submit::submit(&submit_args(dir, name, &node)).unwrap();
    assert!(s.accepted, "{:?}", s.reason);
    // begin, one advance per group, finish.
    assert_eq!(s.transactions.len(), d.plan.groups.len() + 2);
    let deployment = Deployment::read(&Dir(dir.to_path_buf())).unwrap();
    assert_eq!(
        s.fact_hash,
        format!("{:#x}", expected_fact(dir, &deployment))
    );
    let f = facts::facts(dir, &net(&node), None, None, None, true).unwrap();
    assert!(f.valid);
    assert_eq!(f.stages as usize, manifest.stages.len());

    // A wrong claim fails at `finish` after the stages ran.
    let mut bad = submit_args(dir, name, &node);
    bad.claim = Some(tampered_claim(dir));
    let r = submit::submit(&bad).unwrap();
    assert!(!r.accepted);
    assert!(r.reason.unwrap().contains("outputs differ"));
}

/// The 784-64-32-10 MLP: its first layer alone is too big for one class, so its blocks of outputs
/// are spread over several stage classes, all within the public-network limits.
#[test]
fn a_model_bigger_than_a_class_is_deployed_and_checked() {
    let rt = rt();
    let node = rt.block_on(DevnetProcess::start()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let name = "mlp_784_64_32_10";
    compile_and_run(name, dir);
    let d = deploy::deploy(&deploy_args(dir, &node)).unwrap();
    let stages: Vec<_> = d
        .classes
        .iter()
        .filter(|c| c.name.starts_with("CairnStage"))
        .collect();
    assert!(stages.len() >= 3, "{stages:?}");
    for c in &d.classes {
        assert!(c.sierra_felts <= deploy::MAX_SIERRA_FELTS, "{c:?}");
        assert!(c.casm_felts <= deploy::MAX_CASM_FELTS, "{c:?}");
        assert!(c.class_bytes <= deploy::MAX_CLASS_BYTES, "{c:?}");
    }
    let s = submit::submit(&submit_args(dir, name, &node)).unwrap();
    assert!(s.accepted, "{:?}", s.reason);
    let deployment = Deployment::read(&Dir(dir.to_path_buf())).unwrap();
    assert_eq!(
        s.fact_hash,
        format!("{:#x}", expected_fact(dir, &deployment))
    );
}

/// The outputs the verifier computes onchain equal the Cairo program's, bit for bit.
#[test]
fn onchain_outputs_equal_the_cairo_programs() {
    let rt = rt();
    let node = rt.block_on(DevnetProcess::start()).unwrap();
    for name in [
        "softmax",
        "broadcast_arith",
        "two_inputs",
        "reductions",
        "batchnorm_gelu",
        "conv2d",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        compile_and_run(name, dir);
        deploy::deploy(&deploy_args(dir, &node)).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let deployment = Deployment::read(&Dir(dir.to_path_buf())).unwrap();
        let run = last_run(dir);
        let verifier = Felt::from_hex(&deployment.verifier).unwrap();
        let stages = deployment.stage_classes.len();
        let onchain = rt.block_on(async {
            let (address, key) = cairn_chain::devnet::predeployed_account(&node.url)
                .await
                .unwrap()
                .unwrap();
            let chain = Chain::connect(node.url.clone(), address, Signer::Key(key))
                .await
                .unwrap();
            let mut calldata = vec![Felt::ZERO, Felt::from(stages), Felt::from(run.input.len())];
            calldata.extend(run.input.iter().map(|&v| felt(v)));
            chain.call(verifier, "run_stages", calldata).await.unwrap()
        });
        let expected: Vec<Felt> = std::iter::once(Felt::from(run.outputs.len()))
            .chain(run.outputs.iter().map(|&v| felt(v)))
            .collect();
        assert_eq!(onchain, expected, "{name}");
    }
}

/// A node that is down: a clear error, no panic.
#[test]
fn a_node_that_is_down_gives_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    compile::compile(&compile_args(&example_model(), dir)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let args = deploy::DeployArgs {
        dir: dir.to_path_buf(),
        network: NetworkArgs {
            rpc: Some(format!("http://127.0.0.1:{port}/").parse().unwrap()),
        },
        estimate_only: true,
        max_tx_steps: deploy::TX_STEP_BUDGET,
        quiet: true,
    };
    let err = format!("{:#}", deploy::deploy(&args).unwrap_err());
    assert!(err.contains("cannot reach a Starknet node"), "{err}");
}

fn felt(v: i128) -> Felt {
    cairn_cli::commands::felt(v)
}
