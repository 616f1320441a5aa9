//! Golden files: the IR text (float and quantised) and the generated Cairo of small models,
//! under tests/golden/<model>/. Regenerate with `CAIRN_FIX_GOLDEN=1 cargo test --test golden`,
//! never by hand. The golden Cairo is then compiled by the real Cairo compiler, and generation is
//! checked to be byte-stable.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the assertion

mod common;

use common::*;

const MODELS: &[&str] = &[
    "mlp_tanh_sigmoid",
    "gemm_attrs",
    "broadcast_arith",
    "reshape_chain",
];

/// (relative path, contents) of every golden artifact of one model.
fn artifacts(name: &str) -> Vec<(String, String)> {
    let m = cairn_onnx::load(&model(name), &Default::default()).unwrap();
    let float = cairn_ir::validate(m.lower().unwrap()).unwrap();
    let q = cairn_passes::run_all(float.graph().clone(), &Default::default()).unwrap();
    let q = cairn_ir::validate(q).unwrap();
    let pkg = cairn_codegen::generate(
        &q,
        &format!("{name}.onnx"),
        &Default::default(),
        &Default::default(),
    )
    .unwrap();
    let mut out = vec![
        ("model.ir".to_string(), float.to_string()),
        ("model.quantised.ir".to_string(), q.to_string()),
    ];
    for (path, text) in &pkg.files {
        // The runtime is a copy of cairo_runtime/, not generated.
        if !path.starts_with("cairn_runtime") {
            out.push((format!("cairo/{}", path.display()), text.clone()));
        }
    }
    out
}

#[test]
fn ir_and_generated_cairo_match_the_golden_files() {
    let fix = std::env::var_os("CAIRN_FIX_GOLDEN").is_some();
    let mut stale = Vec::new();
    for name in MODELS {
        let dir = root().join("tests/golden").join(name);
        let artifacts = artifacts(name);
        if fix {
            // Files that generation no longer writes go too.
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            for path in files_under(&dir) {
                let rel = path
                    .strip_prefix(&dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if !artifacts.iter().any(|(r, _)| *r == rel) {
                    stale.push(format!("{} (no longer generated)", path.display()));
                }
            }
        }
        for (rel, text) in artifacts {
            let path = dir.join(&rel);
            if fix {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "golden files differ (rerun with CAIRN_FIX_GOLDEN=1 if the change is intended):\n{}",
        stale.join("\n")
    );
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Committed models that exist to be refused (the error-reporting tests use them).
const REFUSED: &[&str] = &["unsupported", "symbolic_batch"];

/// The float and quantised IR of every committed model under tests/golden/ir/: no Cairo
/// compile, so every model is covered in the fast tier.
#[test]
fn ir_of_every_committed_model_matches_the_golden_files() {
    let fix = std::env::var_os("CAIRN_FIX_GOLDEN").is_some();
    let dir = root().join("tests/golden/ir");
    let mut names: Vec<String> = std::fs::read_dir(root().join("tests/models"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".onnx").map(str::to_string)
        })
        .filter(|n| !REFUSED.contains(&n.as_str()))
        .collect();
    names.sort();
    if fix {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut stale = Vec::new();
    let mut expected_files = Vec::new();
    for name in &names {
        // ops_mixed takes its Reshape target as an input, bound as its test binds it.
        let opts = cairn_onnx::LoadOptions {
            binds: match name.as_str() {
                "ops_mixed" => vec![("shape".into(), vec![3.0, 4.0])],
                _ => vec![],
            },
            ..Default::default()
        };
        let m = cairn_onnx::load(&model(name), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        let float = cairn_ir::validate(m.lower().unwrap()).unwrap();
        let q = cairn_passes::run_all(float.graph().clone(), &Default::default()).unwrap();
        let q = cairn_ir::validate(q).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (file, text) in [
            (format!("{name}.ir"), float.to_string()),
            (format!("{name}.quantised.ir"), q.to_string()),
        ] {
            let path = dir.join(&file);
            if fix {
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
            expected_files.push(file);
        }
    }
    for path in files_under(&dir) {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if !expected_files.contains(&file) {
            stale.push(format!("{} (no model of that name)", path.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "IR golden files differ (rerun with CAIRN_FIX_GOLDEN=1 if the change is intended):\n{}",
        stale.join("\n")
    );
}

#[test]
fn generation_is_byte_stable() {
    for name in MODELS {
        assert_eq!(artifacts(name), artifacts(name), "{name}");
    }
}

/// The generated package, equal to the golden files (the first test checks that), compiled by
/// the real Cairo compiler. Compiling what is generated rather than what is on disk keeps
/// `CAIRN_FIX_GOLDEN=1` runs free of races between the tests.
#[test]
fn golden_cairo_compiles_with_the_real_compiler() {
    for name in MODELS {
        let tmp = tempfile::tempdir().unwrap();
        for (rel, text) in artifacts(name) {
            if let Some(rel) = rel.strip_prefix("cairo/") {
                let path = tmp.path().join(rel);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
        }
        for (rel, text) in cairn_codegen::runtime::FILES {
            let path = tmp.path().join("cairn_runtime").join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        cairn_cairo::compile(tmp.path(), &Default::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let contracts =
            cairn_cairo::compile_contracts(&tmp.path().join("contracts"), &Default::default())
                .unwrap_or_else(|e| panic!("{name} contracts: {e}"));
        let mut names: Vec<String> = contracts.iter().map(|c| c.name.clone()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "CairnDecisions",
                "CairnFactRegistry",
                "CairnStage0",
                "CairnVerifier"
            ],
            "{name}"
        );
    }
}
