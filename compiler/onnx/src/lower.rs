//! tract's decluttered typed model → Cairn IR.
//!
//! Any node whose output tract knows to be constant becomes an IR constant, whatever its op:
//! that is how shape subgraphs and weight preprocessing are folded. Every other node goes to the
//! lowering of its op family in [`crate::ops`]; nodes no family accepts are collected and
//! reported together.

use std::collections::HashMap;
use std::fmt;

use cairn_ir::{DType, Data, Graph, TensorType, ValueId};
use tract_onnx::prelude::*;

/// A node Cairn cannot lower, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub node: String,
    pub op: String,
    pub reason: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node '{}' ({}): {}", self.node, self.op, self.reason)
    }
}

/// State shared by the op lowerings: the graph being built and where each tract outlet went.
pub struct Ctx {
    pub graph: Graph,
    /// The IR value of each tract outlet lowered so far (of the graph being lowered: a loop
    /// body's lowering swaps in its own).
    pub(crate) values: HashMap<OutletId, ValueId>,
}

impl Ctx {
    /// The IR value of a node's `i`-th input.
    pub fn input(&self, node: &TypedNode, i: usize) -> ValueId {
        self.values[&node.inputs[i]]
    }

    /// The constant data of a node's `i`-th input, if it is a constant.
    pub fn input_const(&self, node: &TypedNode, i: usize) -> Option<&Data> {
        self.graph.const_data(self.input(node, i))
    }

    /// The IR element type of a node's first output.
    pub fn out_dtype(&self, node: &TypedNode) -> DType {
        dtype_of(node.outputs[0].fact.datum_type).unwrap_or(DType::F32)
    }

    pub fn shape_of(&self, v: ValueId) -> &[usize] {
        &self.graph.values[v].ty.shape
    }

    /// The static shape of a node's first output.
    pub fn out_shape(&self, node: &TypedNode) -> Vec<usize> {
        node.outputs[0]
            .fact
            .shape
            .as_concrete()
            .map(|s| s.to_vec())
            .unwrap_or_default()
    }
}

pub fn lower(
    model: &TypedModel,
    input_names: &[String],
    output_names: &[String],
) -> Result<Graph, Vec<Unsupported>> {
    let mut cx = Ctx {
        graph: Graph::default(),
        values: HashMap::new(),
    };
    let mut unsupported = Vec::new();
    let order = model.eval_order().map_err(|e| {
        vec![Unsupported {
            node: "<graph>".into(),
            op: "graph".into(),
            reason: format!("{e:#}"),
        }]
    })?;
    let inputs = model
        .input_outlets()
        .map(|o| o.to_vec())
        .unwrap_or_default();

    // Graph inputs first, in the model's order (the evaluation order may differ), so that input
    // files, the manifest and the program's argument all list them as the model does.
    for (ix, outlet) in inputs.iter().enumerate() {
        let fact = &model.node(outlet.node).outputs[0].fact;
        let shape = fact
            .shape
            .as_concrete()
            .map(|s| s.to_vec())
            .unwrap_or_default();
        let dtype = dtype_of(fact.datum_type).unwrap_or(DType::F32);
        let v = cx
            .graph
            .add_input(&input_names[ix], TensorType::new(dtype, shape));
        cx.values.insert(*outlet, v);
    }
    let mut consts = HashMap::new();
    lower_nodes(&mut cx, model, order, &mut consts, &mut unsupported);
    if !unsupported.is_empty() {
        return Err(unsupported);
    }
    for (ix, outlet) in model
        .output_outlets()
        .map(|o| o.to_vec())
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let mut v = cx.values[&outlet];
        // Graph outputs are computed values with their ONNX names; an input or a constant
        // returned as an output goes through a reshape so it has a node of its own.
        if !matches!(cx.graph.values[v].def, cairn_ir::Def::Node(_))
            || cx.graph.outputs.contains(&v)
        {
            let ty = cx.graph.values[v].ty.clone();
            v = cx.graph.add_node(
                &output_names[ix],
                cairn_ir::Op::Reshape,
                vec![v],
                &output_names[ix],
                ty,
            );
        }
        cx.graph.values[v].name = output_names[ix].clone();
        cx.graph.outputs.push(v);
    }
    cx.graph.compact();
    Ok(cx.graph)
}

/// Lowers `order`'s nodes of `model` (a graph, or one iteration of a loop body) into `cx`. Nodes
/// whose outputs are already bound (the graph's inputs, a body's sources) are skipped; constants
/// are lowered once per `consts` map, so an unrolled body shares them across iterations.
pub(crate) fn lower_nodes(
    cx: &mut Ctx,
    model: &TypedModel,
    order: Vec<usize>,
    consts: &mut HashMap<OutletId, ValueId>,
    unsupported: &mut Vec<Unsupported>,
) {
    for id in order {
        let node = model.node(id);
        if cx.values.contains_key(&OutletId::new(id, 0)) {
            continue; // an input or a source, bound by the caller
        }
        let reject = |reason: String| Unsupported {
            node: node.name.clone(),
            op: node.op.name().to_string(),
            reason,
        };
        let mut shapes = Vec::new();
        for o in &node.outputs {
            match o.fact.shape.as_concrete() {
                Some(s) => shapes.push(s.to_vec()),
                None => {
                    unsupported.push(reject(format!("symbolic output shape {:?}", o.fact.shape)));
                    break;
                }
            }
        }
        if shapes.len() != node.outputs.len() {
            continue;
        }
        let fact = &node.outputs[0].fact;
        let konst = fact.konst.as_ref().filter(|_| node.outputs.len() == 1);
        let lowered: Result<Vec<ValueId>, String> = if let Some(k) = konst {
            if let Some(&v) = consts.get(&OutletId::new(id, 0)) {
                Ok(vec![v])
            } else {
                constant(&node.name, k).map(|(ty, data)| {
                    let v = cx.graph.add_const(&node.name, ty, data);
                    consts.insert(OutletId::new(id, 0), v);
                    vec![v]
                })
            }
        } else if let Some(vs) = fold(cx, model, node) {
            Ok(vs)
        } else if let Some(r) = crate::ops::lower_multi(cx, node) {
            r
        } else if node.outputs.len() != 1 {
            Err(format!(
                "{} outputs; only single-output ops are supported",
                node.outputs.len()
            ))
        } else if dtype_of(fact.datum_type).is_none() {
            Err(format!(
                "computes {:?}; Cairn computes on floats, integers and booleans",
                fact.datum_type
            ))
        } else {
            crate::ops::lower_node(cx, node).map(|v| vec![v])
        };
        match lowered {
            Ok(vs) => {
                for (slot, v) in vs.into_iter().enumerate() {
                    cx.values.insert(OutletId::new(id, slot), v);
                }
            }
            Err(reason) => {
                unsupported.push(reject(reason));
                // Placeholders of the right shapes, so that later nodes are checked too.
                for (slot, (o, shape)) in node.outputs.iter().zip(shapes).enumerate() {
                    let dtype = dtype_of(o.fact.datum_type).unwrap_or(DType::F32);
                    cx.graph.values.push(cairn_ir::Value {
                        name: node.name.clone(),
                        ty: TensorType::new(dtype, shape),
                        scale: None,
                        def: cairn_ir::Def::Input,
                    });
                    cx.values
                        .insert(OutletId::new(id, slot), cx.graph.values.len() - 1);
                }
            }
        }
    }
}

/// A node whose operands are all constants becomes constants, computed by tract. tract folds
/// such nodes itself, except inside a loop body, where a first iteration's states are often
/// the constant initial ones. `None` when an operand is computed or tract cannot evaluate it.
fn fold(cx: &mut Ctx, model: &TypedModel, node: &TypedNode) -> Option<Vec<ValueId>> {
    if node.inputs.is_empty() {
        return None;
    }
    let mut inputs: TVec<TValue> = tvec![];
    for outlet in &node.inputs {
        let v = *cx.values.get(outlet)?;
        let shape = cx.shape_of(v).to_vec();
        let t = match cx.graph.const_data(v)? {
            Data::F32(d) => Tensor::from_shape(&shape, d),
            Data::Int(d) => Tensor::from_shape(&shape, d),
        }
        .ok()?;
        let dt = model.outlet_fact(*outlet).ok()?.datum_type;
        inputs.push(t.cast_to_dt(dt).ok()?.into_owned().into_tvalue());
    }
    let outputs = node.op.eval_out_of_plan(inputs).ok()??;
    let mut values = Vec::with_capacity(outputs.len());
    for (slot, t) in outputs.iter().enumerate() {
        let (ty, data) = constant(&node.name, t).ok()?;
        let name = if slot == 0 {
            node.name.clone()
        } else {
            format!("{}.{slot}", node.name)
        };
        values.push(cx.graph.add_const(&name, ty, data));
    }
    Some(values)
}

/// Cairn's element type for a tract datum type: every float is `F32` (fixed point does not
/// care for its width), every integer `I64` (tract's TDim, what ONNX's INT64 casts become, is
/// one); `None` for the rest (strings, complex numbers, quantised types).
pub fn dtype_of(dt: DatumType) -> Option<DType> {
    if dt.is_float() {
        Some(DType::F32)
    } else if dt.is_integer() || dt == TDim::datum_type() {
        Some(DType::I64)
    } else if dt == bool::datum_type() {
        Some(DType::Bool)
    } else {
        None
    }
}

fn constant(name: &str, t: &Tensor) -> Result<(TensorType, Data), String> {
    let shape = t.shape().to_vec();
    let dt = t.datum_type();
    if dt.is_float() {
        let t = t.cast_to::<f32>().map_err(|e| format!("{name}: {e}"))?;
        let v: Vec<f32> = t
            .to_plain_array_view::<f32>()
            .map_err(|e| format!("{e}"))?
            .iter()
            .copied()
            .collect();
        Ok((TensorType::f32(shape), Data::F32(v)))
    } else if dt.is_integer() || dt == bool::datum_type() || dt == TDim::datum_type() {
        // TDim: a shape tract computed (Shape of an input), concrete once shapes are.
        let t = t.cast_to::<i64>().map_err(|e| format!("{name}: {e}"))?;
        let v: Vec<i64> = t
            .to_plain_array_view::<i64>()
            .map_err(|e| format!("{e}"))?
            .iter()
            .copied()
            .collect();
        let dtype = if dt == bool::datum_type() {
            DType::Bool
        } else {
            DType::I64
        };
        Ok((TensorType { dtype, shape }, Data::Int(v)))
    } else {
        Err(format!("constant of type {dt:?} is not supported"))
    }
}
