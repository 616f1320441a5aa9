//! {{ node }}, outputs {{ b.first }}..{{ b.last }}: one block of the dense layer (see the parent module).

use cairn_runtime::packed;

#[inline(never)]
pub fn run(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
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
