#!/usr/bin/env bash
# Onchain costs: for each model, compiles it, deploys its contracts on a fresh local
# starknet-devnet (cairn-devnet on a free port) and submits the committed input's claim, then
# prints the class sizes and the L2 gas of every transaction; with --record, writes them to
# scripts/bench-chain-results.md.
#   scripts/bench_chain.sh [--record] [model ...]
set -euo pipefail
cd "$(dirname "$0")/.."
RECORD=0
if [ "${1:-}" = "--record" ]; then RECORD=1; shift; fi
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(example mlp_relu mlp_tanh_sigmoid softmax mlp_784_64_32_10)
cargo build --bin cairn --bin cairn-devnet >/dev/null 2>&1
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/debug
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN/cairn-devnet" --port "$PORT" >"$WORK/devnet.log" 2>&1 &
NODE=$!
trap 'kill $NODE 2>/dev/null; rm -rf "$WORK"' EXIT
RPC=http://127.0.0.1:$PORT/
for _ in $(seq 100); do curl -sf "$RPC/is_alive" >/dev/null && break; sleep 0.2; done

CLASSES=(); TXS=()
for m in "${MODELS[@]}"; do
  if [ "$m" = example ]; then model=tests/models/example/model.onnx; input=tests/models/example/model.input.json
  else model=tests/models/$m.onnx; input=tests/models/$m.input.json; fi
  out=$WORK/$m
  "$BIN/cairn" compile "$model" -o "$out" --json >/dev/null
  "$BIN/cairn" run "$out" --input "$input" --json >/dev/null
  "$BIN/cairn" deploy "$out" --rpc "$RPC" --json | tail -n 1 > "$WORK/$m.deploy.json"
  "$BIN/cairn" submit "$out" --input "$input" --rpc "$RPC" --json | tail -n 1 > "$WORK/$m.submit.json"
  CLASSES+=("$(python3 - "$WORK" "$m" <<'PY'
import json, sys
w, m = sys.argv[1], sys.argv[2]
d = json.load(open(f"{w}/{m}.deploy.json"))
for c in d["classes"]:
    if c["name"].startswith("CairnStage") or m == "example":
        print(f'| {m} | {c["name"]} | {c["sierra_felts"]} | {c["casm_felts"]} | {c["class_bytes"]} |')
PY
)")
  TXS+=("$(python3 - "$WORK" "$m" <<'PY'
import json, sys
w, m = sys.argv[1], sys.argv[2]
d = json.load(open(f"{w}/{m}.deploy.json"))
s = json.load(open(f"{w}/{m}.submit.json"))
for t in d["transactions"] + s["transactions"]:
    print(f'| {m} | {t["what"]} | {t["l2_gas"]} | {t["calldata_felts"]} |')
PY
)")
done

{
  echo "| model | class | Sierra felts | CASM felts | class bytes |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${CLASSES[@]}"
  echo
  echo "| model | transaction | L2 gas | calldata felts |"
  echo "|---|---|---|---|"
  printf '%s\n' "${TXS[@]}"
} > "$WORK/table.md"
cat "$WORK/table.md"
if [ $RECORD = 1 ]; then
  {
    echo "# Onchain costs"
    echo
    echo "Recorded by \`scripts/bench_chain.sh --record\` against cairn-devnet (starknet-devnet 0.10.1,"
    echo "Starknet 0.14.4 rules). Public networks cap a class at 81,920 Sierra and CASM felts and"
    echo "4,089,446 bytes, and an invoke at 5,000 calldata felts and 10M steps. The registry, verifier"
    echo "and consumer classes are the same for every model (declared once per network); each model"
    echo "adds its stage classes. The verifier re-executes the model in \`verify_and_register\`."
    echo
    cat "$WORK/table.md"
  } > scripts/bench-chain-results.md
  echo "recorded in scripts/bench-chain-results.md"
fi
