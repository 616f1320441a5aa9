//! matmul, outputs 0..3: one block of the dense layer (see the parent module).

use cairn_runtime::packed;

#[inline(never)]
pub fn run(x: Span<felt252>, out: Array<felt252>) -> (Span<felt252>, Array<felt252>) {
    let acc = [392318858461667547761004486883037804974011049748094517248, 1152921504606846976];
    let (x, out, acc) = block_0_0(x, out, acc);
    let [a0, a1] = acc;
    let mut out = out;
    let (p0_0, p0_1, p0_2, _p0_3) = packed::unpack_64(a0);
    out.append(p0_0 - 1152921504606846976);
    out.append(p0_1 - 1152921504606846976);
    out.append(p0_2 - 1152921504606846976);
    let (p1_0, _p1_1, _p1_2, _p1_3) = packed::unpack_64(a1);
    out.append(p1_0 - 1152921504606846976);
    (x, out)
}

#[inline(never)]
fn block_0_0(
    x: Span<felt252>, out: Array<felt252>, acc: [felt252; 2],
) -> (Span<felt252>, Array<felt252>, [felt252; 2]) {
    core::internal::revoke_ap_tracking();
    let mut chunk = x.slice(0, 3);
    let [x0, x1, x2] = (*chunk.multi_pop_front::<3>().unwrap()).unbox();
    let [a0, a1] = acc;
    (
        x,
        out,
        [
            a0 - x0 * 4168799277148417115700298913777374134778510 + x1 * 2526936856754889029620377635377988073649688 - x2 * 18037687705745106072449513994702015478921806,
            a1 - x0 * 164938 - x1 * 100279 + x2 * 69527,
        ],
    )
}
