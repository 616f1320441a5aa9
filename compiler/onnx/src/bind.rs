//! Inputs bound at compile time (`--bind NAME=VALUES`), and the inputs that must be.
//!
//! Cairn compiles static shapes. An ONNX input that a node reads as a shape operand (Reshape's
//! target shape, Slice's bounds, the axes of a reduction, Pad's pads...) fixes the shapes of
//! what follows, so its value must be known at compile time: binding it turns it into an
//! initializer of the model, exactly as an exporter writes constant operands.

use tract_onnx::pb::{tensor_proto::DataType, type_proto, ModelProto, TensorProto};

/// `(op type, operand positions)`: the operands the ONNX spec (opsets 13–18) makes shape
/// operands, that is, values that decide an output's shape or an axis rather than its data.
const SHAPE_OPERANDS: &[(&str, &[usize])] = &[
    // tract folds BatchNormalization into a product and a sum, so its parameters must be
    // constants (they are initializers in every exported model).
    ("BatchNormalization", &[1, 2, 3, 4]),
    ("ConstantOfShape", &[0]),
    ("Expand", &[1]),
    ("OneHot", &[1]),
    // The pad value is data, but tract's Pad takes it as an attribute.
    ("Pad", &[1, 2, 3]),
    ("Range", &[0, 1, 2]),
    ("ReduceL1", &[1]),
    ("ReduceL2", &[1]),
    ("ReduceLogSum", &[1]),
    ("ReduceLogSumExp", &[1]),
    ("ReduceMax", &[1]),
    ("ReduceMean", &[1]),
    ("ReduceMin", &[1]),
    ("ReduceProd", &[1]),
    ("ReduceSum", &[1]),
    ("ReduceSumSquare", &[1]),
    ("Reshape", &[1]),
    ("Resize", &[1, 2, 3]),
    ("Slice", &[1, 2, 3, 4]),
    ("Split", &[1]),
    ("Squeeze", &[1]),
    ("Tile", &[1]),
    ("TopK", &[1]),
    ("Unsqueeze", &[1]),
];

/// A graph input that a node reads as a shape operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeOperand {
    pub input: String,
    pub node: String,
    pub op: String,
}

/// The graph inputs (not initializers) that some node reads as a shape operand, in graph order.
pub fn shape_operands(proto: &ModelProto) -> Vec<ShapeOperand> {
    let Some(g) = &proto.graph else {
        return vec![];
    };
    let inits: Vec<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    let mut found: Vec<ShapeOperand> = Vec::new();
    for input in &g.input {
        if inits.contains(&input.name.as_str()) {
            continue;
        }
        let reader = g.node.iter().find_map(|n| {
            let (_, positions) = SHAPE_OPERANDS
                .iter()
                .find(|(op, _)| *op == n.op_type && matches!(n.domain.as_str(), "" | "ai.onnx"))?;
            positions
                .iter()
                .any(|&p| n.input.get(p) == Some(&input.name))
                .then(|| ShapeOperand {
                    input: input.name.clone(),
                    node: if n.name.is_empty() {
                        n.output.first().cloned().unwrap_or_default()
                    } else {
                        n.name.clone()
                    },
                    op: n.op_type.clone(),
                })
        });
        found.extend(reader);
    }
    found
}

/// Turns the bound inputs into initializers; `Err` names the input at fault.
pub fn bind(proto: &mut ModelProto, binds: &[(String, Vec<f64>)]) -> Result<(), String> {
    let Some(g) = &mut proto.graph else {
        return Err("the model has no graph".into());
    };
    for (name, values) in binds {
        let names: Vec<&str> = g.input.iter().map(|i| i.name.as_str()).collect();
        let Some(ix) = g.input.iter().position(|i| &i.name == name) else {
            return Err(format!(
                "--bind names '{name}', but the model's inputs are: {}",
                names.join(", ")
            ));
        };
        let info = g.input.remove(ix);
        let Some(type_proto::Value::TensorType(t)) = info.r#type.and_then(|t| t.value) else {
            return Err(format!("input '{name}' is not a tensor"));
        };
        // Unknown dimensions: a rank-1 input takes the number of values given.
        let dims: Option<Vec<i64>> = t
            .shape
            .map(|s| {
                s.dim
                    .iter()
                    .map(|d| match d.value {
                        Some(tract_onnx::pb::tensor_shape_proto::dimension::Value::DimValue(v)) => {
                            Some(v)
                        }
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or(Some(vec![values.len() as i64]));
        let dims = match dims {
            Some(d) => d,
            None if values.len() == 1 => vec![],
            None => vec![values.len() as i64],
        };
        let expected: i64 = dims.iter().product();
        if expected != values.len() as i64 {
            return Err(format!(
                "--bind {name}: {} values given for shape {dims:?}",
                values.len()
            ));
        }
        let mut tensor = TensorProto {
            name: name.clone(),
            dims,
            data_type: t.elem_type,
            ..Default::default()
        };
        let integral = || {
            values
                .iter()
                .map(|&v| {
                    (v.fract() == 0.0 && v.abs() < 9.0e15)
                        .then_some(v as i64)
                        .ok_or_else(|| format!("--bind {name}: {v} is not an integer"))
                })
                .collect::<Result<Vec<i64>, String>>()
        };
        match DataType::try_from(t.elem_type) {
            Ok(DataType::Float) => tensor.float_data = values.iter().map(|&v| v as f32).collect(),
            Ok(DataType::Double) => tensor.double_data = values.clone(),
            Ok(DataType::Int64) => tensor.int64_data = integral()?,
            Ok(
                DataType::Int32
                | DataType::Int16
                | DataType::Int8
                | DataType::Uint16
                | DataType::Uint8
                | DataType::Bool,
            ) => {
                tensor.int32_data = integral()?.into_iter().map(|v| v as i32).collect();
            }
            Ok(DataType::Uint32 | DataType::Uint64) => {
                tensor.uint64_data = integral()?.into_iter().map(|v| v as u64).collect();
            }
            other => {
                return Err(format!(
                    "--bind {name}: cannot bind an input of type {other:?}"
                ))
            }
        }
        g.initializer.push(tensor);
    }
    Ok(())
}
