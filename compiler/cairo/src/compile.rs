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
    on_big_stack(dir, opts, compile_on_this_thread)
}

/// Runs `work(dir, corelib_src)` on a thread with a large stack: the compiler recurses deeply on
/// long straight-line expressions.
pub(crate) fn on_big_stack<T: Send + 'static>(
    dir: &Path,
    opts: &CompileOptions,
    work: impl FnOnce(&Path, &Path) -> anyhow::Result<T> + Send + 'static,
) -> Result<T, CairoError> {
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
    let worker = std::thread::Builder::new()
        .stack_size(COMPILER_STACK_BYTES)
        .spawn(move || work(&dir, &corelib_src).map_err(|e| format!("{e:#}")))
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
    warm_up_functions(&db, &crate_ids);
    let config = ExecutableConfig {
        builtin_list: Some(BUILTINS.to_vec()),
        ..Default::default()
    };
    let compiled = compile_executable_in_prepared_db(&db, None, crate_ids, reporter, config)
        .map(|c| Executable::new(c.compiled_function));
    compiled.map_err(|e| anyhow::anyhow!("{e:#}\n{diagnostics}"))
}

/// Lowers every function of the given crates to Sierra on all cores, leaves first.
///
/// The compiler's own warm-up starts from the executable, whose lowering pulls in every callee
/// on one thread (its inliner needs them), so on generated code it runs sequentially. Dense
/// layers are hundreds of independent leaf functions: computing them first in parallel fills
/// the database's caches, and the compile proper then finds them done.
pub(crate) fn warm_up_functions(
    db: &RootDatabase,
    crates: &[cairo_lang_filesystem::ids::CrateId<'_>],
) {
    use cairo_lang_defs::db::DefsGroup;
    use cairo_lang_defs::ids::NamedLanguageElementId;
    use cairo_lang_lowering::ids::ConcreteFunctionWithBodyId;
    use cairo_lang_sierra_generator::db::SierraGenGroup;
    use cairo_lang_utils::CloneableDatabase;
    use rayon::prelude::*;

    let mut functions: Vec<(bool, ConcreteFunctionWithBodyId<'_>)> = Vec::new();
    for &crate_id in crates {
        for &module in db.crate_modules(crate_id) {
            for &f in db.module_free_functions_ids(module).unwrap_or(&[]) {
                if let Some(id) = ConcreteFunctionWithBodyId::from_no_generics_free(db, f) {
                    // Chunk functions (`block_B_C`) are the leaves.
                    let name = f.name(db).long(db).to_string();
                    let leaf = name.starts_with("block_") && name.matches('_').count() == 2;
                    functions.push((!leaf, id));
                }
            }
        }
    }
    functions.sort_by_key(|(inner, _)| *inner);
    functions
        .into_par_iter()
        .for_each_with(db.dyn_clone(), |db, (_, id)| {
            let _ = db.as_ref().function_with_body_sierra(id);
        });
}

/// The bytecode as field elements.
pub fn bytecode(exe: &Executable) -> Vec<Felt> {
    exe.program.bytecode.iter().map(Felt::from).collect()
}
