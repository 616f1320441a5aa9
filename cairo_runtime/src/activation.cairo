//! Nonlinearities as piecewise-linear tables (`cairn_ir::fixed::Pwl`): the table is sampled at
//! steps of 2^-g on [-w, w] and constant beyond. Tables are generated with the program.

use crate::fixed;
use crate::fixed::pow2;

/// A table lookup's constants, computed once for a whole tensor.
#[derive(Copy, Drop)]
pub struct Lookup {
    table: Span<felt252>,
    offset: felt252,
    top: u128,
    step: NonZero<u128>,
    step_felt: felt252,
    out: fixed::Rescale,
}

/// `offset` = w·2^s (s the input scale), `top` = 2w·2^s, `k` = s − g; the interpolated value
/// sits at scale (table scale + k) and is moved by `shift` bits to the output scale.
pub fn prepare(table: Span<felt252>, offset: felt252, top: i128, k: u32, shift: i32) -> Lookup {
    let step = pow2(k);
    Lookup {
        table,
        offset,
        top: top.try_into().unwrap(),
        step: step.try_into().unwrap(),
        step_felt: step.into(),
        out: fixed::prepare_rescale(shift),
    }
}

/// One table lookup with linear interpolation (`cairn_ir::fixed::Pwl::eval`).
pub fn lookup(x: felt252, t: Lookup) -> felt252 {
    let u: i128 = match (x + t.offset).try_into() {
        Option::Some(v) => v,
        Option::None => panic!("cairn: value out of range in activation"),
    };
    let u: u128 = if u < 0 {
        0
    } else {
        let u: u128 = u.try_into().unwrap();
        if u > t.top {
            t.top
        } else {
            u
        }
    };
    let (i, r) = DivRem::div_rem(u, t.step);
    let i: usize = i.try_into().unwrap();
    let t0 = *t.table[i];
    let t1 = *t.table[i + 1];
    fixed::rescale(t0 * t.step_felt + (t1 - t0) * r.into(), t.out)
}

/// `pwl` over every element of a tensor.
pub fn pwl_all(x: Span<felt252>, table: Span<felt252>, offset: felt252, top: i128, k: u32, shift: i32) -> Array<felt252> {
    let t = prepare(table, offset, top, k, shift);
    let mut out = array![];
    for v in x {
        out.append(lookup(*v, t));
    }
    out
}

/// A table function with a linear part over every element (`cairn_ir::fixed::table_fn`): the
/// table's value (`offset`, `top`, `k`, `shift` as for `pwl`) plus, for `x > 0`,
/// `x · slope` (the slope at scale 2^-16) moved by `lin_shift` bits to the output scale,
/// rounded half up; the sum is range-checked.
pub fn table_fn_all(
    x: Span<felt252>,
    table: Span<felt252>,
    offset: felt252,
    top: i128,
    k: u32,
    shift: i32,
    slope: felt252,
    lin_shift: i32,
) -> Array<felt252> {
    let t = prepare(table, offset, top, k, shift);
    let lin = fixed::prepare_rescale(lin_shift);
    let mut out = array![];
    for v in x {
        let y = lookup(*v, t);
        if fixed::signed(*v) > 0 {
            out.append(fixed::check_act(y + fixed::rescale(*v * slope, lin)));
        } else {
            out.append(y);
        }
    }
    out
}

/// Softmax over the middle axis of `x` seen as [outer, len, inner]; mirrors
/// `cairn_ir::fixed::softmax`. `e = exp(x - max)` comes from the exp table (`offset`, `top`, `k`,
/// `shift` as for `pwl`) at scale 2^-24, so the largest is exactly 2^24; then
/// `y = floor((e · 2^s_out + Σe/2) / Σe)`.
pub fn softmax(
    x: Span<felt252>,
    outer: usize,
    len: usize,
    inner: usize,
    table: Span<felt252>,
    offset: felt252,
    top: i128,
    k: u32,
    shift: i32,
    s_out: u32,
) -> Array<felt252> {
    let stride = len * inner;
    let mut maxs: Array<felt252> = array![];
    for o in 0..outer {
        for i in 0..inner {
            let mut m = *x[o * stride + i];
            for l in 1..len {
                m = fixed::max(m, *x[o * stride + l * inner + i]);
            }
            maxs.append(m);
        }
    }
    let maxs = maxs.span();
    let t = prepare(table, offset, top, k, shift);
    let mut e: Array<felt252> = array![];
    let mut idx = 0;
    for v in x {
        let m = *maxs[(idx / stride) * inner + idx % inner];
        e.append(lookup(*v - m, t));
        idx += 1;
    }
    let e = e.span();
    let mut sums: Array<u128> = array![];
    for o in 0..outer {
        for i in 0..inner {
            let mut sum: u128 = 0;
            for l in 0..len {
                let v: u128 = (*e[o * stride + l * inner + i]).try_into().unwrap();
                sum += v;
            }
            sums.append(sum);
        }
    }
    let sums = sums.span();
    let scale = pow2(s_out);
    let mut out = array![];
    let mut idx = 0;
    for v in e {
        let sum = *sums[(idx / stride) * inner + idx % inner];
        let v: u128 = (*v).try_into().unwrap();
        let sum_nz: NonZero<u128> = sum.try_into().unwrap();
        let (q, _) = DivRem::div_rem(v * scale + sum / 2, sum_nz);
        out.append(q.into());
        idx += 1;
    }
    out
}

/// ln 2 at scale 2^-24.
const LN2_Q24: felt252 = 11629080;

/// ln x for `x` at scale 2^-s_in, at scale 2^-s_out; mirrors `cairn_ir::fixed::ln`. The
/// operand is normalised to `m · 2^e` with m in [1, 2) at scale 2^-24 (e = ⌊log₂ x⌋ by binary
/// search), ln m comes from the table (`offset`, `top`, `k`, `shift` as for `pwl`, giving scale
/// 2^-24), and `(e - s_in) · ln 2` is added. Fails when `x ≤ 0`.
pub fn ln(x: felt252, t: Lookup, s_in: u32, out: fixed::Rescale) -> felt252 {
    let v = fixed::signed(x);
    assert(v > 0, 'cairn: log of a value <= 0');
    let q: u128 = v.try_into().unwrap();
    let mut e: u32 = 0;
    let mut step: u32 = 64;
    while step > 0 {
        if e + step < 128 && q >= pow2(e + step) {
            e += step;
        }
        step /= 2;
    }
    let u: u128 = if e >= 24 {
        q / pow2(e - 24)
    } else {
        q * pow2(24 - e)
    };
    let m = lookup(u.into(), t);
    let e_felt: felt252 = e.into();
    let s_felt: felt252 = s_in.into();
    let y = m + (e_felt - s_felt) * LN2_Q24;
    fixed::rescale(y, out)
}

/// `ln` over every element of a tensor.
pub fn ln_all(
    x: Span<felt252>, table: Span<felt252>, offset: felt252, top: i128, k: u32, shift: i32, s_in: u32, s_out: u32,
) -> Array<felt252> {
    let t = prepare(table, offset, top, k, shift);
    let s_out: i32 = s_out.try_into().unwrap();
    let rescale = fixed::prepare_rescale(s_out - 24);
    let mut out = array![];
    for v in x {
        out.append(ln(*v, t, s_in, rescale));
    }
    out
}
