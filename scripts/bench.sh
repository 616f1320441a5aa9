#!/usr/bin/env bash
# Benchmarks the pipeline on the committed models and prints a markdown table; with --record,
# also writes it to scripts/bench-results.md (the figures quoted in the README).
#   scripts/bench.sh [--record] [model ...]    (default: every model below)
# Each stage runs through the release-independent `cairn` binary with --json; peak memory is
# the stage's maximum resident set size (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
RECORD=0
if [ "${1:-}" = "--record" ]; then RECORD=1; shift; fi
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(example mlp_relu mlp_tanh_sigmoid linear mlp_784_64_32_10)
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time (apt-get install time)" >&2; exit 1; }
cargo build --bin cairn >/dev/null 2>&1
CAIRN=$(realpath "${CARGO_TARGET_DIR:-target}")/debug/cairn
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# stage NAME ARGS...: runs one stage with --json, leaves its summary in $WORK/NAME.json and its
# peak RSS (KiB) in $WORK/NAME.rss.
stage() {
  local name=$1; shift
  /usr/bin/time -f '%M' -o "$WORK/$name.rss" "$CAIRN" "$@" --json | tail -n 1 > "$WORK/$name.json"
}

ROWS=()
for m in "${MODELS[@]}"; do
  if [ "$m" = example ]; then model=tests/models/example/model.onnx; input=tests/models/example/model.input.json
  else model=tests/models/$m.onnx; input=tests/models/$m.input.json; fi
  out=$WORK/$m
  stage compile compile "$model" -o "$out"
  stage run run "$out" --input "$input"
  stage prove prove "$out"
  stage verify verify "$out"
  ROWS+=("$(python3 - "$WORK" "$m" <<'PY'
import json, sys
w, m = sys.argv[1], sys.argv[2]
j = {s: json.load(open(f"{w}/{s}.json")) for s in ["compile", "run", "prove", "verify"]}
rss = {s: int(open(f"{w}/{s}.rss").read().split()[-1]) / 1024 / 1024 for s in ["compile", "run", "prove", "verify"]}
c, r, p, v = j["compile"], j["run"], j["prove"], j["verify"]
macs = c["multiply_adds"]
spm = f'{r["steps"] / macs:.2f}' if macs else "-"
print(f'| {m} | {macs} | {c["seconds"]:.1f} | {rss["compile"]:.2f} | {r["steps"]} | {spm} | {r["vm_seconds"]:.2f} | '
      f'{r["max_rel_error"]:.1e} | {p["seconds"]:.1f} | {rss["prove"]:.2f} | {p["proof_bytes"]} | {v["seconds"]:.3f} |')
PY
)")
done

{
  echo "| model | MACs | compile s | compile GiB | Cairo steps | steps/MAC | VM s | rel. error | prove s | prove GiB | proof bytes | verify s |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} > "$WORK/table.md"
cat "$WORK/table.md"
if [ $RECORD = 1 ]; then
  {
    echo "# Benchmark results"
    echo
    echo "Recorded by \`scripts/bench.sh --record\` on $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB ($(uname -m))."
    echo "steps/MAC is total Cairo steps over the dense layers' multiply-adds (input checks, hashing,"
    echo "activations and rescales included). Peak memory is the stage's maximum resident set size."
    echo
    cat "$WORK/table.md"
  } > scripts/bench-results.md
  echo "recorded in scripts/bench-results.md"
fi
