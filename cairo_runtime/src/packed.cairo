//! Unpacking of packed dense accumulators. A packed accumulator holds several output sums in
//! slots of one field element: `Σ_l (s_l + 2^(L-1)) · 2^(slot·l)`, each biased lane in
//! `[0, 2^L)` with `L` ≤ the slot width. Cairn only packs when static bounds
//! (`cairn_ir::bounds`) guarantee this, and the whole value then stays below 2^251 < p, so the
//! u256 decomposition below recovers the lanes exactly. Lanes are returned biased.

/// Four 64-bit slots: bits [0, 64), [64, 128), [128, 192), [192, 251).
pub fn unpack_64(acc: felt252) -> (felt252, felt252, felt252, felt252) {
    let v: u256 = acc.into();
    let slot: NonZero<u128> = 0x10000000000000000_u128.try_into().unwrap();
    let (l1, l0) = DivRem::div_rem(v.low, slot);
    let (l3, l2) = DivRem::div_rem(v.high, slot);
    (l0.into(), l1.into(), l2.into(), l3.into())
}

/// Two 128-bit slots: bits [0, 128) and [128, 251).
pub fn unpack_128(acc: felt252) -> (felt252, felt252) {
    let v: u256 = acc.into();
    (v.low.into(), v.high.into())
}
