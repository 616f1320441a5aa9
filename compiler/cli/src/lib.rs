//! The `cairn` command line: one command per stage, each reading and writing named artifacts
//! in an output folder ([`artifacts`]). The commands are library functions returning typed
//! summaries, so tests drive them in-process and `--json` prints them as they are.
//!
//! Invariant: this crate orchestrates; it computes nothing the stage crates compute.

pub mod artifacts;
pub mod commands;
pub mod io;
pub mod progress;
