//! The render model of the Starknet contracts (`contracts/`): the fact registry, the verifier and
//! the consumer are the same for every model; the stage classes hold the model.

use std::path::PathBuf;

use askama::Template;
use cairn_ir::Graph;

use crate::partition::{live_lens, Partition, Units};
use crate::program::{comment, render};
use crate::{CodegenError, CodegenOptions};

struct StageView {
    index: usize,
    node: usize,
    block: usize,
    in_len: usize,
    out_len: usize,
}

#[derive(Template)]
#[template(path = "contracts/lib.cairo", escape = "none")]
struct LibTemplate {
    model_file: String,
}

#[derive(Template)]
#[template(path = "contracts/stages.cairo", escape = "none")]
struct StagesTemplate {
    model_file: String,
    stages: Vec<StageView>,
}

#[derive(Template)]
#[template(path = "contracts/registry.cairo", escape = "none")]
struct RegistryTemplate;

#[derive(Template)]
#[template(path = "contracts/verifier.cairo", escape = "none")]
struct VerifierTemplate;

#[derive(Template)]
#[template(path = "contracts/consumer.cairo", escape = "none")]
struct ConsumerTemplate;

#[derive(Template)]
#[template(path = "contracts/cairo_project.toml", escape = "none")]
struct ProjectTemplate;

pub(crate) fn generate(
    g: &Graph,
    model_file: &str,
    opts: &CodegenOptions,
    partition: &Partition,
) -> Result<Vec<(PathBuf, String)>, CodegenError> {
    let lens = live_lens(g, partition, &Units::of(g, opts));
    let stages = partition
        .starts
        .iter()
        .enumerate()
        .map(|(index, &(node, block))| StageView {
            index,
            node,
            block,
            in_len: lens[index],
            out_len: lens[index + 1],
        })
        .collect();
    let model_file = comment(model_file);
    let dir = PathBuf::from("contracts");
    Ok(vec![
        (
            dir.join("cairo_project.toml"),
            render(&ProjectTemplate, "contracts/cairo_project.toml")?,
        ),
        (
            dir.join("src/lib.cairo"),
            render(
                &LibTemplate {
                    model_file: model_file.clone(),
                },
                "contracts/lib.cairo",
            )?,
        ),
        (
            dir.join("src/consumer.cairo"),
            render(&ConsumerTemplate, "contracts/consumer.cairo")?,
        ),
        (
            dir.join("src/registry.cairo"),
            render(&RegistryTemplate, "contracts/registry.cairo")?,
        ),
        (
            dir.join("src/stages.cairo"),
            render(
                &StagesTemplate { model_file, stages },
                "contracts/stages.cairo",
            )?,
        ),
        (
            dir.join("src/verifier.cairo"),
            render(&VerifierTemplate, "contracts/verifier.cairo")?,
        ),
    ])
}
