//! Deterministic text form of a graph (the `model.ir` artifact and the IR golden files).
//!
//! ```text
//! input %0 "input": f32[1,4] @16
//! const %1 "fc.weight": f32[4,3] @16 = [12 values, fnv 9f2c...]
//! %2 = matmul %0, %1 : f32[1,3] @32  ; "/fc/Gemm"
//! output %2
//! ```
//! Constants print a size and an FNV-1a digest of their data rather than the data itself.

use std::fmt::{self, Write};

use crate::graph::*;

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ty = |id: ValueId| {
            let v = &self.values[id];
            let mut s = String::new();
            let dims: Vec<String> = v.ty.shape.iter().map(|d| d.to_string()).collect();
            let _ = write!(s, "{}[{}]", v.ty.dtype.name(), dims.join(","));
            if let Some(scale) = v.scale {
                let _ = write!(s, " @{scale}");
            }
            s
        };
        for (id, v) in self.values.iter().enumerate() {
            match &v.def {
                Def::Input => writeln!(f, "input %{id} {:?}: {}", v.name, ty(id))?,
                Def::Const(d) => writeln!(
                    f,
                    "const %{id} {:?}: {} = [{} values, fnv {:016x}]",
                    v.name,
                    ty(id),
                    d.len(),
                    digest(d)
                )?,
                Def::Node(_) => {}
            }
        }
        for n in &self.nodes {
            let args: Vec<String> = n.inputs.iter().map(|i| format!("%{i}")).collect();
            let attrs = match &n.op {
                Op::Transpose { perm } => format!(" perm={perm:?}"),
                Op::Select { indices } => format!(
                    " indices=[{} values, fnv {:016x}]",
                    indices.len(),
                    digest(&Data::Int(indices.clone()))
                ),
                Op::Rescale { shift } => format!(" shift={shift}"),
                Op::Cast { to } => format!(" to={}", to.name()),
                Op::ArgMax { axis, select_last } => {
                    format!(" axis={axis} select_last={select_last}")
                }
                Op::Unary(u) => u.attrs(),
                Op::Table(f) => f.attrs(),
                Op::Softmax { axes } | Op::Reduce { axes, .. } => format!(" axes={axes:?}"),
                Op::MatMul | Op::Binary(_) | Op::Compare(_) | Op::Where | Op::Reshape => {
                    String::new()
                }
            };
            writeln!(
                f,
                "%{} = {}{} {} : {}  ; {:?}",
                n.output,
                n.op.name(),
                attrs,
                args.join(", "),
                ty(n.output),
                n.name
            )?;
        }
        let outs: Vec<String> = self.outputs.iter().map(|o| format!("%{o}")).collect();
        writeln!(f, "output {}", outs.join(", "))
    }
}

/// FNV-1a over the little-endian bytes of the data: stable across platforms and runs.
fn digest(d: &Data) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    };
    match d {
        Data::F32(v) => v.iter().for_each(|x| eat(&x.to_bits().to_le_bytes())),
        Data::Int(v) => v.iter().for_each(|x| eat(&x.to_le_bytes())),
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_every_value_and_node_in_order() {
        let mut g = Graph::default();
        let x = g.add_input("x", TensorType::f32(vec![1, 2]));
        let w = g.add_const("w", TensorType::f32(vec![2, 1]), Data::F32(vec![1.0, -1.0]));
        let y = g.add_node(
            "mm",
            Op::MatMul,
            vec![x, w],
            "y",
            TensorType::f32(vec![1, 1]),
        );
        g.outputs.push(y);
        let text = g.to_string();
        assert!(text
            .starts_with("input %0 \"x\": f32[1,2]\nconst %1 \"w\": f32[2,1] = [2 values, fnv "));
        assert!(text.ends_with("%2 = matmul %0, %1 : f32[1,1]  ; \"mm\"\noutput %2\n"));
        // Different data, different digest.
        let mut g2 = g.clone();
        g2.values[1].def = Def::Const(Data::F32(vec![1.0, 1.0]));
        assert_ne!(g.to_string(), g2.to_string());
    }
}
