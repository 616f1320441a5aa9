//! /0/Gemm.ab: [2 × 6] · [6 × 12] + bias, at scale 2^-32.
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

/// One row: reads `x[0..6]`, returns the rest of `x`.
#[inline(never)]
fn row(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let (x, out) = block_0(x, out);
    let (x, out) = block_1(x, out);
    let (x, out) = block_2(x, out);
    (x.slice(6, x.len() - 6), out)
}

#[inline(never)]
fn block_0(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let acc = [-40403180, -1124053760, 613956992, -241708912];
    let (x, out, acc) = block_0_0(x, out, acc);
    let [y0, y1, y2, y3] = acc;
    let mut out = out;
    out.append(y0);
    out.append(y1);
    out.append(y2);
    out.append(y3);
    (x, out)
}

#[inline(never)]
fn block_0_0(
    x: Span<felt252>, out: Array<felt252>, acc: [felt252; 4],
) -> (Span<felt252>, Array<felt252>, [felt252; 4]) {
    core::internal::revoke_ap_tracking();
    let mut chunk = x.slice(0, 6);
    let [x0, x1, x2, x3, x4, x5] = (*chunk.multi_pop_front::<6>().unwrap()).unbox();
    let [a0, a1, a2, a3] = acc;
    (
        x,
        out,
        [
            a0 - x0 * 77043 + x1 * 29020 - x2 * 46077 + x3 * 3308 - x4 * 2787 + x5 * 1434,
            a1 + x0 * 100704 + x1 * 70088 - x2 * 63922 + x3 * 11121 - x4 * 11516 + x5 * 31713,
            a2 + x0 * 78368 + x1 * 22040 + x2 * 66027 + x3 * 16776 + x4 * 3308 + x5 * 7098,
            a3 + x0 * 6618 + x1 * 95279 + x2 * 9306 + x3 * 1765 - x4 * 2258 + x5 * 362,
        ],
    )
}

#[inline(never)]
fn block_1(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let acc = [223836128, 73085120, 911546560, -348565184];
    let (x, out, acc) = block_1_0(x, out, acc);
    let [y4, y5, y6, y7] = acc;
    let mut out = out;
    out.append(y4);
    out.append(y5);
    out.append(y6);
    out.append(y7);
    (x, out)
}

#[inline(never)]
fn block_1_0(
    x: Span<felt252>, out: Array<felt252>, acc: [felt252; 4],
) -> (Span<felt252>, Array<felt252>, [felt252; 4]) {
    core::internal::revoke_ap_tracking();
    let mut chunk = x.slice(0, 6);
    let [x0, x1, x2, x3, x4, x5] = (*chunk.multi_pop_front::<6>().unwrap()).unbox();
    let [a0, a1, a2, a3] = acc;
    (
        x,
        out,
        [
            a0 + x0 * 56060 - x1 * 10366 - x2 * 39454 + x3 * 2126 + x4 * 19204 - x5 * 5058,
            a1 - x0 * 1219 + x1 * 29 - x2 * 95694 - x3 * 1199 + x4 * 2093 + x5 * 7111,
            a2 - x0 * 13690 + x1 * 93042 + x2 * 20503 + x3 * 1532 + x4 * 4250 + x5 * 2324,
            a3 + x0 * 19307 - x1 * 105388 - x2 * 5303 - x3 * 5950 - x4 * 4743 - x5 * 4170,
        ],
    )
}

#[inline(never)]
fn block_2(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let acc = [1520840064, -271396288, -449078656, 214873584];
    let (x, out, acc) = block_2_0(x, out, acc);
    let [y8, y9, y10, y11] = acc;
    let mut out = out;
    out.append(y8);
    out.append(y9);
    out.append(y10);
    out.append(y11);
    (x, out)
}

#[inline(never)]
fn block_2_0(
    x: Span<felt252>, out: Array<felt252>, acc: [felt252; 4],
) -> (Span<felt252>, Array<felt252>, [felt252; 4]) {
    core::internal::revoke_ap_tracking();
    let mut chunk = x.slice(0, 6);
    let [x0, x1, x2, x3, x4, x5] = (*chunk.multi_pop_front::<6>().unwrap()).unbox();
    let [a0, a1, a2, a3] = acc;
    (
        x,
        out,
        [
            a0 - x0 * 106023 - x1 * 54343 - x2 * 26119 + x3 * 8365 - x4 * 15126 - x5 * 318,
            a1 - x0 * 3575 - x1 * 4532 + x2 * 119574 + x3 * 3779 - x4 * 6201 - x5 * 6320,
            a2 + x0 * 31858 - x1 * 95528 + x2 * 79342 - x3 * 17166 - x4 * 20782 + x5 * 30645,
            a3 + x0 * 115780 - x1 * 414 - x2 * 41386 + x3 * 8329 - x4 * 3710 + x5 * 1082,
        ],
    )
}
