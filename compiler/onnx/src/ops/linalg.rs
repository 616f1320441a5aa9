//! Matrix products. tract expresses Gemm and MatMul as `EinSum`; Cairn supports the forms with
//! a constant or a rank-2 runtime right-hand side: `x[.., k.., ..] · w[k.., n] → y[.., n, ..]` in any axis order, with
//! one or several contracted axes (tract folds a preceding Flatten into the product), which
//! covers Gemm (any transA/transB, alpha folded by tract) and MatMul by a weight matrix or
//! vector.

use cairn_ir::{transpose_index_map, Data, Op, TensorType, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::einsum::EinSum;

use crate::lower::Ctx;

pub fn lower(cx: &mut Ctx, node: &TypedNode) -> Result<Option<ValueId>, String> {
    let Some(op) = node.op_as::<EinSum>() else {
        return Ok(None);
    };
    if op.q_params.is_some() || node.inputs.len() != 2 {
        return Err("quantised or multi-operand einsum is not supported".into());
    }
    let (x_ix, w_ix) = match (
        cx.input_const(node, 0).is_some(),
        cx.input_const(node, 1).is_some(),
    ) {
        (false, true) | (false, false) => (0, 1),
        (true, false) => (1, 0),
        (true, true) => unreachable!("tract folds products of constants"),
    };
    let (x, w) = (cx.input(node, x_ix), cx.input(node, w_ix));
    let x_rank = cx.shape_of(x).len();
    let w_shape = cx.shape_of(w).to_vec();

    // Classify every axis by where it appears: contracted (k), weight-only (n), input-only (m).
    // Axes of size 1 elsewhere only reshape (tract adds and drops them freely).
    let out_shape = cx.out_shape(node);
    let (mut k, mut n, mut m) = (Vec::new(), None, Vec::new());
    // Axes in both operands and the output: a batch of products (runtime operands only).
    let mut batch = Vec::new();
    let w_runtime = cx.graph.const_data(w).is_none();
    for axis in op.axes.iter_all_axes() {
        let pos = |v: &TVec<usize>| v.first().copied();
        let (in_x, in_w, in_o) = (
            pos(&axis.inputs[x_ix]),
            pos(&axis.inputs[w_ix]),
            pos(&axis.outputs[0]),
        );
        if axis.inputs[x_ix].len() > 1 || axis.inputs[w_ix].len() > 1 {
            return Err(format!(
                "repeated axis '{}' (a diagonal) is not supported",
                axis.repr
            ));
        }
        let dim = in_w
            .map(|p| w_shape[p])
            .or(in_o.map(|p| out_shape[p]))
            .unwrap_or(1);
        match (in_x, in_w, in_o) {
            (Some(px), Some(pw), None) => k.push((px, pw)),
            (Some(px), Some(pw), Some(po)) if w_runtime => {
                let (dx, dw) = (cx.shape_of(x)[px], w_shape[pw]);
                if dx != dw && dx != 1 && dw != 1 {
                    return Err(format!(
                        "batch axis '{}' has sizes {dx} and {dw}, which do not broadcast",
                        axis.repr
                    ));
                }
                batch.push((po, px, pw));
            }
            _ if dim == 1 && !(in_x.is_some() && in_w.is_some()) => {}
            (None, Some(pw), Some(po)) if n.is_none() => n = Some((pw, po)),
            (Some(px), None, Some(po)) => m.push((px, po)),
            _ => {
                return Err(format!(
                    "einsum {} has an axis layout Cairn does not support yet",
                    op.axes
                ))
            }
        }
    }
    if k.is_empty() {
        return Err(format!("einsum {} contracts no axis", op.axes));
    }
    if !batch.is_empty() {
        return batched(cx, node, (x, w), batch, k, n, m).map(Some);
    }
    k.sort();
    let kdims: Vec<usize> = k.iter().map(|&(_, pw)| w_shape[pw]).collect();
    let kdim: usize = kdims.iter().product();

    // x with the contracted axes last (in x's order), merged into one.
    let mut x_perm: Vec<usize> = (0..x_rank)
        .filter(|a| !k.iter().any(|&(px, _)| px == *a))
        .collect();
    let n_free = x_perm.len();
    x_perm.extend(k.iter().map(|&(px, _)| px));
    let x = transpose(cx, node, "lhs_t", x, &x_perm);
    let mut x_shape = cx.shape_of(x)[..n_free].to_vec();
    x_shape.push(kdim);
    let x = if cx.shape_of(x) == x_shape.as_slice() {
        x
    } else {
        cx.emit(node, "lhs_flat", Op::Reshape, vec![x], x_shape)
    };

    // The weight as a [k, n] matrix, k enumerated in the same order.
    let ndim = n.map(|(pw, _)| w_shape[pw]).unwrap_or(1);
    let w_mat = match cx.graph.const_data(w) {
        Some(Data::F32(w_data)) => {
            let strides = cairn_ir::strides(&w_shape);
            let k_offsets: Vec<usize> = (0..kdim)
                .map(|flat| {
                    let mut rest = flat;
                    let mut offset = 0;
                    for (i, &(_, pw)) in k.iter().enumerate().rev() {
                        offset += (rest % kdims[i]) * strides[pw];
                        rest /= kdims[i];
                    }
                    offset
                })
                .collect();
            let n_stride = n.map(|(pw, _)| strides[pw]).unwrap_or(0);
            let w_mat = (0..kdim * ndim)
                .map(|f| w_data[k_offsets[f / ndim] + (f % ndim) * n_stride])
                .collect();
            let ty = TensorType::f32(vec![kdim, ndim]);
            cx.graph
                .add_const(&format!("{}.weight", node.name), ty, Data::F32(w_mat))
        }
        Some(Data::Int(_)) => return Err("the constant operand must be a float tensor".into()),
        // A runtime right-hand side: its axes permuted to [size-1 axes.., k.., n], then
        // flattened to [k, n].
        None => {
            let is_kn =
                |a: usize| k.iter().any(|&(_, pw)| pw == a) || n.map(|(pw, _)| pw) == Some(a);
            let mut perm: Vec<usize> = (0..w_shape.len()).filter(|&a| !is_kn(a)).collect();
            perm.extend(k.iter().map(|&(_, pw)| pw));
            perm.extend(n.map(|(pw, _)| pw));
            let wt = transpose(cx, node, "rhs_t", w, &perm);
            if cx.shape_of(wt) == [kdim, ndim] {
                wt
            } else {
                cx.emit(node, "rhs_flat", Op::Reshape, vec![wt], vec![kdim, ndim])
            }
        }
    };

    // The product, in the order [free x axes in x order.., n].
    let mut mm_shape = cx.shape_of(x)[..n_free].to_vec();
    mm_shape.push(ndim);
    let y = cx.emit(node, "matmul", Op::MatMul, vec![x, w_mat], mm_shape);

    // Back to the einsum's output order (axes absent from the output, such as the n of a
    // matrix-vector product, go last and a final reshape drops them).
    let out_pos = |a: usize| {
        m.iter()
            .find(|(px, _)| *px == a)
            .map(|(_, po)| *po)
            .unwrap_or(usize::MAX)
    };
    let mut order: Vec<(usize, usize)> = x_perm[..n_free]
        .iter()
        .enumerate()
        .map(|(i, &a)| (out_pos(a), i))
        .collect();
    order.push((n.map(|(_, po)| po).unwrap_or(usize::MAX), n_free));
    order.sort();
    let perm: Vec<usize> = order.iter().map(|&(_, i)| i).collect();
    let y = transpose(cx, node, "out_t", y, &perm);
    if cx.shape_of(y) != out_shape.as_slice() {
        return Ok(Some(cx.emit(node, "", Op::Reshape, vec![y], out_shape)));
    }
    Ok(Some(y))
}

/// A transpose node, or the value itself for the identity permutation. Constants are permuted
/// at compile time.
fn transpose(cx: &mut Ctx, node: &TypedNode, suffix: &str, v: ValueId, perm: &[usize]) -> ValueId {
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return v;
    }
    let shape = cx.shape_of(v).to_vec();
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    // Moving only axes of size 1 keeps the data in order: a reshape.
    let moved: Vec<usize> = perm.iter().copied().filter(|&p| shape[p] != 1).collect();
    if moved.windows(2).all(|w| w[0] < w[1]) {
        return cx.emit(node, suffix, Op::Reshape, vec![v], out_shape);
    }
    if let Some(Data::F32(d)) = cx.graph.const_data(v) {
        let data = transpose_index_map(&shape, perm)
            .iter()
            .map(|&i| d[i])
            .collect();
        let name = format!("{}.{suffix}", node.name);
        return cx
            .graph
            .add_const(&name, TensorType::f32(out_shape), Data::F32(data));
    }
    cx.emit(
        node,
        suffix,
        Op::Transpose {
            perm: perm.to_vec(),
        },
        vec![v],
        out_shape,
    )
}

/// A batch of products of runtime operands (attention's `Q·Kᵀ`, `A·V`; batched MatMul):
/// x as `[B, M, K]`, w as `[B, K, N]`, one `MatMul`, then the output's axis order.
fn batched(
    cx: &mut Ctx,
    node: &TypedNode,
    (x, w): (ValueId, ValueId),
    mut batch: Vec<(usize, usize, usize)>,
    k: Vec<(usize, usize)>,
    n: Option<(usize, usize)>,
    mut m: Vec<(usize, usize)>,
) -> Result<ValueId, String> {
    batch.sort();
    m.sort_by_key(|&(_, po)| po);
    // Broadcast batch axes (size 1 against B) are expanded first.
    let (mut x_full, mut w_full) = (cx.shape_of(x).to_vec(), cx.shape_of(w).to_vec());
    for &(_, px, pw) in &batch {
        let d = x_full[px].max(w_full[pw]);
        x_full[px] = d;
        w_full[pw] = d;
    }
    let expand = |cx: &mut Ctx, v: ValueId, full: Vec<usize>, suffix: &str| {
        if cx.shape_of(v) == full.as_slice() {
            return v;
        }
        let indices = cairn_ir::broadcast_index_map(cx.shape_of(v), &full)
            .into_iter()
            .map(|i| i as i64)
            .collect();
        cx.emit(node, suffix, Op::Select { indices }, vec![v], full)
    };
    let x = expand(cx, x, x_full, "lhs_broadcast");
    let w = expand(cx, w, w_full, "rhs_broadcast");
    let (x_shape, w_shape) = (cx.shape_of(x).to_vec(), cx.shape_of(w).to_vec());
    let bdim: usize = batch.iter().map(|&(_, px, _)| x_shape[px]).product();
    let mdim: usize = m.iter().map(|&(px, _)| x_shape[px]).product();
    let kdim: usize = k.iter().map(|&(px, _)| x_shape[px]).product();
    let ndim = n.map(|(pw, _)| w_shape[pw]).unwrap_or(1);
    // x: [batch.., m.., k..], its size-1 leftovers first.
    let listed: Vec<usize> = batch
        .iter()
        .map(|&(_, px, _)| px)
        .chain(m.iter().map(|&(px, _)| px))
        .chain(k.iter().map(|&(px, _)| px))
        .collect();
    let mut x_perm: Vec<usize> = (0..x_shape.len()).filter(|a| !listed.contains(a)).collect();
    x_perm.extend(&listed);
    let xt = transpose(cx, node, "lhs_t", x, &x_perm);
    let x3 = cx.emit(
        node,
        "lhs_3d",
        Op::Reshape,
        vec![xt],
        vec![bdim, mdim, kdim],
    );
    // w: [batch.., k.., n], its size-1 leftovers first.
    let listed: Vec<usize> = batch
        .iter()
        .map(|&(_, _, pw)| pw)
        .chain(k.iter().map(|&(_, pw)| pw))
        .chain(n.map(|(pw, _)| pw))
        .collect();
    let mut w_perm: Vec<usize> = (0..w_shape.len()).filter(|a| !listed.contains(a)).collect();
    w_perm.extend(&listed);
    let wt = transpose(cx, node, "rhs_t", w, &w_perm);
    let w3 = cx.emit(
        node,
        "rhs_3d",
        Op::Reshape,
        vec![wt],
        vec![bdim, kdim, ndim],
    );
    let y = cx.emit(
        node,
        "matmul",
        Op::MatMul,
        vec![x3, w3],
        vec![bdim, mdim, ndim],
    );
    // [batch.., m.., n] in the output's order.
    let mut dims: Vec<(usize, usize)> = batch
        .iter()
        .map(|&(po, px, _)| (po, x_shape[px]))
        .chain(m.iter().map(|&(px, po)| (po, x_shape[px])))
        .collect();
    dims.push((n.map(|(_, po)| po).unwrap_or(usize::MAX), ndim));
    let full: Vec<usize> = dims.iter().map(|&(_, d)| d).collect();
    let y = cx.emit(node, "unflat", Op::Reshape, vec![y], full);
    let mut order: Vec<(usize, usize)> = dims
        .iter()
        .enumerate()
        .map(|(i, &(po, _))| (po, i))
        .collect();
    order.sort();
    let perm: Vec<usize> = order.iter().map(|&(_, i)| i).collect();
    let y = transpose(cx, node, "out_t", y, &perm);
    let out_shape = cx.out_shape(node);
    if cx.shape_of(y) != out_shape.as_slice() {
        return Ok(cx.emit(node, "", Op::Reshape, vec![y], out_shape));
    }
    Ok(y)
}
