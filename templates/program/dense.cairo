//! {{ node }}: [{{ rows }} × {{ k }}] · [{{ k }} × {{ n }}]{% if has_bias %} + bias{% endif %}, at scale 2^-{{ scale }}.
//!
//! Straight-line multiply-adds with the weights as literals. {{ packing }}
//! `block_B` computes its outputs over all inputs by chaining `block_B_C`, each of which adds one
//! chunk of inputs to the running sums: each input is loaded once per block, and no function
//! grows with the layer. Chunk functions revoke ap tracking so that callers keep what outlives a
//! call in frame locals (ap-relative references would overflow after a few blocks).

use cairn_runtime::packed;

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
    let (x, out) = block_{{ loop.index0 }}(x, out);
{%- endfor %}
    (x.slice({{ k }}, x.len() - {{ k }}), out)
}
{% for b in blocks %}
#[inline(never)]
fn block_{{ loop.index0 }}(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let acc = [{{ b.init }}];
{%- for f in b.functions %}
    let (x, out, acc) = {{ f.name }}(x, out, acc);
{%- endfor %}
    let [{{ b.accs }}] = acc;
    let mut out = out;
{%- for u in b.unpacks %}
{%- match u.call %}
{%- when Some with (call) %}
    let ({{ u.names }}) = packed::{{ call }}({{ u.acc }});
{%- when None %}
{%- endmatch %}
{%- for o in u.outputs %}
    out.append({{ o }});
{%- endfor %}
{%- endfor %}
    (x, out)
}
{% for f in b.functions %}
#[inline(never)]
fn {{ f.name }}(
    x: Span<felt252>, out: Array<felt252>, acc: [felt252; {{ f.exprs.len() }}],
) -> (Span<felt252>, Array<felt252>, [felt252; {{ f.exprs.len() }}]) {
    core::internal::revoke_ap_tracking();
    let mut chunk = x.slice({{ f.start }}, {{ f.len }});
    let [{{ f.params }}] = (*chunk.multi_pop_front::<{{ f.len }}>().unwrap()).unbox();
    let [{{ f.accs }}] = acc;
    (
        x,
        out,
        [
{%- for e in f.exprs %}
            {{ e }},
{%- endfor %}
        ],
    )
}
{% endfor -%}
{% endfor -%}
