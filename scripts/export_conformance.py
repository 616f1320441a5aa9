#!/usr/bin/env python3
"""Writes ONNX's own backend node test cases to disk, for tests/conformance.rs.

    python3 scripts/export_conformance.py [OUT]     (default: .cairn/conformance)

Recent `onnx` wheels build these cases in memory from `onnx/backend/test/case/node`; this script
writes, for every node case of both domains, `OUT/<case>/model.onnx` and
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
import onnx.numpy_helper
from onnx.backend.test.case.node import collect_testcases

# Every node case of both domains (ai.onnx and ai.onnx.ml) that the installed `onnx` package
# builds is exported: the manifest records, for each, `pass` or why not. A function's
# `_expanded` cases are kept beside the case they expand.

def tensor(a):
    if isinstance(a, onnx.TensorProto):
        a = onnx.numpy_helper.to_array(a)
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{a.dtype} data is not exported")
    if a.dtype.kind == "f":
        # JSON has no NaN or infinity: they are written as the strings "nan", "inf", "-inf".
        data = [x if np.isfinite(x) else str(x) for x in a.astype(np.float64).ravel().tolist()]
    else:
        data = a.ravel().tolist()
    return {"dtype": str(a.dtype), "shape": list(a.shape), "data": data}


def main():
    warnings.filterwarnings("ignore")  # ONNX's generators overflow casts on purpose
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".cairn", "conformance")
    os.makedirs(out, exist_ok=True)
    written, skipped = 0, []
    cases = [c for c in collect_testcases(None) if c.model is not None]
    for case in cases:
        try:
            sets = []
            for inputs, outputs in case.data_sets:
                names_in = [i.name for i in case.model.graph.input]
                names_out = [o.name for o in case.model.graph.output]
                sets.append({
                    "inputs": {n: tensor(v) for n, v in zip(names_in, inputs)},
                    "outputs": {n: tensor(v) for n, v in zip(names_out, outputs)},
                })
        except (TypeError, ValueError) as e:
            skipped.append({"case": case.name, "reason": str(e)})
            continue
        d = os.path.join(out, case.name)
        os.makedirs(d, exist_ok=True)
        onnx.save(case.model, os.path.join(d, "model.onnx"))
        for i, s in enumerate(sets):
            with open(os.path.join(d, f"data_{i}.json"), "w") as f:
                json.dump(s, f)
        written += 1
    # Cases whose data cannot be written as tensors still count: the test lists them as failing.
    with open(os.path.join(out, "skipped.json"), "w") as f:
        json.dump(skipped, f, indent=1)
    print(f"wrote {written} cases to {out} ({len(skipped)} with data that is not numeric tensors: skipped.json)")


if __name__ == "__main__":
    main()
