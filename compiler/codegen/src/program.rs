//! The render model of the program's entry point (`src/lib.cairo`) and its side files.

use std::path::PathBuf;

use askama::Template;
use cairn_ir::fixed::Pwl;
use cairn_ir::{
    broadcast_index_map, transpose_index_map, BinaryOp, DType, Data, Def, Graph, Op, UnaryOp,
    ValueId,
};

use crate::partition::{live_sets, Live, Partition, Units};
use crate::{dense, CodegenError, CodegenOptions};

/// The Cairo version the generated Scarb.toml asks for (the corelib Cairn compiles against).
const CAIRO_VERSION: &str = "2.16.0";

pub(crate) struct IoView {
    name: String,
    ty: String,
    scale: u32,
    len: usize,
}

pub(crate) struct ConstView {
    name: String,
    elem: &'static str,
    comment: String,
    values: Vec<String>,
}

/// The most values in one Cairo fixed-size array: the compiler sizes types in an `i16`.
const MAX_FIXED_ARRAY: usize = 32_000;

impl ConstView {
    /// The values in fixed-size arrays the compiler accepts (one unless the table is large).
    fn chunks(&self) -> Vec<&[String]> {
        if self.values.is_empty() {
            return vec![&[]];
        }
        self.values.chunks(MAX_FIXED_ARRAY).collect()
    }

    /// The Cairo expression of the constant as a span: a large table is joined at run time.
    fn span(name: &str, len: usize) -> String {
        if len > MAX_FIXED_ARRAY {
            format!("{}()", name.to_lowercase())
        } else {
            format!("{name}.span()")
        }
    }
}

pub(crate) struct PwlView {
    table: String,
    offset: String,
    top: String,
    k: u32,
    shift: i32,
}

pub(crate) struct SoftmaxView {
    outer: usize,
    len: usize,
    inner: usize,
    /// The exp table lookup, giving values at the table's scale.
    exp: PwlView,
    s_out: u32,
}

pub(crate) enum StepKind {
    /// A reduction (`reduce_sum`, ...) over `[outer, len, inner]`.
    Reduce(&'static str, usize, usize, usize),
    Softmax(SoftmaxView),
    Dense(String),
    DensePart(DensePartView),
    /// A product by a runtime matrix: `(k, n)`.
    MatMul(usize, usize),
    /// A batch of products by runtime matrices: `(batches, k, n)`.
    MatMulBatched(usize, usize, usize),
    Zip(&'static str),
    /// A zip with one constant parameter.
    ZipWith(&'static str, i64),
    /// A map with one constant parameter.
    MapWith(&'static str, i64),
    Gather(String),
    /// A gather where an index equal to the input's length gives 0 (padding).
    GatherOrZero(String),
    Const(String),
    /// The operands laid end to end.
    Concat,
    Relu,
    /// A runtime function applied to every element (`neg_all`, `abs_all`).
    Map(&'static str),
    /// LeakyRelu with the slope at `cairn_ir::fixed::ALPHA_SCALE`.
    LeakyRelu(i64),
    Rescale(i32),
    /// A check of the operand's values that computes nothing (`check_bools`).
    Check(&'static str),
    Pwl(PwlView),
    /// A table function with a linear part: the lookup, the slope at
    /// `cairn_ir::fixed::ALPHA_SCALE` and the shift that takes `x · slope` to the output scale.
    PwlLinear(PwlView, i128, i32),
    /// ln: the mantissa's table lookup, the input and output scales.
    Log(PwlView, u32, u32),
    Alias,
}

pub(crate) struct Step {
    comment: String,
    out: ValueId,
    args: Vec<ValueId>,
    kind: StepKind,
}

#[derive(Template)]
#[template(path = "program/lib.cairo", escape = "none")]
struct LibTemplate {
    model_file: String,
    inputs: Vec<IoView>,
    outputs: Vec<IoView>,
    input_len: usize,
}

/// One stage of the forward pass: a run of nodes from one set of live tensors to the next.
pub(crate) struct StageView {
    /// `forward` or `stage_I`.
    name: String,
    doc: String,
    live_in: Vec<LiveView>,
    in_len: usize,
    /// Expressions of the live tensors the stage returns, in order.
    live_out: Vec<String>,
    steps: Vec<Step>,
}

/// A live tensor a stage reads from its input: `var = live.slice(offset, len)`.
pub(crate) struct LiveView {
    var: String,
    offset: usize,
    len: usize,
}

fn live_views(g: &Graph, live: &[Live]) -> Vec<LiveView> {
    let mut offset = 0;
    live.iter()
        .map(|l| {
            let (var, len) = match *l {
                Live::Value(v) => (format!("v{v}"), g.values[v].ty.len()),
                Live::Partial { node, len } => (format!("q{node}"), len),
            };
            let view = LiveView { var, offset, len };
            offset += len;
            view
        })
        .collect()
}

/// Some blocks of a dense layer cut across stages (`part_{first}_{end}` of its module), their
/// outputs appended to the part computed before (`acc_in`, a live span) or to a new array.
pub(crate) struct DensePartView {
    module: String,
    node: usize,
    first: usize,
    end: usize,
    acc_in: Option<String>,
    /// The last blocks: the layer's output is complete.
    done: bool,
}

#[derive(Template)]
#[template(path = "program/model.cairo", escape = "none")]
struct ModelTemplate {
    model_file: String,
    input_len: usize,
    output_len: usize,
    modules: Vec<String>,
    has_tables: bool,
    consts: Vec<ConstView>,
    /// The contracts run the model in one stage, `forward` itself.
    single_stage: bool,
    stages: Vec<StageView>,
}

pub(crate) struct TableView {
    name: &'static str,
    ident: String,
    lo: i32,
    hi: i32,
    grid_bits: u32,
    scale: u32,
    values: Vec<String>,
}

#[derive(Template)]
#[template(path = "program/tables.cairo", escape = "none")]
struct TablesTemplate {
    tables: Vec<TableView>,
}

#[derive(Template)]
#[template(path = "program/Scarb.toml", escape = "none")]
struct ScarbTemplate {
    cairo_version: &'static str,
}

#[derive(Template)]
#[template(path = "program/model_Scarb.toml", escape = "none")]
struct ModelScarbTemplate;

#[derive(Template)]
#[template(path = "program/cairo_project.toml", escape = "none")]
struct ProjectTemplate;

pub(crate) fn render<T: Template>(t: &T, template: &'static str) -> Result<String, CodegenError> {
    t.render()
        .map_err(|source| CodegenError::Template { template, source })
}

/// One line of a comment: ONNX names may hold anything.
pub(crate) fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn type_string(g: &Graph, v: ValueId) -> String {
    let ty = &g.values[v].ty;
    let dims: Vec<String> = ty.shape.iter().map(|d| d.to_string()).collect();
    format!("{}[{}]", ty.dtype.name(), dims.join(", "))
}

fn io_views(g: &Graph, ids: &[ValueId]) -> Vec<IoView> {
    ids.iter()
        .map(|&id| IoView {
            name: comment(&g.values[id].name),
            ty: type_string(g, id),
            scale: g.values[id].scale.unwrap_or(0),
            len: g.values[id].ty.len(),
        })
        .collect()
}

struct Builder<'a> {
    g: &'a Graph,
    consts: Vec<ConstView>,
    steps: Vec<Step>,
    /// Constants already materialised as `let` spans in the current stage.
    const_spans: Vec<bool>,
    /// Constants already declared as module-level `const`s.
    const_declared: Vec<bool>,
    tables: Vec<(String, Pwl)>,
}

impl Builder<'_> {
    /// Makes a constant available as `v{id}` (emitted once, where first used).
    fn need_const(&mut self, v: ValueId) {
        let Some(data) = self.g.const_data(v) else {
            return;
        };
        if self.const_spans[v] {
            return;
        }
        self.const_spans[v] = true;
        let name = format!("C{v}");
        let val = &self.g.values[v];
        if !self.const_declared[v] {
            self.const_declared[v] = true;
            let values = match data {
                Data::Int(d) => d.iter().map(|x| x.to_string()).collect(),
                Data::F32(_) => unreachable!("validated quantised graphs hold integer constants"),
            };
            let what = format!(
                "{:?} {} at scale 2^-{}",
                val.name,
                type_string(self.g, v),
                val.scale.unwrap_or(0)
            );
            self.consts.push(ConstView {
                name: name.clone(),
                elem: "felt252",
                comment: comment(&what),
                values,
            });
        }
        self.steps.push(Step {
            comment: format!("constant {}", comment(&val.name)),
            out: v,
            args: vec![],
            kind: StepKind::Const(ConstView::span(&name, data.len())),
        });
    }

    /// A `u32` constant `G{id}` holding gather indices; returns its span expression.
    fn index_const(&mut self, id: ValueId, indices: &[usize], why: &str) -> String {
        let name = format!("G{id}");
        // `forward` and a stage may both need it: declared once.
        if !self.consts.iter().any(|c| c.name == name) {
            self.consts.push(ConstView {
                name: name.clone(),
                elem: "u32",
                comment: format!("indices of {why}"),
                values: indices.iter().map(|i| i.to_string()).collect(),
            });
        }
        ConstView::span(&name, indices.len())
    }

    /// `v` gathered by an index map into a fresh value id (past the graph's own ids).
    fn gather(&mut self, v: ValueId, indices: Vec<usize>, fresh: ValueId, why: &str) -> ValueId {
        let name = self.index_const(fresh, &indices, why);
        self.steps.push(Step {
            comment: why.to_string(),
            out: fresh,
            args: vec![v],
            kind: StepKind::Gather(name),
        });
        fresh
    }

    /// The operands of an element-wise node, each broadcast to the output's shape (a gather
    /// into a fresh value where its shape differs).
    fn broadcast_operands(&mut self, node: &cairn_ir::Node, fresh: &mut ValueId) -> Vec<ValueId> {
        let out_shape = self.g.values[node.output].ty.shape.clone();
        let mut args = Vec::new();
        for &v in &node.inputs {
            self.need_const(v);
            let shape = self.g.values[v].ty.shape.clone();
            if shape == out_shape {
                args.push(v);
            } else {
                let why = format!(
                    "{} broadcast to {out_shape:?}",
                    comment(&self.g.values[v].name)
                );
                let map = broadcast_index_map(&shape, &out_shape);
                args.push(self.gather(v, map, *fresh, &why));
                *fresh += 1;
            }
        }
        args
    }

    fn pwl(&mut self, ident: String, pwl: Pwl, s_in: u32, s_out: u32) -> PwlView {
        if !self.tables.iter().any(|(i, _)| *i == ident) {
            self.tables.push((ident.clone(), pwl.clone()));
        }
        let k = s_in - pwl.grid_bits;
        PwlView {
            table: ident,
            offset: pwl.offset(s_in).to_string(),
            top: pwl.top(s_in).to_string(),
            k,
            shift: s_out as i32 - (pwl.table_scale + k) as i32,
        }
    }
}

pub(crate) fn generate(
    g: &Graph,
    model_file: &str,
    opts: &CodegenOptions,
    partition: &Partition,
) -> Result<Vec<(PathBuf, String)>, CodegenError> {
    let mut b = Builder {
        g,
        consts: vec![],
        steps: vec![],
        const_spans: vec![false; g.values.len()],
        const_declared: vec![false; g.values.len()],
        tables: vec![],
    };
    let mut files = Vec::new();
    let mut modules = Vec::new();
    let mut fresh = g.values.len();
    let bits = cairn_ir::bounds::value_bits(g);
    let units = Units::of(g, opts);
    let spans = partition.stages(&units);
    let live = live_sets(g, partition, &units);
    // Dense layers: one module each, with a `part_` function per block range a stage runs alone.
    for (i, node) in g.nodes.iter().enumerate() {
        if node.op == Op::MatMul && g.const_data(node.inputs[1]).is_some() {
            let parts: Vec<(usize, usize)> = spans
                .iter()
                .flatten()
                .filter(|s| s.node == i && !s.whole())
                .map(|s| (s.first, s.end))
                .collect();
            let module = format!("dense_{}", node.output);
            files.extend(dense::generate(
                g,
                node,
                &module,
                bits[node.inputs[0]],
                opts,
                &parts,
            )?);
            modules.push(module);
        }
    }
    // The program runs `forward`, the whole model in one function (no copies between stages);
    // the contracts run the stages. Both call the same dense blocks and runtime functions.
    let whole = Partition::default();
    let whole_spans = whole.stages(&units);
    let whole_live = live_sets(g, &whole, &units);
    let mut jobs = vec![(None, &whole_spans[0], &whole_live[0], &whole_live[1])];
    if spans.len() > 1 {
        for (index, stage_spans) in spans.iter().enumerate() {
            jobs.push((Some(index), stage_spans, &live[index], &live[index + 1]));
        }
    }
    let mut stages = Vec::new();
    for (index, stage_spans, live_in, live_out) in jobs {
        // Each stage is a function of its own: constants are re-materialised where used.
        b.const_spans = vec![false; g.values.len()];
        b.steps.clear();
        if index.is_none_or(|i| i == 0) {
            // Booleans are 0 or 1: a boolean input of any other value is refused here, on chain
            // as in the program (the entry point checks every input's range already).
            for &v in &g.inputs {
                if g.values[v].ty.dtype == DType::Bool {
                    b.steps.push(Step {
                        comment: format!("input {} is boolean", comment(&g.values[v].name)),
                        out: v,
                        args: vec![v],
                        kind: StepKind::Check("check_bools"),
                    });
                }
            }
        }
        for span in stage_spans {
            let node = &g.nodes[span.node];
            let out = node.output;
            let scale = |v: ValueId| g.values[v].scale.unwrap_or(0);
            let what = format!(
                "{} {:?} -> {:?}: {}",
                node.op.name(),
                node.name,
                g.values[out].name,
                type_string(g, out)
            );
            let step = |kind, args| Step {
                comment: comment(&what),
                out,
                args,
                kind,
            };
            let s = match &node.op {
                Op::MatMul if g.const_data(node.inputs[1]).is_none() => {
                    let shape = &g.values[node.inputs[1]].ty.shape;
                    b.need_const(node.inputs[0]);
                    let kind = match shape[..] {
                        [batches, k, n] => StepKind::MatMulBatched(batches, k, n),
                        _ => StepKind::MatMul(shape[0], shape[1]),
                    };
                    step(kind, vec![node.inputs[0], node.inputs[1]])
                }
                Op::MatMul if span.whole() => step(
                    StepKind::Dense(format!("dense_{out}")),
                    vec![node.inputs[0]],
                ),
                Op::MatMul => {
                    let acc_in = (span.first > 0).then(|| format!("q{}", span.node));
                    step(
                        StepKind::DensePart(DensePartView {
                            module: format!("dense_{out}"),
                            node: span.node,
                            first: span.first,
                            end: span.end,
                            acc_in,
                            done: span.end == span.blocks,
                        }),
                        vec![node.inputs[0]],
                    )
                }
                Op::Binary(op) => {
                    let args = b.broadcast_operands(node, &mut fresh);
                    let kind = match op {
                        BinaryOp::Add => StepKind::Zip("add"),
                        BinaryOp::Sub => StepKind::Zip("sub"),
                        BinaryOp::Mul => StepKind::Zip("mul"),
                        BinaryOp::Max => StepKind::Zip("max"),
                        BinaryOp::Min => StepKind::Zip("min"),
                        // Fixed-point division: the quotient at the operands' scale.
                        BinaryOp::Div if g.values[out].ty.dtype == DType::F32 => {
                            StepKind::ZipWith("div_fixed", scale(out) as i64)
                        }
                        BinaryOp::Div => StepKind::Zip("div_int"),
                    };
                    step(kind, args)
                }
                Op::Compare(kind) => {
                    let args = b.broadcast_operands(node, &mut fresh);
                    step(StepKind::Zip(kind.name()), args)
                }
                Op::Where => {
                    let args = b.broadcast_operands(node, &mut fresh);
                    step(StepKind::Zip("where_"), args)
                }
                Op::Reduce { kind, axes } => {
                    b.need_const(node.inputs[0]);
                    let (outer, len, inner) =
                        cairn_ir::eval::axes_layout(&g.values[node.inputs[0]].ty.shape, axes);
                    let func = match kind {
                        cairn_ir::ReduceKind::Sum => "reduce_sum",
                        cairn_ir::ReduceKind::Max => "reduce_max",
                        cairn_ir::ReduceKind::Min => "reduce_min",
                    };
                    step(
                        StepKind::Reduce(func, outer, len, inner),
                        vec![node.inputs[0]],
                    )
                }
                Op::Unary(u) => {
                    let x = node.inputs[0];
                    b.need_const(x);
                    let kind = match u {
                        UnaryOp::Neg => StepKind::Map("neg_all"),
                        UnaryOp::Abs => StepKind::Map("abs_all"),
                        UnaryOp::Relu => StepKind::Relu,
                        UnaryOp::LeakyRelu { alpha } => StepKind::LeakyRelu(
                            cairn_ir::fixed::quantise(*alpha as f64, cairn_ir::fixed::ALPHA_SCALE)
                                .unwrap_or(0),
                        ),
                        UnaryOp::Sqrt => StepKind::MapWith("sqrt_all", scale(out) as i64),
                        UnaryOp::Floor => StepKind::MapWith("floor_all", scale(x) as i64),
                        UnaryOp::Ceil => StepKind::MapWith("ceil_all", scale(x) as i64),
                        UnaryOp::Round => StepKind::MapWith("round_all", scale(x) as i64),
                        UnaryOp::Log => {
                            let m = cairn_ir::fixed::LN_MANTISSA_BITS;
                            let view = b.pwl("LN".into(), Pwl::ln(), m, m);
                            StepKind::Log(view, scale(x), scale(out))
                        }
                    };
                    step(kind, vec![x])
                }
                Op::Rescale { shift } => step(StepKind::Rescale(*shift), vec![node.inputs[0]]),
                Op::Cast { to } => {
                    let x = node.inputs[0];
                    b.need_const(x);
                    let kind = match (g.values[x].ty.dtype, to) {
                        (DType::F32, DType::F32) => StepKind::Alias,
                        (_, DType::Bool) => StepKind::Map("nonzero_all"),
                        (DType::F32, DType::I64) => StepKind::MapWith("trunc_all", scale(x) as i64),
                        (DType::I64 | DType::Bool, DType::F32) => {
                            StepKind::Rescale(scale(out) as i32)
                        }
                        (DType::I64 | DType::Bool, DType::I64) => StepKind::Alias,
                    };
                    step(kind, vec![x])
                }
                Op::ArgMax { axis, select_last } => {
                    b.need_const(node.inputs[0]);
                    let (outer, len, inner) =
                        cairn_ir::eval::axes_layout(&g.values[node.inputs[0]].ty.shape, &[*axis]);
                    let func = if *select_last {
                        "argmax_last"
                    } else {
                        "argmax_first"
                    };
                    step(
                        StepKind::Reduce(func, outer, len, inner),
                        vec![node.inputs[0]],
                    )
                }
                Op::Softmax { axes } => {
                    let (outer, len, inner) =
                        cairn_ir::eval::axes_layout(&g.values[node.inputs[0]].ty.shape, axes);
                    let exp = Pwl::exp();
                    let table_scale = exp.table_scale;
                    let view = b.pwl("EXP".into(), exp, scale(node.inputs[0]), table_scale);
                    let s = SoftmaxView {
                        outer,
                        len,
                        inner,
                        exp: view,
                        s_out: scale(out),
                    };
                    step(StepKind::Softmax(s), vec![node.inputs[0]])
                }
                Op::Table(f) => {
                    let x = node.inputs[0];
                    b.need_const(x);
                    let view = b.pwl(f.ident(), Pwl::of(*f), scale(x), scale(out));
                    let slope = cairn_ir::fixed::slope_q(*f);
                    let kind = if slope == 0 {
                        StepKind::Pwl(view)
                    } else {
                        let shift = scale(out) as i32
                            - scale(x) as i32
                            - cairn_ir::fixed::ALPHA_SCALE as i32;
                        StepKind::PwlLinear(view, slope, shift)
                    };
                    step(kind, vec![x])
                }
                Op::Reshape => {
                    b.need_const(node.inputs[0]);
                    step(StepKind::Alias, vec![node.inputs[0]])
                }
                Op::Select { indices } => {
                    node.inputs.iter().for_each(|&v| b.need_const(v));
                    // Several operands are read laid end to end.
                    let arg = if node.inputs.len() == 1 {
                        node.inputs[0]
                    } else {
                        b.steps.push(Step {
                            comment: format!("operands of {} laid end to end", comment(&node.name)),
                            out: fresh,
                            args: node.inputs.clone(),
                            kind: StepKind::Concat,
                        });
                        fresh += 1;
                        fresh - 1
                    };
                    // Padding reads one past the end of the input: `gather_or_zero` gives 0 there.
                    let n: usize = node.inputs.iter().map(|&v| g.values[v].ty.len()).sum();
                    let indices: Vec<usize> = indices
                        .iter()
                        .map(|&i| if i < 0 { n } else { i as usize })
                        .collect();
                    let why = format!("select {}", comment(&node.name));
                    let name = b.index_const(out, &indices, &why);
                    step(StepKind::GatherOrZero(name), vec![arg])
                }
                Op::Transpose { perm } => {
                    b.need_const(node.inputs[0]);
                    let indices = transpose_index_map(&g.values[node.inputs[0]].ty.shape, perm);
                    let why = format!("transpose {}", comment(&node.name));
                    let name = b.index_const(out, &indices, &why);
                    step(StepKind::Gather(name), vec![node.inputs[0]])
                }
            };
            b.steps.push(s);
        }
        if index.is_none_or(|i| i + 1 == spans.len()) {
            // Constants returned directly as outputs.
            for &o in &g.outputs {
                if matches!(g.values[o].def, Def::Const(_)) {
                    b.need_const(o);
                }
            }
        }
        let live_in = live_views(g, live_in);
        let live_out = live_out
            .iter()
            .map(|l| match *l {
                Live::Value(v) => format!("v{v}"),
                Live::Partial { node, .. } => format!("p{node}.span()"),
            })
            .collect();
        let (name, doc) = match index {
            None => (
                "forward".to_string(),
                "The whole model: flattened (and checked) inputs to flattened outputs.".to_string(),
            ),
            Some(i) => (
                format!("stage_{i}"),
                format!(
                    "Stage {i} of {}: from node {} block {}.",
                    spans.len(),
                    partition.starts[i].0,
                    partition.starts[i].1
                ),
            ),
        };
        stages.push(StageView {
            name,
            doc,
            in_len: live_in.iter().map(|i| i.len).sum(),
            live_in,
            live_out,
            steps: std::mem::take(&mut b.steps),
        });
    }
    let inputs = io_views(g, &g.inputs);
    let outputs = io_views(g, &g.outputs);
    let input_len = inputs.iter().map(|i| i.len).sum();
    let model = ModelTemplate {
        model_file: comment(model_file),
        input_len,
        output_len: outputs.iter().map(|o| o.len).sum(),
        modules,
        has_tables: !b.tables.is_empty(),
        consts: b.consts,
        single_stage: spans.len() == 1,
        stages,
    };
    let lib = LibTemplate {
        model_file: comment(model_file),
        input_len,
        inputs,
        outputs,
    };
    let mut out = vec![
        (
            PathBuf::from("src/lib.cairo"),
            render(&lib, "program/lib.cairo")?,
        ),
        (
            PathBuf::from("cairn_model/src/lib.cairo"),
            render(&model, "program/model.cairo")?,
        ),
    ];
    if !b.tables.is_empty() {
        let tables = b
            .tables
            .iter()
            .map(|(ident, p)| TableView {
                name: p.name,
                ident: ident.clone(),
                lo: p.lo,
                hi: p.hi,
                grid_bits: p.grid_bits,
                scale: p.table_scale,
                values: p.table.iter().map(|v| v.to_string()).collect(),
            })
            .collect();
        out.push((
            PathBuf::from("cairn_model/src/tables.cairo"),
            render(&TablesTemplate { tables }, "program/tables.cairo")?,
        ));
    }
    out.extend(files);
    out.push((
        PathBuf::from("Scarb.toml"),
        render(
            &ScarbTemplate {
                cairo_version: CAIRO_VERSION,
            },
            "program/Scarb.toml",
        )?,
    ));
    out.push((
        PathBuf::from("cairn_model/Scarb.toml"),
        render(&ModelScarbTemplate, "program/model_Scarb.toml")?,
    ));
    out.push((
        PathBuf::from("cairo_project.toml"),
        render(&ProjectTemplate, "program/cairo_project.toml")?,
    ));
    Ok(out)
}
