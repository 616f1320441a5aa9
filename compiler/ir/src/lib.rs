//! Cairn IR: the typed graph every later stage works on.
//!
//! Input: built by `cairn-onnx` from an ONNX model. Output: a [`Graph`] that passes transform
//! (fusion, quantisation), that [`validate`] checks, and that `cairn-codegen` turns into Cairo.
//!
//! Invariants of a [`Graph`] (checked by [`validate::validate`]):
//! - nodes are in topological order and every value is defined exactly once, by an input, a
//!   constant or one node;
//! - every shape is static;
//! - once quantised (`Graph::quantised`), every float value carries a fixed-point scale (its number
//!   of fractional bits), float constants hold integers, and each op's operand scales obey the
//!   rules in [`fixed`] (a `Rescale` node sits wherever a scale changes).
//!
//! The same semantics are implemented twice on purpose: in [`eval`] (Rust, float and bit-exact
//! fixed point) and in the generated Cairo. Tests compare the two exactly.

pub mod bounds;
pub mod eval;
pub mod fixed;
pub mod graph;
pub mod op;
pub mod print;
pub mod rules;
pub mod validate;

pub use graph::*;
pub use rules::{DTypeRule, ScaleRule};
pub use validate::{validate, ValidGraph, ValidationError};
