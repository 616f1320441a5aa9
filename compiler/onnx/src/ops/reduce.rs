//! Reductions: tract's `Reduce` (what ReduceSum, ReduceMax, ReduceMin become; ReduceMean and
//! GlobalAveragePool become a sum and a product by a constant; ReduceProd a chain of products). Reduced axes stay as size 1;
//! tract removes them afterwards when `keepdims` is 0.

use cairn_ir::{BinaryOp, Data, Op, ReduceKind, TensorType, UnaryOp, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{CumSum, Topk};
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
        let var = cx.emit(
            node,
            "variance",
            Op::Binary(BinaryOp::Add),
            vec![ms, eps],
            ms_shape.clone(),
        );
        let root = cx.emit(node, "root", Op::Unary(UnaryOp::Sqrt), vec![var], ms_shape);
        return Ok(Some(cx.emit(
            node,
            "",
            Op::Binary(BinaryOp::Div),
            vec![x, root],
            shape,
        )));
    }
    if let Some(op) = node.op_as::<CumSum>() {
        return Ok(Some(cumsum(cx, node, op.axis, op.exclusive, op.reverse)));
    }
    let Some(op) = node.op_as::<Reduce>() else {
        return Ok(None);
    };
    if op.reducer == Reducer::MeanOfSquares {
        let x = cx.input(node, 0);
        let ms = mean_of_squares(cx, node, x, &op.axes)?;
        let shape = cx.out_shape(node);
        if cx.shape_of(ms) == shape.as_slice() {
            return Ok(Some(ms));
        }
        return Ok(Some(cx.emit(node, "", Op::Reshape, vec![ms], shape)));
    }
    if let Reducer::ArgMax(select_last) | Reducer::ArgMin(select_last) = op.reducer {
        let [axis] = op.axes[..] else {
            return Err("ArgMax over several axes".into());
        };
        let mut x = cx.input(node, 0);
        let shape = cx.out_shape(node);
        if let Reducer::ArgMin(_) = op.reducer {
            // The first (or last) smallest element is the first (or last) largest of -x.
            let ty = cx.graph.values[x].ty.clone();
            let name = format!("{}.negated", node.name);
            x = cx
                .graph
                .add_node(&node.name, Op::Unary(UnaryOp::Neg), vec![x], &name, ty);
        }
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
        Reducer::Prod => return Ok(Some(product(cx, node, &op.axes))),
        other => return Err(format!("reduction {other:?} is not supported yet")),
    };
    let x = cx.input(node, 0);
    if op.axes.is_empty() {
        // ReduceX with empty axes and noop_with_empty_axes: the identity.
        let shape = cx.out_shape(node);
        return Ok(Some(cx.emit(node, "", Op::Reshape, vec![x], shape)));
    }
    let shape = cx.out_shape(node);
    let (x, axes) = reduced_axes_last(cx, node, x, &op.axes);
    let mut kept = cx.shape_of(x).to_vec();
    axes.iter().for_each(|&a| kept[a] = 1);
    if kept == shape {
        return Ok(Some(cx.emit(
            node,
            "",
            Op::Reduce { kind, axes },
            vec![x],
            shape,
        )));
    }
    let reduced = cx.emit(node, "reduced", Op::Reduce { kind, axes }, vec![x], kept);
    Ok(Some(cx.emit(node, "", Op::Reshape, vec![reduced], shape)))
}

/// TopK (values and indices) for a constant `k`, as `k` rounds of a maximum and the first
/// position that holds it: the one at the lowest index among equal values, as ONNX requires.
/// Each round replaces the element it took by one below the row's minimum. The smallest `k`
/// are the largest of `-x`. Both outputs come sorted (what `sorted = 1` asks; any order meets
/// `sorted = 0`).
pub fn topk(cx: &mut Ctx, node: &TypedNode) -> Option<Result<Vec<ValueId>, String>> {
    let op = node.op_as::<Topk>()?;
    Some(topk_rounds(cx, node, op.axis, op.largest))
}

fn topk_rounds(
    cx: &mut Ctx,
    node: &TypedNode,
    axis: usize,
    largest: bool,
) -> Result<Vec<ValueId>, String> {
    use cairn_ir::{CmpKind, DType};
    let k = match cx.input_const(node, 1) {
        Some(Data::Int(k)) if k.len() == 1 && k[0] >= 0 => k[0] as usize,
        _ => return Err("k must be a constant (Cairn compiles static shapes)".into()),
    };
    let mut x = cx.input(node, 0);
    let ty = cx.graph.values[x].ty.clone();
    let n = ty.shape[axis];
    if k > n {
        return Err(format!("k = {k} exceeds the axis length {n}"));
    }
    let name = |s: &str| format!("{}.{s}", node.name);
    if !largest {
        x = cx.graph.add_node(
            &node.name,
            Op::Unary(UnaryOp::Neg),
            vec![x],
            &name("negated"),
            ty.clone(),
        );
    }
    let mut kept = ty.shape.clone();
    kept[axis] = 1;
    let mut pos_shape = vec![1; ty.shape.len()];
    pos_shape[axis] = n;
    let positions = cx.graph.add_const(
        &name("positions"),
        TensorType::new(DType::I64, pos_shape),
        Data::Int((0..n as i64).collect()),
    );
    let reduce = |kind| Op::Reduce {
        kind,
        axes: vec![axis],
    };
    let kept_ty = TensorType::new(ty.dtype, kept.clone());
    let floor = if k > 1 {
        // One below the row's minimum: below every element a round could leave.
        let min = cx.graph.add_node(
            &node.name,
            reduce(ReduceKind::Min),
            vec![x],
            &name("row_min"),
            kept_ty.clone(),
        );
        let one = match ty.dtype {
            DType::F32 => Data::F32(vec![1.0]),
            DType::I64 | DType::Bool => Data::Int(vec![1]),
        };
        let one = cx
            .graph
            .add_const(&name("one"), TensorType::new(ty.dtype, vec![]), one);
        Some(cx.graph.add_node(
            &node.name,
            Op::Binary(BinaryOp::Sub),
            vec![min, one],
            &name("taken"),
            kept_ty.clone(),
        ))
    } else {
        None
    };
    let (mut values, mut indices) = (Vec::new(), Vec::new());
    let mut rest = x;
    for j in 0..k {
        let v = cx.graph.add_node(
            &node.name,
            reduce(ReduceKind::Max),
            vec![rest],
            &name(&format!("value{j}")),
            kept_ty.clone(),
        );
        let i = cx.graph.add_node(
            &node.name,
            Op::ArgMax {
                axis,
                select_last: false,
            },
            vec![rest],
            &name(&format!("index{j}")),
            TensorType::new(DType::I64, kept.clone()),
        );
        values.push(v);
        indices.push(i);
        if let (Some(floor), true) = (floor, j + 1 < k) {
            let hit = cx.graph.add_node(
                &node.name,
                Op::Compare(CmpKind::Equal),
                vec![i, positions],
                &name(&format!("taken{j}")),
                TensorType::new(DType::Bool, ty.shape.clone()),
            );
            rest = cx.graph.add_node(
                &node.name,
                Op::Where,
                vec![hit, floor, rest],
                &name(&format!("rest{j}")),
                ty.clone(),
            );
        }
    }
    let mut values = super::movement::concat(cx, &node.name, &name("values"), &values, axis);
    if !largest {
        let out = cx.graph.values[values].ty.clone();
        values = cx.graph.add_node(
            &node.name,
            Op::Unary(UnaryOp::Neg),
            vec![values],
            &name("values_restored"),
            out,
        );
    }
    let indices = super::movement::concat(cx, &node.name, &name("indices"), &indices, axis);
    Ok(vec![values, indices])
}

/// ReduceProd as one selection per reduced position and a chain of products: exact for
/// integers (each product is range-checked), and a rescale per product for floats.
fn product(cx: &mut Ctx, node: &TypedNode, axes: &[usize]) -> ValueId {
    let x = cx.input(node, 0);
    let shape = cx.shape_of(x).to_vec();
    let out = cx.out_shape(node);
    let strides = cairn_ir::strides(&shape);
    let mut kept = shape.clone();
    axes.iter().for_each(|&a| kept[a] = 1);
    let kept_strides = cairn_ir::strides(&kept);
    let reduced: Vec<usize> = axes.iter().map(|&a| shape[a]).collect();
    let count: usize = reduced.iter().product();
    let n_out: usize = kept.iter().product();
    // taps[k][o]: the input that output `o` multiplies in at reduced position `k`.
    let mut taps = vec![vec![0i64; n_out]; count];
    let total: usize = shape.iter().product();
    for i in 0..total {
        let (mut o, mut k) = (0, 0);
        for (d, (&st, &ks)) in strides.iter().zip(&kept_strides).enumerate() {
            let c = (i / st) % shape[d];
            if axes.contains(&d) {
                k = k * shape[d] + c;
            } else {
                o += c * ks;
            }
        }
        taps[k][o] = i as i64;
    }
    if count == 0 {
        // The product of nothing is 1.
        let one = match cx.out_dtype(node) {
            cairn_ir::DType::F32 => Data::F32(vec![1.0; n_out]),
            _ => Data::Int(vec![1; n_out]),
        };
        let dtype = cx.out_dtype(node);
        let c = cx.graph.add_const(
            &format!("{}.one", node.name),
            TensorType::new(dtype, out.clone()),
            one,
        );
        return cx.emit(node, "", Op::Reshape, vec![c], out);
    }
    let mut acc: Option<ValueId> = None;
    for (k, indices) in taps.into_iter().enumerate() {
        let factor = cx.emit(
            node,
            &format!("factor{k}"),
            Op::Select { indices },
            vec![x],
            out.clone(),
        );
        acc = Some(match acc {
            None => factor,
            Some(a) => cx.emit(
                node,
                &format!("product{k}"),
                Op::Binary(BinaryOp::Mul),
                vec![a, factor],
                out.clone(),
            ),
        });
    }
    let acc = acc.unwrap_or(x);
    if count == 1 {
        cx.emit(node, "", Op::Reshape, vec![acc], out)
    } else {
        acc
    }
}

/// CumSum along `axis` as data movement and a sum: element `j` of the output sums the elements
/// `i` with `i ≤ j` (`i < j` exclusive; `≥`, `>` reversed), gathered into a new last axis with
/// zeros elsewhere, so it is exact for integers and floats alike.
fn cumsum(cx: &mut Ctx, node: &TypedNode, axis: usize, exclusive: bool, reverse: bool) -> ValueId {
    let x = cx.input(node, 0);
    let shape = cx.shape_of(x).to_vec();
    let n = shape[axis];
    let strides = cairn_ir::strides(&shape);
    let total: usize = shape.iter().product();
    let takes = |i: usize, j: usize| match (reverse, exclusive) {
        (false, false) => i <= j,
        (false, true) => i < j,
        (true, false) => i >= j,
        (true, true) => i > j,
    };
    let mut indices = Vec::with_capacity(total * n);
    for flat in 0..total {
        let j = (flat / strides[axis]) % n;
        let base = flat - j * strides[axis];
        for i in 0..n {
            indices.push(if takes(i, j) {
                (base + i * strides[axis]) as i64
            } else {
                -1
            });
        }
    }
    let rank = shape.len();
    let mut windows = shape.clone();
    windows.push(n);
    let w = cx.emit(node, "windows", Op::Select { indices }, vec![x], windows);
    let mut summed = shape.clone();
    summed.push(1);
    let sum = Op::Reduce {
        kind: ReduceKind::Sum,
        axes: vec![rank],
    };
    let s = cx.emit(node, "sums", sum, vec![w], summed);
    cx.emit(node, "", Op::Reshape, vec![s], shape)
}

/// `x` with the reduced `axes` moved last (a transpose when they are not already contiguous at
/// the end), and the now contiguous trailing axes. Reducing there and reshaping gives the same
/// values in the same order: the kept axes keep their relative order.
fn reduced_axes_last(
    cx: &mut Ctx,
    node: &TypedNode,
    x: ValueId,
    axes: &[usize],
) -> (ValueId, Vec<usize>) {
    let shape = cx.shape_of(x).to_vec();
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    if sorted.windows(2).all(|w| w[1] == w[0] + 1) {
        return (x, sorted);
    }
    let mut perm: Vec<usize> = (0..shape.len()).filter(|a| !sorted.contains(a)).collect();
    perm.extend(&sorted);
    let moved: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let first = shape.len() - sorted.len();
    let t = cx.emit(node, "axes_last", Op::Transpose { perm }, vec![x], moved);
    (t, (first..shape.len()).collect())
}

/// mean(x²) over `axes`, kept as size 1: a product, a sum and a product by 1/count.
fn mean_of_squares(
    cx: &mut Ctx,
    node: &TypedNode,
    x: ValueId,
    axes: &[usize],
) -> Result<ValueId, String> {
    let (x, axes) = reduced_axes_last(cx, node, x, axes);
    let shape = cx.shape_of(x).to_vec();
    let count: usize = axes.iter().map(|&a| shape[a]).product();
    let mut reduced = shape.clone();
    axes.iter().for_each(|&a| reduced[a] = 1);
    let sq = cx.emit(node, "square", Op::Binary(BinaryOp::Mul), vec![x, x], shape);
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
    Ok(cx.emit(
        node,
        "mean_of_squares",
        Op::Binary(BinaryOp::Mul),
        vec![sum, inv],
        reduced,
    ))
}
