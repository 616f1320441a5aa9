//! Convolutions (ONNX `Conv`, 1-D to 3-D, NCHW), lowered as im2col: a `Select` gathers each
//! output position's patch (zeros where it overlaps the padding), a product by the weight matrix
//! (block-diagonal for grouped and depthwise convolutions; constant weights are laid out at
//! compile time, runtime ones by another `Select`) computes every output channel, the bias is
//! added, and a transpose restores the NCHW layout. tract
//! resolves the ONNX attributes (defaults, `auto_pad`, asymmetric pads, strides, dilations), so
//! the geometry here is tract's.

use cairn_ir::{Data, Op, TensorType, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_onnx::tract_core::ops::nn::DataFormat;

use crate::lower::Ctx;

pub fn lower(cx: &mut Ctx, node: &TypedNode) -> Result<Option<ValueId>, String> {
    let Some(conv) = node.op_as::<Conv>() else {
        return Ok(None);
    };
    if conv.q_params.is_some() {
        return Err("quantised convolutions are not supported".into());
    }
    if conv.pool_spec.data_format != DataFormat::NCHW {
        return Err(format!(
            "data format {:?} is not supported (ONNX convolutions are NCHW)",
            conv.pool_spec.data_format
        ));
    }
    if conv.kernel_fmt != KernelFormat::OIHW {
        return Err(format!(
            "kernel format {:?} is not supported",
            conv.kernel_fmt
        ));
    }
    let x = cx.input(node, 0);
    let x_shape = cx.shape_of(x).to_vec();
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
            y = cx.emit(node, "biased", Op::Add, vec![y, b], vec![rows, o]);
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

/// The multi-index of `flat` in a row-major tensor of shape `dims`.
fn unravel(mut flat: usize, dims: &[usize]) -> Vec<usize> {
    let mut ix = vec![0; dims.len()];
    for d in (0..dims.len()).rev() {
        ix[d] = flat % dims[d];
        flat /= dims[d];
    }
    ix
}
