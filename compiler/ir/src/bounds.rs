//! Static bounds on fixed-point values: `bits[v] = Some(b)` guarantees `|x| ≤ 2^b` for every
//! element `x` of value `v` in any run that does not fail. Inputs and rescale results are
//! range-checked at run time ([`crate::fixed::ACT_BOUND_BITS`]); everything else follows from
//! the ops. Code generation uses the bounds to pack several dense outputs into one field element.

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
        let a = bits[n.inputs[0]];
        let b = n.inputs.get(1).and_then(|&i| bits[i]);
        bits[n.output] = match &n.op {
            // Range-checked results.
            Op::Rescale { .. }
            | Op::Sigmoid
            | Op::Tanh
            | Op::Erf
            | Op::Exp
            | Op::Sqrt
            | Op::Log
            | Op::Softmax { .. }
            | Op::Div => Some(ACT_BOUND_BITS),
            Op::Compare { .. } => Some(0),
            Op::Where => b.zip(bits[n.inputs[2]]).map(|(b, c)| b.max(c)),
            Op::Cast { to } => match (g.values[n.inputs[0]].ty.dtype, to) {
                (DType::F32, DType::F32) => a,
                (_, DType::F32) => Some(ACT_BOUND_BITS),
                (_, DType::Bool) => Some(0),
                _ => a,
            },
            Op::ArgMax { axis, .. } => Some(bits_of(g.values[n.inputs[0]].ty.shape[*axis] as u128)),
            Op::Relu | Op::Neg | Op::Abs | Op::Reshape | Op::Transpose { .. } => a,
            Op::Select { .. } => n
                .inputs
                .iter()
                .map(|&i| bits[i])
                .collect::<Option<Vec<u32>>>()
                .map(|b| b.into_iter().max().unwrap_or(0)),
            Op::Max | Op::Min => a.zip(b).map(|(a, b)| a.max(b)),
            Op::Reduce {
                kind: ReduceKind::Sum,
                axes,
            } => {
                let len: usize = axes
                    .iter()
                    .map(|&x| g.values[n.inputs[0]].ty.shape[x])
                    .product();
                a.map(|a| a + bits_of(len as u128))
            }
            Op::Reduce { .. } => a,
            // Its negative branch goes through a checked rescale.
            Op::LeakyRelu { .. } => a.map(|a| a.max(ACT_BOUND_BITS)),
            Op::Add | Op::Sub => a.zip(b).map(|(a, b)| a.max(b) + 1),
            Op::Mul => a.zip(b).map(|(a, b)| a + b),
            Op::MatMul => a.and_then(|a| matmul_bits(g, n, a)),
        };
    }
    bits
}

/// max over output columns j of Σ_i |w_ij|·2^a + |bias_j|.
fn matmul_bits(g: &Graph, n: &Node, a: u32) -> Option<u32> {
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
