//! ONNX backend conformance: ONNX's own node test cases for the operators Cairn targets, each
//! compiled by the real Cairo compiler and run on the real Cairo VM, compared with ONNX's
//! expected outputs (floats within 1e-3 of the largest expected magnitude, like every Cairn
//! check), and bit for bit with Cairn's fixed-point interpreter.
//!
//! A slow tier, run by `scripts/conformance.sh` (which writes the cases with the `onnx` Python
//! package into `.cairn/conformance/`). `tests/conformance/manifest.txt` lists every case: `pass`
//! cases must pass; the others carry the reason they do not, and are reported, not run as
//! failures. `CAIRN_FIX_MANIFEST=1` rewrites the manifest from the current results.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the assertion

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cairn_cli::commands::{compile, run};
use common::*;

fn cases_dir() -> PathBuf {
    std::env::var_os("CAIRN_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".cairn/conformance"))
}

fn manifest_path() -> PathBuf {
    root().join("tests/conformance/manifest.txt")
}

/// `case → None` (pass) or `Some(reason)`.
fn read_manifest() -> BTreeMap<String, Option<String>> {
    let text = std::fs::read_to_string(manifest_path()).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (case, rest) = l.split_once(':')?;
            let rest = rest.trim();
            Some((
                case.trim().to_string(),
                if rest == "pass" {
                    None
                } else {
                    Some(rest.to_string())
                },
            ))
        })
        .collect()
}

fn flat(v: &serde_json::Value) -> Vec<f64> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            x.as_f64()
                .or(x.as_bool().map(|b| b as u8 as f64))
                .or(x.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(f64::NAN)
        })
        .collect()
}

/// One line from an error: the op types for unsupported nodes, else the first line.
fn reason(message: &str) -> String {
    if message.contains("unsupported node(s)") {
        let mut ops: Vec<&str> = message
            .lines()
            .filter_map(|l| l.split_once(" (")?.1.split_once("):").map(|(op, _)| op))
            .collect();
        ops.sort();
        ops.dedup();
        return format!("unsupported: {}", ops.join(", "));
    }
    // A compilation error names a temporary folder: keep the compiler's message instead.
    if message.starts_with("Cairo compilation of") {
        let detail = message.lines().nth(1).unwrap_or_default();
        return format!("Cairo compilation failed: {detail}");
    }
    let first = message.lines().next().unwrap_or_default();
    // Paths differ between machines: keep what follows them.
    first
        .rsplit(".onnx")
        .next()
        .unwrap_or(first)
        .trim_start_matches([':', ' '])
        .to_string()
}

/// Runs one case; `Err` carries a one-line reason. Inputs that decide shapes (a Reshape's
/// shape, Slice bounds, reduction axes) are bound at compile time with each data set's values,
/// as a user does with `--bind`; the rest are the program's inputs.
fn run_case(dir: &Path) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let line = |e: anyhow::Error| reason(&format!("{e:#}"));
    let model = dir.join("model.onnx");
    let bound: Vec<String> = cairn_onnx::shape_operands(&model)
        .map_err(|e| line(e.into()))?
        .into_iter()
        .map(|s| s.input)
        .collect();
    let mut sets: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("data_")
        })
        .collect();
    sets.sort();
    let mut compiled = false;
    for set in sets {
        let data: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&set).unwrap()).unwrap();
        let all = data["inputs"].as_object().unwrap();
        let outs = data["outputs"].as_object().unwrap();
        if outs
            .values()
            .any(|v| flat(v).iter().any(|x| !x.is_finite()))
        {
            return Err(
                "ONNX's expected outputs hold NaN or infinity, which fixed point cannot represent"
                    .into(),
            );
        }
        if all.values().any(|v| flat(v).iter().any(|x| !x.is_finite())) {
            return Err("NaN and infinite inputs have no fixed-point representation".into());
        }
        if !compiled || !bound.is_empty() {
            let mut args = compile_args(&model, &out);
            args.load.binds = bound
                .iter()
                .map(|name| (name.clone(), flat(&all[name])))
                .collect();
            compile::compile(&args).map_err(line)?;
            compiled = true;
        }
        let inputs: serde_json::Map<String, serde_json::Value> = all
            .iter()
            .filter(|(k, _)| !bound.contains(k))
            .map(|(k, v)| (k.clone(), v["data"].clone()))
            .collect();
        let input = tmp.path().join("input.json");
        std::fs::write(&input, serde_json::Value::Object(inputs).to_string()).unwrap();
        let s = run::run(&run::RunArgs {
            dir: out.clone(),
            input,
            output: None,
            quiet: true,
        })
        .map_err(line)?;
        if !s.bit_exact {
            return Err("the Cairo VM and the fixed-point interpreter disagree".into());
        }
        let expected = data["outputs"].as_object().unwrap();
        for (o, (name, e)) in s.outputs.iter().zip(expected) {
            // Integer and boolean outputs are exact.
            let exact = !e["dtype"].as_str().unwrap_or("").starts_with("float");
            let e = flat(e);
            if exact && o.cairn != e {
                return Err(format!("output '{name}' differs from ONNX's exact values"));
            }
            let scale = e.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-30);
            let err = o
                .cairn
                .iter()
                .zip(&e)
                .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
            if o.cairn.len() != e.len() || !(err / scale < 1e-3 || err < 1e-6) {
                return Err(format!(
                    "output '{name}' differs from ONNX's by {:.2e} relative",
                    err / scale
                ));
            }
        }
    }
    Ok(())
}

/// Cases the export could not write (exotic data types: float8, int4, bfloat16, strings):
/// they count as not passing, with the exporter's reason.
fn skipped_cases(dir: &Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(dir.join("skipped.json")) else {
        return vec![];
    };
    let list: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    list.iter()
        .map(|c| {
            (
                c["case"].as_str().unwrap().to_string(),
                format!("not exported: {}", c["reason"].as_str().unwrap()),
            )
        })
        .collect()
}

#[test]
#[ignore = "slow tier: run scripts/conformance.sh"]
fn onnx_backend_node_tests() {
    let dir = cases_dir();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|_| panic!("no cases in {}: run scripts/conformance.sh", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let manifest = read_manifest();
    let fix = std::env::var_os("CAIRN_FIX_MANIFEST").is_some();
    let (mut passed, mut regressions, mut results) = (0, Vec::new(), BTreeMap::new());
    // `CAIRN_CONFORMANCE_ONLY=text` runs the cases whose name contains it, printing each result.
    let only = std::env::var("CAIRN_CONFORMANCE_ONLY").ok();
    let todo: Vec<(String, &PathBuf, bool)> = cases
        .iter()
        .map(|c| (c.file_name().unwrap().to_string_lossy().to_string(), c))
        .filter(|(name, _)| only.as_ref().is_none_or(|o| name.contains(o.as_str())))
        .map(|(name, c)| {
            let expected_pass = matches!(manifest.get(&name), Some(None));
            (name, c, expected_pass)
        })
        .collect();
    // Cases run in parallel, one worker per core.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some((name, case, expected_pass)) = todo.get(i) else {
                    break;
                };
                if only.is_none() && !fix && !expected_pass && manifest.contains_key(name) {
                    done.lock()
                        .unwrap()
                        .push((name.clone(), manifest[name].clone(), false));
                    continue;
                }
                let result = std::panic::catch_unwind(|| run_case(case))
                    .unwrap_or_else(|_| Err("panicked".into()));
                if only.is_some() {
                    eprintln!("{name}: {}", result.as_ref().err().map_or("pass", |e| e));
                }
                done.lock()
                    .unwrap()
                    .push((name.clone(), result.err(), true));
            });
        }
    });
    for (name, result, ran) in done.into_inner().unwrap() {
        let expected_pass = matches!(manifest.get(&name), Some(None));
        match &result {
            None if ran => passed += 1,
            Some(e) if expected_pass => regressions.push(format!("{name}: {e}")),
            _ => {}
        }
        results.insert(name, result);
    }
    if only.is_none() {
        for (name, why) in skipped_cases(&dir) {
            results.insert(name, Some(why));
        }
    }
    let total = results.len();
    let passing = results.values().filter(|r| r.is_none()).count();
    eprintln!("conformance: {passing} of {total} cases pass ({passed} run now)");
    if fix && only.is_none() {
        let mut text = String::from(
            "# ONNX backend node cases (scripts/export_conformance.py) and whether Cairn passes them.\n\
             # Regenerate with CAIRN_FIX_MANIFEST=1 scripts/conformance.sh; never edit by hand.\n",
        );
        for (case, r) in &results {
            text.push_str(&format!("{case}: {}\n", r.as_deref().unwrap_or("pass")));
        }
        std::fs::write(manifest_path(), text).unwrap();
    }
    assert!(
        regressions.is_empty(),
        "cases listed as passing now fail:\n{}",
        regressions.join("\n")
    );
}
