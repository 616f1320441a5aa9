//! `ai.onnx.ml` preprocessing ops that scikit-learn pipelines put in front of a model, expanded
//! into tract's core ops inside its parser (tract has no parser for them):
//! - Scaler (StandardScaler, MinMaxScaler, ...): `y = (x − offset) · scale`, each attribute one
//!   value or one per feature (the last axis); the output is float whatever the input;
//! - Binarizer: `y = x > threshold ? 1 : 0`, in the input's type.

use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::cast;
use tract_onnx::tract_core::ops::logic::comp_gt;
use tract_onnx::tract_core::ops::math::{mul, sub};
use tract_onnx::tract_hir::internal::*;

pub fn register(onnx: &mut tract_onnx::model::Onnx) {
    onnx.op_register.insert("Scaler", scaler);
    onnx.op_register.insert("Binarizer", |_, node| {
        let threshold = node.get_attr_opt("threshold")?.unwrap_or(0.0);
        Ok((expand(Binarizer { threshold }), vec![]))
    });
}

fn scaler(
    _: &tract_onnx::model::ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let offset: Vec<f32> = node.get_attr_opt_vec("offset")?.unwrap_or_default();
    let scale: Vec<f32> = node.get_attr_opt_vec("scale")?.unwrap_or_default();
    Ok((expand(Scaler { offset, scale }), vec![]))
}

#[derive(Debug, Clone)]
struct Scaler {
    offset: Vec<f32>,
    scale: Vec<f32>,
}

/// A constant of one value or one per feature, broadcast along the last axis of a rank-`rank`
/// tensor; `default` when the attribute is absent.
fn per_feature(values: &[f32], default: f32, rank: usize) -> TractResult<Tensor> {
    let values = if values.is_empty() {
        vec![default]
    } else {
        values.to_vec()
    };
    let mut shape = vec![1; rank.max(1)];
    shape[rank.max(1) - 1] = values.len();
    tensor1(&values).into_shape(&shape)
}

impl Expansion for Scaler {
    fn name(&self) -> StaticName {
        "Scaler".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].shape, &inputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?.clone();
        let rank = fact.rank();
        let mut x = inputs[0];
        if fact.datum_type != f32::datum_type() {
            x = model.wire_node(format!("{prefix}.to_float"), cast(f32::datum_type()), &[x])?[0];
        }
        let offset = model.add_const(
            format!("{prefix}.offset"),
            per_feature(&self.offset, 0.0, rank)?,
        )?;
        let scale = model.add_const(
            format!("{prefix}.scale"),
            per_feature(&self.scale, 1.0, rank)?,
        )?;
        let centred = model.wire_node(format!("{prefix}.centred"), sub(), &[x, offset])?[0];
        model.wire_node(prefix, mul(), &[centred, scale])
    }
}

#[derive(Debug, Clone)]
struct Binarizer {
    threshold: f32,
}

impl Expansion for Binarizer {
    fn name(&self) -> StaticName {
        "Binarizer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        crate::activations::unary_rules(s, inputs, outputs)
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?.clone();
        let dt = fact.datum_type;
        let shape = vec![1; fact.rank()];
        let threshold = tensor0(self.threshold)
            .cast_to_dt(dt)?
            .into_owned()
            .into_shape(&shape)?;
        let threshold = model.add_const(format!("{prefix}.threshold"), threshold)?;
        let above = model.wire_node(
            format!("{prefix}.above"),
            TypedBinOp(comp_gt(), None),
            &[inputs[0], threshold],
        )?[0];
        model.wire_node(prefix, cast(dt), &[above])
    }
}
