//! Convolutions and pooling, 1-D to 3-D, NCHW. tract resolves the ONNX attributes (defaults,
//! `auto_pad`, asymmetric pads, strides, dilations, `ceil_mode`), so the geometry is tract's.
//!
//! - MaxPool: a `Select` gathers each window (positions in the padding repeat a position of the
//!   same window, so they never win), then a max over the window.
//! - AveragePool: a `Select` gathers each window (zeros in the padding), a sum over it, then a
//!   product by 1/count per window, the count including the pads or not (`count_include_pad`).
//! - Conv, lowered as im2col: a `Select` gathers each output position's patch (zeros where it
//!   overlaps the padding), a product by the weight matrix (block-diagonal for grouped and
//!   depthwise convolutions; constant weights are laid out at compile time, runtime ones by
//!   another `Select`) computes every output channel, the bias is added, and a transpose
//!   restores the NCHW layout.

use cairn_ir::{BinaryOp, Data, Op, ReduceKind, TensorType, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{
    Conv, KernelFormat, MaxPool, PaddingSpec, PoolSpec, SumPool,
};
use tract_onnx::tract_core::ops::nn::DataFormat;

use crate::lower::Ctx;

pub fn lower(cx: &mut Ctx, node: &TypedNode) -> Result<Option<ValueId>, String> {
    if let Some(pool) = node.op_as::<MaxPool>() {
        if pool.with_index_outputs.is_some() {
            return Err("MaxPool's Indices output is not supported".into());
        }
        return pool_lower(cx, node, &pool.pool_spec, Pool::Max).map(Some);
    }
    if let Some(pool) = node.op_as::<SumPool>() {
        let kind = match (pool.normalize, pool.count_include_pad) {
            (false, _) => Pool::Sum,
            (true, include_pad) => Pool::Average { include_pad },
        };
        return pool_lower(cx, node, &pool.pool_spec, kind).map(Some);
    }
    let Some(conv) = node.op_as::<Conv>() else {
        return Ok(None);
    };
    if conv.q_params.is_some() {
        return Err("quantised convolutions are not supported".into());
    }
    if conv.kernel_fmt != KernelFormat::OIHW {
        return Err(format!(
            "kernel format {:?} is not supported",
            conv.kernel_fmt
        ));
    }
    let x = cx.input(node, 0);
    let x_shape = batched_shape(cx.shape_of(x), conv.pool_spec.data_format)?;
    let w_const = match cx.input_const(node, 1) {
        Some(Data::F32(w)) => Some(w.clone()),
        _ => None,
    };
    let bias = (node.inputs.len() > 2).then(|| cx.input(node, 2));
    let (n, c, spatial) = (x_shape[0], x_shape[1], &x_shape[2..]);
    let kernel: Vec<usize> = conv.pool_spec.kernel_shape.to_vec();
    let o = conv.pool_spec.output_channels;
    let group = conv.group.max(1);
    if c % group != 0 || o % group != 0 || kernel.len() != spatial.len() {
        return Err(format!(
            "inconsistent convolution: {c} input and {o} output channels in {group} groups, \
             kernel {kernel:?} over {spatial:?}"
        ));
    }
    let pads = conv.pool_spec.computed_padding(spatial);
    let strides = conv.pool_spec.strides();
    let dilations = conv.pool_spec.dilations();
    let out_spatial: Vec<usize> = pads.iter().map(|p| p.convoluted).collect();
    let positions: usize = out_spatial.iter().product();
    let taps: usize = kernel.iter().product();
    let rows = n * positions;
    let cols = c * taps;

    // im2col: row (batch, output position), column (channel, kernel position).
    let in_strides = cairn_ir::strides(&x_shape);
    let mut indices = Vec::with_capacity(rows * cols);
    for b in 0..n {
        for pos in 0..positions {
            let out_ix = unravel(pos, &out_spatial);
            for ch in 0..c {
                for tap in 0..taps {
                    let k_ix = unravel(tap, &kernel);
                    let mut flat = (b * in_strides[0] + ch * in_strides[1]) as i64;
                    for d in 0..spatial.len() {
                        let at = (out_ix[d] * strides[d] + k_ix[d] * dilations[d]) as i64
                            - pads[d].pad_before as i64;
                        if at < 0 || at >= spatial[d] as i64 {
                            flat = -1;
                            break;
                        }
                        flat += at * in_strides[d + 2] as i64;
                    }
                    indices.push(flat);
                }
            }
        }
    }
    let patches = cx.emit(
        node,
        "patches",
        Op::Select { indices },
        vec![x],
        vec![rows, cols],
    );

    // W[o, c/g, taps] as a [c·taps, o] matrix, zero across groups: element (ch·taps + tap, oc)
    // is W[oc, ch − g·c/g, tap] for the group g of oc.
    let (cg, og) = (c / group, o / group);
    let mut w_index = vec![-1i64; cols * o];
    for oc in 0..o {
        let g = oc / og;
        for cl in 0..cg {
            let ch = g * cg + cl;
            for tap in 0..taps {
                w_index[(ch * taps + tap) * o + oc] = ((oc * cg + cl) * taps + tap) as i64;
            }
        }
    }
    let wname = format!("{}.weights", node.name);
    let wv = match w_const {
        Some(w) => {
            let wm = w_index
                .iter()
                .map(|&i| if i < 0 { 0.0 } else { w[i as usize] })
                .collect();
            cx.graph
                .add_const(&wname, TensorType::f32(vec![cols, o]), Data::F32(wm))
        }
        // Runtime weights: the same matrix, gathered at run time.
        None => {
            let w = cx.input(node, 1);
            cx.emit(
                node,
                "weights",
                Op::Select { indices: w_index },
                vec![w],
                vec![cols, o],
            )
        }
    };
    let mut y = cx.emit(node, "matmul", Op::MatMul, vec![patches, wv], vec![rows, o]);
    if let Some(b) = bias {
        // tract passes a scalar zero when the model has no bias.
        let zero =
            matches!(cx.graph.const_data(b), Some(Data::F32(d)) if d.iter().all(|&v| v == 0.0));
        let len: usize = cx.shape_of(b).iter().product();
        if !zero {
            let b = match len {
                // A scalar broadcasts as it is.
                1 => b,
                _ if len == o && cx.shape_of(b) == [o] => b,
                _ if len == o => cx.emit(node, "bias", Op::Reshape, vec![b], vec![o]),
                _ => {
                    return Err(format!(
                        "bias of shape {:?} for {o} channels",
                        cx.shape_of(b)
                    ))
                }
            };
            y = cx.emit(
                node,
                "biased",
                Op::Binary(BinaryOp::Add),
                vec![y, b],
                vec![rows, o],
            );
        }
    }
    // [n, positions, o] → [n, o, positions] → [n, o, out_spatial...].
    let y = cx.emit(node, "rows", Op::Reshape, vec![y], vec![n, positions, o]);
    let y = if positions > 1 && o > 1 {
        cx.emit(
            node,
            "nchw",
            Op::Transpose {
                perm: vec![0, 2, 1],
            },
            vec![y],
            vec![n, o, positions],
        )
    } else {
        y
    };
    Ok(Some(cx.emit(
        node,
        "",
        Op::Reshape,
        vec![y],
        cx.out_shape(node),
    )))
}

/// The input's shape as `[n, c, spatial..]`. tract drops a batch axis of 1 from a decluttered
/// convolution or pool (data format CHW: a MobileNet-style block exported for one image); the
/// flat layout is the same, so it is batch 1.
fn batched_shape(shape: &[usize], format: DataFormat) -> Result<Vec<usize>, String> {
    match format {
        DataFormat::NCHW => Ok(shape.to_vec()),
        DataFormat::CHW => Ok([&[1], shape].concat()),
        DataFormat::NHWC | DataFormat::HWC => Err(format!(
            "data format {format:?} is not supported (ONNX convolutions and pools are \
             channels-first)"
        )),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Pool {
    Max,
    Sum,
    Average { include_pad: bool },
}

fn pool_lower(
    cx: &mut Ctx,
    node: &TypedNode,
    spec: &PoolSpec,
    kind: Pool,
) -> Result<ValueId, String> {
    let x = cx.input(node, 0);
    let x_shape = batched_shape(cx.shape_of(x), spec.data_format)?;
    let (n, c, spatial) = (x_shape[0], x_shape[1], &x_shape[2..]);
    let kernel: Vec<usize> = spec.kernel_shape.to_vec();
    if kernel.len() != spatial.len() {
        return Err(format!("kernel {kernel:?} over {spatial:?}"));
    }
    let pads = spec.computed_padding(spatial);
    let strides = spec.strides();
    let dilations = spec.dilations();
    // The pads as the model gives them (ceil_mode may extend windows past them: those
    // positions count for no divisor).
    let pads_after: Vec<usize> = match &spec.padding {
        PaddingSpec::ExplicitOnnxPool(_, after, _) | PaddingSpec::Explicit(_, after) => {
            after.to_vec()
        }
        _ => pads.iter().map(|p| p.pad_after).collect(),
    };
    let out_spatial: Vec<usize> = pads.iter().map(|p| p.convoluted).collect();
    let positions: usize = out_spatial.iter().product();
    let taps: usize = kernel.iter().product();
    let rows = n * c * positions;
    let in_strides = cairn_ir::strides(&x_shape);
    let mut indices = Vec::with_capacity(rows * taps);
    let mut scale = Vec::with_capacity(rows);
    for nc in 0..n * c {
        for pos in 0..positions {
            let out_ix = unravel(pos, &out_spatial);
            let (mut window, mut inside_pads) = (Vec::with_capacity(taps), 0usize);
            for tap in 0..taps {
                let k_ix = unravel(tap, &kernel);
                let mut flat = (nc * in_strides[1]) as i64;
                let mut in_pads = true;
                for d in 0..spatial.len() {
                    let at = (out_ix[d] * strides[d] + k_ix[d] * dilations[d]) as i64
                        - pads[d].pad_before as i64;
                    in_pads &= at >= -(pads[d].pad_before as i64)
                        && at < (spatial[d] + pads_after[d]) as i64;
                    if flat >= 0 && (at < 0 || at >= spatial[d] as i64) {
                        flat = -1;
                    } else if flat >= 0 {
                        flat += at * in_strides[d + 2] as i64;
                    }
                }
                inside_pads += usize::from(in_pads);
                window.push(flat);
            }
            let valid = window.iter().filter(|&&i| i >= 0).count();
            let Some(&first) = window.iter().find(|&&i| i >= 0) else {
                return Err("a pooling window lies entirely in the padding".into());
            };
            if kind == Pool::Max {
                window
                    .iter_mut()
                    .filter(|i| **i < 0)
                    .for_each(|i| *i = first);
            }
            indices.extend(window);
            scale.push(match kind {
                Pool::Average { include_pad: true } => 1.0 / inside_pads as f32,
                Pool::Average { include_pad: false } => 1.0 / valid as f32,
                _ => 1.0,
            });
        }
    }
    let windows = cx.emit(
        node,
        "windows",
        Op::Select { indices },
        vec![x],
        vec![rows, taps],
    );
    let reduce = match kind {
        Pool::Max => ReduceKind::Max,
        _ => ReduceKind::Sum,
    };
    let mut y = cx.emit(
        node,
        "pooled",
        Op::Reduce {
            kind: reduce,
            axes: vec![1],
        },
        vec![windows],
        vec![rows, 1],
    );
    if matches!(kind, Pool::Average { .. }) {
        let name = format!("{}.divisors", node.name);
        let s = cx
            .graph
            .add_const(&name, TensorType::f32(vec![rows, 1]), Data::F32(scale));
        y = cx.emit(
            node,
            "average",
            Op::Binary(BinaryOp::Mul),
            vec![y, s],
            vec![rows, 1],
        );
    }
    Ok(cx.emit(node, "", Op::Reshape, vec![y], cx.out_shape(node)))
}

/// The multi-index of `flat` in a row-major tensor of shape `dims`.
fn unravel(mut flat: usize, dims: &[usize]) -> Vec<usize> {
    let mut ix = vec![0; dims.len()];
    for d in (0..dims.len()).rev() {
        ix[d] = flat % dims[d];
        flat /= dims[d];
    }
    ix
}
