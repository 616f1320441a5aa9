//! Validation: the gate in front of code generation. Code generation takes a [`ValidGraph`],
//! which only [`validate`] makes, so an unchecked graph cannot reach it.

use crate::graph::*;
use crate::rules::{DTypeRule, ScaleRule};

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

/// One node against its family's rules ([`crate::rules`]).
fn check_node(g: &Graph, node: &Node) -> Result<(), String> {
    let arity = node.op.arity();
    if !arity.contains(&node.inputs.len()) {
        return Err(format!(
            "takes {arity:?} operands, has {}",
            node.inputs.len()
        ));
    }
    let operands: Vec<&TensorType> = node.inputs.iter().map(|&i| &g.values[i].ty).collect();
    let consts: Vec<bool> = node
        .inputs
        .iter()
        .map(|&i| g.const_data(i).is_some())
        .collect();
    let out = &g.values[node.output].ty;
    check_dtypes(&node.op, &operands, out.dtype)?;
    node.op.check_shape(&operands, &consts, out)?;
    if let Op::Table(f) = node.op {
        if !f.is_tabulable() {
            return Err(format!("{f:?} has parameters no table can hold"));
        }
    }
    if g.quantised {
        check_scales(g, node)?;
    } else if matches!(node.op, Op::Rescale { .. }) {
        return Err("rescale appears only in quantised graphs".into());
    }
    Ok(())
}

/// Element types, by the op's [`DTypeRule`].
fn check_dtypes(op: &Op, operands: &[&TensorType], out: DType) -> Result<(), String> {
    let ty = |i: usize| operands[i].dtype;
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
    match op.dtype_rule() {
        DTypeRule::Float => {
            (0..operands.len()).try_for_each(|i| expect(i, DType::F32))?;
            result(DType::F32)
        }
        DTypeRule::Same => {
            (1..operands.len()).try_for_each(|i| expect(i, ty(0)))?;
            result(ty(0))
        }
        DTypeRule::Compare => {
            expect(1, ty(0))?;
            result(DType::Bool)
        }
        DTypeRule::Branches => {
            expect(0, DType::Bool)?;
            expect(2, ty(1))?;
            result(ty(1))
        }
        DTypeRule::To(to) => result(to),
        DTypeRule::Index => result(DType::I64),
    }
}

/// Scales, by the op's [`ScaleRule`] (the rule the quantiser follows).
fn check_scales(g: &Graph, node: &Node) -> Result<(), String> {
    let s = |v: ValueId| g.values[v].scale.unwrap_or(0);
    let (a, out) = (s(node.inputs[0]), s(node.output));
    let common = |inputs: &[ValueId]| match inputs.iter().find(|&&i| s(i) != s(inputs[0])) {
        Some(&other) => Err(format!(
            "operand scales differ ({} and {})",
            s(inputs[0]),
            s(other)
        )),
        None => Ok(s(inputs[0])),
    };
    let expected = match node.op.scale_rule() {
        ScaleRule::Common => common(&node.inputs)?,
        ScaleRule::CommonToBool => {
            common(&node.inputs)?;
            0
        }
        ScaleRule::Branches => {
            if a != 0 {
                return Err(format!("the condition has scale {a}"));
            }
            common(&node.inputs[1..])?
        }
        ScaleRule::Product => {
            let sum = a + s(node.inputs[1]);
            if let Some(&bias) = node.inputs.get(2) {
                if s(bias) != sum {
                    return Err(format!("bias scale {} should be {sum}", s(bias)));
                }
            }
            sum
        }
        ScaleRule::Keep => a,
        ScaleRule::Free { min_operand } => {
            if a < min_operand {
                return Err(format!(
                    "operand scale {a} is below the table's {min_operand} grid bits"
                ));
            }
            out
        }
        ScaleRule::Integer => 0,
        // Floats stay at any scale the result chooses; integers and booleans are at 0.
        ScaleRule::Cast { to } => match (g.values[node.inputs[0]].ty.dtype, to) {
            (DType::F32, DType::F32) => a,
            (DType::I64 | DType::Bool, DType::F32) => out,
            (_, DType::I64 | DType::Bool) => 0,
        },
        ScaleRule::Shift(shift) => {
            let target = a as i64 + shift as i64;
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
