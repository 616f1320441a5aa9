//! Static bounds on fixed-point values: `bits[v] = Some(b)` guarantees `|x| ≤ 2^b` for every
//! element `x` of value `v` in any run that does not fail. Inputs and rescale results are
//! range-checked at run time ([`crate::fixed::ACT_BOUND_BITS`]); everything else follows from
//! the ops' rules ([`Op::bound`]). Code generation uses the bounds to pack several dense outputs into one field element.

use crate::fixed::ACT_BOUND_BITS;
use crate::graph::*;

/// Bits of the smallest power of two ≥ `m`.
pub fn bits_of(m: u128) -> u32 {
    if m <= 1 {
        0
    } else {
        128 - (m - 1).leading_zeros()
    }
}

pub fn value_bits(g: &Graph) -> Vec<Option<u32>> {
    let mut bits: Vec<Option<u32>> = g
        .values
        .iter()
        .map(|v| match &v.def {
            Def::Input => Some(ACT_BOUND_BITS),
            Def::Const(Data::Int(d)) => Some(bits_of(
                d.iter()
                    .map(|x| x.unsigned_abs() as u128)
                    .max()
                    .unwrap_or(0),
            )),
            _ => None,
        })
        .collect();
    for n in &g.nodes {
        let operands: Vec<Option<u32>> = n.inputs.iter().map(|&i| bits[i]).collect();
        bits[n.output] = n.op.bound(g, n, &operands);
    }
    bits
}

/// max over output columns j of Σ_i |w_ij|·2^a + |bias_j|.
pub(crate) fn matmul_bits(g: &Graph, n: &Node, a: u32) -> Option<u32> {
    let Some(Data::Int(w)) = g.const_data(n.inputs[1]) else {
        return None;
    };
    let cols = *g.values[n.inputs[1]].ty.shape.last()?;
    let bias = n.inputs.get(2).and_then(|&b| match g.const_data(b) {
        Some(Data::Int(b)) => Some(b),
        _ => None,
    });
    let mut worst: u128 = 0;
    for j in 0..cols {
        let sum = w
            .iter()
            .skip(j)
            .step_by(cols)
            .try_fold(0u128, |s, x| s.checked_add(x.unsigned_abs() as u128))?;
        let total = sum
            .checked_mul(1u128.checked_shl(a)?)?
            .checked_add(bias.map(|b| b[j].unsigned_abs() as u128).unwrap_or(0))?;
        worst = worst.max(total);
    }
    Some(bits_of(worst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_bound_magnitudes() {
        assert_eq!(bits_of(0), 0);
        assert_eq!(bits_of(1), 0);
        assert_eq!(bits_of(2), 1);
        assert_eq!(bits_of(3), 2);
        assert_eq!(bits_of(1 << 40), 40);
        assert_eq!(bits_of((1 << 40) + 1), 41);
    }

    #[test]
    fn matmul_bound_is_the_worst_column() {
        let mut g = Graph::default();
        let x = g.add_input("x", TensorType::f32(vec![1, 2]));
        let w = g.add_const(
            "w",
            TensorType::f32(vec![2, 2]),
            Data::Int(vec![3, -1, -4, 1]),
        );
        let y = g.add_node(
            "mm",
            Op::MatMul,
            vec![x, w],
            "y",
            TensorType::f32(vec![1, 2]),
        );
        g.outputs.push(y);
        // Column 0: (3 + 4)·2^40 ≤ 2^43.
        assert_eq!(value_bits(&g)[y], Some(43));
    }
}
