//! Activations whose tract expansion evaluates `e^x` on every input (Softplus as
//! `ln(e^x + 1)`, ELU and SELU as a choice between `x` and `e^x − 1`, Mish through Softplus):
//! in fixed point `e^x` leaves the activation range for inputs above about 10, so those
//! expansions would fail on ordinary inputs. Cairn registers each of them as one element-wise
//! op instead, which it lowers to a table function ([`cairn_ir::TableFn`]) and which tract
//! evaluates, in floats, for the reference run.

use cairn_ir::TableFn;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::element_wise::{ElementWiseMiniOp, ElementWiseOp};
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
                .as_slice_mut::<f32>()?
                .iter_mut()
                .for_each(|x| *x = f.eval(*x as f64) as f32),
            DatumType::F64 => t
                .as_slice_mut::<f64>()?
                .iter_mut()
                .for_each(|x| *x = f.eval(*x)),
            other => bail!("{} on {other:?}: Cairn evaluates it on floats", self.name()),
        }
        Ok(())
    }
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
    onnx.op_register.insert("Selu", |_, node| {
        wire(TableFn::Selu {
            alpha: attr(node, "alpha", 1.673_263_2)?,
            gamma: attr(node, "gamma", 1.050_701)?,
        })
    });
}
