# shellcheck shell=bash
# Idempotent installs shared by scripts/run, scripts/test and scripts/bench. Source it, then call
# `setup_build_tools` (and `setup_browsers` for tests). Each step checks first and skips when the
# right version is already there, so a warm machine spends seconds here. Everything comes from the
# package registries (crates.io, npm, Debian); nothing downloads from anywhere else.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRUNK_VERSION="0.22.1"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
# Playwright must never fetch its own browsers: we drive Debian's /usr/bin/chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

# The wasm-bindgen version pinned in Cargo.lock; the CLI must match it exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

setup_build_tools() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    log "installing trunk $TRUNK_VERSION (about 10 minutes on 2 cores, once)"
    # 0.22.x declares a newer rust-version than it needs.
    cargo install trunk --version "$TRUNK_VERSION" --locked --ignore-rust-version
  fi
  local wb
  wb="$(wasm_bindgen_version)"
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb" ]; then
    log "installing wasm-bindgen-cli $wb (matches Cargo.lock)"
    # Without --locked: a locked dependency of the CLI is not in the reachable index.
    cargo install wasm-bindgen-cli --version "$wb"
  fi
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] \
     || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing node tools (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  log "fetching crates"
  (cd "$ROOT" && cargo fetch --quiet)
}

setup_browsers() {
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    log "installing chromium and chromium-driver from Debian"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver
  fi
  export CHROMEDRIVER=/usr/bin/chromedriver
}

# A free TCP port on 127.0.0.1 (asks the kernel).
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits until something accepts TCP connections on 127.0.0.1:$1 (at most $2 seconds).
wait_for_port() {
  local port="$1" limit="${2:-30}" i=0
  until node -e 'const c=require("net").connect(+process.argv[1],"127.0.0.1");c.on("connect",()=>process.exit(0));c.on("error",()=>process.exit(1))' "$port"; do
    i=$((i + 1))
    if [ "$i" -ge $((limit * 10)) ]; then
      log "nothing is listening on port $port after ${limit}s"
      return 1
    fi
    sleep 0.1
  done
}
