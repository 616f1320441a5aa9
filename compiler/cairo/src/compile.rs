//! Cairo package → `Executable`, with the Cairo compiler crates.

use std::path::{Path, PathBuf};

use cairo_lang_compiler::db::RootDatabase;
use cairo_lang_compiler::diagnostics::DiagnosticsReporter;
use cairo_lang_compiler::project::setup_project;
use cairo_lang_executable::compile::{compile_executable_in_prepared_db, ExecutableConfig};
use cairo_lang_executable::executable::Executable;
use cairo_lang_filesystem::cfg::{Cfg, CfgSet};
use cairo_lang_filesystem::db::init_dev_corelib;
use cairo_lang_filesystem::ids::CrateInput;
use cairo_vm::types::builtin_name::BuiltinName;
use starknet_types_core::felt::Felt;

use crate::CairoError;

/// Stack for the compiler thread: long generated expressions recurse deeply.
const COMPILER_STACK_BYTES: usize = 1 << 30;

/// The builtins every Cairn executable declares, in the canonical order. Stwo's verifier
/// expects all of them (with fewer, proving succeeds and verification fails).
const BUILTINS: [BuiltinName; 11] = [
    BuiltinName::output,
    BuiltinName::pedersen,
    BuiltinName::range_check,
    BuiltinName::ecdsa,
    BuiltinName::bitwise,
    BuiltinName::ec_op,
    BuiltinName::keccak,
    BuiltinName::poseidon,
    BuiltinName::range_check96,
    BuiltinName::add_mod,
    BuiltinName::mul_mod,
];

#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// The corelib folder; `None`: [`corelib_dir`].
    pub corelib: Option<PathBuf>,
}

/// Where the corelib is: `$CAIRN_CORELIB`, else `.cairn/corelib` in this source tree.
pub fn corelib_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("CAIRN_CORELIB") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cairn/corelib")
}

/// Compiles the package at `dir` (a folder with `cairo_project.toml`) to an executable.
pub fn compile(dir: &Path, opts: &CompileOptions) -> Result<Executable, CairoError> {
    let corelib = opts.corelib.clone().unwrap_or_else(corelib_dir);
    let corelib_src = corelib.join("src");
    if !corelib_src.join("lib.cairo").is_file() {
        return Err(CairoError::Corelib(corelib));
    }
    let dir = dir.to_path_buf();
    let fail = {
        let dir = dir.clone();
        move |message: String| CairoError::Compile {
            package: dir.clone(),
            message,
        }
    };
    // The compiler recurses deeply on long straight-line expressions: give it a large stack.
    let worker = std::thread::Builder::new()
        .stack_size(COMPILER_STACK_BYTES)
        .spawn(move || compile_on_this_thread(&dir, &corelib_src).map_err(|e| format!("{e:#}")))
        .map_err(|e| fail(e.to_string()))?;
    match worker.join() {
        Ok(result) => result.map_err(fail),
        Err(_) => Err(fail("the Cairo compiler panicked".into())),
    }
}

fn compile_on_this_thread(dir: &Path, corelib_src: &Path) -> anyhow::Result<Executable> {
    let mut db = RootDatabase::builder()
        .skip_auto_withdraw_gas()
        .with_cfg(CfgSet::from_iter([Cfg::kv("gas", "disabled")]))
        .with_default_plugin_suite(cairo_lang_executable_plugin::executable_plugin_suite())
        .build()?;
    init_dev_corelib(&mut db, corelib_src.to_path_buf());
    let main_crates = setup_project(&mut db, dir)?;
    // Diagnostics are collected and returned with a failure; warnings alone don't fail a build.
    let mut diagnostics = String::new();
    let reporter = DiagnosticsReporter::write_to_string(&mut diagnostics)
        .allow_warnings()
        .with_crates(&main_crates);
    let crate_ids = CrateInput::into_crate_ids(&db, main_crates);
    let config = ExecutableConfig {
        builtin_list: Some(BUILTINS.to_vec()),
        ..Default::default()
    };
    let compiled = compile_executable_in_prepared_db(&db, None, crate_ids, reporter, config)
        .map(|c| Executable::new(c.compiled_function));
    compiled.map_err(|e| anyhow::anyhow!("{e:#}\n{diagnostics}"))
}

/// The bytecode as field elements.
pub fn bytecode(exe: &Executable) -> Vec<Felt> {
    exe.program.bytecode.iter().map(Felt::from).collect()
}
