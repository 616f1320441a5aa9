//! The closed set of operations, grouped into families the way naga groups `BinaryOperator`
//! and `MathFunction`: a family is one `Op` variant carrying a small enum of its members, so a
//! new member (an activation, a binary operator) is one enum case, and every match over the
//! family lists it. Each family's rules (arity, element types, output shape, scale, static
//! bound and step cost) live in [`crate::rules`], in one place, for validation, quantisation,
//! bounds and the partition's cost model alike.

use serde::{Deserialize, Serialize};

use crate::graph::DType;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// `a[.., m, k] @ b[k, n] (+ bias[n])`; `bias` is a constant; `b` a constant (weights,
    /// compiled to straight-line code) or a runtime tensor (a loop); or a batch
    /// `[B, m, k] @ [B, k, n]` of runtime matrices.
    MatMul,
    /// Element-wise arithmetic on two operands with numpy broadcasting.
    Binary(BinaryOp),
    /// Element-wise comparison with numpy broadcasting; the result is boolean (0 or 1), the
    /// operands at one scale, so fixed-point values compare exactly as their floats do.
    Compare(CmpKind),
    /// `cond ? a : b` element-wise with numpy broadcasting; `cond` is boolean, `a` and `b` at
    /// one scale.
    Where,
    /// Element-wise functions computed exactly (or rounded once) in fixed point.
    Unary(UnaryOp),
    /// Element-wise functions from a piecewise-linear table ([`crate::fixed::Pwl`]), plus a
    /// linear part `slope · max(x, 0)` for functions that grow like `x`.
    Table(TableFn),
    /// Softmax over contiguous `axes` (one for opset 13+; the trailing ones for older opsets).
    Softmax { axes: Vec<usize> },
    /// Reduction over contiguous `axes`, which stay as size 1 (ReduceMean and GlobalAveragePool
    /// are a sum and a product by a constant).
    Reduce { kind: ReduceKind, axes: Vec<usize> },
    /// Index of the largest element along `axis` (kept as size 1): the first one, or the last
    /// with `select_last`. The result is an integer.
    ArgMax { axis: usize, select_last: bool },
    /// Same data, the output's shape.
    Reshape,
    /// Axis permutation: output axis `i` is input axis `perm[i]`.
    Transpose { perm: Vec<usize> },
    /// Static data movement with zero fill: flat output element `i` is element `indices[i]` of
    /// the operands laid end to end, or 0 where `indices[i]` is negative (padding). Convolution
    /// patches (im2col), Slice, Pad, Concat, Gather with constant indices lower to it; the
    /// output's shape is the node's.
    Select { indices: Vec<i64> },
    /// Element type conversion (ONNX Cast): float → integer truncates toward zero, anything →
    /// bool is `≠ 0`, integer and bool → float are exact.
    Cast { to: DType },
    /// Fixed point only: multiply by 2^shift (shift ≥ 0) or divide by 2^-shift rounding half up
    /// (shift < 0), with a range check.
    Rescale { shift: i32 },
}

/// Binary arithmetic with numpy broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryOp {
    Add,
    Sub,
    /// The result is at the sum of the operands' scales (a rescale follows).
    Mul,
    /// Integers truncate toward zero (ONNX's integer Div); fixed-point values give `a / b` at
    /// their scale, rounded half away from zero. A zero divisor fails.
    Div,
    /// Element-wise maximum and minimum (Clip, And and Or lower to these).
    Max,
    Min,
}

/// Element-wise functions without a table.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum UnaryOp {
    Neg,
    Abs,
    Relu,
    /// `x` if `x ≥ 0`, else `alpha · x` (the slope quantised at [`crate::fixed::ALPHA_SCALE`]).
    LeakyRelu {
        alpha: f32,
    },
    /// √x at the operand's scale, rounded to nearest; a negative operand fails.
    Sqrt,
    /// ln x: the operand normalised to `m · 2^e` with `m` in [1, 2), ln m from a table, plus
    /// `e · ln 2` ([`crate::fixed::ln`]); an operand ≤ 0 fails.
    Log,
    /// Rounding to an integer, at the operand's scale, exactly ([`crate::fixed::round`]).
    Floor,
    Ceil,
    /// Half to even, as ONNX's Round.
    Round,
}

/// Element-wise functions evaluated as `table(x) + slope · max(x, 0)`: the table holds the
/// bounded part with constant tails, so functions that grow like `x` (Softplus, ELU, GELU, ...)
/// are exact far from the origin instead of saturating.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum TableFn {
    Sigmoid,
    Tanh,
    Erf,
    /// e^x, from a table on [-16, 23] (beyond 23 the result leaves the activation range at the
    /// default scale, and the range check fails).
    Exp,
    /// ln(1 + e^x).
    Softplus,
    /// `x` for x > 0, else `alpha · (e^x − 1)`.
    Elu {
        alpha: f32,
    },
    /// `gamma · x` for x > 0, else `gamma · alpha · (e^x − 1)`.
    Selu {
        alpha: f32,
        gamma: f32,
    },
    /// `max(0, x) + min(0, alpha · (e^(x/alpha) − 1))`.
    Celu {
        alpha: f32,
    },
    /// `x · tanh(softplus(x))`.
    Mish,
    /// `x · sigmoid(x)` (SiLU, swish).
    Silu,
    /// `x · Φ(x)`, exactly (`approximate = "none"`) or with the tanh approximation.
    Gelu {
        tanh: bool,
    },
    /// `x · max(0, min(1, x/6 + 1/2))`.
    HardSwish,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpKind {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReduceKind {
    Sum,
    Max,
    Min,
}

impl Op {
    /// The op's name in the IR text and in error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Op::MatMul => "matmul",
            Op::Binary(b) => b.name(),
            Op::Compare(kind) => kind.name(),
            Op::Where => "where",
            Op::Unary(u) => u.name(),
            Op::Table(f) => f.name(),
            Op::Softmax { .. } => "softmax",
            Op::Reduce { kind, .. } => kind.name(),
            Op::ArgMax { .. } => "argmax",
            Op::Reshape => "reshape",
            Op::Transpose { .. } => "transpose",
            Op::Select { .. } => "select",
            Op::Cast { .. } => "cast",
            Op::Rescale { .. } => "rescale",
        }
    }
}

impl BinaryOp {
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Max => "max",
            BinaryOp::Min => "min",
        }
    }
}

impl UnaryOp {
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Abs => "abs",
            UnaryOp::Relu => "relu",
            UnaryOp::LeakyRelu { .. } => "leaky_relu",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Log => "log",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::Round => "round",
        }
    }

    /// The attributes printed in the IR text.
    pub fn attrs(self) -> String {
        match self {
            UnaryOp::LeakyRelu { alpha } => format!(" alpha={alpha:?}"),
            UnaryOp::Neg
            | UnaryOp::Abs
            | UnaryOp::Relu
            | UnaryOp::Sqrt
            | UnaryOp::Log
            | UnaryOp::Floor
            | UnaryOp::Ceil
            | UnaryOp::Round => String::new(),
        }
    }
}

impl TableFn {
    pub fn name(self) -> &'static str {
        match self {
            TableFn::Sigmoid => "sigmoid",
            TableFn::Tanh => "tanh",
            TableFn::Erf => "erf",
            TableFn::Exp => "exp",
            TableFn::Softplus => "softplus",
            TableFn::Elu { .. } => "elu",
            TableFn::Selu { .. } => "selu",
            TableFn::Celu { .. } => "celu",
            TableFn::Mish => "mish",
            TableFn::Silu => "silu",
            TableFn::Gelu { tanh: false } => "gelu",
            TableFn::Gelu { tanh: true } => "gelu_tanh",
            TableFn::HardSwish => "hard_swish",
        }
    }

    /// The function itself, in f64 (the float interpreter, and the table's samples).
    pub fn eval(self, x: f64) -> f64 {
        let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        match self {
            TableFn::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            TableFn::Tanh => x.tanh(),
            TableFn::Erf => libm::erf(x),
            TableFn::Exp => x.exp(),
            TableFn::Softplus => softplus(x),
            TableFn::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha as f64 * x.exp_m1()
                }
            }
            TableFn::Selu { alpha, gamma } => {
                let (a, g) = (alpha as f64, gamma as f64);
                if x > 0.0 {
                    g * x
                } else {
                    g * a * x.exp_m1()
                }
            }
            TableFn::Celu { alpha } => {
                let a = alpha as f64;
                x.max(0.0) + (a * (x / a).exp_m1()).min(0.0)
            }
            TableFn::Mish => x * softplus(x).tanh(),
            TableFn::Silu => x / (1.0 + (-x).exp()),
            TableFn::Gelu { tanh: false } => {
                0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
            }
            TableFn::Gelu { tanh: true } => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
            }
            TableFn::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
        }
    }

    /// The slope of the linear part: the function minus `slope · max(x, 0)` is bounded and
    /// constant (to within 1e-7) beyond the table's interval.
    pub fn relu_slope(self) -> f64 {
        match self {
            TableFn::Sigmoid | TableFn::Tanh | TableFn::Erf | TableFn::Exp => 0.0,
            TableFn::Softplus
            | TableFn::Elu { .. }
            | TableFn::Celu { .. }
            | TableFn::Mish
            | TableFn::Silu
            | TableFn::Gelu { .. }
            | TableFn::HardSwish => 1.0,
            TableFn::Selu { gamma, .. } => gamma as f64,
        }
    }

    /// The interval the table covers and its grid (steps of 2^-grid_bits). Beyond it the
    /// bounded part is constant: within 1e-7 of its limit, or, for Exp, outside the
    /// activation range above and below 2^-23 under.
    pub fn interval(self) -> (i32, i32, u32) {
        match self {
            TableFn::Sigmoid => (-12, 12, 5),
            TableFn::Tanh => (-6, 6, 6),
            TableFn::Erf => (-4, 4, 6),
            TableFn::Exp => (-16, 23, 6),
            TableFn::Softplus | TableFn::Mish | TableFn::Silu => (-20, 20, 6),
            TableFn::Elu { .. } | TableFn::Selu { .. } => (-18, 0, 6),
            // e^(x/α) is within 2^-24 of 0 below -17α.
            TableFn::Celu { alpha } => (-((17.0 * alpha.abs()).ceil() as i32).max(1), 0, 6),
            TableFn::Gelu { .. } => (-6, 6, 6),
            TableFn::HardSwish => (-3, 3, 6),
        }
    }

    /// The table's name in generated code: parametrised functions carry their parameters' bits.
    pub fn ident(self) -> String {
        match self {
            TableFn::Sigmoid => "SIGMOID".into(),
            TableFn::Tanh => "TANH".into(),
            TableFn::Erf => "ERF".into(),
            TableFn::Exp => "EXP_FULL".into(),
            TableFn::Softplus => "SOFTPLUS".into(),
            TableFn::Elu { alpha } => format!("ELU_{:08X}", alpha.to_bits()),
            TableFn::Selu { alpha, gamma } => {
                format!("SELU_{:08X}_{:08X}", alpha.to_bits(), gamma.to_bits())
            }
            TableFn::Celu { alpha } => format!("CELU_{:08X}", alpha.to_bits()),
            TableFn::Mish => "MISH".into(),
            TableFn::Silu => "SILU".into(),
            TableFn::Gelu { tanh: false } => "GELU".into(),
            TableFn::Gelu { tanh: true } => "GELU_TANH".into(),
            TableFn::HardSwish => "HARD_SWISH".into(),
        }
    }

    /// The attributes printed in the IR text.
    pub fn attrs(self) -> String {
        match self {
            TableFn::Elu { alpha } | TableFn::Celu { alpha } => format!(" alpha={alpha:?}"),
            TableFn::Selu { alpha, gamma } => format!(" alpha={alpha:?} gamma={gamma:?}"),
            TableFn::Sigmoid
            | TableFn::Tanh
            | TableFn::Erf
            | TableFn::Exp
            | TableFn::Softplus
            | TableFn::Mish
            | TableFn::Silu
            | TableFn::Gelu { .. }
            | TableFn::HardSwish => String::new(),
        }
    }

    /// Whether the function is defined by a finite table everywhere the run can reach: false
    /// for parameters a table cannot hold (a non-finite or zero CELU alpha).
    pub fn is_tabulable(self) -> bool {
        match self {
            TableFn::Celu { alpha } => alpha.is_finite() && alpha != 0.0 && alpha.abs() <= 1e3,
            TableFn::Elu { alpha } => alpha.is_finite(),
            TableFn::Selu { alpha, gamma } => alpha.is_finite() && gamma.is_finite(),
            TableFn::Sigmoid
            | TableFn::Tanh
            | TableFn::Erf
            | TableFn::Exp
            | TableFn::Softplus
            | TableFn::Mish
            | TableFn::Silu
            | TableFn::Gelu { .. }
            | TableFn::HardSwish => true,
        }
    }
}

impl CmpKind {
    pub fn name(self) -> &'static str {
        match self {
            CmpKind::Equal => "equal",
            CmpKind::Less => "less",
            CmpKind::LessOrEqual => "less_equal",
            CmpKind::Greater => "greater",
            CmpKind::GreaterOrEqual => "greater_equal",
        }
    }

    pub fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpKind::Equal => a == b,
            CmpKind::Less => a < b,
            CmpKind::LessOrEqual => a <= b,
            CmpKind::Greater => a > b,
            CmpKind::GreaterOrEqual => a >= b,
        }
    }
}

impl ReduceKind {
    pub fn name(self) -> &'static str {
        match self {
            ReduceKind::Sum => "reduce_sum",
            ReduceKind::Max => "reduce_max",
            ReduceKind::Min => "reduce_min",
        }
    }
}
