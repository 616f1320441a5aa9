//! gemm.ab: [2 × 4] · [4 × 3], at scale 2^-32.
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

/// One row: reads `x[0..4]`, returns the rest of `x`.
#[inline(never)]
fn row(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let (x, out) = block_0(x, out);
    (x.slice(4, x.len() - 4), out)
}

#[inline(never)]
fn block_0(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let acc = [0, 0, 0];
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
    let mut chunk = x.slice(0, 4);
    let [x0, x1, x2, x3] = (*chunk.multi_pop_front::<4>().unwrap()).unbox();
    let [a0, a1, a2] = acc;
    (
        x,
        out,
        [
            a0 + x0 * 81 + x1 * 19579 - x2 * 17966 - x3 * 58366,
            a1 - x0 * 29797 - x1 * 64989 + x2 * 3942 + x3 * 87832,
            a2 - x0 * 32257 - x1 * 40663 + x2 * 32102 + x3 * 23389,
        ],
    )
}
