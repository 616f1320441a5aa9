//! `cairn`: compile ONNX models to Cairo, run them on the Cairo VM, prove and verify with Stwo.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{bail, Result};
use cairn_cli::commands::{compile, inspect, prove, run, verify};
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
        /// Shape of an input whose dimensions are symbolic: NAME=D1,D2,... (repeatable).
        #[arg(long = "input-shape", value_name = "NAME=DIMS", value_parser = parse_shape)]
        input_shapes: Vec<(String, Vec<usize>)>,
        /// Accumulators per generated dense block.
        #[arg(long, default_value_t = cairn_codegen::CodegenOptions::default().accumulators, hide = true)]
        accumulators: usize,
        /// Largest input chunk per generated dense function.
        #[arg(long, default_value_t = cairn_codegen::CodegenOptions::default().chunk, hide = true)]
        chunk: usize,
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
    /// Show how tract reads a model and the IR Cairn lowers it to.
    Inspect {
        model: PathBuf,
        #[arg(long = "input-shape", value_name = "NAME=DIMS", value_parser = parse_shape)]
        input_shapes: Vec<(String, Vec<usize>)>,
    },
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
            if json {
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
    let mut v = serde_json::to_value(summary)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("ok".into(), true.into());
    }
    println!("{v}");
    Ok(())
}

fn execute(command: Command) -> Result<()> {
    match command {
        Command::Compile {
            model,
            out,
            scale,
            input_shapes,
            accumulators,
            chunk,
            json,
        } => {
            let s = compile::compile(&compile::CompileArgs {
                model,
                out,
                scale,
                input_shapes,
                codegen: cairn_codegen::CodegenOptions {
                    accumulators,
                    chunk,
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
        Command::Inspect {
            model,
            input_shapes,
        } => print!("{}", inspect::inspect(&model, &input_shapes)?),
    }
    Ok(())
}
