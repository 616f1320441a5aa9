//! Executable + arguments → a proof-mode run on the Cairo VM.

use cairo_lang_executable::executable::{EntryPointKind, Executable};
use cairo_lang_runner::{build_hints_dict, Arg, CairoHintProcessor};
use cairo_vm::cairo_run::{cairo_run_program_with_initial_scope, CairoRunConfig};
use cairo_vm::types::builtin_name::BuiltinName;
use cairo_vm::types::exec_scope::ExecutionScopes;
use cairo_vm::types::layout_name::LayoutName;
use cairo_vm::types::program::Program;
use cairo_vm::types::relocatable::{MaybeRelocatable, Relocatable};
use cairo_vm::vm::runners::cairo_runner::CairoRunner;
use cairo_vm::Felt252;

use crate::CairoError;

/// A finished run: the runner (with its trace, for the prover), the program's return value and
/// the step count.
pub struct Execution {
    pub runner: CairoRunner,
    /// The `Array<felt252>` the program returned (the output segment minus its length).
    pub output: Vec<Felt252>,
    pub steps: usize,
}

/// Runs the standalone entry point of `exe`, a `fn main(input: Array<felt252>)`, on `input`,
/// in proof mode.
pub fn execute(exe: &Executable, input: &[Felt252]) -> Result<Execution, CairoError> {
    let run_err = |e: &dyn std::fmt::Display| CairoError::Run(e.to_string());
    let data: Vec<MaybeRelocatable> = exe
        .program
        .bytecode
        .iter()
        .map(Felt252::from)
        .map(MaybeRelocatable::from)
        .collect();
    let (hints, string_to_hint) = build_hints_dict(&exe.program.hints);
    let entry = exe
        .entrypoints
        .iter()
        .find(|e| matches!(e.kind, EntryPointKind::Standalone))
        .ok_or_else(|| CairoError::Run("the executable has no standalone entry point".into()))?;
    let program = Program::new_for_proof(
        entry.builtins.clone(),
        data,
        entry.offset,
        // The standalone header is `ap += n_builtins; call rel 4; jmp rel 0`: the run ends on
        // that final jump.
        entry.offset + 4,
        hints,
        Default::default(),
        Default::default(),
        vec![],
        None,
    )
    .map_err(|e| run_err(&e))?;
    let mut hint_processor = CairoHintProcessor {
        runner: None,
        // The executable wrapper deserialises the parameters from one span: an array is
        // serialised as its length followed by its elements.
        user_args: vec![vec![Arg::Array(
            std::iter::once(Felt252::from(input.len()))
                .chain(input.iter().cloned())
                .map(Arg::Value)
                .collect(),
        )]],
        string_to_hint,
        starknet_state: Default::default(),
        run_resources: Default::default(),
        syscalls_used_resources: Default::default(),
        no_temporary_segments: false,
        markers: Default::default(),
        panic_traceback: Default::default(),
    };
    let config = CairoRunConfig {
        trace_enabled: true,
        relocate_trace: false,
        layout: LayoutName::all_cairo_stwo,
        fill_holes: true,
        proof_mode: true,
        disable_trace_padding: true,
        ..Default::default()
    };
    let run = cairo_run_program_with_initial_scope(
        &program,
        &config,
        &mut hint_processor,
        ExecutionScopes::new(),
    );
    // A panic fails the wrapper's final assertion; its data was recorded by a marker hint.
    if let (Err(_), Some(data)) = (&run, hint_processor.markers.last()) {
        return Err(CairoError::Panic(panic_message(data)));
    }
    let mut runner = run.map_err(|e| run_err(&e))?;
    let steps = runner
        .get_execution_resources()
        .map_err(|e| run_err(&e))?
        .n_steps;
    let raw = output_segment(&mut runner)?;
    let output = parse_output(&raw)?;
    Ok(Execution {
        runner,
        output,
        steps,
    })
}

/// The values in the output builtin's segment.
fn output_segment(runner: &mut CairoRunner) -> Result<Vec<Felt252>, CairoError> {
    let base = runner
        .vm
        .builtin_runners
        .iter()
        .find(|b| b.name() == BuiltinName::output)
        .map(|b| b.base())
        .ok_or_else(|| CairoError::Run("the program has no output builtin".into()))?;
    let size = runner
        .vm
        .segments
        .compute_effective_sizes()
        .get(base)
        .copied()
        .unwrap_or(0);
    (0..size)
        .map(
            |i| match runner.vm.get_maybe(&Relocatable::from((base as isize, i))) {
                Some(v) => match v {
                    MaybeRelocatable::Int(f) => Ok(f),
                    MaybeRelocatable::RelocatableValue(r) => Err(CairoError::Run(format!(
                        "output cell {i} holds a pointer {r}"
                    ))),
                },
                None => Err(CairoError::Run(format!("output cell {i} is empty"))),
            },
        )
        .collect()
}

/// A successful executable run writes its serialised return value, `[len, values...]` for an
/// `Array<felt252>`. (A panicking run cannot complete: the wrapper asserts it did not panic.)
pub fn parse_output(raw: &[Felt252]) -> Result<Vec<Felt252>, CairoError> {
    let (len, values) = raw
        .split_first()
        .ok_or_else(|| CairoError::Run("the program wrote no output".into()))?;
    if Felt252::from(values.len()) != *len {
        return Err(CairoError::Run(format!(
            "output length {len} does not match its {} values",
            values.len()
        )));
    }
    Ok(values.to_vec())
}

/// Panic data as text: short strings decoded, other values in hex.
fn panic_message(data: &[Felt252]) -> String {
    let words: Vec<String> = data
        .iter()
        .map(|f| {
            let bytes = f.to_bytes_be();
            let text: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
            if !text.is_empty() && text.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
                String::from_utf8_lossy(&text).into_owned()
            } else {
                format!("{f:#x}")
            }
        })
        .collect();
    words.join(" ")
}
