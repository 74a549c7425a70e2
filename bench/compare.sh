#!/usr/bin/env bash
# One command, one machine, one table: xscaler next to Debian's Prometheus and VictoriaMetrics
# on the same pre-encoded workload (bench/README.md explains every figure).
#
#   bench/compare.sh                                  # 10k series x 120 samples, all systems
#   bench/compare.sh --series 100000 --samples 60     # larger
#   bench/compare.sh --systems "xscaler xscaler-otlp victoria-metrics"
#
# Every server binds 127.0.0.1 on a free port with a fresh data dir under a temp dir; every
# process this script starts is stopped by its PID on exit, and the temp dir is removed.
# The whole script is one compound command, so bash parses it before running it: editing this
# file while a comparison runs cannot derail the run.
{
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERIES=10000
SAMPLES=120
INTERVAL=15s
BATCH=2000
CONCURRENCY=4
SEED=1
SYSTEMS="xscaler prometheus victoria-metrics"
QUERY_RUNS=20
STEP=60
OUT=""
KEEP_DATA=0
PERF=0
BUILD=1
BUILD_DIR=${BUILD_DIR:-build}
XSCALER_BIN=${XSCALER_BIN:-}
LOADGEN_BIN=${LOADGEN_BIN:-}
TENANT=bench

usage() {
  cat <<EOF
usage: bench/compare.sh [options]
  --series N         active series (default $SERIES)
  --samples N        samples per series (default $SAMPLES)
  --interval D       scrape interval, e.g. 15s (default $INTERVAL)
  --batch N          max samples per request (default $BATCH)
  --concurrency N    sender connections (default $CONCURRENCY)
  --seed N           workload seed (default $SEED)
  --systems "..."    any of: xscaler xscaler-otlp prometheus victoria-metrics
                     (default "$SYSTEMS"; xscaler-otlp = xscaler fed the same series over OTLP)
  --query-runs N     timed runs per query after 2 warm-ups (default $QUERY_RUNS)
  --step S           range-query step in seconds (default $STEP)
  --out DIR          results dir (default bench/results/<UTC time>-s<series>)
  --no-build         use existing binaries (XSCALER_BIN, LOADGEN_BIN or \$BUILD_DIR)
  --keep-data        keep the servers' data dirs (printed at the end)
  --perf             profile xscaler during its push (perf record -g; top of the report in
                     OUT/SYSTEM.perf.txt)
Environment: BUILD_DIR (default build), XSCALER_BIN, LOADGEN_BIN, NINJA_JOBS,
             XSCALER_FLAGS (extra flags for xscaler serve, e.g. "--worker-threads 2").
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --series) SERIES=$2; shift 2 ;;
    --samples) SAMPLES=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --systems) SYSTEMS=$2; shift 2 ;;
    --query-runs) QUERY_RUNS=$2; shift 2 ;;
    --step) STEP=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --keep-data) KEEP_DATA=1; shift ;;
    --perf) PERF=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# ---------- Debian packages ----------
need=()
for p in prometheus victoria-metrics jq curl python3; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # The packaged services are not wanted: this script starts its own instances.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  for svc in prometheus victoria-metrics; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
      log "note: the system's $svc service is running; it is left alone (we use other ports)"
    fi
  done
fi
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$ROOT/bench/results/$STAMP-s$SERIES}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# ---------- build ----------
XSCALER_BUILD_NOTE=""
if [ "$BUILD" = 1 ]; then
  log "building xscaler and xscaler-loadgen in $BUILD_DIR (log: $OUT/build.log)"
  if ! (cd "$ROOT" && BUILD_DIR="$BUILD_DIR" ./scripts/build.sh xscaler xscaler-loadgen) >"$OUT/build.log" 2>&1; then
    # A binary left from an older build would not be this commit: do not measure it.
    XSCALER_BUILD_NOTE="xscaler did not build at this commit (see build.log)"
    [ -n "$XSCALER_BIN" ] || XSCALER_BIN=/nonexistent/xscaler
    log "$XSCALER_BUILD_NOTE; building the load generator alone"
    (cd "$ROOT" && BUILD_DIR="$BUILD_DIR" ./scripts/build.sh xscaler-loadgen) >>"$OUT/build.log" 2>&1 ||
      { echo "compare.sh: xscaler-loadgen did not build either; see $OUT/build.log" >&2; exit 1; }
  fi
fi
case "$BUILD_DIR" in /*) BD=$BUILD_DIR ;; *) BD=$ROOT/$BUILD_DIR ;; esac
XSCALER_BIN=${XSCALER_BIN:-$BD/src/server/xscaler}
LOADGEN_BIN=${LOADGEN_BIN:-$BD/bench/xscaler-loadgen}
[ -x "$LOADGEN_BIN" ] || { echo "compare.sh: no load generator at $LOADGEN_BIN (build target xscaler-loadgen)" >&2; exit 1; }

# ---------- work and results dirs, cleanup ----------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xscaler-compare.XXXXXX")
PIDS=()

stop_pid() {
  local pid=$1 _
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  log "PID $pid did not stop within 30 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [ "$KEEP_DATA" = 1 ]; then log "data kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
du_bytes() { du -sb "$1" 2>/dev/null | awk '{print $1+0}' || echo 0; }
# utime+stime of every thread of PID, in clock ticks.
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
TICKS=$(getconf CLK_TCK)

# ---------- the workload ----------
# One time base for every system, so all of them store exactly the same samples.
WL_ARGS=(--series "$SERIES" --samples "$SAMPLES" --interval "$INTERVAL" --batch "$BATCH"
         --concurrency "$CONCURRENCY" --seed "$SEED")
"$LOADGEN_BIN" info "${WL_ARGS[@]}" --out "$OUT/workload.json"
BASE_MS=$(( $(date +%s) * 1000 - $(jq .samples_per_series "$OUT/workload.json") * $(jq .interval_ms "$OUT/workload.json") - 60000 ))
BASE_MS=$(( BASE_MS - BASE_MS % $(jq .interval_ms "$OUT/workload.json") ))
WL_ARGS+=(--base-ms "$BASE_MS")
"$LOADGEN_BIN" info "${WL_ARGS[@]}" --out "$OUT/workload.json"
MIN_T=$(jq .min_t_ms "$OUT/workload.json"); MAX_T=$(jq .max_t_ms "$OUT/workload.json")
cp "$ROOT/bench/queries.tsv" "$OUT/queries.tsv"
log "workload: $(jq -c '{series, targets, samples_total, requests, bytes}' "$OUT/workload.json")"

# ---------- one system ----------
# Sets: SYS_PID SYS_URL SYS_WRITE SYS_READY SYS_PROTO HDR (array of --header args).
start_system() {
  local name=$1 data=$2 port=$3 log=$4
  SYS_URL="http://127.0.0.1:$port"; HDR=(); SYS_PROTO=remote-write
  case "$name" in
    xscaler|xscaler-otlp)
      local token
      token=$("$XSCALER_BIN" token create --data-dir "$data" --tenant "$TENANT" 2>>"$log" | tail -1) ||
        token=""
      HDR=(--header "Authorization: Bearer $token" --header "X-Scope-OrgID: $TENANT")
      # shellcheck disable=SC2086  # XSCALER_FLAGS is a list of flags
      "$XSCALER_BIN" serve --data-dir "$data" --listen "127.0.0.1:$port" ${XSCALER_FLAGS:-} >>"$log" 2>&1 &
      SYS_PID=$!
      SYS_READY=/ready
      if [ "$name" = xscaler-otlp ]; then SYS_PROTO=otlp; SYS_WRITE=/otlp/v1/metrics; else SYS_WRITE=/api/v1/push; fi
      ;;
    prometheus)
      printf 'global:\n  scrape_interval: 15s\n' >"$data.yml"
      prometheus --config.file="$data.yml" --storage.tsdb.path="$data" \
        --web.listen-address="127.0.0.1:$port" --web.enable-remote-write-receiver \
        --web.enable-admin-api --storage.tsdb.retention.time=30d \
        --query.max-samples=1000000000 --log.level=warn >>"$log" 2>&1 &
      SYS_PID=$!
      SYS_READY=/-/ready; SYS_WRITE=/api/v1/write
      ;;
    victoria-metrics)
      # The rollup cache is off so that repeated query runs are computed, not served from cache.
      victoria-metrics -storageDataPath="$data" -httpListenAddr="127.0.0.1:$port" \
        -retentionPeriod=1y -search.latencyOffset=0s -search.disableCache \
        -search.maxUniqueTimeseries=100000000 -loggerLevel=WARN >>"$log" 2>&1 &
      SYS_PID=$!
      SYS_READY=/health; SYS_WRITE=/api/v1/write
      ;;
    *) echo "compare.sh: unknown system '$name'" >&2; return 1 ;;
  esac
  PIDS+=("$SYS_PID")
}

system_version() {
  case "$1" in
    xscaler|xscaler-otlp) "$XSCALER_BIN" --version 2>/dev/null | head -1 || echo xscaler ;;
    prometheus) prometheus --version 2>&1 | head -1 ;;
    victoria-metrics) dpkg-query -W -f 'victoria-metrics ${Version} (Debian)' victoria-metrics 2>/dev/null || echo victoria-metrics ;;
  esac
}

wait_ready() {
  local _
  for _ in $(seq 1 600); do
    kill -0 "$SYS_PID" 2>/dev/null || return 1
    curl -fsS -o /dev/null "${HDR_CURL[@]}" "$SYS_URL$SYS_READY" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Prints the system's on-disk bytes after its flush step, and a note, as JSON.
flush_and_measure_disk() {
  local name=$1 data=$2 whole snap n
  case "$name" in
    prometheus)
      # The head written out as one persistent block (what head compaction produces).
      n=$(curl -fsS -XPOST "$SYS_URL/api/v1/admin/tsdb/snapshot?skip_head=false" | jq -r .data.name)
      snap=$(du_bytes "$data/snapshots/$n")
      whole=$(( $(du_bytes "$data") - snap ))
      jq -n --argjson d "$snap" --argjson w "$whole" \
        '{disk_bytes: $d, data_dir_bytes: $w, disk_note: "TSDB snapshot of the head (one block: chunks + index)"}'
      ;;
    victoria-metrics)
      curl -fsS "$SYS_URL/internal/force_flush" >/dev/null
      # Fresh parts reach the disk a few seconds later: wait until the size is stable for 5 s.
      local prev=-1 cur same=0 _
      for _ in $(seq 1 120); do
        cur=$(( $(du_bytes "$data/data") + $(du_bytes "$data/indexdb") ))
        if [ "$cur" = "$prev" ]; then same=$((same + 1)); else same=0; fi
        [ $same -ge 5 ] && break
        prev=$cur; sleep 1
      done
      jq -n --argjson d "$cur" --argjson w "$(du_bytes "$data")" \
        '{disk_bytes: $d, data_dir_bytes: $w, disk_note: "data/ + indexdb/ after /internal/force_flush, settled"}'
      ;;
    *)
      # Cut the whole head into blocks (what the compaction loop does as time passes), then
      # count the tenant's directory: blocks + the WAL checkpoint left after truncation.
      curl -fsS -XPOST "${HDR_CURL[@]}" "$SYS_URL/api/v1/admin/tsdb/flush" >/dev/null
      local tdir blocks=0 b
      tdir=$(find "$data/tenants" -mindepth 1 -maxdepth 1 -type d | head -1)
      for b in "$tdir"/*/meta.json; do
        [ -f "$b" ] && blocks=$(( blocks + $(du_bytes "$(dirname "$b")") ))
      done
      whole=$(du_bytes "$tdir")
      jq -n --argjson d "$whole" --argjson w "$(du_bytes "$data")" --argjson b "$blocks" \
        '{disk_bytes: $d, data_dir_bytes: $w, block_bytes: $b, disk_note: "tenant dir after /api/v1/admin/tsdb/flush: blocks + WAL checkpoint"}'
      ;;
  esac
}

run_system() {
  local name=$1 data=$WORK/$1-data port log=$OUT/$1.server.log
  mkdir -p "$data"; : >"$log"
  port=$(free_port)
  if [[ $name == xscaler* ]] && [ ! -x "$XSCALER_BIN" ]; then
    log "$name: skipped (no binary at $XSCALER_BIN${XSCALER_BUILD_NOTE:+; $XSCALER_BUILD_NOTE})"
    jq -n --arg s "$name" --arg why "not run: no binary at $XSCALER_BIN${XSCALER_BUILD_NOTE:+ ($XSCALER_BUILD_NOTE)}" \
      '{system: $s, ran: false, note: $why}' >"$OUT/$name.metrics.json"
    return 0
  fi
  log "$name: starting on 127.0.0.1:$port"
  start_system "$name" "$data" "$port" "$log"
  HDR_CURL=()
  local h; for h in "${HDR[@]}"; do [ "$h" = --header ] || HDR_CURL+=(-H "$h"); done
  if ! wait_ready; then
    log "$name: did not become ready (log: $log)"
    jq -n --arg s "$name" --arg why "not run: did not become ready; see $name.server.log" \
      '{system: $s, ran: false, note: $why}' >"$OUT/$name.metrics.json"
    stop_pid "$SYS_PID"
    return 0
  fi
  sleep 2
  local rss_idle cpu0 cpu1 cpu2 t0 t1
  rss_idle=$(status_kb "$SYS_PID" VmRSS)
  cpu0=$(cpu_ticks "$SYS_PID")
  log "$name: pushing $(jq .samples_total "$OUT/workload.json") samples ($SYS_PROTO)"
  local perf_pid=""
  if [ "$PERF" = 1 ] && [[ $name == xscaler* ]] && command -v perf >/dev/null; then
    perf record -q -F 499 -g -p "$SYS_PID" -o "$OUT/$name.perf.data" 2>>"$OUT/$name.perf.log" &
    perf_pid=$!
    PIDS+=("$perf_pid")
    sleep 0.5
  fi
  "$LOADGEN_BIN" push "${WL_ARGS[@]}" --protocol "$SYS_PROTO" --url "$SYS_URL" --path "$SYS_WRITE" \
    "${HDR[@]}" --out "$OUT/$name.push.json"
  cpu1=$(cpu_ticks "$SYS_PID")
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    perf report -i "$OUT/$name.perf.data" --stdio --no-children --percent-limit 1 \
      --sort symbol -g none 2>/dev/null | grep -v '^#' | sed '/^$/d' | cut -c1-120 |
      sed -E 's/[[:space:]]+$//' | head -40 >"$OUT/$name.perf.txt" || true
    log "$name: profile of the push in $OUT/$name.perf.txt"
  fi
  if ! kill -0 "$SYS_PID" 2>/dev/null; then
    log "$name: the server exited during the push (log: $log)"
    jq -n --arg s "$name" --slurpfile push "$OUT/$name.push.json" \
      '{system: $s, ran: false, note: "server exited during the push; see its server.log", push: $push[0]}' \
      >"$OUT/$name.metrics.json"
    return 0
  fi
  log "$name: $(jq -c '{samples_per_second, samples_accepted, errors_by_status, first_error}' "$OUT/$name.push.json")"
  t0=$(date +%s.%N)
  flush_and_measure_disk "$name" "$data" >"$OUT/$name.disk.json"
  t1=$(date +%s.%N)
  cpu2=$(cpu_ticks "$SYS_PID")
  local hwm rss_after
  hwm=$(status_kb "$SYS_PID" VmHWM); rss_after=$(status_kb "$SYS_PID" VmRSS)
  log "$name: timing queries ($QUERY_RUNS runs each)"
  "$LOADGEN_BIN" query --url "$SYS_URL" "${HDR[@]}" --queries "$OUT/queries.tsv" \
    --start-ms "$MIN_T" --end-ms "$MAX_T" --step "$STEP" --runs "$QUERY_RUNS" \
    --out "$OUT/$name.query.json"
  local cpu3; cpu3=$(cpu_ticks "$SYS_PID")
  stop_pid "$SYS_PID"
  jq -n --arg s "$name" --arg v "$(system_version "$name")" --arg proto "$SYS_PROTO" \
    --argjson ticks "$TICKS" --argjson c0 "$cpu0" --argjson c1 "$cpu1" --argjson c2 "$cpu2" \
    --argjson c3 "$cpu3" --argjson idle "$rss_idle" --argjson hwm "$hwm" --argjson after "$rss_after" \
    --argjson flush_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" \
    --slurpfile push "$OUT/$name.push.json" --slurpfile disk "$OUT/$name.disk.json" \
    --slurpfile q "$OUT/$name.query.json" \
    '{system: $s, ran: true, version: $v, protocol: $proto,
      cpu_ingest_s: (($c1 - $c0) / $ticks), cpu_flush_s: (($c2 - $c1) / $ticks),
      cpu_query_s: (($c3 - $c2) / $ticks), flush_wall_s: $flush_s,
      rss_idle_bytes: ($idle * 1024), peak_rss_bytes: ($hwm * 1024), rss_after_bytes: ($after * 1024),
      push: $push[0], disk: $disk[0], queries: $q[0].queries}' >"$OUT/$name.metrics.json"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------- parse-only (the decoders alone, one thread) ----------
for proto in remote-write otlp; do
  log "parse-only pass over the $proto bodies"
  "$LOADGEN_BIN" parse-only "${WL_ARGS[@]}" --protocol "$proto" --out "$OUT/parse-only-$proto.json" ||
    log "parse-only $proto reported failed requests (see $OUT/parse-only-$proto.json)"
done

for s in $SYSTEMS; do run_system "$s"; done

# ---------- the table ----------
{
  echo "# xscaler vs anchors — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- commit: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- load average before / after the run: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
  echo "- machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), $(uname -sr)"
} >"$OUT/summary.md"
# shellcheck disable=SC2086  # one argument per system
"$PY" "$ROOT/bench/tools/table.py" "$OUT" $SYSTEMS >>"$OUT/summary.md"
cat "$OUT/summary.md"
log "results: $OUT"
exit
}
