//! Data movement: tract's `AxisOp` (what Reshape, Flatten, Squeeze, Unsqueeze and Transpose
//! become), and `Identity`.

use cairn_ir::{Op, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::change_axes::AxisOp;

use crate::lower::Ctx;

pub fn lower(cx: &mut Ctx, node: &TypedNode) -> Result<Option<ValueId>, String> {
    let x = || cx.input(node, 0);
    if let Some(op) = node.op_as::<AxisOp>() {
        let shape = cx.out_shape(node);
        let v = x();
        let ir = match op {
            // Moving one axis permutes the data; the others keep its order.
            AxisOp::Move(from, to) => {
                let mut perm: Vec<usize> = (0..cx.shape_of(v).len()).collect();
                let a = perm.remove(*from);
                perm.insert(*to, a);
                Op::Transpose { perm }
            }
            AxisOp::Add(_) | AxisOp::Rm(_) | AxisOp::Reshape(..) => Op::Reshape,
        };
        return Ok(Some(cx.emit(node, "", ir, vec![v], shape)));
    }
    if node.op.name() == "Identity" {
        let v = x();
        let shape = cx.out_shape(node);
        return Ok(Some(cx.emit(node, "", Op::Reshape, vec![v], shape)));
    }
    Ok(None)
}
