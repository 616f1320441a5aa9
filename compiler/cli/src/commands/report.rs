//! `cairn report DIR --input INPUT.json`: how far the fixed-point model is from the float one,
//! layer by layer. Both sides are Cairn's interpreters of its IR: the f32 one on the float IR
//! (whose outputs `cairn run` checks against tract) and the bit-exact fixed-point one on the
//! quantised IR (which the Cairo VM matches bit for bit). Layers are matched by tensor name.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use cairn_ir::fixed::dequantise;
use cairn_ir::Graph;
use serde::Serialize;

use super::run::quantise_inputs;
use crate::artifacts::*;
use crate::io;

/// Default plot file, in DIR.
pub const PLOT: &str = "report.svg";

#[derive(Debug, Clone)]
pub struct ReportArgs {
    pub dir: PathBuf,
    pub input: PathBuf,
    /// Where to write the SVG plot (default DIR/report.svg).
    pub plot: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerError {
    pub index: usize,
    pub op: String,
    pub node: String,
    pub tensor: String,
    pub shape: Vec<usize>,
    /// Fractional bits of the tensor in the quantised model.
    pub scale: u32,
    pub max_abs_error: f64,
    /// max |fixed − float| / max |float| over the tensor.
    pub max_rel_error: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportSummary {
    pub layers: Vec<LayerError>,
    pub plot: PathBuf,
}

pub fn report(args: &ReportArgs) -> Result<ReportSummary> {
    let dir = Dir(args.dir.clone());
    let manifest = dir.manifest()?;
    let inputs = io::read_inputs(&args.input, &manifest.inputs)?;
    let fixed_inputs = quantise_inputs(&inputs, &manifest.inputs)?;
    let quantised: Graph = dir.read_json(GRAPH, "recompile the model")?;
    let float = cairn_onnx::load(&dir.path(MODEL), &manifest.load_options())?.lower()?;
    let float_values = cairn_ir::eval::eval_f32(&float, &inputs).context("the float IR")?;
    let fixed_values =
        cairn_ir::eval::eval_fixed(&quantised, &fixed_inputs).context("the quantised IR")?;

    let mut layers = Vec::new();
    for node in &quantised.nodes {
        let v = &quantised.values[node.output];
        // Matched by name: the quantised model's own intermediates (accumulators before their
        // rescale, rescaled operands) have no float counterpart.
        let Some(fid) = float.values.iter().position(|f| f.name == v.name) else {
            continue;
        };
        let cairn_ir::Def::Node(fnode) = float.values[fid].def else {
            continue;
        };
        let fnode = &float.nodes[fnode];
        let reference = &float_values[fid];
        if reference.len() != fixed_values[node.output].len() {
            continue;
        }
        let scale = v.scale.unwrap_or(0);
        let (mut max_err, mut max_ref) = (0f64, 0f64);
        for (&q, &r) in fixed_values[node.output].iter().zip(reference) {
            max_err = max_err.max((dequantise(q, scale) - r as f64).abs());
            max_ref = max_ref.max((r as f64).abs());
        }
        layers.push(LayerError {
            index: layers.len(),
            op: fnode.op.name().to_string(),
            node: fnode.name.clone(),
            tensor: v.name.clone(),
            shape: v.ty.shape.clone(),
            scale,
            max_abs_error: max_err,
            max_rel_error: if max_ref > 0.0 {
                max_err / max_ref
            } else {
                max_err
            },
        });
    }
    let plot = args.plot.clone().unwrap_or_else(|| dir.path(PLOT));
    std::fs::write(&plot, svg(&layers))
        .with_context(|| format!("cannot write {}", plot.display()))?;
    Ok(ReportSummary { layers, plot })
}

/// The table `cairn report` prints.
pub fn table(layers: &[LayerError]) -> String {
    let mut s = format!(
        "{:>3}  {:<10} {:<28} {:<16} {:>5} {:>11} {:>11}\n",
        "#", "op", "tensor", "shape", "scale", "max abs", "max rel"
    );
    for l in layers {
        let _ = writeln!(
            s,
            "{:>3}  {:<10} {:<28} {:<16} {:>5} {:>11.3e} {:>11.3e}",
            l.index,
            l.op,
            truncate(&l.tensor, 28),
            format!("{:?}", l.shape),
            l.scale,
            l.max_abs_error,
            l.max_rel_error
        );
    }
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(n - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

/// A bar chart of the relative error per layer, on a log scale from 1e-9 to 1.
fn svg(layers: &[LayerError]) -> String {
    const W: f64 = 720.0;
    const H: f64 = 320.0;
    const LEFT: f64 = 60.0;
    const BOTTOM: f64 = 60.0;
    let (lo, hi) = (-9.0f64, 0.0f64);
    let y_of = |e: f64| {
        let l = e.max(1e-9).log10().clamp(lo, hi);
        (H - BOTTOM) * (1.0 - (l - lo) / (hi - lo)) + 10.0
    };
    let n = layers.len().max(1) as f64;
    let bar = (W - LEFT - 10.0) / n;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <text x=\"{LEFT}\" y=\"12\">max relative error per layer (fixed point vs float)</text>\n"
    );
    for p in (lo as i32..=hi as i32).step_by(3) {
        let y = y_of(10f64.powi(p));
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"4\" y=\"{:.1}\">1e{p}</text>",
            W - 10.0,
            y + 4.0
        );
    }
    let base = y_of(1e-9);
    for (i, l) in layers.iter().enumerate() {
        let x = LEFT + i as f64 * bar;
        let y = y_of(l.max_rel_error);
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#3b6ea5\"><title>{} {}: {:.3e}</title></rect>",
            x + 1.0,
            (bar - 2.0).max(1.0),
            (base - y).max(0.0),
            xml(&l.op),
            xml(&l.tensor),
            l.max_rel_error
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" transform=\"rotate(45 {:.1} {:.1})\">{}</text>",
            x + 2.0,
            base + 12.0,
            x + 2.0,
            base + 12.0,
            xml(&format!("{i} {}", l.op))
        );
    }
    s.push_str("</svg>\n");
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
