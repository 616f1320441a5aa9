//! /2/Gemm.ab, outputs 0..2: one block of the dense layer (see the parent module).

use cairn_runtime::packed;

#[inline(never)]
pub fn run(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let acc = [784637716684372331470013399091108048887726832209812398016];
    let (x, out, acc) = block_0_0(x, out, acc);
    let [a0] = acc;
    let mut out = out;
    let (p0_0, p0_1, p0_2, _p0_3) = packed::unpack_64(a0);
    out.append(p0_0 - 2305843009213693952);
    out.append(p0_1 - 2305843009213693952);
    out.append(p0_2 - 2305843009213693952);
    (x, out)
}

#[inline(never)]
fn block_0_0(
    x: Span<felt252>, out: Array<felt252>, acc: [felt252; 1],
) -> (Span<felt252>, Array<felt252>, [felt252; 1]) {
    core::internal::revoke_ap_tracking();
    let mut chunk = x.slice(0, 12);
    let [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11] = (*chunk.multi_pop_front::<12>().unwrap()).unbox();
    let [a0] = acc;
    (
        x,
        out,
        [
            a0 - x0 * 28492863429390940359701604525637881594727265 - x1 * 28901542552062987454131023731483858287117537 + x2 * 29253734801826158765735037064533364650920345 + x3 * 10002600175640986135421812318440448025728534 - x4 * 15474000353362755688230304208992532250406925 - x5 * 39019158167723250790463943140301096546722615 + x6 * 22926184188931308038866013210904169902193457 - x7 * 6594331988560866484786082682348041297410195 - x8 * 12270241868802120055617852769919559079643201 + x9 * 31076627441421626114292563271115166334285831 + x10 * 21356801912691939842530138685717623330614436 - x11 * 24623852917499870032065698751029177330097223,
        ],
    )
}
