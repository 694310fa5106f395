#!/usr/bin/env bash
# Builds VictoriaMetrics single-node (`victoria-metrics`, github.com/VictoriaMetrics/VictoriaMetrics
# app/victoria-metrics), the Prometheus-compatible backend that tests/e2e/victoriametrics_e2e.py
# compares with Prometheus.
#
#   setup-victoriametrics.sh          build if missing, then print the binary's path
#   setup-victoriametrics.sh --path   the same (for symmetry with setup-helm.sh / setup-oslo.sh)
#   setup-victoriametrics.sh --help
#
# Built from the Go module proxy at a pinned version (VICTORIAMETRICS_VERSION, default v1.151.0)
# with the machine's Go toolchain (`go` on PATH, or GO=...; never downloaded: GOTOOLCHAIN=local)
# into ${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/victoriametrics/<version>/victoria-metrics,
# sharing the control plane's Go module and build caches. Nothing is built when that binary is
# there and runs (a second run takes well under a second). The go build (74 s on 2 cores when
# nothing is cached) holds the machine's build lock /tmp/budgetgate-build.lock; CGO is off (the
# upstream `victoria-metrics-pure` build). Logs go to stderr, the path alone to stdout.
set -euo pipefail

CACHE_DIR="${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}"
VERSION="${VICTORIAMETRICS_VERSION:-v1.151.0}"
MODULE="github.com/VictoriaMetrics/VictoriaMetrics"
PACKAGE="./app/victoria-metrics"
OUT_DIR="$CACHE_DIR/victoriametrics/$VERSION"
BIN="$OUT_DIR/victoria-metrics"
BUILD_LOCK="${BUDGETGATE_BUILD_LOCK:-/tmp/budgetgate-build.lock}"
GO="${GO:-go}"

log() { printf '[setup-victoriametrics %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

case "${1:-}" in
  ""|--path) ;;
  -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1' (use --path or --help)" ;;
esac

# A binary that is there and answers -version is the cache hit.
cached() { [ -x "$BIN" ] && "$BIN" -version >/dev/null 2>&1; }

if ! cached; then
  command -v "$GO" >/dev/null || die "Go toolchain '$GO' not found (set GO=/path/to/go)"
  command -v flock >/dev/null || die "flock not found (Debian package util-linux)"
  mkdir -p "$OUT_DIR"
  # One build of this version at a time: a second caller waits, then finds it built.
  exec 9>"$OUT_DIR/.build.lock"
  if ! flock -n 9; then
    log "another setup-victoriametrics.sh is building $VERSION; waiting for it"
    flock 9
  fi
  if ! cached; then
    export GOMODCACHE="$CACHE_DIR/controlplane/go/mod"
    export GOCACHE="$CACHE_DIR/controlplane/go/build"
    export GOTOOLCHAIN=local
    export CGO_ENABLED=0
    # -modcacherw: the module cache can be deleted with rm -rf; -mod=readonly: the module's own
    # go.mod and go.sum decide every dependency (nothing is resolved anew).
    export GOFLAGS="-modcacherw -mod=readonly -buildvcs=false"
    mkdir -p "$GOMODCACHE" "$GOCACHE"
    started=$SECONDS
    # `go install pkg@version` also asks the proxy for the module's version list, which the proxy
    # here may refuse: download the pinned module and build it in place, as setup-oslo.sh does.
    log "downloading $MODULE@$VERSION and its dependencies from the Go module proxy"
    dir="$("$GO" mod download -json "$MODULE@$VERSION" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')" ||
      die "downloading $MODULE@$VERSION from the Go module proxy failed"
    # Only the modules that the package imports (`go list -deps` fetches them): a plain
    # `go mod download` would fetch every module in the graph, and the proxy refuses one that
    # only other parts of the repository use (github.com/prometheus/client_golang/exp).
    (cd "$dir" && "$GO" list -deps "$PACKAGE" >/dev/null) ||
      die "downloading the dependencies of $MODULE@$VERSION failed (its go.mod needs $(awk '$1 == "go" { print $2 }' "$dir/go.mod"); this is $("$GO" env GOVERSION))"
    work="$(mktemp -d "$OUT_DIR/build.XXXXXX")"
    # shellcheck disable=SC2064  # expand $work now
    trap "rm -rf '$work'" EXIT
    if ! flock -n "$BUILD_LOCK" true; then
      log "waiting for $BUILD_LOCK (another build is running on this machine)"
    fi
    log "building $PACKAGE $VERSION (~1.5 min on 2 cores when nothing is cached)"
    (cd "$dir" && nice flock "$BUILD_LOCK" "$GO" build -p 2 -trimpath \
      -ldflags "-s -w -X '$MODULE/lib/buildinfo.Version=victoria-metrics-$VERSION'" \
      -o "$work/victoria-metrics" "$PACKAGE") ||
      die "go build of $MODULE/app/victoria-metrics $VERSION failed; see the output above"
    "$work/victoria-metrics" -version >/dev/null || die "the built victoria-metrics does not run"
    mv -f "$work/victoria-metrics" "$BIN"  # one rename: a reader never sees half a binary
    rm -rf "$work"
    trap - EXIT
    log "built $BIN in $((SECONDS - started)) s ($("$BIN" -version))"
  fi
  exec 9>&-
fi
echo "$BIN"
