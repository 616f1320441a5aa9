//! /0/Gemm.ab: [2 × 6] · [6 × 12] + bias, at scale 2^-32.
//!
//! Straight-line multiply-adds with the weights as literals. Outputs are packed 3 to a field element in 64-bit slots (sums need 61 bits).
//! `block_B` computes its outputs over all inputs by chaining `block_B_C`, each of which adds one
//! chunk of inputs to the running sums: each input is loaded once per block, and no function
//! grows with the layer. Chunk functions revoke ap tracking so that callers keep what outlives a
//! call in frame locals (ap-relative references would overflow after a few blocks).

use cairn_runtime::packed;

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
    let (x, out) = block_0(x, out);
    (x.slice(6, x.len() - 6), out)
}

#[inline(never)]
fn block_0(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let acc = [392318858670586286186424167707378049086189367452920938260, 392318858486537125381305305002003201530780813924641525904, 392318858979182604447116022590308211854262812671326099648, 392318858534785239513309579162582120571270670426567791168];
    let (x, out, acc) = block_0_0(x, out, acc);
    let [a0, a1, a2, a3] = acc;
    let mut out = out;
    let (p0_0, p0_1, p0_2, _p0_3) = packed::unpack_64(a0);
    out.append(p0_0 - 1152921504606846976);
    out.append(p0_1 - 1152921504606846976);
    out.append(p0_2 - 1152921504606846976);
    let (p1_0, p1_1, p1_2, _p1_3) = packed::unpack_64(a1);
    out.append(p1_0 - 1152921504606846976);
    out.append(p1_1 - 1152921504606846976);
    out.append(p1_2 - 1152921504606846976);
    let (p2_0, p2_1, p2_2, _p2_3) = packed::unpack_64(a2);
    out.append(p2_0 - 1152921504606846976);
    out.append(p2_1 - 1152921504606846976);
    out.append(p2_2 - 1152921504606846976);
    let (p3_0, p3_1, p3_2, _p3_3) = packed::unpack_64(a3);
    out.append(p3_0 - 1152921504606846976);
    out.append(p3_1 - 1152921504606846976);
    out.append(p3_2 - 1152921504606846976);
    (x, out)
}

#[inline(never)]
fn block_0_0(
    x: Span<felt252>, out: Array<felt252>, acc: [felt252; 4],
) -> (Span<felt252>, Array<felt252>, [felt252; 4]) {
    core::internal::revoke_ap_tracking();
    let mut chunk = x.slice(0, 6);
    let [x0, x1, x2, x3, x4, x5] = (*chunk.multi_pop_front::<6>().unwrap()).unbox();
    let [a0, a1, a2, a3] = acc;
    (
        x,
        out,
        [
            a0 + x0 * 26667248530860105506555402150411657881244429 + x1 * 7499823366937483736025671746434326434181468 + x2 * 22467823840688803925917082430217697739361283 + x3 * 5708576987465663663266718655119067438910700 + x4 * 1125654069774464436924410496631450047083805 + x5 * 2415324240404821214248034558360241775314330,
            a1 - x0 * 414804205276623985927729173687167986165286 + x1 * 9868188640707215249218914547448066176047 - x2 * 32562980820132285323391967524259763876518822 - x3 * 407998557938205217653368376409983578798363 + x4 * 712210993965524204383094326546209095808814 + x5 * 2419747911174793413594753201922480839590250,
            a2 - x0 * 36077757388058658711421214715907250770163066 - x1 * 18491964665584558921934231756104682140767374 - x2 * 8887835141607991727297704455333235667218409 + x3 * 2846461999293650246761370463928169256715772 - x4 * 5147111082046115198434497219154530369793894 - x5 * 108209792680858431458276047950671121479404,
            a3 + x0 * 39397892442106255300377188421150362417754633 - x1 * 140876899905268525636017655350078086320564 - x2 * 14082926037389959247431619934874895954881770 + x3 * 2834211834084496461869790296529899270180547 - x4 * 1262447581276681699832480028911691966191673 + x5 * 368185521008455418032671797380002414061392,
        ],
    )
}
