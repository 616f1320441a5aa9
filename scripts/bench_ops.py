#!/usr/bin/env python3
"""Cairo steps per element of every op family, and steps and proving cost per zoo model.

    python3 scripts/bench_ops.py [--record] [--no-zoo]

Each op family runs as a one-node ONNX model over N elements; its steps, less those of a
baseline model with the same inputs and output size that only moves data (input checks,
hashing, the output), divided by N, are the family's steps per element (per multiply-add for
products by weights, per input element for reductions). Steps
are exact counts from the Cairo VM, so the table is machine-independent. The zoo part compiles,
runs, proves and verifies every model of tests/zoo/ and records steps, proof time and size.
With --record the tables go to scripts/bench-ops-results.md.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = 256


def cairn():
    subprocess.run(["cargo", "build", "--bin", "cairn"], cwd=ROOT, check=True, capture_output=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "debug", "cairn")


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    summary = json.loads(last)
    if not summary.get("ok", True) or out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {summary.get('error', out.stderr[-500:])}")
    return summary


def one_node(work, name, op, attrs=None, x_range=(-3.0, 3.0), extra=None, shape=(1, N), out_shape=None,
             out_type=TensorProto.FLOAT, second=None):
    """A model `y = op(x[, second])`; returns (model path, input path)."""
    rng = np.random.default_rng(0)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    ins, inputs, inits = [x], {"x": rng.uniform(*x_range, size=shape)}, []
    names = ["x"]
    if second is not None:
        kind, value = second
        if kind == "input":
            ins.append(helper.make_tensor_value_info("b", TensorProto.FLOAT, list(value.shape)))
            inputs["b"] = value
        else:
            inits.append(numpy_helper.from_array(value.astype(np.float32), "b"))
        names.append("b")
    names += extra or []
    y = helper.make_tensor_value_info("y", out_type, list(out_shape or shape))
    node = helper.make_node(op, names, ["y"], **(attrs or {}))
    graph = helper.make_graph([node], name, ins, [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(work, name + ".onnx")
    onnx.save(model, path)
    ipath = os.path.join(work, name + ".input.json")
    with open(ipath, "w") as f:
        json.dump({k: v.tolist() for k, v in inputs.items()}, f)
    return path, ipath


def steps(bin_, work, model, inp):
    out = os.path.join(work, os.path.basename(model) + ".out")
    run([bin_, "compile", model, "-o", out, "--json"])
    return run([bin_, "run", out, "--input", inp, "--json"])["steps"]


def op_table(bin_, work):
    rng = np.random.default_rng(1)
    cases = [
        # (family, op, kwargs, elements the steps are divided by)
        ("Relu", "Relu", {}, N),
        ("LeakyRelu", "LeakyRelu", {"attrs": {"alpha": 0.1}}, N),
        ("Sigmoid (table)", "Sigmoid", {}, N),
        ("Tanh (table)", "Tanh", {}, N),
        ("Erf (table)", "Erf", {}, N),
        ("Exp (table)", "Exp", {}, N),
        ("Log (mantissa table)", "Log", {"x_range": (0.01, 50.0)}, N),
        ("Sqrt (integer root)", "Sqrt", {"x_range": (0.0, 50.0)}, N),
        ("Softmax (per element)", "Softmax", {"attrs": {"axis": 1}}, N),
        ("Add (runtime operands)", "Add", {"second": ("input", rng.normal(size=(1, N)))}, N),
        ("Mul (runtime operands)", "Mul", {"second": ("input", rng.normal(size=(1, N)))}, N),
        ("Div (runtime divisor)", "Div", {"second": ("input", rng.uniform(0.5, 2, size=(1, N)))}, N),
        ("Greater", "Greater", {"second": ("input", rng.normal(size=(1, N))), "out_type": TensorProto.BOOL}, N),
        ("Max (runtime operands)", "Max", {"second": ("input", rng.normal(size=(1, N)))}, N),
        ("ReduceSum (per input element)", "ReduceSum", {"attrs": {"keepdims": 1}, "out_shape": (1, 1)}, N),
        ("ReduceMax (per input element)", "ReduceMax", {"attrs": {"axes": [1], "keepdims": 1}, "out_shape": (1, 1)}, N),
        ("ArgMax (per input element)", "ArgMax", {"attrs": {"axis": 1}, "out_shape": (1, 1),
                                                  "out_type": TensorProto.INT64}, N),
        ("Transpose (per element)", "Transpose", {"attrs": {"perm": [1, 0]}, "out_shape": (N, 1)}, N),
        ("MatMul by weights (per multiply-add)", "MatMul",
         {"second": ("const", rng.normal(size=(N, 16)) * 0.1), "out_shape": (1, 16)}, N * 16),
    ]
    baselines = {}

    def baseline(kw):
        """Steps of a model with the same inputs and output size that only slices `x`."""
        out_shape = kw.get("out_shape", (1, N))
        second = kw.get("second") if kw.get("second", ("", None))[0] == "input" else None
        key = (out_shape, second is not None)
        if key not in baselines:
            ends = numpy_helper.from_array(np.array([out_shape[1]], dtype=np.int64), "ends")
            rows = numpy_helper.from_array(np.array(out_shape[0:1], dtype=np.int64), "rows")
            path, ipath = one_node(work, f"base_{len(baselines)}", "Slice", second=second,
                                   out_shape=out_shape if out_shape[0] == 1 else (1, N))
            m = onnx.load(path)
            node = m.graph.node[0]
            del node.input[1:]
            node.input.extend(["zero", "ends", "one"])
            m.graph.initializer.extend([numpy_helper.from_array(np.array([0], dtype=np.int64), "zero"), ends,
                                        numpy_helper.from_array(np.array([1], dtype=np.int64), "one")])
            del rows
            if out_shape[0] != 1:  # the transpose's [N, 1]: the same element count
                m.graph.output[0].type.tensor_type.shape.dim[1].dim_value = N
            onnx.save(m, path)
            baselines[key] = steps(bin_, work, path, ipath)
        return baselines[key]

    rows = []
    for family, op, kw, count in cases:
        s = steps(bin_, work, *one_node(work, op.lower(), op, **kw))
        rows.append((family, s, (s - baseline(kw)) / count))
    lines = [f"Op families over {N} elements: steps less those of a model with the same inputs and output size "
             "that only slices the input, per element:", "",
             "| op family | steps | steps per element |", "|---|---:|---:|"]
    lines += [f"| {f} | {s} | {p:.1f} |" for f, s, p in rows]
    return "\n".join(lines)


def zoo_table(bin_, work):
    zoo = os.path.join(ROOT, "tests", "zoo")
    entries = json.load(open(os.path.join(zoo, "zoo.json")))
    lines = ["| zoo model | opset | Cairo steps | multiply-adds | max rel. error | prove (s) | proof (KB) | verify (s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for e in entries:
        name = e["name"]
        inp = os.path.join(zoo, name + ".input.json")
        data = json.load(open(inp))
        shapes = []
        for k, v in data.items():
            dims, a = [], v
            while isinstance(a, list):
                dims.append(len(a))
                a = a[0]
            shapes += ["--input-shape", f"{k}={','.join(map(str, dims))}"]
        out = os.path.join(work, "zoo_" + name)
        run([bin_, "compile", os.path.join(zoo, name + ".onnx"), "-o", out, "--json"] + shapes)
        r = run([bin_, "run", out, "--input", inp, "--json"])
        p = run([bin_, "prove", out, "--json"])
        v = run([bin_, "verify", out, "--json"])
        size = os.path.getsize(p["proof"]) / 1024
        lines.append(f"| {name} | {e['opset']} | {r['steps']} | {r['multiply_adds']} | {r['max_rel_error']:.1e} | "
                     f"{p['seconds']:.1f} | {size:.0f} | {v['seconds']:.2f} |")
    return "\n".join(lines)


def main():
    record = "--record" in sys.argv
    bin_ = cairn()
    with tempfile.TemporaryDirectory() as work:
        parts = [op_table(bin_, work)]
        if "--no-zoo" not in sys.argv:
            parts.append(zoo_table(bin_, work))
    text = "\n\n".join(parts)
    print(text)
    if record:
        with open(os.path.join(ROOT, "scripts", "bench-ops-results.md"), "w") as f:
            f.write("# Costs per op family and per zoo model\n\n")
            f.write(f"Recorded by `python3 scripts/bench_ops.py --record` on {time.strftime('%Y-%m-%d')} "
                    f"({os.cpu_count()} cores). Steps are exact VM counts; times are this machine's.\n\n")
            f.write(text + "\n")


if __name__ == "__main__":
    main()
