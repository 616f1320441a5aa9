//! Recurrences: tract's `Scan` (what ONNX Scan, LSTM, GRU and RNN become) unrolled over its
//! static trip count, and the fused LSTM and GRU cells tract puts in those loop bodies.
//!
//! A fixed-point program has no loops over data-dependent counts, but a `Scan`'s count is the
//! length of a static axis: iteration `t` is the body lowered once more, on the `t`-th slice of
//! each scanned input and the states the previous iteration left. The body's constants are
//! lowered once and shared by every iteration.

use std::collections::HashMap;

use cairn_ir::{broadcast_shapes, BinaryOp, Op, TableFn, TensorType, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::gru_cell::GruEpilogue;
use tract_onnx::tract_core::ops::lstm_cell::LstmEpilogue;
use tract_onnx::tract_core::ops::scan::{InputMapping, Scan};

use super::movement::{concat, slice};
use crate::lower::{lower_nodes, Ctx};

/// The recurrent family's ops, which may have several outputs: `None` for other ops.
pub fn lower(cx: &mut Ctx, node: &TypedNode) -> Option<Result<Vec<ValueId>, String>> {
    if let Some(scan) = node.op_as::<Scan>() {
        Some(lower_scan(cx, node, scan))
    } else if let Some(cell) = node.op_as::<LstmEpilogue>() {
        Some(lstm_cell(cx, node, cell.hidden))
    } else {
        node.op_as::<GruEpilogue>()
            .map(|cell| gru_cell(cx, node, cell.hidden))
    }
}

fn lower_scan(cx: &mut Ctx, node: &TypedNode, scan: &Scan) -> Result<Vec<ValueId>, String> {
    if scan.skip != 0 {
        return Err(format!(
            "a Scan that skips its first {} iterations is not supported",
            scan.skip
        ));
    }
    let body = &scan.body;
    let sources = body.input_outlets().map_err(|e| format!("{e}"))?.to_vec();
    let results = body.output_outlets().map_err(|e| format!("{e}"))?.to_vec();
    if sources.len() != scan.input_mapping.len() || results.len() != scan.output_mapping.len() {
        return Err("the loop body's inputs and outputs do not match the Scan's mapping".into());
    }
    let outer: Vec<ValueId> = (0..node.inputs.len()).map(|i| cx.input(node, i)).collect();
    // The trip count: every scanned input's axis in chunks of `chunk`.
    let mut iters = None;
    for (slot, m) in scan.input_mapping.iter().enumerate() {
        if let InputMapping::Scan(info) = m {
            let len = cx.shape_of(outer[slot])[info.axis];
            let chunk = info.chunk.unsigned_abs();
            if chunk == 0 || !len.is_multiple_of(chunk) {
                return Err(format!(
                    "scanned axis of length {len} in chunks of {chunk}: Cairn needs whole chunks"
                ));
            }
            match iters {
                None => iters = Some(len / chunk),
                Some(n) if n == len / chunk => {}
                Some(n) => {
                    return Err(format!(
                        "scanned inputs disagree on the trip count: {n} and {}",
                        len / chunk
                    ))
                }
            }
        }
    }
    let iters = iters.ok_or("a Scan with no scanned input has no static trip count")?;
    let order = body.eval_order().map_err(|e| format!("{e}"))?;

    let mut states: Vec<ValueId> = scan
        .input_mapping
        .iter()
        .enumerate()
        .filter(|(_, m)| m.is_state())
        .map(|(slot, _)| outer[slot])
        .collect();
    let mut scanned: Vec<Vec<ValueId>> = vec![vec![]; results.len()];
    let mut last: Vec<Option<ValueId>> = vec![None; results.len()];
    let mut consts = HashMap::new();
    for t in 0..iters {
        // This iteration's body, its nodes named after the step.
        let mut step = body.clone();
        for n in step.nodes.iter_mut() {
            n.name = format!("{}.t{t}.{}", node.name, n.name);
        }
        let outer_values = std::mem::take(&mut cx.values);
        let mut next_state = states.iter();
        for (slot, m) in scan.input_mapping.iter().enumerate() {
            let v = match m {
                InputMapping::Full => outer[slot],
                InputMapping::State => *next_state.next().ok_or("state count")?,
                InputMapping::Scan(info) => {
                    let len = cx.shape_of(outer[slot])[info.axis];
                    let chunk = info.chunk.unsigned_abs();
                    let start = if info.chunk > 0 {
                        t * chunk
                    } else {
                        len - (t + 1) * chunk
                    };
                    let name = format!("{}.t{t}.in{slot}", node.name);
                    slice(cx, &node.name, &name, outer[slot], info.axis, start, chunk)
                }
            };
            cx.values.insert(sources[slot], v);
        }
        let mut unsupported = Vec::new();
        lower_nodes(cx, &step, order.clone(), &mut consts, &mut unsupported);
        let outs: Vec<Option<ValueId>> =
            results.iter().map(|o| cx.values.get(o).copied()).collect();
        cx.values = outer_values;
        if !unsupported.is_empty() {
            let list: Vec<String> = unsupported.iter().map(|u| u.to_string()).collect();
            return Err(format!("in its loop body: {}", list.join("; ")));
        }
        states.clear();
        for ((m, v), j) in scan.output_mapping.iter().zip(outs).zip(0..) {
            let v = v.ok_or("a loop body output was not lowered")?;
            if m.scan.is_some() {
                scanned[j].push(v);
            }
            if m.last_value_slot.is_some() {
                last[j] = Some(v);
            }
            if m.state {
                states.push(v);
            }
        }
    }

    let mut outputs: Vec<Option<ValueId>> = vec![None; node.outputs.len()];
    for (j, m) in scan.output_mapping.iter().enumerate() {
        if let Some((slot, info)) = m.scan {
            let mut parts = std::mem::take(&mut scanned[j]);
            if info.chunk < 0 {
                if info.chunk != -1 {
                    return Err("a backward scan output in chunks over 1 is not supported".into());
                }
                parts.reverse();
            }
            let name = format!("{}.out{slot}", node.name);
            let v = concat(cx, &node.name, &name, &parts, info.axis);
            outputs[slot] = Some(v);
        }
        if let Some(slot) = m.last_value_slot {
            outputs[slot] = last[j];
        }
    }
    outputs
        .into_iter()
        .enumerate()
        .map(|(slot, v)| v.ok_or_else(|| format!("Scan output {slot} is not produced")))
        .collect()
}

/// tract's fused LSTM cell: `preact` `[batch, 4·hidden]` in ONNX's gate order i, o, f, c and
/// the previous cell state; `Ct = f·Ct-1 + i·g(c)`, `Ht = o·h(Ct)` with f = σ, g = h = tanh.
fn lstm_cell(cx: &mut Ctx, node: &TypedNode, h: usize) -> Result<Vec<ValueId>, String> {
    let (preact, c_prev) = (cx.input(node, 0), cx.input(node, 1));
    let mut b = Cell::new(cx, node);
    let gate = |b: &mut Cell, k: usize, f: TableFn, name: &str| {
        let x = b.slice(preact, k * h, h, &format!("{name}_preact"));
        b.table(f, x, name)
    };
    let i = gate(&mut b, 0, TableFn::Sigmoid, "input_gate");
    let o = gate(&mut b, 1, TableFn::Sigmoid, "output_gate");
    let f = gate(&mut b, 2, TableFn::Sigmoid, "forget_gate");
    let c = gate(&mut b, 3, TableFn::Tanh, "cell_gate");
    let kept = b.binary(BinaryOp::Mul, f, c_prev, "kept")?;
    let added = b.binary(BinaryOp::Mul, i, c, "added")?;
    let ct = b.binary(BinaryOp::Add, kept, added, "ct")?;
    let squashed = b.table(TableFn::Tanh, ct, "ct_tanh");
    let ht = b.binary(BinaryOp::Mul, o, squashed, "ht")?;
    Ok(vec![ht, ct])
}

/// tract's fused GRU cell (`linear_before_reset`): `xh = Xt·Wᵀ + Wb` and `rh = Ht-1·Rᵀ + Rb`
/// in gate order z, r, h; `Ht = n + z·(Ht-1 − n)` with `n = tanh(xn + r·rn)`.
fn gru_cell(cx: &mut Ctx, node: &TypedNode, h: usize) -> Result<Vec<ValueId>, String> {
    let (xh, rh, h_prev) = (cx.input(node, 0), cx.input(node, 1), cx.input(node, 2));
    let mut b = Cell::new(cx, node);
    let gate = |b: &mut Cell, k: usize, name: &str| {
        let x = b.slice(xh, k * h, h, &format!("{name}_x"));
        let r = b.slice(rh, k * h, h, &format!("{name}_r"));
        (x, r)
    };
    let (xz, rz) = gate(&mut b, 0, "update");
    let (xr, rr) = gate(&mut b, 1, "reset");
    let (xn, rn) = gate(&mut b, 2, "new");
    let z = b.binary(BinaryOp::Add, xz, rz, "update_preact")?;
    let z = b.table(TableFn::Sigmoid, z, "update_gate");
    let r = b.binary(BinaryOp::Add, xr, rr, "reset_preact")?;
    let r = b.table(TableFn::Sigmoid, r, "reset_gate");
    let rn = b.binary(BinaryOp::Mul, r, rn, "reset_recurrent")?;
    let n = b.binary(BinaryOp::Add, xn, rn, "new_preact")?;
    let n = b.table(TableFn::Tanh, n, "new_gate");
    let d = b.binary(BinaryOp::Sub, h_prev, n, "delta")?;
    let d = b.binary(BinaryOp::Mul, z, d, "kept")?;
    Ok(vec![b.binary(BinaryOp::Add, n, d, "ht")?])
}

/// Float nodes of one fused cell, named after it.
struct Cell<'a> {
    cx: &'a mut Ctx,
    name: String,
}

impl<'a> Cell<'a> {
    fn new(cx: &'a mut Ctx, node: &TypedNode) -> Self {
        Cell {
            cx,
            name: node.name.clone(),
        }
    }

    fn add(&mut self, op: Op, inputs: Vec<ValueId>, suffix: &str, shape: Vec<usize>) -> ValueId {
        let out = format!("{}.{suffix}", self.name);
        self.cx
            .graph
            .add_node(&self.name, op, inputs, &out, TensorType::f32(shape))
    }

    /// Columns `start..start + len` of the last axis.
    fn slice(&mut self, x: ValueId, start: usize, len: usize, suffix: &str) -> ValueId {
        let axis = self.cx.shape_of(x).len() - 1;
        let out = format!("{}.{suffix}", self.name);
        slice(self.cx, &self.name, &out, x, axis, start, len)
    }

    fn table(&mut self, f: TableFn, x: ValueId, suffix: &str) -> ValueId {
        let shape = self.cx.shape_of(x).to_vec();
        self.add(Op::Table(f), vec![x], suffix, shape)
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        a: ValueId,
        b: ValueId,
        suffix: &str,
    ) -> Result<ValueId, String> {
        let (sa, sb) = (self.cx.shape_of(a), self.cx.shape_of(b));
        let shape = broadcast_shapes(sa, sb)
            .ok_or_else(|| format!("{suffix}: shapes {sa:?} and {sb:?} do not broadcast"))?;
        Ok(self.add(Op::Binary(op), vec![a, b], suffix, shape))
    }
}
