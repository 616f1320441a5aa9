//! `MatMul(x, w)` followed by `Add(_, b)` with a constant `b` that broadcasts along the last
//! axis only becomes `MatMul(x, w, b)`: the bias is then added at the product's scale, before
//! the single rescale, instead of costing a rescale and an element-wise pass of its own.

use cairn_ir::{BinaryOp, Data, Def, Graph, Op};

pub fn fuse_bias(mut g: Graph) -> Graph {
    let uses = g.use_counts();
    let mut removed = vec![false; g.nodes.len()];
    #[allow(clippy::needless_range_loop)]
    // the body mutates `g`, so it indexes rather than iterates
    for i in 0..g.nodes.len() {
        let add = &g.nodes[i];
        if add.op != Op::Binary(BinaryOp::Add) {
            continue;
        }
        for (mm_side, b_side) in [(0, 1), (1, 0)] {
            let (mm_out, b) = (add.inputs[mm_side], add.inputs[b_side]);
            let Def::Node(mm_ix) = g.values[mm_out].def else {
                continue;
            };
            let mm = &g.nodes[mm_ix];
            let n = *g.values[mm_out].ty.shape.last().unwrap_or(&0);
            let Some(Data::F32(bias)) = g.const_data(b) else {
                continue;
            };
            let b_shape = &g.values[b].ty.shape;
            let along_last =
                b_shape.iter().rev().skip(1).all(|&d| d == 1) && b_shape.last() == Some(&n);
            // Only products by constant weights take a bias (see `Op::MatMul`).
            if mm.op != Op::MatMul
                || mm.inputs.len() != 2
                || g.const_data(mm.inputs[1]).is_none()
                || uses[mm_out] != 1
                || !along_last
                || g.values[add.output].ty.shape != g.values[mm_out].ty.shape
            {
                continue;
            }
            let bias = bias.clone();
            let name = format!("{}.bias", g.nodes[i].name);
            let b1 = g.add_const(&name, cairn_ir::TensorType::f32(vec![n]), Data::F32(bias));
            // The MatMul takes over the Add's output value (and so its name).
            let out = g.nodes[i].output;
            g.nodes[mm_ix].inputs.push(b1);
            g.nodes[mm_ix].output = out;
            g.values[out].def = Def::Node(mm_ix);
            removed[i] = true;
            break;
        }
    }
    let mut k = 0;
    g.nodes.retain(|_| {
        k += 1;
        !removed[k - 1]
    });
    // Node indices moved: refresh every value's defining index.
    for (ix, n) in g.nodes.iter().enumerate() {
        g.values[n.output].def = Def::Node(ix);
    }
    g.compact();
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_ir::{eval::eval_f32, validate, TensorType};

    #[test]
    fn folds_the_bias_and_keeps_the_result() {
        let mut g = Graph::default();
        let x = g.add_input("x", TensorType::f32(vec![1, 2]));
        let w = g.add_const(
            "w",
            TensorType::f32(vec![2, 2]),
            Data::F32(vec![1.0, 2.0, 3.0, 4.0]),
        );
        let b = g.add_const("b", TensorType::f32(vec![1, 2]), Data::F32(vec![0.5, -0.5]));
        let y = g.add_node(
            "mm",
            Op::MatMul,
            vec![x, w],
            "y",
            TensorType::f32(vec![1, 2]),
        );
        let z = g.add_node(
            "add",
            Op::Binary(BinaryOp::Add),
            vec![b, y],
            "z",
            TensorType::f32(vec![1, 2]),
        );
        g.outputs.push(z);
        let before = eval_f32(&g, &[vec![1.0, -1.0]]).unwrap()[z].clone();
        let fused = validate(fuse_bias(g)).unwrap();
        assert_eq!(fused.nodes.len(), 1);
        assert_eq!(fused.nodes[0].inputs.len(), 3);
        let out = fused.outputs[0];
        assert_eq!(fused.values[out].name, "z");
        assert_eq!(eval_f32(&fused, &[vec![1.0, -1.0]]).unwrap()[out], before);
    }
}
