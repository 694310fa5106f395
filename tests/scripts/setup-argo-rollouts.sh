#!/usr/bin/env bash
# Fetches Argo Rollouts' own CustomResourceDefinitions (Rollout, AnalysisTemplate) from the
# github.com/argoproj/argo-rollouts Go module (its manifests/crds), so that the e2e tests apply
# the real CRDs to the real API server instead of a hand-written imitation.
#
#   setup-argo-rollouts.sh          download if missing, then print what is there
#   setup-argo-rollouts.sh --path   download if missing, then print only the directory
#
# Pinned version (ARGO_ROLLOUTS_VERSION, default v1.8.3), cached in
# ${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/argo-rollouts-<version>/ (sharing the control
# plane's Go module cache); nothing is fetched when that directory is complete.
set -euo pipefail

CACHE_DIR="${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}"
VERSION="${ARGO_ROLLOUTS_VERSION:-v1.8.3}"
DIR="$CACHE_DIR/argo-rollouts-$VERSION"
FILES=(rollout-crd.yaml analysis-template-crd.yaml)

log() { printf '[setup-argo-rollouts] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

complete() {
  local f
  for f in "${FILES[@]}"; do [ -s "$DIR/$f" ] || return 1; done
}

if ! complete; then
  command -v go >/dev/null || die "go is needed to fetch the argo-rollouts module from the Go module proxy"
  mkdir -p "$CACHE_DIR"
  export GOMODCACHE="$CACHE_DIR/controlplane/go/mod"
  export GOTOOLCHAIN=local
  export GOFLAGS="-modcacherw -buildvcs=false"
  log "fetching github.com/argoproj/argo-rollouts@$VERSION from the Go module proxy"
  module="$(go mod download -json "github.com/argoproj/argo-rollouts@$VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')" ||
    die "downloading github.com/argoproj/argo-rollouts@$VERSION failed"
  work="$(mktemp -d "$CACHE_DIR/argo-rollouts.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  for f in "${FILES[@]}"; do
    [ -s "$module/manifests/crds/$f" ] || die "$module/manifests/crds/$f is missing"
    cp "$module/manifests/crds/$f" "$work/$f"
  done
  rm -rf "$DIR"
  mv "$work" "$DIR"
  trap - EXIT
  log "cached in $DIR"
fi
if [ "${1:-}" = "--path" ]; then
  echo "$DIR"
else
  ls -l "$DIR"
fi
