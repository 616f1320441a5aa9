//! Quantisation: every f32 tensor gets a power-of-two fixed-point scale.
//!
//! Activations (graph inputs and every op result) sit at `scale` fractional bits, or, when
//! calibration inputs are given, each at its own scale: the most fractional bits that keep
//! 2^[`CALIBRATION_HEADROOM_BITS`] times the tensor's largest calibrated magnitude inside the
//! activation range, between 6 and [`CALIBRATED_MAX_SCALE`]. An input beyond that headroom
//! makes the program fail its range check rather than compute wrongly. Constant
//! weights get their own per-tensor scale: `scale` plus the headroom their magnitude leaves
//! (small weights keep more fractional bits, at no cost in field arithmetic), up to
//! `scale + MAX_EXTRA_WEIGHT_BITS`. Products and matrix products come out at the sum of their
//! operands' scales and are brought back to `scale` by one `Rescale` (exact, range-checked
//! division). Constants added to a runtime tensor are quantised at that tensor's scale.

use std::collections::BTreeMap;

use cairn_ir::fixed;
use cairn_ir::{DType, Data, Def, Graph, Op, ScaleRule, TensorType, ValueId};

/// Extra fractional bits a small weight tensor may get beyond the activation scale.
pub const MAX_EXTRA_WEIGHT_BITS: u32 = 8;
/// The default activation scale, in fractional bits.
pub const DEFAULT_SCALE: u32 = 16;

/// Growth beyond the calibrated magnitudes that calibrated scales leave room for (16×).
pub const CALIBRATION_HEADROOM_BITS: u32 = 4;
/// The finest calibrated scale (the tables' own resolution).
pub const CALIBRATED_MAX_SCALE: u32 = 24;

#[derive(Debug, Clone, PartialEq)]
pub struct QuantiseOptions {
    /// Fractional bits of activations (of all of them without calibration).
    pub scale: u32,
    /// Calibration samples (each one vector per graph input): activation scales per tensor.
    pub calibration: Vec<Vec<Vec<f32>>>,
}

impl Default for QuantiseOptions {
    fn default() -> Self {
        QuantiseOptions::with_scale(DEFAULT_SCALE)
    }
}

impl QuantiseOptions {
    pub fn with_scale(scale: u32) -> Self {
        QuantiseOptions {
            scale,
            calibration: vec![],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QuantiseError {
    #[error("calibration sample {index}: {source}")]
    Calibration {
        index: usize,
        #[source]
        source: cairn_ir::eval::EvalError,
    },
    #[error("constant '{name}' does not fit in fixed point at scale {scale} (a value is too large or not finite)")]
    ConstantRange { name: String, scale: u32 },
    #[error("--scale {0} is out of range: use 6 to 40 fractional bits")]
    Scale(u32),
}

struct Quantiser<'a> {
    src: &'a Graph,
    out: Graph,
    map: Vec<Option<ValueId>>,
    consts: BTreeMap<(ValueId, u32), ValueId>,
    scale: u32,
    /// Largest calibrated magnitude of every value of `src`, when calibrating.
    ranges: Option<Vec<f32>>,
}

pub fn quantise(g: &Graph, opts: &QuantiseOptions) -> Result<Graph, QuantiseError> {
    if !(6..=40).contains(&opts.scale) {
        return Err(QuantiseError::Scale(opts.scale));
    }
    let mut ranges: Option<Vec<f32>> = None;
    for (index, sample) in opts.calibration.iter().enumerate() {
        let values = cairn_ir::eval::eval_f32(g, sample)
            .map_err(|source| QuantiseError::Calibration { index, source })?;
        let r = ranges.get_or_insert_with(|| vec![0.0; g.values.len()]);
        for (m, v) in r.iter_mut().zip(&values) {
            *m = v.iter().fold(*m, |m, x| m.max(x.abs()));
        }
    }
    let mut q = Quantiser {
        src: g,
        out: Graph::default(),
        map: vec![None; g.values.len()],
        consts: BTreeMap::new(),
        scale: opts.scale,
        ranges,
    };
    for &i in &g.inputs {
        let v = &g.values[i];
        let id = q.out.add_input(&v.name, v.ty.clone());
        q.out.values[id].scale = Some(q.act_scale(i));
        q.map[i] = Some(id);
    }
    for node in &g.nodes {
        q.node(node)?;
    }
    q.out.outputs = g
        .outputs
        .iter()
        .map(|&o| q.map[o].expect("outputs are defined"))
        .collect();
    q.out.quantised = true;
    Ok(q.out)
}

impl Quantiser<'_> {
    /// Floats take the activation scale; integers and booleans are exact, at scale 0.
    fn scale_for(&self, dtype: DType) -> u32 {
        if dtype == DType::F32 {
            self.scale
        } else {
            0
        }
    }

    /// The scale of the activation `v` (of the source graph): calibrated, or the common one;
    /// 0 for integers and booleans.
    fn act_scale(&self, v: ValueId) -> u32 {
        let dtype = self.src.values[v].ty.dtype;
        match &self.ranges {
            Some(r) if dtype == DType::F32 && r[v] > 0.0 && r[v].is_finite() => {
                let bits = (r[v] as f64).log2().ceil() as i64;
                let s = fixed::ACT_BOUND_BITS as i64 - CALIBRATION_HEADROOM_BITS as i64 - bits;
                s.clamp(6, CALIBRATED_MAX_SCALE as i64) as u32
            }
            _ => self.scale_for(dtype),
        }
    }

    fn is_const(&self, v: ValueId) -> bool {
        matches!(self.src.values[v].def, Def::Const(_))
    }

    fn runtime(&self, v: ValueId) -> ValueId {
        self.map[v].expect("operands precede their users")
    }

    fn scale_of(&self, v: ValueId) -> u32 {
        self.out.values[v].scale.unwrap_or(0)
    }

    /// The constant `v` quantised at `scale` (one copy per scale used); integer and boolean
    /// constants stay exact, at scale 0.
    fn constant(&mut self, v: ValueId, scale: u32) -> Result<ValueId, QuantiseError> {
        let scale = if self.src.values[v].ty.dtype == DType::F32 {
            scale
        } else {
            0
        };
        if let Some(&id) = self.consts.get(&(v, scale)) {
            return Ok(id);
        }
        let src = &self.src.values[v];
        let data = match &src.def {
            Def::Const(Data::F32(d)) => {
                let q: Option<Vec<i64>> = d
                    .iter()
                    .map(|&x| fixed::quantise(x as f64, scale))
                    .collect();
                Data::Int(q.ok_or_else(|| QuantiseError::ConstantRange {
                    name: src.name.clone(),
                    scale,
                })?)
            }
            Def::Const(d) => d.clone(),
            Def::Input | Def::Node(_) => unreachable!("only constants are quantised here"),
        };
        let id = self.out.add_const(&src.name, src.ty.clone(), data);
        self.out.values[id].scale = Some(scale);
        self.consts.insert((v, scale), id);
        Ok(id)
    }

    /// The per-tensor scale of a weight: more fractional bits for small magnitudes.
    fn weight_scale(&self, v: ValueId) -> u32 {
        let max = match self.src.const_data(v) {
            Some(Data::F32(d)) => d.iter().fold(0f32, |m, x| m.max(x.abs())),
            _ => return 0,
        };
        if max <= 0.0 || !max.is_finite() {
            return self.scale;
        }
        let headroom = (-(max as f64).log2().ceil()).max(0.0) as u32;
        self.scale + headroom.min(MAX_EXTRA_WEIGHT_BITS)
    }

    /// Either operand: a runtime value, or a constant at `const_scale`.
    fn operand(&mut self, v: ValueId, const_scale: u32) -> Result<ValueId, QuantiseError> {
        if self.is_const(v) {
            self.constant(v, const_scale)
        } else {
            Ok(self.runtime(v))
        }
    }

    fn push(
        &mut self,
        name: &str,
        op: Op,
        inputs: Vec<ValueId>,
        out_name: &str,
        ty: TensorType,
        scale: u32,
    ) -> ValueId {
        let id = self.out.add_node(name, op, inputs, out_name, ty);
        self.out.values[id].scale = Some(scale);
        id
    }

    /// `v` brought to `scale` (a `Rescale` node unless it is there already).
    fn rescale(&mut self, node: &str, v: ValueId, scale: u32, out_name: &str) -> ValueId {
        let from = self.scale_of(v);
        if from == scale {
            return v;
        }
        let ty = self.out.values[v].ty.clone();
        self.push(
            node,
            Op::Rescale {
                shift: scale as i32 - from as i32,
            },
            vec![v],
            out_name,
            ty,
            scale,
        )
    }

    fn node(&mut self, node: &cairn_ir::Node) -> Result<(), QuantiseError> {
        let out = &self.src.values[node.output];
        let (name, ty) = (out.name.clone(), out.ty.clone());
        let result_scale = self.act_scale(node.output);
        let acc_name = format!("{name}.acc");
        // The op's scale rule, the one validation checks.
        let id = match node.op.scale_rule() {
            ScaleRule::Product => {
                let (a, b) = (node.inputs[0], node.inputs[1]);
                let a = if self.is_const(a) {
                    self.constant(a, self.weight_scale(a))?
                } else {
                    self.runtime(a)
                };
                let b = if self.is_const(b) {
                    self.constant(b, self.weight_scale(b))?
                } else {
                    self.runtime(b)
                };
                let sum = self.scale_of(a) + self.scale_of(b);
                let mut inputs = vec![a, b];
                if let Some(&bias) = node.inputs.get(2) {
                    inputs.push(self.constant(bias, sum)?);
                }
                let acc = self.push(
                    &node.name,
                    node.op.clone(),
                    inputs,
                    &acc_name,
                    ty.clone(),
                    sum,
                );
                if sum == result_scale {
                    // Integer products (scale 0 times scale 0) need no rescale, but get its
                    // range check: chained products would otherwise wrap in the field, giving
                    // a value no ONNX runtime computes.
                    let check = Op::Rescale { shift: 0 };
                    self.push(&node.name, check, vec![acc], &name, ty, sum)
                } else {
                    self.rescale(&node.name, acc, result_scale, &name)
                }
            }
            // Operands brought to one scale: the finest of the runtime ones. A comparison gives
            // a boolean; Where's condition is one.
            rule @ (ScaleRule::Common | ScaleRule::CommonToBool | ScaleRule::Branches) => {
                let skip = usize::from(rule == ScaleRule::Branches);
                let operands = &node.inputs[skip..];
                let target = operands
                    .iter()
                    .filter(|&&v| !self.is_const(v))
                    .map(|&v| self.scale_of(self.runtime(v)))
                    .max()
                    .unwrap_or(self.scale_for(self.src.values[operands[0]].ty.dtype));
                let mut inputs = Vec::new();
                if skip == 1 {
                    inputs.push(self.operand(node.inputs[0], 0)?);
                }
                for (i, &v) in operands.iter().enumerate() {
                    let v = self.operand(v, target)?;
                    let suffix = match (node.inputs.len(), i) {
                        (2, 0) => "lhs".to_string(),
                        (2, _) => "rhs".to_string(),
                        _ => format!("in{i}"),
                    };
                    inputs.push(self.rescale(&node.name, v, target, &format!("{name}.{suffix}")));
                }
                let s = if rule == ScaleRule::CommonToBool {
                    0
                } else {
                    target
                };
                self.push(&node.name, node.op.clone(), inputs, &name, ty, s)
            }
            ScaleRule::Cast { to } => {
                let a = self.operand(node.inputs[0], self.scale)?;
                let from = self.out.values[a].ty.dtype;
                let s = match (from, to) {
                    (DType::F32, DType::F32) => self.scale_of(a),
                    (DType::I64 | DType::Bool, DType::F32) => result_scale,
                    (_, DType::I64 | DType::Bool) => 0,
                };
                self.push(&node.name, node.op.clone(), vec![a], &name, ty, s)
            }
            ScaleRule::Integer => {
                let a = self.operand(node.inputs[0], self.scale)?;
                self.push(&node.name, node.op.clone(), vec![a], &name, ty, 0)
            }
            ScaleRule::Keep => {
                let a = self.operand(node.inputs[0], self.scale)?;
                let s = self.scale_of(a);
                self.push(&node.name, node.op.clone(), vec![a], &name, ty, s)
            }
            // Tables need the operand at their grid's resolution or finer; the result takes
            // the activation's scale.
            ScaleRule::Free { min_operand } => {
                let a = self.operand(node.inputs[0], self.scale)?;
                let s = self.scale_of(a).max(min_operand);
                let a = self.rescale(&node.name, a, s, &format!("{name}.in"));
                self.push(
                    &node.name,
                    node.op.clone(),
                    vec![a],
                    &name,
                    ty,
                    result_scale,
                )
            }
            ScaleRule::Shift(_) => unreachable!("float graphs have no rescale"),
        };
        self.map[node.output] = Some(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_ir::eval::{eval_f32, eval_fixed};
    use cairn_ir::validate;
    use cairn_ir::{BinaryOp, TableFn, UnaryOp};

    /// x[1,3] → Gemm(4) → tanh → MatMul(2) + x-independent bias → sigmoid, checked against the
    /// float interpreter.
    #[test]
    fn quantised_graph_tracks_the_float_graph() {
        let mut g = Graph::default();
        let x = g.add_input("x", TensorType::f32(vec![1, 3]));
        let w1: Vec<f32> = (0..12).map(|i| ((i * 7 % 11) as f32 - 5.0) / 9.0).collect();
        let w1 = g.add_const("w1", TensorType::f32(vec![3, 4]), Data::F32(w1));
        let b1 = g.add_const(
            "b1",
            TensorType::f32(vec![4]),
            Data::F32(vec![0.1, -0.2, 0.3, 0.0]),
        );
        let h = g.add_node(
            "fc1",
            Op::MatMul,
            vec![x, w1, b1],
            "h",
            TensorType::f32(vec![1, 4]),
        );
        let t = g.add_node(
            "act",
            Op::Table(TableFn::Tanh),
            vec![h],
            "t",
            TensorType::f32(vec![1, 4]),
        );
        let w2 = g.add_const(
            "w2",
            TensorType::f32(vec![4, 2]),
            Data::F32(vec![0.5, -1.5, 2.0, 0.25, -0.75, 1.0, 0.0, 3.0]),
        );
        let y = g.add_node(
            "fc2",
            Op::MatMul,
            vec![t, w2],
            "y",
            TensorType::f32(vec![1, 2]),
        );
        let s = g.add_node(
            "sig",
            Op::Table(TableFn::Sigmoid),
            vec![y],
            "s",
            TensorType::f32(vec![1, 2]),
        );
        let m = g.add_node(
            "scale",
            Op::Binary(BinaryOp::Mul),
            vec![s, y],
            "m",
            TensorType::f32(vec![1, 2]),
        );
        g.outputs.push(m);
        let input = vec![0.7f32, -1.3, 2.1];
        let expect = eval_f32(&g, std::slice::from_ref(&input)).unwrap()[m].clone();

        let q = validate(quantise(&g, &QuantiseOptions::default()).unwrap()).unwrap();
        let s_in = q.values[q.inputs[0]].scale.unwrap();
        let xq: Vec<i128> = input
            .iter()
            .map(|&v| fixed::quantise(v as f64, s_in).unwrap() as i128)
            .collect();
        let out = q.outputs[0];
        let got = &eval_fixed(&q, &[xq]).unwrap()[out];
        let s_out = q.values[out].scale.unwrap();
        for (g, e) in got.iter().zip(&expect) {
            let g = fixed::dequantise(*g, s_out);
            assert!((g - *e as f64).abs() < 1e-3, "{g} vs {e}");
        }
    }

    #[test]
    fn small_weights_get_more_fractional_bits() {
        let mut g = Graph::default();
        let x = g.add_input("x", TensorType::f32(vec![1, 1]));
        let w = g.add_const("w", TensorType::f32(vec![1, 1]), Data::F32(vec![0.01]));
        let y = g.add_node(
            "mm",
            Op::MatMul,
            vec![x, w],
            "y",
            TensorType::f32(vec![1, 1]),
        );
        g.outputs.push(y);
        let q = quantise(&g, &QuantiseOptions::with_scale(12)).unwrap();
        let w = q.values.iter().find(|v| v.name == "w").unwrap();
        assert_eq!(w.scale, Some(12 + 6)); // 0.01 < 2^-6
        assert_eq!(q.values[q.outputs[0]].scale, Some(12));
    }

    /// Tiny activations lose their digits at the common scale; calibrated scales keep them.
    #[test]
    fn calibration_gives_small_activations_more_bits() {
        let mut g = Graph::default();
        let x = g.add_input("x", TensorType::f32(vec![1, 4]));
        let w: Vec<f32> = (0..8).map(|i| (i as f32 - 3.5) * 1.3e-4).collect();
        let w = g.add_const("w", TensorType::f32(vec![4, 2]), Data::F32(w));
        let y = g.add_node(
            "mm",
            Op::MatMul,
            vec![x, w],
            "y",
            TensorType::f32(vec![1, 2]),
        );
        let t = g.add_node(
            "t",
            Op::Unary(UnaryOp::Relu),
            vec![y],
            "t",
            TensorType::f32(vec![1, 2]),
        );
        g.outputs.push(t);
        let input = vec![0.9f32, -0.4, 0.3, 0.7];
        let expect = eval_f32(&g, std::slice::from_ref(&input)).unwrap()[t].clone();
        let error = |opts: &QuantiseOptions| {
            let q = validate(quantise(&g, opts).unwrap()).unwrap();
            let s_in = q.values[q.inputs[0]].scale.unwrap();
            let xq: Vec<i128> = input
                .iter()
                .map(|&v| fixed::quantise(v as f64, s_in).unwrap() as i128)
                .collect();
            let out = q.outputs[0];
            let got = &eval_fixed(&q, &[xq]).unwrap()[out];
            let s_out = q.values[out].scale.unwrap();
            let scale = expect.iter().fold(0f64, |m, e| m.max(e.abs() as f64));
            got.iter()
                .zip(&expect)
                .map(|(g, e)| (fixed::dequantise(*g, s_out) - *e as f64).abs() / scale)
                .fold(0f64, f64::max)
        };
        let common = error(&QuantiseOptions::default());
        let calibrated = error(&QuantiseOptions {
            scale: DEFAULT_SCALE,
            calibration: vec![vec![input.clone()]],
        });
        assert!(common > 1e-2, "common scale: {common}");
        assert!(
            calibrated < common / 100.0,
            "calibrated: {calibrated}, common: {common}"
        );
    }

    /// x⁴ of an integer by chained products: exact while it fits the range check, a failed run
    /// (never a value wrapped modulo the field) beyond it.
    #[test]
    fn integer_products_are_range_checked() {
        let mut g = Graph::default();
        let i64_ty = || TensorType::new(DType::I64, vec![2]);
        let x = g.add_input("x", i64_ty());
        let sq = g.add_node("sq", Op::Binary(BinaryOp::Mul), vec![x, x], "sq", i64_ty());
        let p4 = g.add_node(
            "p4",
            Op::Binary(BinaryOp::Mul),
            vec![sq, sq],
            "p4",
            i64_ty(),
        );
        g.outputs.push(p4);
        let q = validate(quantise(&g, &QuantiseOptions::default()).unwrap()).unwrap();
        let checks = q
            .nodes
            .iter()
            .filter(|n| n.op == Op::Rescale { shift: 0 })
            .count();
        assert_eq!(checks, 2, "{}", q.graph());
        let out = q.outputs[0];
        assert_eq!(
            eval_fixed(&q, &[vec![-7, 300]]).unwrap()[out],
            [2401, 8_100_000_000]
        );
        // 1000⁴ = 10¹² < 2^40 passes; 2000⁴ = 1.6·10¹³ > 2^40 fails.
        assert!(eval_fixed(&q, &[vec![1000, 1]]).is_ok());
        assert!(eval_fixed(&q, &[vec![2000, 1]]).is_err());
    }
}
