# shellcheck shell=bash
# Builds one command of a Go module from the Go module proxy at a pinned version, with the
# machine's Go toolchain (never downloaded: GOTOOLCHAIN=local), into the cache, once. Sourced by
# setup-victoriametrics.sh and setup-thanos.sh, which set:
#
#   NAME       short name for logs, e.g. victoriametrics
#   MODULE     Go module path          VERSION   pinned version
#   PACKAGE    ./path of the command   BIN       where the binary goes (in the cache)
#   LDFLAGS    -ldflags for go build   CHECK     an argument that makes the binary exit 0 (--version)
#   TAGS       build tags (optional: the upstream release build's, e.g. slicelabels for Thanos)
#   ESTIMATE   how long a cold build takes on 2 cores (for the log line)
#
# then call go_module_binary, which prints nothing on stdout. Shares the control plane's Go
# module and build caches; holds the machine's build lock (/tmp/budgetgate-build.lock) while
# compiling; CGO off; a second caller waits for the first and finds the binary built.

CACHE_DIR="${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}"
BUILD_LOCK="${BUDGETGATE_BUILD_LOCK:-/tmp/budgetgate-build.lock}"
GO="${GO:-go}"

log() { printf '[setup-%s %s] %s\n' "$NAME" "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# A binary that is there and answers $CHECK is the cache hit.
go_module_cached() { [ -x "$BIN" ] && "$BIN" "$CHECK" >/dev/null 2>&1; }

go_module_binary() {
  go_module_cached && return 0
  command -v "$GO" >/dev/null || die "Go toolchain '$GO' not found (set GO=/path/to/go)"
  command -v flock >/dev/null || die "flock not found (Debian package util-linux)"
  local out_dir
  out_dir="$(dirname "$BIN")"
  mkdir -p "$out_dir"
  # One build of this version at a time: a second caller waits, then finds it built.
  exec 9>"$out_dir/.build.lock"
  if ! flock -n 9; then
    log "another setup-$NAME.sh is building $VERSION; waiting for it"
    flock 9
  fi
  if ! go_module_cached; then
    export GOMODCACHE="$CACHE_DIR/controlplane/go/mod"
    export GOCACHE="$CACHE_DIR/controlplane/go/build"
    export GOTOOLCHAIN=local
    export CGO_ENABLED=0
    # -modcacherw: the module cache can be deleted with rm -rf; -mod=readonly: the module's own
    # go.mod and go.sum decide every dependency (nothing is resolved anew).
    export GOFLAGS="-modcacherw -mod=readonly -buildvcs=false"
    mkdir -p "$GOMODCACHE" "$GOCACHE"
    local started=$SECONDS dir work
    # `go install pkg@version` also asks the proxy for the module's version list, which the proxy
    # here may refuse, and refuses modules with replace directives: download the pinned module
    # and build it in place.
    log "downloading $MODULE@$VERSION and its dependencies from the Go module proxy"
    dir="$("$GO" mod download -json "$MODULE@$VERSION" |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))')" ||
      die "downloading $MODULE@$VERSION from the Go module proxy failed"
    # Only the modules that the package imports (`go list -deps` fetches them): a plain
    # `go mod download` would fetch every module in the graph, and the proxy may refuse one that
    # only other parts of the repository use.
    (cd "$dir" && "$GO" list -deps "$PACKAGE" >/dev/null) ||
      die "downloading the dependencies of $MODULE@$VERSION failed (its go.mod needs $(awk '$1 == "go" { print $2 }' "$dir/go.mod"); this is $("$GO" env GOVERSION))"
    work="$(mktemp -d "$out_dir/build.XXXXXX")"
    # shellcheck disable=SC2064  # expand $work now
    trap "rm -rf '$work'" EXIT
    if ! flock -n "$BUILD_LOCK" true; then
      log "waiting for $BUILD_LOCK (another build is running on this machine)"
    fi
    log "building $PACKAGE $VERSION ($ESTIMATE on 2 cores when nothing is cached)"
    (cd "$dir" && nice flock "$BUILD_LOCK" "$GO" build -p 2 -trimpath -tags "${TAGS:-}" -ldflags "$LDFLAGS" \
      -o "$work/$(basename "$BIN")" "$PACKAGE") ||
      die "go build of $MODULE/$PACKAGE $VERSION failed; see the output above"
    "$work/$(basename "$BIN")" "$CHECK" >/dev/null 2>&1 || die "the built $(basename "$BIN") does not run"
    mv -f "$work/$(basename "$BIN")" "$BIN"  # one rename: a reader never sees half a binary
    rm -rf "$work"
    trap - EXIT
    log "built $BIN in $((SECONDS - started)) s"
  fi
  exec 9>&-
}
