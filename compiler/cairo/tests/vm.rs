//! The Cairo stage against the real compiler and VM, on a hand-written program.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the assertion

use std::path::Path;

use cairn_cairo::{compile, execute, Felt252};

fn echo() -> cairn_cairo::Executable {
    compile(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/echo"),
        &Default::default(),
    )
    .expect("compiles")
}

#[test]
fn runs_an_executable_and_returns_its_output() {
    let exe = echo();
    let args: Vec<Felt252> = [3u64, 4, 5].iter().map(|&v| Felt252::from(v)).collect();
    let run = execute(&exe, &args).expect("runs");
    let expect: Vec<Felt252> = [3u64, 4, 5, 12].iter().map(|&v| Felt252::from(v)).collect();
    assert_eq!(run.output, expect);
    assert!(run.steps > 10);
}

#[test]
fn reports_compile_errors_with_the_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("cairo_project.toml"),
        "[crate_roots]\nbad = \"src\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("src/lib.cairo"),
        "#[executable]\nfn main() -> felt252 { undefined_thing }\n",
    )
    .unwrap();
    let err = compile(dir.path(), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("undefined_thing"), "{err}");
}
