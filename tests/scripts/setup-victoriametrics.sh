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
# sharing the control plane's Go module and build caches (lib/go-module-binary.sh). Nothing is
# built when that binary is there and runs (a second run takes well under a second). The go
# build (74 s on 2 cores when nothing is cached) holds the machine's build lock; CGO is off (the
# upstream `victoria-metrics-pure` build). Logs go to stderr, the path alone to stdout.
set -euo pipefail

NAME=victoriametrics
MODULE="github.com/VictoriaMetrics/VictoriaMetrics"
VERSION="${VICTORIAMETRICS_VERSION:-v1.151.0}"
PACKAGE="./app/victoria-metrics"
LDFLAGS="-s -w -X '$MODULE/lib/buildinfo.Version=victoria-metrics-$VERSION'"
CHECK="-version"
ESTIMATE="~1.5 min"
# shellcheck source=lib/go-module-binary.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/go-module-binary.sh"
BIN="$CACHE_DIR/victoriametrics/$VERSION/victoria-metrics"

case "${1:-}" in
  ""|--path) ;;
  -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1' (use --path or --help)" ;;
esac

go_module_binary
echo "$BIN"
