#!/usr/bin/env bash
# The README's first command: sets everything up, then runs the bundled example model through
# compile -> run (Cairo VM, outputs beside the float reference) -> prove (Stwo) -> verify.
#   OUT=folder scripts/demo.sh     (default: out/example)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== building cairn (the first build of the whole stack takes 20-40 minutes)"
cargo build --bin cairn
CAIRN=${CARGO_TARGET_DIR:-target}/debug/cairn
OUT=${OUT:-out/example}
MODEL=tests/models/example
set -x
"$CAIRN" compile "$MODEL/model.onnx" -o "$OUT"
"$CAIRN" run "$OUT" --input "$MODEL/model.input.json"
"$CAIRN" prove "$OUT"
"$CAIRN" verify "$OUT"
