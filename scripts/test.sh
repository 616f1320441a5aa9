#!/usr/bin/env bash
# The README's second command, and what CI runs: setup, formatting, lints, then every test
# (unit, golden, numeric end-to-end against float references, real proofs and tampering).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
