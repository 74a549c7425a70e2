#!/usr/bin/env bash
# Runs the end-to-end suite against the real xscaler binary (XSCALER_BIN, default
# <repo>/build/src/server/xscaler). Installs the pinned npm packages first when node_modules is
# missing or older than package-lock.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export XSCALER_BIN="${XSCALER_BIN:-$repo/build/src/server/xscaler}"
if [[ ! -x "$XSCALER_BIN" ]]; then
  echo "e2e: xscaler binary not found at $XSCALER_BIN (build it, or set XSCALER_BIN)" >&2
  exit 1
fi
stamp="$here/node_modules/.package-lock.json"
if [[ ! -f "$stamp" || "$here/package-lock.json" -nt "$stamp" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi
cd "$repo"
# Explicit files rather than the directory: Node 20 searches a directory, newer Node versions
# treat arguments as globs, and the shell's expansion works the same on both.
exec node --test --test-reporter=spec tests/e2e/*.test.mjs
