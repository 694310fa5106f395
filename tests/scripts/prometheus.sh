#!/usr/bin/env bash
# Prometheus with synthetic history for budgetgate's tests.
#
#   prometheus.sh load   SCENARIO.yaml            generate + backfill TSDB blocks into the cache (idempotent)
#   prometheus.sh start  SCENARIO.yaml DIR [PORT] load, then run prometheus on 127.0.0.1 over a copy in DIR
#                                                 (PROM_LISTEN_HOST=IP: listen there instead, e.g. a
#                                                 test node's bridge address that Pods can reach)
#   prometheus.sh stop   DIR                      stop the instance started in DIR
#   prometheus.sh status DIR                      running / ready / stopped (exit 0 only when ready)
#   prometheus.sh check  DIR                      run check_history.py against the instance in DIR
#   prometheus.sh path   SCENARIO.yaml            print the cache directory for this scenario
#   prometheus.sh prune  SCENARIO.yaml            delete cached builds of this scenario with other hashes
#
# Cache: ${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/prometheus/<name>-<hash12>/data, where hash12
# is the first 12 hex digits of sha256(scenario file + gen_history.py); a `complete` marker is
# written last, so an interrupted load is redone.  The cache is never served directly: `start`
# hardlink-copies the blocks (cp -al) into DIR/data, because Prometheus writes its lock file, WAL
# and compactions into its data directory (it only ever replaces block files by rename, so the
# hardlinked cache is never modified).  DIR/env holds PROM_URL, PROM_PID (also PID), PROM_PORT,
# PROM_SCENARIO, PROM_START, PROM_END, PROM_STEP; sourcing it is the way tests find the server.
# Several instances in different DIRs can run at once.  CPU-heavy steps take
# /tmp/budgetgate-build.lock (shared with C++ builds on this machine).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
GEN="$ROOT/tests/prometheus/gen_history.py"
CHECK="$ROOT/tests/prometheus/check_history.py"
CACHE_ROOT="${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/prometheus"
BUILD_LOCK="${BUDGETGATE_BUILD_LOCK:-/tmp/budgetgate-build.lock}"
PROMETHEUS="${PROMETHEUS_BIN:-/usr/bin/prometheus}"
PROMTOOL="${PROMTOOL_BIN:-/usr/bin/promtool}"
READY_TIMEOUT="${PROM_READY_TIMEOUT:-60}"
# A local address only (loopback, or a bridge a test created): never a public interface.
HOST="${PROM_LISTEN_HOST:-127.0.0.1}"
# Blocks of 486 h (20.25 d): the largest range of Prometheus' own compaction ladder
# (2h x 3^k, capped at 31 d when retention is long), so a backfilled block is never a
# candidate for further compaction.  Generation is chunked on the same aligned boundaries,
# so promtool reads each sample twice (min/max pass + one block pass) instead of once per block.
BLOCK_SECONDS=$((486 * 3600))

log() { printf '[prometheus.sh %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# locked_timed SECONDS_FILE CMD...: run CMD under the shared build lock and write the seconds
# it ran (lock wait excluded) to SECONDS_FILE.
locked_timed() {
  local out="$1"
  shift
  # shellcheck disable=SC2016 # the inner script expands its own variables
  flock "$BUILD_LOCK" bash -c 'out=$1; shift; a=$(date +%s%N); "$@"; rc=$?
    ms=$(( ($(date +%s%N) - a) / 1000000 )); printf "%d.%03d\n" $((ms / 1000)) $((ms % 1000)) >"$out"
    exit $rc' locked_timed "$out" "$@"
}
add() { awk -v a="$1" -v b="$(cat "$2")" 'BEGIN { print a + b }'; }

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

scenario_name() { local b; b="$(basename "$1")"; echo "${b%.*}"; }
scenario_hash() { cat "$1" "$GEN" | sha256sum | cut -c1-12; }
cache_dir() { echo "$CACHE_ROOT/$(scenario_name "$1")-$(scenario_hash "$1")"; }

cmd_load() {
  local scenario="$1"
  [ -f "$scenario" ] || die "no such scenario: $scenario"
  local info dir
  info="$(python3 "$GEN" "$scenario" --info)" || die "invalid scenario $scenario"
  dir="$(cache_dir "$scenario")"
  if [ -f "$dir/complete" ]; then
    log "load: cached $dir"
    return 0
  fi
  mkdir -p "$CACHE_ROOT"
  # One loader per scenario build at a time; a second one waits, then sees the marker.
  exec 8>"$dir.lock"
  flock 8
  if [ -f "$dir/complete" ]; then
    log "load: cached $dir (built by a concurrent load)"
    exec 8>&-
    return 0
  fi
  local start end step lines
  read -r start end step lines < <(python3 -c \
    'import json,sys; d=json.loads(sys.argv[1]); print(d["start"], d["end"], d["step"], d["lines"])' "$info")
  log "load: $(scenario_name "$scenario") $start .. $end step ${step}s, $lines samples -> $dir"
  rm -rf "$dir"
  mkdir -p "$dir/data" "$dir/tmp"
  local t_all s e chunk_from chunk_to gen_s=0 tool_s=0
  t_all="$(now)"
  s="$(date -u -d "$start" +%s)"
  e="$(date -u -d "$end" +%s)"
  chunk_from=$(( s / BLOCK_SECONDS * BLOCK_SECONDS ))
  while [ "$chunk_from" -le "$e" ]; do
    chunk_to=$(( chunk_from + BLOCK_SECONDS ))
    local from_txt to_txt om="$dir/tmp/chunk.om"
    from_txt="$(date -u -d "@$chunk_from" +%Y-%m-%dT%H:%M:%SZ)"
    to_txt="$(date -u -d "@$chunk_to" +%Y-%m-%dT%H:%M:%SZ)"
    locked_timed "$dir/tmp/seconds" python3 "$GEN" "$scenario" --from "$from_txt" --to "$to_txt" -o "$om"
    gen_s="$(add "$gen_s" "$dir/tmp/seconds")"
    if [ "$(head -c 5 "$om")" != "# EOF" ]; then
      log "load: chunk $from_txt .. $to_txt: $(du -h "$om" | cut -f1), promtool ..."
      locked_timed "$dir/tmp/seconds" "$PROMTOOL" tsdb create-blocks-from openmetrics -q \
        --max-block-duration=486h "$om" "$dir/data" >"$dir/tmp/promtool.log" 2>&1 ||
        { cat "$dir/tmp/promtool.log" >&2; die "promtool failed on chunk $from_txt"; }
      tool_s="$(add "$tool_s" "$dir/tmp/seconds")"
    fi
    rm -f "$om"
    chunk_from="$chunk_to"
  done
  rm -rf "$dir/tmp"
  local blocks size
  blocks="$(find "$dir/data" -mindepth 1 -maxdepth 1 -type d | wc -l)"
  [ "$blocks" -gt 0 ] || die "promtool produced no blocks"
  size="$(du -sh "$dir/data" | cut -f1)"
  printf '{"scenario": "%s", "hash": "%s", "samples": %s, "blocks": %s, "size": "%s", "generate_seconds": %s, "promtool_seconds": %s, "total_seconds": %s}\n' \
    "$(scenario_name "$scenario")" "$(scenario_hash "$scenario")" "$lines" "$blocks" "$size" \
    "$gen_s" "$tool_s" "$(since "$t_all")" >"$dir/load.json"
  cp "$scenario" "$dir/scenario.yaml"
  touch "$dir/complete"
  exec 8>&-
  log "load: done in $(since "$t_all")s (generate ${gen_s}s, promtool ${tool_s}s, rest is waiting for $BUILD_LOCK), $blocks blocks, $size"
}

free_port() {
  python3 -c 'import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$HOST"
}

port_is_free() {
  python3 -c 'import socket, sys; s = socket.socket(); s.bind((sys.argv[2], int(sys.argv[1])))' "$1" "$HOST" 2>/dev/null
}

# Is PID a prometheus serving DIR/data?  Guards against signalling a recycled PID.
is_our_prometheus() {
  local pid="$1" dir="$2"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--storage.tsdb.path=$dir/data "
}

http_get() { curl -fsS --max-time 5 "$@"; }

cmd_start() {
  local scenario="$1" dir="$2" port="${3:-}"
  [ -f "$scenario" ] || die "no such scenario: $scenario"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  local t_all
  t_all="$(now)"
  if [ -f "$dir/env" ]; then
    local old_pid old_hash
    old_pid="$(sed -n 's/^PROM_PID=//p' "$dir/env")"
    old_hash="$(sed -n 's/^PROM_SCENARIO_HASH=//p' "$dir/env")"
    if is_our_prometheus "$old_pid" "$dir"; then
      if [ "$old_hash" = "$(scenario_hash "$scenario")" ]; then
        log "start: already running in $dir (pid $old_pid)"
        cat "$dir/env"
        return 0
      fi
      die "start: $dir already runs another scenario (pid $old_pid); stop it first"
    fi
    rm -f "$dir/env"
  fi
  if [ -n "$port" ] && ! port_is_free "$port"; then
    die "start: $HOST:$port is already in use"
  fi
  cmd_load "$scenario"
  local cache start end step
  cache="$(cache_dir "$scenario")"
  read -r start end step < <(python3 "$GEN" "$scenario" --info |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["start"], d["end"], d["step"])')

  rm -rf "$dir/data"
  cp -al "$cache/data" "$dir/data"
  # Scrape nothing: the TSDB holds only the synthetic history.
  cat >"$dir/prometheus.yml" <<'EOF'
global:
  scrape_interval: 1m
  evaluation_interval: 1m
scrape_configs: []
EOF

  local attempt pid="" fixed_port="$port"
  for attempt in 1 2 3; do
    [ -n "$fixed_port" ] || port="$(free_port)"
    : >"$dir/prometheus.log"
    # setsid: own session, so the caller's terminal signals do not reach it; `stop` ends it.
    setsid "$PROMETHEUS" \
      --config.file="$dir/prometheus.yml" \
      --storage.tsdb.path="$dir/data" \
      --storage.tsdb.retention.time=100y \
      --web.listen-address="$HOST:$port" \
      --web.enable-lifecycle \
      --log.level=info \
      </dev/null >>"$dir/prometheus.log" 2>&1 &
    pid=$!
    local deadline=$((SECONDS + READY_TIMEOUT)) ready=0
    while [ "$SECONDS" -lt "$deadline" ]; do
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      # Ready means: this process logged readiness (so the port is ours) and answers /-/ready.
      if grep -q "Server is ready to receive web requests" "$dir/prometheus.log" &&
        http_get "http://$HOST:$port/-/ready" >/dev/null 2>&1; then
        ready=1
        break
      fi
      sleep 0.1
    done
    if [ "$ready" = 1 ]; then break; fi
    if ! kill -0 "$pid" 2>/dev/null && [ -z "$fixed_port" ] &&
      grep -q "address already in use" "$dir/prometheus.log"; then
      log "start: port $port taken meanwhile, retrying ($attempt)"
      continue
    fi
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      log "start: prometheus did not become ready within ${READY_TIMEOUT}s; log tail:"
    else
      log "start: prometheus exited during startup; log tail:"
    fi
    tail -n 25 "$dir/prometheus.log" >&2
    exit 1
  done
  kill -0 "$pid" 2>/dev/null || { tail -n 25 "$dir/prometheus.log" >&2; die "start: prometheus exited"; }

  local url="http://$HOST:$port"
  # Data check: the synthetic series must be visible at the scenario's last instant.
  local deadline=$((SECONDS + READY_TIMEOUT)) n=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    n="$(http_get "$url/api/v1/query" --data-urlencode 'query=count(http_requests_total)' \
      --data-urlencode "time=$end" 2>/dev/null |
      python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' \
        2>/dev/null || true)"
    [ -n "$n" ] && break
    sleep 0.2
  done
  if [ -z "$n" ] || ! kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    log "start: no synthetic data visible at $end; log tail:"
    tail -n 25 "$dir/prometheus.log" >&2
    exit 1
  fi
  cat >"$dir/env.tmp" <<EOF
PROM_URL=$url
PROM_PID=$pid
PID=$pid
PROM_PORT=$port
PROM_DIR=$dir
PROM_SCENARIO=$(cd "$(dirname "$scenario")" && pwd)/$(basename "$scenario")
PROM_SCENARIO_HASH=$(scenario_hash "$scenario")
PROM_CACHE=$cache
PROM_START=$start
PROM_END=$end
PROM_STEP=$step
EOF
  mv "$dir/env.tmp" "$dir/env"
  log "start: $url pid $pid ready with $n request series at $end (${step}s step) in $(since "$t_all")s"
  cat "$dir/env"
}

cmd_stop() {
  local dir="$1"
  [ -d "$dir" ] || die "stop: no such directory $dir"
  dir="$(cd "$dir" && pwd)"
  if [ ! -f "$dir/env" ]; then
    log "stop: nothing running in $dir"
    return 0
  fi
  local pid
  pid="$(sed -n 's/^PROM_PID=//p' "$dir/env")"
  if is_our_prometheus "$pid" "$dir"; then
    kill -TERM "$pid"
    local deadline=$((SECONDS + 10))
    while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$pid" 2>/dev/null; do
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "stop: pid $pid ignored SIGTERM for 10s, killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stop: stopped pid $pid ($dir)"
  else
    log "stop: pid $pid is not running any more"
  fi
  rm -f "$dir/env"
  rm -rf "$dir/data"
}

cmd_status() {
  local dir="$1"
  if [ ! -f "$dir/env" ]; then echo "stopped"; return 3; fi
  dir="$(cd "$dir" && pwd)"
  local pid url
  pid="$(sed -n 's/^PROM_PID=//p' "$dir/env")"
  url="$(sed -n 's/^PROM_URL=//p' "$dir/env")"
  if ! is_our_prometheus "$pid" "$dir"; then
    echo "stopped (stale env: pid $pid gone)"
    return 3
  fi
  if http_get "$url/-/ready" >/dev/null 2>&1; then
    echo "ready $url pid $pid"
    cat "$dir/env"
    return 0
  fi
  echo "running but not ready: $url pid $pid"
  return 1
}

cmd_check() {
  local dir="$1"
  [ -f "$dir/env" ] || die "check: nothing running in $dir"
  local url scenario
  url="$(sed -n 's/^PROM_URL=//p' "$dir/env")"
  scenario="$(sed -n 's/^PROM_SCENARIO=//p' "$dir/env")"
  python3 "$CHECK" --url "$url" "$scenario"
}

cmd_prune() {
  local scenario="$1" keep name d
  keep="$(cache_dir "$scenario")"
  name="$(scenario_name "$scenario")"
  for d in "$CACHE_ROOT/$name"-*; do
    [ -e "$d" ] || continue
    case "$d" in "$keep" | "$keep.lock") continue ;; esac
    # Exactly <name>-<12 hex>[.lock]: never touch another scenario whose name extends this one.
    [[ "$(basename "$d")" =~ ^$name-[0-9a-f]{12}(\.lock)?$ ]] || continue
    log "prune: removing $d"
    rm -rf "$d"
  done
}

main() {
  [ $# -ge 1 ] || usage
  local cmd="$1"
  shift
  case "$cmd" in
    load) [ $# -eq 1 ] || usage; cmd_load "$1" ;;
    start) if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi; cmd_start "$@" ;;
    stop) [ $# -eq 1 ] || usage; cmd_stop "$1" ;;
    status) [ $# -eq 1 ] || usage; cmd_status "$1" ;;
    check) [ $# -eq 1 ] || usage; cmd_check "$1" ;;
    path) [ $# -eq 1 ] || usage; cache_dir "$1" ;;
    prune) [ $# -eq 1 ] || usage; cmd_prune "$1" ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
}

main "$@"
