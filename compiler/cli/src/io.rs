//! Input and output JSON.
//!
//! Input: `{"<graph input name>": nested list}`, or EZKL's `{"input_data": [[...], ...]}` (one
//! list per graph input, nested or flat). Output: `{"<graph output name>": nested list}` with
//! dequantised floats.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};

use crate::artifacts::TensorInfo;

/// Reads one flat vector per graph input, in graph order.
pub fn read_inputs(path: &Path, inputs: &[TensorInfo]) -> Result<Vec<Vec<f32>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read input file {}", path.display()))?;
    let json: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    parse_inputs(&json, inputs).with_context(|| format!("in input file {}", path.display()))
}

pub fn parse_inputs(json: &Value, inputs: &[TensorInfo]) -> Result<Vec<Vec<f32>>> {
    let names = || {
        inputs
            .iter()
            .map(|i| format!("'{}'", i.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Value::Object(obj) = json else {
        bail!("expected a JSON object with the field(s) {}", names())
    };
    if let Some(data) = obj
        .get("input_data")
        .filter(|_| !inputs.iter().any(|i| i.name == "input_data"))
    {
        let Value::Array(lists) = data else {
            bail!("field 'input_data' must be a list with one list per input")
        };
        if lists.len() != inputs.len() {
            bail!(
                "field 'input_data' has {} list(s); the model has {} input(s): {}",
                lists.len(),
                inputs.len(),
                names()
            );
        }
        return inputs
            .iter()
            .zip(lists)
            .enumerate()
            .map(|(i, (info, v))| flatten_checked(v, info, &format!("input_data[{i}]")))
            .collect();
    }
    if let Some(extra) = obj.keys().find(|k| !inputs.iter().any(|i| &i.name == *k)) {
        bail!(
            "unknown field '{extra}'; the model's inputs are {}",
            names()
        );
    }
    inputs
        .iter()
        .map(|info| {
            let v = obj.get(&info.name).with_context(|| {
                format!(
                    "missing field '{}' (the model's inputs are {})",
                    info.name,
                    names()
                )
            })?;
            flatten_checked(v, info, &info.name)
        })
        .collect()
}

fn flatten_checked(v: &Value, info: &TensorInfo, field: &str) -> Result<Vec<f32>> {
    let mut out = Vec::new();
    flatten(v, field, &mut out)?;
    if out.len() != info.len() {
        bail!(
            "field '{field}' has {} value(s); input '{}' has shape {:?} ({} values)",
            out.len(),
            info.name,
            info.shape,
            info.len()
        );
    }
    Ok(out)
}

fn flatten(v: &Value, at: &str, out: &mut Vec<f32>) -> Result<()> {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(item, &format!("{at}[{i}]"), out)?;
            }
        }
        Value::Number(n) => {
            let x = n
                .as_f64()
                .with_context(|| format!("'{at}' is not a representable number"))?;
            out.push(x as f32);
        }
        Value::Bool(b) => out.push(if *b { 1.0 } else { 0.0 }),
        _ => bail!("'{at}' is {v}, not a number"),
    }
    Ok(())
}

/// Nests a flat vector according to `shape`; `integral` values are written as integers.
pub fn nest(values: &[f64], shape: &[usize], integral: bool) -> Value {
    match shape.split_first() {
        None => values
            .first()
            .map(|&x| json_number(x, integral))
            .unwrap_or(Value::Null),
        Some((&n, rest)) => {
            let stride: usize = rest.iter().product();
            Value::Array(
                (0..n)
                    .map(|i| nest(&values[i * stride..(i + 1) * stride], rest, integral))
                    .collect(),
            )
        }
    }
}

fn json_number(x: f64, integral: bool) -> Value {
    if integral && x.fract() == 0.0 && x.abs() < 9.0e15 {
        return Value::from(x as i64);
    }
    serde_json::Number::from_f64(x)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// `{"name": nested values}` for each output.
pub fn outputs_json(outputs: &[TensorInfo], values: &[Vec<f64>]) -> Value {
    let mut map = Map::new();
    for (info, v) in outputs.iter().zip(values) {
        // Integer and boolean outputs (class labels, masks) are written as integers.
        map.insert(info.name.clone(), nest(v, &info.shape, info.dtype != "f32"));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(name: &str, shape: Vec<usize>) -> TensorInfo {
        TensorInfo {
            name: name.into(),
            shape,
            dtype: "f32".into(),
            scale: 16,
        }
    }

    #[test]
    fn reads_named_and_ezkl_inputs() {
        let inputs = [info("x", vec![1, 3])];
        assert_eq!(
            parse_inputs(&json!({"x": [[1, 2.5, -3]]}), &inputs).unwrap(),
            vec![vec![1.0, 2.5, -3.0]]
        );
        assert_eq!(
            parse_inputs(&json!({"input_data": [[1, 2, 3]]}), &inputs).unwrap(),
            vec![vec![1.0, 2.0, 3.0]]
        );
    }

    #[test]
    fn errors_name_the_field_at_fault() {
        let inputs = [info("x", vec![1, 3])];
        let e = |j| format!("{:#}", parse_inputs(&j, &inputs).unwrap_err());
        assert!(e(json!({"x": [1, 2]})).contains("field 'x' has 2 value(s)"));
        assert!(e(json!({"y": [1, 2, 3]})).contains("unknown field 'y'"));
        assert!(e(json!({})).contains("missing field 'x'"));
        assert!(e(json!({"x": [1, "a", 3]})).contains("'x[1]'"));
        assert!(e(json!([1, 2, 3])).contains("JSON object"));
    }

    #[test]
    fn nests_by_shape() {
        assert_eq!(
            nest(&[1.0, 2.0, 3.0, 4.0], &[2, 2], false),
            json!([[1.0, 2.0], [3.0, 4.0]])
        );
    }
}
