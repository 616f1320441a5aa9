//! Code generation: a validated, quantised IR graph in, a Cairo package out.
//!
//! The package holds the generated program (`src/`), the runtime library it links
//! (`cairn_runtime/`, copied from the repository's `cairo_runtime/`), a `cairo_project.toml` for
//! the Cairo compiler crates and a `Scarb.toml` for scarb users. Rust builds a render model
//! ([`program`], [`dense`]); the askama templates in `templates/program/` only loop and print.
//! Output is byte-stable: the same graph and options give the same files.
//!
//! Invariant: generation takes a [`cairn_ir::ValidGraph`], so only validated IR reaches it.

mod contracts;
mod dense;
pub mod partition;
mod program;
pub mod runtime;

use std::path::{Path, PathBuf};

use cairn_ir::ValidGraph;
pub use partition::{Limits, Partition, PlanError};

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("the graph must be quantised before code generation")]
    NotQuantised,
    #[error("template {template}: {source}")]
    Template {
        template: &'static str,
        #[source]
        source: askama::Error,
    },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Shape of the generated dense layers (see `templates/program/dense.cairo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodegenOptions {
    /// (Packed) accumulators computed together, sharing one load of each input.
    pub accumulators: usize,
    /// Largest chunk of inputs one generated function reads.
    pub chunk: usize,
}

impl Default for CodegenOptions {
    fn default() -> Self {
        CodegenOptions {
            accumulators: 4,
            chunk: 32,
        }
    }
}

/// A generated package: relative paths and contents, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub files: Vec<(PathBuf, String)>,
}

impl Package {
    /// Writes every file under `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<(), CodegenError> {
        for (rel, text) in &self.files {
            let path = dir.join(rel);
            let io = |source| CodegenError::Io {
                path: path.clone(),
                source,
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            std::fs::write(&path, text).map_err(io)?;
        }
        Ok(())
    }

    pub fn file(&self, rel: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|(p, _)| p == Path::new(rel))
            .map(|(_, t)| t.as_str())
    }
}

/// Generates the Cairo package of a quantised graph, cut into the stages of `partition`:
/// the program (`src/`), the model it shares with the contracts (`cairn_model/`), the contracts
/// (`contracts/`) and the runtime. `model_file` is named in the headers.
pub fn generate(
    g: &ValidGraph,
    model_file: &str,
    opts: &CodegenOptions,
    partition: &Partition,
) -> Result<Package, CodegenError> {
    if !g.quantised {
        return Err(CodegenError::NotQuantised);
    }
    let mut files = program::generate(g, model_file, opts, partition)?;
    files.extend(contracts::generate(g, model_file, opts, partition)?);
    for (rel, text) in runtime::FILES {
        files.push((PathBuf::from("cairn_runtime").join(rel), text.to_string()));
    }
    Ok(Package { files })
}
