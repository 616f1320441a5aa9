//! Validation: the gate in front of code generation. Code generation takes a [`ValidGraph`],
//! which only [`validate`] makes, so an unchecked graph cannot reach it.

use crate::graph::*;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid IR at node '{node}' ({op}): {message}")]
pub struct ValidationError {
    pub node: String,
    pub op: &'static str,
    pub message: String,
}

/// A graph that passed [`validate`].
#[derive(Debug, Clone)]
pub struct ValidGraph(Graph);

impl ValidGraph {
    pub fn graph(&self) -> &Graph {
        &self.0
    }
    pub fn into_inner(self) -> Graph {
        self.0
    }
}

impl std::ops::Deref for ValidGraph {
    type Target = Graph;
    fn deref(&self) -> &Graph {
        &self.0
    }
}

pub fn validate(g: Graph) -> Result<ValidGraph, ValidationError> {
    check(&g)?;
    Ok(ValidGraph(g))
}

fn check(g: &Graph) -> Result<(), ValidationError> {
    let graph_err = |message: String| ValidationError {
        node: "<graph>".into(),
        op: "graph",
        message,
    };
    let mut defined = vec![false; g.values.len()];
    for (id, v) in g.values.iter().enumerate() {
        match &v.def {
            Def::Input => defined[id] = g.inputs.contains(&id),
            Def::Const(d) => {
                if d.len() != v.ty.len() {
                    return Err(graph_err(format!(
                        "constant {:?} has {} values for shape {:?}",
                        v.name,
                        d.len(),
                        v.ty.shape
                    )));
                }
                if g.quantised && v.ty.dtype == DType::F32 && matches!(d, Data::F32(_)) {
                    return Err(graph_err(format!(
                        "constant {:?} was not quantised",
                        v.name
                    )));
                }
                defined[id] = true;
            }
            Def::Node(_) => {}
        }
        if g.quantised && v.ty.dtype == DType::F32 && v.scale.is_none() {
            return Err(graph_err(format!(
                "value {:?} has no fixed-point scale",
                v.name
            )));
        }
    }
    for (index, node) in g.nodes.iter().enumerate() {
        let err = |message: String| ValidationError {
            node: node.name.clone(),
            op: node.op.name(),
            message,
        };
        for &i in &node.inputs {
            if i >= g.values.len() || !defined[i] {
                return Err(err(format!("operand %{i} is used before it is defined")));
            }
        }
        if node.output >= g.values.len()
            || g.values[node.output].def != Def::Node(index)
            || defined[node.output]
        {
            return Err(err(format!(
                "output %{} is not defined by this node alone",
                node.output
            )));
        }
        check_node(g, node).map_err(err)?;
        defined[node.output] = true;
    }
    for &o in &g.outputs {
        if o >= g.values.len() || !defined[o] {
            return Err(graph_err(format!("graph output %{o} is never defined")));
        }
    }
    if g.outputs.is_empty() {
        return Err(graph_err("the graph has no outputs".into()));
    }
    Ok(())
}

fn check_node(g: &Graph, node: &Node) -> Result<(), String> {
    let arity = match node.op {
        Op::MatMul => 2..=3,
        Op::Add | Op::Sub | Op::Mul | Op::Max | Op::Min | Op::Compare { .. } | Op::Div => 2..=2,
        Op::Where => 3..=3,
        Op::Select { .. } => 1..=usize::MAX,
        _ => 1..=1,
    };
    if !arity.contains(&node.inputs.len()) {
        return Err(format!(
            "takes {arity:?} operands, has {}",
            node.inputs.len()
        ));
    }
    let ty = |i: usize| &g.values[node.inputs[i]].ty;
    let out = &g.values[node.output].ty;
    check_dtypes(node, &|i| ty(i).dtype, out.dtype)?;
    let expect_shape = |shape: Vec<usize>| {
        if out.shape == shape {
            Ok(())
        } else {
            Err(format!("output shape {:?} should be {shape:?}", out.shape))
        }
    };
    match &node.op {
        Op::MatMul if ty(1).shape.len() == 3 => {
            // A batch of products of runtime matrices: [B, m, k] · [B, k, n].
            let (a, b) = (&ty(0).shape, &ty(1).shape);
            if a.len() != 3 || a[0] != b[0] || a[2] != b[1] || node.inputs.len() != 2 {
                return Err(format!("cannot multiply batches {a:?} by {b:?}"));
            }
            if g.const_data(node.inputs[1]).is_some() {
                return Err("a batched product takes a runtime right-hand side".into());
            }
            expect_shape(vec![a[0], a[1], b[2]])?;
        }
        Op::MatMul => {
            let (a, b) = (&ty(0).shape, &ty(1).shape);
            if a.is_empty() || b.len() != 2 || a[a.len() - 1] != b[0] {
                return Err(format!("cannot multiply {a:?} by {b:?}"));
            }
            if let Some(&bias) = node.inputs.get(2) {
                if g.const_data(bias).is_none() || g.values[bias].ty.shape != [b[1]] {
                    return Err(format!("the bias must be a constant of shape [{}]", b[1]));
                }
            }
            let mut shape = a.clone();
            *shape.last_mut().expect("rank checked") = b[1];
            expect_shape(shape)?;
        }
        Op::Add
        | Op::Sub
        | Op::Mul
        | Op::Max
        | Op::Min
        | Op::Compare { .. }
        | Op::Div
        | Op::Where => {
            let mut shape = ty(0).shape.clone();
            for i in 1..node.inputs.len() {
                shape = broadcast_shapes(&shape, &ty(i).shape).ok_or_else(|| {
                    format!("shapes {shape:?} and {:?} do not broadcast", ty(i).shape)
                })?;
            }
            expect_shape(shape)?;
        }
        Op::Cast { .. } => expect_shape(ty(0).shape.clone())?,
        Op::ArgMax { axis, .. } => {
            let mut shape = ty(0).shape.clone();
            if *axis >= shape.len() || shape[*axis] == 0 {
                return Err(format!("axis {axis} is not a non-empty axis of {shape:?}"));
            }
            shape[*axis] = 1;
            expect_shape(shape)?;
        }
        Op::Relu
        | Op::Neg
        | Op::Abs
        | Op::LeakyRelu { .. }
        | Op::Sigmoid
        | Op::Tanh
        | Op::Erf
        | Op::Exp
        | Op::Sqrt
        | Op::Log
        | Op::Rescale { .. } => expect_shape(ty(0).shape.clone())?,
        Op::Select { indices } => {
            let n = (0..node.inputs.len()).map(|i| ty(i).len()).sum::<usize>() as i64;
            if indices.len() != out.len() {
                return Err(format!(
                    "{} indices for an output of {} elements",
                    indices.len(),
                    out.len()
                ));
            }
            if let Some(i) = indices.iter().find(|&&i| i >= n) {
                return Err(format!("index {i} is out of an input of {n} elements"));
            }
        }
        Op::Reshape => {
            if out.len() != ty(0).len() {
                return Err(format!(
                    "cannot reshape {:?} to {:?}",
                    ty(0).shape,
                    out.shape
                ));
            }
        }
        Op::Softmax { axes } | Op::Reduce { axes, .. } => {
            let rank = ty(0).shape.len();
            let contiguous = axes.windows(2).all(|w| w[1] == w[0] + 1);
            if axes.is_empty() || !contiguous || axes.iter().any(|&a| a >= rank) {
                return Err(format!(
                    "axes {axes:?} must be contiguous axes of a rank-{rank} tensor"
                ));
            }
            let mut shape = ty(0).shape.clone();
            if matches!(node.op, Op::Reduce { .. }) {
                axes.iter().for_each(|&a| shape[a] = 1);
            }
            expect_shape(shape)?;
        }
        Op::Transpose { perm } => {
            let mut sorted = perm.clone();
            sorted.sort_unstable();
            if sorted != (0..ty(0).shape.len()).collect::<Vec<_>>() {
                return Err(format!(
                    "{perm:?} is not a permutation of the {} axes",
                    ty(0).shape.len()
                ));
            }
            expect_shape(perm.iter().map(|&p| ty(0).shape[p]).collect())?;
        }
    }
    if g.quantised {
        check_scales(g, node)?;
    } else if matches!(node.op, Op::Rescale { .. }) {
        return Err("rescale appears only in quantised graphs".into());
    }
    Ok(())
}

/// Element types: most ops keep one type throughout; the ones that change it say how.
fn check_dtypes(node: &Node, ty: &dyn Fn(usize) -> DType, out: DType) -> Result<(), String> {
    let n = node.inputs.len();
    let expect = |i: usize, want: DType| {
        if ty(i) == want {
            Ok(())
        } else {
            Err(format!(
                "operand {i} is {}, should be {}",
                ty(i).name(),
                want.name()
            ))
        }
    };
    let result = |want: DType| {
        if out == want {
            Ok(())
        } else {
            Err(format!(
                "result is {}, should be {}",
                out.name(),
                want.name()
            ))
        }
    };
    match &node.op {
        // Fixed-point arithmetic: floats only.
        Op::MatMul
        | Op::Relu
        | Op::LeakyRelu { .. }
        | Op::Sigmoid
        | Op::Tanh
        | Op::Erf
        | Op::Exp
        | Op::Sqrt
        | Op::Log
        | Op::Softmax { .. }
        | Op::Rescale { .. } => {
            (0..n).try_for_each(|i| expect(i, DType::F32))?;
            result(DType::F32)
        }
        Op::Compare { .. } => {
            expect(1, ty(0))?;
            result(DType::Bool)
        }
        Op::Where => {
            expect(0, DType::Bool)?;
            expect(2, ty(1))?;
            result(ty(1))
        }
        Op::Cast { to } => result(*to),
        Op::ArgMax { .. } => result(DType::I64),
        _ => {
            (1..n).try_for_each(|i| expect(i, ty(0)))?;
            result(ty(0))
        }
    }
}

fn check_scales(g: &Graph, node: &Node) -> Result<(), String> {
    let s = |v: ValueId| g.values[v].scale.unwrap_or(0);
    let (a, out) = (s(node.inputs[0]), s(node.output));
    let expected = match &node.op {
        Op::Add | Op::Sub | Op::Max | Op::Min | Op::Select { .. } | Op::Div => {
            if let Some(&other) = node.inputs.iter().find(|&&i| s(i) != a) {
                return Err(format!("operand scales differ ({a} and {})", s(other)));
            }
            a
        }
        Op::Compare { .. } => {
            if s(node.inputs[1]) != a {
                return Err(format!(
                    "operand scales differ ({a} and {})",
                    s(node.inputs[1])
                ));
            }
            0
        }
        Op::Where => {
            let (t, f) = (s(node.inputs[1]), s(node.inputs[2]));
            if t != f || a != 0 {
                return Err(format!(
                    "branch scales differ ({t} and {f}) or the condition has scale {a}"
                ));
            }
            t
        }
        // Floats stay at any scale the result chooses; integers and booleans are at 0.
        Op::Cast { to } => match (g.values[node.inputs[0]].ty.dtype, to) {
            (DType::F32, DType::F32) => a,
            (_, DType::F32) => out,
            _ => 0,
        },
        Op::ArgMax { .. } => 0,
        // Any operand scale, any result scale.
        Op::Log => out,
        Op::Mul | Op::MatMul => {
            let sum = a + s(node.inputs[1]);
            if let Some(&bias) = node.inputs.get(2) {
                if s(bias) != sum {
                    return Err(format!("bias scale {} should be {sum}", s(bias)));
                }
            }
            sum
        }
        Op::Relu
        | Op::Neg
        | Op::Abs
        | Op::LeakyRelu { .. }
        | Op::Reduce { .. }
        | Op::Reshape
        | Op::Sqrt
        | Op::Transpose { .. } => a,
        Op::Sigmoid | Op::Tanh | Op::Erf | Op::Exp | Op::Softmax { .. } => {
            let (_, pwl) = node.op.table().expect("table-driven op");
            if a < pwl.grid_bits {
                return Err(format!(
                    "operand scale {a} is below the table's {} grid bits",
                    pwl.grid_bits
                ));
            }
            out
        }
        Op::Rescale { shift } => {
            let target = a as i64 + *shift as i64;
            if target < 0 {
                return Err(format!("shift {shift} takes scale {a} below zero"));
            }
            target as u32
        }
    };
    if out != expected {
        return Err(format!("output scale {out} should be {expected}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mlp() -> Graph {
        let mut g = Graph::default();
        let x = g.add_input("x", TensorType::f32(vec![1, 2]));
        let w = g.add_const("w", TensorType::f32(vec![2, 3]), Data::F32(vec![0.0; 6]));
        let y = g.add_node(
            "mm",
            Op::MatMul,
            vec![x, w],
            "y",
            TensorType::f32(vec![1, 3]),
        );
        g.outputs.push(y);
        g
    }

    #[test]
    fn accepts_a_well_formed_graph() {
        assert!(validate(mlp()).is_ok());
    }

    #[test]
    fn names_the_node_with_a_wrong_shape() {
        let mut g = mlp();
        g.values[2].ty.shape = vec![1, 4];
        let e = validate(g).unwrap_err();
        assert_eq!(e.node, "mm");
        assert!(e.message.contains("[1, 3]"), "{e}");
    }

    #[test]
    fn rejects_use_before_definition_and_unquantised_constants() {
        let mut g = mlp();
        g.nodes[0].inputs[0] = 2;
        assert!(validate(g).is_err());
        let mut g = mlp();
        g.quantised = true;
        assert!(validate(g).unwrap_err().message.contains("scale"));
    }
}
