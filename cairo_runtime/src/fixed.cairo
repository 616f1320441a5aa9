//! Signed fixed-point scalars in felt252, and their range checks.
//!
//! A value must never wrap around the field silently: each rescale converts its (biased)
//! operand to u128, which fails (and so fails the whole program, hence its proof) when the
//! value lies outside the window of `cairn_ir::fixed`.

/// 2^120, added before dividing so that the dividend is non-negative.
const RESCALE_BIAS: felt252 = 0x1000000000000000000000000000000;
const RESCALE_BIAS_U128: u128 = 0x1000000000000000000000000000000;
/// Inputs and rescale results must lie in [-2^40, 2^40) (`cairn_ir::fixed::ACT_BOUND_BITS`).
const ACT_BOUND: felt252 = 0x10000000000;
const ACT_RANGE: u128 = 0x20000000000;

const POW2: [u128; 128] = [
    0x1,
    0x2,
    0x4,
    0x8,
    0x10,
    0x20,
    0x40,
    0x80,
    0x100,
    0x200,
    0x400,
    0x800,
    0x1000,
    0x2000,
    0x4000,
    0x8000,
    0x10000,
    0x20000,
    0x40000,
    0x80000,
    0x100000,
    0x200000,
    0x400000,
    0x800000,
    0x1000000,
    0x2000000,
    0x4000000,
    0x8000000,
    0x10000000,
    0x20000000,
    0x40000000,
    0x80000000,
    0x100000000,
    0x200000000,
    0x400000000,
    0x800000000,
    0x1000000000,
    0x2000000000,
    0x4000000000,
    0x8000000000,
    0x10000000000,
    0x20000000000,
    0x40000000000,
    0x80000000000,
    0x100000000000,
    0x200000000000,
    0x400000000000,
    0x800000000000,
    0x1000000000000,
    0x2000000000000,
    0x4000000000000,
    0x8000000000000,
    0x10000000000000,
    0x20000000000000,
    0x40000000000000,
    0x80000000000000,
    0x100000000000000,
    0x200000000000000,
    0x400000000000000,
    0x800000000000000,
    0x1000000000000000,
    0x2000000000000000,
    0x4000000000000000,
    0x8000000000000000,
    0x10000000000000000,
    0x20000000000000000,
    0x40000000000000000,
    0x80000000000000000,
    0x100000000000000000,
    0x200000000000000000,
    0x400000000000000000,
    0x800000000000000000,
    0x1000000000000000000,
    0x2000000000000000000,
    0x4000000000000000000,
    0x8000000000000000000,
    0x10000000000000000000,
    0x20000000000000000000,
    0x40000000000000000000,
    0x80000000000000000000,
    0x100000000000000000000,
    0x200000000000000000000,
    0x400000000000000000000,
    0x800000000000000000000,
    0x1000000000000000000000,
    0x2000000000000000000000,
    0x4000000000000000000000,
    0x8000000000000000000000,
    0x10000000000000000000000,
    0x20000000000000000000000,
    0x40000000000000000000000,
    0x80000000000000000000000,
    0x100000000000000000000000,
    0x200000000000000000000000,
    0x400000000000000000000000,
    0x800000000000000000000000,
    0x1000000000000000000000000,
    0x2000000000000000000000000,
    0x4000000000000000000000000,
    0x8000000000000000000000000,
    0x10000000000000000000000000,
    0x20000000000000000000000000,
    0x40000000000000000000000000,
    0x80000000000000000000000000,
    0x100000000000000000000000000,
    0x200000000000000000000000000,
    0x400000000000000000000000000,
    0x800000000000000000000000000,
    0x1000000000000000000000000000,
    0x2000000000000000000000000000,
    0x4000000000000000000000000000,
    0x8000000000000000000000000000,
    0x10000000000000000000000000000,
    0x20000000000000000000000000000,
    0x40000000000000000000000000000,
    0x80000000000000000000000000000,
    0x100000000000000000000000000000,
    0x200000000000000000000000000000,
    0x400000000000000000000000000000,
    0x800000000000000000000000000000,
    0x1000000000000000000000000000000,
    0x2000000000000000000000000000000,
    0x4000000000000000000000000000000,
    0x8000000000000000000000000000000,
    0x10000000000000000000000000000000,
    0x20000000000000000000000000000000,
    0x40000000000000000000000000000000,
    0x80000000000000000000000000000000
];

/// 2^k as a u128.
pub fn pow2(k: u32) -> u128 {
    *POW2.span()[k]
}

/// A move by `shift` bits of scale, its constants computed once for a whole tensor.
#[derive(Copy, Drop)]
pub struct Rescale {
    /// 2^-shift (down) or 2^shift (up).
    d: NonZero<u128>,
    factor: felt252,
    down: bool,
    /// 2^120 + 2^-shift / 2, added before dividing.
    bias_half: felt252,
    /// 2^120 / 2^-shift, taken off after.
    offset: felt252,
}

pub fn prepare_rescale(shift: i32) -> Rescale {
    let down = shift < 0;
    let k: u32 = if down {
        (-shift).try_into().unwrap()
    } else {
        shift.try_into().unwrap()
    };
    let d = pow2(k);
    Rescale {
        d: d.try_into().unwrap(),
        factor: d.into(),
        down,
        bias_half: RESCALE_BIAS + (d / 2).into(),
        offset: (RESCALE_BIAS_U128 / d).into(),
    }
}

/// Moves `x` by the prepared shift: down, divides rounding half up (floor(x / d + 1/2)) and
/// fails outside the rescale window; up, multiplies. The result must lie in [-2^40, 2^40).
pub fn rescale(x: felt252, r: Rescale) -> felt252 {
    if !r.down {
        return check_act(x * r.factor);
    }
    let biased: u128 = match (x + r.bias_half).try_into() {
        Option::Some(v) => v,
        Option::None => panic!("cairn: value out of range in rescale"),
    };
    let (q, _) = DivRem::div_rem(biased, r.d);
    check_act(q.into() - r.offset)
}

/// Returns `y` if it lies in [-2^40, 2^40), fails otherwise.
pub fn check_act(y: felt252) -> felt252 {
    let shifted: u128 = match (y + ACT_BOUND).try_into() {
        Option::Some(v) => v,
        Option::None => panic!("cairn: activation out of range"),
    };
    assert(shifted < ACT_RANGE, 'cairn: activation out of range');
    y
}

/// The signed value of `x`; fails when it is outside the signed 128-bit range.
pub fn signed(x: felt252) -> i128 {
    match x.try_into() {
        Option::Some(v) => v,
        Option::None => panic!("cairn: value out of range"),
    }
}

/// The larger of two values (signed comparison).
pub fn max(a: felt252, b: felt252) -> felt252 {
    if signed(a) >= signed(b) {
        a
    } else {
        b
    }
}

/// The smaller of two values (signed comparison).
pub fn min(a: felt252, b: felt252) -> felt252 {
    if signed(a) <= signed(b) {
        a
    } else {
        b
    }
}

/// |x|.
pub fn abs(x: felt252) -> felt252 {
    if signed(x) < 0 {
        -x
    } else {
        x
    }
}

/// LeakyRelu: `x` if `x ≥ 0`, else `x · alpha / 2^16` rounded half up (`alpha` at scale 2^-16,
/// `cairn_ir::fixed::ALPHA_SCALE`; `down` is `prepare_rescale(-16)`).
pub fn leaky_relu(x: felt252, alpha: felt252, down: Rescale) -> felt252 {
    if signed(x) < 0 {
        rescale(x * alpha, down)
    } else {
        x
    }
}

/// max(x, 0). Fails when x is outside the signed 128-bit range.
pub fn relu(x: felt252) -> felt252 {
    let v: i128 = match x.try_into() {
        Option::Some(v) => v,
        Option::None => panic!("cairn: value out of range in relu"),
    };
    if v < 0 {
        0
    } else {
        x
    }
}

/// Asserts that an input value lies in [-2^40, 2^40).
pub fn check_input(x: felt252) {
    check_act(x);
}

/// |v| as a u128.
fn magnitude(v: i128) -> u128 {
    if v < 0 {
        (-v).try_into().unwrap()
    } else {
        v.try_into().unwrap()
    }
}

/// `a / b` truncated toward zero, range-checked; fails when `b` is 0.
pub fn div_trunc(a: felt252, b: felt252) -> felt252 {
    let (x, y) = (signed(a), signed(b));
    assert(y != 0, 'cairn: division by zero');
    check_act((x / y).into())
}

/// `a / b` for values at scale 2^-s, at scale 2^-s, rounded half away from zero, range-checked
/// (`cairn_ir::fixed::div`); fails when `b` is 0.
pub fn div(a: felt252, b: felt252, s: u32) -> felt252 {
    let (x, y) = (signed(a), signed(b));
    assert(y != 0, 'cairn: division by zero');
    let d = magnitude(y);
    let d_nz: NonZero<u128> = d.try_into().unwrap();
    let (q, _) = DivRem::div_rem(magnitude(x) * pow2(s) + d / 2, d_nz);
    let q: felt252 = q.into();
    if (x < 0) != (y < 0) {
        check_act(-q)
    } else {
        check_act(q)
    }
}

/// A value at scale 2^-s truncated toward zero to an integer.
pub fn trunc(x: felt252, s: u32) -> felt252 {
    let v = signed(x);
    let m: felt252 = (magnitude(v) / pow2(s)).into();
    if v < 0 {
        -m
    } else {
        m
    }
}

/// `x` at scale 2^-s rounded to an integer, still at scale 2^-s (`cairn_ir::fixed::round`):
/// `mode` 0 floors, 1 ceils, 2 rounds half to even. `x + 2^120` must lie in [0, 2^128).
pub fn round(x: felt252, s: u32, mode: u32) -> felt252 {
    let d = pow2(s);
    let biased: u128 = match (x + RESCALE_BIAS).try_into() {
        Option::Some(v) => v,
        Option::None => panic!("cairn: value out of range in rounding"),
    };
    let d_nz: NonZero<u128> = d.try_into().unwrap();
    let (q, r) = DivRem::div_rem(biased, d_nz);
    // 2^120 / d is even, so q has the parity of the floor.
    let up = if mode == 0 {
        false
    } else if mode == 1 {
        r > 0
    } else {
        r > d / 2 || (r > 0 && r == d / 2 && q % 2 == 1)
    };
    let n: felt252 = if up {
        (q + 1).into()
    } else {
        q.into()
    };
    check_act((n - (RESCALE_BIAS_U128 / d).into()) * d.into())
}

/// √x for `x` at scale 2^-s, at scale 2^-s, rounded to nearest (`cairn_ir::fixed::sqrt`);
/// fails on a negative `x`.
pub fn sqrt(x: felt252, s: u32) -> felt252 {
    let v = signed(x);
    assert(v >= 0, 'cairn: sqrt of a negative value');
    let n: u128 = magnitude(v) * pow2(s);
    let r: u128 = core::num::traits::Sqrt::sqrt(n).into();
    // (r + 1/2)² = r² + r + 1/4: n rounds up exactly when n - r² > r.
    let r = if n - r * r > r {
        r + 1
    } else {
        r
    };
    check_act(r.into())
}
