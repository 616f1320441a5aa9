//! IR-to-IR passes: float graph in, quantised graph out.
//!
//! [`fuse_bias`] folds a constant `Add` after a `MatMul` into the product; [`quantise`] picks a
//! fixed-point scale for every tensor and inserts the `Rescale` nodes that the fixed-point rules
//! of `cairn_ir::fixed` require. [`run_all`] runs them in order; each can be run and tested alone.

pub mod fuse_bias;
pub mod quantise;

pub use quantise::{quantise, QuantiseError, QuantiseOptions};

use cairn_ir::Graph;

/// The standard pipeline: fusion, then quantisation.
pub fn run_all(g: Graph, opts: &QuantiseOptions) -> Result<Graph, QuantiseError> {
    let g = fuse_bias::fuse_bias(g);
    quantise(&g, opts)
}
