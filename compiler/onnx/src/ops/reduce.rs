//! Reductions: tract's `Reduce` (what ReduceSum, ReduceMax, ReduceMin become; ReduceMean and
//! GlobalAveragePool become a sum and a product by a constant). Reduced axes stay as size 1;
//! tract removes them afterwards when `keepdims` is 0.

use cairn_ir::{Op, ReduceKind, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};

use crate::lower::Ctx;

pub fn lower(cx: &mut Ctx, node: &TypedNode) -> Result<Option<ValueId>, String> {
    let Some(op) = node.op_as::<Reduce>() else {
        return Ok(None);
    };
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
    let axes = super::contiguous_axes(&op.axes, "a reduction")?;
    let x = cx.input(node, 0);
    let shape = cx.out_shape(node);
    Ok(Some(cx.emit(
        node,
        "",
        Op::Reduce { kind, axes },
        vec![x],
        shape,
    )))
}
