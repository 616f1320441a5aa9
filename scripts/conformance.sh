#!/usr/bin/env bash
# The ONNX backend conformance tier (slow: one Cairo compilation per case). Writes ONNX's node
# test cases with the onnx Python package, then runs tests/conformance.rs against the manifest.
#   scripts/conformance.sh                          check against tests/conformance/manifest.txt
#   CAIRN_FIX_MANIFEST=1 scripts/conformance.sh     rewrite the manifest from the results
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
python3 -c "import onnx, numpy" 2>/dev/null || pip install --quiet onnx numpy
python3 scripts/export_conformance.py .cairn/conformance
cargo test --test conformance -- --ignored --nocapture
