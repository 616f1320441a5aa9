//! Nonlinearities as piecewise-linear tables (`cairn_ir::fixed::Pwl`): the table is sampled at
//! steps of 2^-g on [-w, w] and constant beyond. Tables are generated with the program.

use crate::fixed::{pow2, rescale_down, rescale_up};

/// One table lookup with linear interpolation.
/// `offset` = w·2^s (s the input scale), `top` = 2w·2^s, `k` = s − g; the interpolated value
/// sits at scale (table scale + k) and is moved by `shift` bits to the output scale.
pub fn pwl(x: felt252, table: Span<felt252>, offset: felt252, top: i128, k: u32, shift: i32) -> felt252 {
    let u: i128 = match (x + offset).try_into() {
        Option::Some(v) => v,
        Option::None => panic!("cairn: value out of range in activation"),
    };
    let u: u128 = if u < 0 {
        0
    } else if u > top {
        top.try_into().unwrap()
    } else {
        u.try_into().unwrap()
    };
    let step = pow2(k);
    let step_nz: NonZero<u128> = step.try_into().unwrap();
    let (i, r) = DivRem::div_rem(u, step_nz);
    let i: usize = i.try_into().unwrap();
    let t0 = *table[i];
    let t1 = *table[i + 1];
    let y = t0 * step.into() + (t1 - t0) * r.into();
    if shift < 0 {
        rescale_down(y, (-shift).try_into().unwrap())
    } else {
        rescale_up(y, shift.try_into().unwrap())
    }
}

/// `pwl` over every element of a tensor.
pub fn pwl_all(x: Span<felt252>, table: Span<felt252>, offset: felt252, top: i128, k: u32, shift: i32) -> Array<felt252> {
    let mut out = array![];
    for v in x {
        out.append(pwl(*v, table, offset, top, k, shift));
    }
    out
}
