//! Whole-tensor helpers over flat row-major spans.

use crate::fixed;
use crate::fixed::{check_input, relu, signed};

/// Element-wise sum of two tensors of one shape.
pub fn add(a: Span<felt252>, b: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    let mut b = b;
    for x in a {
        out.append(*x + *b.pop_front().unwrap());
    }
    out
}

/// Element-wise difference of two tensors of one shape.
pub fn sub(a: Span<felt252>, b: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    let mut b = b;
    for x in a {
        out.append(*x - *b.pop_front().unwrap());
    }
    out
}

/// Element-wise product of two tensors of one shape (at the sum of their scales).
pub fn mul(a: Span<felt252>, b: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    let mut b = b;
    for x in a {
        out.append(*x * *b.pop_front().unwrap());
    }
    out
}

/// Element-wise maximum of two tensors of one shape and scale.
pub fn max(a: Span<felt252>, b: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    let mut b = b;
    for x in a {
        out.append(fixed::max(*x, *b.pop_front().unwrap()));
    }
    out
}

/// Element-wise minimum of two tensors of one shape and scale.
pub fn min(a: Span<felt252>, b: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    let mut b = b;
    for x in a {
        out.append(fixed::min(*x, *b.pop_front().unwrap()));
    }
    out
}

/// Asserts that every element is 0 or 1 (a boolean input).
pub fn check_bools(x: Span<felt252>) {
    for v in x {
        assert(*v * (*v - 1) == 0, 'cairn: boolean not 0 or 1');
    }
}

/// Floor of every element at scale 2^-s.
pub fn floor_all(x: Span<felt252>, s: u32) -> Array<felt252> {
    round_with(x, s, 0)
}

/// Ceiling of every element at scale 2^-s.
pub fn ceil_all(x: Span<felt252>, s: u32) -> Array<felt252> {
    round_with(x, s, 1)
}

/// Every element at scale 2^-s rounded half to even.
pub fn round_all(x: Span<felt252>, s: u32) -> Array<felt252> {
    round_with(x, s, 2)
}

fn round_with(x: Span<felt252>, s: u32, mode: u32) -> Array<felt252> {
    let mut out = array![];
    for v in x {
        out.append(fixed::round(*v, s, mode));
    }
    out
}

pub fn neg_all(x: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    for v in x {
        out.append(-*v);
    }
    out
}

pub fn abs_all(x: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    for v in x {
        out.append(fixed::abs(*v));
    }
    out
}

/// LeakyRelu of every element, the slope at scale 2^-16.
pub fn leaky_relu_all(x: Span<felt252>, alpha: felt252) -> Array<felt252> {
    let down = fixed::prepare_rescale(-16);
    let mut out = array![];
    for v in x {
        out.append(fixed::leaky_relu(*v, alpha, down));
    }
    out
}

/// Element `i` of the result is `x[indices[i]]` (transposes, broadcasts).
pub fn gather(x: Span<felt252>, indices: Span<u32>) -> Array<felt252> {
    let mut out = array![];
    for i in indices {
        out.append(*x[*i]);
    }
    out
}

pub fn relu_all(x: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    for v in x {
        out.append(relu(*v));
    }
    out
}

/// Moves every element by `shift` bits of scale (down: rounding division; up: product).
pub fn rescale_all(x: Span<felt252>, shift: i32) -> Array<felt252> {
    let r = fixed::prepare_rescale(shift);
    let mut out = array![];
    for v in x {
        out.append(fixed::rescale(*v, r));
    }
    out
}

/// `out[i] = x[indices[i]]`, or 0 where `indices[i] == x.len()`: data movement with padding
/// (`cairn_ir::Op::Select`, the patches of a convolution).
pub fn gather_or_zero(x: Span<felt252>, indices: Span<u32>) -> Array<felt252> {
    let n = x.len();
    let mut out = array![];
    for i in indices {
        if *i == n {
            out.append(0);
        } else {
            out.append(*x[*i]);
        }
    }
    out
}

/// Checks the input length and that every value is in range.
pub fn check_inputs(x: Span<felt252>, len: usize) {
    assert(x.len() == len, 'cairn: wrong input length');
    for v in x {
        check_input(*v);
    }
}

/// `a[rows, k] · b[k, n]` for a runtime `b` (products by constant weights are generated as
/// straight-line code instead). The result is at the sum of the operands' scales.
pub fn matmul(a: Span<felt252>, b: Span<felt252>, k: usize, n: usize) -> Array<felt252> {
    let mut out = array![];
    let rows = a.len() / k;
    for r in 0..rows {
        let row = a.slice(r * k, k);
        for j in 0..n {
            let mut acc = 0;
            let mut i = 0;
            for x in row {
                acc += *x * *b[i * n + j];
                i += 1;
            }
            out.append(acc);
        }
    }
    out
}

/// Sum over the middle axis of `x` seen as [outer, len, inner].
pub fn reduce_sum(x: Span<felt252>, outer: usize, len: usize, inner: usize) -> Array<felt252> {
    let mut out = array![];
    for o in 0..outer {
        for i in 0..inner {
            let mut acc = 0;
            for l in 0..len {
                acc += *x[(o * len + l) * inner + i];
            }
            out.append(acc);
        }
    }
    out
}

/// Maximum over the middle axis of `x` seen as [outer, len, inner].
pub fn reduce_max(x: Span<felt252>, outer: usize, len: usize, inner: usize) -> Array<felt252> {
    let mut out = array![];
    for o in 0..outer {
        for i in 0..inner {
            let mut acc = *x[o * len * inner + i];
            for l in 1..len {
                acc = fixed::max(acc, *x[(o * len + l) * inner + i]);
            }
            out.append(acc);
        }
    }
    out
}

/// Minimum over the middle axis of `x` seen as [outer, len, inner].
pub fn reduce_min(x: Span<felt252>, outer: usize, len: usize, inner: usize) -> Array<felt252> {
    let mut out = array![];
    for o in 0..outer {
        for i in 0..inner {
            let mut acc = *x[o * len * inner + i];
            for l in 1..len {
                acc = fixed::min(acc, *x[(o * len + l) * inner + i]);
            }
            out.append(acc);
        }
    }
    out
}

/// 1 where `a == b`, else 0 (operands at one scale).
pub fn equal(a: Span<felt252>, b: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    let mut b = b;
    for x in a {
        out.append(if *x == *b.pop_front().unwrap() {
            1
        } else {
            0
        });
    }
    out
}

/// 1 where `a < b`, else 0 (signed, operands at one scale).
pub fn less(a: Span<felt252>, b: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    let mut b = b;
    for x in a {
        out.append(if signed(*x) < signed(*b.pop_front().unwrap()) {
            1
        } else {
            0
        });
    }
    out
}

/// 1 where `a ≤ b`, else 0.
pub fn less_equal(a: Span<felt252>, b: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    let mut b = b;
    for x in a {
        out.append(if signed(*x) <= signed(*b.pop_front().unwrap()) {
            1
        } else {
            0
        });
    }
    out
}

/// 1 where `a > b`, else 0.
pub fn greater(a: Span<felt252>, b: Span<felt252>) -> Array<felt252> {
    less(b, a)
}

/// 1 where `a ≥ b`, else 0.
pub fn greater_equal(a: Span<felt252>, b: Span<felt252>) -> Array<felt252> {
    less_equal(b, a)
}

/// `c ? a : b` element-wise (`c` boolean, `a` and `b` at one scale).
pub fn where_(c: Span<felt252>, a: Span<felt252>, b: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    let mut a = a;
    let mut b = b;
    for x in c {
        let (t, f) = (*a.pop_front().unwrap(), *b.pop_front().unwrap());
        out.append(if *x != 0 {
            t
        } else {
            f
        });
    }
    out
}

/// Integer division truncating toward zero (ONNX's integer Div).
pub fn div_int(a: Span<felt252>, b: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    let mut b = b;
    for x in a {
        out.append(fixed::div_trunc(*x, *b.pop_front().unwrap()));
    }
    out
}

/// Fixed-point division of values at scale 2^-s, at scale 2^-s, rounded half away from zero.
pub fn div_fixed(a: Span<felt252>, b: Span<felt252>, s: u32) -> Array<felt252> {
    let mut out = array![];
    let mut b = b;
    for x in a {
        out.append(fixed::div(*x, *b.pop_front().unwrap(), s));
    }
    out
}

/// Values at scale 2^-s truncated toward zero to integers (ONNX Cast float → int).
pub fn trunc_all(x: Span<felt252>, s: u32) -> Array<felt252> {
    let mut out = array![];
    for v in x {
        out.append(fixed::trunc(*v, s));
    }
    out
}

/// 1 where `x ≠ 0`, else 0 (Cast to bool).
pub fn nonzero_all(x: Span<felt252>) -> Array<felt252> {
    let mut out = array![];
    for v in x {
        out.append(if *v == 0 {
            0
        } else {
            1
        });
    }
    out
}

/// Index of the first largest element over the middle axis of [outer, len, inner].
pub fn argmax_first(x: Span<felt252>, outer: usize, len: usize, inner: usize) -> Array<felt252> {
    argmax(x, outer, len, inner, false)
}

/// Index of the last largest element over the middle axis of [outer, len, inner].
pub fn argmax_last(x: Span<felt252>, outer: usize, len: usize, inner: usize) -> Array<felt252> {
    argmax(x, outer, len, inner, true)
}

fn argmax(x: Span<felt252>, outer: usize, len: usize, inner: usize, last: bool) -> Array<felt252> {
    let mut out = array![];
    for o in 0..outer {
        for i in 0..inner {
            let mut best: usize = 0;
            let mut best_v = signed(*x[o * len * inner + i]);
            for l in 1..len {
                let v = signed(*x[(o * len + l) * inner + i]);
                if v > best_v || (last && v == best_v) {
                    best = l;
                    best_v = v;
                }
            }
            out.append(best.into());
        }
    }
    out
}

/// √x of every element at scale 2^-s, rounded to nearest.
pub fn sqrt_all(x: Span<felt252>, s: u32) -> Array<felt252> {
    let mut out = array![];
    for v in x {
        out.append(fixed::sqrt(*v, s));
    }
    out
}

/// `a[B, m, k] · b[B, k, n]`, one product per batch, for runtime operands (attention's
/// `Q·Kᵀ` and `A·V`). The result is at the sum of the operands' scales.
pub fn matmul_batched(
    a: Span<felt252>, b: Span<felt252>, batches: usize, k: usize, n: usize,
) -> Array<felt252> {
    let mut out = array![];
    let a_len = a.len() / batches;
    for i in 0..batches {
        let product = matmul(a.slice(i * a_len, a_len), b.slice(i * k * n, k * n), k, n);
        out.append_span(product.span());
    }
    out
}
