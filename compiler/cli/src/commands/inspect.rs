//! `cairn inspect MODEL.onnx`: what tract made of the model and the IR Cairn lowers it to.

use std::path::Path;

use anyhow::Result;

pub fn inspect(model: &Path, opts: &cairn_onnx::LoadOptions) -> Result<String> {
    let m = cairn_onnx::load(model, opts)?;
    let mut out = format!("# tract typed model\n{}\n", m.describe());
    match m.lower() {
        Ok(g) => out.push_str(&format!("# Cairn IR\n{g}")),
        Err(e) => out.push_str(&format!("# Cairn IR: not lowered\n{e}\n")),
    }
    Ok(out)
}
