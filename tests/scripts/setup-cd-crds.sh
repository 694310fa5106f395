#!/usr/bin/env bash
# Fetches the CustomResourceDefinitions of the CD tools budgetgate answers, from their own Go
# modules, so that the e2e tests apply the real CRDs to the real API server instead of a
# hand-written imitation:
#   github.com/argoproj/argo-rollouts  manifests/crds/{rollout,analysis-template}-crd.yaml
#   github.com/fluxcd/flagger          artifacts/flagger/crd.yaml (Canary, MetricTemplate, AlertProvider)
#
#   setup-cd-crds.sh          download if missing, then list what is there
#   setup-cd-crds.sh --path   download if missing, then print only the directory
#
# Pinned versions (ARGO_ROLLOUTS_VERSION, default v1.8.3; FLAGGER_VERSION, default v1.36.1),
# cached in ${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/cd-crds-<versions>/ (sharing the control
# plane's Go module cache); nothing is fetched when that directory is complete.
set -euo pipefail

CACHE_DIR="${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}"
ARGO="${ARGO_ROLLOUTS_VERSION:-v1.8.3}"
FLAGGER="${FLAGGER_VERSION:-v1.36.1}"
DIR="$CACHE_DIR/cd-crds-argo-rollouts-$ARGO-flagger-$FLAGGER"
# module@version  path-in-module  file-name-here
SOURCES=(
  "github.com/argoproj/argo-rollouts@$ARGO manifests/crds/rollout-crd.yaml rollout-crd.yaml"
  "github.com/argoproj/argo-rollouts@$ARGO manifests/crds/analysis-template-crd.yaml analysis-template-crd.yaml"
  "github.com/fluxcd/flagger@$FLAGGER artifacts/flagger/crd.yaml flagger-crd.yaml"
)

log() { printf '[setup-cd-crds] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

complete() {
  local s
  for s in "${SOURCES[@]}"; do
    set -- $s
    [ -s "$DIR/$3" ] || return 1
  done
}

if ! complete; then
  command -v go >/dev/null || die "go is needed to fetch modules from the Go module proxy"
  mkdir -p "$CACHE_DIR"
  export GOMODCACHE="$CACHE_DIR/controlplane/go/mod"
  export GOTOOLCHAIN=local
  export GOFLAGS="-modcacherw -buildvcs=false"
  work="$(mktemp -d "$CACHE_DIR/cd-crds.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  for s in "${SOURCES[@]}"; do
    set -- $s
    log "fetching $1 ($2) from the Go module proxy"
    module="$(go mod download -json "$1" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')" ||
      die "downloading $1 failed"
    [ -s "$module/$2" ] || die "$module/$2 is missing"
    cp "$module/$2" "$work/$3"
    chmod u+w "$work/$3"
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
