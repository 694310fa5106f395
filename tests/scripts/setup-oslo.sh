#!/usr/bin/env bash
# Installs oslo, OpenSLO's reference validator (github.com/OpenSLO/oslo), which the OpenSLO tests
# use as the judge of what is valid OpenSLO v1.
#
#   setup-oslo.sh          build if missing, then print `oslo version`
#   setup-oslo.sh --path   build if missing, then print only the binary's path
#
# Built from the Go module proxy with `go install` at a pinned version (OSLO_VERSION, default
# v0.13.0) into ${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/bin/oslo, sharing the control plane's
# Go module and build caches; nothing is built when that binary is there. Takes the machine's
# build lock while compiling.
set -euo pipefail

CACHE_DIR="${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}"
VERSION="${OSLO_VERSION:-v0.13.0}"
BIN_DIR="$CACHE_DIR/bin"
OSLO="$BIN_DIR/oslo-$VERSION"
BUILD_LOCK="${BUDGETGATE_BUILD_LOCK:-/tmp/budgetgate-build.lock}"

log() { printf '[setup-oslo] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [ ! -x "$OSLO" ]; then
  command -v go >/dev/null || die "go is needed to build oslo from the Go module proxy"
  mkdir -p "$BIN_DIR"
  export GOMODCACHE="$CACHE_DIR/controlplane/go/mod"
  export GOCACHE="$CACHE_DIR/controlplane/go/build"
  export GOTOOLCHAIN=local
  export GOFLAGS="-modcacherw -buildvcs=false"
  work="$(mktemp -d "$CACHE_DIR/oslo-install.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  log "building github.com/OpenSLO/oslo $VERSION (about a minute the first time)"
  started=$SECONDS
  # `go install pkg@version` also asks the proxy for the module's version list (for deprecation
  # notices), which the proxy here refuses: download the pinned module and build it in place.
  dir="$(go mod download -json "github.com/OpenSLO/oslo@$VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')" ||
    die "downloading github.com/OpenSLO/oslo@$VERSION from the Go module proxy failed"
  (cd "$dir" && flock "$BUILD_LOCK" go build -o "$work/oslo" ./cmd/oslo) ||
    die "building github.com/OpenSLO/oslo $VERSION failed"
  mv "$work/oslo" "$OSLO"
  log "built $OSLO in $((SECONDS - started)) s"
fi
if [ "${1:-}" = "--path" ]; then
  echo "$OSLO"
else
  # oslo v0.13 has no `version` command; print the first line of its help instead. Read the whole
  # help (sed, not head) so that pipefail never sees a SIGPIPE (CI once exited 141 here).
  "$OSLO" version 2>/dev/null || "$OSLO" --help 2>&1 | sed -n 1p
fi
