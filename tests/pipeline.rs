//! Numeric end-to-end tests: each committed model is compiled to Cairo by the real compiler, run
//! on the real Cairo VM, and its outputs compared with two independent float references: tract's
//! f32 run of the same ONNX (done by `cairn run`) and onnxruntime's outputs recorded when the model
//! was exported. The VM must also agree bit for bit with Cairn's own fixed-point interpreter.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the assertion

mod common;

use common::*;

/// Max |a − b| over max |b|: the relative error the issue bounds at 1e-3.
fn rel_error(a: &[f64], b: &[f64]) -> f64 {
    let scale = b
        .iter()
        .fold(0f64, |m, x| m.max(x.abs()))
        .max(f64::MIN_POSITIVE);
    a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs())) / scale
}

fn check(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let s = compile_and_run(name, dir.path());
    assert!(
        s.bit_exact,
        "{name}: the Cairo VM and the fixed-point interpreter disagree"
    );
    let ort = expected(name);
    assert_eq!(ort.len(), s.outputs.len(), "{name}: output count");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap())
            .unwrap();
    for (i, o) in s.outputs.iter().enumerate() {
        let (_, ort_values) = ort
            .iter()
            .find(|(n, _)| *n == o.name)
            .unwrap_or_else(|| panic!("{name}: no expected '{}'", o.name));
        // Integer and boolean outputs are exact.
        if manifest["outputs"][i]["dtype"] != "f32" {
            assert_eq!(&o.cairn, ort_values, "{name}/{}: not exact", o.name);
        }
        assert!(
            o.max_rel_error < 1e-3,
            "{name}/{}: {:.3e} from tract",
            o.name,
            o.max_rel_error
        );
        let e = rel_error(&o.cairn, ort_values);
        assert!(e < 1e-3, "{name}/{}: {e:.3e} from onnxruntime", o.name);
        assert!(o.argmax_match, "{name}/{}: argmax differs", o.name);
    }
    assert!(s.steps > 0);
}

#[test]
fn relu_mlp() {
    check("mlp_relu");
}

#[test]
fn tanh_sigmoid_mlp_with_a_batch_of_two() {
    check("mlp_tanh_sigmoid");
}

#[test]
fn linear_regression() {
    check("linear");
}

#[test]
fn gemm_with_every_attribute() {
    check("gemm_attrs");
}

#[test]
fn broadcasting_arithmetic_on_runtime_tensors() {
    check("broadcast_arith");
}

#[test]
fn flatten_reshape_identity_constant() {
    check("reshape_chain");
}

#[test]
fn mnist_shaped_mlp_784_64_32_10() {
    check("mlp_784_64_32_10");
}

/// ai.onnx.ml tree ensembles in the forms skl2onnx never writes: MAX, MIN and AVERAGE
/// aggregates, base values, BRANCH_LT/GTE/EQ, `_as_tensor` attributes, and a binary classifier
/// with one class's weights under LOGISTIC (labels exact).
#[test]
fn tree_ensembles_by_the_spec() {
    check("trees_spec");
}

/// Softplus, ELU, SELU, CELU, Mish, GELU (exact and tanh, opset 20), HardSwish, HardSigmoid,
/// Softsign, ThresholdedRelu, LogSoftmax, per-channel PRelu and x·sigmoid(x), on inputs from -20
/// to 20 (every table's tails), against onnxruntime.
#[test]
fn activations_of_opset_20() {
    check("activations");
}

/// Scaler, LinearRegressor and Binarizer in a model that imports only `ai.onnx.ml`, IR 4, as
/// onnxmltools writes them.
#[test]
fn scaler_pipeline_without_a_default_domain() {
    check("scaler_pipeline");
}

/// Depthwise 3x3, BatchNormalization, ReLU6, pointwise 1x1, pooling and a LogSoftmax head on one
/// image: the MobileNet-style block whose batch axis tract drops.
#[test]
fn separable_conv_block_with_a_log_softmax_head() {
    check("separable_conv");
}

/// Floor, Ceil and Round half to even, ties and negatives included.
#[test]
fn floor_ceil_and_round_half_to_even() {
    check("rounding");
}

/// Reductions tract expands (L1, L2, sum of squares, log-sum, log-sum-exp), ArgMin with a tie,
/// Sign, variadic Mean and Max, Instance, MeanVariance and Lp normalisation, GlobalMaxPool,
/// Shrink, Dropout and Split, against onnxruntime.
#[test]
fn reductions_normalisations_and_variadic_ops() {
    check("more_ops");
}

/// Einsum products (a weight contraction, Q·Kᵀ of runtime operands) and Gemm with a runtime C.
#[test]
fn einsum_products_and_gemm_with_a_runtime_c() {
    check("einsum");
}

/// LSTM (biases, initial states, peepholes), a bidirectional GRU with linear_before_reset (the
/// PyTorch form), a GRU without it, a reverse RNN and an ONNX Scan, unrolled, against
/// onnxruntime.
#[test]
fn recurrences_unrolled() {
    check("recurrent");
}

/// ConvTranspose (strides, pads, output_padding, dilations, groups), Resize in nearest, linear
/// and cubic modes by scales and by sizes, and GroupNormalization, against onnxruntime.
#[test]
fn transposed_convolution_resize_and_group_norm() {
    check("resampling");
}

/// Mod in both modes on integers and floats with negative operands, ReduceProd, and TopK
/// (largest with ties broken by index, smallest): integers and indices exact.
#[test]
fn mod_reduce_prod_and_topk() {
    check("integer_ops");
}

/// A boolean input is 0 or 1: any other value is refused by `cairn run` before anything runs,
/// and by the program itself when given directly to the Cairo VM.
#[test]
fn boolean_inputs_are_checked_off_and_on_chain() {
    check("bool_input");
    let dir = tempfile::tempdir().unwrap();
    compile_and_run("bool_input", dir.path());
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"cond": [[1, 7, 0], [0, 0, 1]], "x": [[1, 2, 3], [4, 5, 6]]}"#,
    )
    .unwrap();
    let args = cairn_cli::commands::run::RunArgs {
        dir: dir.path().to_path_buf(),
        input: path,
        output: None,
        quiet: true,
    };
    let e = format!("{:#}", cairn_cli::commands::run::run(&args).unwrap_err());
    assert!(e.contains("neither 0 nor 1"), "{e}");
    let exe: cairn_cairo::Executable =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("program.json")).unwrap())
            .unwrap();
    let felts: Vec<cairn_cairo::Felt252> = [1u64, 7, 0, 0, 0, 1]
        .into_iter()
        .chain([1u64 << 16; 6])
        .map(cairn_cairo::Felt252::from)
        .collect();
    let e = match cairn_cairo::execute(&exe, &felts) {
        Ok(_) => panic!("the program accepted a boolean input of 7"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("boolean"), "{e}");
    felts_ok(&exe);
}

/// The same program accepts 0 and 1.
fn felts_ok(exe: &cairn_cairo::Executable) {
    let felts: Vec<cairn_cairo::Felt252> = [1u64, 0, 0, 0, 0, 1]
        .into_iter()
        .chain([1u64 << 16; 6])
        .map(cairn_cairo::Felt252::from)
        .collect();
    assert!(cairn_cairo::execute(exe, &felts).is_ok());
}

#[test]
fn the_bundled_example() {
    let dir = tempfile::tempdir().unwrap();
    let example = root().join("tests/models/example");
    cairn_cli::commands::compile::compile(&compile_args(&example.join("model.onnx"), dir.path()))
        .unwrap();
    let s = cairn_cli::commands::run::run(&cairn_cli::commands::run::RunArgs {
        dir: dir.path().to_path_buf(),
        input: example.join("model.input.json"),
        output: None,
        quiet: true,
    })
    .unwrap();
    assert!(s.bit_exact && s.max_rel_error < 1e-3 && s.outputs[0].argmax_match);
}

#[test]
fn unsupported_nodes_are_all_reported_with_names_and_types() {
    let dir = tempfile::tempdir().unwrap();
    let e = cairn_cli::commands::compile::compile(&compile_args(&model("unsupported"), dir.path()))
        .unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("2 unsupported node(s)"), "{msg}");
    assert!(msg.contains("'the_sin' (Sin)"), "{msg}");
    assert!(
        msg.contains("'the_custom_op' (com.example:Frobnicate)"),
        "{msg}"
    );
}

#[test]
fn a_symbolic_dimension_needs_an_input_shape() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = compile_args(&model("symbolic_batch"), dir.path());
    let e = format!(
        "{:#}",
        cairn_cli::commands::compile::compile(&args).unwrap_err()
    );
    assert!(
        e.contains("input 'x'") && e.contains("--input-shape x="),
        "{e}"
    );
    args.load.input_shapes = vec![("x".into(), vec![1, 3])];
    cairn_cli::commands::compile::compile(&args).unwrap();
    let s = cairn_cli::commands::run::run(&cairn_cli::commands::run::RunArgs {
        dir: dir.path().to_path_buf(),
        input: input("symbolic_batch"),
        output: None,
        quiet: true,
    })
    .unwrap();
    assert!(s.bit_exact && s.max_rel_error < 1e-3);
}

#[test]
fn bad_inputs_are_rejected_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    compile_and_run("mlp_relu", dir.path());
    let run = |json: &str| {
        let path = dir.path().join("bad.json");
        std::fs::write(&path, json).unwrap();
        let args = cairn_cli::commands::run::RunArgs {
            dir: dir.path().to_path_buf(),
            input: path,
            output: None,
            quiet: true,
        };
        format!("{:#}", cairn_cli::commands::run::run(&args).unwrap_err())
    };
    assert!(run(r#"{"input": [[1, 2, 3]]}"#).contains("field 'input' has 3 value(s)"));
    assert!(run(r#"{"inptu": [[1, 2, 3, 4, 5, 6, 7, 8]]}"#).contains("unknown field 'inptu'"));
    assert!(run(r#"{"input": [[1, 2, 3, 4, 5, 6, 7, 1e40]]}"#).contains("element 7"));
    assert!(run("not json").contains("not valid JSON"));
}

#[test]
fn malformed_models_are_rejected_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.onnx");
    std::fs::write(&bad, b"this is not a protobuf").unwrap();
    let e = format!(
        "{:#}",
        cairn_cli::commands::compile::compile(&compile_args(&bad, &dir.path().join("out")))
            .unwrap_err()
    );
    assert!(e.contains("bad.onnx"), "{e}");
    let missing = dir.path().join("missing.onnx");
    assert!(cairn_cli::commands::compile::compile(&compile_args(
        &missing,
        &dir.path().join("out")
    ))
    .is_err());
}

/// Packed dense layers near their bounds: large inputs of alternating sign push every lane's
/// sum far from zero; the VM must still match the (unpacked) interpreter exactly.
#[test]
fn large_inputs_stay_bit_exact_through_packed_layers() {
    let dir = tempfile::tempdir().unwrap();
    cairn_cli::commands::compile::compile(&compile_args(&model("mlp_784_64_32_10"), dir.path()))
        .unwrap();
    let values: Vec<f64> = (0..784)
        .map(|i| if i % 3 == 0 { -200.0 } else { 150.0 + i as f64 })
        .collect();
    let path = dir.path().join("large.json");
    std::fs::write(
        &path,
        serde_json::json!({ "input": [[values.chunks(28).collect::<Vec<_>>()]] }).to_string(),
    )
    .unwrap();
    let s = cairn_cli::commands::run::run(&cairn_cli::commands::run::RunArgs {
        dir: dir.path().to_path_buf(),
        input: path,
        output: None,
        quiet: true,
    })
    .unwrap();
    assert!(s.bit_exact);
    assert!(s.max_rel_error < 1e-3, "{}", s.max_rel_error);
}

#[test]
fn several_inputs_keep_the_model_order() {
    check("two_inputs");
}

#[test]
fn products_of_two_runtime_tensors() {
    check("runtime_products");
}

#[test]
fn elementwise_family_clip_leaky_relu_neg_abs_max_min() {
    check("elementwise");
}

#[test]
fn softmax_over_the_last_and_a_leading_axis() {
    check("softmax");
}

#[test]
fn batchnorm_with_constant_statistics_and_erf_gelu() {
    check("batchnorm_gelu");
}

#[test]
fn reductions_sum_mean_max_and_global_average_pool() {
    check("reductions");
}

#[test]
fn conv2d_with_pads_strides_dilations_and_groups() {
    check("conv2d");
}

#[test]
fn conv1d_without_bias_on_a_batch() {
    check("conv1d");
}

#[test]
fn max_and_average_pooling_with_pads_and_ceil_mode() {
    check("pooling");
}

#[test]
fn depthwise_conv_with_runtime_weights_and_bias() {
    check("conv_runtime_weights");
}

/// `--calibrate`: every activation gets its own scale from the calibration input's magnitudes;
/// the program still agrees with the interpreter bit for bit and with the float reference.
#[test]
fn calibrated_scales_follow_the_activations() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = compile_args(&model("mlp_tanh_sigmoid"), dir.path());
    args.calibration = vec![input("mlp_tanh_sigmoid")];
    cairn_cli::commands::compile::compile(&args).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap())
            .unwrap();
    // Inputs within ±4 get 40 - 4 - 2 = 34 bits, capped at 24; outputs in (0, 1) get 24.
    assert_eq!(manifest["inputs"][0]["scale"], 24, "{manifest}");
    assert_eq!(manifest["outputs"][0]["scale"], 24, "{manifest}");
    let s = cairn_cli::commands::run::run(&cairn_cli::commands::run::RunArgs {
        dir: dir.path().to_path_buf(),
        input: input("mlp_tanh_sigmoid"),
        output: None,
        quiet: true,
    })
    .unwrap();
    assert!(s.bit_exact && s.max_rel_error < 1e-3, "{}", s.max_rel_error);
}

/// Data movement, integers, booleans and the other nonlinearities against onnxruntime: a
/// Reshape whose shape is a graph input (refused, then bound with --bind), Slice with a step,
/// reflect Pad, Concat, Gather by runtime indices, Greater/Where, Exp, Log, Sqrt, a runtime Div,
/// an ArgMax output, a Cast of a comparison and a Cast float → int64 truncating toward zero
/// (all exact).
#[test]
fn mixed_operators_match_onnxruntime() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = compile_args(&model("ops_mixed"), dir.path());
    let e = format!(
        "{:#}",
        cairn_cli::commands::compile::compile(&args).unwrap_err()
    );
    assert!(e.contains("'shape'") && e.contains("--bind shape="), "{e}");
    args.load.binds = vec![("shape".into(), vec![3.0, 4.0])];
    cairn_cli::commands::compile::compile(&args).unwrap();
    let s = cairn_cli::commands::run::run(&cairn_cli::commands::run::RunArgs {
        dir: dir.path().to_path_buf(),
        input: input("ops_mixed"),
        output: None,
        quiet: true,
    })
    .unwrap();
    assert!(s.bit_exact);
    for (name, want) in expected("ops_mixed") {
        let got = &s.outputs.iter().find(|o| o.name == name).unwrap().cairn;
        if name == "winner" || name == "negative" || name == "truncated" {
            assert_eq!(got, &want, "{name} must be exact");
        } else {
            let scale = want.iter().fold(0f64, |m, x| m.max(x.abs()));
            let err = got
                .iter()
                .zip(&want)
                .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(err / scale < 1e-3, "{name}: {got:?} vs {want:?}");
        }
    }
    // Integer outputs are written as integers, as onnxruntime's are.
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let onnxruntime = read(&root().join("tests/models/ops_mixed.expected.json"));
    assert_eq!(read(&s.output_file)["winner"], onnxruntime["winner"]);

    // A Gather index out of range is an error in ONNX: the program fails, and the error names
    // the node.
    let mut bad = read(&input("ops_mixed"));
    bad["idx"] = serde_json::json!([4, 0, 9]);
    let bad_path = dir.path().join("bad.json");
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let e = cairn_cli::commands::run::run(&cairn_cli::commands::run::RunArgs {
        dir: dir.path().to_path_buf(),
        input: bad_path,
        output: None,
        quiet: true,
    })
    .unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains("'gather'") && e.contains("index out of range"),
        "{e}"
    );
}
