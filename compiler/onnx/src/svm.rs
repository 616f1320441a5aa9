//! `ai.onnx.ml` support vector machines (SVMRegressor, SVMClassifier) as core ops, with
//! onnxruntime's semantics (as ONNX's reference implementation writes them down).
//!
//! - Kernels against the support vectors `K[n, v]`: LINEAR `x·sv`, POLY `(γ x·sv + c₀)^d`,
//!   RBF `exp(-γ |x - sv|²)` (as `|x|² - 2 x·sv + |sv|²`), SIGMOID `tanh(γ x·sv + c₀)`.
//! - Regressor: `Σ_v coef_v K_v + ρ` (or `x·coef + ρ` without support vectors).
//! - Classifier, one-vs-one: the pairwise decision values `s_p = ρ_p + K·A_p` are one product by
//!   a constant matrix; a pair votes for its first class where `s_p > 0`, else its second, so
//!   the votes are `[s > 0]·(F - S) + colsum(S)` for the pairs' class indicators F and S; the
//!   label is the class with the most votes (the first on ties). Two classes give scores
//!   `[-s, s]`. Without support vectors (linear mode) each class scores `x·coef_c + ρ₀`.
//!   Probabilities (`prob_a`, Platt scaling with pairwise coupling) are not supported.

use std::sync::Arc;

use crate::trees::{label_of_best, matmul, predictor_rules};
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::cast;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::logic::comp_gt;
use tract_onnx::tract_core::ops::math::{add, exp, mul, square, tanh};
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};
use tract_onnx::tract_hir::internal::*;

pub fn register(onnx: &mut tract_onnx::model::Onnx) {
    onnx.op_register
        .insert("SVMRegressor", |_, node| parse(node, false));
    onnx.op_register
        .insert("SVMClassifier", |_, node| parse(node, true));
    // skl2onnx reshapes an SVC's pairwise scores into scikit-learn's decision function with it.
    onnx.op_register.insert("ArrayFeatureExtractor", |_, _| {
        Ok((expand(FeatureExtractor), vec![]))
    });
}

/// ArrayFeatureExtractor: `X[..., indices]`, a Gather on the last axis.
#[derive(Debug, Clone)]
struct FeatureExtractor;

impl Expansion for FeatureExtractor {
    fn name(&self) -> StaticName {
        "ArrayFeatureExtractor".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.given_2(&inputs[0].shape, &inputs[1].shape, move |s, x, idx| {
            let mut shape = x[..x.len().saturating_sub(1)].to_vec();
            // ONNX: [..., len(indices)] (a scalar or 1-D index list).
            shape.push(idx.iter().cloned().product::<TDim>());
            s.equals(&outputs[0].shape, ShapeFactoid::from(shape))
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank();
        let idx_rank = model.outlet_fact(inputs[1])?.rank();
        let mut idx = inputs[1];
        if idx_rank == 0 {
            idx = model.wire_node(format!("{prefix}.indices"), AxisOp::Add(0), &[idx])?[0];
        }
        let flat = if idx_rank > 1 {
            let n = model.outlet_fact(idx)?.shape.iter().product::<TDim>();
            let from = model.outlet_fact(idx)?.shape.to_tvec();
            model.wire_node(
                format!("{prefix}.flat_indices"),
                AxisOp::Reshape(0, from, tvec!(n)),
                &[idx],
            )?[0]
        } else {
            idx
        };
        model.wire_node(
            prefix,
            tract_onnx::tract_core::ops::array::Gather::new(rank - 1),
            &[inputs[0], flat],
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kernel {
    Linear,
    Poly,
    Rbf,
    Sigmoid,
}

#[derive(Debug, Clone)]
struct Svm {
    classifier: bool,
    kernel: Kernel,
    gamma: f32,
    coef0: f32,
    degree: u32,
    /// [F, V] support vectors transposed (or [F, C] linear coefficients), and [1, V] |sv|².
    vectors_t: Arc<Tensor>,
    sv_norms: Arc<Tensor>,
    /// [V, P] decision weights and [1, P] offsets.
    decision: Arc<Tensor>,
    rho: Arc<Tensor>,
    /// One-vs-one votes: [P, C] (first − second class indicators) and [1, C] second counts.
    votes: Option<(Arc<Tensor>, Arc<Tensor>)>,
    labels: Option<Arc<Tensor>>,
    outputs: usize,
}

fn floats(node: &NodeProto, name: &str) -> TractResult<Vec<f32>> {
    Ok(node.get_attr_opt_vec::<f32>(name)?.unwrap_or_default())
}

fn parse(node: &NodeProto, classifier: bool) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let post = node
        .get_attr_opt::<&str>("post_transform")?
        .unwrap_or("NONE");
    if post != "NONE" {
        bail!("post_transform {post} is not supported for SVMs (NONE is)");
    }
    if !floats(node, "prob_a")?.is_empty() {
        bail!(
            "SVM probabilities (prob_a, prob_b) are not supported; export without probability=True"
        );
    }
    let params = floats(node, "kernel_params")?;
    let (gamma, coef0, degree) = (
        params.first().copied().unwrap_or(0.0),
        params.get(1).copied().unwrap_or(0.0),
        params.get(2).copied().unwrap_or(0.0) as u32,
    );
    let coefs = floats(node, "coefficients")?;
    let sv = floats(node, "support_vectors")?;
    let rho = floats(node, "rho")?;
    let labels = if classifier {
        if node
            .get_attr_opt_vec::<String>("classlabels_strings")?
            .is_some()
        {
            bail!("string class labels are not supported; export with integer labels");
        }
        Some(
            node.get_attr_opt_vec::<i64>("classlabels_ints")?
                .unwrap_or_default(),
        )
    } else {
        None
    };
    let per_class: Vec<usize> = node
        .get_attr_opt_vec::<i64>("vectors_per_class")?
        .unwrap_or_default()
        .iter()
        .map(|&v| v as usize)
        .collect();
    let n_vectors: usize = if classifier {
        per_class.iter().sum()
    } else {
        node.get_attr_opt::<i64>("n_supports")?.unwrap_or(0) as usize
    };
    let kernel = if n_vectors == 0 {
        Kernel::Linear
    } else {
        match node
            .get_attr_opt::<&str>("kernel_type")?
            .unwrap_or("LINEAR")
        {
            "LINEAR" => Kernel::Linear,
            "POLY" => Kernel::Poly,
            "RBF" => Kernel::Rbf,
            "SIGMOID" => Kernel::Sigmoid,
            other => bail!("kernel_type {other} is not supported"),
        }
    };
    if node.get_attr_opt::<i64>("one_class")?.unwrap_or(0) != 0 {
        bail!("one-class SVMs are not supported");
    }
    let t = |v: Vec<f32>, shape: &[usize]| -> TractResult<Arc<Tensor>> {
        Ok(Arc::new(tensor1(&v).into_shape(shape)?))
    };

    // Linear mode (no support vectors): the coefficients act as one "vector" per output.
    // (The label is then the best score's class: onnxruntime's binary special cases for
    // linear mode are not reproduced.)
    let (vectors, v) = if n_vectors == 0 {
        (coefs.clone(), labels.as_ref().map_or(1, |l| l.len().max(1)))
    } else {
        (sv.clone(), n_vectors)
    };
    if v == 0 || vectors.len() % v != 0 {
        bail!(
            "{} vector values do not split into {v} vectors",
            vectors.len()
        );
    }
    let f = vectors.len() / v;
    let mut vectors_t = vec![0f32; f * v];
    let mut norms = vec![0f32; v];
    for j in 0..v {
        for i in 0..f {
            let x = vectors[j * f + i];
            vectors_t[i * v + j] = x;
            norms[j] += x * x;
        }
    }

    let (decision, rho_t, votes, outputs) = if n_vectors == 0 {
        // K = x·coef_c: each output is its own kernel value plus ρ₀.
        let mut eye = vec![0f32; v * v];
        (0..v).for_each(|j| eye[j * v + j] = 1.0);
        let r = rho.first().copied().unwrap_or(0.0);
        (t(eye, &[v, v])?, t(vec![r; v], &[1, v])?, None, v)
    } else if !classifier {
        if coefs.len() != v {
            bail!("{} coefficients for {v} support vectors", coefs.len());
        }
        let r = rho.first().copied().unwrap_or(0.0);
        (t(coefs.clone(), &[v, 1])?, t(vec![r], &[1, 1])?, None, 1)
    } else {
        let c = per_class.len();
        let pairs: Vec<(usize, usize)> = (0..c)
            .flat_map(|i| (i + 1..c).map(move |j| (i, j)))
            .collect();
        if rho.len() != pairs.len() || coefs.len() != (c - 1) * v {
            bail!("rho or coefficients do not match {c} classes and {v} support vectors");
        }
        let start: Vec<usize> = per_class
            .iter()
            .scan(0, |s, &n| {
                let here = *s;
                *s += n;
                Some(here)
            })
            .collect();
        let p = pairs.len();
        let mut a = vec![0f32; v * p];
        for (e, &(i, j)) in pairs.iter().enumerate() {
            for k in start[i]..start[i] + per_class[i] {
                a[k * p + e] = coefs[(j - 1) * v + k];
            }
            for k in start[j]..start[j] + per_class[j] {
                a[k * p + e] = coefs[i * v + k];
            }
        }
        let mut diff = vec![0f32; p * c];
        let mut second = vec![0f32; c];
        for (e, &(i, j)) in pairs.iter().enumerate() {
            diff[e * c + i] += 1.0;
            diff[e * c + j] -= 1.0;
            second[j] += 1.0;
        }
        (
            t(a, &[v, p])?,
            t(rho.clone(), &[1, p])?,
            Some((t(diff, &[p, c])?, t(second, &[1, c])?)),
            p,
        )
    };
    let svm = Svm {
        classifier,
        kernel,
        gamma,
        coef0,
        degree,
        vectors_t: t(vectors_t, &[f, v])?,
        sv_norms: t(norms, &[1, v])?,
        decision,
        rho: rho_t,
        votes,
        labels: labels.map(|l| rctensor1(&l)),
        outputs,
    };
    Ok((expand(svm), vec![]))
}

impl Svm {
    /// Number of score columns: two for a binary one-vs-one classifier (`[-s, s]`).
    fn score_width(&self) -> usize {
        if self.classifier && self.outputs == 1 {
            2
        } else {
            self.outputs
        }
    }
}

impl Expansion for Svm {
    fn name(&self) -> StaticName {
        if self.classifier {
            "SVMClassifier".into()
        } else {
            "SVMRegressor".into()
        }
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(1 + self.classifier as usize)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        predictor_rules(s, inputs, outputs, self.classifier, self.score_width())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let name = |s: &str| format!("{prefix}.{s}");
        let k =
            |model: &mut TypedModel, n: &str, v: f32| model.add_const(name(n), rctensor2(&[[v]]));
        let mut x = inputs[0];
        if model.outlet_fact(x)?.datum_type != f32::datum_type() {
            x = model.wire_node(name("to_f32"), cast(f32::datum_type()), &[x])?[0];
        }
        let dot = matmul(model, &name("dot"), x, self.vectors_t.clone())?;
        let scaled = |model: &mut TypedModel| -> TractResult<OutletId> {
            let g = k(model, "gamma", self.gamma)?;
            let c = k(model, "coef0", self.coef0)?;
            let s = model.wire_node(name("gamma_dot"), mul(), &[dot, g])?[0];
            Ok(model.wire_node(name("shifted"), add(), &[s, c])?[0])
        };
        let kernel = match self.kernel {
            Kernel::Linear => dot,
            Kernel::Sigmoid => {
                let s = scaled(model)?;
                model.wire_node(name("tanh"), tanh(), &[s])?[0]
            }
            Kernel::Poly => {
                let s = scaled(model)?;
                let mut acc = k(model, "one", 1.0)?;
                for i in 0..self.degree {
                    acc = model.wire_node(name(&format!("power{i}")), mul(), &[acc, s])?[0];
                }
                acc
            }
            Kernel::Rbf => {
                // |x - sv|² = |x|² - 2 x·sv + |sv|².
                let sq = model.wire_node(name("x_squared"), square(), &[x])?;
                let xx =
                    model.wire_node(name("x_norm"), Reduce::new(tvec!(1), Reducer::Sum), &sq)?[0];
                let m2 = k(model, "minus_two", -2.0)?;
                let cross = model.wire_node(name("cross"), mul(), &[dot, m2])?[0];
                let d = model.wire_node(name("partial"), add(), &[cross, xx])?[0];
                let svn = model.add_const(name("sv_norms"), self.sv_norms.clone())?;
                let d = model.wire_node(name("distance"), add(), &[d, svn])?[0];
                let g = k(model, "minus_gamma", -self.gamma)?;
                let e = model.wire_node(name("exponent"), mul(), &[d, g])?[0];
                model.wire_node(name("rbf"), exp(), &[e])?[0]
            }
        };
        let s = matmul(model, &name("decision"), kernel, self.decision.clone())?;
        let rho = model.add_const(name("rho"), self.rho.clone())?;
        let scores = model.wire_node(name("scores"), add(), &[s, rho])?[0];
        let Some(labels) = &self.labels else {
            return Ok(tvec!(scores));
        };
        // The winning class: by votes (one-vs-one) or by score (linear mode).
        let (winner_of, out_scores) = match &self.votes {
            Some((diff, second)) => {
                let zero = k(model, "zero", 0.0)?;
                let pos = model.wire_node(
                    name("positive"),
                    TypedBinOp(comp_gt(), None),
                    &[scores, zero],
                )?;
                let pos = model.wire_node(name("positive.f32"), cast(f32::datum_type()), &pos)?[0];
                let v = matmul(model, &name("votes"), pos, diff.clone())?;
                let sc = model.add_const(name("second_votes"), second.clone())?;
                let votes = model.wire_node(name("vote_counts"), add(), &[v, sc])?[0];
                let out = if self.outputs == 1 {
                    // Two classes: [-s, s].
                    let m1 = k(model, "minus_one", -1.0)?;
                    let neg = model.wire_node(name("negated"), mul(), &[scores, m1])?[0];
                    model.wire_node(
                        name("binary"),
                        tract_onnx::tract_core::ops::array::TypedConcat::new(1),
                        &[neg, scores],
                    )?[0]
                } else {
                    scores
                };
                (votes, out)
            }
            None => (scores, scores),
        };
        let label = label_of_best(model, prefix, winner_of, labels)?;
        Ok(tvec!(label, out_scores))
    }
}
