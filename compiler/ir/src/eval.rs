//! Reference interpreters of the IR: in `f32` (the float model, for per-layer error reports and
//! to check lowering against tract), and in fixed point, bit-exact with the generated Cairo.

use crate::fixed::{self, RangeError};
use crate::graph::*;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("input {index} has {got} elements, expected {expected}")]
    InputLength {
        index: usize,
        got: usize,
        expected: usize,
    },
    #[error("expected {expected} inputs, got {got}")]
    InputCount { expected: usize, got: usize },
    #[error("node '{node}' ({op}): {source}")]
    Range {
        node: String,
        op: &'static str,
        #[source]
        source: RangeError,
    },
    #[error(
        "node '{node}' ({op}): value has no fixed-point scale; run the quantisation pass first"
    )]
    NotQuantised { node: String, op: &'static str },
    #[error("node '{node}' (div): division by zero (in a Gather: an index out of range)")]
    DivByZero { node: String },
}

/// Element arithmetic of one interpreter.
trait Domain: Copy + Default + PartialOrd {
    fn from_const(d: &Data, i: usize) -> Self;
    /// 1 or 0.
    fn from_bool(b: bool) -> Self;
    fn from_index(i: usize) -> Self;
    fn is_true(self) -> bool;
    fn add(a: Self, b: Self) -> Self;
    fn sub(a: Self, b: Self) -> Self;
    fn mul(a: Self, b: Self) -> Self;
    fn max(a: Self, b: Self) -> Self;
    fn min(a: Self, b: Self) -> Self;
}

impl Domain for f32 {
    fn from_const(d: &Data, i: usize) -> f32 {
        match d {
            Data::F32(v) => v[i],
            Data::Int(v) => v[i] as f32,
        }
    }
    fn from_bool(b: bool) -> f32 {
        b as u8 as f32
    }
    fn from_index(i: usize) -> f32 {
        i as f32
    }
    fn is_true(self) -> bool {
        self != 0.0
    }
    fn add(a: f32, b: f32) -> f32 {
        a + b
    }
    fn sub(a: f32, b: f32) -> f32 {
        a - b
    }
    fn mul(a: f32, b: f32) -> f32 {
        a * b
    }
    fn max(a: f32, b: f32) -> f32 {
        a.max(b)
    }
    fn min(a: f32, b: f32) -> f32 {
        a.min(b)
    }
}

impl Domain for i128 {
    fn from_const(d: &Data, i: usize) -> i128 {
        match d {
            Data::Int(v) => v[i] as i128,
            // Not in a validated quantised graph.
            Data::F32(v) => v[i] as i128,
        }
    }
    fn from_bool(b: bool) -> i128 {
        b as i128
    }
    fn from_index(i: usize) -> i128 {
        i as i128
    }
    fn is_true(self) -> bool {
        self != 0
    }
    // Sums and products stay far inside i128 for validated graphs (operands are bounded by the
    // rescale window); the rescale that follows range-checks them exactly as Cairo does.
    fn add(a: i128, b: i128) -> i128 {
        a.saturating_add(b)
    }
    fn sub(a: i128, b: i128) -> i128 {
        a.saturating_sub(b)
    }
    fn mul(a: i128, b: i128) -> i128 {
        a.saturating_mul(b)
    }
    fn max(a: i128, b: i128) -> i128 {
        a.max(b)
    }
    fn min(a: i128, b: i128) -> i128 {
        a.min(b)
    }
}

/// The ops whose arithmetic differs between the two interpreters.
enum Special<'a> {
    Div,
    Cast(DType),
    Unary(UnaryOp),
    Table(TableFn),
    Softmax(&'a [usize]),
    Rescale(i32),
}

/// Runs the float model; returns every value of the graph (inputs and constants included).
pub fn eval_f32(g: &Graph, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, EvalError> {
    run(g, inputs, |node, special, args, g| {
        let x = args[0];
        let from = g.values[node.inputs[0]].ty.dtype;
        let map = |f: &dyn Fn(f32) -> f32| x.iter().map(|&v| f(v)).collect::<Vec<f32>>();
        Ok(match special {
            Special::Cast(to) => map(&|v| match (from, to) {
                (_, DType::Bool) => (v != 0.0) as u8 as f32,
                (DType::F32, DType::I64) => v.trunc(),
                (DType::F32 | DType::I64 | DType::Bool, DType::F32 | DType::I64) => v,
            }),
            Special::Div => {
                let int = g.values[node.output].ty.dtype != DType::F32;
                zip_broadcast(g, node, args, |a, b| {
                    if int {
                        if b == 0.0 {
                            return Err(EvalError::DivByZero {
                                node: node.name.clone(),
                            });
                        }
                        Ok((a / b).trunc())
                    } else {
                        Ok(a / b)
                    }
                })?
            }
            Special::Unary(u) => match u {
                UnaryOp::Neg => map(&|v| -v),
                UnaryOp::Abs => map(&|v| v.abs()),
                UnaryOp::Relu => map(&|v| v.max(0.0)),
                UnaryOp::LeakyRelu { alpha } => map(&|v| if v >= 0.0 { v } else { alpha * v }),
                UnaryOp::Sqrt => map(&|v| v.sqrt()),
                UnaryOp::Log => map(&|v| v.ln()),
                UnaryOp::Floor => map(&|v| v.floor()),
                UnaryOp::Ceil => map(&|v| v.ceil()),
                UnaryOp::Round => map(&|v| v.round_ties_even()),
            },
            Special::Table(f) => map(&|v| f.eval(v as f64) as f32),
            Special::Softmax(axes) => {
                let shape = &g.values[node.inputs[0]].ty.shape;
                map_slices(x, shape, axes, |s| {
                    let m = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let sum: f32 = s.iter().map(|v| (v - m).exp()).sum();
                    Ok::<_, EvalError>(s.iter().map(|v| (v - m).exp() / sum).collect())
                })?
            }
            // Float graphs have no rescale (validation rejects one); as arithmetic it is exact.
            Special::Rescale(shift) => map(&|v| v * (shift as f32).exp2()),
        })
    })
}

/// Runs the quantised model on fixed-point inputs, bit-exact with the generated Cairo.
pub fn eval_fixed(g: &Graph, inputs: &[Vec<i128>]) -> Result<Vec<Vec<i128>>, EvalError> {
    run(g, inputs, |node, special, args, g| {
        let x = args[0];
        let scale = |v: ValueId| {
            g.values[v].scale.ok_or(EvalError::NotQuantised {
                node: node.name.clone(),
                op: node.op.name(),
            })
        };
        let (s_in, s_out) = (scale(node.inputs[0])?, scale(node.output)?);
        let range = |source| EvalError::Range {
            node: node.name.clone(),
            op: node.op.name(),
            source,
        };
        let map = |f: &dyn Fn(i128) -> Result<i128, RangeError>| {
            x.iter()
                .map(|&v| f(v).map_err(range))
                .collect::<Result<Vec<i128>, EvalError>>()
        };
        match special {
            Special::Cast(to) => {
                let from = g.values[node.inputs[0]].ty.dtype;
                map(&|v| match (from, to) {
                    (_, DType::Bool) => Ok((v != 0) as i128),
                    (DType::F32, DType::F32) => Ok(v),
                    // Rust's integer division truncates toward zero, as ONNX's Cast does.
                    (DType::F32, DType::I64) => Ok(v / (1i128 << s_in)),
                    (DType::I64 | DType::Bool, DType::F32) => fixed::rescale(v, s_out as i32),
                    (DType::I64 | DType::Bool, DType::I64) => Ok(v),
                })
            }
            Special::Div => {
                let int = g.values[node.output].ty.dtype != DType::F32;
                let zero = || EvalError::DivByZero {
                    node: node.name.clone(),
                };
                zip_broadcast(g, node, args, |a, b| {
                    if b == 0 {
                        return Err(zero());
                    }
                    let q = if int {
                        a / b
                    } else {
                        fixed::div(a, b, s_in).map_err(range)?
                    };
                    fixed::in_act_range(q)
                        .then_some(q)
                        .ok_or_else(|| range(fixed::RangeError { value: q, shift: 0 }))
                })
            }
            Special::Unary(u) => match u {
                UnaryOp::Neg => map(&|v| Ok(v.saturating_neg())),
                UnaryOp::Abs => map(&|v| Ok(v.saturating_abs())),
                UnaryOp::Relu => map(&|v| Ok(v.max(0))),
                UnaryOp::LeakyRelu { alpha } => {
                    let alpha_q =
                        fixed::quantise(alpha as f64, fixed::ALPHA_SCALE).unwrap_or(0) as i128;
                    map(&|v| fixed::leaky_relu(v, alpha_q))
                }
                UnaryOp::Sqrt => map(&|v| fixed::sqrt(v, s_in)),
                UnaryOp::Log => {
                    let table = fixed::Pwl::ln();
                    map(&|v| fixed::ln(v, s_in, s_out, &table))
                }
                UnaryOp::Floor => map(&|v| fixed::round(v, s_in, fixed::Rounding::Floor)),
                UnaryOp::Ceil => map(&|v| fixed::round(v, s_in, fixed::Rounding::Ceil)),
                UnaryOp::Round => map(&|v| fixed::round(v, s_in, fixed::Rounding::HalfToEven)),
            },
            Special::Table(f) => {
                let (pwl, slope) = (fixed::Pwl::of(f), fixed::slope_q(f));
                map(&|v| fixed::table_fn(v, s_in, s_out, &pwl, slope))
            }
            Special::Rescale(shift) => map(&|v| fixed::rescale(v, shift)),
            Special::Softmax(axes) => {
                let exp = fixed::Pwl::exp();
                let shape = &g.values[node.inputs[0]].ty.shape;
                map_slices(x, shape, axes, |s| {
                    fixed::softmax(s, s_in, s_out, &exp).map_err(range)
                })
            }
        }
    })
}

/// The shared graph walk: data movement and linear algebra are generic over the domain; the
/// domain-specific ops go to `special`.
fn run<T: Domain>(
    g: &Graph,
    inputs: &[Vec<T>],
    special: impl Fn(&Node, Special, &[&[T]], &Graph) -> Result<Vec<T>, EvalError>,
) -> Result<Vec<Vec<T>>, EvalError> {
    if inputs.len() != g.inputs.len() {
        return Err(EvalError::InputCount {
            expected: g.inputs.len(),
            got: inputs.len(),
        });
    }
    let mut vals: Vec<Vec<T>> = vec![Vec::new(); g.values.len()];
    for (index, (&id, data)) in g.inputs.iter().zip(inputs).enumerate() {
        let expected = g.values[id].ty.len();
        if data.len() != expected {
            return Err(EvalError::InputLength {
                index,
                got: data.len(),
                expected,
            });
        }
        vals[id] = data.clone();
    }
    for (id, v) in g.values.iter().enumerate() {
        if let Def::Const(d) = &v.def {
            vals[id] = (0..d.len()).map(|i| T::from_const(d, i)).collect();
        }
    }
    for node in &g.nodes {
        let out_shape = &g.values[node.output].ty.shape;
        let arg = |i: usize| &vals[node.inputs[i]];
        let shape = |i: usize| &g.values[node.inputs[i]].ty.shape;
        let args = || -> Vec<&[T]> { node.inputs.iter().map(|&i| vals[i].as_slice()).collect() };
        let out = match &node.op {
            Op::MatMul => matmul(
                arg(0),
                shape(0),
                arg(1),
                shape(1),
                node.inputs.get(2).map(|&b| &vals[b]),
            ),
            Op::Binary(b) => match generic_binary::<T>(*b) {
                Some(f) => zip_broadcast(g, node, &[arg(0), arg(1)], |a, b| {
                    Ok::<_, EvalError>(f(a, b))
                })?,
                None => special(node, Special::Div, &args(), g)?,
            },
            Op::Compare(kind) => zip_broadcast(g, node, &[arg(0), arg(1)], |a, b| {
                Ok::<_, EvalError>(T::from_bool(kind.holds(a, b)))
            })?,
            Op::Where => {
                let ic = broadcast_index_map(shape(0), out_shape);
                let ia = broadcast_index_map(shape(1), out_shape);
                let ib = broadcast_index_map(shape(2), out_shape);
                (0..ic.len())
                    .map(|k| {
                        if arg(0)[ic[k]].is_true() {
                            arg(1)[ia[k]]
                        } else {
                            arg(2)[ib[k]]
                        }
                    })
                    .collect()
            }
            Op::ArgMax { axis, select_last } => {
                let x = arg(0);
                slices(shape(0), &[*axis])
                    .map(|idx| {
                        let mut best = 0;
                        for (j, &i) in idx.iter().enumerate() {
                            let (v, b) = (x[i], x[idx[best]]);
                            if v > b || (*select_last && v == b) {
                                best = j;
                            }
                        }
                        T::from_index(best)
                    })
                    .collect()
            }
            Op::Reduce { kind, axes } => {
                let f = match kind {
                    ReduceKind::Sum => T::add,
                    ReduceKind::Max => T::max,
                    ReduceKind::Min => T::min,
                };
                let x = arg(0);
                slices(shape(0), axes)
                    .map(|idx| idx[1..].iter().fold(x[idx[0]], |acc, &i| f(acc, x[i])))
                    .collect()
            }
            Op::Reshape => arg(0).clone(),
            Op::Transpose { perm } => transpose_index_map(shape(0), perm)
                .iter()
                .map(|&i| arg(0)[i])
                .collect(),
            Op::Select { indices } => {
                // Indices run over the operands laid end to end.
                let all: Vec<T> = node
                    .inputs
                    .iter()
                    .flat_map(|&i| vals[i].iter().copied())
                    .collect();
                indices
                    .iter()
                    .map(|&i| if i < 0 { T::default() } else { all[i as usize] })
                    .collect()
            }
            Op::Unary(u) => special(node, Special::Unary(*u), &args(), g)?,
            Op::Table(f) => special(node, Special::Table(*f), &args(), g)?,
            Op::Softmax { axes } => special(node, Special::Softmax(axes), &args(), g)?,
            Op::Rescale { shift } => special(node, Special::Rescale(*shift), &args(), g)?,
            Op::Cast { to } => special(node, Special::Cast(*to), &args(), g)?,
        };
        vals[node.output] = out;
    }
    Ok(vals)
}

/// The binary ops both interpreters compute alike; `None` for division.
fn generic_binary<T: Domain>(b: BinaryOp) -> Option<fn(T, T) -> T> {
    match b {
        BinaryOp::Add => Some(T::add),
        BinaryOp::Sub => Some(T::sub),
        BinaryOp::Mul => Some(T::mul),
        BinaryOp::Max => Some(T::max),
        BinaryOp::Min => Some(T::min),
        BinaryOp::Div => None,
    }
}

/// `f` on the broadcast pairs of a binary node's operands.
fn zip_broadcast<T: Copy, E>(
    g: &Graph,
    node: &Node,
    args: &[&[T]],
    f: impl Fn(T, T) -> Result<T, E>,
) -> Result<Vec<T>, E> {
    let out_shape = &g.values[node.output].ty.shape;
    let ia = broadcast_index_map(&g.values[node.inputs[0]].ty.shape, out_shape);
    let ib = broadcast_index_map(&g.values[node.inputs[1]].ty.shape, out_shape);
    ia.iter()
        .zip(&ib)
        .map(|(&i, &j)| f(args[0][i], args[1][j]))
        .collect()
}

/// A tensor seen as `[outer, len, inner]` around contiguous `axes` (softmax, reductions).
pub fn axes_layout(shape: &[usize], axes: &[usize]) -> (usize, usize, usize) {
    let first = axes.first().copied().unwrap_or(0);
    let last = axes.last().copied().unwrap_or(0);
    let outer = shape[..first].iter().product();
    let len = shape[first..=last].iter().product();
    let inner = shape[last + 1..].iter().product();
    (outer, len, inner)
}

/// The flat indices of every slice along contiguous `axes`, in output order (outer, then inner).
fn slices(shape: &[usize], axes: &[usize]) -> impl Iterator<Item = Vec<usize>> {
    let (outer, len, inner) = axes_layout(shape, axes);
    (0..outer)
        .flat_map(move |o| (0..inner).map(move |i| (o, i)))
        .map(move |(o, i)| (0..len).map(|l| (o * len + l) * inner + i).collect())
}

/// Applies `f` to every slice along `axes` and writes each result back in place.
fn map_slices<T: Copy + Default, E>(
    x: &[T],
    shape: &[usize],
    axes: &[usize],
    mut f: impl FnMut(&[T]) -> Result<Vec<T>, E>,
) -> Result<Vec<T>, E> {
    let mut out = vec![T::default(); x.len()];
    for idx in slices(shape, axes) {
        let slice: Vec<T> = idx.iter().map(|&i| x[i]).collect();
        for (&i, y) in idx.iter().zip(f(&slice)?) {
            out[i] = y;
        }
    }
    Ok(out)
}

fn matmul<T: Domain>(
    a: &[T],
    sa: &[usize],
    b: &[T],
    sb: &[usize],
    bias: Option<&Vec<T>>,
) -> Vec<T> {
    if let [batches, k, n] = *sb {
        // One product per batch: [B, m, k] · [B, k, n].
        let (sa2, sb2) = ([sa[1], sa[2]], [k, n]);
        return (0..batches)
            .flat_map(|i| {
                let ai = &a[i * sa[1] * k..(i + 1) * sa[1] * k];
                let bi = &b[i * k * n..(i + 1) * k * n];
                matmul(ai, &sa2, bi, &sb2, None)
            })
            .collect();
    }
    let k = sa[sa.len() - 1];
    let n = sb[1];
    let rows = a.len() / k;
    let mut out = Vec::with_capacity(rows * n);
    for r in 0..rows {
        for j in 0..n {
            let mut acc = bias.map(|b| b[j]).unwrap_or_default();
            for i in 0..k {
                acc = T::add(acc, T::mul(a[r * k + i], b[i * n + j]));
            }
            out.push(acc);
        }
    }
    out
}
