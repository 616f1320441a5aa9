//! Piecewise-linear activation tables (cairn_ir::fixed::Pwl), generated; do not edit.
{% for t in tables %}
/// {{ t.name }} on [{{ t.lo }}, {{ t.hi }}] at steps of 2^-{{ t.grid_bits }}, values at scale 2^-{{ t.scale }}.
pub const {{ t.ident }}: [felt252; {{ t.values.len() }}] = [{{ t.values|join(", ") }}];
{% endfor -%}
