//! Fixed-point semantics shared by the Rust interpreter and the generated Cairo.
//!
//! A float tensor at scale `s` holds integers `q = round(x · 2^s)` (signed; negative values are
//! `p - |q|` in the Cairo field). Operand scale rules:
//! - `Add`/`Sub`: both operands and the result at one scale;
//! - `Mul` and `MatMul`: result scale = sum of operand scales (a bias is at that scale too);
//! - `Relu`, `Reshape`, `Transpose`, `Select`: result at the operand's scale (padding is 0);
//! - `Sigmoid`/`Tanh`: any operand scale ≥ the table's grid bits, any result scale;
//! - `Rescale { shift }`: result scale = operand scale + shift.
//!
//! Every rescale is an exact integer division with range checks: its operand must lie in the
//! rescale window and its result in the activation range, or the program fails (and so does its
//! proof) instead of wrapping silently in the field.
//!
//! The activation range is what makes packed dense layers sound: every input of a dense layer is
//! a checked input, a rescale result, or something derived from those with a known bound
//! ([`crate::bounds`]), so the sum each packed lane accumulates is bounded at compile time.

use crate::op::TableFn;

/// Values entering a rescale must satisfy `0 ≤ x + 2^RESCALE_BIAS_BITS + d/2 < 2^128`; the
/// Cairo runtime checks it with a `felt252 → u128` conversion.
pub const RESCALE_BIAS_BITS: u32 = 120;
/// Inputs and rescale results lie in `[-2^ACT_BOUND_BITS, 2^ACT_BOUND_BITS)`: checked at entry
/// and after every rescale. At the default scale 16 that is ±2^24 ≈ ±16.7 million.
pub const ACT_BOUND_BITS: u32 = 40;
/// Inputs must lie in `[-2^INPUT_BOUND_BITS, 2^INPUT_BOUND_BITS)`; checked on entry.
pub const INPUT_BOUND_BITS: u32 = ACT_BOUND_BITS;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fixed-point value {value} is out of range for a rescale by 2^{shift} (activations must stay within ±2^{ACT_BOUND_BITS} at their scale)")]
pub struct RangeError {
    pub value: i128,
    pub shift: i32,
}

/// Multiplies by `2^shift`, or divides by `2^-shift` rounding half up (`floor(x/d + 1/2)`),
/// failing where the Cairo runtime's range checks fail.
pub fn rescale(x: i128, shift: i32) -> Result<i128, RangeError> {
    let err = RangeError { value: x, shift };
    let y = if shift >= 0 {
        x.checked_mul(1i128 << shift).ok_or(err.clone())?
    } else {
        let k = (-shift) as u32;
        let d = 1i128 << k;
        let biased = check_window(x, k).ok_or(err.clone())?;
        biased.div_euclid(d) - (1i128 << (RESCALE_BIAS_BITS - k))
    };
    in_act_range(y).then_some(y).ok_or(err)
}

/// `|y| < 2^ACT_BOUND_BITS` (lower bound inclusive), as `cairn_runtime::fixed::check_act`.
pub fn in_act_range(y: i128) -> bool {
    (-(1i128 << ACT_BOUND_BITS)..(1i128 << ACT_BOUND_BITS)).contains(&y)
}

/// `x + 2^120 + d/2` when it lies in `[0, 2^128)`.
fn check_window(x: i128, k: u32) -> Option<i128> {
    let half = if k == 0 { 0 } else { 1i128 << (k - 1) };
    let biased = x
        .checked_add(1i128 << RESCALE_BIAS_BITS)?
        .checked_add(half)?;
    // An i128 is always below 2^128; the window is [0, 2^128).
    (biased >= 0).then_some(biased)
}

/// `a / b` for two values at scale `s`, at scale `s`, rounded half away from zero; mirrors
/// `cairn_runtime::fixed::div`. `b` must not be 0; fails where `|a| · 2^s` leaves 128 bits.
pub fn div(a: i128, b: i128, s: u32) -> Result<i128, RangeError> {
    let err = RangeError {
        value: a,
        shift: s as i32,
    };
    let n = a
        .unsigned_abs()
        .checked_mul(1u128 << s)
        .ok_or(err.clone())?;
    let d = b.unsigned_abs();
    let q = (n.checked_add(d / 2).ok_or(err.clone())? / d) as i128;
    if q > i128::MAX / 2 {
        return Err(err);
    }
    Ok(if (a < 0) != (b < 0) { -q } else { q })
}

/// √x for `x` at scale `s`, at scale `s`, rounded to nearest: `round(√(x · 2^s))`; mirrors
/// `cairn_runtime::fixed::sqrt`. Fails on a negative `x` or where `x · 2^s` leaves 128 bits.
pub fn sqrt(x: i128, s: u32) -> Result<i128, RangeError> {
    let err = RangeError {
        value: x,
        shift: s as i32,
    };
    if x < 0 {
        return Err(err);
    }
    let n = (x as u128).checked_mul(1u128 << s).ok_or(err.clone())?;
    let r = n.isqrt();
    // (r + 1/2)² = r² + r + 1/4: n rounds up exactly when n - r² > r.
    let r = if n - r * r > r { r + 1 } else { r };
    let r = r as i128;
    in_act_range(r).then_some(r).ok_or(err)
}

/// How [`round`] rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    Floor,
    Ceil,
    HalfToEven,
}

/// `x` at scale `s` rounded to an integer, still at scale `s`; mirrors
/// `cairn_runtime::fixed::round`. The division by 2^s floors exactly (the Cairo runtime biases
/// by 2^120 first, so `x` must be at least -2^120); the result is range-checked.
pub fn round(x: i128, s: u32, mode: Rounding) -> Result<i128, RangeError> {
    let err = RangeError { value: x, shift: 0 };
    if x < -(1i128 << RESCALE_BIAS_BITS) {
        return Err(err);
    }
    let d = 1i128 << s;
    let (q, r) = (x.div_euclid(d), x.rem_euclid(d));
    let up = match mode {
        Rounding::Floor => false,
        Rounding::Ceil => r > 0,
        Rounding::HalfToEven => r > d / 2 || (r > 0 && r == d / 2 && q.rem_euclid(2) == 1),
    };
    let y = (q + up as i128).checked_mul(d).ok_or(err.clone())?;
    in_act_range(y).then_some(y).ok_or(err)
}

/// Fractional bits of the mantissa [`ln`] normalises its operand to.
pub const LN_MANTISSA_BITS: u32 = 24;
/// ln 2 at scale 2^-24.
pub const LN2_Q24: i128 = 11_629_080;

/// ln x for `x` at scale `s_in`, at scale `s_out`; mirrors `cairn_runtime::activation::ln`.
/// With `x = m · 2^(e - s_in)`, `m` in [1, 2) (e = ⌊log₂ x⌋ of the integer, the mantissa
/// truncated to 24 bits): `ln m` from `table` ([`Pwl::ln`]) plus `(e - s_in) · ln 2`, at scale
/// 2^-24, rounded to `s_out`. Fails when `x ≤ 0`.
pub fn ln(x: i128, s_in: u32, s_out: u32, table: &Pwl) -> Result<i128, RangeError> {
    if x <= 0 {
        return Err(RangeError { value: x, shift: 0 });
    }
    let q = x as u128;
    let e = 127 - q.leading_zeros();
    let m = LN_MANTISSA_BITS;
    let u = if e >= m { q >> (e - m) } else { q << (m - e) };
    let lnm = table.eval(u as i128, m, m)?;
    let y = lnm + (e as i128 - s_in as i128) * LN2_Q24;
    rescale(y, s_out as i32 - m as i32)
}

/// Fractional bits of LeakyRelu's slope and of a table function's linear slope.
pub const ALPHA_SCALE: u32 = 16;

/// The slope of a table function's linear part at [`ALPHA_SCALE`].
pub fn slope_q(f: TableFn) -> i128 {
    quantise(f.relu_slope(), ALPHA_SCALE).unwrap_or(0) as i128
}

/// A table function on `x` at scale `s_in`, at scale `s_out`: the table's value
/// ([`Pwl::eval`]) plus, for `x > 0`, `x · slope_q / 2^ALPHA_SCALE` rescaled to `s_out`
/// (rounded half up), the sum range-checked. Mirrors `cairn_runtime::activation::table_fn`.
pub fn table_fn(
    x: i128,
    s_in: u32,
    s_out: u32,
    pwl: &Pwl,
    slope_q: i128,
) -> Result<i128, RangeError> {
    let y = pwl.eval(x, s_in, s_out)?;
    if slope_q == 0 || x <= 0 {
        return Ok(y);
    }
    let err = RangeError { value: x, shift: 0 };
    let product = x.checked_mul(slope_q).ok_or(err.clone())?;
    let z = y + rescale(product, s_out as i32 - s_in as i32 - ALPHA_SCALE as i32)?;
    in_act_range(z).then_some(z).ok_or(err)
}

/// LeakyRelu on a fixed-point value: `x` if `x ≥ 0`, else `x · alpha_q / 2^ALPHA_SCALE`
/// rounded half up; `alpha_q` is the slope at scale [`ALPHA_SCALE`].
pub fn leaky_relu(x: i128, alpha_q: i128) -> Result<i128, RangeError> {
    if x >= 0 {
        Ok(x)
    } else {
        rescale(x.saturating_mul(alpha_q), -(ALPHA_SCALE as i32))
    }
}

/// Quantises a float at scale `s`, rounding half away from zero.
pub fn quantise(x: f64, s: u32) -> Option<i64> {
    let q = (x * (1u64 << s) as f64).round();
    (q.is_finite() && q.abs() < (1i64 << 62) as f64).then_some(q as i64)
}

pub fn dequantise(q: i128, s: u32) -> f64 {
    q as f64 / (1u64 << s) as f64
}

/// A piecewise-linear approximation of a function on `[lo, hi]`, tabulated at steps of
/// `2^-grid_bits` with values at scale `table_scale`, and constant beyond.
#[derive(Debug, Clone, PartialEq)]
pub struct Pwl {
    pub name: &'static str,
    pub lo: i32,
    pub hi: i32,
    pub grid_bits: u32,
    pub table_scale: u32,
    /// `(hi - lo)·2^grid_bits + 2` entries; the last repeats the one before so the final
    /// segment is flat.
    pub table: Vec<i64>,
}

impl Pwl {
    fn build(name: &'static str, f: impl Fn(f64) -> f64, lo: i32, hi: i32, grid_bits: u32) -> Pwl {
        let table_scale = 24;
        let n = (hi - lo) as usize * (1 << grid_bits) + 1;
        let mut table: Vec<i64> = (0..n)
            .map(|i| {
                let x = lo as f64 + i as f64 / (1u64 << grid_bits) as f64;
                quantise(f(x), table_scale).unwrap_or(0)
            })
            .collect();
        table.push(table[n - 1]);
        Pwl {
            name,
            lo,
            hi,
            grid_bits,
            table_scale,
            table,
        }
    }

    /// The table of a [`TableFn`]: its bounded part `f(x) − slope · max(x, 0)` on the
    /// function's interval.
    pub fn of(f: TableFn) -> Pwl {
        let (lo, hi, grid_bits) = f.interval();
        let slope = f.relu_slope();
        Pwl::build(
            f.name(),
            move |x| f.eval(x) - slope * x.max(0.0),
            lo,
            hi,
            grid_bits,
        )
    }

    /// exp on [-16, 0]: softmax evaluates it on max-subtracted (non-positive) values only.
    pub fn exp() -> Pwl {
        Pwl::build("exp", f64::exp, -16, 0, 6)
    }

    /// ln on [1, 2], the mantissa's logarithm for [`ln`].
    pub fn ln() -> Pwl {
        Pwl::build("ln", f64::ln, 1, 2, 8)
    }

    /// `-lo · 2^s_in`: added to an input at scale `s_in` to index the table.
    pub fn offset(&self, s_in: u32) -> i128 {
        (-(self.lo as i128)) << s_in
    }

    /// `(hi - lo) · 2^s_in`: the last table position at input scale `s_in`.
    pub fn top(&self, s_in: u32) -> i128 {
        ((self.hi - self.lo) as i128) << s_in
    }

    /// Evaluates the approximation on `x` at scale `s_in` (≥ `grid_bits`), giving a value at
    /// scale `s_out`. Mirrors `cairn_runtime::activation::lookup` step for step.
    pub fn eval(&self, x: i128, s_in: u32, s_out: u32) -> Result<i128, RangeError> {
        let k = s_in - self.grid_bits;
        let u = x
            .checked_add(self.offset(s_in))
            .ok_or(RangeError { value: x, shift: 0 })?
            .clamp(0, self.top(s_in));
        let i = (u >> k) as usize;
        let r = u - ((i as i128) << k);
        let (t0, t1) = (self.table[i] as i128, self.table[i + 1] as i128);
        let y = (t0 << k) + (t1 - t0) * r;
        rescale(y, s_out as i32 - (self.table_scale + k) as i32)
    }
}

/// Softmax of one slice at input scale `s_in`, output at `s_out`; mirrors
/// `cairn_runtime::activation::softmax`. With `m` the slice's maximum: `e_i = exp(x_i - m)` from
/// the [`Pwl::exp`] table at scale 2^-24 (so the largest is exactly 2^24), then
/// `y_i = floor((e_i · 2^s_out + Σe/2) / Σe)`: the division rounds half up and Σe ≥ 2^24.
pub fn softmax(xs: &[i128], s_in: u32, s_out: u32, exp: &Pwl) -> Result<Vec<i128>, RangeError> {
    let m = xs.iter().copied().max().unwrap_or(0);
    let e: Vec<i128> = xs
        .iter()
        .map(|&x| exp.eval(x - m, s_in, exp.table_scale))
        .collect::<Result<_, _>>()?;
    let sum: i128 = e.iter().sum();
    Ok(e.iter().map(|&v| ((v << s_out) + sum / 2) / sum).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_rounds_half_up_like_floor_of_x_plus_half() {
        for x in -1000i128..1000 {
            for k in 1..6 {
                let d = (1i128 << k) as f64;
                let expect = (x as f64 / d + 0.5).floor() as i128;
                assert_eq!(rescale(x, -k).unwrap(), expect, "x={x} k={k}");
            }
        }
        assert_eq!(rescale(-3, 2).unwrap(), -12);
    }

    #[test]
    fn rescale_rejects_values_outside_the_window_and_the_activation_range() {
        assert!(rescale(1i128 << 55, -16).is_ok());
        assert!(rescale(1i128 << 56, -16).is_err()); // result 2^40
        assert!(rescale(-(1i128 << 56), -16).is_ok()); // result -2^40
        assert!(rescale(-(1i128 << 121), -16).is_err());
        assert!(rescale(i128::MAX, -1).is_err());
        assert!(rescale(1i128 << 30, 10).is_err());
    }

    /// ln, √ and division against f64: ln within 4e-6 (table, mantissa truncation and ln 2 at
    /// 24 bits, then the output's rounding), √ and division within half a unit of the output.
    #[test]
    fn ln_sqrt_and_div_stay_within_their_stated_error() {
        let table = Pwl::ln();
        let s = 16;
        let ulp = 1.0 / (1u64 << s) as f64;
        for i in 1..20_000 {
            let x = i as f64 * 0.37 / 64.0 + (i % 7) as f64 * 1e-3;
            let q = quantise(x, s).unwrap() as i128;
            let xq = dequantise(q, s);
            let l = dequantise(ln(q, s, s, &table).unwrap(), s);
            assert!((l - xq.ln()).abs() < 4e-6 + ulp / 2.0, "ln {xq}: {l}");
            let r = dequantise(sqrt(q, s).unwrap(), s);
            assert!((r - xq.sqrt()).abs() <= ulp / 2.0 + 1e-12, "sqrt {xq}: {r}");
            let d = dequantise(div(q, -(q / 3 + 1), s).unwrap(), s);
            let want = xq / -dequantise(q / 3 + 1, s);
            assert!(
                (d - want).abs() <= ulp / 2.0 + 1e-12,
                "div {xq}: {d} vs {want}"
            );
        }
        // exp (up to 10, where e^x at scale 2^-24 leaves the activation range): relative error
        // 3.1e-5 (h²/8 with h = 2^-6), plus the table's 2^-24 resolution.
        let exp = Pwl::of(TableFn::Exp);
        for i in -16_000..=10_000 {
            let x = i as f64 / 1000.0;
            let q = quantise(x, 24).unwrap() as i128;
            let y = dequantise(exp.eval(q, 24, 24).unwrap(), 24);
            let want = dequantise(q, 24).exp();
            assert!(
                (y - want).abs() < 3.2e-5 * want + 1.2e-7,
                "exp {x}: {y} vs {want}"
            );
        }
        assert!(ln(0, s, s, &table).is_err());
        // Rounding against f64 at scale 16, ties included.
        for i in -5000i128..5000 {
            let q = i * 8193;
            let x = dequantise(q, s);
            for (mode, want) in [
                (Rounding::Floor, x.floor()),
                (Rounding::Ceil, x.ceil()),
                (Rounding::HalfToEven, x.round_ties_even()),
            ] {
                assert_eq!(
                    dequantise(round(q, s, mode).unwrap(), s),
                    want,
                    "{mode:?} {x}"
                );
            }
        }
        assert_eq!(round(-(3 << 15), 16, Rounding::HalfToEven), Ok(-(2 << 16)));
        assert_eq!(round(5 << 15, 16, Rounding::HalfToEven), Ok(2 << 16));
        assert_eq!(round(7 << 15, 16, Rounding::HalfToEven), Ok(4 << 16));
        assert!(sqrt(-1, s).is_err());
    }

    /// The stated maximum errors of the approximations (README, "Numerics"), measured against
    /// f64 on a dense grid over [-40, 40], with 24-bit input and output scales, the linear part
    /// included: every table function, and softmax's exp.
    #[test]
    fn activation_tables_stay_within_their_stated_error() {
        let exp = Pwl::exp();
        let softmax_exp = |x: f64| if x <= 0.0 { x.exp() } else { 1.0 };
        let mut worst_exp: f64 = 0.0;
        for i in -80_000..=80_000 {
            let x = i as f64 / 2000.0;
            let q = quantise(x, 24).unwrap() as i128;
            let y = dequantise(exp.eval(q, 24, 24).unwrap(), 24);
            worst_exp = worst_exp.max((y - softmax_exp(x)).abs());
        }
        assert!(worst_exp < 4e-5, "softmax exp: max error {worst_exp}");
        for (f, bound) in [
            (TableFn::Sigmoid, 2e-5),
            (TableFn::Tanh, 4e-5),
            (TableFn::Erf, 4e-5),
            (TableFn::Softplus, 2e-5),
            (TableFn::Elu { alpha: 1.0 }, 4e-5),
            (TableFn::Elu { alpha: 0.5 }, 2e-5),
            (
                TableFn::Selu {
                    alpha: 1.673_263_2,
                    gamma: 1.050_701,
                },
                8e-5,
            ),
            (TableFn::Celu { alpha: 1.0 }, 4e-5),
            (TableFn::Celu { alpha: 2.0 }, 2e-5),
            (TableFn::Mish, 4e-5),
            (TableFn::Silu, 4e-5),
            (TableFn::Gelu { tanh: false }, 4e-5),
            (TableFn::Gelu { tanh: true }, 4e-5),
            (TableFn::HardSwish, 2e-5),
        ] {
            let pwl = Pwl::of(f);
            let slope = slope_q(f);
            let mut worst: f64 = 0.0;
            for i in -80_000..=80_000 {
                let x = i as f64 / 2000.0;
                let q = quantise(x, 24).unwrap() as i128;
                let y = dequantise(table_fn(q, 24, 24, &pwl, slope).unwrap(), 24);
                // The slope is quantised at 2^-16: its relative error is part of the bound.
                let want = f.eval(x);
                worst = worst.max((y - want).abs() / want.abs().max(1.0));
            }
            assert!(worst < bound, "{}: max error {worst}", f.name());
        }
    }
}
