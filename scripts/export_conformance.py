#!/usr/bin/env python3
"""Writes ONNX's own backend node test cases to disk, for tests/conformance.rs.

    python3 scripts/export_conformance.py [OUT]     (default: .cairn/conformance)

Recent `onnx` wheels build these cases in memory from `onnx/backend/test/case/node`; this script
writes, for every case of the operators Cairn targets (OPS below), `OUT/<case>/model.onnx` and
`OUT/<case>/data_<i>.json` with the inputs and expected outputs of each data set
({"inputs": {name: {"dtype", "shape", "data"}}, "outputs": {...}}). The cases are ONNX's, not
ours: they are regenerated from the installed package and never committed.
"""
import json
import os
import sys
import warnings

import numpy as np
import onnx
from onnx.backend.test.case.node import collect_testcases

# The operators of Cairn's issues (ai.onnx domain); a case is exported when its graph uses one.
OPS = {
    "Gemm", "MatMul", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Relu", "LeakyRelu",
    "Sigmoid", "Tanh", "Softmax", "Exp", "Log", "Sqrt", "Erf", "Pow", "Add", "Sub", "Mul", "Div",
    "ReduceSum", "ReduceMean", "ReduceMax", "ArgMax", "Clip", "Flatten", "Reshape", "Transpose",
    "Concat", "Slice", "Gather", "Squeeze", "Unsqueeze", "Pad", "Where", "Greater", "Less", "Equal",
    "Cast", "BatchNormalization", "LayerNormalization", "Identity", "Constant", "Shape",
    "ConstantOfShape", "Neg", "Abs", "Max", "Min",
}


def tensor(a):
    a = np.asarray(a)
    if a.dtype == object:
        raise TypeError("object arrays (strings, sequences) are not exported")
    data = a.astype(np.float64).ravel().tolist() if a.dtype.kind == "f" else a.ravel().tolist()
    return {"dtype": str(a.dtype), "shape": list(a.shape), "data": data}


def main():
    warnings.filterwarnings("ignore")  # ONNX's generators overflow casts on purpose
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".cairn", "conformance")
    os.makedirs(out, exist_ok=True)
    written = skipped = 0
    for case in collect_testcases(None):
        # Constant alone does not make a case ours: many cases of other operators use it.
        if case.model is None or not any(n.op_type in OPS - {"Constant"} for n in case.model.graph.node):
            continue
        try:
            sets = []
            for inputs, outputs in case.data_sets:
                names_in = [i.name for i in case.model.graph.input]
                names_out = [o.name for o in case.model.graph.output]
                sets.append({
                    "inputs": {n: tensor(v) for n, v in zip(names_in, inputs)},
                    "outputs": {n: tensor(v) for n, v in zip(names_out, outputs)},
                })
        except (TypeError, ValueError):
            skipped += 1
            continue
        d = os.path.join(out, case.name)
        os.makedirs(d, exist_ok=True)
        onnx.save(case.model, os.path.join(d, "model.onnx"))
        for i, s in enumerate(sets):
            with open(os.path.join(d, f"data_{i}.json"), "w") as f:
                json.dump(s, f)
        written += 1
    print(f"wrote {written} cases to {out} ({skipped} with non-tensor data skipped)")


if __name__ == "__main__":
    main()
