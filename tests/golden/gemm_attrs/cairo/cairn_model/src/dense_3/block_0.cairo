//! gemm.ab, outputs 0..2: one block of the dense layer (see the parent module).

use cairn_runtime::packed;

#[inline(never)]
pub fn run(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let acc = [196159429230833773880502243441518902487005524874047258624];
    let (x, out, acc) = block_0_0(x, out, acc);
    let [a0] = acc;
    let mut out = out;
    let (p0_0, p0_1, p0_2, _p0_3) = packed::unpack_64(a0);
    out.append(p0_0 - 576460752303423488);
    out.append(p0_1 - 576460752303423488);
    out.append(p0_2 - 576460752303423488);
    (x, out)
}

#[inline(never)]
fn block_0_0(
    x: Span<felt252>, out: Array<felt252>, acc: [felt252; 1],
) -> (Span<felt252>, Array<felt252>, [felt252; 1]) {
    core::internal::revoke_ap_tracking();
    let mut chunk = x.slice(0, 4);
    let [x0, x1, x2, x3] = (*chunk.multi_pop_front::<4>().unwrap()).unbox();
    let [a0] = acc;
    (
        x,
        out,
        [
            a0 - x0 * 10976488309768712016487732345090870706438063 - x1 * 13836901886106120741010037112604300832387973 + x2 * 10923744542895966554173968712913186176612818 + x3 * 7958864279913829723565083118703684035222530,
        ],
    )
}
