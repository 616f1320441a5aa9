//! Lowering per op family: the committed test models lowered to the float IR, checked for the
//! ops each ONNX operator must become (the numbers are checked end to end in tests/pipeline.rs).

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the assertion

use std::path::PathBuf;

use cairn_ir::{BinaryOp, Graph, Op, ReduceKind, TableFn, UnaryOp};

fn lower(name: &str) -> Graph {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/models")
        .join(format!("{name}.onnx"));
    let model = cairn_onnx::load(&path, &Default::default()).unwrap();
    let g = model.lower().unwrap();
    cairn_ir::validate(g.clone()).unwrap();
    g
}

/// The op of the node that computes the output named `name`.
fn producer<'g>(g: &'g Graph, name: &str) -> &'g Op {
    let v = g
        .outputs
        .iter()
        .find(|&&o| g.values[o].name == name)
        .unwrap_or_else(|| panic!("no output {name}"));
    let cairn_ir::Def::Node(i) = g.values[*v].def else {
        panic!("{name} is not computed");
    };
    &g.nodes[i].op
}

fn has(g: &Graph, op: &Op) -> bool {
    g.nodes.iter().any(|n| n.op == *op)
}

#[test]
fn activations_become_one_table_function_each() {
    let g = lower("activations");
    for (output, f) in [
        ("softplus", TableFn::Softplus),
        ("elu", TableFn::Elu { alpha: 0.7 }),
        (
            "selu",
            TableFn::Selu {
                alpha: 1.673_263_2,
                gamma: 1.050_701,
            },
        ),
        ("celu", TableFn::Celu { alpha: 1.5 }),
        ("mish", TableFn::Mish),
        ("gelu", TableFn::Gelu { tanh: false }),
        ("gelu_tanh", TableFn::Gelu { tanh: true }),
        ("hard_swish", TableFn::HardSwish),
        // x · sigmoid(x), fused by tract.
        ("silu", TableFn::Silu),
    ] {
        assert_eq!(producer(&g, output), &Op::Table(f), "{output}");
    }
    // LogSoftmax: x − max − ln Σ e^(x − max).
    assert_eq!(producer(&g, "log_softmax"), &Op::Binary(BinaryOp::Sub));
    assert!(has(&g, &Op::Unary(UnaryOp::Log)));
    assert!(has(
        &g,
        &Op::Reduce {
            kind: ReduceKind::Max,
            axes: vec![1]
        }
    ));
}

#[test]
fn rounding_is_exact_unary_ops() {
    let g = lower("rounding");
    assert_eq!(producer(&g, "floor"), &Op::Unary(UnaryOp::Floor));
    assert_eq!(producer(&g, "ceil"), &Op::Unary(UnaryOp::Ceil));
    assert_eq!(producer(&g, "round"), &Op::Unary(UnaryOp::Round));
}

#[test]
fn argmin_sign_and_cumsum_are_built_from_the_families() {
    let g = lower("more_ops");
    assert!(matches!(
        producer(&g, "argmin"),
        Op::ArgMax { .. } | Op::Reshape
    ));
    assert!(has(&g, &Op::Unary(UnaryOp::Neg)));
    assert_eq!(producer(&g, "sign"), &Op::Binary(BinaryOp::Sub));
    assert_eq!(producer(&g, "cumsum"), &Op::Reshape);
    assert!(g.nodes.iter().any(|n| matches!(n.op, Op::Select { .. })));
}

/// onnxmltools' form: IR 4, only `ai.onnx.ml` imported.
#[test]
fn scaler_and_binarizer_load_without_a_default_domain() {
    let g = lower("scaler_pipeline");
    assert!(has(&g, &Op::Binary(BinaryOp::Sub)));
    assert!(g
        .nodes
        .iter()
        .any(|n| matches!(n.op, Op::Compare(cairn_ir::CmpKind::Greater))));
}

/// A depthwise-separable block on one image: tract drops the batch axis (CHW).
#[test]
fn convolutions_without_a_batch_axis_lower() {
    let g = lower("separable_conv");
    assert!(g.nodes.iter().filter(|n| n.op == Op::MatMul).count() >= 3);
}

#[test]
fn zipmap_is_refused_with_the_option_that_removes_it() {
    assert!(
        cairn_onnx::unsupported_reason("ai.onnx.ml", "ZipMap").contains("zipmap"),
        "{}",
        cairn_onnx::unsupported_reason("ai.onnx.ml", "ZipMap")
    );
    assert!(cairn_onnx::unsupported_reason("", "NonZero").contains("depends on the data"));
}
