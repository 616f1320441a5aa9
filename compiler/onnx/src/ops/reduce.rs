//! Reductions: tract's `Reduce` (what ReduceSum, ReduceMax, ReduceMin become; ReduceMean and
//! GlobalAveragePool become a sum and a product by a constant). Reduced axes stay as size 1;
//! tract removes them afterwards when `keepdims` is 0.

use cairn_ir::{Data, Op, ReduceKind, TensorType, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer, RmsNorm};

use crate::lower::Ctx;

pub fn lower(cx: &mut Ctx, node: &TypedNode) -> Result<Option<ValueId>, String> {
    if let Some(op) = node.op_as::<RmsNorm>() {
        // x / √(mean(x²) + ε) along one axis (what tract makes of LayerNormalization's
        // normalisation once the mean is subtracted).
        let x = cx.input(node, 0);
        let shape = cx.shape_of(x).to_vec();
        let ms = mean_of_squares(cx, node, x, &[op.axis])?;
        let eps = op
            .eps
            .cast_to_scalar::<f32>()
            .map_err(|e| format!("epsilon: {e}"))?;
        let eps = cx.graph.add_const(
            &format!("{}.epsilon", node.name),
            TensorType::f32(vec![]),
            Data::F32(vec![eps]),
        );
        let ms_shape = cx.shape_of(ms).to_vec();
        let var = cx.emit(node, "variance", Op::Add, vec![ms, eps], ms_shape.clone());
        let root = cx.emit(node, "root", Op::Sqrt, vec![var], ms_shape);
        return Ok(Some(cx.emit(node, "", Op::Div, vec![x, root], shape)));
    }
    let Some(op) = node.op_as::<Reduce>() else {
        return Ok(None);
    };
    if op.reducer == Reducer::MeanOfSquares {
        let x = cx.input(node, 0);
        return mean_of_squares(cx, node, x, &op.axes).map(Some);
    }
    if let Reducer::ArgMax(select_last) = op.reducer {
        let [axis] = op.axes[..] else {
            return Err("ArgMax over several axes".into());
        };
        let x = cx.input(node, 0);
        let shape = cx.out_shape(node);
        return Ok(Some(cx.emit(
            node,
            "",
            Op::ArgMax { axis, select_last },
            vec![x],
            shape,
        )));
    }
    let kind = match op.reducer {
        Reducer::Sum => ReduceKind::Sum,
        Reducer::Max => ReduceKind::Max,
        Reducer::Min => ReduceKind::Min,
        other => return Err(format!("reduction {other:?} is not supported yet")),
    };
    let x = cx.input(node, 0);
    if op.axes.is_empty() {
        // ReduceX with empty axes and noop_with_empty_axes: the identity.
        let shape = cx.out_shape(node);
        return Ok(Some(cx.emit(node, "", Op::Reshape, vec![x], shape)));
    }
    let axes = super::contiguous_axes(&op.axes, "a reduction")?;
    let shape = cx.out_shape(node);
    Ok(Some(cx.emit(
        node,
        "",
        Op::Reduce { kind, axes },
        vec![x],
        shape,
    )))
}

/// mean(x²) over `axes`, kept as size 1: a product, a sum and a product by 1/count.
fn mean_of_squares(
    cx: &mut Ctx,
    node: &TypedNode,
    x: ValueId,
    axes: &[usize],
) -> Result<ValueId, String> {
    let axes = super::contiguous_axes(axes, "a mean of squares")?;
    let shape = cx.shape_of(x).to_vec();
    let count: usize = axes.iter().map(|&a| shape[a]).product();
    let mut reduced = shape.clone();
    axes.iter().for_each(|&a| reduced[a] = 1);
    let sq = cx.emit(node, "square", Op::Mul, vec![x, x], shape);
    let sum = cx.emit(
        node,
        "sum",
        Op::Reduce {
            kind: ReduceKind::Sum,
            axes,
        },
        vec![sq],
        reduced.clone(),
    );
    let inv = cx.graph.add_const(
        &format!("{}.inv_count", node.name),
        TensorType::f32(vec![]),
        Data::F32(vec![1.0 / count as f32]),
    );
    Ok(cx.emit(node, "mean_of_squares", Op::Mul, vec![sum, inv], reduced))
}
