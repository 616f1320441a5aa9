#!/usr/bin/env bash
# The model zoo, every model (the default test run checks only the small ones): compile, run
# against onnxruntime's recorded outputs, prove and verify. Regenerate the zoo itself with
# scripts/export_zoo.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --test zoo -- --ignored --nocapture
