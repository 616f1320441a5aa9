//! The `ai.onnx.ml` pieces tract leaves as ops of their own.
//!
//! - `DirectLookup` (class labels of LinearClassifier and TreeEnsembleClassifier, indexed by
//!   the winning class): a runtime Gather (`movement::runtime_gather`) from the constant table.

use cairn_ir::{DType, Data, Def, Op, TensorType, ValueId};
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
    let n = table.len();
    let table = cx.graph.add_const(
        &format!("{}.table", node.name),
        TensorType::new(dtype, vec![n]),
        table,
    );
    Ok(Some(super::movement::runtime_gather(
        cx, node, table, idx, 0,
    )))
}

/// The exclusive upper bound of an index produced by an ArgMax (through casts and reshapes).
fn index_bound(cx: &Ctx, mut v: ValueId) -> Option<usize> {
    loop {
        let Def::Node(i) = cx.graph.values[v].def else {
            return None;
        };
        let n = &cx.graph.nodes[i];
        // A query about one pattern, not a per-op rule: every other op ends the walk.
        if let Op::ArgMax { axis, .. } = &n.op {
            return Some(cx.shape_of(n.inputs[0])[*axis]);
        }
        if !matches!(n.op, Op::Cast { .. } | Op::Reshape) {
            return None;
        }
        v = n.inputs[0];
    }
}
