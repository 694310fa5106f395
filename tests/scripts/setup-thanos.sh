#!/usr/bin/env bash
# Builds Thanos (`thanos`, github.com/thanos-io/thanos cmd/thanos) for tests/e2e/thanos_e2e.py:
# a Thanos Query in front of a Thanos sidecar in front of Prometheus, compared with Prometheus.
#
#   setup-thanos.sh          build if missing, then print the binary's path
#   setup-thanos.sh --path   the same
#   setup-thanos.sh --help
#
# Built from the Go module proxy at a pinned version (THANOS_VERSION, default v0.41.0: v0.42
# needs Go 1.26.10, newer than this machine's) with the machine's Go toolchain (GOTOOLCHAIN=local)
# into ${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/thanos/<version>/thanos, sharing the control
# plane's Go module and build caches (lib/go-module-binary.sh). Nothing is built when that binary
# is there and runs. The cold build holds the machine's build lock. Logs go to stderr, the path
# alone to stdout.
set -euo pipefail

NAME=thanos
MODULE="github.com/thanos-io/thanos"
VERSION="${THANOS_VERSION:-v0.41.0}"
PACKAGE="./cmd/thanos"
# The tags of Thanos' release build (.promu.yml): its gRPC label codecs assume Prometheus'
# slice-based labels, and crash (SIGSEGV marshalling the Info response) with the default ones.
TAGS="netgo slicelabels"
LDFLAGS="-s -w -X github.com/prometheus/common/version.Version=${VERSION#v}"
CHECK="--version"
ESTIMATE="~1.5 min"
# shellcheck source=lib/go-module-binary.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/go-module-binary.sh"
BIN="$CACHE_DIR/thanos/$VERSION/thanos"

case "${1:-}" in
  ""|--path) ;;
  -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1' (use --path or --help)" ;;
esac

go_module_binary
echo "$BIN"
