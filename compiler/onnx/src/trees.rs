//! `ai.onnx.ml` tree ensembles (TreeEnsembleClassifier, TreeEnsembleRegressor) as core ops.
//!
//! A proof cannot branch on data, so every tree is evaluated whole, as linear algebra:
//! 1. `G = X[:, feature_k]` for every branch node k (a gather with constant indices);
//! 2. `C_k = cmp_k(G_k, threshold_k)`, 1 where the node's test holds;
//! 3. `S = C · M + f` with `M[k, l] = +1` when leaf l lies under k's true branch, `-1` under its
//!    false branch, and `f_l` the number of false branches on l's path: `S_l` counts the tests
//!    on l's path that send the input towards l, so the leaf reached is the one with
//!    `S_l = depth_l` (exactly one per tree);
//! 4. `scores = [S = depth] · W + base`, `W[l, c]` the leaf's weight for class or target c;
//!    then the aggregate (SUM, AVERAGE) and the post-transform (NONE, LOGISTIC, SOFTMAX).
//!
//! The expansion is registered in tract's ONNX parser, so tract's float reference and Cairn's
//! lowering read the same core ops; the zoo checks both against onnxruntime.

use std::collections::HashMap;
use std::sync::Arc;

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{Gather, TypedConcat};
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::cast;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::logic::{comp_eq, comp_gt, comp_gte, comp_lt, comp_lte, comp_ne};
use tract_onnx::tract_core::ops::math::{add, mul, sub};
use tract_onnx::tract_core::ops::nn::{sigmoid, Reduce, Reducer, Softmax};
use tract_onnx::tract_hir::internal::*;
use tract_onnx_opl::ml::DirectLookup;

/// Registers Cairn's tree ensembles in tract's ONNX parser (replacing tract's own classifier,
/// which is one opaque op).
pub fn register(onnx: &mut tract_onnx::model::Onnx) {
    onnx.op_register
        .insert("TreeEnsembleClassifier", |_, node| parse(node, true));
    onnx.op_register
        .insert("TreeEnsembleRegressor", |_, node| parse(node, false));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Post {
    None,
    Logistic,
    Softmax,
    /// Softmax over the non-zero scores; zeros stay 0, and a row of zeros gives 1/2 each.
    SoftmaxZero,
}

#[derive(Debug, Clone)]
struct Trees {
    classifier: bool,
    /// Branch nodes: feature read, and per comparison mode its thresholds and a 0/1 mask of
    /// the nodes using it.
    features: Arc<Tensor>,
    tests: Vec<(u8, Arc<Tensor>, Option<Arc<Tensor>>)>,
    /// [K, L] path matrix, [1, L] false-branch counts and depths.
    paths: Arc<Tensor>,
    false_counts: Arc<Tensor>,
    depths: Arc<Tensor>,
    /// MIN (false) or MAX (true) over this many trees, whose outputs `weights` keeps apart.
    extreme: Option<(bool, usize)>,
    /// [L, C] leaf weights ([L, trees·C] for MIN and MAX), [1, C] base values.
    weights: Arc<Tensor>,
    base: Arc<Tensor>,
    outputs: usize,
    post: Post,
    /// Binary classifiers with one class's weights (ONNX's reference): the score s becomes
    /// `[1 - s, s]` without post-transform, else the post-transform of `[-s, s]`.
    binary: bool,
    labels: Option<Arc<Tensor>>,
}

/// A float attribute, in its plain form or its `_as_tensor` form (ai.onnx.ml opset 3).
fn floats(node: &NodeProto, name: &str) -> TractResult<Option<Vec<f32>>> {
    if let Some(v) = node.get_attr_opt_vec::<f32>(name)? {
        return Ok(Some(v));
    }
    let Some(t) =
        node.get_attr_opt::<&tract_onnx::pb::TensorProto>(&format!("{name}_as_tensor"))?
    else {
        return Ok(None);
    };
    if !t.float_data.is_empty() {
        return Ok(Some(t.float_data.clone()));
    }
    if !t.double_data.is_empty() {
        return Ok(Some(t.double_data.iter().map(|&x| x as f32).collect()));
    }
    let raw = &t.raw_data;
    Ok(Some(match t.data_type {
        1 => raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        11 => raw
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32)
            .collect(),
        other => bail!("{name}_as_tensor has data type {other}; expected float or double"),
    }))
}

fn ints(node: &NodeProto, name: &str) -> TractResult<Vec<i64>> {
    Ok(node.get_attr_opt_vec::<i64>(name)?.unwrap_or_default())
}

fn parse(node: &NodeProto, classifier: bool) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let tree_ids = ints(node, "nodes_treeids")?;
    let node_ids = ints(node, "nodes_nodeids")?;
    let feature_ids = ints(node, "nodes_featureids")?;
    let true_ids = ints(node, "nodes_truenodeids")?;
    let false_ids = ints(node, "nodes_falsenodeids")?;
    let modes: Vec<String> = node.get_attr_vec::<String>("nodes_modes")?;
    let values = floats(node, "nodes_values")?.unwrap_or_default();
    let n = node_ids.len();
    for (what, len) in [
        ("nodes_treeids", tree_ids.len()),
        ("nodes_featureids", feature_ids.len()),
        ("nodes_truenodeids", true_ids.len()),
        ("nodes_falsenodeids", false_ids.len()),
        ("nodes_modes", modes.len()),
        ("nodes_values", values.len()),
    ] {
        if len != n {
            bail!("{what} has {len} entries, nodes_nodeids has {n}");
        }
    }
    let prefix = if classifier { "class" } else { "target" };
    let leaf_trees = ints(node, &format!("{prefix}_treeids"))?;
    let leaf_nodes = ints(node, &format!("{prefix}_nodeids"))?;
    let leaf_ids = ints(node, &format!("{prefix}_ids"))?;
    let leaf_weights = floats(node, &format!("{prefix}_weights"))?.unwrap_or_default();
    if [leaf_nodes.len(), leaf_ids.len(), leaf_weights.len()] != [leaf_trees.len(); 3] {
        bail!("the {prefix}_treeids, _nodeids, _ids and _weights attributes differ in length");
    }
    let labels: Option<Arc<Tensor>> = if classifier {
        if node
            .get_attr_opt_vec::<String>("classlabels_strings")?
            .is_some()
        {
            bail!("string class labels are not supported; export with integer labels");
        }
        Some(rctensor1(&ints(node, "classlabels_int64s")?))
    } else {
        None
    };
    let outputs = match &labels {
        Some(l) => l.len(),
        None => node.get_attr::<i64>("n_targets")? as usize,
    };
    let post = match node
        .get_attr_opt::<&str>("post_transform")?
        .unwrap_or("NONE")
    {
        "NONE" => Post::None,
        "LOGISTIC" => Post::Logistic,
        "SOFTMAX" => Post::Softmax,
        "SOFTMAX_ZERO" => Post::SoftmaxZero,
        other => bail!(
            "post_transform {other} is not supported (NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO are)"
        ),
    };
    // (average, Some(is_max) for MIN and MAX)
    let (average, extreme) = match node
        .get_attr_opt::<&str>("aggregate_function")?
        .unwrap_or("SUM")
    {
        "SUM" => (false, None),
        "AVERAGE" => (true, None),
        "MIN" => (false, Some(false)),
        "MAX" => (false, Some(true)),
        other => bail!("aggregate_function {other} is not one of SUM, AVERAGE, MIN, MAX"),
    };

    // Nodes by (tree, id); branches and leaves numbered in the attributes' order.
    let at: HashMap<(i64, i64), usize> = (0..n).map(|i| ((tree_ids[i], node_ids[i]), i)).collect();
    let is_leaf = |i: usize| modes[i] == "LEAF";
    let branches: Vec<usize> = (0..n).filter(|&i| !is_leaf(i)).collect();
    let leaves: Vec<usize> = (0..n).filter(|&i| is_leaf(i)).collect();
    let branch_ix: HashMap<usize, usize> =
        branches.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let leaf_ix: HashMap<usize, usize> = leaves.iter().enumerate().map(|(l, &i)| (i, l)).collect();
    let (k, l) = (branches.len(), leaves.len());
    if k == 0 {
        bail!("an ensemble without branch nodes");
    }
    // Paths: walk every tree from its root, recording each leaf's tests.
    let mut paths = vec![0f32; k * l];
    let mut false_counts = vec![0f32; l];
    let mut depths = vec![0f32; l];
    let children: std::collections::HashSet<(i64, i64)> = branches
        .iter()
        .flat_map(|&i| [(tree_ids[i], true_ids[i]), (tree_ids[i], false_ids[i])])
        .collect();
    let mut n_trees = 0;
    let mut leaf_tree = vec![0usize; l];
    for root in (0..n).filter(|&i| !children.contains(&(tree_ids[i], node_ids[i]))) {
        n_trees += 1;
        let mut stack: Vec<(usize, Vec<(usize, bool)>)> = vec![(root, vec![])];
        while let Some((i, path)) = stack.pop() {
            if is_leaf(i) {
                let li = leaf_ix[&i];
                leaf_tree[li] = n_trees - 1;
                for &(kb, branch) in &path {
                    paths[kb * l + li] = if branch { 1.0 } else { -1.0 };
                    if !branch {
                        false_counts[li] += 1.0;
                    }
                }
                depths[li] = path.len() as f32;
                continue;
            }
            if path.len() > n {
                bail!("tree {} has a cycle", tree_ids[i]);
            }
            let kb = branch_ix[&i];
            for (child, branch) in [(true_ids[i], true), (false_ids[i], false)] {
                let c = *at
                    .get(&(tree_ids[i], child))
                    .ok_or_else(|| format_err!("tree {}: no node {child}", tree_ids[i]))?;
                let mut p = path.clone();
                p.push((kb, branch));
                stack.push((c, p));
            }
        }
    }
    // Leaf weights, summed per (leaf, output); AVERAGE divides by the number of trees. MIN and
    // MAX keep each tree's output apart (columns [tree, output]) to reduce over trees after.
    let width_of_trees = if extreme.is_some() { n_trees } else { 1 };
    let mut weights = vec![0f32; l * outputs * width_of_trees];
    for j in 0..leaf_trees.len() {
        let i = *at
            .get(&(leaf_trees[j], leaf_nodes[j]))
            .ok_or_else(|| format_err!("weight for a missing node {}", leaf_nodes[j]))?;
        let li = *leaf_ix
            .get(&i)
            .ok_or_else(|| format_err!("weight on node {} which is not a leaf", leaf_nodes[j]))?;
        let c = leaf_ids[j] as usize;
        if c >= outputs {
            bail!("weight for output {c}, but there are {outputs}");
        }
        let w = leaf_weights[j] / if average { n_trees as f32 } else { 1.0 };
        let column = if extreme.is_some() {
            leaf_tree[li] * outputs + c
        } else {
            c
        };
        weights[li * outputs * width_of_trees + column] += w;
    }
    let mut base = floats(node, "base_values")?.unwrap_or_else(|| vec![0.0; outputs]);
    // Binary classifiers with the weights of one class only (onnxruntime's binary case).
    let binary = classifier
        && extreme.is_none()
        && outputs == 2
        && leaf_ids.iter().all(|&c| c == leaf_ids[0]);
    if binary {
        // Score the positive class alone, with the one base value given.
        let c = leaf_ids[0] as usize;
        weights = (0..l).map(|li| weights[li * outputs + c]).collect();
        base = vec![base.first().copied().unwrap_or(0.0)];
    }
    let width = if binary { 1 } else { outputs };
    if base.len() != width {
        bail!("base_values has {} entries for {width} outputs", base.len());
    }

    let mut tests = Vec::new();
    for (mode, code) in [
        ("BRANCH_LEQ", 0u8),
        ("BRANCH_LT", 1),
        ("BRANCH_GTE", 2),
        ("BRANCH_GT", 3),
        ("BRANCH_EQ", 4),
        ("BRANCH_NEQ", 5),
    ] {
        let uses: Vec<f32> = branches
            .iter()
            .map(|&i| (modes[i] == mode) as u8 as f32)
            .collect();
        if uses.iter().all(|&u| u == 0.0) {
            continue;
        }
        let thresholds: Vec<f32> = branches.iter().map(|&i| values[i]).collect();
        let mask = uses.contains(&0.0).then(|| {
            Arc::new(
                tensor1(&uses)
                    .into_shape(&[1, k])
                    .expect("shape of k elements"),
            )
        });
        tests.push((
            code,
            Arc::new(tensor1(&thresholds).into_shape(&[1, k])?),
            mask,
        ));
    }
    if let Some(i) = branches.iter().find(|&&i| !modes[i].starts_with("BRANCH_")) {
        bail!("node mode {} is not supported", modes[*i]);
    }
    let features: Vec<i64> = branches.iter().map(|&i| feature_ids[i]).collect();
    let trees = Trees {
        classifier,
        features: rctensor1(&features),
        tests,
        paths: Arc::new(tensor1(&paths).into_shape(&[k, l])?),
        false_counts: Arc::new(tensor1(&false_counts).into_shape(&[1, l])?),
        depths: Arc::new(tensor1(&depths).into_shape(&[1, l])?),
        weights: Arc::new(tensor1(&weights).into_shape(&[l, width * width_of_trees])?),
        extreme: extreme.map(|m| (m, n_trees)),
        base: Arc::new(tensor1(&base).into_shape(&[1, width])?),
        outputs,
        post,
        binary,
        labels,
    };
    Ok((expand(trees), vec![]))
}

impl Expansion for Trees {
    fn name(&self) -> StaticName {
        if self.classifier {
            "TreeEnsembleClassifier".into()
        } else {
            "TreeEnsembleRegressor".into()
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
        predictor_rules(s, inputs, outputs, self.classifier, self.outputs)
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let name = |s: &str| format!("{prefix}.{s}");
        let mut x = inputs[0];
        if model.outlet_fact(x)?.datum_type != f32::datum_type() {
            x = model.wire_node(name("to_f32"), cast(f32::datum_type()), &[x])?[0];
        }
        let features = model.add_const(name("features"), self.features.clone())?;
        let g = model.wire_node(name("gather"), Gather::new(1), &[x, features])?[0];
        // C: one comparison per mode in use, masked to the nodes using it.
        let mut c: Option<OutletId> = None;
        for (i, (code, thresholds, mask)) in self.tests.iter().enumerate() {
            let t = model.add_const(name(&format!("thresholds{i}")), thresholds.clone())?;
            let cmp = match code {
                0 => comp_lte(),
                1 => comp_lt(),
                2 => comp_gte(),
                3 => comp_gt(),
                4 => comp_eq(),
                _ => comp_ne(),
            };
            let b = model.wire_node(name(&format!("test{i}")), TypedBinOp(cmp, None), &[g, t])?;
            let mut f =
                model.wire_node(name(&format!("test{i}.f32")), cast(f32::datum_type()), &b)?[0];
            if let Some(mask) = mask {
                let m = model.add_const(name(&format!("mask{i}")), mask.clone())?;
                f = model.wire_node(name(&format!("test{i}.masked")), mul(), &[f, m])?[0];
            }
            c = Some(match c {
                None => f,
                Some(acc) => model.wire_node(name(&format!("tests{i}")), add(), &[acc, f])?[0],
            });
        }
        let c = c.ok_or_else(|| format_err!("no branch tests"))?;
        let s = matmul(model, &name("paths"), c, self.paths.clone())?;
        let f = model.add_const(name("false_counts"), self.false_counts.clone())?;
        let s = model.wire_node(name("matches"), add(), &[s, f])?[0];
        let d = model.add_const(name("depths"), self.depths.clone())?;
        let reached = model.wire_node(name("reached"), TypedBinOp(comp_eq(), None), &[s, d])?;
        let reached = model.wire_node(name("reached.f32"), cast(f32::datum_type()), &reached)?[0];
        let mut raw = matmul(model, &name("leaves"), reached, self.weights.clone())?;
        if let Some((is_max, trees)) = self.extreme {
            let c = self.outputs;
            raw = model.wire_node(
                name("per_tree"),
                AxisOp::Reshape(
                    1,
                    tvec!((trees * c).to_dim()),
                    tvec!(trees.to_dim(), c.to_dim()),
                ),
                &[raw],
            )?[0];
            let reducer = if is_max { Reducer::Max } else { Reducer::Min };
            raw = model.wire_node(name("extreme"), Reduce::new(tvec!(1), reducer), &[raw])?[0];
            raw = model.wire_node(name("extreme.rm"), AxisOp::Rm(1), &[raw])?[0];
        }
        let base = model.add_const(name("base"), self.base.clone())?;
        let mut scores = model.wire_node(name("scores"), add(), &[raw, base])?[0];
        // Binary: the score s becomes [1 - s, s], or the post-transform of [-s, s]
        // (σ(-s) = 1 - σ(s)).
        if self.binary {
            scores = match self.post {
                Post::Logistic => model.wire_node(name("logistic"), sigmoid(), &[scores])?[0],
                _ => scores,
            };
            let other = if matches!(self.post, Post::Softmax | Post::SoftmaxZero) {
                let m1 = model.add_const(name("minus_one"), rctensor2(&[[-1f32]]))?;
                model.wire_node(name("negated"), mul(), &[scores, m1])?[0]
            } else {
                let one = model.add_const(name("one"), rctensor2(&[[1f32]]))?;
                model.wire_node(name("complement"), sub(), &[one, scores])?[0]
            };
            scores = model.wire_node(name("binary"), TypedConcat::new(1), &[other, scores])?[0];
            if self.post == Post::Softmax {
                scores = model.wire_node(
                    name("softmax"),
                    Softmax {
                        axes: tvec!(1),
                        ..Softmax::default()
                    },
                    &[scores],
                )?[0];
            }
            if self.post == Post::SoftmaxZero {
                scores = softmax_zero(model, prefix, scores)?;
            }
        } else {
            scores = match self.post {
                Post::None => scores,
                Post::Logistic => model.wire_node(name("logistic"), sigmoid(), &[scores])?[0],
                Post::Softmax => model.wire_node(
                    name("softmax"),
                    Softmax {
                        axes: tvec!(1),
                        ..Softmax::default()
                    },
                    &[scores],
                )?[0],
                Post::SoftmaxZero => softmax_zero(model, prefix, scores)?,
            };
        }
        let Some(labels) = &self.labels else {
            return Ok(tvec!(scores));
        };
        let label = label_of_best(model, prefix, scores, labels)?;
        Ok(tvec!(label, scores))
    }
}

/// The facts of an `ai.onnx.ml` predictor: `X[N, F]` in; scores `[N, width]` out, after
/// int64 labels `[N]` for a classifier.
pub(crate) fn predictor_rules<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
    classifier: bool,
    width: usize,
) -> InferenceResult {
    check_input_arity(inputs, 1)?;
    check_output_arity(outputs, 1 + classifier as usize)?;
    s.equals(&inputs[0].rank, 2)?;
    let scores = &outputs[classifier as usize];
    s.equals(&scores.datum_type, f32::datum_type())?;
    s.equals(&scores.rank, 2)?;
    s.equals(&scores.shape[0], &inputs[0].shape[0])?;
    s.equals(&scores.shape[1], (width as i64).to_dim())?;
    if classifier {
        s.equals(&outputs[0].datum_type, i64::datum_type())?;
        s.equals(&outputs[0].rank, 1)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
    }
    Ok(())
}

/// SOFTMAX_ZERO over the columns of `x[N, C]` (ONNX's reference): `e^(x - max)` where
/// `x ≠ 0`, 0 where `x = 0`, divided by the row's sum; a row whose sum is 0 gives 1/2 each.
fn softmax_zero(model: &mut TypedModel, prefix: &str, x: OutletId) -> TractResult<OutletId> {
    use tract_onnx::tract_core::ops::logic::Iff;
    use tract_onnx::tract_core::ops::math::{div, exp};
    let name = |s: &str| format!("{prefix}.softmax_zero.{s}");
    let scalar =
        |model: &mut TypedModel, n: &str, v: f32| model.add_const(name(n), rctensor2(&[[v]]));
    let max = model.wire_node(name("max"), Reduce::new(tvec!(1), Reducer::Max), &[x])?[0];
    let shifted = model.wire_node(name("shifted"), sub(), &[x, max])?[0];
    let e = model.wire_node(name("exp"), exp(), &[shifted])?[0];
    let zero = scalar(model, "zero", 0.0)?;
    let nonzero = model.wire_node(name("nonzero"), TypedBinOp(comp_ne(), None), &[x, zero])?;
    let nonzero = model.wire_node(name("nonzero.f32"), cast(f32::datum_type()), &nonzero)?[0];
    let kept = model.wire_node(name("kept"), mul(), &[e, nonzero])?[0];
    let sum = model.wire_node(name("sum"), Reduce::new(tvec!(1), Reducer::Sum), &[kept])?[0];
    let empty = model.wire_node(name("empty"), TypedBinOp(comp_eq(), None), &[sum, zero])?[0];
    let one = scalar(model, "one", 1.0)?;
    let safe = model.wire_node(name("safe_sum"), Iff, &[empty, one, sum])?[0];
    let y = model.wire_node(name("divided"), div(), &[kept, safe])?[0];
    let half = scalar(model, "half", 0.5)?;
    Ok(model.wire_node(name("result"), Iff, &[empty, half, y])?[0])
}

/// `a[N, k] · b[k, m]` for a constant `b`, as tract's own ml ops wire it.
pub(crate) fn matmul(
    model: &mut TypedModel,
    name: &str,
    a: OutletId,
    b: Arc<Tensor>,
) -> TractResult<OutletId> {
    let b = model.add_const(format!("{name}.matrix"), b)?;
    let axes = AxesMapping::for_numpy_matmul(2, false, false, false)?;
    Ok(model.wire_node(name, EinSum::new(axes, f32::datum_type()), &[a, b])?[0])
}

/// The label of each row's best column (the first on ties): an ArgMax, then a lookup in the
/// class labels (Cairn lowers the lookup data-obliviously, `ops/ml.rs`).
pub(crate) fn label_of_best(
    model: &mut TypedModel,
    prefix: &str,
    scores: OutletId,
    labels: &Arc<Tensor>,
) -> TractResult<OutletId> {
    let name = |s: &str| format!("{prefix}.{s}");
    let winner = model.wire_node(
        name("argmax"),
        Reduce::new(tvec!(1), Reducer::ArgMax(false)),
        &[scores],
    )?;
    let winner = model.wire_node(name("winner"), AxisOp::Rm(1), &winner)?;
    let winner = model.wire_node(name("winner.i32"), cast(i32::datum_type()), &winner)?;
    Ok(model.wire_node(
        name("labels"),
        DirectLookup::new(labels.clone(), Arc::new(Tensor::zero::<i64>(&[])?))?,
        &winner,
    )?[0])
}
