//! /0/Gemm.ab: [2 × 6] · [6 × 12] + bias, at scale 2^-32.
//!
//! Straight-line multiply-adds with the weights as literals. Outputs are packed 3 to a field element in 64-bit slots (sums need 61 bits).
//! `block_B` computes its outputs over all inputs by chaining `block_B_C`, each of which adds one
//! chunk of inputs to the running sums: each input is loaded once per block, and no function
//! grows with the layer. Chunk functions revoke ap tracking so that callers keep what outlives a
//! call in frame locals (ap-relative references would overflow after a few blocks). Each block
//! is a module of its own, so that the compiler can check and lower blocks in parallel.

mod block_0;

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
    let (x, out) = block_0::run(x, out);
    (x.slice(6, x.len() - 6), out)
}