//! ONNX front end: an `.onnx` file in, a float [`cairn_ir::Graph`] out.
//!
//! tract-onnx parses the model, infers static shapes and folds constant subgraphs (shape
//! arithmetic, `Constant` nodes, weights transposed at load); [`lower`] then maps tract's typed
//! ops onto Cairn's closed op set, one file per op family. This crate also runs tract's own f32
//! evaluation of the same model: the float reference every numeric check compares against.
//!
//! Invariant: this is the only crate that depends on tract.

mod activations;
mod bind;
mod lower;
mod ops;
mod preprocess;
mod recurrent;
mod svm;
mod trees;

use std::path::{Path, PathBuf};

use cairn_ir::Graph;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

pub use bind::ShapeOperand;
pub use lower::Unsupported;
pub use ops::unsupported_reason;

/// How to read a model: shapes for symbolic input dimensions, and inputs fixed at compile time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadOptions {
    /// `name → dims` for inputs whose dimensions are symbolic.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// `name → values` for inputs bound at compile time (`--bind`): they become constants.
    pub binds: Vec<(String, Vec<f64>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("cannot read ONNX model {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{} unsupported node(s) in {path}:\n{}", .nodes.len(), list(.nodes))]
    Unsupported {
        path: PathBuf,
        nodes: Vec<Unsupported>,
    },
    #[error("input '{input}' of {path} has a symbolic shape {shape}; fix it with --input-shape {input}=D1,D2,...")]
    SymbolicShape {
        path: PathBuf,
        input: String,
        shape: String,
    },
    #[error("--input-shape names '{name}', but the model's inputs are: {inputs}")]
    UnknownInput { name: String, inputs: String },
    #[error("input '{input}' has type {dtype}: Cairn takes float, integer and boolean inputs")]
    InputType { input: String, dtype: String },
    #[error("input '{input}' is the {op} operand that decides shapes at node '{node}'; Cairn compiles static shapes: give its value at compile time with --bind {input}=V1,V2,...")]
    ShapeOperand {
        input: String,
        node: String,
        op: String,
    },
    #[error("{0}")]
    Bind(String),
    #[error("tract could not type {path}: {message}")]
    Typing { path: PathBuf, message: String },
    #[error("float reference run failed: {0}")]
    Reference(String),
}

fn list(nodes: &[Unsupported]) -> String {
    nodes
        .iter()
        .map(|n| format!("  - {n}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A model loaded and typed by tract, with its input and output names in graph order.
pub struct Model {
    pub path: PathBuf,
    typed: TypedModel,
    pub input_names: Vec<String>,
    pub output_names: Vec<String>,
}

/// The inputs of the model at `path` that must be bound at compile time (`--bind`), each with
/// the first node that reads it as a shape operand.
pub fn shape_operands(path: &Path) -> Result<Vec<ShapeOperand>, OnnxError> {
    let proto = tract_onnx::onnx()
        .proto_model_for_path(path)
        .map_err(|e| OnnxError::Parse {
            path: path.to_path_buf(),
            message: format!("{e:#}"),
        })?;
    Ok(bind::shape_operands(&proto))
}

/// Parses `path`, binds the inputs `opts` binds, and fixes input shapes: from the model, or
/// from `opts` for inputs whose dimensions are symbolic.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Model, OnnxError> {
    let shapes = &opts.input_shapes;
    let parse_err = |e: TractError| OnnxError::Parse {
        path: path.to_path_buf(),
        message: format!("{e:#}"),
    };
    let mut onnx = tract_onnx::onnx();
    trees::register(&mut onnx);
    svm::register(&mut onnx);
    activations::register(&mut onnx);
    preprocess::register(&mut onnx);
    recurrent::register(&mut onnx.op_register);
    let mut proto = onnx.proto_model_for_path(path).map_err(parse_err)?;
    bind::bind(&mut proto, &opts.binds).map_err(OnnxError::Bind)?;
    if let Some(s) = bind::shape_operands(&proto).into_iter().next() {
        return Err(OnnxError::ShapeOperand {
            input: s.input,
            node: s.node,
            op: s.op,
        });
    }

    // Every node whose op type Cairn cannot lower, reported together before anything else.
    let unknown: Vec<Unsupported> = proto
        .graph
        .iter()
        .flat_map(|g| g.node.iter())
        .filter(|n| match n.domain.as_str() {
            "" | "ai.onnx" => !ops::SUPPORTED_ONNX_OPS.contains(&n.op_type.as_str()),
            "ai.onnx.ml" => !ops::SUPPORTED_ML_OPS.contains(&n.op_type.as_str()),
            _ => true,
        })
        .map(|n| {
            let name = if n.name.is_empty() {
                n.output.first().cloned().unwrap_or_default()
            } else {
                n.name.clone()
            };
            let op = if n.domain.is_empty() {
                n.op_type.clone()
            } else {
                format!("{}:{}", n.domain, n.op_type)
            };
            Unsupported {
                node: name,
                op,
                reason: ops::unsupported_reason(&n.domain, &n.op_type).into(),
            }
        })
        .collect();
    if !unknown.is_empty() {
        return Err(OnnxError::Unsupported {
            path: path.to_path_buf(),
            nodes: unknown,
        });
    }
    let mut model = onnx.model_for_proto_model(&proto).map_err(parse_err)?;

    let input_names: Vec<String> = model
        .input_outlets()
        .map_err(parse_err)?
        .iter()
        .map(|o| model.node(o.node).name.clone())
        .collect();
    for (name, dims) in shapes {
        let ix =
            input_names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| OnnxError::UnknownInput {
                    name: name.clone(),
                    inputs: input_names.join(", "),
                })?;
        // The element type stays the model's.
        let dt = model
            .input_fact(ix)
            .map_err(parse_err)?
            .datum_type
            .concretize()
            .unwrap_or(f32::datum_type());
        let fact = InferenceFact::dt_shape(dt, dims.clone());
        model.set_input_fact(ix, fact).map_err(parse_err)?;
    }
    let output_names: Vec<String> = model
        .output_outlets()
        .map_err(parse_err)?
        .iter()
        .map(|o| {
            model
                .outlet_label(*o)
                .map(str::to_string)
                .unwrap_or_else(|| model.node(o.node).name.clone())
        })
        .collect();

    // Symbolic input dimensions: name the input and say how to fix it.
    for (ix, name) in input_names.iter().enumerate() {
        let fact = model.input_fact(ix).map_err(parse_err)?;
        if let Some(dt) = fact.datum_type.concretize() {
            if lower::dtype_of(dt).is_none() {
                return Err(OnnxError::InputType {
                    input: name.clone(),
                    dtype: format!("{dt:?}"),
                });
            }
        }
        let concrete = fact
            .shape
            .concretize()
            .map(|dims| dims.iter().all(|d| d.to_i64().is_ok()))
            .unwrap_or(false);
        if !concrete {
            return Err(OnnxError::SymbolicShape {
                path: path.to_path_buf(),
                input: name.clone(),
                shape: format!("{:?}", fact.shape),
            });
        }
    }

    let typing = |e: TractError| OnnxError::Typing {
        path: path.to_path_buf(),
        message: format!("{e:#}"),
    };
    let typed = model
        .into_typed()
        .map_err(typing)?
        .into_decluttered()
        .map_err(typing)?;
    Ok(Model {
        path: path.to_path_buf(),
        typed,
        input_names,
        output_names,
    })
}

impl Model {
    /// Lowers to Cairn's IR, reporting every node that cannot be lowered at once.
    pub fn lower(&self) -> Result<Graph, OnnxError> {
        lower::lower(&self.typed, &self.input_names, &self.output_names).map_err(|nodes| {
            OnnxError::Unsupported {
                path: self.path.clone(),
                nodes,
            }
        })
    }

    /// Input shapes in graph order.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.typed
            .input_outlets()
            .unwrap_or(&[])
            .iter()
            .map(|o| {
                self.typed
                    .outlet_fact(*o)
                    .ok()
                    .and_then(|f| f.shape.as_concrete().map(|s| s.to_vec()))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// tract's own f32 evaluation of the model: the float reference.
    pub fn reference(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, OnnxError> {
        let err = |e: TractError| OnnxError::Reference(format!("{e:#}"));
        let plan = self
            .typed
            .clone()
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(err)?;
        let mut tensors = TVec::new();
        let outlets = self.typed.input_outlets().map_err(err)?;
        for ((data, shape), outlet) in inputs.iter().zip(self.input_shapes()).zip(outlets) {
            let dt = self.typed.outlet_fact(*outlet).map_err(err)?.datum_type;
            let t = Tensor::from_shape(&shape, data).map_err(err)?;
            let t = t.cast_to_dt(dt).map_err(err)?.into_owned();
            tensors.push(t.into_tvalue());
        }
        let outputs = plan.run(tensors).map_err(err)?;
        outputs
            .iter()
            .map(|t| {
                let t = t.cast_to::<f32>().map_err(err)?;
                Ok(t.to_plain_array_view::<f32>()
                    .map_err(err)?
                    .iter()
                    .copied()
                    .collect())
            })
            .collect()
    }

    /// tract's typed model, printed (for `cairn inspect`).
    pub fn describe(&self) -> String {
        format!("{}", self.typed)
    }
}
