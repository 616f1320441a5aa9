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
use std::ops::Range;

use cairn_ir::{Def, Graph, Op, ValueId};
use serde::{Deserialize, Serialize};

/// Largest compiled class (CASM bytecode felts) a public Starknet network accepts.
pub const MAX_CLASS_FELTS: u64 = 81_920;
/// Most Cairo steps one invoke transaction may execute on a public Starknet network.
pub const MAX_TX_STEPS: u64 = 10_000_000;

/// CASM felts per packed weight literal: a multiply by an immediate and an add.
const FELTS_PER_LITERAL: u64 = 4;
/// CASM felts of a stage's fixed code (its slicing, loops and the runtime it calls).
const FELTS_PER_STAGE: u64 = 4_000;
/// Cairo steps per packed multiply-add (measured ~2.1 per scalar MAC with 3 lanes per felt).
const STEPS_PER_MAC: f64 = 2.2;
/// Cairo steps per element of an element-wise op (the slowest, PWL tables, are about this).
const STEPS_PER_ELEMENT: u64 = 60;

/// Budgets for one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Estimated CASM felts of one stage's class.
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

/// The estimated cost of one node or stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    pub felts: u64,
    pub steps: u64,
}

/// Where the forward pass is cut: the first node of each stage (the first is always 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    pub starts: Vec<usize>,
}

impl Default for Partition {
    fn default() -> Self {
        Partition { starts: vec![0] }
    }
}

impl Partition {
    /// The node range of each stage (one empty stage for a graph without nodes).
    pub fn ranges(&self, nodes: usize) -> Vec<Range<usize>> {
        let mut ends: Vec<usize> = self.starts.iter().skip(1).copied().collect();
        ends.push(nodes);
        self.starts
            .iter()
            .zip(ends)
            .map(|(&a, b)| a..b.max(a))
            .collect()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error(
        "node {node:?} alone needs about {felts} felts of contract bytecode, more than the \
         {limit} a class may hold; it cannot be deployed as one class (split the layer in the \
         model, or raise --max-class-felts on a chain that allows bigger classes)"
    )]
    NodeTooLarge {
        node: String,
        felts: u64,
        limit: u64,
    },
    #[error(
        "node {node:?} alone needs about {steps} Cairo steps, more than the {limit} one \
         transaction may run; it cannot be verified onchain by re-execution"
    )]
    NodeTooSlow {
        node: String,
        steps: u64,
        limit: u64,
    },
}

/// Estimated cost of a node in a contract.
pub fn node_cost(g: &Graph, node: usize) -> Cost {
    let n = &g.nodes[node];
    let out_len = g.values[n.output].ty.len() as u64;
    let const_felts: u64 = n
        .inputs
        .iter()
        .filter_map(|&v| g.const_data(v).map(|_| g.values[v].ty.len() as u64))
        .sum();
    match n.op {
        Op::MatMul if const_felts > 0 => {
            let shape = &g.values[n.inputs[1]].ty.shape;
            let (k, cols) = (shape[0] as u64, shape[1] as u64);
            let rows = g.values[n.inputs[0]].ty.len() as u64 / k.max(1);
            Cost {
                felts: k * cols.div_ceil(3) * FELTS_PER_LITERAL + 200,
                steps: (STEPS_PER_MAC * (rows * k * cols) as f64) as u64 + out_len * 20,
            }
        }
        Op::MatMul => {
            let k = g.values[n.inputs[1]].ty.shape[0] as u64;
            Cost {
                felts: 200 + 2 * const_felts,
                steps: out_len * k * 8,
            }
        }
        _ => Cost {
            felts: 200 + 2 * const_felts + 2 * out_len.min(4096),
            steps: STEPS_PER_ELEMENT * out_len.max(const_felts),
        },
    }
}

/// Cuts the graph greedily into as few stages as fit `limits`.
pub fn plan(g: &Graph, limits: &Limits) -> Result<Partition, PlanError> {
    let mut starts = vec![0];
    let mut acc = Cost {
        felts: FELTS_PER_STAGE,
        steps: 0,
    };
    for i in 0..g.nodes.len() {
        let c = node_cost(g, i);
        // The budgets are soft (a node over them gets a stage of its own); the network's
        // limits, or larger budgets given on purpose, are hard.
        let felt_cap = limits.class_felts.max(MAX_CLASS_FELTS);
        if c.felts + FELTS_PER_STAGE > felt_cap {
            return Err(PlanError::NodeTooLarge {
                node: g.nodes[i].name.clone(),
                felts: c.felts + FELTS_PER_STAGE,
                limit: felt_cap,
            });
        }
        let step_cap = limits.stage_steps.max(MAX_TX_STEPS);
        if c.steps > step_cap {
            return Err(PlanError::NodeTooSlow {
                node: g.nodes[i].name.clone(),
                steps: c.steps,
                limit: step_cap,
            });
        }
        if i > 0
            && (acc.felts + c.felts > limits.class_felts
                || acc.steps + c.steps > limits.stage_steps)
        {
            starts.push(i);
            acc = Cost {
                felts: FELTS_PER_STAGE,
                steps: 0,
            };
        }
        acc.felts += c.felts;
        acc.steps += c.steps;
    }
    Ok(Partition { starts })
}

/// Estimated cost of each stage.
pub fn stage_costs(g: &Graph, p: &Partition) -> Vec<Cost> {
    p.ranges(g.nodes.len())
        .into_iter()
        .map(|r| {
            r.fold(
                Cost {
                    felts: FELTS_PER_STAGE,
                    steps: 0,
                },
                |acc, i| {
                    let c = node_cost(g, i);
                    Cost {
                        felts: acc.felts + c.felts,
                        steps: acc.steps + c.steps,
                    }
                },
            )
        })
        .collect()
}

/// The live tensors at each cut: `[inputs, after stage 0, ..., outputs]`.
///
/// Between stages, the live tensors are those computed before the cut (or model inputs) that a
/// later node or the model's outputs still read, in id order.
pub fn live_sets(g: &Graph, p: &Partition) -> Vec<Vec<ValueId>> {
    let ranges = p.ranges(g.nodes.len());
    let mut sets = vec![g.inputs.clone()];
    for r in ranges.iter().skip(1) {
        let before = |v: &ValueId| match g.values[*v].def {
            Def::Input => true,
            Def::Node(i) => i < r.start,
            Def::Const(_) => false,
        };
        let live: BTreeSet<ValueId> = g.nodes[r.start..]
            .iter()
            .flat_map(|n| n.inputs.iter().copied())
            .chain(g.outputs.iter().copied())
            .filter(before)
            .collect();
        sets.push(live.into_iter().collect());
    }
    sets.push(g.outputs.clone());
    sets
}

/// Flattened length of each live set.
pub fn live_lens(g: &Graph, p: &Partition) -> Vec<usize> {
    live_sets(g, p)
        .iter()
        .map(|s| s.iter().map(|&v| g.values[v].ty.len()).sum())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_ir::{Data, TensorType};

    /// x[1,k] · W[k,n] then relu, `layers` times.
    fn mlp(k: usize, layers: usize) -> Graph {
        let mut g = Graph::default();
        let mut x = g.add_input("x", TensorType::f32(vec![1, k]));
        for l in 0..layers {
            let w = g.add_const(
                &format!("w{l}"),
                TensorType::f32(vec![k, k]),
                Data::F32(vec![0.5; k * k]),
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
                Op::Relu,
                vec![y],
                &format!("h{l}"),
                TensorType::f32(vec![1, k]),
            );
        }
        g.outputs.push(x);
        g
    }

    #[test]
    fn small_models_are_one_stage_and_budgets_cut_them() {
        let g = mlp(8, 3);
        assert_eq!(plan(&g, &Limits::default()).unwrap(), Partition::default());
        let tight = Limits {
            class_felts: MAX_CLASS_FELTS,
            stage_steps: 1,
        };
        // Every node over the budget: a stage each.
        assert_eq!(plan(&g, &tight).unwrap().starts, (0..6).collect::<Vec<_>>());
    }

    #[test]
    fn live_sets_carry_what_later_nodes_and_outputs_read() {
        let g = mlp(4, 2);
        let p = Partition {
            starts: vec![0, 2, 3],
        };
        let live = live_sets(&g, &p);
        assert_eq!(live.len(), 4);
        assert_eq!(live[0], g.inputs);
        // After relu0 only its output is live; after mm1 only mm1's output.
        assert_eq!(live[1], vec![g.nodes[1].output]);
        assert_eq!(live[2], vec![g.nodes[2].output]);
        assert_eq!(live[3], g.outputs);
    }

    #[test]
    fn a_layer_bigger_than_a_class_is_refused() {
        let g = mlp(600, 1);
        let err = plan(&g, &Limits::default()).unwrap_err();
        assert!(matches!(err, PlanError::NodeTooLarge { .. }), "{err}");
    }
}
