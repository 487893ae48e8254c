#!/usr/bin/env bash
# Builds the peerjs-client test harness (tests/peerjs-harness) into target/harness-web/:
# index.html plus pkg/ (wasm-bindgen output). Release profile, like the app.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/target/harness-web"
cargo build --quiet --release --target wasm32-unknown-unknown -p peerjs-harness
rm -rf "$OUT"
mkdir -p "$OUT/pkg"
wasm-bindgen --target web --out-dir "$OUT/pkg" \
  "$ROOT/target/wasm32-unknown-unknown/release/peerjs_harness.wasm"
cp tests/peerjs-harness/www/index.html "$OUT/index.html"
