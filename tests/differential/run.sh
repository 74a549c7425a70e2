#!/usr/bin/env bash
# Differential test: loads the same remote-write data into Debian's Prometheus 2.42 and into
# xScaler, runs the query list in diff.mjs against both and compares the answers.
# Exits non-zero when a difference is not explained in known_differences.txt.
# Env: XSCALER_BIN (default <repo>/build/src/server/xscaler), PROMETHEUS_BIN (default prometheus),
#      DIFF_KEEP=1 keeps the temp dir (logs, data) for inspection; DIFF_HOLD=1 keeps both servers
#      running after the comparison (prints their URLs) until Ctrl-C.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
XSCALER_BIN="${XSCALER_BIN:-$repo/build/src/server/xscaler}"
PROMETHEUS_BIN="${PROMETHEUS_BIN:-prometheus}"

if [[ ! -x "$XSCALER_BIN" ]]; then
  echo "differential: xscaler binary not found at $XSCALER_BIN (build it, or set XSCALER_BIN)" >&2
  exit 1
fi
if ! command -v "$PROMETHEUS_BIN" >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]]; then
    echo "differential: installing Debian's prometheus" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
  else
    echo "differential: prometheus not installed (apt-get install prometheus as root)" >&2
    exit 1
  fi
fi
command -v node >/dev/null || { echo "differential: node (>= 20) is required" >&2; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/xscaler-diff.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ "${DIFF_KEEP:-}" == 1 ]]; then echo "differential: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_ready() { # url pid name log
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then
      echo "differential: $3 exited before ready:" >&2; tail -n 30 "$4" >&2; return 1
    fi
    sleep 0.2
  done
  echo "differential: $3 not ready at $1:" >&2; tail -n 30 "$4" >&2; return 1
}

mkdir -p "$tmp/prom" "$tmp/xs"
printf 'global:\n  evaluation_interval: 1m\nscrape_configs: []\n' >"$tmp/prometheus.yml"
prom_port="$(free_port)"
"$PROMETHEUS_BIN" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom" \
  --web.listen-address="127.0.0.1:$prom_port" --web.enable-remote-write-receiver \
  --log.level=warn >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
prom_pid=$!

tenant=diff
token="$("$XSCALER_BIN" token create --data-dir "$tmp/xs" --tenant "$tenant" | tail -n 1)"
xs_port="$(free_port)"
"$XSCALER_BIN" serve --data-dir "$tmp/xs" --listen "127.0.0.1:$xs_port" --log-level warn \
  >"$tmp/xscaler.log" 2>&1 &
pids+=($!)
xs_pid=$!

wait_ready "http://127.0.0.1:$prom_port/-/ready" "$prom_pid" prometheus "$tmp/prometheus.log"
wait_ready "http://127.0.0.1:$xs_port/ready" "$xs_pid" xscaler "$tmp/xscaler.log"

PROM_URL="http://127.0.0.1:$prom_port" XS_URL="http://127.0.0.1:$xs_port" \
XS_TOKEN="$token" XS_TENANT="$tenant" \
  node "$here/diff.mjs" "$@" && rc=0 || rc=$?
if [[ "${DIFF_HOLD:-}" == 1 ]]; then
  echo "differential: holding; prometheus http://127.0.0.1:$prom_port  xscaler http://127.0.0.1:$xs_port (token $token, tenant $tenant)" >&2
  while true; do sleep 3600 & wait $!; done
fi
exit "$rc"
