#!/usr/bin/env bash
# Builds everything and runs the whole test suite: GoogleTest units, fuzz-corpus replays and
# the PromQL conformance files (all through ctest), the differential test that asks Debian's
# Prometheus the same queries over the same data, and the end-to-end tests that drive the real
# binary with the OpenTelemetry JS SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 300
XSCALER_BIN="$PWD/build/src/server/xscaler" tests/differential/run.sh
XSCALER_BIN="$PWD/build/src/server/xscaler" tests/e2e/run.sh
