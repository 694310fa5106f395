#!/usr/bin/env bash
# Builds budgetgate's container image from the top-level Dockerfile without Docker or a
# registry (buildah, with a private storage under the cache), plus the two images a test node
# needs and cannot pull: the Debian base images the Dockerfile starts FROM (made with mmdebstrap
# from the Debian mirror apt uses) and the Pod sandbox ("pause") image, built from
# tests/node/pause.c. Each image is also written as a docker-archive for `ctr images import`.
#
#   build-image.sh [--tag TAG]     build what is missing (default tag: dev); print env lines
#   build-image.sh --refresh-base  rebuild the Debian base images (new package versions), then build
#   build-image.sh --print-env     print the env lines of the cached images only (builds nothing;
#                                  exit 1 if the image for the current sources is not built)
#   build-image.sh --pause-only    build (if needed) and print the pause image only (seconds)
#   build-image.sh --help
#
# Output (stdout, shell-sourceable; also in $CACHE/image/env):
#   BUDGETGATE_IMAGE=localhost/budgetgate:TAG   BUDGETGATE_IMAGE_ARCHIVE=.../budgetgate-<ctx>-TAG.tar
#   BUDGETGATE_IMAGE_ID=<sha256>                PAUSE_IMAGE=registry.k8s.io/pause:3.10
#   PAUSE_IMAGE_ARCHIVE=.../pause-<hash>.tar
# Cache (${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/image): storage/ and run/ (buildah's),
# tmp/ (buildah's temporary files and the Dockerfile's ccache mount), base/ (the mmdebstrap
# tarball), archives/. The image is rebuilt only when the build context changes (the files the
# Dockerfile can see after .dockerignore, hashed); the Dockerfile's layers and ccache make a
# rebuild after a small change quick. Heavy steps hold /tmp/budgetgate-build.lock.
# Network: the Debian mirror only (mmdebstrap, and apt-get inside the Dockerfile's RUN steps).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}/image"
BUILD_LOCK="${BUDGETGATE_BUILD_LOCK:-/tmp/budgetgate-build.lock}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
RELEASE=bookworm
REPO=localhost/budgetgate
PAUSE_IMAGE=registry.k8s.io/pause:3.10

log() { printf '[build-image %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

TAG=dev
refresh_base=0
print_only=0
pause_only=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --tag) [ -n "${2:-}" ] || die "--tag needs a value"; TAG="$2"; shift ;;
    --tag=*) TAG="${1#--tag=}" ;;
    --refresh-base) refresh_base=1 ;;
    --print-env) print_only=1 ;;
    --pause-only) pause_only=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
  shift
done
[[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "invalid image tag '$TAG' (letters, digits, _ . -)"

for tool in buildah mmdebstrap gcc python3 flock; do
  command -v "$tool" >/dev/null || die "$tool not found: run tests/scripts/setup-deps.sh"
done
[ "$(id -u)" -eq 0 ] || die "needs root (buildah with a private storage, mmdebstrap --mode=root)"

mkdir -p "$CACHE"/{storage,run,tmp,base,archives}
# buildah's temporary files and RUN --mount=type=cache directories live under TMPDIR.
export TMPDIR="$CACHE/tmp"
BUILDAH=(buildah --root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver overlay)

now_ms() { date +%s%3N; }
since() { local ms=$(( $(now_ms) - $1 )); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }

# One build-image.sh at a time (the storage is shared); a second caller waits.
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  log "another build-image.sh is running; waiting for it"
  flock 9
fi

# locked CMD...: run a heavy step under the machine-wide build lock.
locked() {
  local t0=$SECONDS
  exec 7>"$BUILD_LOCK"
  if ! flock -n 7; then
    log "waiting for $BUILD_LOCK (another build is running on this machine)"
    flock 7
    log "got the build lock after $((SECONDS - t0)) s"
  fi
  local rc=0
  "$@" 7>&- || rc=$?
  exec 7>&-
  return "$rc"
}

# The builder stage is tagged too, so that pruning below never drops the layers a later build
# reuses (its package installation); only superseded builds' layers go. Both under one hold of
# the build lock (the second reuses the first's layers).
bud_both() {
  "${BUILDAH[@]}" bud --layers --pull-never --network host --format docker \
    --target builder -t "$REPO-builder:cache" -f "$ROOT/Dockerfile" "$ROOT" >&2 &&
    "${BUILDAH[@]}" bud --layers --pull-never --network host --format docker \
      -t "$image" -f "$ROOT/Dockerfile" "$ROOT" >&2
}

image_exists() { "${BUILDAH[@]}" inspect --type image "$1" >/dev/null 2>&1; }
image_id() { "${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$1"; }

# The build context's fingerprint: every file the Dockerfile's COPY can see (.dockerignore
# applied), by path and content.
context_hash() {
  python3 - "$ROOT" <<'PY'
import fnmatch, hashlib, os, sys
root = sys.argv[1]
patterns = []
with open(os.path.join(root, ".dockerignore")) as f:
    for line in f:
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line.rstrip("/"))
def ignored(rel):
    for p in patterns:
        if p.startswith("**/"):
            if any(fnmatch.fnmatch(part, p[3:]) for part in rel.split("/")):
                return True
        elif fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel.split("/")[0], p):
            return True
    return False
h = hashlib.sha256()
for d, dirs, files in os.walk(root):
    rel_d = os.path.relpath(d, root)
    dirs[:] = sorted(x for x in dirs if not ignored(os.path.normpath(os.path.join(rel_d, x))))
    for name in sorted(files):
        rel = os.path.normpath(os.path.join(rel_d, name))
        if ignored(rel):
            continue
        path = os.path.join(d, name)
        h.update(rel.encode() + b"\0")
        if os.path.islink(path):
            h.update(b"link:" + os.readlink(path).encode())
        else:
            with open(path, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
            h.update(b"x" if os.access(path, os.X_OK) else b"-")
print(h.hexdigest()[:16])
PY
}

# ---------------------------------------------------------------------------------------------
# Debian base images: debian:bookworm (builder stage) and debian:bookworm-slim (runtime stage).

base_tar="$CACHE/base/debian-$RELEASE-minbase.tar"

make_base_tar() {
  local t0 tmp
  t0=$(now_ms)
  tmp="$base_tar.tmp"
  rm -f "$tmp"
  log "mmdebstrap: Debian $RELEASE minbase from $MIRROR (~1.5 min, downloads ~40 MB)"
  # The host's name and resolver do not belong in an image; the hook gets the root as $1.
  # shellcheck disable=SC2016
  locked mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
    --aptopt='Acquire::Retries "3"' \
    --customize-hook='rm -f "$1"/etc/hostname "$1"/etc/resolv.conf' \
    "$RELEASE" "$tmp" \
    "deb $MIRROR $RELEASE main" "deb $MIRROR $RELEASE-updates main" \
    "deb $SECURITY_MIRROR $RELEASE-security main" >&2 ||
    { rm -f "$tmp"; die "mmdebstrap failed (Debian mirror $MIRROR reachable?)"; }
  mv "$tmp" "$base_tar"
  log "base tarball: $(du -h "$base_tar" | cut -f1) in $(since "$t0") s"
}

make_base_images() {
  local t0 c
  t0=$(now_ms)
  c="$("${BUILDAH[@]}" from --pull-never scratch)"
  # shellcheck disable=SC2064  # expand $c now
  trap "\"\${BUILDAH[@]}\" rm '$c' >/dev/null 2>&1 || true" EXIT
  "${BUILDAH[@]}" add "$c" "$base_tar" / >/dev/null
  "${BUILDAH[@]}" config --cmd bash \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
  "${BUILDAH[@]}" commit --quiet --format docker --rm "$c" "docker.io/library/debian:$RELEASE" >/dev/null
  trap - EXIT
  "${BUILDAH[@]}" tag "docker.io/library/debian:$RELEASE" "docker.io/library/debian:$RELEASE-slim"
  log "base images debian:$RELEASE and debian:$RELEASE-slim in $(since "$t0") s"
}

# ---------------------------------------------------------------------------------------------
# The pause image.

pause_hash="$(sha256sum <"$ROOT/tests/node/pause.c" | cut -c1-12)"
pause_archive="$CACHE/archives/pause-$pause_hash.tar"

make_pause() {
  local t0 c work
  t0=$(now_ms)
  work="$(mktemp -d "$CACHE/tmp/pause.XXXXXX")"
  gcc -static -O2 -s -Wall -Wextra -Werror -o "$work/pause" "$ROOT/tests/node/pause.c" ||
    { rm -rf "$work"; die "cannot compile tests/node/pause.c (static glibc from libc6-dev needed)"; }
  c="$("${BUILDAH[@]}" from --pull-never scratch)"
  "${BUILDAH[@]}" copy --chmod 0755 "$c" "$work/pause" /pause >/dev/null
  "${BUILDAH[@]}" config --entrypoint '["/pause"]' --user 65535:65535 \
    --label "dev.budgetgate.source-hash=$pause_hash" "$c"
  "${BUILDAH[@]}" commit --quiet --format docker --rm "$c" "$PAUSE_IMAGE" >/dev/null
  rm -f "$CACHE"/archives/pause-*.tar
  "${BUILDAH[@]}" push --quiet "$PAUSE_IMAGE" "docker-archive:$pause_archive.tmp:$PAUSE_IMAGE"
  mv "$pause_archive.tmp" "$pause_archive"
  rm -rf "$work"
  log "pause image $PAUSE_IMAGE ($(du -h "$pause_archive" | cut -f1)) in $(since "$t0") s"
}

# ---------------------------------------------------------------------------------------------

t_all=$(now_ms)
ctx="$(context_hash)"
image="$REPO:$TAG"
archive="$CACHE/archives/budgetgate-$ctx-$TAG.tar"

print_env() {
  cat <<EOF
BUDGETGATE_IMAGE=$image
BUDGETGATE_IMAGE_ARCHIVE=$archive
BUDGETGATE_IMAGE_ID=$(cat "$archive.id")
BUDGETGATE_IMAGE_CONTEXT=$ctx
PAUSE_IMAGE=$PAUSE_IMAGE
PAUSE_IMAGE_ARCHIVE=$pause_archive
EOF
}

if [ "$pause_only" = 1 ]; then
  [ -f "$pause_archive" ] || make_pause
  printf 'PAUSE_IMAGE=%s\nPAUSE_IMAGE_ARCHIVE=%s\n' "$PAUSE_IMAGE" "$pause_archive"
  exit 0
fi

if [ "$print_only" = 1 ]; then
  if [ ! -f "$archive" ] || [ ! -f "$archive.id" ] || [ ! -f "$pause_archive" ]; then
    die "no image built for the current sources (context $ctx, tag $TAG): run build-image.sh"
  fi
  print_env
  exit 0
fi

if [ "$refresh_base" = 1 ] || [ ! -f "$base_tar" ]; then
  make_base_tar
  "${BUILDAH[@]}" rmi "docker.io/library/debian:$RELEASE-slim" "docker.io/library/debian:$RELEASE" >/dev/null 2>&1 || true
fi
if ! image_exists "docker.io/library/debian:$RELEASE" || ! image_exists "docker.io/library/debian:$RELEASE-slim"; then
  make_base_images
fi

if [ ! -f "$pause_archive" ]; then
  make_pause
else
  log "cached: $PAUSE_IMAGE ($pause_archive)"
fi

if [ -f "$archive" ] && [ -f "$archive.id" ]; then
  log "cached: $image for build context $ctx ($archive)"
else
  t0=$(now_ms)
  log "buildah bud: $image from $ROOT/Dockerfile (context $ctx; the first build compiles everything at -O3: ~10 min on 2 cores)"
  locked bud_both || die "buildah bud failed; see the output above"
  if [ "$(context_hash)" != "$ctx" ]; then
    die "the sources changed during the build (context $ctx when it began): run build-image.sh again"
  fi
  id="$(image_id "$image")"
  rm -f "$CACHE"/archives/budgetgate-*-"$TAG".tar "$CACHE"/archives/budgetgate-*-"$TAG".tar.id
  "${BUILDAH[@]}" push --quiet "$image" "docker-archive:$archive.tmp:$image"
  mv "$archive.tmp" "$archive"
  echo "$id" >"$archive.id"
  log "built $image ($id, archive $(du -h "$archive" | cut -f1)) in $(since "$t0") s"
  # Drop what no tagged image needs any more (superseded builds), in a few passes: each pass
  # removes the leaves, which exposes their parents.
  for _ in 1 2 3 4 5 6 7 8; do
    out="$("${BUILDAH[@]}" rmi --prune 2>/dev/null || true)"
    [ -n "$out" ] || break
  done
fi

print_env | tee "$CACHE/env"
log "done in $(since "$t_all") s"
