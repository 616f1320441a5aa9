//! Data movement traced on indices: Slice (with steps), Pad (constant, reflect, edge), Concat,
//! Gather and GatherElements with constant indices, Expand, Tile.
//!
//! Each of these outputs input elements at positions fixed at compile time. Rather than
//! re-deriving every op's geometry, Cairn runs tract's own implementation of the op on a tensor
//! of flat input positions (and -1 in constant padding): the output is the `Select` table, with
//! exactly tract's (ONNX's) semantics for negative indices, clamped bounds, steps and reflection.

use cairn_ir::{Data, Op, TensorType, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{
    Gather, GatherElements, MultiBroadcastTo, Pad, PadMode, Slice, StridedSlice, Tile,
    TypedConcat,
};
use tract_onnx::tract_core::ops::Downsample;

use crate::lower::Ctx;

pub fn lower(cx: &mut Ctx, node: &TypedNode) -> Result<Option<ValueId>, String> {
    // Which inputs carry data (the rest are constant operands such as gather indices), and the
    // pad value for a constant Pad.
    let mut pad_value = None;
    let data: Vec<usize> = if node.op_is::<TypedConcat>() {
        (0..node.inputs.len()).collect()
    } else if node.op_is::<Slice>()
        || node.op_is::<Downsample>()
        || node.op_is::<MultiBroadcastTo>()
        || node.op_is::<Tile>()
        || node.op_is::<Pad>()
    {
        vec![0]
    } else if node.op_is::<Gather>()
        || node.op_is::<GatherElements>()
        || node.op_is::<StridedSlice>()
    {
        vec![0]
    } else {
        return Ok(None);
    };
    for i in 0..node.inputs.len() {
        if !data.contains(&i) && cx.input_const(node, i).is_none() {
            return Err(format!(
                "operand {i} is computed at run time; only constant indices and bounds are supported so far"
            ));
        }
    }
    // The op as it runs on indices: a constant Pad fills with -1 (zero fill in `Select`) and
    // its value is added afterwards.
    let mut op: Box<dyn TypedOp> = node.op.clone();
    if let Some(pad) = node.op_as::<Pad>() {
        if let PadMode::Constant(v) = &pad.mode {
            let v = v
                .cast_to_scalar::<f32>()
                .map_err(|e| format!("pad value: {e}"))?;
            pad_value = Some(v);
            op = Box::new(Pad {
                pads: pad.pads.clone(),
                mode: PadMode::Constant(Arc::new(tensor0(-1i64))),
            });
        }
    }
    let mut offset = 0i64;
    let mut inputs: TVec<TValue> = tvec![];
    let mut args = Vec::new();
    for i in 0..node.inputs.len() {
        let v = cx.input(node, i);
        let shape = cx.shape_of(v).to_vec();
        if data.contains(&i) {
            let n = shape.iter().product::<usize>() as i64;
            let positions: Vec<i64> = (offset..offset + n).collect();
            offset += n;
            let t = Tensor::from_shape(&shape, &positions).map_err(|e| format!("{e}"))?;
            inputs.push(t.into_tvalue());
            args.push(v);
        } else {
            let t = match cx.input_const(node, i) {
                Some(Data::Int(d)) => Tensor::from_shape(&shape, d),
                Some(Data::F32(d)) => Tensor::from_shape(&shape, d),
                None => unreachable!("checked above"),
            }
            .map_err(|e| format!("{e}"))?;
            // Indices keep their ONNX type (tract's Gather accepts i64 and i32 alike).
            inputs.push(t.into_tvalue());
        }
    }
    let traced = op
        .eval_out_of_plan(inputs)
        .map_err(|e| format!("tracing the data movement: {e}"))?
        .ok_or("tracing the data movement: the op needs a running plan")?;
    let traced = traced[0]
        .cast_to::<i64>()
        .map_err(|e| format!("{e}"))?
        .into_owned();
    let indices: Vec<i64> = traced
        .to_plain_array_view::<i64>()
        .map_err(|e| format!("{e}"))?
        .iter()
        .copied()
        .collect();
    let shape = cx.out_shape(node);
    if traced.shape() != shape.as_slice() {
        return Err(format!(
            "traced shape {:?} differs from the typed shape {shape:?}",
            traced.shape()
        ));
    }
    let padded: Vec<bool> = indices.iter().map(|&i| i < 0).collect();
    match pad_value {
        Some(v) if v != 0.0 && padded.iter().any(|&p| p) => {
            let selected = cx.emit(node, "selected", Op::Select { indices }, args, shape.clone());
            let fill: Vec<f32> = padded.iter().map(|&p| if p { v } else { 0.0 }).collect();
            let fill = cx.graph.add_const(
                &format!("{}.fill", node.name),
                TensorType::f32(shape.clone()),
                Data::F32(fill),
            );
            Ok(Some(cx.emit(node, "", Op::Add, vec![selected, fill], shape)))
        }
        _ => Ok(Some(cx.emit(node, "", Op::Select { indices }, args, shape))),
    }
}
