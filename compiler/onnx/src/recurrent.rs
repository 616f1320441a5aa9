//! LSTM, GRU and RNN as the ONNX specification defines them, on top of tract's recurrent
//! wiring (a `Scan` per direction, which Cairn unrolls: [`crate::ops::recurrent`]).
//!
//! tract's parsers read only the layout and the number of directions. Cairn's read every
//! attribute: `direction = "reverse"` runs the sequence backwards (tract would run it
//! forwards), and the attributes Cairn does not compute (`clip`, `input_forget`, activations
//! other than the defaults) are refused by name instead of being ignored. A GRU is also kept as
//! a `Scan`: tract fuses long GRUs into one opaque whole-sequence op.

use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::ops::rec::common::{CommonRec, WireBody};
use tract_onnx::ops::rec::{gru::GRU, lstm::LSTM, rnn::RNN};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::array::Gather;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops;

pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("LSTM", lstm);
    reg.insert("GRU", gru);
    reg.insert("RNN", rnn);
}

fn lstm(_: &ParsingContext, pb: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let reverse = check_attributes(pb, &["Sigmoid", "Tanh", "Tanh"])?;
    if pb.get_attr_opt::<i64>("input_forget")?.unwrap_or(0) != 0 {
        bail!("input_forget = 1 (coupled input and forget gates) is not supported");
    }
    let body = LSTM {
        f: Box::new(ops::nn::sigmoid()),
        g: Box::new(ops::math::tanh()),
        h: Box::new(ops::math::tanh()),
    };
    directed(pb, Box::new(body), reverse)
}

fn gru(_: &ParsingContext, pb: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let reverse = check_attributes(pb, &["Sigmoid", "Tanh"])?;
    let body = GRU {
        f: Box::new(ops::nn::sigmoid()),
        g: Box::new(ops::math::tanh()),
        linear_before_reset: pb.get_attr_opt::<i64>("linear_before_reset")?.unwrap_or(0) != 0,
    };
    directed(pb, Box::new(Unfused(body)), reverse)
}

fn rnn(_: &ParsingContext, pb: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let reverse = check_attributes(pb, &["Tanh"])?;
    let body = RNN {
        fore: Box::new(ops::math::tanh()),
        back: Box::new(ops::math::tanh()),
    };
    directed(pb, Box::new(body), reverse)
}

/// Checks what tract ignores; returns whether the one direction runs in reverse.
fn check_attributes(pb: &NodeProto, defaults: &[&str]) -> TractResult<bool> {
    let direction: String = pb
        .get_attr_opt("direction")?
        .unwrap_or_else(|| "forward".to_string());
    let directions = match direction.as_str() {
        "forward" | "reverse" => 1,
        "bidirectional" => 2,
        other => bail!(
            "direction '{other}': the specification allows forward, reverse and bidirectional"
        ),
    };
    if let Some(acts) = pb.get_attr_opt_vec::<String>("activations")? {
        let expected: Vec<&str> = (0..directions)
            .flat_map(|_| defaults.iter().copied())
            .collect();
        if acts.iter().map(|s| s.as_str()).collect::<Vec<_>>() != expected {
            bail!("activations {acts:?}: only the defaults {expected:?} are supported");
        }
    }
    if pb.get_attr_opt::<f32>("clip")?.is_some() {
        bail!("the clip attribute (cell clipping) is not supported");
    }
    Ok(direction == "reverse")
}

fn directed(
    pb: &NodeProto,
    body: Box<dyn WireBody>,
    reverse: bool,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let rec = CommonRec::from_node_and_options(pb, 3, 0, body)?;
    Ok((expand(Directed { rec, reverse }), vec![]))
}

/// A GRU body that tract keeps as a `Scan`: its whole-sequence `GruSeq` is one opaque op.
#[derive(Debug, Clone)]
struct Unfused(GRU);

impl WireBody for Unfused {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn wire_body(&self, prefix: &str, body: &mut TypedModel) -> TractResult<()> {
        self.0.wire_body(prefix, body)
    }
    fn w_b_multipliers(&self) -> (usize, usize) {
        self.0.w_b_multipliers()
    }
    fn have_extra_c_state(&self) -> bool {
        self.0.have_extra_c_state()
    }
}

/// tract's recurrence, run on the time-reversed sequence when `reverse`: the states it ends
/// with are then those of ONNX's reverse direction, and `Y` reversed back is ONNX's `Y`.
#[derive(Debug, Clone)]
struct Directed {
    rec: CommonRec,
    reverse: bool,
}

impl Expansion for Directed {
    fn name(&self) -> StaticName {
        self.rec.name()
    }

    fn validation(&self) -> Validation {
        self.rec.validation()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        self.rec.nboutputs()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        self.rec.rules(s, inputs, outputs)
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        if !self.reverse {
            return self.rec.wire(prefix, model, inputs);
        }
        // X: [seq, batch, input], or [batch, seq, input] with layout = 1.
        let seq_axis = self.rec.batch_first as usize;
        let mut inputs: TVec<OutletId> = inputs.into();
        inputs[0] = reversed(model, &format!("{prefix}.reversed_x"), inputs[0], seq_axis)?;
        let mut outputs = self.rec.wire(prefix, model, &inputs)?;
        // Y: [seq, directions, batch, hidden], or [batch, seq, directions, hidden].
        if let Some(slot) = self.rec.optional_y_output {
            outputs[slot] = reversed(
                model,
                &format!("{prefix}.reversed_y"),
                outputs[slot],
                seq_axis,
            )?;
        }
        Ok(outputs)
    }
}

/// `x` with `axis` reversed: one Gather of constant positions (data movement, which Cairn
/// lowers to one selection). One node, so that tract's renaming of the slices it would split
/// into cannot depend on the order it visits them in.
fn reversed(model: &mut TypedModel, name: &str, x: OutletId, axis: usize) -> TractResult<OutletId> {
    let n = model.outlet_fact(x)?.shape[axis]
        .to_usize()
        .context("a reverse recurrence needs a static sequence length")?;
    let positions: Vec<i64> = (0..n as i64).rev().collect();
    let positions = model.add_const(format!("{name}.positions"), tensor1(&positions))?;
    Ok(model.wire_node(name, Gather::new(axis), &[x, positions])?[0])
}
