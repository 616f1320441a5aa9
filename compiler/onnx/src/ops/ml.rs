//! The `ai.onnx.ml` pieces tract leaves as ops of their own.
//!
//! - `DirectLookup` (class labels of LinearClassifier and TreeEnsembleClassifier, indexed by
//!   the winning class): a lookup in a constant table by a runtime index, done data-obliviously
//!   as a one-hot comparison against every position, a selection and a sum.

use cairn_ir::{CmpKind, DType, Data, Def, Op, ReduceKind, TensorType, ValueId};
use tract_onnx::prelude::*;

use crate::lower::Ctx;

pub fn lower(cx: &mut Ctx, node: &TypedNode) -> Result<Option<ValueId>, String> {
    if node.op.name() != "DirectLookup" {
        return Ok(None);
    }
    let idx = cx.input(node, 0);
    let n = index_bound(cx, idx).ok_or(
        "a lookup whose index does not come from an ArgMax (its range is unknown at compile time)",
    )?;
    // The table, read by running the op on every index in range.
    let probe =
        Tensor::from_shape(&[n], &(0..n as i32).collect::<Vec<_>>()).map_err(|e| format!("{e}"))?;
    let table = node
        .op
        .eval_out_of_plan(tvec![probe.into_tvalue()])
        .map_err(|e| format!("reading the lookup table: {e}"))?
        .ok_or("reading the lookup table: the op needs a running plan")?;
    let dtype = cx.out_dtype(node);
    let table = if dtype == DType::F32 {
        let t = table[0].cast_to::<f32>().map_err(|e| format!("{e}"))?;
        Data::F32(
            t.to_plain_array_view::<f32>()
                .map_err(|e| format!("{e}"))?
                .iter()
                .copied()
                .collect(),
        )
    } else {
        let t = table[0]
            .cast_to::<i64>()
            .map_err(|e| format!("labels that are not numbers: {e}"))?;
        Data::Int(
            t.to_plain_array_view::<i64>()
                .map_err(|e| format!("{e}"))?
                .iter()
                .copied()
                .collect(),
        )
    };
    Ok(Some(lookup(cx, node, idx, table, dtype)))
}

/// The exclusive upper bound of an index produced by an ArgMax (through casts and reshapes).
fn index_bound(cx: &Ctx, mut v: ValueId) -> Option<usize> {
    loop {
        let Def::Node(i) = cx.graph.values[v].def else {
            return None;
        };
        let n = &cx.graph.nodes[i];
        match &n.op {
            Op::Cast { .. } | Op::Reshape => v = n.inputs[0],
            Op::ArgMax { axis, .. } => return Some(cx.shape_of(n.inputs[0])[*axis]),
            _ => return None,
        }
    }
}

/// `table[idx]` element-wise for a runtime `idx` in `[0, table.len())`: one-hot positions,
/// `Where` against the table, a sum over positions.
pub fn lookup(cx: &mut Ctx, node: &TypedNode, idx: ValueId, table: Data, dtype: DType) -> ValueId {
    let n = table.len();
    let shape = cx.shape_of(idx).to_vec();
    let mut wide = shape.clone();
    wide.push(1);
    let mut full = shape.clone();
    full.push(n);
    let konst = |cx: &mut Ctx, suffix: &str, dt: DType, shape: Vec<usize>, d: Data| {
        cx.graph.add_const(
            &format!("{}.{suffix}", node.name),
            TensorType::new(dt, shape),
            d,
        )
    };
    let idx_dtype = cx.graph.values[idx].ty.dtype;
    let positions = konst(
        cx,
        "positions",
        idx_dtype,
        vec![n],
        Data::Int((0..n as i64).collect()),
    );
    let table = konst(cx, "table", dtype, vec![n], table);
    let zero = match dtype {
        DType::F32 => Data::F32(vec![0.0]),
        _ => Data::Int(vec![0]),
    };
    let zero = konst(cx, "zero", dtype, vec![], zero);
    let g = &mut cx.graph;
    let name = |s: &str| format!("{}.{s}", node.name);
    let idx_wide = g.add_node(
        &node.name,
        Op::Reshape,
        vec![idx],
        &name("index"),
        TensorType::new(idx_dtype, wide.clone()),
    );
    let onehot = g.add_node(
        &node.name,
        Op::Compare {
            kind: CmpKind::Equal,
        },
        vec![idx_wide, positions],
        &name("onehot"),
        TensorType::new(DType::Bool, full.clone()),
    );
    let picked = g.add_node(
        &node.name,
        Op::Where,
        vec![onehot, table, zero],
        &name("picked"),
        TensorType::new(dtype, full),
    );
    let summed = g.add_node(
        &node.name,
        Op::Reduce {
            kind: ReduceKind::Sum,
            axes: vec![shape.len()],
        },
        vec![picked],
        &name("sum"),
        TensorType::new(dtype, wide),
    );
    g.add_node(
        &node.name,
        Op::Reshape,
        vec![summed],
        &node.name,
        TensorType::new(dtype, shape),
    )
}
