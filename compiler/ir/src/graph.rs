//! The IR's data types: plain data, no behaviour beyond lookups.

use serde::{Deserialize, Serialize};

pub use crate::op::*;

/// Index of a value in [`Graph::values`].
pub type ValueId = usize;

/// Logical element type of a tensor. A quantised `F32` tensor is stored as fixed-point integers
/// with the scale of its [`Value`]; integers and booleans (0 or 1) are exact, at scale 0. Every
/// ONNX float type is `F32` and every integer type `I64`: in fixed point their widths do not
/// matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DType {
    F32,
    I64,
    Bool,
}

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I64 => "i64",
            DType::Bool => "bool",
        }
    }
}

/// Element type and static shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorType {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl TensorType {
    pub fn f32(shape: Vec<usize>) -> Self {
        TensorType {
            dtype: DType::F32,
            shape,
        }
    }
    pub fn new(dtype: DType, shape: Vec<usize>) -> Self {
        TensorType { dtype, shape }
    }
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Constant data, row-major. Float constants become `Int` (fixed point) when quantised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Data {
    F32(Vec<f32>),
    Int(Vec<i64>),
}

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::Int(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where a value comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Def {
    Input,
    Const(Data),
    /// Output of `Graph::nodes[i]`.
    Node(usize),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Value {
    /// The ONNX name of the tensor (kept for error messages and reports).
    pub name: String,
    pub ty: TensorType,
    /// Fixed-point scale (fractional bits) once quantised; `None` for float graphs and for
    /// integer and boolean tensors.
    pub scale: Option<u32>,
    pub def: Def,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Name of the ONNX node this came from (several IR nodes may share one).
    pub name: String,
    pub op: Op,
    pub inputs: Vec<ValueId>,
    pub output: ValueId,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    pub values: Vec<Value>,
    pub nodes: Vec<Node>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
    /// True once the quantisation pass has run.
    pub quantised: bool,
}

impl Graph {
    pub fn add_input(&mut self, name: &str, ty: TensorType) -> ValueId {
        let id = self.push_value(name, ty, Def::Input);
        self.inputs.push(id);
        id
    }

    pub fn add_const(&mut self, name: &str, ty: TensorType, data: Data) -> ValueId {
        self.push_value(name, ty, Def::Const(data))
    }

    /// Appends a node and its output value; returns the output.
    pub fn add_node(
        &mut self,
        node_name: &str,
        op: Op,
        inputs: Vec<ValueId>,
        out_name: &str,
        out_ty: TensorType,
    ) -> ValueId {
        let output = self.push_value(out_name, out_ty, Def::Node(self.nodes.len()));
        self.nodes.push(Node {
            name: node_name.to_string(),
            op,
            inputs,
            output,
        });
        output
    }

    fn push_value(&mut self, name: &str, ty: TensorType, def: Def) -> ValueId {
        self.values.push(Value {
            name: name.to_string(),
            ty,
            scale: None,
            def,
        });
        self.values.len() - 1
    }

    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id]
    }

    pub fn const_data(&self, id: ValueId) -> Option<&Data> {
        match &self.values[id].def {
            Def::Const(d) => Some(d),
            Def::Input | Def::Node(_) => None,
        }
    }

    /// Number of nodes reading each value, graph outputs counted as readers.
    pub fn use_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.values.len()];
        for n in &self.nodes {
            for &i in &n.inputs {
                counts[i] += 1;
            }
        }
        for &o in &self.outputs {
            counts[o] += 1;
        }
        counts
    }

    /// Number of multiply-adds of the dense layers, products by constant weights (the figure
    /// steps are reported against).
    pub fn multiply_adds(&self) -> u64 {
        self.nodes
            .iter()
            .filter(|n| n.op == Op::MatMul && self.const_data(n.inputs[1]).is_some())
            .map(|n| {
                let a = &self.values[n.inputs[0]].ty.shape;
                let b = &self.values[n.inputs[1]].ty.shape;
                (a.iter().product::<usize>() * b[b.len() - 1]) as u64
            })
            .sum()
    }

    /// Drops unread constants and values no node defines any more (left behind by passes),
    /// and renumbers, keeping the order of the rest.
    pub fn compact(&mut self) {
        let counts = self.use_counts();
        let mut produced = vec![false; self.values.len()];
        for n in &self.nodes {
            produced[n.output] = true;
        }
        let keep: Vec<bool> = self
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| match v.def {
                Def::Input => true,
                Def::Const(_) => counts[i] > 0,
                Def::Node(_) => produced[i],
            })
            .collect();
        let mut remap = vec![usize::MAX; self.values.len()];
        let mut values = Vec::new();
        for (i, v) in self.values.drain(..).enumerate() {
            if keep[i] {
                remap[i] = values.len();
                values.push(v);
            }
        }
        self.values = values;
        for n in &mut self.nodes {
            n.inputs.iter_mut().for_each(|i| *i = remap[*i]);
            n.output = remap[n.output];
        }
        self.inputs.iter_mut().for_each(|i| *i = remap[*i]);
        self.outputs.iter_mut().for_each(|i| *i = remap[*i]);
    }
}

/// Row-major strides of a shape.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Numpy broadcasting of two shapes, or `None` when they are incompatible.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() {
            1
        } else {
            a[i - (rank - a.len())]
        };
        let db = if i < rank - b.len() {
            1
        } else {
            b[i - (rank - b.len())]
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// For each flat index of `out_shape`, the flat index of the broadcast operand of shape `shape`.
pub fn broadcast_index_map(shape: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let rank = out_shape.len();
    let offset = rank - shape.len();
    let src_strides = strides(shape);
    let n: usize = out_shape.iter().product();
    let out_strides = strides(out_shape);
    (0..n)
        .map(|flat| {
            let mut src = 0;
            for (axis, &st) in out_strides.iter().enumerate() {
                let coord = (flat / st) % out_shape[axis];
                if axis >= offset && shape[axis - offset] != 1 {
                    src += coord * src_strides[axis - offset];
                }
            }
            src
        })
        .collect()
}

/// Gathers the elements of a row-major tensor under an axis permutation.
pub fn transpose_index_map(shape: &[usize], perm: &[usize]) -> Vec<usize> {
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let in_strides = strides(shape);
    let out_strides = strides(&out_shape);
    let n: usize = shape.iter().product();
    (0..n)
        .map(|flat| {
            perm.iter()
                .enumerate()
                .map(|(axis, &p)| ((flat / out_strides[axis]) % out_shape[axis]) * in_strides[p])
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes(&[2, 3], &[3]), Some(vec![2, 3]));
        assert_eq!(broadcast_shapes(&[2, 1], &[1, 4]), Some(vec![2, 4]));
        assert_eq!(broadcast_shapes(&[2, 3], &[2]), None);
        // [2,3] + [3]: element (i, j) reads b[j].
        assert_eq!(broadcast_index_map(&[3], &[2, 3]), vec![0, 1, 2, 0, 1, 2]);
        // [2,1] broadcast to [2,2]: element (i, j) reads a[i].
        assert_eq!(broadcast_index_map(&[2, 1], &[2, 2]), vec![0, 0, 1, 1]);
    }

    #[test]
    fn transpose_reads_the_permuted_element() {
        // [[0,1,2],[3,4,5]]^T = [[0,3],[1,4],[2,5]]
        assert_eq!(
            transpose_index_map(&[2, 3], &[1, 0]),
            vec![0, 3, 1, 4, 2, 5]
        );
    }
}
