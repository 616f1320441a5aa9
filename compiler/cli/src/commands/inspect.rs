//! `cairn inspect MODEL.onnx`: what tract made of the model and the IR Cairn lowers it to.

use std::path::Path;

use anyhow::Result;

pub fn inspect(model: &Path, input_shapes: &[(String, Vec<usize>)]) -> Result<String> {
    let m = cairn_onnx::load(model, input_shapes)?;
    let mut out = format!("# tract typed model\n{}\n", m.describe());
    match m.lower() {
        Ok(g) => out.push_str(&format!("# Cairn IR\n{g}")),
        Err(e) => out.push_str(&format!("# Cairn IR: not lowered\n{e}\n")),
    }
    Ok(out)
}
