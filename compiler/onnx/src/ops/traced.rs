//! Affine ops of their data input, traced on basis vectors: Resize and Upsample (every mode and
//! coordinate transformation tract implements: nearest, linear, cubic, crop-and-resize) and
//! ConvTranspose (tract's `Deconv`).
//!
//! With every other operand constant, such an op is `y = M·x + b` for a constant sparse `M`.
//! Rather than re-deriving each op's geometry, Cairn runs tract's own implementation on the
//! zero tensor (`b`) and on each basis vector (a column of `M`), so the lowering has exactly
//! tract's (ONNX's) semantics. A random input then checks that the op really is affine. With
//! `m` the most inputs any output reads, the result is `m` selections, each multiplied by a
//! constant tensor of weights, summed, plus `b`: `m` multiply-adds per output.

use cairn_ir::{BinaryOp, Data, Op, TensorType, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::Deconv;
use tract_onnx::tract_core::ops::nn::resize::Resize as CoreResize;
use tract_onnx_opl::resize::Resize as OnnxResize;

use crate::lower::Ctx;

/// Basis evaluations times output size beyond which tracing is refused (about a second).
const MAX_TRACE_WORK: usize = 50_000_000;

pub fn lower(cx: &mut Ctx, node: &TypedNode) -> Result<Option<ValueId>, String> {
    if !(node.op_is::<OnnxResize>() || node.op_is::<CoreResize>() || node.op_is::<Deconv>()) {
        return Ok(None);
    }
    let x = cx.input(node, 0);
    if cx.graph.values[x].ty.dtype != cairn_ir::DType::F32 {
        return Err("resampling integer tensors is not supported".into());
    }
    let in_shape = cx.shape_of(x).to_vec();
    let out_shape = cx.out_shape(node);
    let n_in: usize = in_shape.iter().product();
    let n_out: usize = out_shape.iter().product();
    if n_in.saturating_mul(n_out) > MAX_TRACE_WORK {
        return Err(format!(
            "an input of {n_in} and an output of {n_out} elements are too large to trace (the \
             limit is {MAX_TRACE_WORK} for their product)"
        ));
    }
    // The other operands, as tract takes them.
    let mut operands: Vec<TValue> = Vec::new();
    for i in 1..node.inputs.len() {
        let shape = cx.shape_of(cx.input(node, i)).to_vec();
        let t = match cx.input_const(node, i) {
            Some(Data::F32(d)) => Tensor::from_shape(&shape, d),
            Some(Data::Int(d)) => Tensor::from_shape(&shape, d),
            None => {
                return Err(format!(
                    "operand {i} is computed at run time; only constant scales, sizes, weights \
                     and biases are supported"
                ))
            }
        }
        .map_err(|e| format!("{e}"))?;
        operands.push(t.into_tvalue());
    }
    let run = |data: Vec<f32>| -> Result<Vec<f32>, String> {
        let x = Tensor::from_shape(&in_shape, &data).map_err(|e| format!("{e}"))?;
        let mut inputs: TVec<TValue> = tvec![x.into_tvalue()];
        inputs.extend(operands.iter().cloned());
        let out = node
            .op
            .eval_out_of_plan(inputs)
            .map_err(|e| format!("tracing: {e}"))?
            .ok_or("tracing: the op needs a running plan")?;
        let out = out[0].cast_to::<f32>().map_err(|e| format!("{e}"))?;
        if out.shape() != out_shape.as_slice() {
            return Err(format!(
                "traced shape {:?} differs from the typed shape {out_shape:?}",
                out.shape()
            ));
        }
        Ok(out
            .to_plain_array_view::<f32>()
            .map_err(|e| format!("{e}"))?
            .iter()
            .copied()
            .collect())
    };

    let bias = run(vec![0.0; n_in])?;
    // rows[o]: the (input, weight) pairs output o reads.
    let mut rows: Vec<Vec<(usize, f32)>> = vec![Vec::new(); n_out];
    let mut basis = vec![0.0f32; n_in];
    for i in 0..n_in {
        basis[i] = 1.0;
        let y = run(basis.clone())?;
        basis[i] = 0.0;
        for (o, (v, b)) in y.iter().zip(&bias).enumerate() {
            let w = v - b;
            if w != 0.0 {
                rows[o].push((i, w));
            }
        }
    }
    check_affine(&rows, &bias, n_in, &run)?;

    let m = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut sum: Option<ValueId> = None;
    for j in 0..m {
        let indices: Vec<i64> = rows
            .iter()
            .map(|r| r.get(j).map_or(-1, |&(i, _)| i as i64))
            .collect();
        let selected = cx.emit(
            node,
            &format!("tap{j}"),
            Op::Select { indices },
            vec![x],
            out_shape.clone(),
        );
        let weights: Vec<f32> = rows
            .iter()
            .map(|r| r.get(j).map_or(0.0, |&(_, w)| w))
            .collect();
        // A tap that only copies (nearest-neighbour resampling) needs no product.
        let term = if weights.iter().all(|&w| w == 1.0) {
            selected
        } else {
            let w = cx.graph.add_const(
                &format!("{}.tap{j}_weights", node.name),
                TensorType::f32(out_shape.clone()),
                Data::F32(weights),
            );
            cx.emit(
                node,
                &format!("tap{j}_weighted"),
                Op::Binary(BinaryOp::Mul),
                vec![selected, w],
                out_shape.clone(),
            )
        };
        sum = Some(match sum {
            None => term,
            Some(s) => cx.emit(
                node,
                &format!("sum{j}"),
                Op::Binary(BinaryOp::Add),
                vec![s, term],
                out_shape.clone(),
            ),
        });
    }
    let has_bias = bias.iter().any(|&b| b != 0.0);
    let b = has_bias.then(|| {
        cx.graph.add_const(
            &format!("{}.bias", node.name),
            TensorType::f32(out_shape.clone()),
            Data::F32(bias),
        )
    });
    Ok(Some(match (sum, b) {
        (Some(s), Some(b)) => cx.emit(node, "", Op::Binary(BinaryOp::Add), vec![s, b], out_shape),
        (Some(s), None) => cx.emit(node, "", Op::Reshape, vec![s], out_shape),
        // An output that reads no input: only its constant (zero-sized inputs, extrapolation).
        (None, b) => {
            let c = b.unwrap_or_else(|| {
                cx.graph.add_const(
                    &format!("{}.bias", node.name),
                    TensorType::f32(out_shape.clone()),
                    Data::F32(vec![0.0; n_out]),
                )
            });
            cx.emit(node, "", Op::Reshape, vec![c], out_shape)
        }
    }))
}

/// The traced map must reproduce the op on an input it was not traced on; an op that is not
/// affine in its data input is refused.
fn check_affine(
    rows: &[Vec<(usize, f32)>],
    bias: &[f32],
    n_in: usize,
    run: &dyn Fn(Vec<f32>) -> Result<Vec<f32>, String>,
) -> Result<(), String> {
    // A fixed pseudo-random input in [-1, 1] (no randomness in a compiler).
    let probe: Vec<f32> = (0..n_in)
        .map(|i| (i as f32 * 0.618_034 + 0.1).fract() * 2.0 - 1.0)
        .collect();
    let expected = run(probe.clone())?;
    let scale = expected.iter().fold(1f32, |m, v| m.max(v.abs()));
    for (o, (r, b)) in rows.iter().zip(bias).enumerate() {
        let y = b + r.iter().map(|&(i, w)| w * probe[i]).sum::<f32>();
        if (y - expected[o]).abs() > 1e-4 * scale {
            return Err(format!(
                "the op is not affine in its input (output {o}: {y} traced, {} computed)",
                expected[o]
            ));
        }
    }
    Ok(())
}
