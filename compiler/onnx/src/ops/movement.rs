//! Data movement traced on indices: Slice (with steps), Pad (constant, reflect, edge), Concat,
//! Gather and GatherElements with constant indices, Expand, Tile, and nearest-neighbour
//! upsampling by integer factors (what tract makes of such a Resize); and the slice and concat
//! selections other lowerings build (recurrences, TopK).
//!
//! Each of these outputs input elements at positions fixed at compile time. Rather than
//! re-deriving every op's geometry, Cairn runs tract's own implementation of the op on a tensor
//! of flat input positions (and -1 in constant padding): the output is the `Select` table, with
//! exactly tract's (ONNX's) semantics for negative indices, clamped bounds, steps and reflection.

use cairn_ir::{BinaryOp, Data, Op, TensorType, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{
    Gather, GatherElements, MultiBroadcastTo, Pad, PadMode, Slice, StridedSlice, Tile, TypedConcat,
};
use tract_onnx::tract_core::ops::nn::resize::NearestUpsample;
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
        || node.op_is::<Gather>()
        || node.op_is::<GatherElements>()
        || node.op_is::<StridedSlice>()
        || node.op_is::<NearestUpsample>()
    {
        vec![0]
    } else {
        return Ok(None);
    };
    if let Some(g) = node.op_as::<Gather>() {
        if cx.input_const(node, 1).is_none() {
            let (data, idx) = (cx.input(node, 0), cx.input(node, 1));
            return Ok(Some(runtime_gather(cx, node, data, idx, g.axis)));
        }
    }
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
            let selected = cx.emit(
                node,
                "selected",
                Op::Select { indices },
                args,
                shape.clone(),
            );
            // The fill in the tensor's own element type.
            let dtype = cx.out_dtype(node);
            let fill = if dtype == cairn_ir::DType::F32 {
                Data::F32(padded.iter().map(|&p| if p { v } else { 0.0 }).collect())
            } else {
                Data::Int(
                    padded
                        .iter()
                        .map(|&p| if p { v as i64 } else { 0 })
                        .collect(),
                )
            };
            let fill = cx.graph.add_const(
                &format!("{}.fill", node.name),
                TensorType::new(dtype, shape.clone()),
                fill,
            );
            Ok(Some(cx.emit(
                node,
                "",
                Op::Binary(BinaryOp::Add),
                vec![selected, fill],
                shape,
            )))
        }
        _ => Ok(Some(cx.emit(node, "", Op::Select { indices }, args, shape))),
    }
}

/// Gather with indices computed at run time, data-obliviously: a one-hot comparison of every
/// index with every position (negative indices count from the end), `Where` against the data,
/// a sum over positions, divided by the number of matches so that an index out of range fails
/// the program as ONNX requires. With `P`, `Q`, `R` the sizes before the axis, of the indices and after
/// the axis, and `n` the axis: one-hot `[1, Q, 1, n]`, data `[P, 1, R, n]`, sum over `n`.
pub fn runtime_gather(
    cx: &mut Ctx,
    node: &TypedNode,
    data: ValueId,
    idx: ValueId,
    axis: usize,
) -> ValueId {
    use cairn_ir::{CmpKind, DType, ReduceKind};
    let shape = cx.shape_of(data).to_vec();
    let n = shape[axis];
    let p: usize = shape[..axis].iter().product();
    let r: usize = shape[axis + 1..].iter().product();
    let q = cx.graph.values[idx].ty.len();
    let idx_dtype = cx.graph.values[idx].ty.dtype;
    let dtype = cx.graph.values[data].ty.dtype;
    let mut out_shape = shape[..axis].to_vec();
    out_shape.extend_from_slice(cx.shape_of(idx));
    out_shape.extend_from_slice(&shape[axis + 1..]);
    let name = |s: &str| format!("{}.{s}", node.name);
    let konst = |cx: &mut Ctx, s: &str, dt: DType, sh: Vec<usize>, d: Data| {
        cx.graph.add_const(&name(s), TensorType::new(dt, sh), d)
    };
    let positions = konst(
        cx,
        "positions",
        idx_dtype,
        vec![n],
        Data::Int((0..n as i64).collect()),
    );
    let from_end = konst(
        cx,
        "positions_from_end",
        idx_dtype,
        vec![n],
        Data::Int((0..n as i64).map(|i| i - n as i64).collect()),
    );
    let zero = match dtype {
        DType::F32 => Data::F32(vec![0.0]),
        _ => Data::Int(vec![0]),
    };
    let zero = konst(cx, "zero", dtype, vec![], zero);
    let g = &mut cx.graph;
    let idx4 = g.add_node(
        &node.name,
        Op::Reshape,
        vec![idx],
        &name("index"),
        TensorType::new(idx_dtype, vec![1, q, 1, 1]),
    );
    let eq = |g: &mut cairn_ir::Graph, pos: ValueId, s: &str| {
        g.add_node(
            &node.name,
            Op::Compare(CmpKind::Equal),
            vec![idx4, pos],
            &name(s),
            TensorType::new(DType::Bool, vec![1, q, 1, n]),
        )
    };
    let a = eq(g, positions, "onehot_from_start");
    let b = eq(g, from_end, "onehot_from_end");
    let onehot = g.add_node(
        &node.name,
        Op::Binary(BinaryOp::Max),
        vec![a, b],
        &name("onehot"),
        TensorType::new(DType::Bool, vec![1, q, 1, n]),
    );
    // The data with the gathered axis last: [P, 1, R, n].
    let mut perm: Vec<usize> = (0..shape.len()).filter(|&d| d != axis).collect();
    perm.push(axis);
    let moved_shape: Vec<usize> = perm.iter().map(|&d| shape[d]).collect();
    let moved = g.add_node(
        &node.name,
        Op::Transpose { perm },
        vec![data],
        &name("axis_last"),
        TensorType::new(dtype, moved_shape),
    );
    let d4 = g.add_node(
        &node.name,
        Op::Reshape,
        vec![moved],
        &name("data"),
        TensorType::new(dtype, vec![p, 1, r, n]),
    );
    let picked = g.add_node(
        &node.name,
        Op::Where,
        vec![onehot, d4, zero],
        &name("picked"),
        TensorType::new(dtype, vec![p, q, r, n]),
    );
    let summed = g.add_node(
        &node.name,
        Op::Reduce {
            kind: ReduceKind::Sum,
            axes: vec![3],
        },
        vec![picked],
        &name("sum"),
        TensorType::new(dtype, vec![p, q, r, 1]),
    );
    // An index outside [-n, n) matches no position: ONNX calls it an error, so the sum is
    // divided by the number of matches (1, or 0, which fails the program).
    let matches = g.add_node(
        &node.name,
        Op::Cast { to: dtype },
        vec![onehot],
        &name("matches"),
        TensorType::new(dtype, vec![1, q, 1, n]),
    );
    let count = g.add_node(
        &node.name,
        Op::Reduce {
            kind: ReduceKind::Sum,
            axes: vec![3],
        },
        vec![matches],
        &name("count"),
        TensorType::new(dtype, vec![1, q, 1, 1]),
    );
    let checked = g.add_node(
        &node.name,
        Op::Binary(BinaryOp::Div),
        vec![summed, count],
        &name("checked"),
        TensorType::new(dtype, vec![p, q, r, 1]),
    );
    // [P, Q, R] is the output's layout: the axes before, the indices', the axes after.
    g.add_node(
        &node.name,
        Op::Reshape,
        vec![checked],
        &node.name,
        TensorType::new(dtype, out_shape),
    )
}

/// `x[.., start..start + len, ..]` along `axis`, as a selection.
pub fn slice(
    cx: &mut Ctx,
    node_name: &str,
    out_name: &str,
    x: ValueId,
    axis: usize,
    start: usize,
    len: usize,
) -> ValueId {
    let shape = cx.shape_of(x).to_vec();
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let mut indices = Vec::with_capacity(outer * len * inner);
    for o in 0..outer {
        for a in start..start + len {
            for i in 0..inner {
                indices.push(((o * shape[axis] + a) * inner + i) as i64);
            }
        }
    }
    let mut out = shape;
    out[axis] = len;
    let dtype = cx.graph.values[x].ty.dtype;
    cx.graph.add_node(
        node_name,
        Op::Select { indices },
        vec![x],
        out_name,
        TensorType::new(dtype, out),
    )
}

/// `parts` laid end to end along `axis`, as a selection.
pub fn concat(
    cx: &mut Ctx,
    node_name: &str,
    out_name: &str,
    parts: &[ValueId],
    axis: usize,
) -> ValueId {
    let shapes: Vec<Vec<usize>> = parts.iter().map(|&p| cx.shape_of(p).to_vec()).collect();
    let first = &shapes[0];
    let inner: usize = first[axis + 1..].iter().product();
    let outer: usize = first[..axis].iter().product();
    // Where each part starts in the operands laid end to end.
    let mut offsets = Vec::with_capacity(parts.len());
    let mut offset = 0;
    for s in &shapes {
        offsets.push(offset);
        offset += s.iter().product::<usize>();
    }
    let mut indices = Vec::new();
    for o in 0..outer {
        for (s, off) in shapes.iter().zip(&offsets) {
            let n = s[axis];
            for a in 0..n {
                for i in 0..inner {
                    indices.push((off + (o * n + a) * inner + i) as i64);
                }
            }
        }
    }
    let mut out = first.clone();
    out[axis] = shapes.iter().map(|s| s[axis]).sum();
    let dtype = cx.graph.values[parts[0]].ty.dtype;
    cx.graph.add_node(
        node_name,
        Op::Select { indices },
        parts.to_vec(),
        out_name,
        TensorType::new(dtype, out),
    )
}
