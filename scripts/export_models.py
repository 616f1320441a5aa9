#!/usr/bin/env python3
"""Builds the ONNX models Cairn's tests and example use, with their inputs.

    pip install torch onnx onnxruntime numpy
    python3 scripts/export_models.py            # writes tests/models/ (the bundled example in tests/models/example/)

PyTorch models are trained briefly on synthetic data (so weights look like real ones) and
exported with the TorchScript exporter (opset 17); the others are written with onnx.helper to
exercise attributes PyTorch never sets. Everything is seeded: re-running rewrites the same
models. For each model `NAME.onnx` the script writes `NAME.input.json` (the input Cairn runs) and
`NAME.expected.json` (onnxruntime's outputs, an independent record of the float result).
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "tests", "models")
EXAMPLE = os.path.join(ROOT, "tests", "models", "example")


def write_io(path, inputs, bound=()):
    """Writes NAME.input.json and NAME.expected.json next to the model at `path`. Inputs named
    in `bound` are given to onnxruntime but left out of NAME.input.json: Cairn binds them at
    compile time (--bind)."""
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {i.name: inputs[i.name].astype(np.int64 if "int64" in i.type else np.float32)
             for i in sess.get_inputs()}
    outs = sess.run(None, feeds)
    base = path[: -len(".onnx")]
    with open(base + ".input.json", "w") as f:
        json.dump({k: v.tolist() for k, v in feeds.items() if k not in bound}, f)
        f.write("\n")
    with open(base + ".expected.json", "w") as f:
        json.dump({o.name: v.tolist() for o, v in zip(sess.get_outputs(), outs)}, f)
        f.write("\n")


def torch_models():
    import torch
    from torch import nn

    torch.manual_seed(0)

    def train(model, x, y, loss_fn, steps=200):
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(steps):
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        return model.eval()

    def export(model, example, path, input_name="input", output_name="output"):
        torch.onnx.export(model, example, path, input_names=[input_name], output_names=[output_name],
                          opset_version=17, dynamo=False)
        onnx.checker.check_model(onnx.load(path))
        write_io(path, {input_name: example.detach().numpy()})

    # A 3-class classifier of 2-D points (the bundled example): 2 -> 16 -> 16 -> 3.
    x = torch.randn(512, 2)
    y = (torch.atan2(x[:, 1], x[:, 0]) + np.pi).mul(3 / (2 * np.pi)).long().clamp(max=2)
    clf = train(nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)),
                x, y, nn.CrossEntropyLoss(), steps=300)
    os.makedirs(EXAMPLE, exist_ok=True)
    export(clf, torch.tensor([[0.8, -1.3]]), os.path.join(EXAMPLE, "model.onnx"))

    # ReLU MLP regression, 8 -> 16 -> 4.
    x = torch.randn(256, 8)
    mlp = train(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)), x, x[:, :4].sin(), nn.MSELoss())
    export(mlp, torch.randn(1, 8), os.path.join(MODELS, "mlp_relu.onnx"))

    # tanh and sigmoid activations, batch of 2: 6 -> 12 (tanh) -> 3 (sigmoid).
    x = torch.randn(256, 6)
    act = train(nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 3), nn.Sigmoid()),
                x, (x[:, :3] > 0).float(), nn.BCELoss())
    export(act, torch.randn(2, 6), os.path.join(MODELS, "mlp_tanh_sigmoid.onnx"))

    # Linear regression 5 -> 1.
    x = torch.randn(256, 5)
    lin = train(nn.Linear(5, 1), x, x @ torch.tensor([[1.5], [-2.0], [0.5], [0.0], [3.0]]) + 0.7, nn.MSELoss())
    export(lin, torch.randn(1, 5), os.path.join(MODELS, "linear.onnx"))

    # The MNIST-shaped MLP of the benchmark, 784 -> 64 -> 32 -> 10, on a flattened 28x28 image.
    class Mnist(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

        def forward(self, img):
            return self.net(img.flatten(1))

    x = torch.rand(512, 1, 28, 28)
    mnist = train(Mnist(), x, (x.mean(dim=(1, 2, 3)) * 40).long().clamp(0, 9) , nn.CrossEntropyLoss(), steps=60)
    export(mnist, torch.rand(1, 1, 28, 28), os.path.join(MODELS, "mlp_784_64_32_10.onnx"))


def helper_models():
    rng = np.random.default_rng(7)

    def save(graph, name, inputs, bound=()):
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        path = os.path.join(MODELS, name)
        onnx.save(model, path)
        write_io(path, inputs, bound)

    def init(name, arr):
        return numpy_helper.from_array(arr.astype(np.float32), name)

    # Gemm with every attribute set: Y = 0.5 * A^T * B^T + 2.0 * C, A given transposed.
    a_t = helper.make_tensor_value_info("a", TensorProto.FLOAT, [4, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    gemm = helper.make_node("Gemm", ["a", "b", "c"], ["y"], name="gemm", alpha=0.5, beta=2.0, transA=1, transB=1)
    graph = helper.make_graph([gemm], "gemm_attrs", [a_t], [y],
                              [init("b", rng.normal(size=(3, 4))), init("c", rng.normal(size=(1, 3)))])
    save(graph, "gemm_attrs.onnx", {"a": rng.normal(size=(4, 2))})

    # MatMul by a constant, then broadcasting Add, Mul and Sub with constants and with each other.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 4])
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="matmul"),
        helper.make_node("Add", ["h", "row"], ["h1"], name="add_row"),
        helper.make_node("Mul", ["h1", "col"], ["h2"], name="mul_col"),
        helper.make_node("Sub", ["h2", "h"], ["h3"], name="sub_runtime"),
        helper.make_node("Mul", ["h3", "h1"], ["out"], name="mul_runtime"),
    ]
    graph = helper.make_graph(nodes, "broadcast_arith", [x], [out], [
        init("w", rng.normal(size=(3, 4))), init("row", rng.normal(size=(4,))), init("col", rng.normal(size=(2, 1)))])
    save(graph, "broadcast_arith.onnx", {"x": rng.normal(size=(2, 3))})

    # Data movement: Flatten, Reshape with 0 and -1, Identity, and a Constant node.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [3, 2])
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"], name="flatten", axis=1),
        helper.make_node("Constant", [], ["shape"], name="shape_const",
                         value=numpy_helper.from_array(np.array([3, -1], dtype=np.int64))),
        helper.make_node("Reshape", ["f", "shape"], ["r"], name="reshape"),
        helper.make_node("Identity", ["r"], ["i"], name="identity"),
        helper.make_node("Relu", ["i"], ["out"], name="relu"),
    ]
    save(helper.make_graph(nodes, "reshape_chain", [x], [out]), "reshape_chain.onnx", {"x": rng.normal(size=(1, 2, 3))})

    # Two inputs, the second consumed first: inputs must keep the model's order.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 3])
    nodes = [helper.make_node("Sigmoid", ["y"], ["sy"], name="sigmoid_y"),
             helper.make_node("Sub", ["x", "sy"], ["out"], name="sub")]
    save(helper.make_graph(nodes, "two_inputs", [x, y], [out]), "two_inputs.onnx",
         {"x": rng.normal(size=(2, 3)), "y": rng.normal(size=(3,))})

    # An op Cairn does not support (for the error-reporting tests): two of them.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4])
    nodes = [helper.make_node("Sin", ["x"], ["s"], name="the_sin"),
             helper.make_node("Frobnicate", ["s"], ["out"], name="the_custom_op", domain="com.example")]
    model = helper.make_model(helper.make_graph(nodes, "unsupported", [x], [out]),
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    onnx.save(model, os.path.join(MODELS, "unsupported.onnx"))

    # A symbolic batch dimension (for the input-shape tests).
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 2])
    nodes = [helper.make_node("MatMul", ["x", "w"], ["out"], name="matmul")]
    graph = helper.make_graph(nodes, "symbolic_batch", [x], [out], [init("w", rng.normal(size=(3, 2)))])
    save(graph, "symbolic_batch.onnx", {"x": rng.normal(size=(1, 3))})

    # Products of two runtime tensors: MatMul, then Gemm with a transposed runtime B and a bias.
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [3, 4])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 2])
    nodes = [helper.make_node("MatMul", ["a", "b"], ["ab"], name="matmul"),
             helper.make_node("Gemm", ["ab", "ab", "c"], ["out"], name="gemm", transB=1, alpha=0.5)]
    graph = helper.make_graph(nodes, "runtime_products", [a, b], [out], [init("c", rng.normal(size=(2,)))])
    save(graph, "runtime_products.onnx", {"a": rng.normal(size=(2, 3)), "b": rng.normal(size=(3, 4))})

    # The element-wise family: Clip (constant bounds as inputs), LeakyRelu, Neg, Abs, Max, Min.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 4])
    nodes = [
        helper.make_node("Clip", ["x", "lo", "hi"], ["c"], name="clip"),
        helper.make_node("LeakyRelu", ["x"], ["l"], name="leaky", alpha=0.1),
        helper.make_node("Neg", ["x"], ["nx"], name="neg"),
        helper.make_node("Max", ["l", "nx"], ["m"], name="max"),
        helper.make_node("Abs", ["x"], ["ax"], name="abs"),
        helper.make_node("Min", ["ax", "cap"], ["n"], name="min"),
        helper.make_node("Add", ["c", "m"], ["s"], name="add1"),
        helper.make_node("Add", ["s", "n"], ["out"], name="add2"),
    ]
    graph = helper.make_graph(nodes, "elementwise", [x], [out], [
        init("lo", np.array(-0.5)), init("hi", np.array(0.8)), init("cap", rng.uniform(0.2, 1.0, size=(1, 4)))])
    save(graph, "elementwise.onnx", {"x": rng.normal(size=(2, 4)) * 2})

    # Softmax over the last axis, and over the first axis of a rank-3 tensor (two outputs).
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 2, 5])
    last = helper.make_tensor_value_info("last", TensorProto.FLOAT, [3, 2, 5])
    first = helper.make_tensor_value_info("first", TensorProto.FLOAT, [3, 2, 5])
    nodes = [helper.make_node("Softmax", ["x"], ["last"], name="softmax_last"),
             helper.make_node("Softmax", ["x"], ["first"], name="softmax_first", axis=0)]
    save(helper.make_graph(nodes, "softmax", [x], [last, first]), "softmax.onnx", {"x": rng.normal(size=(3, 2, 5)) * 3})

    # BatchNormalization with constant statistics (as exported for inference), then erf-GELU.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 3, 4])
    nodes = [
        helper.make_node("BatchNormalization", ["x", "gamma", "beta", "mean", "var"], ["bn"], name="bn", epsilon=1e-5),
        helper.make_node("Div", ["bn", "sqrt2"], ["d"], name="gelu_div"),
        helper.make_node("Erf", ["d"], ["e"], name="gelu_erf"),
        helper.make_node("Add", ["e", "one"], ["e1"], name="gelu_add"),
        helper.make_node("Mul", ["bn", "e1"], ["m"], name="gelu_mul"),
        helper.make_node("Mul", ["m", "half"], ["out"], name="gelu_half"),
    ]
    graph = helper.make_graph(nodes, "batchnorm_gelu", [x], [out], [
        init("gamma", rng.uniform(0.5, 1.5, size=(3,))), init("beta", rng.normal(size=(3,)) * 0.2),
        init("mean", rng.normal(size=(3,)) * 0.3), init("var", rng.uniform(0.5, 2.0, size=(3,))),
        init("sqrt2", np.array(np.sqrt(2.0))), init("one", np.array(1.0)), init("half", np.array(0.5))])
    save(graph, "batchnorm_gelu.onnx", {"x": rng.normal(size=(2, 3, 4)) * 1.5})

    # Reductions: ReduceSum (axes as input, keepdims=0), ReduceMean, ReduceMax, GlobalAveragePool,
    # and two over axes that are not contiguous (ReduceMin keeping them, ReduceSum dropping them).
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 4])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in
            [("sum", [2, 3, 4]), ("mean", [2, 3, 1, 1]), ("max", [2, 1, 4, 4]), ("gap", [2, 3, 1, 1]),
             ("min_spread", [1, 3, 1, 4]), ("sum_spread", [2, 4])]]
    nodes = [
        helper.make_node("ReduceMin", ["x"], ["min_spread"], name="reduce_min_spread", axes=[0, 2]),
        helper.make_node("ReduceSum", ["x", "axes_spread"], ["sum_spread"], name="reduce_sum_spread",
                         keepdims=0),
        helper.make_node("ReduceSum", ["x", "axes"], ["sum"], name="reduce_sum", keepdims=0),
        helper.make_node("ReduceMean", ["x"], ["mean"], name="reduce_mean", axes=[2, 3]),
        helper.make_node("ReduceMax", ["x"], ["max"], name="reduce_max", axes=[1], keepdims=1),
        helper.make_node("GlobalAveragePool", ["x"], ["gap"], name="gap"),
    ]
    graph = helper.make_graph(nodes, "reductions", [x], outs,
                              [numpy_helper.from_array(np.array([3], dtype=np.int64), "axes"),
                               numpy_helper.from_array(np.array([1, 3], dtype=np.int64), "axes_spread")])
    save(graph, "reductions.onnx", {"x": rng.normal(size=(2, 3, 4, 4))})

    # Convolutions: asymmetric pads, strides and dilations; then a grouped one with every
    # optional attribute omitted after auto_pad=SAME_UPPER, and a bias-free 1-D one, batch 2.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 7, 6])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 6, 4, 3])
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv_pads", pads=[1, 0, 2, 1],
                         strides=[2, 1], dilations=[1, 2]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["out"], name="conv_groups", group=2,
                         auto_pad="SAME_UPPER", kernel_shape=[3, 3]),
    ]
    graph = helper.make_graph(nodes, "conv2d", [x], [out], [
        init("w1", rng.normal(size=(4, 3, 3, 3)) * 0.3), init("b1", rng.normal(size=(4,)) * 0.1),
        init("w2", rng.normal(size=(6, 2, 3, 3)) * 0.3), init("b2", rng.normal(size=(6,)) * 0.1)])
    save(graph, "conv2d.onnx", {"x": rng.normal(size=(1, 3, 7, 6))})

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2, 9])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 3, 4])
    nodes = [helper.make_node("Conv", ["x", "w"], ["out"], name="conv1d", strides=[2], pads=[1, 1])]
    graph = helper.make_graph(nodes, "conv1d", [x], [out], [init("w", rng.normal(size=(3, 2, 4)) * 0.4)])
    save(graph, "conv1d.onnx", {"x": rng.normal(size=(2, 2, 9))})

    # Pooling: MaxPool with pads and ceil_mode, AveragePool with pads counted and not.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in
            [("max", [1, 2, 3, 3]), ("avg_pad", [1, 2, 3, 3]), ("avg_nopad", [1, 2, 3, 3])]]
    nodes = [
        helper.make_node("MaxPool", ["x"], ["max"], name="maxpool", kernel_shape=[3, 3], pads=[1, 1, 0, 0],
                         strides=[2, 2], ceil_mode=1),
        helper.make_node("AveragePool", ["x"], ["avg_pad"], name="avgpool_pad", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[2, 2], count_include_pad=1),
        helper.make_node("AveragePool", ["x"], ["avg_nopad"], name="avgpool_nopad", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[2, 2]),
    ]
    save(helper.make_graph(nodes, "pooling", [x], outs), "pooling.onnx", {"x": rng.normal(size=(1, 2, 5, 5)) - 1.0})

    # A convolution whose weights and bias are runtime inputs, depthwise (group = channels).
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 4]),
           helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 1, 2, 2]),
           helper.make_tensor_value_info("b", TensorProto.FLOAT, [2])]
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 2, 5, 4])
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["out"], name="conv_runtime", group=2,
                              auto_pad="SAME_LOWER")]
    save(helper.make_graph(nodes, "conv_runtime_weights", ins, [out]), "conv_runtime_weights.onnx",
         {"x": rng.normal(size=(1, 2, 5, 4)), "w": rng.normal(size=(2, 1, 2, 2)) * 0.5, "b": rng.normal(size=(2,))})

    # Data movement, integers and booleans, and the other nonlinearities in one graph: a Reshape
    # whose shape is a graph input (bound at compile time), Slice with a step, reflect Pad,
    # Concat, Gather by runtime int64 indices, Greater/Where, Exp, Log, Sqrt, a runtime Div,
    # ArgMax (an int64 output), a Cast of a comparison, and a Cast float -> int64 (truncation
    # toward zero).
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6]),
           helper.make_tensor_value_info("idx", TensorProto.INT64, [3]),
           helper.make_tensor_value_info("shape", TensorProto.INT64, [2])]
    outs = [helper.make_tensor_value_info("ratio", TensorProto.FLOAT, [3, 4]),
            helper.make_tensor_value_info("winner", TensorProto.INT64, [3]),
            helper.make_tensor_value_info("grown", TensorProto.FLOAT, [3, 4]),
            helper.make_tensor_value_info("negative", TensorProto.FLOAT, [3, 4]),
            helper.make_tensor_value_info("truncated", TensorProto.INT64, [3, 4])]
    ints = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"], name="reshape"),
        helper.make_node("Slice", ["r", "starts", "ends", "axes", "steps"], ["s"], name="slice"),
        helper.make_node("Pad", ["s", "pads"], ["p"], name="pad", mode="reflect"),
        helper.make_node("Concat", ["r", "p"], ["c"], name="concat", axis=0),
        helper.make_node("Gather", ["c", "idx"], ["g"], name="gather", axis=0),
        helper.make_node("Greater", ["g", "zero"], ["pos"], name="greater"),
        helper.make_node("Neg", ["g"], ["ng"], name="neg"),
        helper.make_node("Where", ["pos", "g", "ng"], ["a"], name="where"),
        helper.make_node("Mul", ["a", "half"], ["ah"], name="halve"),
        helper.make_node("Exp", ["ah"], ["grown"], name="exp"),
        helper.make_node("Add", ["a", "one"], ["a1"], name="add_one"),
        helper.make_node("Log", ["a1"], ["l"], name="log"),
        helper.make_node("Sqrt", ["a"], ["q"], name="sqrt"),
        helper.make_node("Add", ["q", "one"], ["q1"], name="add_one_again"),
        helper.make_node("Div", ["l", "q1"], ["ratio"], name="div"),
        helper.make_node("ArgMax", ["ratio"], ["winner"], name="argmax", axis=1, keepdims=0),
        helper.make_node("Less", ["g", "zero"], ["neg_b"], name="less"),
        helper.make_node("Cast", ["neg_b"], ["negative"], name="cast", to=TensorProto.FLOAT),
        helper.make_node("Mul", ["g", "scale"], ["gs"], name="spread"),
        helper.make_node("Cast", ["gs"], ["truncated"], name="truncate", to=TensorProto.INT64),
    ]
    inits = [ints("starts", [0]), ints("ends", [4]), ints("axes", [1]), ints("steps", [2]),
             ints("pads", [0, 1, 0, 1]), init("zero", np.array(0.0)), init("half", np.array(0.5)),
             init("one", np.array(1.0)), init("scale", np.array(2.5))]
    save(helper.make_graph(nodes, "ops_mixed", ins, outs, inits), "ops_mixed.onnx",
         {"x": rng.normal(size=(2, 6)), "idx": np.array([4, 0, -1]), "shape": np.array([3, 4])},
         bound=("shape",))

    # ai.onnx.ml tree ensembles in the forms skl2onnx never writes: MAX, MIN and AVERAGE
    # aggregates with base values, BRANCH_LT/GTE/EQ modes, the `_as_tensor` attributes of
    # ai.onnx.ml opset 3, a binary classifier with one class's weights under LOGISTIC, and a
    # three-class one whose leaves leave some classes at 0, under SOFTMAX_ZERO.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 3])
    outs = [helper.make_tensor_value_info("max", TensorProto.FLOAT, [5, 2]),
            helper.make_tensor_value_info("min", TensorProto.FLOAT, [5, 2]),
            helper.make_tensor_value_info("avg", TensorProto.FLOAT, [5, 2]),
            helper.make_tensor_value_info("label", TensorProto.INT64, [5]),
            helper.make_tensor_value_info("proba", TensorProto.FLOAT, [5, 2]),
            helper.make_tensor_value_info("label3", TensorProto.INT64, [5]),
            helper.make_tensor_value_info("proba3", TensorProto.FLOAT, [5, 3])]
    # Two trees: tree 0 splits on x0 < 0.2 then x2 >= -0.5; tree 1 on x1 == 1.0 (never, for
    # random inputs) else x0 >= 1.0.
    trees = dict(
        nodes_treeids=[0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
        nodes_nodeids=[0, 1, 2, 3, 4, 0, 1, 2, 3, 4],
        nodes_featureids=[0, 2, 0, 0, 0, 1, 0, 0, 0, 0],
        nodes_modes=["BRANCH_LT", "BRANCH_GTE", "LEAF", "LEAF", "LEAF",
                     "BRANCH_EQ", "LEAF", "BRANCH_GTE", "LEAF", "LEAF"],
        nodes_truenodeids=[1, 3, 0, 0, 0, 1, 0, 3, 0, 0],
        nodes_falsenodeids=[2, 4, 0, 0, 0, 2, 0, 4, 0, 0],
    )
    values = [0.2, -0.5, 0, 0, 0, 1.0, 0, 1.0, 0, 0]
    leaves = [(0, 2), (0, 3), (0, 4), (1, 1), (1, 3), (1, 4)]
    weights = {(0, 2): (1.0, -2.0), (0, 3): (0.5, 3.0), (0, 4): (-1.5, 0.25),
               (1, 1): (9.0, 9.0), (1, 3): (2.0, -1.0), (1, 4): (-0.75, 1.5)}
    target = dict(
        target_treeids=[t for t, _ in leaves for _ in (0, 1)],
        target_nodeids=[n for _, n in leaves for _ in (0, 1)],
        target_ids=[c for _ in leaves for c in (0, 1)],
    )
    w = [weights[k][c] for k in leaves for c in (0, 1)]
    as_tensor = lambda name, v: helper.make_tensor(name, TensorProto.FLOAT, [len(v)], v)
    nodes = [
        helper.make_node("TreeEnsembleRegressor", ["x"], ["max"], name="trees_max", domain="ai.onnx.ml",
                         n_targets=2, aggregate_function="MAX", base_values=[0.5, -0.5], nodes_values=values,
                         target_weights=w, **trees, **target),
        helper.make_node("TreeEnsembleRegressor", ["x"], ["min"], name="trees_min", domain="ai.onnx.ml",
                         n_targets=2, aggregate_function="MIN",
                         nodes_values_as_tensor=as_tensor("nodes_values_as_tensor", values),
                         target_weights_as_tensor=as_tensor("target_weights_as_tensor", w), **trees, **target),
        helper.make_node("TreeEnsembleRegressor", ["x"], ["avg"], name="trees_avg", domain="ai.onnx.ml",
                         n_targets=2, aggregate_function="AVERAGE", nodes_values=values, target_weights=w,
                         **trees, **target),
        helper.make_node("TreeEnsembleClassifier", ["x"], ["label", "proba"], name="trees_binary",
                         domain="ai.onnx.ml", classlabels_int64s=[0, 1], post_transform="LOGISTIC",
                         nodes_values=values, base_values=[-0.25],
                         class_treeids=[t for t, _ in leaves], class_nodeids=[n for _, n in leaves],
                         class_ids=[0] * len(leaves), class_weights=[weights[k][0] for k in leaves], **trees),
        helper.make_node("TreeEnsembleClassifier", ["x"], ["label3", "proba3"], name="trees_three",
                         domain="ai.onnx.ml", classlabels_int64s=[10, 20, 30], post_transform="SOFTMAX_ZERO",
                         nodes_values=values,
                         class_treeids=[t for t, _ in leaves for _ in (0, 1)],
                         class_nodeids=[n for _, n in leaves for _ in (0, 1)],
                         class_ids=[(i + c) % 3 for i, _ in enumerate(leaves) for c in (0, 1)],
                         class_weights=[weights[k][c] for k in leaves for c in (0, 1)], **trees),
    ]
    model = helper.make_model(helper.make_graph(nodes, "trees_spec", [x], outs),
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(MODELS, "trees_spec.onnx")
    onnx.save(model, path)
    write_io(path, {"x": rng.normal(size=(5, 3))})


def activation_models():
    """One model per family of activations that exporters write (opset 20: Gelu, Mish), on
    inputs that reach far into every table's tails."""
    rng = np.random.default_rng(11)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 24])
    specs = [
        ("softplus", "Softplus", {}),
        ("elu", "Elu", {"alpha": 0.7}),
        ("selu", "Selu", {}),
        ("celu", "Celu", {"alpha": 1.5}),
        ("mish", "Mish", {}),
        ("gelu", "Gelu", {}),
        ("gelu_tanh", "Gelu", {"approximate": "tanh"}),
        ("hard_swish", "HardSwish", {}),
        ("hard_sigmoid", "HardSigmoid", {"alpha": 0.3, "beta": 0.4}),
        ("softsign", "Softsign", {}),
        ("thresholded_relu", "ThresholdedRelu", {"alpha": 0.5}),
        ("log_softmax", "LogSoftmax", {"axis": -1}),
    ]
    nodes = [helper.make_node(op, ["x"], [name], name=name, **attrs) for name, op, attrs in specs]
    # PRelu with a slope per channel, and SiLU written as x · sigmoid(x) (tract fuses it).
    nodes.append(helper.make_node("PRelu", ["x", "slope"], ["prelu"], name="prelu"))
    nodes.append(helper.make_node("Sigmoid", ["x"], ["sig"], name="sigmoid"))
    nodes.append(helper.make_node("Mul", ["x", "sig"], ["silu"], name="silu"))
    names = [n for n, _, _ in specs] + ["prelu", "silu"]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 24]) for n in names]
    slope = numpy_helper.from_array(rng.uniform(-0.5, 0.5, size=(24,)).astype(np.float32), "slope")
    graph = helper.make_graph(nodes, "activations", [x], outs, [slope])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    path = os.path.join(MODELS, "activations.onnx")
    onnx.save(model, path)
    xs = rng.normal(size=(2, 24)) * 4.0
    xs[0, :6] = [-20.0, -12.5, -3.0, 3.0, 12.5, 20.0]
    write_io(path, {"x": xs})


def preprocessing_models():
    """A scikit-learn-style pipeline as onnxmltools writes it: ai.onnx.ml only (no default-domain
    opset imported), IR version 4: Scaler with per-feature offsets and scales, a
    LinearRegressor, and a Binarizer."""
    rng = np.random.default_rng(13)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 2])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [3, 4])
    nodes = [
        helper.make_node("Scaler", ["x"], ["scaled"], name="scaler", domain="ai.onnx.ml",
                         offset=rng.normal(size=4).tolist(), scale=rng.uniform(0.5, 2.0, size=4).tolist()),
        helper.make_node("LinearRegressor", ["scaled"], ["y"], name="regressor", domain="ai.onnx.ml",
                         coefficients=rng.normal(size=8).tolist(), intercepts=[0.5, -1.0], targets=2),
        helper.make_node("Binarizer", ["scaled"], ["b"], name="binarizer", domain="ai.onnx.ml",
                         threshold=0.25),
    ]
    model = helper.make_model(helper.make_graph(nodes, "scaler_pipeline", [x], [y, b]),
                              opset_imports=[helper.make_opsetid("ai.onnx.ml", 1)])
    model.ir_version = 4
    onnx.checker.check_model(model)
    path = os.path.join(MODELS, "scaler_pipeline.onnx")
    onnx.save(model, path)
    write_io(path, {"x": rng.normal(size=(3, 4)) * 2.0})


def separable_conv_model():
    """A MobileNet-style depthwise-separable block on one image (tract drops its batch axis):
    depthwise 3x3 with stride 2, BatchNormalization, ReLU6, pointwise 1x1, ReLU, global
    average pool, a classifier head and LogSoftmax."""
    rng = np.random.default_rng(17)
    f32 = lambda a, name: numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 9, 9])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])
    inits = [
        f32(rng.normal(size=(8, 1, 3, 3)) * 0.5, "dw"),
        f32(rng.uniform(0.5, 1.5, size=8), "bn_scale"), f32(rng.normal(size=8) * 0.1, "bn_bias"),
        f32(rng.normal(size=8) * 0.1, "bn_mean"), f32(rng.uniform(0.5, 1.5, size=8), "bn_var"),
        f32(0.0, "zero"), f32(6.0, "six"),
        f32(rng.normal(size=(12, 8, 1, 1)) * 0.4, "pw"), f32(rng.normal(size=12) * 0.1, "pw_b"),
        f32(rng.normal(size=(5, 12)) * 0.5, "fc_w"), f32(rng.normal(size=5) * 0.1, "fc_b"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "dw"], ["d"], name="depthwise", group=8, kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["d", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["bn"],
                         name="bn"),
        helper.make_node("Clip", ["bn", "zero", "six"], ["r6"], name="relu6"),
        helper.make_node("Conv", ["r6", "pw", "pw_b"], ["p"], name="pointwise", kernel_shape=[1, 1]),
        helper.make_node("Relu", ["p"], ["pr"], name="relu"),
        helper.make_node("GlobalAveragePool", ["pr"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
        helper.make_node("LogSoftmax", ["logits"], ["y"], name="log_softmax", axis=1),
    ]
    model = helper.make_model(helper.make_graph(nodes, "separable_conv", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(MODELS, "separable_conv.onnx")
    onnx.save(model, path)
    write_io(path, {"x": rng.normal(size=(1, 8, 9, 9))})


def rounding_model():
    """Floor, Ceil and Round (half to even) on ties, negatives and random values."""
    rng = np.random.default_rng(19)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])
    names = ["floor", "ceil", "round"]
    nodes = [helper.make_node(n.capitalize(), ["x"], [n], name=n) for n in names]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 8]) for n in names]
    model = helper.make_model(helper.make_graph(nodes, "rounding", [x], outs),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(MODELS, "rounding.onnx")
    onnx.save(model, path)
    xs = np.concatenate([[-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -3.0, 4.0], rng.normal(size=8) * 5.0])
    write_io(path, {"x": xs.reshape(2, 8)})


def more_ops_model():
    """Reductions tract expands into Cairn's ops (ReduceL1, ReduceL2, ReduceSumSquare,
    ReduceLogSum, ReduceLogSumExp), ArgMin with ties, Sign, variadic Mean and Max with
    multidirectional broadcasting, normalisations (InstanceNormalization,
    MeanVarianceNormalization, LpNormalization), GlobalMaxPool, Shrink, Dropout, Split and
    CumSum (inclusive, and exclusive reversed)."""
    rng = np.random.default_rng(23)
    f32 = lambda a, name: numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])
    outs = {
        "l1": [2, 1, 4], "l2": [2, 3], "sum_square": [2, 1, 1], "log_sum": [2, 4],
        "log_sum_exp": [2, 3, 1], "argmin": [2, 4], "sign": [2, 3, 4], "mean": [2, 3, 4],
        "max3": [2, 3, 4], "instance_norm": [2, 3, 4], "mvn": [2, 3, 4], "lp_norm": [2, 3, 4],
        "global_max": [2, 3, 1], "shrink": [2, 3, 4], "dropout": [2, 3, 4],
        "split_a": [2, 1, 4], "split_b": [2, 2, 4], "cumsum": [2, 3, 4], "cumsum_rev_excl": [2, 3, 4],
    }
    nodes = [
        helper.make_node("ReduceL1", ["x"], ["l1"], name="l1", axes=[1]),
        helper.make_node("ReduceL2", ["x"], ["l2"], name="l2", axes=[2], keepdims=0),
        helper.make_node("ReduceSumSquare", ["x"], ["sum_square"], name="sum_square", axes=[1, 2]),
        helper.make_node("Abs", ["x"], ["ax"], name="abs"),
        helper.make_node("ReduceLogSum", ["ax"], ["log_sum"], name="log_sum", axes=[1], keepdims=0),
        helper.make_node("ReduceLogSumExp", ["x"], ["log_sum_exp"], name="log_sum_exp", axes=[2]),
        helper.make_node("Round", ["x"], ["xr"], name="round"),
        helper.make_node("ArgMin", ["xr"], ["argmin"], name="argmin", axis=1, keepdims=0),
        helper.make_node("Sign", ["xr"], ["sign"], name="sign"),
        helper.make_node("Mean", ["x", "row", "col"], ["mean"], name="mean"),
        helper.make_node("Max", ["x", "row", "col"], ["max3"], name="max3"),
        helper.make_node("InstanceNormalization", ["x", "in_scale", "in_bias"], ["instance_norm"],
                         name="instance_norm", epsilon=1e-3),
        helper.make_node("MeanVarianceNormalization", ["x"], ["mvn"], name="mvn", axes=[0, 2]),
        helper.make_node("LpNormalization", ["x"], ["lp_norm"], name="lp_norm", axis=-1, p=2),
        helper.make_node("Reshape", ["x", "shape4"], ["x4"], name="to_4d"),
        helper.make_node("GlobalMaxPool", ["x4"], ["gm4"], name="global_max_pool"),
        helper.make_node("Reshape", ["gm4", "shape3"], ["global_max"], name="from_4d"),
        helper.make_node("Shrink", ["x"], ["shrink"], name="shrink", lambd=0.7, bias=0.2),
        helper.make_node("Dropout", ["x"], ["dropout"], name="dropout"),
        helper.make_node("Split", ["x", "split_sizes"], ["split_a", "split_b"], name="split", axis=1),
        helper.make_node("CumSum", ["x", "axis2"], ["cumsum"], name="cumsum"),
        helper.make_node("CumSum", ["x", "axis1"], ["cumsum_rev_excl"], name="cumsum_rev_excl",
                         exclusive=1, reverse=1),
    ]
    inits = [
        f32(rng.normal(size=(4,)), "row"), f32(rng.normal(size=(3, 1)), "col"),
        f32(rng.uniform(0.5, 1.5, size=3), "in_scale"), f32(rng.normal(size=3) * 0.1, "in_bias"),
        numpy_helper.from_array(np.array([2, 3, 4, 1], dtype=np.int64), "shape4"),
        numpy_helper.from_array(np.array([2, 3, 1], dtype=np.int64), "shape3"),
        numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "split_sizes"),
        numpy_helper.from_array(np.array(-1, dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "axis1"),
    ]
    dtypes = {"argmin": TensorProto.INT64}
    outputs = [helper.make_tensor_value_info(n, dtypes.get(n, TensorProto.FLOAT), s) for n, s in outs.items()]
    model = helper.make_model(helper.make_graph(nodes, "more_ops", [x], outputs, inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(MODELS, "more_ops.onnx")
    onnx.save(model, path)
    xs = rng.normal(size=(2, 3, 4)) * 2.0
    xs[0, :, 0] = [1.0, 1.0, 3.0]  # a tie for ArgMin
    write_io(path, {"x": xs})


def einsum_model():
    """Einsum as JAX and TF converters write products (a weight contraction and Q·Kᵀ), and a
    Gemm whose C is a runtime input."""
    rng = np.random.default_rng(29)
    f32 = lambda a, name: numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])
    c = helper.make_tensor_value_info("c", TensorProto.FLOAT, [5])
    outs = [helper.make_tensor_value_info("proj", TensorProto.FLOAT, [2, 3, 5]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [2, 3, 3]),
            helper.make_tensor_value_info("gemm", TensorProto.FLOAT, [3, 5])]
    nodes = [
        helper.make_node("Einsum", ["x", "w"], ["proj"], name="proj", equation="bij,jk->bik"),
        helper.make_node("Einsum", ["x", "x"], ["scores"], name="scores", equation="bqd,bkd->bqk"),
        helper.make_node("Gather", ["x", "zero"], ["x0"], name="first", axis=0),
        helper.make_node("Gemm", ["x0", "w", "c"], ["gemm"], name="gemm", alpha=0.5, beta=2.0),
    ]
    inits = [f32(rng.normal(size=(4, 5)), "w"),
             numpy_helper.from_array(np.array(0, dtype=np.int64), "zero")]
    model = helper.make_model(helper.make_graph(nodes, "einsum", [x, c], outs, inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(MODELS, "einsum.onnx")
    onnx.save(model, path)
    write_io(path, {"x": rng.normal(size=(2, 3, 4)), "c": rng.normal(size=(5,))})


def bool_input_model():
    """A boolean input: Where between x and -x, and Not of the condition as an output."""
    rng = np.random.default_rng(31)
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [2, 3])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    n = helper.make_tensor_value_info("not_cond", TensorProto.BOOL, [2, 3])
    nodes = [helper.make_node("Neg", ["x"], ["nx"], name="neg"),
             helper.make_node("Where", ["cond", "x", "nx"], ["y"], name="where"),
             helper.make_node("Not", ["cond"], ["not_cond"], name="not")]
    model = helper.make_model(helper.make_graph(nodes, "bool_input", [cond, x], [y, n]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(MODELS, "bool_input.onnx")
    onnx.save(model, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {"cond": np.array([[True, False, True], [False, False, True]]),
             "x": rng.normal(size=(2, 3)).astype(np.float32)}
    outs = sess.run(None, feeds)
    with open(path[:-len(".onnx")] + ".input.json", "w") as f:
        json.dump({"cond": feeds["cond"].astype(int).tolist(), "x": feeds["x"].tolist()}, f)
        f.write("\n")
    with open(path[:-len(".onnx")] + ".expected.json", "w") as f:
        json.dump({o.name: v.astype(float).tolist() for o, v in zip(sess.get_outputs(), outs)}, f)
        f.write("\n")


def recurrent_model():
    """LSTM, GRU and RNN as exporters write them, and an ONNX Scan: a forward LSTM with biases,
    initial states and peepholes; a bidirectional GRU with linear_before_reset (PyTorch's form,
    which tract fuses); a GRU without it (onnxruntime has no batch-first recurrences: the conformance cases cover layout = 1); a reverse RNN; a Scan running sum."""
    rng = np.random.default_rng(37)
    seq, batch, inp, hid = 4, 2, 3, 4
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [seq, batch, inp])

    def t(name, *shape):
        a = numpy_helper.from_array(rng.normal(scale=0.5, size=shape).astype(np.float32), name)
        return a

    inits = [
        t("lstm_w", 1, 4 * hid, inp), t("lstm_r", 1, 4 * hid, hid), t("lstm_b", 1, 8 * hid),
        t("lstm_h0", 1, batch, hid), t("lstm_c0", 1, batch, hid), t("lstm_p", 1, 3 * hid),
        t("gru_w", 2, 3 * hid, inp), t("gru_r", 2, 3 * hid, hid), t("gru_b", 2, 6 * hid),
        t("grub_w", 1, 3 * hid, inp), t("grub_r", 1, 3 * hid, hid),
        t("rnn_w", 1, hid, inp), t("rnn_r", 1, hid, hid), t("rnn_b", 1, 2 * hid),
        numpy_helper.from_array(np.zeros((batch, inp), dtype=np.float32), "scan_init"),
    ]
    # The Scan body: s' = s + x_t, and y_t = s' * x_t.
    s_in = helper.make_tensor_value_info("s_in", TensorProto.FLOAT, [batch, inp])
    x_t = helper.make_tensor_value_info("x_t", TensorProto.FLOAT, [batch, inp])
    s_out = helper.make_tensor_value_info("s_out", TensorProto.FLOAT, [batch, inp])
    y_t = helper.make_tensor_value_info("y_t", TensorProto.FLOAT, [batch, inp])
    body = helper.make_graph([helper.make_node("Add", ["s_in", "x_t"], ["s_out"]),
                              helper.make_node("Mul", ["s_out", "x_t"], ["y_t"])],
                             "scan_body", [s_in, x_t], [s_out, y_t])
    nodes = [
        helper.make_node("LSTM", ["x", "lstm_w", "lstm_r", "lstm_b", "", "lstm_h0", "lstm_c0",
                                  "lstm_p"], ["lstm_y", "lstm_yh", "lstm_yc"],
                         name="lstm", hidden_size=hid),
        helper.make_node("GRU", ["x", "gru_w", "gru_r", "gru_b"], ["gru_y", "gru_yh"], name="gru",
                         hidden_size=hid, direction="bidirectional", linear_before_reset=1),
        helper.make_node("GRU", ["x", "grub_w", "grub_r"], ["grub_y", ""], name="gru_reset_first",
                         hidden_size=hid),
        helper.make_node("RNN", ["x", "rnn_w", "rnn_r", "rnn_b"], ["rnn_y", "rnn_yh"], name="rnn",
                         hidden_size=hid, direction="reverse"),
        helper.make_node("Scan", ["scan_init", "x"], ["scan_s", "scan_y"], name="scan",
                         num_scan_inputs=1, body=body),
    ]
    shapes = {"lstm_y": [seq, 1, batch, hid], "lstm_yh": [1, batch, hid], "lstm_yc": [1, batch, hid],
              "gru_y": [seq, 2, batch, hid], "gru_yh": [2, batch, hid], "grub_y": [seq, 1, batch, hid],
              "rnn_y": [seq, 1, batch, hid], "rnn_yh": [1, batch, hid], "scan_s": [batch, inp],
              "scan_y": [seq, batch, inp]}
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in shapes.items()]
    model = helper.make_model(helper.make_graph(nodes, "recurrent", [x], outs, inits),
                              opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    path = os.path.join(MODELS, "recurrent.onnx")
    onnx.save(model, path)
    write_io(path, {"x": rng.normal(size=(seq, batch, inp))})


def resampling_model():
    """An upsampling decoder's ops (opset 21): ConvTranspose with strides, pads, output_padding,
    dilations and groups; Resize by scales and by sizes in nearest, linear and cubic modes with
    several coordinate transformations; GroupNormalization (per-channel scale, opset 21)."""
    rng = np.random.default_rng(41)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 3, 3])
    t = lambda name, a: numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)
    i64 = lambda name, a: numpy_helper.from_array(np.asarray(a, dtype=np.int64), name)
    inits = [
        t("deconv_w", rng.normal(scale=0.5, size=(4, 3, 3, 3))), t("deconv_b", rng.normal(size=3)),
        t("group_w", rng.normal(scale=0.5, size=(4, 2, 2, 2))),
        t("scales2", [1, 1, 2, 2]), t("scales_odd", [1, 1, 1.5, 2.5]), i64("sizes", [1, 4, 5, 7]),
        t("gn_scale", rng.normal(size=4)), t("gn_bias", rng.normal(size=4)),
    ]
    resize = lambda out, inputs, **kw: helper.make_node("Resize", ["x", ""] + inputs, [out], name=out, **kw)
    nodes = [
        helper.make_node("ConvTranspose", ["x", "deconv_w", "deconv_b"], ["deconv"], name="deconv",
                         strides=[2, 2], pads=[1, 0, 1, 1], output_padding=[1, 0]),
        helper.make_node("ConvTranspose", ["x", "group_w"], ["deconv_grouped"], name="deconv_grouped",
                         group=2, dilations=[2, 1], strides=[1, 2]),
        resize("nearest", ["scales2"], mode="nearest"),
        resize("nearest_ceil", ["scales_odd"], mode="nearest", nearest_mode="ceil",
               coordinate_transformation_mode="half_pixel"),
        resize("linear", ["scales_odd"], mode="linear", coordinate_transformation_mode="half_pixel"),
        resize("linear_corners", ["", "sizes"], mode="linear", coordinate_transformation_mode="align_corners"),
        resize("cubic", ["scales2"], mode="cubic", cubic_coeff_a=-0.5, exclude_outside=1),
        resize("pytorch_linear", ["", "sizes"], mode="linear",
               coordinate_transformation_mode="pytorch_half_pixel"),
        helper.make_node("GroupNormalization", ["x", "gn_scale", "gn_bias"], ["group_norm"],
                         name="group_norm", num_groups=2, epsilon=1e-3),
    ]
    shapes = {"deconv": [1, 3, 6, 6], "deconv_grouped": [1, 4, 5, 6], "nearest": [1, 4, 6, 6],
              "nearest_ceil": [1, 4, 4, 7], "linear": [1, 4, 4, 7], "linear_corners": [1, 4, 5, 7],
              "cubic": [1, 4, 6, 6], "pytorch_linear": [1, 4, 5, 7], "group_norm": [1, 4, 3, 3]}
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in shapes.items()]
    model = helper.make_model(helper.make_graph(nodes, "resampling", [x], outs, inits),
                              opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(MODELS, "resampling.onnx")
    onnx.save(model, path)
    write_io(path, {"x": rng.normal(size=(1, 4, 3, 3))})


def integer_ops_model():
    """Mod in both modes (integers with the divisor's sign, floats with C's fmod), ReduceProd on
    integers and floats, with negative operands, and TopK (largest with ties, smallest)."""
    rng = np.random.default_rng(43)
    a = helper.make_tensor_value_info("a", TensorProto.INT64, [2, 4])
    b = helper.make_tensor_value_info("b", TensorProto.INT64, [2, 4])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    inits = [numpy_helper.from_array(np.array([1.5, -0.75, 2.0], dtype=np.float32), "divisor"),
             numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
             numpy_helper.from_array(np.array([3], dtype=np.int64), "k3"),
             numpy_helper.from_array(np.array([2], dtype=np.int64), "k2")]
    nodes = [
        helper.make_node("Mod", ["a", "b"], ["mod_int"], name="mod_int"),
        helper.make_node("Mod", ["a", "b"], ["fmod_int"], name="fmod_int", fmod=1),
        helper.make_node("Mod", ["x", "divisor"], ["fmod_float"], name="fmod_float", fmod=1),
        helper.make_node("ReduceProd", ["a", "axis1"], ["prod_int"], name="prod_int", keepdims=0),
        helper.make_node("ReduceProd", ["x"], ["prod_all"], name="prod_all"),
        helper.make_node("TopK", ["a", "k3"], ["top_values", "top_indices"], name="topk_ties"),
        helper.make_node("TopK", ["x", "k2"], ["low_values", "low_indices"], name="topk_smallest",
                         axis=0, largest=0),
    ]
    outs = [helper.make_tensor_value_info("mod_int", TensorProto.INT64, [2, 4]),
            helper.make_tensor_value_info("fmod_int", TensorProto.INT64, [2, 4]),
            helper.make_tensor_value_info("fmod_float", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("prod_int", TensorProto.INT64, [2]),
            helper.make_tensor_value_info("prod_all", TensorProto.FLOAT, [1, 1]),
            helper.make_tensor_value_info("top_values", TensorProto.INT64, [2, 3]),
            helper.make_tensor_value_info("top_indices", TensorProto.INT64, [2, 3]),
            helper.make_tensor_value_info("low_values", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("low_indices", TensorProto.INT64, [2, 3])]
    model = helper.make_model(helper.make_graph(nodes, "integer_ops", [a, b, x], outs, inits),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(MODELS, "integer_ops.onnx")
    onnx.save(model, path)
    write_io(path, {"a": np.array([[7, -7, 7, -7], [9, 0, -13, 5]]),
                    "b": np.array([[3, 3, -3, -3], [4, 5, 4, -2]]),
                    "x": np.array([[4.25, 1.3, -5.5], [-3.0, 0.5, 7.0]])})


if __name__ == "__main__":
    os.makedirs(MODELS, exist_ok=True)
    helper_models()
    activation_models()
    preprocessing_models()
    separable_conv_model()
    rounding_model()
    more_ops_model()
    einsum_model()
    bool_input_model()
    recurrent_model()
    resampling_model()
    integer_ops_model()
    if "--no-torch" not in sys.argv:
        torch_models()
    print("models written to", MODELS, "and", EXAMPLE)
