//! One rule per op family: arity, element types, output shape, scales, static bounds and step
//! cost. Validation ([`crate::validate`]), quantisation (`cairn-passes`), static bounds
//! ([`crate::bounds`]) and the partition's cost model (`cairn-codegen`) all read these, so a
//! new family member is described once, and the exhaustive matches below list what it needs.

use std::ops::RangeInclusive;

use crate::bounds::bits_of;
use crate::fixed::{Pwl, ACT_BOUND_BITS};
use crate::graph::*;

/// How an op's element types relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DTypeRule {
    /// Fixed-point arithmetic: float operands and result.
    Float,
    /// Every operand and the result of the first operand's type.
    Same,
    /// Two operands of one type; a boolean result.
    Compare,
    /// A boolean condition, two branches of one type, the result of theirs.
    Branches,
    /// Any operand; the result of the given type.
    To(DType),
    /// Any operand; an integer result (an index).
    Index,
}

/// How an op's fixed-point scales relate (quantised graphs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleRule {
    /// Every operand and the result at one scale: the finest runtime operand's.
    Common,
    /// Both operands at one scale; the result is boolean (scale 0).
    CommonToBool,
    /// The condition at scale 0, both branches and the result at one scale.
    Branches,
    /// The result at the sum of the two operands' scales (a bias at that sum too).
    Product,
    /// One operand; the result at its scale.
    Keep,
    /// Any result scale (the activation's); the operand at `min_operand` bits or more.
    Free { min_operand: u32 },
    /// An integer result, at scale 0.
    Integer,
    /// Element type conversion: a float result keeps a float operand's scale, or takes any
    /// scale from an integer or boolean; integer and boolean results are at scale 0.
    Cast { to: DType },
    /// The result at the operand's scale plus the shift (fixed point only).
    Shift(i32),
}

/// Cairo steps per element of data movement and the cheapest element-wise ops.
pub const STEPS_PER_ELEMENT: u64 = 60;

impl Op {
    /// How many operands the op takes.
    pub fn arity(&self) -> RangeInclusive<usize> {
        match self {
            Op::MatMul => 2..=3,
            Op::Binary(_) | Op::Compare(_) => 2..=2,
            Op::Where => 3..=3,
            Op::Select { .. } => 1..=usize::MAX,
            Op::Unary(_)
            | Op::Table(_)
            | Op::Softmax { .. }
            | Op::Reduce { .. }
            | Op::ArgMax { .. }
            | Op::Reshape
            | Op::Transpose { .. }
            | Op::Cast { .. }
            | Op::Rescale { .. } => 1..=1,
        }
    }

    pub fn dtype_rule(&self) -> DTypeRule {
        match self {
            Op::MatMul | Op::Table(_) | Op::Softmax { .. } => DTypeRule::Float,
            // On integers, a shift of 0: the range check after an integer product.
            Op::Rescale { .. } => DTypeRule::Same,
            Op::Unary(u) => match u {
                UnaryOp::Relu
                | UnaryOp::LeakyRelu { .. }
                | UnaryOp::Sqrt
                | UnaryOp::Log
                | UnaryOp::Floor
                | UnaryOp::Ceil
                | UnaryOp::Round => DTypeRule::Float,
                UnaryOp::Neg | UnaryOp::Abs => DTypeRule::Same,
            },
            Op::Binary(_)
            | Op::Reduce { .. }
            | Op::Reshape
            | Op::Transpose { .. }
            | Op::Select { .. } => DTypeRule::Same,
            Op::Compare(_) => DTypeRule::Compare,
            Op::Where => DTypeRule::Branches,
            Op::Cast { to } => DTypeRule::To(*to),
            Op::ArgMax { .. } => DTypeRule::Index,
        }
    }

    pub fn scale_rule(&self) -> ScaleRule {
        match self {
            Op::Binary(b) => match b {
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Max | BinaryOp::Min | BinaryOp::Div => {
                    ScaleRule::Common
                }
                BinaryOp::Mul => ScaleRule::Product,
            },
            Op::Select { .. } => ScaleRule::Common,
            Op::MatMul => ScaleRule::Product,
            Op::Compare(_) => ScaleRule::CommonToBool,
            Op::Where => ScaleRule::Branches,
            Op::Unary(u) => match u {
                UnaryOp::Neg
                | UnaryOp::Abs
                | UnaryOp::Relu
                | UnaryOp::LeakyRelu { .. }
                | UnaryOp::Sqrt
                | UnaryOp::Floor
                | UnaryOp::Ceil
                | UnaryOp::Round => ScaleRule::Keep,
                UnaryOp::Log => ScaleRule::Free { min_operand: 0 },
            },
            Op::Reduce { .. } | Op::Reshape | Op::Transpose { .. } => ScaleRule::Keep,
            Op::Table(f) => ScaleRule::Free {
                min_operand: f.interval().2,
            },
            Op::Softmax { .. } => ScaleRule::Free {
                min_operand: Pwl::exp().grid_bits,
            },
            Op::ArgMax { .. } => ScaleRule::Integer,
            Op::Cast { to } => ScaleRule::Cast { to: *to },
            Op::Rescale { shift } => ScaleRule::Shift(*shift),
        }
    }

    /// Checks the output shape against the operands' (`operands[i]` is operand `i`'s type;
    /// `const_operand[i]` whether it is a constant).
    pub fn check_shape(
        &self,
        operands: &[&TensorType],
        const_operand: &[bool],
        out: &TensorType,
    ) -> Result<(), String> {
        let ty = |i: usize| operands[i];
        let expect_shape = |shape: Vec<usize>| {
            if out.shape == shape {
                Ok(())
            } else {
                Err(format!("output shape {:?} should be {shape:?}", out.shape))
            }
        };
        match self {
            Op::MatMul if ty(1).shape.len() == 3 => {
                // A batch of products of runtime matrices: [B, m, k] · [B, k, n].
                let (a, b) = (&ty(0).shape, &ty(1).shape);
                if a.len() != 3 || a[0] != b[0] || a[2] != b[1] || operands.len() != 2 {
                    return Err(format!("cannot multiply batches {a:?} by {b:?}"));
                }
                if const_operand[1] {
                    return Err("a batched product takes a runtime right-hand side".into());
                }
                expect_shape(vec![a[0], a[1], b[2]])
            }
            Op::MatMul => {
                let (a, b) = (&ty(0).shape, &ty(1).shape);
                if a.is_empty() || b.len() != 2 || a[a.len() - 1] != b[0] {
                    return Err(format!("cannot multiply {a:?} by {b:?}"));
                }
                if operands.len() == 3 && (!const_operand[2] || ty(2).shape != [b[1]]) {
                    return Err(format!("the bias must be a constant of shape [{}]", b[1]));
                }
                let mut shape = a.clone();
                *shape.last_mut().expect("rank checked") = b[1];
                expect_shape(shape)
            }
            Op::Binary(_) | Op::Compare(_) | Op::Where => {
                let mut shape = ty(0).shape.clone();
                for t in &operands[1..] {
                    shape = broadcast_shapes(&shape, &t.shape).ok_or_else(|| {
                        format!("shapes {shape:?} and {:?} do not broadcast", t.shape)
                    })?;
                }
                expect_shape(shape)
            }
            Op::Unary(_) | Op::Table(_) | Op::Cast { .. } | Op::Rescale { .. } => {
                expect_shape(ty(0).shape.clone())
            }
            Op::ArgMax { axis, .. } => {
                let mut shape = ty(0).shape.clone();
                if *axis >= shape.len() || shape[*axis] == 0 {
                    return Err(format!("axis {axis} is not a non-empty axis of {shape:?}"));
                }
                shape[*axis] = 1;
                expect_shape(shape)
            }
            Op::Select { indices } => {
                let n = operands.iter().map(|t| t.len()).sum::<usize>() as i64;
                if indices.len() != out.len() {
                    return Err(format!(
                        "{} indices for an output of {} elements",
                        indices.len(),
                        out.len()
                    ));
                }
                match indices.iter().find(|&&i| i >= n) {
                    Some(i) => Err(format!("index {i} is out of an input of {n} elements")),
                    None => Ok(()),
                }
            }
            Op::Reshape => {
                if out.len() != ty(0).len() {
                    return Err(format!(
                        "cannot reshape {:?} to {:?}",
                        ty(0).shape,
                        out.shape
                    ));
                }
                Ok(())
            }
            Op::Softmax { axes } | Op::Reduce { axes, .. } => {
                let rank = ty(0).shape.len();
                let contiguous = axes.windows(2).all(|w| w[1] == w[0] + 1);
                if axes.is_empty() || !contiguous || axes.iter().any(|&a| a >= rank) {
                    return Err(format!(
                        "axes {axes:?} must be contiguous axes of a rank-{rank} tensor"
                    ));
                }
                let mut shape = ty(0).shape.clone();
                if matches!(self, Op::Reduce { .. }) {
                    axes.iter().for_each(|&a| shape[a] = 1);
                }
                expect_shape(shape)
            }
            Op::Transpose { perm } => {
                let mut sorted = perm.clone();
                sorted.sort_unstable();
                if sorted != (0..ty(0).shape.len()).collect::<Vec<_>>() {
                    return Err(format!(
                        "{perm:?} is not a permutation of the {} axes",
                        ty(0).shape.len()
                    ));
                }
                expect_shape(perm.iter().map(|&p| ty(0).shape[p]).collect())
            }
        }
    }

    /// A static bound on the result's magnitude in bits (`|x| ≤ 2^b`), from the operands'
    /// (`bits[i]` for operand `i`, `None` when unknown); see [`crate::bounds`].
    pub fn bound(&self, g: &Graph, node: &Node, bits: &[Option<u32>]) -> Option<u32> {
        let a = bits[0];
        let b = bits.get(1).copied().flatten();
        let in_ty = |i: usize| &g.values[node.inputs[i]].ty;
        match self {
            // Range-checked results.
            Op::Rescale { .. } | Op::Table(_) | Op::Softmax { .. } => Some(ACT_BOUND_BITS),
            Op::Unary(u) => match u {
                UnaryOp::Sqrt | UnaryOp::Log | UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round => {
                    Some(ACT_BOUND_BITS)
                }
                UnaryOp::Relu | UnaryOp::Neg | UnaryOp::Abs => a,
                // Its negative branch goes through a checked rescale.
                UnaryOp::LeakyRelu { .. } => a.map(|a| a.max(ACT_BOUND_BITS)),
            },
            Op::Binary(op) => match op {
                BinaryOp::Div => Some(ACT_BOUND_BITS),
                BinaryOp::Max | BinaryOp::Min => a.zip(b).map(|(a, b)| a.max(b)),
                BinaryOp::Add | BinaryOp::Sub => a.zip(b).map(|(a, b)| a.max(b) + 1),
                BinaryOp::Mul => a.zip(b).map(|(a, b)| a + b),
            },
            Op::Compare(_) => Some(0),
            Op::Where => b.zip(bits[2]).map(|(b, c)| b.max(c)),
            Op::Cast { to } => match (in_ty(0).dtype, to) {
                (DType::F32, DType::F32) => a,
                (_, DType::F32) => Some(ACT_BOUND_BITS),
                (_, DType::Bool) => Some(0),
                (_, DType::I64) => a,
            },
            Op::ArgMax { axis, .. } => Some(bits_of(in_ty(0).shape[*axis] as u128)),
            Op::Reshape | Op::Transpose { .. } => a,
            Op::Select { .. } => bits
                .iter()
                .copied()
                .collect::<Option<Vec<u32>>>()
                .map(|b| b.into_iter().max().unwrap_or(0)),
            Op::Reduce { kind, axes } => match kind {
                ReduceKind::Sum => {
                    let len: usize = axes.iter().map(|&x| in_ty(0).shape[x]).product();
                    a.map(|a| a + bits_of(len as u128))
                }
                ReduceKind::Max | ReduceKind::Min => a,
            },
            Op::MatMul => a.and_then(|a| crate::bounds::matmul_bits(g, node, a)),
        }
    }

    /// Estimated Cairo steps per output element, rounded up from
    /// `scripts/bench-ops-results.md` (dense layers are costed per multiply-add by the
    /// partition).
    pub fn steps_per_element(&self) -> u64 {
        match self {
            Op::Unary(u) => match u {
                UnaryOp::Log => 700,
                UnaryOp::Sqrt => 260,
                UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round => 80,
                UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Relu | UnaryOp::LeakyRelu { .. } => {
                    STEPS_PER_ELEMENT
                }
            },
            Op::Binary(b) => match b {
                BinaryOp::Div => 260,
                BinaryOp::Mul => 80,
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Max | BinaryOp::Min => STEPS_PER_ELEMENT,
            },
            Op::Softmax { .. } => 400,
            Op::Table(f) => match f.relu_slope() == 0.0 {
                true => 140,
                false => 200,
            },
            Op::MatMul
            | Op::Compare(_)
            | Op::Where
            | Op::Reduce { .. }
            | Op::ArgMax { .. }
            | Op::Reshape
            | Op::Transpose { .. }
            | Op::Select { .. }
            | Op::Cast { .. }
            | Op::Rescale { .. } => STEPS_PER_ELEMENT,
        }
    }
}
