//! /2/Gemm.ab: [2 × 12] · [12 × 3] + bias, at scale 2^-32.
//!
//! Straight-line multiply-adds with the weights as literals. `block_B` computes 4
//! outputs over all inputs by chaining `block_B_C`, each of which adds one chunk of inputs to the
//! running sums, so each input is loaded once per block and no function grows with the layer.
//! Each chunk function pushes about a thousand cells; it revokes ap tracking so that callers
//! keep what outlives a call in frame locals (ap-relative references would overflow the 16-bit
//! offsets after a few blocks).

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

/// One row: reads `x[0..12]`, returns the rest of `x`.
#[inline(never)]
fn row(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let (x, out) = block_0(x, out);
    (x.slice(12, x.len() - 12), out)
}

#[inline(never)]
fn block_0(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let acc = [447356864, -233539216, -702248448];
    let (x, out, acc) = block_0_0(x, out, acc);
    let [y0, y1, y2] = acc;
    let mut out = out;
    out.append(y0);
    out.append(y1);
    out.append(y2);
    (x, out)
}

#[inline(never)]
fn block_0_0(
    x: Span<felt252>, out: Array<felt252>, acc: [felt252; 3],
) -> (Span<felt252>, Array<felt252>, [felt252; 3]) {
    core::internal::revoke_ap_tracking();
    let mut chunk = x.slice(0, 12);
    let [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11] = (*chunk.multi_pop_front::<12>().unwrap()).unbox();
    let [a0, a1, a2] = acc;
    (
        x,
        out,
        [
            a0 - x0 * 84833 + x1 * 80671 + x2 * 117145 + x3 * 38422 + x4 * 86003 + x5 * 7369 - x6 * 50383 + x7 * 51053 - x8 * 84033 - x9 * 34809 + x10 * 44196 + x11 * 74681,
            a1 + x0 * 80076 + x1 * 90381 + x2 * 13671 + x3 * 103862 - x4 * 37774 - x5 * 27602 + x6 * 80481 - x7 * 72064 - x8 * 86304 + x9 * 1974 - x10 * 73627 - x11 * 25236,
            a2 - x0 * 83733 - x1 * 84934 + x2 * 85969 + x3 * 29395 - x4 * 45474 - x5 * 114667 + x6 * 67374 - x7 * 19379 - x8 * 36059 + x9 * 91326 + x10 * 62762 - x11 * 72363,
        ],
    )
}
