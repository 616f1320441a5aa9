//! Contracts package → Sierra classes and their CASM, with the compiler Starknet nodes use.
//!
//! Classes are compiled with cairo-lang 2.19.4, the compiler of starknet-devnet 0.10.1, so the
//! compiled class hash Cairn declares is the one the node computes.

use std::path::Path;

use cairo_lang_compiler::db::RootDatabase;
use cairo_lang_compiler::diagnostics::DiagnosticsReporter;
use cairo_lang_compiler::project::setup_project;
use cairo_lang_compiler::CompilerConfig;
use cairo_lang_defs::ids::NamedLanguageElementId;
use cairo_lang_filesystem::db::init_dev_corelib;
use cairo_lang_filesystem::ids::CrateInput;
use cairo_lang_starknet::compile::compile_prepared_db;
use cairo_lang_starknet::contract::find_contracts;
use cairo_lang_starknet_classes::allowed_libfuncs::ListSelector;
use cairo_lang_starknet_classes::casm_contract_class::CasmContractClass;
use cairo_lang_starknet_classes::contract_class::ContractClass;

use crate::compile::{on_big_stack, warm_up_functions};
use crate::{CairoError, CompileOptions};

/// One compiled contract: its Sierra class (what is declared) and its CASM (what runs).
pub struct CompiledContract {
    /// The contract module's name, e.g. `CairnVerifier`.
    pub name: String,
    pub sierra: ContractClass,
    pub casm: CasmContractClass,
}

impl CompiledContract {
    /// Felts of CASM bytecode, the size public networks cap per class.
    pub fn casm_felts(&self) -> usize {
        self.casm.bytecode.len()
    }
    /// Felts of Sierra program, also capped per class.
    pub fn sierra_felts(&self) -> usize {
        self.sierra.sierra_program.len()
    }
}

/// Compiles every contract of the package at `dir` (a folder with `cairo_project.toml`).
pub fn compile_contracts(
    dir: &Path,
    opts: &CompileOptions,
) -> Result<Vec<CompiledContract>, CairoError> {
    on_big_stack(dir, opts, compile_here)
}

fn compile_here(dir: &Path, corelib_src: &Path) -> anyhow::Result<Vec<CompiledContract>> {
    let mut db = RootDatabase::builder()
        .with_default_plugin_suite(cairo_lang_starknet::starknet_plugin_suite())
        .build()?;
    init_dev_corelib(&mut db, corelib_src.to_path_buf());
    let main_crates = setup_project(&mut db, dir)?;
    let mut diagnostics = String::new();
    let reporter = DiagnosticsReporter::write_to_string(&mut diagnostics)
        .allow_warnings()
        .with_crates(&main_crates);
    // All crates of the project (the model's included) are main crates: warm them all up.
    let crate_ids = CrateInput::into_crate_ids(&db, main_crates);
    warm_up_functions(&db, &crate_ids);
    let contracts = find_contracts(&db, &crate_ids);
    let names: Vec<String> = contracts
        .iter()
        .map(|c| c.submodule_id.name(&db).long(&db).to_string())
        .collect();
    let refs: Vec<_> = contracts.iter().collect();
    let config = CompilerConfig {
        diagnostics_reporter: reporter,
        replace_ids: true,
        ..CompilerConfig::default()
    };
    let classes = compile_prepared_db(&db, &refs, config)
        .map_err(|e| anyhow::anyhow!("{e:#}\n{diagnostics}"))?;
    let mut out = Vec::new();
    for (name, sierra) in names.into_iter().zip(classes) {
        let extracted = sierra.extract_sierra_program(false)?;
        extracted
            .validate_version_compatible(ListSelector::DefaultList)
            .map_err(|e| anyhow::anyhow!("{name} uses a libfunc Starknet does not allow: {e}"))?;
        let casm =
            CasmContractClass::from_contract_class(sierra.clone(), extracted, false, usize::MAX)
                .map_err(|e| anyhow::anyhow!("{name}: Sierra to CASM: {e}"))?;
        out.push(CompiledContract { name, sierra, casm });
    }
    Ok(out)
}
