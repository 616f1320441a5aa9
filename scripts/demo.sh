#!/usr/bin/env bash
# The README's first command: sets everything up, then runs the bundled example model through
# compile -> run (Cairo VM, outputs beside the float reference) -> prove (Stwo) -> verify, and
# the local-chain step: deploy the contracts on a local starknet-devnet (started in the
# background if none runs on port 5050), submit the claim, read its fact back, and hand it to
# the example consumer. A wrong claim is then shown being rejected by the chain.
#   OUT=folder scripts/demo.sh     (default: out/example)
# The node keeps running (and keeps its state in ~/.cairn/devnet); stop it with
#   kill "$(cat ~/.cairn/devnet/pid)"
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== building cairn and cairn-devnet (the first build of the whole stack takes 30-50 minutes)"
cargo build --bin cairn --bin cairn-devnet
CAIRN=${CARGO_TARGET_DIR:-target}/debug/cairn
OUT=${OUT:-out/example}
MODEL=tests/models/example
set -x
"$CAIRN" compile "$MODEL/model.onnx" -o "$OUT"
"$CAIRN" run "$OUT" --input "$MODEL/model.input.json"
"$CAIRN" prove "$OUT"
"$CAIRN" verify "$OUT"
"$CAIRN" deploy "$OUT"
"$CAIRN" submit "$OUT" --input "$MODEL/model.input.json"
"$CAIRN" facts "$OUT"
# The consumer acts once per prediction: on a second run of this script it refuses, by design.
"$CAIRN" act "$OUT" || echo "(the consumer had already acted on this prediction)"
# A claim with one output changed: the chain's re-execution refuses it.
python3 - "$OUT/output.json" "$OUT/wrong_claim.json" <<'PY'
import json, sys
out = json.load(open(sys.argv[1]))
name = next(iter(out))
def bump(v):
    if isinstance(v, list):
        return [bump(v[0])] + v[1:]
    return v + 1.0
out[name] = bump(out[name])
json.dump(out, open(sys.argv[2], "w"))
PY
if "$CAIRN" submit "$OUT" --input "$MODEL/model.input.json" --claim "$OUT/wrong_claim.json"; then
  echo "error: the wrong claim was accepted" >&2
  exit 1
fi
set +x
echo "== done: the wrong claim was rejected, as it must be"
