#!/usr/bin/env bash
# Builds the test control plane's binaries (kube-apiserver, kube-controller-manager, etcd) from
# the Go module proxy, with the pinned wrapper modules tests/controlplane/go.mod (Kubernetes)
# and tests/controlplane/etcd/go.mod (etcd); with --node also a node's (kubelet, kube-proxy,
# kube-scheduler, for tests/scripts/node.sh) from the same module.
#
#   build-controlplane.sh [--node]            build if needed (one line and exit 0 when cached)
#   build-controlplane.sh [--node] --bin-dir  print the binaries' directory only (builds nothing)
#   build-controlplane.sh [--node] --force    rebuild even when cached
#   build-controlplane.sh [--node] --prune    build if needed, then delete the Go module and
#                                             build caches (~3.5 GB) and binaries of other pins
#   build-controlplane.sh --help
#
# Output: ${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/controlplane/k8s-<ver>-etcd-<ver>-<hash>/
# bin/{kube-apiserver,kube-controller-manager,etcd[,kubelet,kube-proxy,kube-scheduler]} plus
# bin/.stamp (sha256 of the wrapper modules' go.mod/go.sum; <hash> is its first 12 digits, so
# worktrees with different pins keep their own binaries).  The build is cached when the wanted
# binaries and a matching stamp exist; --node on a cached control plane builds only the node's
# three.  The Go module and build caches live in .../controlplane/go/{mod,build}, so nothing
# touches ~/go.
# Builds run under flock /tmp/budgetgate-build.lock (shared with the C++ builds on this
# machine) with -p 2.  Go toolchain: `go` on PATH (override with GO=...), never downloaded
# (GOTOOLCHAIN=local).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
K8S_MOD="$ROOT/tests/controlplane"
ETCD_MOD="$ROOT/tests/controlplane/etcd"
CACHE_ROOT="${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/controlplane"
BUILD_LOCK="${BUDGETGATE_BUILD_LOCK:-/tmp/budgetgate-build.lock}"
GO="${GO:-go}"

log() { printf '[build-controlplane %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The pinned versions are read from the wrapper modules, so go.mod is the only place to change.
K8S_VERSION="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$K8S_MOD/go.mod")"
ETCD_VERSION="$(awk '$1 == "require" && $2 == "go.etcd.io/etcd/server/v3" { print $3 }' "$ETCD_MOD/go.mod")"
[ -n "$K8S_VERSION" ] || die "no 'require k8s.io/kubernetes VERSION' line in $K8S_MOD/go.mod"
[ -n "$ETCD_VERSION" ] || die "no 'require go.etcd.io/etcd/server/v3 VERSION' line in $ETCD_MOD/go.mod"

stamp() {
  cat "$K8S_MOD/go.mod" "$K8S_MOD/go.sum" "$ETCD_MOD/go.mod" "$ETCD_MOD/go.sum" | sha256sum | cut -d' ' -f1
}

STAMP="$(stamp)"
OUT_DIR="$CACHE_ROOT/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-${STAMP:0:12}"
BIN_DIR="$OUT_DIR/bin"
CONTROLPLANE_BINARIES=(kube-apiserver kube-controller-manager etcd)
NODE_BINARIES=(kubelet kube-proxy kube-scheduler)
BINARIES=("${CONTROLPLANE_BINARIES[@]}")

# have NAME...: every named binary is in BIN_DIR, built from the current pins.
have() {
  local b
  [ -f "$BIN_DIR/.stamp" ] && [ "$(cat "$BIN_DIR/.stamp")" = "$STAMP" ] || return 1
  for b in "$@"; do [ -x "$BIN_DIR/$b" ] || return 1; done
}
is_cached() { have "${BINARIES[@]}"; }

prune() {
  local d
  rm -rf "$CACHE_ROOT/go"
  for d in "$CACHE_ROOT"/k8s-*; do
    [ "$d" = "$OUT_DIR" ] || [ ! -d "$d" ] || rm -rf "$d"
  done
  log "pruned: only $BIN_DIR is left ($(du -sh "$CACHE_ROOT" | cut -f1)); a version bump rebuilds from scratch"
}

force=0
do_prune=0
print_dir=0
for arg in "$@"; do
  case "$arg" in
    --node) BINARIES+=("${NODE_BINARIES[@]}") ;;
    --bin-dir) print_dir=1 ;;
    --force) force=1 ;;
    --prune) do_prune=1 ;;
    -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (use --node, --bin-dir, --force, --prune or --help)" ;;
  esac
done
[ "$print_dir" = 0 ] || { echo "$BIN_DIR"; exit 0; }

if [ "$force" = 0 ] && is_cached; then
  log "cached: ${BINARIES[*]} ($K8S_VERSION, etcd $ETCD_VERSION) in $BIN_DIR (nothing to do)"
  [ "$do_prune" = 0 ] || prune
  exit 0
fi

command -v "$GO" >/dev/null || die "Go toolchain '$GO' not found (Go >= 1.23 is needed; set GO=/path/to/go)"
go_version="$("$GO" env GOVERSION)" || die "'$GO env GOVERSION' failed"
go_minor="${go_version#go1.}"
go_minor="${go_minor%%[!0-9]*}"
[ "${go_minor:-0}" -ge 23 ] || die "$go_version is too old: Kubernetes ${K8S_VERSION%.*} needs Go >= 1.23 (set GO=/path/to/go)"
command -v flock >/dev/null || die "flock not found (Debian package util-linux)"

# One build of this output at a time (a second caller waits, then finds it cached).
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
if ! flock -n 9; then
  log "another build-controlplane.sh is running; waiting for it"
  flock 9
fi
if [ "$force" = 0 ] && is_cached; then
  log "cached: built meanwhile by another build-controlplane.sh in $BIN_DIR"
  exit 0
fi

export GOMODCACHE="$CACHE_ROOT/go/mod"
export GOCACHE="$CACHE_ROOT/go/build"
export GOTOOLCHAIN=local
export CGO_ENABLED=0
# -modcacherw: the module cache can be deleted with rm -rf; -mod=readonly: never edit go.mod.
export GOFLAGS="-modcacherw -mod=readonly -buildvcs=false"
mkdir -p "$GOMODCACHE" "$GOCACHE" "$OUT_DIR"

# Version stamping as Kubernetes' own hack/lib/version.sh does, so /version and
# `kubectl version` report the real release instead of v0.0.0-master.
k8s_minor="${K8S_VERSION#v1.}"
k8s_minor="${k8s_minor%%.*}"
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

STAGE="$(mktemp -d "$OUT_DIR/bin.tmp.XXXXXX")"
# shellcheck disable=SC2064  # expand $STAGE now
trap "rm -rf '$STAGE'" EXIT

# go_build NAME DIR PACKAGE LDFLAGS MINUTES: one `go build` holding the machine-wide build lock
# (fd 7; the go command inherits it, so the lock is held exactly while it runs).
go_build() {
  local name="$1" dir="$2" pkg="$3" ldflags="$4" minutes="$5" t0 waited=""
  log "building $name (this takes ~$minutes min on 2 cores when nothing is cached)"
  exec 7>"$BUILD_LOCK"
  if ! flock -n 7; then
    log "waiting for $BUILD_LOCK (another build is running on this machine)"
    t0=$SECONDS
    flock 7
    waited=" after waiting $((SECONDS - t0)) s for the build lock"
  fi
  t0=$SECONDS
  if ! (cd "$dir" && "$GO" build -p 2 -trimpath -ldflags="$ldflags" -o "$STAGE/$name" "$pkg"); then
    exec 7>&-
    die "go build of $name ($pkg) failed; see the output above"
  fi
  exec 7>&-
  log "built $name in $((SECONDS - t0)) s$waited ($(du -h "$STAGE/$name" | cut -f1))"
}

t_all=$SECONDS
log "downloading modules for k8s.io/kubernetes $K8S_VERSION and etcd $ETCD_VERSION (~1 min the first time)"
(cd "$K8S_MOD" && "$GO" mod download) || die "go mod download failed in $K8S_MOD (module proxy reachable?)"
(cd "$ETCD_MOD" && "$GO" mod download) || die "go mod download failed in $ETCD_MOD (module proxy reachable?)"

# What to build: everything wanted, or (the control plane cached from these pins) only the node's.
todo=()
if [ "$force" = 0 ] && have "${CONTROLPLANE_BINARIES[@]}"; then
  for b in "${BINARIES[@]}"; do have "$b" || todo+=("$b"); done
else
  todo=("${BINARIES[@]}")
fi
for b in "${todo[@]}"; do
  case "$b" in
    etcd) go_build etcd "$ETCD_MOD" go.etcd.io/etcd/server/v3 "-s -w" 1 ;;
    kube-apiserver) go_build kube-apiserver "$K8S_MOD" k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags" 4.5 ;;
    kube-controller-manager) go_build kube-controller-manager "$K8S_MOD" k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags" 1.5 ;;
    # kubelet: ~4.5 min cold, ~1 min when the control plane's packages are in the build cache.
    kubelet) go_build kubelet "$K8S_MOD" k8s.io/kubernetes/cmd/kubelet "$k8s_ldflags" 1.5 ;;
    kube-proxy) go_build kube-proxy "$K8S_MOD" k8s.io/kubernetes/cmd/kube-proxy "$k8s_ldflags" 0.5 ;;
    kube-scheduler) go_build kube-scheduler "$K8S_MOD" k8s.io/kubernetes/cmd/kube-scheduler "$k8s_ldflags" 0.5 ;;
  esac
  "$STAGE/$b" --version >/dev/null || die "the built $b does not run"
done

chmod 755 "$STAGE"
if [ "${#todo[@]}" -eq "${#BINARIES[@]}" ]; then
  echo "$STAMP" > "$STAGE/.stamp"
  rm -rf "$BIN_DIR"
  mv "$STAGE" "$BIN_DIR"
else
  # Added beside the cached control plane, one rename each (readers never see half a file).
  for b in "${todo[@]}"; do mv "$STAGE/$b" "$BIN_DIR/$b"; done
  rm -rf "$STAGE"
fi
trap - EXIT
log "done in $((SECONDS - t_all)) s: ${todo[*]} in $BIN_DIR ($("$BIN_DIR/kube-apiserver" --version), etcd $ETCD_VERSION)"
[ "$do_prune" = 0 ] || prune
