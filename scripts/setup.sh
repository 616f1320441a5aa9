#!/usr/bin/env bash
# Idempotent setup: installs or materialises everything a fresh machine lacks for Cairn.
#   - the Rust toolchain pinned in rust-toolchain.toml (rustup fetches it when missing);
#   - .cairn/corelib: the Cairo corelib, extracted from the crates.io package cairo-native 0.9.0-rc.5
#     (the newest registry package that carries a complete one), plus one trait the 2.19 Starknet
#     plugin expects;
#   - .cairn/patched/stwo-cairo-common: the registry copy of stwo-cairo-common 1.3.0 with a
#     one-line fix for today's std, used through [patch.crates-io].
# Nothing third-party is committed: both folders are ignored and rebuilt from the registry.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust with rustup first" >&2; exit 1; }
ROOT=$PWD
CAIRN=$ROOT/.cairn
mkdir -p "$CAIRN/patched"

log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

# Fetch one crate's sources into the cargo registry (cargo info downloads and unpacks it) and
# print the unpacked folder.
registry_src() {
  local name=$1 version=$2 dir
  dir=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$name-$version" 2>/dev/null | head -n1 || true)
  if [ -z "$dir" ]; then
    (cd /tmp && cargo info "$name@$version" >/dev/null)
    dir=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$name-$version" | head -n1)
  fi
  printf '%s\n' "$dir"
}

# 1. The patched stwo-cairo-common.
PATCHED=$CAIRN/patched/stwo-cairo-common
if [ ! -f "$PATCHED/.cairn-patched" ]; then
  log "materialising stwo-cairo-common 1.3.0 with the Mask::to_simd fix"
  src=$(registry_src stwo-cairo-common 1.3.0)
  rm -rf "$PATCHED"
  cp -r "$src" "$PATCHED"
  chmod -R u+w "$PATCHED"
  sed -i 's/\.to_int()/.to_simd()/' "$PATCHED/src/prover_types/simd.rs"
  grep -q '\.to_simd()' "$PATCHED/src/prover_types/simd.rs"
  touch "$PATCHED/.cairn-patched"
fi

# 2. The Cairo corelib.
CORELIB=$CAIRN/corelib
if [ ! -f "$CORELIB/.cairn-ready" ]; then
  log "extracting the Cairo corelib from cairo-native 0.9.0-rc.5"
  src=$(registry_src cairo-native 0.9.0-rc.5)
  rm -rf "$CORELIB"
  cp -r "$src/corelib" "$CORELIB"
  chmod -R u+w "$CORELIB"
  # The #[starknet::interface] plugin of cairo-lang 2.17+ forwards `class_hash` through this trait.
  if ! grep -q 'trait ForwardingClassHash' "$CORELIB/src/starknet.cairo"; then
    cat >> "$CORELIB/src/starknet.cairo" <<'CAIRO'

/// Expected by the `#[starknet::interface]` plugin of cairo-lang 2.17 and later.
#[unstable(feature: "forward-impl")]
pub trait ForwardingClassHash<TContractState> {
    fn class_hash(self: @TContractState) -> ClassHash;
}
CAIRO
  fi
  touch "$CORELIB/.cairn-ready"
fi

log "ready (.cairn/corelib, .cairn/patched)"
