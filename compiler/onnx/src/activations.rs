//! Activations whose tract expansion evaluates `e^x` on every input (Softplus as
//! `ln(e^x + 1)`, ELU and SELU as a choice between `x` and `e^x − 1`, Mish through Softplus):
//! in fixed point `e^x` leaves the activation range for inputs above about 10, so those
//! expansions would fail on ordinary inputs. Cairn registers each of them as one element-wise
//! op instead, which it lowers to a table function ([`cairn_ir::TableFn`]) and which tract
//! evaluates, in floats, for the reference run. LogSoftmax, which tract expands as
//! `ln(softmax(x))`, becomes one log-softmax op for the same reason.

use cairn_ir::TableFn;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::element_wise::{ElementWiseMiniOp, ElementWiseOp};
use tract_onnx::tract_core::ops::nn::{Softmax, SoftmaxKind};
use tract_onnx::tract_hir::internal::*;

/// One of Cairn's table functions as a tract element-wise op.
#[derive(Debug, Clone)]
pub struct TableOp(pub TableFn);

// The parameters are compared by their bits, so the op is `Eq` as tract's graph requires.
impl PartialEq for TableOp {
    fn eq(&self, other: &TableOp) -> bool {
        self.0.ident() == other.0.ident()
    }
}
impl Eq for TableOp {}

impl ElementWiseMiniOp for TableOp {
    fn name(&self) -> String {
        format!("Cairn{}", self.0.name())
    }

    fn eval_in_place(&self, t: &mut Tensor, _out_dt: Option<DatumType>) -> TractResult<()> {
        let f = self.0;
        match t.datum_type() {
            DatumType::F32 => t
                .to_plain_array_view_mut::<f32>()?
                .iter_mut()
                .for_each(|x| *x = f.eval(*x as f64) as f32),
            DatumType::F64 => t
                .to_plain_array_view_mut::<f64>()?
                .iter_mut()
                .for_each(|x| *x = f.eval(*x)),
            other => bail!("{} on {other:?}: Cairn evaluates it on floats", self.name()),
        }
        Ok(())
    }
}

/// LogSoftmax as one softmax of kind LogSoftmax: tract's own expansion is `ln(softmax(x))`,
/// whose small probabilities round to 0 in fixed point (and ln 0 fails). Opsets before 13
/// take the trailing axes from `axis` on (default 1); later ones one axis (default -1).
#[derive(Debug, Clone)]
struct LogSoftmax {
    axis: i64,
    trailing: bool,
}

impl Expansion for LogSoftmax {
    fn name(&self) -> StaticName {
        "LogSoftmax".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        unary_rules(s, inputs, outputs)
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank() as i64;
        let axis = if self.axis < 0 {
            self.axis + rank
        } else {
            self.axis
        };
        if !(0..rank).contains(&axis) {
            bail!("LogSoftmax axis {} of a rank-{rank} tensor", self.axis);
        }
        let axes: TVec<usize> = if self.trailing {
            (axis as usize..rank as usize).collect()
        } else {
            tvec![axis as usize]
        };
        let op = Softmax {
            axes,
            quant_output_dt: None,
            kind: SoftmaxKind::LogSoftmax,
        };
        model.wire_node(prefix, op, inputs)
    }
}

/// Typing of an op with one operand and one result of its type and shape.
pub(crate) fn unary_rules<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
) -> InferenceResult {
    check_input_arity(inputs, 1)?;
    check_output_arity(outputs, 1)?;
    s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
    s.equals(&outputs[0].shape, &inputs[0].shape)?;
    Ok(())
}

fn wire(f: TableFn) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((ElementWiseOp(Box::new(TableOp(f)), None).into_hir(), vec![]))
}

fn attr(node: &NodeProto, name: &str, default: f32) -> TractResult<f32> {
    Ok(node.get_attr_opt(name)?.unwrap_or(default))
}

/// Overrides tract's parsers of these ONNX ops (default domain), with the specification's
/// attribute defaults.
pub fn register(onnx: &mut tract_onnx::model::Onnx) {
    onnx.op_register
        .insert("Softplus", |_, _| wire(TableFn::Softplus));
    onnx.op_register.insert("Mish", |_, _| wire(TableFn::Mish));
    onnx.op_register.insert("Elu", |_, node| {
        wire(TableFn::Elu {
            alpha: attr(node, "alpha", 1.0)?,
        })
    });
    onnx.op_register.insert("Celu", |_, node| {
        wire(TableFn::Celu {
            alpha: attr(node, "alpha", 1.0)?,
        })
    });
    onnx.op_register.insert("LogSoftmax", |ctx, node| {
        let axis = node.get_attr_opt("axis")?;
        let op = if ctx.onnx_operator_set_version < 13 {
            LogSoftmax {
                axis: axis.unwrap_or(1),
                trailing: true,
            }
        } else {
            LogSoftmax {
                axis: axis.unwrap_or(-1),
                trailing: false,
            }
        };
        Ok((expand(op), vec![]))
    });
    onnx.op_register.insert("Selu", |_, node| {
        wire(TableFn::Selu {
            alpha: attr(node, "alpha", 1.673_263_2)?,
            gamma: attr(node, "gamma", 1.050_701)?,
        })
    });
}
