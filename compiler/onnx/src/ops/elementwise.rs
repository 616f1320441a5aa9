//! Element-wise ops: binary arithmetic with broadcasting, comparisons and boolean logic, Where,
//! Cast, ReLU (tract's `max(x, 0)`), and the activations with a fixed-point approximation.
//!
//! Booleans are 0 and 1, so their logic is arithmetic: And is a minimum, Or a maximum, Xor
//! `|a - b|` and Not `1 - x`.

use cairn_ir::{broadcast_shapes, CmpKind, DType, Data, Op, TensorType, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::nn::{Softmax, SoftmaxKind};

use crate::lower::Ctx;

pub fn lower(cx: &mut Ctx, node: &TypedNode) -> Result<Option<ValueId>, String> {
    if let Some(op) = node.op_as::<TypedBinOp>() {
        return binary(cx, node, op.0.name()).map(Some);
    }
    if node.op.name() == "Iff" {
        let (c, a, b) = (cx.input(node, 0), cx.input(node, 1), cx.input(node, 2));
        let shape = cx.out_shape(node);
        return Ok(Some(cx.emit(node, "", Op::Where, vec![c, a, b], shape)));
    }
    if let Some(cast) = node.op_as::<Cast>() {
        let to = crate::lower::dtype_of(cast.to)
            .ok_or_else(|| format!("cast to {:?} is not supported", cast.to))?;
        let x = cx.input(node, 0);
        let shape = cx.out_shape(node);
        return Ok(Some(cx.emit(node, "", Op::Cast { to }, vec![x], shape)));
    }
    if let Some(op) = node.op_as::<Softmax>() {
        if op.kind != SoftmaxKind::Softmax || op.quant_output_dt.is_some() {
            return Err(format!("{} is not supported yet", node.op.name()));
        }
        let axes = super::contiguous_axes(&op.axes, "softmax")?;
        let x = cx.input(node, 0);
        let shape = cx.shape_of(x).to_vec();
        return Ok(Some(cx.emit(
            node,
            "",
            Op::Softmax { axes },
            vec![x],
            shape,
        )));
    }
    if let Some(op) = node.op_as::<ElementWiseOp>() {
        let ir = match op.0.name().as_str() {
            "Sigmoid" => Op::Sigmoid,
            "Tanh" => Op::Tanh,
            "Erf" => Op::Erf,
            "Exp" => Op::Exp,
            "Ln" => Op::Log,
            "Sqrt" => Op::Sqrt,
            "Square" => {
                let x = cx.input(node, 0);
                let shape = cx.shape_of(x).to_vec();
                return Ok(Some(cx.emit(node, "", Op::Mul, vec![x, x], shape)));
            }
            "Rsqrt" => {
                let x = cx.input(node, 0);
                let shape = cx.shape_of(x).to_vec();
                let root = cx.emit(node, "sqrt", Op::Sqrt, vec![x], shape.clone());
                let one = f32_scalar(cx, node, "one", 1.0);
                return Ok(Some(cx.emit(node, "", Op::Div, vec![one, root], shape)));
            }
            "PowConst" => {
                let e =
                    op.0.downcast_ref::<tract_onnx::tract_core::ops::math::PowConst>()
                        .map(|p| p.exponent)
                        .ok_or("Pow without its exponent")?;
                return pow_const(cx, node, e).map(Some);
            }
            // tract fuses erf-GELU into one op; Cairn computes it from its parts.
            "GeluExact" => return Ok(Some(gelu(cx, node))),
            "Neg" => Op::Neg,
            "Abs" => Op::Abs,
            // 1 / x, a fixed-point division.
            "Recip" => {
                let x = cx.input(node, 0);
                let shape = cx.shape_of(x).to_vec();
                let one = f32_scalar(cx, node, "one", 1.0);
                return Ok(Some(cx.emit(node, "", Op::Div, vec![one, x], shape)));
            }
            "Not" => {
                let x = cx.input(node, 0);
                let shape = cx.shape_of(x).to_vec();
                let one = bool_one(cx, node);
                return Ok(Some(cx.emit(node, "", Op::Sub, vec![one, x], shape)));
            }
            "LeakyRelu" => match op
                .0
                .downcast_ref::<tract_onnx::tract_core::ops::nn::LeakyRelu>()
            {
                Some(l) => Op::LeakyRelu { alpha: l.alpha },
                None => return Err("LeakyRelu without its slope".into()),
            },
            other => return Err(format!("element-wise {other} is not supported yet")),
        };
        let x = cx.input(node, 0);
        let shape = cx.shape_of(x).to_vec();
        return Ok(Some(cx.emit(node, "", ir, vec![x], shape)));
    }
    Ok(None)
}

fn binary(cx: &mut Ctx, node: &TypedNode, name: &str) -> Result<ValueId, String> {
    let (a, b) = (cx.input(node, 0), cx.input(node, 1));
    let shape = broadcast_shapes(cx.shape_of(a), cx.shape_of(b)).ok_or_else(|| {
        format!(
            "shapes {:?} and {:?} do not broadcast",
            cx.shape_of(a),
            cx.shape_of(b)
        )
    })?;
    if name == "Pow" {
        return pow_runtime(cx, node, a, b, shape);
    }
    let all_zero = |v: ValueId| matches!(cx.graph.const_data(v), Some(Data::F32(d)) if d.iter().all(|&x| x == 0.0));
    let op = match name {
        "Add" => Op::Add,
        "Sub" => Op::Sub,
        "Mul" => Op::Mul,
        // ONNX Relu reaches us as max(x, 0).
        "Max" if all_zero(b) && cx.shape_of(a) == shape.as_slice() => {
            return Ok(cx.emit(node, "", Op::Relu, vec![a], shape));
        }
        "Max" if all_zero(a) && cx.shape_of(b) == shape.as_slice() => {
            return Ok(cx.emit(node, "", Op::Relu, vec![b], shape));
        }
        // Clip and ONNX Max/Min reach us as binary max/min.
        "Max" => Op::Max,
        "Min" => Op::Min,
        // Division of floats by a constant is a product by its reciprocal.
        "Div" => match cx.graph.const_data(b) {
            Some(Data::F32(d)) => {
                let recip = d.iter().map(|x| 1.0 / x).collect();
                let ty = TensorType::f32(cx.shape_of(b).to_vec());
                let r =
                    cx.graph
                        .add_const(&format!("{}.reciprocal", node.name), ty, Data::F32(recip));
                return Ok(cx.emit(node, "", Op::Mul, vec![a, r], shape));
            }
            _ => Op::Div,
        },
        // tract's flipped subtraction: b - a.
        "SubF" => return Ok(cx.emit(node, "", Op::Sub, vec![b, a], shape)),
        "Eq" => Op::Compare {
            kind: CmpKind::Equal,
        },
        "LT" => Op::Compare {
            kind: CmpKind::Less,
        },
        "LTE" => Op::Compare {
            kind: CmpKind::LessOrEqual,
        },
        "GT" => Op::Compare {
            kind: CmpKind::Greater,
        },
        "GTE" => Op::Compare {
            kind: CmpKind::GreaterOrEqual,
        },
        "NE" => {
            let eq = Op::Compare {
                kind: CmpKind::Equal,
            };
            let e = cx.emit(node, "equal", eq, vec![a, b], shape.clone());
            let one = bool_one(cx, node);
            return Ok(cx.emit(node, "", Op::Sub, vec![one, e], shape));
        }
        "And" => Op::Min,
        "Or" => Op::Max,
        "Xor" => {
            let d = cx.emit(node, "difference", Op::Sub, vec![a, b], shape.clone());
            return Ok(cx.emit(node, "", Op::Abs, vec![d], shape));
        }
        other => return Err(format!("binary {other} is not supported yet")),
    };
    Ok(cx.emit(node, "", op, vec![a, b], shape))
}

fn f32_scalar(cx: &mut Ctx, node: &TypedNode, suffix: &str, v: f32) -> ValueId {
    cx.graph.add_const(
        &format!("{}.{suffix}", node.name),
        TensorType::f32(vec![]),
        Data::F32(vec![v]),
    )
}

/// `x^e` for a constant exponent: products for integers (a reciprocal for negative ones), √
/// for halves. Other exponents need a logarithm, which Cairn does not have yet.
fn pow_const(cx: &mut Ctx, node: &TypedNode, e: f32) -> Result<ValueId, String> {
    let x = cx.input(node, 0);
    let shape = cx.shape_of(x).to_vec();
    let (base, n) = if e.fract() == 0.0 {
        (x, e.abs() as u32)
    } else if (e * 2.0).fract() == 0.0 {
        let root = cx.emit(node, "sqrt", Op::Sqrt, vec![x], shape.clone());
        (root, (e.abs() * 2.0) as u32)
    } else {
        // Any other exponent: e^(c · ln x), for x > 0.
        let c = f32_scalar(cx, node, "exponent", e);
        return pow_runtime(cx, node, x, c, shape);
    };
    if n > 16 {
        return Err(format!(
            "Pow with exponent {e}: exponents above 16 are not supported"
        ));
    }
    // Square-and-multiply on the base.
    let mut acc: Option<ValueId> = None;
    let mut square = base;
    let mut k = n;
    let mut step = 0;
    while k > 0 {
        if k & 1 == 1 {
            acc = Some(match acc {
                None => square,
                Some(a) => {
                    step += 1;
                    cx.emit(
                        node,
                        &format!("p{step}"),
                        Op::Mul,
                        vec![a, square],
                        shape.clone(),
                    )
                }
            });
        }
        k >>= 1;
        if k > 0 {
            step += 1;
            square = cx.emit(
                node,
                &format!("p{step}"),
                Op::Mul,
                vec![square, square],
                shape.clone(),
            );
        }
    }
    let positive = match acc {
        Some(a) => a,
        None => f32_scalar(cx, node, "one", 1.0),
    };
    let out = if e < 0.0 {
        let one = f32_scalar(cx, node, "one", 1.0);
        cx.emit(node, "", Op::Div, vec![one, positive], shape)
    } else {
        cx.emit(node, "", Op::Reshape, vec![positive], shape)
    };
    Ok(out)
}

/// `x^y = e^(y · ln x)` for `x > 0` (ln fails otherwise). Integer operands are computed as
/// floats; an integer result is rounded to nearest (exact while the float error stays
/// below 1/2).
fn pow_runtime(
    cx: &mut Ctx,
    node: &TypedNode,
    x: ValueId,
    y: ValueId,
    shape: Vec<usize>,
) -> Result<ValueId, String> {
    let as_float = |cx: &mut Ctx, v: ValueId, suffix: &str| {
        if cx.graph.values[v].ty.dtype == DType::F32 {
            return v;
        }
        let s = cx.shape_of(v).to_vec();
        let name = format!("{}.{suffix}", node.name);
        cx.graph.add_node(
            &node.name,
            Op::Cast { to: DType::F32 },
            vec![v],
            &name,
            TensorType::f32(s),
        )
    };
    let xf = as_float(cx, x, "base_f32");
    let yf = as_float(cx, y, "exponent_f32");
    let f = |cx: &mut Ctx, suffix: &str, op: Op, inputs: Vec<ValueId>, s: Vec<usize>| {
        let name = format!("{}.{suffix}", node.name);
        cx.graph
            .add_node(&node.name, op, inputs, &name, TensorType::f32(s))
    };
    let ln = f(cx, "ln", Op::Log, vec![xf], cx.shape_of(xf).to_vec());
    let prod = f(cx, "product", Op::Mul, vec![yf, ln], shape.clone());
    let out_dtype = cx.out_dtype(node);
    if out_dtype == DType::F32 {
        return Ok(cx.emit(node, "", Op::Exp, vec![prod], shape));
    }
    let p = f(cx, "power", Op::Exp, vec![prod], shape.clone());
    let half = f32_scalar(cx, node, "half", 0.5);
    let rounded = f(cx, "rounded", Op::Add, vec![p, half], shape.clone());
    Ok(cx.emit(node, "", Op::Cast { to: out_dtype }, vec![rounded], shape))
}

/// The boolean constant 1 (for Not and NE).
fn bool_one(cx: &mut Ctx, node: &TypedNode) -> ValueId {
    cx.graph.add_const(
        &format!("{}.true", node.name),
        TensorType::new(DType::Bool, vec![]),
        Data::Int(vec![1]),
    )
}

/// `0.5 · x · (1 + erf(x / √2))`.
fn gelu(cx: &mut Ctx, node: &TypedNode) -> ValueId {
    let x = cx.input(node, 0);
    let shape = cx.shape_of(x).to_vec();
    let scalar = |cx: &mut Ctx, suffix: &str, v: f32| {
        cx.graph.add_const(
            &format!("{}.{suffix}", node.name),
            TensorType::f32(vec![]),
            Data::F32(vec![v]),
        )
    };
    let inv_sqrt2 = scalar(cx, "inv_sqrt2", std::f32::consts::FRAC_1_SQRT_2);
    let one = scalar(cx, "one", 1.0);
    let half = scalar(cx, "half", 0.5);
    let scaled = cx.emit(node, "scaled", Op::Mul, vec![x, inv_sqrt2], shape.clone());
    let erf = cx.emit(node, "erf", Op::Erf, vec![scaled], shape.clone());
    let plus_one = cx.emit(node, "plus_one", Op::Add, vec![erf, one], shape.clone());
    let product = cx.emit(node, "product", Op::Mul, vec![x, plus_one], shape.clone());
    cx.emit(node, "", Op::Mul, vec![product, half], shape)
}
