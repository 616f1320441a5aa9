//! Element-wise ops: binary arithmetic with broadcasting, comparisons and boolean logic, Where,
//! Cast, ReLU (tract's `max(x, 0)`), LogSoftmax, and the activations with a fixed-point
//! approximation. tract's mini-ops are matched by type, never by name.
//!
//! Booleans are 0 and 1, so their logic is arithmetic: And is a minimum, Or a maximum, Xor
//! `|a - b|` and Not `1 - x`.

use cairn_ir::{
    broadcast_shapes, BinaryOp, CmpKind, DType, Data, Op, ReduceKind, TableFn, TensorType, UnaryOp,
    ValueId,
};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::{BinMiniOp, TypedBinOp};
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::element_wise::{ElementWiseMiniOp, ElementWiseOp};
use tract_onnx::tract_core::ops::logic::Iff;
use tract_onnx::tract_core::ops::nn::{Softmax, SoftmaxKind};

use crate::lower::Ctx;

pub fn lower(cx: &mut Ctx, node: &TypedNode) -> Result<Option<ValueId>, String> {
    if let Some(op) = node.op_as::<TypedBinOp>() {
        return binary(cx, node, op.0.as_ref()).map(Some);
    }
    if node.op_as::<Iff>().is_some() {
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
        if op.quant_output_dt.is_some() {
            return Err("quantised softmax is not supported".into());
        }
        let axes = super::contiguous_axes(&op.axes, "softmax")?;
        let x = cx.input(node, 0);
        let shape = cx.shape_of(x).to_vec();
        return Ok(Some(match op.kind {
            SoftmaxKind::Softmax => cx.emit(node, "", Op::Softmax { axes }, vec![x], shape),
            SoftmaxKind::LogSoftmax => log_softmax(cx, node, x, axes, shape),
        }));
    }
    if let Some(op) = node.op_as::<ElementWiseOp>() {
        return unary(cx, node, op.0.as_ref()).map(Some);
    }
    Ok(None)
}

/// tract's element-wise mini-ops, matched by type.
fn unary(cx: &mut Ctx, node: &TypedNode, op: &dyn ElementWiseMiniOp) -> Result<ValueId, String> {
    use tract_onnx::tract_core::ops::logic::Not;
    use tract_onnx::tract_core::ops::math::{
        Abs, Ceil, Erf, Exp, Floor, Ln, Neg, PowConst, Recip, RoundHalfToEven, Rsqrt, Sign, Sqrt,
        Square, Tanh,
    };
    use tract_onnx::tract_core::ops::nn::{
        GeluApproximate, GeluExact, HardSwish, LeakyRelu, Sigmoid, Silu,
    };
    let x = cx.input(node, 0);
    let shape = cx.shape_of(x).to_vec();
    // The one-to-one mappings, by tract type.
    let direct = [
        (op.is::<Sigmoid>(), Op::Table(TableFn::Sigmoid)),
        (op.is::<Tanh>(), Op::Table(TableFn::Tanh)),
        (op.is::<Erf>(), Op::Table(TableFn::Erf)),
        (op.is::<Exp>(), Op::Table(TableFn::Exp)),
        (
            op.is::<GeluExact>(),
            Op::Table(TableFn::Gelu { tanh: false }),
        ),
        (op.is::<Silu>(), Op::Table(TableFn::Silu)),
        (op.is::<HardSwish>(), Op::Table(TableFn::HardSwish)),
        (op.is::<Ln>(), Op::Unary(UnaryOp::Log)),
        (op.is::<Sqrt>(), Op::Unary(UnaryOp::Sqrt)),
        (op.is::<Floor>(), Op::Unary(UnaryOp::Floor)),
        (op.is::<Ceil>(), Op::Unary(UnaryOp::Ceil)),
        (op.is::<RoundHalfToEven>(), Op::Unary(UnaryOp::Round)),
        (op.is::<Neg>(), Op::Unary(UnaryOp::Neg)),
        (op.is::<Abs>(), Op::Unary(UnaryOp::Abs)),
    ];
    if let Some((_, ir)) = direct.into_iter().find(|(hit, _)| *hit) {
        return Ok(cx.emit(node, "", ir, vec![x], shape));
    }
    let ir = if let Some(g) = op.downcast_ref::<GeluApproximate>() {
        if g.fast_impl {
            return Err("GELU with the x² approximation is not supported; export the exact or the tanh form".into());
        }
        Op::Table(TableFn::Gelu { tanh: true })
    } else if let Some(t) = op.downcast_ref::<crate::activations::TableOp>() {
        if !t.0.is_tabulable() {
            return Err(format!("{:?}: these parameters cannot be tabulated", t.0));
        }
        Op::Table(t.0)
    } else if op.is::<Sign>() {
        return Ok(sign(cx, node, x, shape));
    } else if let Some(l) = op.downcast_ref::<LeakyRelu>() {
        Op::Unary(UnaryOp::LeakyRelu { alpha: l.alpha })
    } else if op.is::<Square>() {
        return Ok(cx.emit(node, "", Op::Binary(BinaryOp::Mul), vec![x, x], shape));
    } else if op.is::<Rsqrt>() {
        let root = cx.emit(
            node,
            "sqrt",
            Op::Unary(UnaryOp::Sqrt),
            vec![x],
            shape.clone(),
        );
        let one = f32_scalar(cx, node, "one", 1.0);
        return Ok(cx.emit(node, "", Op::Binary(BinaryOp::Div), vec![one, root], shape));
    } else if let Some(p) = op.downcast_ref::<PowConst>() {
        return pow_const(cx, node, p.exponent);
    } else if op.is::<Recip>() {
        // 1 / x, a fixed-point division.
        let one = f32_scalar(cx, node, "one", 1.0);
        return Ok(cx.emit(node, "", Op::Binary(BinaryOp::Div), vec![one, x], shape));
    } else if op.is::<Not>() {
        let one = bool_one(cx, node);
        return Ok(cx.emit(node, "", Op::Binary(BinaryOp::Sub), vec![one, x], shape));
    } else {
        return Err(format!("element-wise {} is not supported yet", op.name()));
    };
    Ok(cx.emit(node, "", ir, vec![x], shape))
}

/// `(x > 0) − (x < 0)`, in the operand's type.
fn sign(cx: &mut Ctx, node: &TypedNode, x: ValueId, shape: Vec<usize>) -> ValueId {
    let dtype = cx.graph.values[x].ty.dtype;
    let zero = match dtype {
        DType::F32 => Data::F32(vec![0.0]),
        DType::I64 | DType::Bool => Data::Int(vec![0]),
    };
    let zero = cx.graph.add_const(
        &format!("{}.zero", node.name),
        TensorType::new(dtype, vec![]),
        zero,
    );
    let side = |cx: &mut Ctx, kind: CmpKind, suffix: &str| {
        let name = format!("{}.{suffix}", node.name);
        let c = cx.graph.add_node(
            &node.name,
            Op::Compare(kind),
            vec![x, zero],
            &format!("{name}.test"),
            TensorType::new(DType::Bool, shape.clone()),
        );
        cx.graph.add_node(
            &node.name,
            Op::Cast { to: dtype },
            vec![c],
            &name,
            TensorType::new(dtype, shape.clone()),
        )
    };
    let pos = side(cx, CmpKind::Greater, "positive");
    let neg = side(cx, CmpKind::Less, "negative");
    cx.emit(node, "", Op::Binary(BinaryOp::Sub), vec![pos, neg], shape)
}

/// `x − max − ln Σ e^(x − max)` over `axes`: the exponentials of max-subtracted values stay
/// in [0, 1], and the sum in [1, n].
fn log_softmax(
    cx: &mut Ctx,
    node: &TypedNode,
    x: ValueId,
    axes: Vec<usize>,
    shape: Vec<usize>,
) -> ValueId {
    let mut kept = shape.clone();
    axes.iter().for_each(|&a| kept[a] = 1);
    let max = Op::Reduce {
        kind: ReduceKind::Max,
        axes: axes.clone(),
    };
    let m = cx.emit(node, "max", max, vec![x], kept.clone());
    let d = cx.emit(
        node,
        "shifted",
        Op::Binary(BinaryOp::Sub),
        vec![x, m],
        shape.clone(),
    );
    let e = cx.emit(node, "exp", Op::Table(TableFn::Exp), vec![d], shape.clone());
    let sum = Op::Reduce {
        kind: ReduceKind::Sum,
        axes,
    };
    let s = cx.emit(node, "sum", sum, vec![e], kept.clone());
    let l = cx.emit(node, "log_sum", Op::Unary(UnaryOp::Log), vec![s], kept);
    cx.emit(node, "", Op::Binary(BinaryOp::Sub), vec![d, l], shape)
}

/// tract's binary mini-ops, matched by type.
fn binary(cx: &mut Ctx, node: &TypedNode, op: &dyn BinMiniOp) -> Result<ValueId, String> {
    use tract_onnx::tract_core::ops::logic::{
        And, CompEq, CompGT, CompGTE, CompLT, CompLTE, CompNE, Or, Xor,
    };
    use tract_onnx::tract_core::ops::math::{Add, Div, Max, Min, Mul, Pow, Rem, Sub, SubF};
    let (a, b) = (cx.input(node, 0), cx.input(node, 1));
    let shape = broadcast_shapes(cx.shape_of(a), cx.shape_of(b)).ok_or_else(|| {
        format!(
            "shapes {:?} and {:?} do not broadcast",
            cx.shape_of(a),
            cx.shape_of(b)
        )
    })?;
    if op.is::<Pow>() {
        return pow_runtime(cx, node, a, b, shape);
    }
    if op.is::<Rem>() {
        return remainder(cx, node, a, b, shape);
    }
    let all_zero = |v: ValueId| matches!(cx.graph.const_data(v), Some(Data::F32(d)) if d.iter().all(|&x| x == 0.0));
    let direct = [
        (op.is::<Add>(), Op::Binary(BinaryOp::Add)),
        (op.is::<Sub>(), Op::Binary(BinaryOp::Sub)),
        (op.is::<Mul>(), Op::Binary(BinaryOp::Mul)),
        (op.is::<Min>(), Op::Binary(BinaryOp::Min)),
        (op.is::<CompEq>(), Op::Compare(CmpKind::Equal)),
        (op.is::<CompLT>(), Op::Compare(CmpKind::Less)),
        (op.is::<CompLTE>(), Op::Compare(CmpKind::LessOrEqual)),
        (op.is::<CompGT>(), Op::Compare(CmpKind::Greater)),
        (op.is::<CompGTE>(), Op::Compare(CmpKind::GreaterOrEqual)),
        // Booleans are 0 and 1: And is a minimum, Or a maximum.
        (op.is::<And>(), Op::Binary(BinaryOp::Min)),
        (op.is::<Or>(), Op::Binary(BinaryOp::Max)),
    ];
    if let Some((_, ir)) = direct.into_iter().find(|(hit, _)| *hit) {
        return Ok(cx.emit(node, "", ir, vec![a, b], shape));
    }
    let op = if op.is::<Max>() {
        // ONNX Relu reaches us as max(x, 0); Clip and ONNX Max/Min as binary max/min.
        if all_zero(b) && cx.shape_of(a) == shape.as_slice() {
            return Ok(cx.emit(node, "", Op::Unary(UnaryOp::Relu), vec![a], shape));
        }
        if all_zero(a) && cx.shape_of(b) == shape.as_slice() {
            return Ok(cx.emit(node, "", Op::Unary(UnaryOp::Relu), vec![b], shape));
        }
        Op::Binary(BinaryOp::Max)
    } else if op.is::<Div>() {
        // Division of floats by a constant is a product by its reciprocal.
        if let Some(Data::F32(d)) = cx.graph.const_data(b) {
            let recip = d.iter().map(|x| 1.0 / x).collect();
            let ty = TensorType::f32(cx.shape_of(b).to_vec());
            let r = cx
                .graph
                .add_const(&format!("{}.reciprocal", node.name), ty, Data::F32(recip));
            return Ok(cx.emit(node, "", Op::Binary(BinaryOp::Mul), vec![a, r], shape));
        }
        Op::Binary(BinaryOp::Div)
    } else if op.is::<SubF>() {
        // tract's flipped subtraction: b - a.
        return Ok(cx.emit(node, "", Op::Binary(BinaryOp::Sub), vec![b, a], shape));
    } else if op.is::<CompNE>() {
        let eq = Op::Compare(CmpKind::Equal);
        let e = cx.emit(node, "equal", eq, vec![a, b], shape.clone());
        let one = bool_one(cx, node);
        return Ok(cx.emit(node, "", Op::Binary(BinaryOp::Sub), vec![one, e], shape));
    } else if op.is::<Xor>() {
        let d = cx.emit(
            node,
            "difference",
            Op::Binary(BinaryOp::Sub),
            vec![a, b],
            shape.clone(),
        );
        return Ok(cx.emit(node, "", Op::Unary(UnaryOp::Abs), vec![d], shape));
    } else {
        return Err(format!("binary {} is not supported yet", op.name()));
    };
    Ok(cx.emit(node, "", op, vec![a, b], shape))
}

/// tract's `Rem`, C's `fmod`: `a − b·trunc(a / b)`, with the sign of `a` (ONNX Mod with
/// `fmod = 1`; tract builds `fmod = 0`, the sign of `b`, around it). Integers divide exactly.
/// Floats are taken on the grid of 2^-16 (truncated toward zero there) and divided as
/// integers, so a quotient just below an integer is never rounded up to it: the result is exact
/// for inputs on the grid, which every input at Cairn's default scale is.
fn remainder(
    cx: &mut Ctx,
    node: &TypedNode,
    a: ValueId,
    b: ValueId,
    shape: Vec<usize>,
) -> Result<ValueId, String> {
    use cairn_ir::DType;
    let float = cx.out_dtype(node) == DType::F32;
    let int_of = |cx: &mut Ctx, v: ValueId, s: &str| {
        let grid = f32_scalar(cx, node, "grid", REM_GRID);
        let vs = cx.shape_of(v).to_vec();
        let scaled = cx.emit(
            node,
            &format!("{s}_scaled"),
            Op::Binary(BinaryOp::Mul),
            vec![v, grid],
            vs.clone(),
        );
        let ty = TensorType::new(DType::I64, vs);
        cx.graph.add_node(
            &node.name,
            Op::Cast { to: DType::I64 },
            vec![scaled],
            &format!("{}.{s}_int", node.name),
            ty,
        )
    };
    let (ia, ib) = if float {
        (int_of(cx, a, "dividend"), int_of(cx, b, "divisor"))
    } else {
        (a, b)
    };
    let ity = TensorType::new(cx.graph.values[ia].ty.dtype, shape.clone());
    let add = |cx: &mut Ctx, op: BinaryOp, x: ValueId, y: ValueId, s: &str| {
        cx.graph.add_node(
            &node.name,
            Op::Binary(op),
            vec![x, y],
            &format!("{}.{s}", node.name),
            ity.clone(),
        )
    };
    let q = add(cx, BinaryOp::Div, ia, ib, "quotient");
    let p = add(cx, BinaryOp::Mul, ib, q, "multiple");
    let r = add(
        cx,
        BinaryOp::Sub,
        ia,
        p,
        if float { "remainder_int" } else { "remainder" },
    );
    if !float {
        return Ok(r);
    }
    let rf = cx.emit(
        node,
        "remainder_grid",
        Op::Cast { to: DType::F32 },
        vec![r],
        shape.clone(),
    );
    let step = f32_scalar(cx, node, "grid_step", 1.0 / REM_GRID);
    Ok(cx.emit(node, "", Op::Binary(BinaryOp::Mul), vec![rf, step], shape))
}

/// The grid floats are divided on by [`remainder`]: Cairn's default scale.
const REM_GRID: f32 = 65536.0;

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
        let root = cx.emit(
            node,
            "sqrt",
            Op::Unary(UnaryOp::Sqrt),
            vec![x],
            shape.clone(),
        );
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
                        Op::Binary(BinaryOp::Mul),
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
                Op::Binary(BinaryOp::Mul),
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
        cx.emit(
            node,
            "",
            Op::Binary(BinaryOp::Div),
            vec![one, positive],
            shape,
        )
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
    let ln = f(
        cx,
        "ln",
        Op::Unary(UnaryOp::Log),
        vec![xf],
        cx.shape_of(xf).to_vec(),
    );
    let prod = f(
        cx,
        "product",
        Op::Binary(BinaryOp::Mul),
        vec![yf, ln],
        shape.clone(),
    );
    let out_dtype = cx.out_dtype(node);
    if out_dtype == DType::F32 {
        return Ok(cx.emit(node, "", Op::Table(TableFn::Exp), vec![prod], shape));
    }
    let p = f(
        cx,
        "power",
        Op::Table(TableFn::Exp),
        vec![prod],
        shape.clone(),
    );
    let half = f32_scalar(cx, node, "half", 0.5);
    let rounded = f(
        cx,
        "rounded",
        Op::Binary(BinaryOp::Add),
        vec![p, half],
        shape.clone(),
    );
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
