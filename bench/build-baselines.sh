#!/usr/bin/env bash
# Builds the benchmark baselines of issue 7 into target/bench/ (see bench/crates/*):
#   B6  target/bench/hello-dist/        Yew hello world, built by Trunk exactly like the app
#   B7  target/bench/crypto-web/        ed25519 bench as release wasm (+ index.html), app pipeline
#       target/bench/release/crypto-bench   the same bench, native (curve25519-dalek picks its
#                                           AVX2 backend at run time on x86_64)
#       target/bench/serial/release/crypto-bench   native again, forced to the 32-bit serial
#                                           field arithmetic the wasm build uses
# Needs: cargo + the wasm32-unknown-unknown target, trunk, wasm-bindgen 0.2.130, wasm-opt
# (binaryen 132, e.g. node_modules/.bin from `npm ci`). Crates come from crates.io (cargo fetch).
# Usage: nice -n 10 bench/build-baselines.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/target/bench"
export CARGO_TARGET_DIR="$OUT"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

HELLO="$ROOT/bench/crates/hello"
CRYPTO="$ROOT/bench/crates/crypto"

for tool in cargo trunk wasm-bindgen wasm-opt; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found on PATH" >&2; exit 1; }
done
if ! wasm-bindgen --version | grep -q ' 0\.2\.130$'; then
  echo "error: need wasm-bindgen 0.2.130, found: $(wasm-bindgen --version)" >&2
  exit 1
fi

# Trunk passes --offline to cargo (as the app's build does), so download the crates first.
cargo fetch --manifest-path "$HELLO/Cargo.toml"
cargo fetch --manifest-path "$CRYPTO/Cargo.toml"

echo "== B6: Yew hello world (trunk build --release) =="
rm -rf "$OUT/hello-dist"
(cd "$HELLO" && trunk build --release --offline --public-url /hello/ --dist "$OUT/hello-dist")

echo "== B7: ed25519 bench, release wasm (cargo build -> wasm-bindgen -> wasm-opt -Oz, as Trunk does) =="
cargo build --release --target wasm32-unknown-unknown --lib --manifest-path "$CRYPTO/Cargo.toml"
rm -rf "$OUT/crypto-web"
wasm-bindgen --target web --no-typescript --out-dir "$OUT/crypto-web" \
  "$OUT/wasm32-unknown-unknown/release/starpoll_bench_crypto.wasm"
# Trunk runs `wasm-opt --output=<out> -Oz <_bg.wasm>` after wasm-bindgen for data-wasm-opt="z"
# (no extra feature flags; wasm-opt reads the features from the module's target_features).
WASM="$OUT/crypto-web/starpoll_bench_crypto_bg.wasm"
wasm-opt --output="$WASM.opt" -Oz "$WASM"
mv "$WASM.opt" "$WASM"
cp "$CRYPTO/index.html" "$OUT/crypto-web/index.html"

echo "== B7: ed25519 bench, native =="
cargo build --release --bin crypto-bench --manifest-path "$CRYPTO/Cargo.toml"
echo "== B7: ed25519 bench, native with the wasm build's backend (serial, 32-bit limbs) =="
CARGO_TARGET_DIR="$OUT/serial" \
  RUSTFLAGS='--cfg curve25519_dalek_backend="serial" --cfg curve25519_dalek_bits="32"' \
  cargo build --release --bin crypto-bench --manifest-path "$CRYPTO/Cargo.toml"

echo
echo "B6 hello dist:   $OUT/hello-dist"
ls -l "$OUT/hello-dist"
echo "B7 crypto web:   $OUT/crypto-web  (serve it, open index.html?n=2000&reps=5)"
ls -l "$OUT/crypto-web"
echo "B7 crypto native: $OUT/release/crypto-bench [iterations=2000] [reps=5]"
echo "B7 crypto native, serial backend: $OUT/serial/release/crypto-bench"
