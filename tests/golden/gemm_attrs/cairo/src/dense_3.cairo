//! gemm.ab: [2 × 4] · [4 × 3], at scale 2^-32.
//!
//! Straight-line multiply-adds with the weights as literals. Outputs are packed 3 to a field element in 64-bit slots (sums need 60 bits).
//! `block_B` computes its outputs over all inputs by chaining `block_B_C`, each of which adds one
//! chunk of inputs to the running sums: each input is loaded once per block, and no function
//! grows with the layer. Chunk functions revoke ap tracking so that callers keep what outlives a
//! call in frame locals (ap-relative references would overflow after a few blocks).

use cairn_runtime::packed;

pub fn run(x: Span<felt252>) -> Span<felt252> {
    let mut x = x;
    let mut out: Array<felt252> = array![];
    for _r in 0..2_usize {
        let (rest, out1) = row(x, out);
        x = rest;
        out = out1;
    }
    out.span()
}

/// One row: reads `x[0..4]`, returns the rest of `x`.
#[inline(never)]
fn row(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let (x, out) = block_0(x, out);
    (x.slice(4, x.len() - 4), out)
}

#[inline(never)]
fn block_0(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let acc = [196159429230833773880502243441518902487005524874047258624];
    let (x, out, acc) = block_0_0(x, out, acc);
    let [a0] = acc;
    let mut out = out;
    let (p0_0, p0_1, p0_2, _p0_3) = packed::unpack_64(a0);
    out.append(p0_0 - 576460752303423488);
    out.append(p0_1 - 576460752303423488);
    out.append(p0_2 - 576460752303423488);
    (x, out)
}

#[inline(never)]
fn block_0_0(
    x: Span<felt252>, out: Array<felt252>, acc: [felt252; 1],
) -> (Span<felt252>, Array<felt252>, [felt252; 1]) {
    core::internal::revoke_ap_tracking();
    let mut chunk = x.slice(0, 4);
    let [x0, x1, x2, x3] = (*chunk.multi_pop_front::<4>().unwrap()).unbox();
    let [a0] = acc;
    (
        x,
        out,
        [
            a0 - x0 * 10976488309768712016487732345090870706438063 - x1 * 13836901886106120741010037112604300832387973 + x2 * 10923744542895966554173968712913186176612818 + x3 * 7958864279913829723565083118703684035222530,
        ],
    )
}
