//! Op families: each file lowers the tract ops of one family. `lower_node` tries them in turn;
//! a node none accepts is reported as unsupported with the op's name.

mod cnn;
mod elementwise;
mod linalg;
mod ml;
mod movement;
pub mod recurrent;
mod reduce;
mod shape;
mod traced;

use cairn_ir::{Op, TensorType, ValueId};
use tract_onnx::prelude::*;

use crate::lower::Ctx;

/// ONNX op types (default domain) the lowering handles, directly or because tract folds them
/// into constants or data movement. Anything else is reported before typing.
pub const SUPPORTED_ONNX_OPS: &[&str] = &[
    "Abs",
    "Add",
    "And",
    "ArgMax",
    "ArgMin",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "CastLike",
    "Ceil",
    "Celu",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "ConvTranspose",
    "CumSum",
    "Div",
    "Dropout",
    "Einsum",
    "Elu",
    "Equal",
    "Erf",
    "Exp",
    "Expand",
    "Flatten",
    "Floor",
    "GRU",
    "Gather",
    "GatherElements",
    "Gelu",
    "Gemm",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Greater",
    "GreaterOrEqual",
    "GroupNormalization",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "InstanceNormalization",
    "LayerNormalization",
    "LeakyRelu",
    "Less",
    "LessOrEqual",
    "LSTM",
    "Log",
    "LogSoftmax",
    "LpNormalization",
    "MatMul",
    "Max",
    "MaxPool",
    "Mean",
    "MeanVarianceNormalization",
    "Min",
    "Mish",
    "Mod",
    "Mul",
    "Neg",
    "Not",
    "Or",
    "PRelu",
    "Pad",
    "Pow",
    "RNN",
    "Reciprocal",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "ReduceSumSquare",
    "Relu",
    "Reshape",
    "Resize",
    "Round",
    "Scan",
    "Selu",
    "Shape",
    "Shrink",
    "Sigmoid",
    "Sign",
    "Size",
    "Slice",
    "Softmax",
    "Softplus",
    "Softsign",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tanh",
    "ThresholdedRelu",
    "TopK",
    "Tile",
    "Transpose",
    "Unsqueeze",
    "Where",
    "Xor",
];

/// ONNX op types of the `ai.onnx.ml` domain (what scikit-learn exports) the lowering handles.
pub const SUPPORTED_ML_OPS: &[&str] = &[
    "ArrayFeatureExtractor",
    "Binarizer",
    "LinearClassifier",
    "LinearRegressor",
    "Normalizer",
    "SVMClassifier",
    "Scaler",
    "SVMRegressor",
    "TreeEnsembleClassifier",
    "TreeEnsembleRegressor",
];

/// Why an operator outside the two lists is refused, and what to do instead.
pub fn unsupported_reason(domain: &str, op_type: &str) -> &'static str {
    match (domain, op_type) {
        ("ai.onnx.ml", "ZipMap") => {
            "ZipMap turns probabilities into a sequence of maps, which a fixed-point program cannot \
             return; convert the classifier without it (skl2onnx: options={id(model): {'zipmap': \
             False}}) and read the probabilities tensor"
        }
        ("" | "ai.onnx", "NonZero" | "Unique" | "NonMaxSuppression" | "Compress") => {
            "its output shape depends on the data; Cairn compiles static shapes only"
        }
        ("" | "ai.onnx", op)
            if op.starts_with("Sequence")
                || op.starts_with("String")
                || op.starts_with("Optional")
                || matches!(op, "SplitToSequence" | "ConcatFromSequence" | "RegexFullMatch") =>
        {
            "sequences, optionals and strings cannot be fixed-point tensors"
        }
        (
            "" | "ai.onnx",
            "RandomNormal" | "RandomUniform" | "RandomNormalLike" | "RandomUniformLike"
            | "Bernoulli" | "Multinomial",
        ) => "a proof is of one deterministic computation; draw random values outside the model",
        ("" | "ai.onnx", "IsNaN" | "IsInf") => {
            "fixed point has no NaN or infinity; remove the check from the exported graph"
        }
        _ => "this operator is not supported yet",
    }
}

/// Lowers a node of a family whose ops may have several outputs (recurrences, TopK); `None`
/// for the other families.
pub fn lower_multi(cx: &mut Ctx, node: &TypedNode) -> Option<Result<Vec<ValueId>, String>> {
    recurrent::lower(cx, node).or_else(|| reduce::topk(cx, node))
}

/// Lowers one non-constant node; `Err` carries the reason it cannot be.
pub fn lower_node(cx: &mut Ctx, node: &TypedNode) -> Result<ValueId, String> {
    if let Some(v) = linalg::lower(cx, node)? {
        return Ok(v);
    }
    if let Some(v) = cnn::lower(cx, node)? {
        return Ok(v);
    }
    if let Some(v) = elementwise::lower(cx, node)? {
        return Ok(v);
    }
    if let Some(v) = reduce::lower(cx, node)? {
        return Ok(v);
    }
    if let Some(v) = ml::lower(cx, node)? {
        return Ok(v);
    }
    if let Some(v) = movement::lower(cx, node)? {
        return Ok(v);
    }
    if let Some(v) = shape::lower(cx, node)? {
        return Ok(v);
    }
    if let Some(v) = traced::lower(cx, node)? {
        return Ok(v);
    }
    Err("this operation is not supported yet".into())
}

/// `axes` sorted, if they are contiguous (what `Op::Softmax` and `Op::Reduce` take).
fn contiguous_axes(axes: &[usize], what: &str) -> Result<Vec<usize>, String> {
    let mut axes = axes.to_vec();
    axes.sort_unstable();
    if axes.windows(2).any(|w| w[1] != w[0] + 1) {
        return Err(format!(
            "{what} over non-contiguous axes {axes:?} is not supported yet"
        ));
    }
    Ok(axes)
}

impl Ctx {
    /// Adds an f32 node named after the tract node (with a suffix when one tract node becomes
    /// several IR nodes).
    pub fn emit(
        &mut self,
        node: &TypedNode,
        suffix: &str,
        op: Op,
        inputs: Vec<ValueId>,
        shape: Vec<usize>,
    ) -> ValueId {
        let out = if suffix.is_empty() {
            node.name.clone()
        } else {
            format!("{}.{suffix}", node.name)
        };
        let dtype = self.out_dtype(node);
        self.graph
            .add_node(&node.name, op, inputs, &out, TensorType::new(dtype, shape))
    }
}
