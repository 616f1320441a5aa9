#!/usr/bin/env python3
"""Builds Cairn's model zoo: ordinary models as their exporters write them, with inputs and
onnxruntime's outputs.

    pip install torch onnx onnxruntime onnxscript scikit-learn skl2onnx numpy
    python3 scripts/export_zoo.py                 # writes tests/zoo/

PyTorch modules are trained briefly on synthetic data and exported twice: with the TorchScript
exporter (opset 17, `NAME.onnx`) and with the dynamo exporter (opset 18, IR 10,
`NAME_dynamo.onnx`) when onnxscript is installed. scikit-learn models go through skl2onnx with
the `ai.onnx.ml` domain and classifier outputs without ZipMap. Everything is seeded; re-running
rewrites the same models. For each `NAME.onnx`, `NAME.input.json` holds the input Cairn runs and
`NAME.expected.json` onnxruntime's outputs: the independent record the zoo test checks against.
`tests/zoo/zoo.json` lists the models and which are small enough for the default test run.
"""
import json
import os
import warnings

import numpy as np
import onnx
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "tests", "zoo")
ENTRIES = []


def write_io(path, inputs, small, classifier):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {}
    for i in sess.get_inputs():
        dtype = np.int64 if "int64" in i.type else np.float32
        feeds[i.name] = inputs[i.name].astype(dtype)
    outs = sess.run(None, feeds)
    base = path[: -len(".onnx")]
    with open(base + ".input.json", "w") as f:
        json.dump({k: v.tolist() for k, v in feeds.items()}, f)
        f.write("\n")
    with open(base + ".expected.json", "w") as f:
        json.dump({o.name: np.asarray(v).tolist() for o, v in zip(sess.get_outputs(), outs)}, f)
        f.write("\n")
    m = onnx.load(path)
    ENTRIES.append({
        "name": os.path.basename(base),
        "small": small,
        # Classifiers: the winning class must be the reference's.
        "classifier": classifier,
        "opset": max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
        "domains": sorted({o.domain or "ai.onnx" for o in m.opset_import}),
        "ops": sorted({n.op_type for n in m.graph.node}),
    })


def torch_models():
    import torch
    from torch import nn

    torch.manual_seed(0)

    def train(model, x, y, loss_fn, steps=150):
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(steps):
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        return model.eval()

    def export(model, example, name, small, unfused=False, classifier=False):
        # `unfused`: keep BatchNormalization nodes (the exporters fold them into convolutions).
        path = os.path.join(ZOO, name + ".onnx")
        training = torch.onnx.TrainingMode.PRESERVE if unfused else torch.onnx.TrainingMode.EVAL
        torch.onnx.export(model, (example,), path, input_names=["input"], output_names=["output"],
                          opset_version=17, dynamo=False, training=training)
        onnx.checker.check_model(onnx.load(path))
        write_io(path, {"input": example.detach().numpy()}, small, classifier)
        try:
            import onnxscript  # noqa: F401  (the dynamo exporter needs it)
        except ImportError:
            print(f"onnxscript is not installed: no dynamo export of {name}")
            return
        path = os.path.join(ZOO, name + "_dynamo.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(model, (example,), input_names=["input"], output_names=["output"],
                                        opset_version=18, dynamo=True, external_data=False,
                                        optimize=not unfused)
        program.save(path)
        m = onnx.load(path)
        onnx.checker.check_model(m)
        write_io(path, {"input": example.detach().numpy()}, small, classifier)

    # MLP classifier: 16 -> 32 -> 32 -> 4.
    x = torch.randn(512, 16)
    y = (x[:, :4].argmax(dim=1))
    mlp = train(nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4)),
                x, y, nn.CrossEntropyLoss())
    export(mlp, torch.randn(1, 16), "mlp", True, classifier=True)

    # LeNet-style CNN on a 1x12x12 image: conv-relu-pool, conv-relu-pool, two dense layers.
    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(4, 8, 3), nn.ReLU(), nn.MaxPool2d(2))
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * 2 * 2, 16), nn.ReLU(), nn.Linear(16, 3))

        def forward(self, x):
            return self.head(self.features(x))

    x = torch.randn(128, 1, 12, 12)
    y = (x.mean(dim=(1, 2, 3)) > 0).long() + (x[:, :, :6].mean(dim=(1, 2, 3)) > 0).long()
    export(train(LeNet(), x, y, nn.CrossEntropyLoss(), steps=60), torch.randn(1, 1, 12, 12), "lenet", False,
           classifier=True)

    # Conv1d over a 2-channel sequence of 16: conv-relu-avgpool, dense.
    class Conv1dNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(), nn.AvgPool1d(2),
                                     nn.Flatten(), nn.Linear(4 * 8, 2))

        def forward(self, x):
            return self.net(x)

    x = torch.randn(128, 2, 16)
    export(train(Conv1dNet(), x, x.mean(dim=2), nn.MSELoss()), torch.randn(1, 2, 16), "conv1d", True)

    # Autoencoder with tanh and sigmoid: 12 -> 6 -> 3 -> 6 -> 12.
    x = torch.rand(256, 12)
    ae = nn.Sequential(nn.Linear(12, 6), nn.Tanh(), nn.Linear(6, 3), nn.Tanh(),
                       nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 12), nn.Sigmoid())
    export(train(ae, x, x, nn.MSELoss()), torch.rand(1, 12), "autoencoder", True)

    # A transformer block: LayerNorm, one softmax attention head, residual, LayerNorm, erf-GELU MLP.
    class Block(nn.Module):
        def __init__(self, d=8):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
            self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
            self.scale = d ** -0.5

        def forward(self, x):
            h = self.ln1(x)
            att = torch.softmax(self.q(h) @ self.k(h).transpose(-1, -2) * self.scale, dim=-1)
            x = x + self.o(att @ self.v(h))
            return x + self.mlp(self.ln2(x))

    x = torch.randn(64, 4, 8)
    export(train(Block(), x, x.roll(1, dims=1), nn.MSELoss(), steps=80), torch.randn(1, 4, 8), "transformer_block",
           False)

    # Residual CNN with BatchNormalization left unfused (trained, then exported in eval mode).
    class Residual(nn.Module):
        def __init__(self, c=4):
            super().__init__()
            self.stem = nn.Conv2d(1, c, 3, padding=1)
            self.c1, self.b1 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)
            self.c2, self.b2 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)
            self.head = nn.Linear(c, 2)

        def forward(self, x):
            x = torch.relu(self.stem(x))
            y = torch.relu(self.b1(self.c1(x)))
            x = torch.relu(x + self.b2(self.c2(y)))
            return self.head(x.mean(dim=(2, 3)))

    x = torch.randn(64, 1, 8, 8)
    res = train(Residual(), x, (x.mean(dim=(1, 2, 3)) > 0).long(), nn.CrossEntropyLoss(), steps=60)
    export(res, torch.randn(1, 1, 8, 8), "residual_cnn", False, unfused=True, classifier=True)


def sklearn_models():
    from skl2onnx import to_onnx
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC, SVR, LinearSVC
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y3 = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int) + (x[:, 2] > 0.5).astype(int)
    probe = rng.normal(size=(3, 4)).astype(np.float32)

    def save(model, name, small):
        opsets = {"": 17, "ai.onnx.ml": 3}
        try:  # classifiers without ZipMap (the option does not exist for models without probabilities)
            onx = to_onnx(model, x[:1], options={"zipmap": False}, target_opset=opsets)
        except NameError:
            onx = to_onnx(model, x[:1], target_opset=opsets)
        path = os.path.join(ZOO, name + ".onnx")
        onnx.save(onx, path)
        write_io(path, {onx.graph.input[0].name: probe}, small, hasattr(model, "classes_"))

    save(LogisticRegression(max_iter=500).fit(x, y3), "logistic_regression", True)
    save(LinearSVC().fit(x, y3), "linear_svm", True)
    save(SVC(kernel="linear").fit(x[:120], y3[:120]), "svm_linear_kernel", True)
    save(SVC(kernel="rbf", gamma=0.5).fit(x[:120], y3[:120]), "svm_rbf", True)
    save(SVR(kernel="linear").fit(x[:120], x[:120, 0] - 0.5 * x[:120, 2]), "svr_linear", True)
    save(DecisionTreeClassifier(max_depth=4, random_state=0).fit(x, y3), "decision_tree", True)
    save(RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(x, y3), "random_forest", True)
    save(GradientBoostingRegressor(n_estimators=10, max_depth=2, random_state=0).fit(x, x[:, 0] - x[:, 1] ** 2),
         "gradient_boosting", True)


def main():
    os.makedirs(ZOO, exist_ok=True)
    torch_models()
    sklearn_models()
    with open(os.path.join(ZOO, "zoo.json"), "w") as f:
        json.dump(sorted(ENTRIES, key=lambda e: e["name"]), f, indent=1)
        f.write("\n")
    print(f"wrote {len(ENTRIES)} models to {ZOO}")


if __name__ == "__main__":
    main()
