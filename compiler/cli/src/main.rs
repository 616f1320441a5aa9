//! `cairn`: compile ONNX models to Cairo, run them on the Cairo VM, prove and verify with Stwo.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{bail, Result};
use cairn_cli::commands::network::NetworkArgs;
use cairn_cli::commands::{
    act, compile, deploy, facts, inspect, prove, report, run, submit, verify,
};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cairn",
    version,
    about = "Verifiable machine learning on Starknet: ONNX → Cairo → Stwo proof."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile an ONNX model into a Cairo program (writes DIR/{model.ir, cairo/, program.json, manifest.json}).
    Compile {
        /// The ONNX model.
        model: PathBuf,
        /// Output folder.
        #[arg(short, long, default_value = "out")]
        out: PathBuf,
        /// Fixed-point fractional bits of activations (weights get this or more).
        #[arg(long, default_value_t = cairn_passes::quantise::DEFAULT_SCALE)]
        scale: u32,
        /// Calibration input (JSON, like `run`'s; repeatable): every activation then gets its
        /// own scale from the magnitudes it reaches, instead of --scale for all.
        #[arg(long = "calibrate", value_name = "INPUT.json")]
        calibration: Vec<PathBuf>,
        /// Shape of an input whose dimensions are symbolic: NAME=D1,D2,... (repeatable).
        #[arg(long = "input-shape", value_name = "NAME=DIMS", value_parser = parse_shape)]
        input_shapes: Vec<(String, Vec<usize>)>,
        /// Fix an input at compile time: NAME=V1,V2,... (repeatable). Needed for inputs that
        /// decide shapes (a Reshape's shape, Slice bounds, reduction axes); the input becomes a
        /// constant of the program.
        #[arg(long = "bind", value_name = "NAME=VALUES", value_parser = parse_bind)]
        binds: Vec<(String, Vec<f64>)>,
        /// Accumulators per generated dense block.
        #[arg(long, default_value_t = cairn_codegen::CodegenOptions::default().accumulators, hide = true)]
        accumulators: usize,
        /// Largest input chunk per generated dense function.
        #[arg(long, default_value_t = cairn_codegen::CodegenOptions::default().chunk, hide = true)]
        chunk: usize,
        /// Most contract bytecode (estimated felts) per stage class; the forward pass is cut into
        /// stages that fit (public networks allow 81,920 per class).
        #[arg(long, default_value_t = cairn_codegen::Limits::default().class_felts)]
        max_class_felts: u64,
        /// Most Cairo steps (estimated) per stage; one transaction runs whole stages (public
        /// networks allow 10M steps per transaction).
        #[arg(long, default_value_t = cairn_codegen::Limits::default().stage_steps)]
        max_stage_steps: u64,
        /// Print a JSON summary as the last line of stdout.
        #[arg(long)]
        json: bool,
    },
    /// Run a compiled model on the Cairo VM and compare with the float reference.
    Run {
        /// Folder written by `cairn compile`.
        dir: PathBuf,
        /// Input JSON: {"<input name>": nested list} or {"input_data": [[...]]}.
        #[arg(short, long)]
        input: PathBuf,
        /// Where to write the outputs (default DIR/output.json).
        #[arg(short = 'O', long)]
        output: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Per-layer error of the fixed-point model against the float model on one input: prints a
    /// table and writes a plot (SVG).
    Report {
        dir: PathBuf,
        #[arg(short, long)]
        input: PathBuf,
        /// Where to write the plot (default DIR/report.svg).
        #[arg(long)]
        plot: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Prove the last run with Stwo.
    Prove {
        dir: PathBuf,
        /// Proof file (default DIR/proof.bin).
        #[arg(long)]
        proof: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Verify a proof: valid, for this program, with this run's input and outputs.
    Verify {
        dir: PathBuf,
        /// Proof file (default DIR/proof.bin).
        #[arg(long)]
        proof: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Declare and deploy the model's contracts (registry, verifier, consumer, stage classes).
    ///
    /// With no --rpc, uses a local starknet-devnet (started if needed) and its predeployed
    /// account. With --rpc URL, the account is STARKNET_ACCOUNT with STARKNET_PRIVATE_KEY, or
    /// with STARKNET_KEYSTORE and STARKNET_KEYSTORE_PASSWORD. Writes DIR/deployment.json.
    Deploy {
        dir: PathBuf,
        #[command(flatten)]
        net: Net,
        /// Compile and check the classes and print the node's fee estimates; send nothing.
        #[arg(long)]
        estimate_only: bool,
        /// Most estimated Cairo steps per claim transaction; bigger models are checked over
        /// several transactions (public networks allow 10M steps each).
        #[arg(long, default_value_t = deploy::TX_STEP_BUDGET)]
        max_tx_steps: u64,
        #[arg(long)]
        json: bool,
    },
    /// Have the chain check a claimed prediction by re-executing the model; on success the
    /// registry holds its fact.
    Submit {
        dir: PathBuf,
        /// The input of the prediction (same format as `cairn run`).
        #[arg(short, long)]
        input: PathBuf,
        /// The claimed outputs, as `cairn run --output` writes them (default: the last run's).
        #[arg(long)]
        claim: Option<PathBuf>,
        /// Send even if the node predicts a revert, so that the chain records it (pays the fee).
        #[arg(long)]
        send_anyway: bool,
        #[command(flatten)]
        net: Net,
        #[arg(long)]
        json: bool,
    },
    /// Show what the registry holds for a prediction's fact (read-only).
    Facts {
        dir: PathBuf,
        /// The fact hash (default: the fact of --input/--claim, else of the last run).
        #[arg(long)]
        fact: Option<String>,
        #[arg(short, long)]
        input: Option<PathBuf>,
        #[arg(long, requires = "input")]
        claim: Option<PathBuf>,
        #[command(flatten)]
        net: Net,
        #[arg(long)]
        json: bool,
    },
    /// Hand a verified prediction to the example consumer contract (acts once per fact).
    Act {
        dir: PathBuf,
        /// The input of the prediction (default: the last run's input and outputs).
        #[arg(short, long)]
        input: Option<PathBuf>,
        #[arg(long, requires = "input")]
        claim: Option<PathBuf>,
        #[command(flatten)]
        net: Net,
        #[arg(long)]
        json: bool,
    },
    /// Show how tract reads a model and the IR Cairn lowers it to.
    Inspect {
        model: PathBuf,
        #[arg(long = "input-shape", value_name = "NAME=DIMS", value_parser = parse_shape)]
        input_shapes: Vec<(String, Vec<usize>)>,
        /// Fix an input at compile time: NAME=V1,V2,... (repeatable). Needed for inputs that
        /// decide shapes (a Reshape's shape, Slice bounds, reduction axes); the input becomes a
        /// constant of the program.
        #[arg(long = "bind", value_name = "NAME=VALUES", value_parser = parse_bind)]
        binds: Vec<(String, Vec<f64>)>,
    },
}

#[derive(clap::Args)]
struct Net {
    /// JSON-RPC URL of a Starknet node (default: a local devnet that Cairn starts).
    #[arg(long, value_name = "URL")]
    rpc: Option<cairn_chain::Url>,
}

impl Net {
    fn args(self) -> NetworkArgs {
        NetworkArgs { rpc: self.rpc }
    }
}

fn parse_shape(s: &str) -> Result<(String, Vec<usize>)> {
    let Some((name, dims)) = s.rsplit_once('=') else {
        bail!("expected NAME=D1,D2,... (for example input=1,784)")
    };
    let dims = dims
        .split(',')
        .map(|d| d.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>();
    match dims {
        Ok(d) if !d.is_empty() => Ok((name.to_string(), d)),
        _ => bail!("'{s}': dimensions must be positive integers separated by commas"),
    }
}

fn parse_bind(s: &str) -> Result<(String, Vec<f64>)> {
    let Some((name, values)) = s.rsplit_once('=') else {
        bail!("expected NAME=V1,V2,... (for example shape=1,-1)")
    };
    let values = values
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<Vec<_>, _>>();
    match values {
        Ok(v) if !v.is_empty() => Ok((name.to_string(), v)),
        _ => bail!("'{s}': values must be numbers separated by commas"),
    }
}

/// The last panic message, captured by the hook instead of printed: panics inside the prover
/// and verifier are caught and reported as errors.
static PANIC: Mutex<Option<String>> = Mutex::new(None);

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut p) = PANIC.lock() {
            *p = Some(info.to_string());
        }
    }));
    let cli = Cli::parse();
    let json = matches!(
        cli.command,
        Command::Compile { json: true, .. }
            | Command::Run { json: true, .. }
            | Command::Prove { json: true, .. }
            | Command::Verify { json: true, .. }
            | Command::Deploy { json: true, .. }
            | Command::Submit { json: true, .. }
            | Command::Facts { json: true, .. }
            | Command::Act { json: true, .. }
            | Command::Report { json: true, .. }
    );
    let result = std::panic::catch_unwind(|| execute(cli.command));
    let result = result.unwrap_or_else(|_| {
        let msg = PANIC
            .lock()
            .ok()
            .and_then(|p| p.clone())
            .unwrap_or_default();
        Err(anyhow::anyhow!(
            "internal error (a Cairn bug, please report it): {msg}"
        ))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if json && e.downcast_ref::<Reported>().is_none() {
                println!(
                    "{}",
                    serde_json::json!({ "ok": false, "error": format!("{e:#}") })
                );
            }
            ExitCode::FAILURE
        }
    }
}

fn print_json<T: serde::Serialize>(summary: &T) -> Result<()> {
    print_json_ok(summary, true)
}

fn print_json_ok<T: serde::Serialize>(summary: &T, ok: bool) -> Result<()> {
    let mut v = serde_json::to_value(summary)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("ok".into(), ok.into());
    }
    println!("{v}");
    Ok(())
}

/// An error whose JSON summary was already printed: only the message remains to show.
#[derive(Debug)]
struct Reported(String);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Reported {}

/// Ends a command whose outcome may be a refusal: the summary (with `ok`) goes out either way.
fn finish<T: serde::Serialize>(
    json: bool,
    summary: &T,
    ok: bool,
    why: impl FnOnce() -> String,
) -> Result<()> {
    if json {
        print_json_ok(summary, ok)?;
    }
    if ok {
        Ok(())
    } else {
        Err(Reported(why()).into())
    }
}

fn execute(command: Command) -> Result<()> {
    match command {
        Command::Compile {
            model,
            out,
            scale,
            calibration,
            input_shapes,
            binds,
            accumulators,
            chunk,
            max_class_felts,
            max_stage_steps,
            json,
        } => {
            let s = compile::compile(&compile::CompileArgs {
                model,
                out,
                scale,
                calibration,
                load: cairn_onnx::LoadOptions {
                    input_shapes,
                    binds,
                },
                codegen: cairn_codegen::CodegenOptions {
                    accumulators,
                    chunk,
                },
                limits: cairn_codegen::Limits {
                    class_felts: max_class_felts,
                    stage_steps: max_stage_steps,
                },
                quiet: json,
            })?;
            println!(
                "compiled {} nodes ({} multiply-adds) into {}",
                s.nodes,
                s.multiply_adds,
                s.dir.display()
            );
            println!(
                "  program hash {} ({} felts of bytecode)",
                s.program_hash, s.bytecode_len
            );
            println!(
                "  {:.2}s: lowering {:.2}s, code generation {:.2}s, Cairo compiler {:.2}s",
                s.seconds, s.lower_seconds, s.codegen_seconds, s.cairo_seconds
            );
            if json {
                print_json(&s)?;
            }
        }
        Command::Run {
            dir,
            input,
            output,
            json,
        } => {
            let s = run::run(&run::RunArgs {
                dir,
                input,
                output,
                quiet: json,
            })?;
            for o in &s.outputs {
                println!(
                    "{} {:?}: max relative error {:.2e}, argmax {}",
                    o.name,
                    o.shape,
                    o.max_rel_error,
                    if o.argmax_match { "matches" } else { "DIFFERS" }
                );
                println!(
                    "  {:>5}  {:>14}  {:>14}  {:>10}",
                    "index", "cairn", "reference", "abs error"
                );
                for (i, (c, r)) in o.cairn.iter().zip(&o.reference).enumerate().take(20) {
                    println!("  {i:>5}  {c:>14.6}  {r:>14.6}  {:>10.2e}", (c - r).abs());
                }
                if o.cairn.len() > 20 {
                    println!(
                        "  ... {} more in {}",
                        o.cairn.len() - 20,
                        s.output_file.display()
                    );
                }
            }
            let ratio = if s.multiply_adds > 0 {
                format!(
                    ", {:.2} per multiply-add",
                    s.steps as f64 / s.multiply_adds as f64
                )
            } else {
                String::new()
            };
            println!(
                "{} Cairo steps{ratio}; VM outputs {} Cairn's fixed-point interpreter",
                s.steps,
                if s.bit_exact { "match" } else { "DIFFER FROM" }
            );
            println!("outputs written to {}", s.output_file.display());
            if !s.bit_exact {
                eprintln!("warning: the Cairo VM and Cairn's interpreter disagree: this is a Cairn bug, please report it");
            }
            if json {
                print_json(&s)?;
            }
        }
        Command::Report {
            dir,
            input,
            plot,
            json,
        } => {
            let s = report::report(&report::ReportArgs { dir, input, plot })?;
            print!("{}", report::table(&s.layers));
            println!("plot written to {}", s.plot.display());
            if json {
                print_json(&s)?;
            }
        }
        Command::Prove { dir, proof, json } => {
            let s = prove::prove(&prove::ProveArgs {
                dir,
                proof,
                quiet: json,
            })?;
            println!(
                "proved {} steps in {:.2}s: {} ({} bytes)",
                s.steps,
                s.seconds,
                s.proof.display(),
                s.proof_bytes
            );
            if json {
                print_json(&s)?;
            }
        }
        Command::Verify { dir, proof, json } => {
            let s = verify::verify(&verify::VerifyArgs { dir, proof })?;
            println!(
                "proof valid ({:.3}s): program {}, input hash {}",
                s.seconds, s.program_hash, s.input_hash
            );
            println!("proven outputs: {}", s.outputs);
            if json {
                print_json(&s)?;
            }
        }
        Command::Deploy {
            dir,
            net,
            estimate_only,
            max_tx_steps,
            json,
        } => {
            let s = deploy::deploy(&deploy::DeployArgs {
                dir,
                network: net.args(),
                estimate_only,
                max_tx_steps,
                quiet: json,
            })?;
            if s.sent {
                println!(
                    "deployed on {} ({}):\n  registry {}\n  verifier {}\n  consumer {}\n  {} stage class(es); {} transaction(s) sent",
                    s.rpc,
                    s.chain_id,
                    s.registry.as_deref().unwrap_or("-"),
                    s.verifier.as_deref().unwrap_or("-"),
                    s.consumer.as_deref().unwrap_or("-"),
                    s.classes.iter().filter(|c| c.name.starts_with("CairnStage")).count(),
                    s.transactions.len()
                );
            } else {
                println!("estimate only: nothing sent");
            }
            if json {
                print_json(&s)?;
            }
        }
        Command::Submit {
            dir,
            input,
            claim,
            send_anyway,
            net,
            json,
        } => {
            let s = submit::submit(&submit::SubmitArgs {
                dir,
                input,
                claim,
                network: net.args(),
                send_anyway,
                quiet: json,
            })?;
            for t in &s.transactions {
                println!("{}: transaction {} ({} L2 gas)", t.what, t.hash, t.l2_gas);
            }
            if s.accepted {
                println!("accepted: fact {} registered", s.fact_hash);
            }
            return finish(json, &s, s.accepted, || {
                let how = if s.reverted_onchain {
                    "the transaction reverted"
                } else {
                    "the node's simulation reverted, nothing was sent"
                };
                format!(
                    "the chain rejected the claim ({how}): {}",
                    s.reason.as_deref().unwrap_or("no reason given")
                )
            });
        }
        Command::Facts {
            dir,
            fact,
            input,
            claim,
            net,
            json,
        } => {
            let fact = fact
                .map(|f| cairn_cli::commands::network::felt_hex(&f, "fact"))
                .transpose()?;
            let s = facts::facts(
                &dir,
                &net.args(),
                fact,
                input.as_deref(),
                claim.as_deref(),
                json,
            )?;
            println!(
                "fact {}: {} verification(s) in registry {}",
                s.fact_hash,
                s.verifications.len(),
                s.registry
            );
            for v in &s.verifications {
                println!(
                    "  {} ({} bits, {}, {})",
                    v.verification_hash, v.security_bits, v.layout, v.memory_verification
                );
            }
            if json {
                print_json(&s)?;
            }
        }
        Command::Act {
            dir,
            input,
            claim,
            net,
            json,
        } => {
            let s = act::act(&dir, &net.args(), input.as_deref(), claim.as_deref(), json)?;
            if s.accepted {
                println!(
                    "the consumer acted on fact {}: decision {}",
                    s.fact_hash,
                    s.decision.map(|d| d.to_string()).unwrap_or("-".into())
                );
            }
            return finish(json, &s, s.accepted, || {
                format!(
                    "the consumer refused: {}",
                    s.reason.as_deref().unwrap_or("no reason given")
                )
            });
        }
        Command::Inspect {
            model,
            input_shapes,
            binds,
        } => print!(
            "{}",
            inspect::inspect(
                &model,
                &cairn_onnx::LoadOptions {
                    input_shapes,
                    binds
                }
            )?
        ),
    }
    Ok(())
}
