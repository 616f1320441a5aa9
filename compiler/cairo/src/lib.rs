//! The Cairo stage: a generated Cairo package in, a compiled executable out (`compile`); an
//! executable and its arguments in, an execution on the Cairo VM out (`execute`).
//!
//! Compilation uses the Cairo compiler crates in-process against the corelib that
//! `scripts/setup.sh` materialises in `.cairn/corelib`. Execution runs the VM in proof mode
//! with the `all_cairo_stwo` layout and keeps the trace, which is what the prover consumes.
//!
//! Contracts (`compile_contracts`) go through the same compiler to Sierra classes and CASM.
//!
//! Invariant: this is the only crate that drives the Cairo compiler and the Cairo VM.

mod compile;
mod contracts;
mod execute;

pub use cairo_lang_executable::executable::Executable;
pub use cairo_lang_starknet_classes::{
    casm_contract_class::CasmContractClass, contract_class::ContractClass,
};
pub use cairo_vm::Felt252;
pub use compile::{bytecode, compile, corelib_dir, CompileOptions};
pub use contracts::{compile_contracts, CompiledContract};
pub use execute::{execute, Execution};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CairoError {
    #[error(
        "the Cairo corelib was not found at {0}; run scripts/setup.sh (or set CAIRN_CORELIB to a corelib folder)"
    )]
    Corelib(PathBuf),
    #[error("Cairo compilation of {package} failed:\n{message}")]
    Compile { package: PathBuf, message: String },
    #[error("the program failed on the Cairo VM: {0}")]
    Run(String),
    #[error("the program panicked: {0}")]
    Panic(String),
    #[error("cannot read or write {path}: {message}")]
    Io { path: PathBuf, message: String },
}
