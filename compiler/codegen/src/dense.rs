//! The render model of one dense layer (`templates/program/dense.cairo`): straight-line
//! multiply-adds with literal weights, grouped into blocks of outputs and chunks of inputs.
//!
//! Packing: when the input's static bound ([`cairn_ir::bounds`]) and the weights keep every
//! output sum within `L` bits, `lanes` outputs share one field element, in slots of 64 (or 128)
//! bits: `x_i · Σ_l w_il·2^(slot·l)` performs `lanes` multiply-adds in one multiplication. Each
//! lane is biased by 2^(L-1) from the start so that the final slots are non-negative and the
//! whole value stays below 2^251 < p: the field element then equals the integer, and the runtime
//! recovers every lane exactly (`cairn_runtime::packed`).

use std::path::PathBuf;

use askama::Template;
use cairn_ir::bounds::bits_of;
use cairn_ir::{Data, Graph, Node};
use num_bigint::BigInt;

use crate::program::comment;
use crate::{CodegenError, CodegenOptions};

struct Unpack {
    acc: String,
    /// The runtime function, or `None` for an unpacked accumulator.
    call: Option<&'static str>,
    names: String,
    outputs: Vec<String>,
}

struct Block {
    /// First and last output index of the block.
    first: usize,
    last: usize,
    init: String,
    accs: String,
    functions: Vec<Function>,
    unpacks: Vec<Unpack>,
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
#[template(path = "program/dense_block.cairo", escape = "none")]
struct BlockTemplate<'a> {
    node: &'a str,
    b: &'a Block,
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
    packing: String,
    blocks: Vec<Block>,
    parts: Vec<(usize, usize)>,
}

/// How many outputs share a field element, and the slot width, for lanes of `l` bits.
pub(crate) fn lane_plan(l: u32) -> (usize, u32) {
    match l {
        0..=59 => (4, 64),
        60..=64 => (3, 64),
        65..=123 => (2, 128),
        _ => (1, 0),
    }
}

/// Splits `k` into the fewest chunks of at most `max`, as even as possible.
fn chunk_sizes(k: usize, max: usize) -> Vec<usize> {
    let n = k.div_ceil(max.max(1)).max(1);
    (0..n).map(|i| k / n + usize::from(i < k % n)).collect()
}

/// `acc + w0 * x0 + w1 * x1 ...` with zero terms dropped and signs folded into the operator.
fn dot(acc: &str, terms: impl Iterator<Item = (usize, BigInt)>) -> String {
    let mut s = acc.to_string();
    let zero = BigInt::from(0);
    let one = BigInt::from(1);
    for (i, w) in terms.filter(|(_, w)| *w != zero) {
        let (sign, mag) = if w < zero { ("-", -w) } else { ("+", w) };
        if mag == one {
            s.push_str(&format!(" {sign} x{i}"));
        } else {
            s.push_str(&format!(" {sign} x{i} * {mag}"));
        }
    }
    s
}

/// How a dense layer's outputs are laid out: `lanes` outputs per field element in `slot`-bit
/// slots (lanes of `lane_bits`), `packs` of output indices, and blocks of `accumulators` packs.
struct Layout {
    lanes: usize,
    slot: u32,
    lane_bits: Option<u32>,
    packs: Vec<Vec<usize>>,
}

/// A dense layer's `k × n` weights and its bias, if any.
fn operands<'g>(g: &'g Graph, node: &Node) -> (usize, usize, &'g [i64], Option<&'g [i64]>) {
    let w_shape = &g.values[node.inputs[1]].ty.shape;
    let Some(Data::Int(weights)) = g.const_data(node.inputs[1]) else {
        unreachable!("validated: constant quantised weights")
    };
    let bias = node.inputs.get(2).and_then(|&b| match g.const_data(b) {
        Some(Data::Int(b)) => Some(b.as_slice()),
        _ => None,
    });
    (w_shape[0], w_shape[1], weights, bias)
}

fn layout(g: &Graph, node: &Node, x_bits: Option<u32>) -> Layout {
    let (k, n, weights, bias) = operands(g, node);
    let bias_of = |j: usize| bias.map(|b| b[j]).unwrap_or(0);
    // Lane width: the largest |sum| any output can reach, plus a sign bit and a margin bit.
    let lane_bits = x_bits.and_then(|xb| {
        (0..n)
            .map(|j| {
                let s: u128 = (0..k)
                    .map(|i| weights[i * n + j].unsigned_abs() as u128)
                    .sum();
                s.checked_mul(1u128.checked_shl(xb)?)?
                    .checked_add(bias_of(j).unsigned_abs() as u128)
            })
            .try_fold(0u128, |m, v| v.map(|v| m.max(v)))
            .map(|m| bits_of(m) + 2)
    });
    let (lanes, slot) = lane_bits.map(lane_plan).unwrap_or((1, 0));
    let packs = (0..n)
        .step_by(lanes)
        .map(|j0| (j0..(j0 + lanes).min(n)).collect())
        .collect();
    Layout {
        lanes,
        slot,
        lane_bits,
        packs,
    }
}

/// The output range `[first, end)` of each block of a dense layer.
pub(crate) fn block_outputs(
    g: &Graph,
    node: &Node,
    x_bits: Option<u32>,
    opts: &CodegenOptions,
) -> Vec<(usize, usize)> {
    let l = layout(g, node, x_bits);
    l.packs
        .chunks(opts.accumulators.max(1))
        .map(|group| {
            let first = group[0][0];
            let end = group.last().and_then(|p| p.last()).map_or(first, |j| j + 1);
            (first, end)
        })
        .collect()
}

/// The files of one dense layer's module `module`: `src/{module}.cairo` and one
/// `src/{module}/block_B.cairo` per block. `x_bits`: static bound of the input
/// (`|x| ≤ 2^x_bits`), if known. `parts`: block ranges `[b0, b1)` that stages run on their own
/// (a layer cut across stages), each given a `part_B0_B1` function.
pub(crate) fn generate(
    g: &Graph,
    node: &Node,
    module: &str,
    x_bits: Option<u32>,
    opts: &CodegenOptions,
    parts: &[(usize, usize)],
) -> Result<Vec<(PathBuf, String)>, CodegenError> {
    let (k, n, weights, bias) = operands(g, node);
    let rows = g.values[node.inputs[0]].ty.len() / k;
    let bias_of = |j: usize| bias.map(|b| b[j]).unwrap_or(0);
    let Layout {
        lanes,
        slot,
        lane_bits,
        packs,
    } = layout(g, node, x_bits);
    let lane_bias = |l: usize| -> BigInt {
        match lane_bits {
            Some(lb) if lanes > 1 => BigInt::from(1) << (lb as usize - 1 + slot as usize * l),
            _ => BigInt::from(0),
        }
    };
    let packing = if lanes > 1 {
        format!(
            "Outputs are packed {lanes} to a field element in {slot}-bit slots (sums need {} bits).",
            lane_bits.unwrap_or(0)
        )
    } else {
        "Outputs are not packed (their bound does not fit a slot).".to_string()
    };

    let chunks = chunk_sizes(k, opts.chunk);
    let starts: Vec<usize> = chunks
        .iter()
        .scan(0, |acc, &c| {
            let s = *acc;
            *acc += c;
            Some(s)
        })
        .collect();

    // Packs: consecutive groups of `lanes` outputs; blocks: `accumulators` packs each.
    let packed = |i: usize, pack: &[usize]| -> BigInt {
        pack.iter()
            .enumerate()
            .map(|(l, &j)| BigInt::from(weights[i * n + j]) << (slot as usize * l))
            .sum()
    };
    let mut blocks = Vec::new();
    for (bi, group) in packs.chunks(opts.accumulators.max(1)).enumerate() {
        let mut functions = Vec::new();
        for (ci, (&start, &len)) in starts.iter().zip(&chunks).enumerate() {
            let exprs: Vec<String> = group
                .iter()
                .enumerate()
                .map(|(a, pack)| {
                    dot(
                        &format!("a{a}"),
                        (0..len).map(|i| (i, packed(start + i, pack))),
                    )
                })
                .collect();
            // Inputs no output of this block uses are bound to `_` names (no warnings).
            let used = |i: usize| {
                group
                    .iter()
                    .flatten()
                    .any(|&j| weights[(start + i) * n + j] != 0)
            };
            let params: Vec<String> = (0..len)
                .map(|i| {
                    if used(i) {
                        format!("x{i}")
                    } else {
                        format!("_x{i}")
                    }
                })
                .collect();
            let accs: Vec<String> = (0..group.len()).map(|a| format!("a{a}")).collect();
            functions.push(Function {
                name: format!("block_{bi}_{ci}"),
                start,
                len,
                params: params.join(", "),
                accs: accs.join(", "),
                exprs,
            });
        }
        let init: Vec<String> = group
            .iter()
            .map(|pack| {
                let v: BigInt = pack
                    .iter()
                    .enumerate()
                    .map(|(l, &j)| (BigInt::from(bias_of(j)) << (slot as usize * l)) + lane_bias(l))
                    .sum();
                v.to_string()
            })
            .collect();
        let unpacks = group
            .iter()
            .enumerate()
            .map(|(a, pack)| {
                if lanes == 1 {
                    return Unpack {
                        acc: format!("a{a}"),
                        call: None,
                        names: String::new(),
                        outputs: vec![format!("a{a}")],
                    };
                }
                let (call, width) = if slot == 64 {
                    ("unpack_64", 4)
                } else {
                    ("unpack_128", 2)
                };
                let names: Vec<String> = (0..width)
                    .map(|l| {
                        if l < pack.len() {
                            format!("p{a}_{l}")
                        } else {
                            format!("_p{a}_{l}")
                        }
                    })
                    .collect();
                let half = lane_bias(0);
                let outputs = (0..pack.len())
                    .map(|l| format!("p{a}_{l} - {half}"))
                    .collect();
                Unpack {
                    acc: format!("a{a}"),
                    call: Some(call),
                    names: names.join(", "),
                    outputs,
                }
            })
            .collect();
        let accs: Vec<String> = (0..group.len()).map(|a| format!("a{a}")).collect();
        let first = group[0][0];
        let last = group
            .last()
            .and_then(|p| p.last())
            .copied()
            .unwrap_or(first);
        blocks.push(Block {
            first,
            last,
            init: init.join(", "),
            accs: accs.join(", "),
            functions,
            unpacks,
        });
    }
    let t = DenseTemplate {
        node: comment(&node.name),
        rows,
        k,
        n,
        has_bias: bias.is_some(),
        scale: g.values[node.output].scale.unwrap_or(0),
        packing,
        blocks,
        parts: parts.to_vec(),
    };
    let err = |template| move |source| CodegenError::Template { template, source };
    let mut files = vec![(
        PathBuf::from(format!("cairn_model/src/{module}.cairo")),
        t.render().map_err(err("program/dense.cairo"))?,
    )];
    for (bi, b) in t.blocks.iter().enumerate() {
        let text = BlockTemplate { node: &t.node, b }
            .render()
            .map_err(err("program/dense_block.cairo"))?;
        files.push((
            PathBuf::from(format!("cairn_model/src/{module}/block_{bi}.cairo")),
            text,
        ));
    }
    Ok(files)
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
        let t = |v: &[i64]| {
            v.iter()
                .enumerate()
                .map(|(i, &w)| (i, BigInt::from(w)))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            dot("a0", t(&[3, 0, -1, -7]).into_iter()),
            "a0 + x0 * 3 - x2 - x3 * 7"
        );
        assert_eq!(dot("a0", t(&[0]).into_iter()), "a0");
    }

    #[test]
    fn lanes_fit_their_slots_below_the_field_size() {
        for l in 1..200 {
            let (lanes, slot) = lane_plan(l);
            if lanes > 1 {
                assert!(l <= slot, "lane of {l} bits in a {slot}-bit slot");
                assert!(
                    slot * (lanes as u32 - 1) + l <= 251,
                    "{lanes} lanes of {l} bits exceed 2^251"
                );
            }
        }
    }
}
