#!/usr/bin/env bash
# One command from a fresh Debian machine to a running xScaler: installs what is missing,
# builds, and starts `xscaler serve` with the embedded defaults (data in ./data, listening on
# 0.0.0.0:8080). On the very first start it creates tenant "demo" and prints its token once.
# Extra arguments go to `xscaler serve` (e.g. --listen 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh xscaler
exec ./build/src/server/xscaler serve "$@"
