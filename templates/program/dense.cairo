//! {{ node }}: [{{ rows }} × {{ k }}] · [{{ k }} × {{ n }}]{% if has_bias %} + bias{% endif %}, at scale 2^-{{ scale }}.
//!
//! Straight-line multiply-adds with the weights as literals: each `block_*` function computes
//! {{ block_rows }} outputs over one chunk of the inputs, so each input is loaded once per block
//! and the Cairo compiler only ever sees small functions.

pub fn run(x: Span<felt252>) -> Span<felt252> {
    let mut x = x;
    let mut out: Array<felt252> = array![];
    for _row in 0..{{ rows }}_usize {
{%- for c in chunks %}
        let c{{ loop.index0 }}: Box<[felt252; {{ c }}]> = *x.multi_pop_front::<{{ c }}>().unwrap();
{%- endfor %}
{%- for b in blocks %}
{%- for call in b.calls %}
        let [{{ call.results }}] = {{ call.function }}(c{{ call.chunk }});
{%- endfor %}
{%- for sum in b.sums %}
        out.append({{ sum }});
{%- endfor %}
{%- endfor %}
    }
    out.span()
}
{% for f in functions %}
#[inline(never)]
fn {{ f.name }}(x: Box<[felt252; {{ f.len }}]>) -> [felt252; {{ f.exprs.len() }}] {
    let [{{ f.params }}] = x.unbox();
    [
{%- for e in f.exprs %}
        {{ e }},
{%- endfor %}
    ]
}
{% endfor -%}
