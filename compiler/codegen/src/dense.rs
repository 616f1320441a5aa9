//! The render model of one dense layer (`templates/program/dense.cairo`): straight-line
//! multiply-adds with literal weights, grouped into blocks of output rows and chunks of inputs.

use askama::Template;
use cairn_ir::{Data, Graph, Node};

use crate::program::comment;
use crate::{CodegenError, CodegenOptions};

struct Block {
    /// `y0, y1, ..`: the block's outputs, bound in `run`.
    results: String,
    result_list: Vec<String>,
    /// Initial sums: the biases (or zeros).
    init: String,
    functions: Vec<Function>,
}

struct Function {
    name: String,
    start: usize,
    len: usize,
    params: String,
    accs: String,
    exprs: Vec<String>,
}

#[derive(Template)]
#[template(path = "program/dense.cairo", escape = "none")]
struct DenseTemplate {
    node: String,
    rows: usize,
    k: usize,
    n: usize,
    has_bias: bool,
    scale: u32,
    block_rows: usize,
    blocks: Vec<Block>,
}

/// Splits `k` into the fewest chunks of at most `max`, as even as possible.
fn chunk_sizes(k: usize, max: usize) -> Vec<usize> {
    let n = k.div_ceil(max.max(1)).max(1);
    (0..n).map(|i| k / n + usize::from(i < k % n)).collect()
}

/// `w0 * x0 + w1 * x1 ...` with zero terms dropped and signs folded into the operator.
fn dot(terms: impl Iterator<Item = (usize, i64)>) -> String {
    let mut s = String::new();
    for (i, w) in terms.filter(|&(_, w)| w != 0) {
        let (sign, mag) = if w < 0 {
            ("-", w.unsigned_abs())
        } else {
            ("+", w as u64)
        };
        let term = if mag == 1 {
            format!("x{i}")
        } else {
            format!("x{i} * {mag}")
        };
        if s.is_empty() {
            s = if sign == "-" {
                format!("-{term}")
            } else {
                term
            };
        } else {
            s.push_str(&format!(" {sign} {term}"));
        }
    }
    if s.is_empty() {
        "0".into()
    } else {
        s
    }
}

pub(crate) fn generate(
    g: &Graph,
    node: &Node,
    opts: &CodegenOptions,
) -> Result<String, CodegenError> {
    let x_shape = &g.values[node.inputs[0]].ty.shape;
    let w_shape = &g.values[node.inputs[1]].ty.shape;
    let (k, n) = (w_shape[0], w_shape[1]);
    let rows = x_shape.iter().product::<usize>() / k;
    let weights = match g.const_data(node.inputs[1]) {
        Some(Data::Int(w)) => w,
        _ => unreachable!("validated: constant quantised weights"),
    };
    let bias = node.inputs.get(2).and_then(|&b| match g.const_data(b) {
        Some(Data::Int(b)) => Some(b),
        _ => None,
    });
    let chunks = chunk_sizes(k, opts.chunk);
    let starts: Vec<usize> = chunks
        .iter()
        .scan(0, |acc, &c| {
            let s = *acc;
            *acc += c;
            Some(s)
        })
        .collect();

    let mut blocks = Vec::new();
    for (bi, row0) in (0..n).step_by(opts.block_rows.max(1)).enumerate() {
        let cols: Vec<usize> = (row0..(row0 + opts.block_rows).min(n)).collect();
        let mut functions = Vec::new();
        for (ci, (&start, &len)) in starts.iter().zip(&chunks).enumerate() {
            let exprs: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(r, &j)| {
                    let d = dot((0..len).map(|i| (i, weights[(start + i) * n + j])));
                    if d == "0" {
                        format!("a{r}")
                    } else if let Some(neg) = d.strip_prefix('-') {
                        format!("a{r} - {neg}")
                    } else {
                        format!("a{r} + {d}")
                    }
                })
                .collect();
            // Inputs no output of this block uses are bound to `_` names (no warnings).
            let used = |i: usize| cols.iter().any(|&j| weights[(start + i) * n + j] != 0);
            let params: Vec<String> = (0..len)
                .map(|i| {
                    if used(i) {
                        format!("x{i}")
                    } else {
                        format!("_x{i}")
                    }
                })
                .collect();
            let accs: Vec<String> = (0..cols.len()).map(|r| format!("a{r}")).collect();
            functions.push(Function {
                name: format!("block_{bi}_{ci}"),
                start,
                len,
                params: params.join(", "),
                accs: accs.join(", "),
                exprs,
            });
        }
        let result_list: Vec<String> = cols.iter().map(|&j| format!("y{j}")).collect();
        let init: Vec<String> = cols
            .iter()
            .map(|&j| bias.map(|b| b[j]).unwrap_or(0).to_string())
            .collect();
        blocks.push(Block {
            results: result_list.join(", "),
            result_list,
            init: init.join(", "),
            functions,
        });
    }
    let t = DenseTemplate {
        node: comment(&node.name),
        rows,
        k,
        n,
        has_bias: bias.is_some(),
        scale: g.values[node.output].scale.unwrap_or(0),
        block_rows: opts.block_rows,
        blocks,
    };
    t.render().map_err(|source| CodegenError::Template {
        template: "program/dense.cairo",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_k_evenly() {
        assert_eq!(chunk_sizes(784, 128), vec![112; 7]);
        assert_eq!(chunk_sizes(10, 4), vec![4, 3, 3]);
        assert_eq!(chunk_sizes(3, 128), vec![3]);
    }

    #[test]
    fn dot_products_fold_signs_and_skip_zeros() {
        assert_eq!(
            dot([(0, 3), (1, 0), (2, -1), (3, -7)].into_iter()),
            "x0 * 3 - x2 - x3 * 7"
        );
        assert_eq!(dot([(0, -2)].into_iter()), "-x0 * 2");
        assert_eq!(dot([(0, 0)].into_iter()), "0");
    }
}
