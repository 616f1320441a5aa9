//! Cutting the forward pass into stages that fit Starknet's limits.
//!
//! Onchain, each stage is one contract class (its weights are literals in its bytecode), and a
//! transaction runs one or more consecutive stages. A class holds at most
//! [`MAX_CLASS_FELTS`] felts of bytecode and a transaction at most [`MAX_TX_STEPS`] Cairo steps
//! (public-network values; devnet's defaults are the same). The provable program runs the same
//! stages one after the other, so the cut is decided once, at compile time, and the program hash
//! covers it. Costs here are estimates from the IR; `cairn deploy` checks the real class sizes
//! and asks the node for each transaction's fee before it sends anything.

use std::collections::BTreeSet;

use cairn_ir::{Def, Graph, Op, ValueId};
use serde::{Deserialize, Serialize};

use crate::CodegenOptions;

/// Largest compiled class (CASM bytecode felts) a public Starknet network accepts.
pub const MAX_CLASS_FELTS: u64 = 81_920;
/// Most Cairo steps one invoke transaction may execute on a public Starknet network.
pub const MAX_TX_STEPS: u64 = 10_000_000;

/// Sierra felts per packed weight literal (measured 9.2 on the 784-64-32-10 MLP; Sierra is
/// larger than the CASM it compiles to).
const FELTS_PER_LITERAL: u64 = 10;
/// Sierra felts of a stage's fixed code (its slicing, loops and the runtime it calls).
const FELTS_PER_STAGE: u64 = 4_000;
/// Cairo steps per packed multiply-add (measured ~2.1 per scalar MAC with 3 lanes per felt).
const STEPS_PER_MAC: f64 = 2.2;

/// Budgets for one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Estimated contract bytecode felts (Sierra, the larger of the two) of one stage's class.
    pub class_felts: u64,
    /// Estimated Cairo steps of one stage (a transaction runs whole stages).
    pub stage_steps: u64,
}

impl Default for Limits {
    /// Three quarters of the network limits, leaving room for estimate error.
    fn default() -> Self {
        Limits {
            class_felts: MAX_CLASS_FELTS * 3 / 4,
            stage_steps: MAX_TX_STEPS * 3 / 4,
        }
    }
}

/// The estimated cost of one unit or stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    pub felts: u64,
    pub steps: u64,
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost {
            felts: self.felts + o.felts,
            steps: self.steps + o.steps,
        }
    }
}

/// Where the forward pass is cut: the first unit `(node, block)` of each stage, the first
/// being `(0, 0)`. A node is one unit, except a dense layer on one row, whose blocks of outputs
/// are units of their own, so that a layer too big for one class spans several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    pub starts: Vec<(usize, usize)>,
}

impl Default for Partition {
    fn default() -> Self {
        Partition {
            starts: vec![(0, 0)],
        }
    }
}

/// The units of a graph: for each node, the output range `[first, end)` of each of its units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    pub blocks: Vec<Vec<(usize, usize)>>,
}

impl Units {
    pub fn of(g: &Graph, opts: &CodegenOptions) -> Units {
        let bits = cairn_ir::bounds::value_bits(g);
        let blocks = g
            .nodes
            .iter()
            .map(|n| {
                let out_len = g.values[n.output].ty.len();
                if dense_on_one_row(g, n) {
                    crate::dense::block_outputs(g, n, bits[n.inputs[0]], opts)
                } else {
                    vec![(0, out_len)]
                }
            })
            .collect();
        Units { blocks }
    }

    fn all(&self) -> Vec<(usize, usize)> {
        self.blocks
            .iter()
            .enumerate()
            .flat_map(|(i, b)| (0..b.len()).map(move |j| (i, j)))
            .collect()
    }
}

fn dense_on_one_row(g: &Graph, n: &cairn_ir::Node) -> bool {
    n.op == Op::MatMul
        && g.const_data(n.inputs[1]).is_some()
        && g.values[n.inputs[0]].ty.len() == g.values[n.inputs[1]].ty.shape[0]
}

/// What one stage runs of one node: blocks `[first, end)` of `blocks` in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpan {
    pub node: usize,
    pub first: usize,
    pub end: usize,
    pub blocks: usize,
}

impl NodeSpan {
    pub fn whole(&self) -> bool {
        self.first == 0 && self.end == self.blocks
    }
}

impl Partition {
    /// What each stage runs, node by node (one empty stage for a graph without nodes).
    pub fn stages(&self, units: &Units) -> Vec<Vec<NodeSpan>> {
        let all = units.all();
        let index = |c: &(usize, usize)| all.iter().position(|u| u == c).unwrap_or(all.len());
        let mut bounds: Vec<usize> = self.starts.iter().map(index).collect();
        bounds.push(all.len());
        bounds
            .windows(2)
            .map(|w| {
                let mut spans: Vec<NodeSpan> = Vec::new();
                for &(node, block) in &all[w[0]..w[1].max(w[0])] {
                    match spans.last_mut() {
                        Some(s) if s.node == node => s.end = block + 1,
                        _ => spans.push(NodeSpan {
                            node,
                            first: block,
                            end: block + 1,
                            blocks: units.blocks[node].len(),
                        }),
                    }
                }
                spans
            })
            .collect()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error(
        "node {node:?} needs about {felts} felts of contract bytecode in one piece, more than the \
         {limit} a class may hold; it cannot be deployed (split the layer in the model, or raise \
         --max-class-felts on a chain that allows bigger classes)"
    )]
    NodeTooLarge {
        node: String,
        felts: u64,
        limit: u64,
    },
    #[error(
        "node {node:?} needs about {steps} Cairo steps in one piece, more than the {limit} one \
         transaction may run; it cannot be verified onchain by re-execution"
    )]
    NodeTooSlow {
        node: String,
        steps: u64,
        limit: u64,
    },
}

/// Estimated cost of outputs `[first, end)` of a node, in a contract.
pub fn unit_cost(g: &Graph, node: usize, (first, end): (usize, usize)) -> Cost {
    let n = &g.nodes[node];
    let out_len = g.values[n.output].ty.len() as u64;
    let const_felts: u64 = n
        .inputs
        .iter()
        .filter_map(|&v| g.const_data(v).map(|_| g.values[v].ty.len() as u64))
        .sum();
    if n.op != Op::MatMul {
        return Cost {
            felts: 200 + 2 * const_felts + 2 * out_len.min(4096),
            steps: n.op.steps_per_element() * out_len.max(const_felts),
        };
    }
    if g.const_data(n.inputs[1]).is_some() {
        let k = g.values[n.inputs[1]].ty.shape[0] as u64;
        let cols = (end - first) as u64;
        let rows = g.values[n.inputs[0]].ty.len() as u64 / k.max(1);
        return Cost {
            felts: k * cols.div_ceil(3) * FELTS_PER_LITERAL + 400,
            steps: (STEPS_PER_MAC * (rows * k * cols) as f64) as u64 + rows * cols * 20,
        };
    }
    // A product by a runtime matrix [k, n], or a batch [B, k, n].
    let shape = &g.values[n.inputs[1]].ty.shape;
    let k = shape[shape.len() - 2] as u64;
    Cost {
        felts: 200 + 2 * const_felts,
        steps: out_len * k * 8,
    }
}

fn base() -> Cost {
    Cost {
        felts: FELTS_PER_STAGE,
        steps: 0,
    }
}

/// Cuts the graph greedily into as few stages as fit `limits`.
pub fn plan(g: &Graph, units: &Units, limits: &Limits) -> Result<Partition, PlanError> {
    let mut starts = vec![(0, 0)];
    let mut acc = base();
    // The budgets are soft (a unit over them gets a stage of its own); the network's limits, or
    // larger budgets given on purpose, are hard.
    let felt_cap = limits.class_felts.max(MAX_CLASS_FELTS);
    let step_cap = limits.stage_steps.max(MAX_TX_STEPS);
    for (i, j) in units.all() {
        let c = unit_cost(g, i, units.blocks[i][j]);
        if c.felts + FELTS_PER_STAGE > felt_cap {
            return Err(PlanError::NodeTooLarge {
                node: g.nodes[i].name.clone(),
                felts: c.felts + FELTS_PER_STAGE,
                limit: felt_cap,
            });
        }
        if c.steps > step_cap {
            return Err(PlanError::NodeTooSlow {
                node: g.nodes[i].name.clone(),
                steps: c.steps,
                limit: step_cap,
            });
        }
        if (i, j) != (0, 0)
            && (acc.felts + c.felts > limits.class_felts
                || acc.steps + c.steps > limits.stage_steps)
        {
            starts.push((i, j));
            acc = base();
        }
        acc = acc + c;
    }
    Ok(Partition { starts })
}

/// Estimated cost of each stage.
pub fn stage_costs(g: &Graph, p: &Partition, units: &Units) -> Vec<Cost> {
    p.stages(units)
        .iter()
        .map(|spans| {
            spans.iter().fold(base(), |acc, s| {
                (s.first..s.end).fold(acc, |acc, b| {
                    acc + unit_cost(g, s.node, units.blocks[s.node][b])
                })
            })
        })
        .collect()
}

/// A live tensor between stages: a value, or the first `len` outputs of a dense layer cut
/// across stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Live {
    Value(ValueId),
    Partial { node: usize, len: usize },
}

/// The live tensors at each cut: `[inputs, after stage 0, ..., outputs]`.
///
/// At a cut before node `i` (or inside it), the live tensors are those computed before node
/// `i` (or model inputs) that node `i` onwards or the model's outputs still read, in id order,
/// then the part of node `i`'s output already computed.
pub fn live_sets(g: &Graph, p: &Partition, units: &Units) -> Vec<Vec<Live>> {
    let mut sets = vec![g.inputs.iter().map(|&v| Live::Value(v)).collect()];
    for &(node, block) in p.starts.iter().skip(1) {
        let before = |v: &ValueId| match g.values[*v].def {
            Def::Input => true,
            Def::Node(i) => i < node,
            Def::Const(_) => false,
        };
        let live: BTreeSet<ValueId> = g.nodes[node..]
            .iter()
            .flat_map(|n| n.inputs.iter().copied())
            .chain(g.outputs.iter().copied())
            .filter(before)
            .collect();
        let mut set: Vec<Live> = live.into_iter().map(Live::Value).collect();
        if block > 0 {
            set.push(Live::Partial {
                node,
                len: units.blocks[node][block].0,
            });
        }
        sets.push(set);
    }
    sets.push(g.outputs.iter().map(|&v| Live::Value(v)).collect());
    sets
}

/// Flattened length of each live set.
pub fn live_lens(g: &Graph, p: &Partition, units: &Units) -> Vec<usize> {
    live_sets(g, p, units)
        .iter()
        .map(|s| {
            s.iter()
                .map(|l| match *l {
                    Live::Value(v) => g.values[v].ty.len(),
                    Live::Partial { len, .. } => len,
                })
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_ir::{Data, TensorType};

    /// x[1,k] · W[k,k] then relu, `layers` times (quantised weights).
    fn mlp(k: usize, layers: usize) -> Graph {
        let mut g = Graph::default();
        let mut x = g.add_input("x", TensorType::f32(vec![1, k]));
        for l in 0..layers {
            let w = g.add_const(
                &format!("w{l}"),
                TensorType::f32(vec![k, k]),
                Data::Int(vec![3; k * k]),
            );
            let y = g.add_node(
                &format!("mm{l}"),
                Op::MatMul,
                vec![x, w],
                &format!("y{l}"),
                TensorType::f32(vec![1, k]),
            );
            x = g.add_node(
                &format!("relu{l}"),
                Op::Unary(cairn_ir::UnaryOp::Relu),
                vec![y],
                &format!("h{l}"),
                TensorType::f32(vec![1, k]),
            );
        }
        g.outputs.push(x);
        g
    }

    fn units(g: &Graph) -> Units {
        Units::of(g, &CodegenOptions::default())
    }

    #[test]
    fn small_models_are_one_stage_and_budgets_cut_them() {
        let g = mlp(8, 3);
        let u = units(&g);
        assert_eq!(
            plan(&g, &u, &Limits::default()).unwrap(),
            Partition::default()
        );
        let tight = Limits {
            class_felts: MAX_CLASS_FELTS,
            stage_steps: 1,
        };
        // Every unit over the budget: a stage each.
        let p = plan(&g, &u, &tight).unwrap();
        assert_eq!(p.starts.len(), u.all().len());
        assert_eq!(p.stages(&u).len(), p.starts.len());
    }

    #[test]
    fn live_sets_carry_what_later_nodes_and_outputs_read() {
        let g = mlp(4, 2);
        let u = units(&g);
        let p = Partition {
            starts: vec![(0, 0), (2, 0), (3, 0)],
        };
        let live = live_sets(&g, &p, &u);
        assert_eq!(live.len(), 4);
        assert_eq!(live[0], vec![Live::Value(g.inputs[0])]);
        // After relu0 only its output is live; after mm1 only mm1's output.
        assert_eq!(live[1], vec![Live::Value(g.nodes[1].output)]);
        assert_eq!(live[2], vec![Live::Value(g.nodes[2].output)]);
        assert_eq!(live[3], vec![Live::Value(g.outputs[0])]);
    }

    #[test]
    fn a_layer_bigger_than_a_class_spans_several_stages() {
        // 600 × 600: far more literals than one class holds; its blocks go to several stages.
        let g = mlp(600, 1);
        let u = units(&g);
        assert!(u.blocks[0].len() > 1);
        let p = plan(&g, &u, &Limits::default()).unwrap();
        let stages = p.stages(&u);
        assert!(stages.len() > 2, "{:?}", p.starts);
        assert!(stages
            .iter()
            .flatten()
            .filter(|s| s.node == 0)
            .all(|s| !s.whole()));
        // Inside the layer, its input and the outputs computed so far are live.
        let live = live_sets(&g, &p, &u);
        assert_eq!(live[1][0], Live::Value(g.inputs[0]));
        assert!(matches!(live[1][1], Live::Partial { node: 0, len } if len > 0));
        for c in stage_costs(&g, &p, &u) {
            assert!(c.felts <= Limits::default().class_felts, "{c:?}");
        }
    }
}
