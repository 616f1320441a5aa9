//! {{ node }}: [{{ rows }} × {{ k }}] · [{{ k }} × {{ n }}]{% if has_bias %} + bias{% endif %}, at scale 2^-{{ scale }}.
//!
//! Straight-line multiply-adds with the weights as literals. {{ packing }}
//! `block_B` computes its outputs over all inputs by chaining `block_B_C`, each of which adds one
//! chunk of inputs to the running sums: each input is loaded once per block, and no function
//! grows with the layer. Chunk functions revoke ap tracking so that callers keep what outlives a
//! call in frame locals (ap-relative references would overflow after a few blocks). Each block
//! is a module of its own, so that the compiler can check and lower blocks in parallel.
{% for b in blocks %}
mod block_{{ loop.index0 }};
{%- endfor %}

pub fn run(x: Span<felt252>) -> Span<felt252> {
    let mut x = x;
    let mut out: Array<felt252> = array![];
    for _r in 0..{{ rows }}_usize {
        let (rest, out1) = row(x, out);
        x = rest;
        out = out1;
    }
    out.span()
}

/// One row: reads `x[0..{{ k }}]`, returns the rest of `x`.
#[inline(never)]
fn row(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
{%- for b in blocks %}
    let (x, out) = block_{{ loop.index0 }}::run(x, out);
{%- endfor %}
    (x.slice({{ k }}, x.len() - {{ k }}), out)
}
{%- for p in parts %}

/// Blocks {{ p.0 }}..{{ p.1 }} of a one-row input, for a stage that runs only part of the layer:
/// appends their outputs to `out`.
pub fn part_{{ p.0 }}_{{ p.1 }}(x: Span<felt252>, out: Array<felt252>) -> Array<felt252> {
    let out = out;
{%- for b in p.0..p.1 %}
    let (x, out) = block_{{ b }}::run(x, out);
{%- endfor %}
    let _ = x;
    out
}
{%- endfor %}
