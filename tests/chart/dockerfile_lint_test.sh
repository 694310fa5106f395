#!/usr/bin/env bash
# Lints the top-level Dockerfile with hadolint (configuration: .hadolint.yaml, which fails on any
# finding down to style level) and checks what the chart relies on: a numeric non-root USER and
# the binary as ENTRYPOINT. The image itself is built (buildah) and run on a real node by the
# `node` tests (tests/e2e/node_e2e.py).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
HADOLINT="${HADOLINT:-$(tests/scripts/setup-hadolint.sh --path)}"

pass=0 fail=0
check() {
  local what="$1"; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   $what"; else fail=$((fail + 1)); echo "FAIL $what"; fi
}

echo "hadolint: $("$HADOLINT" --version)"
check "hadolint --config .hadolint.yaml Dockerfile" "$HADOLINT" --no-color --config .hadolint.yaml Dockerfile
check "USER is numeric and not root" grep -Eq '^USER 6553[0-9]:6553[0-9]$' Dockerfile
check "ENTRYPOINT is the binary" grep -Fxq 'ENTRYPOINT ["/usr/local/bin/budgetgate"]' Dockerfile
check "runtime stage is bookworm-slim" grep -Eq '^FROM debian:\$\{DEBIAN_RELEASE\}-slim AS runtime$' Dockerfile
check ".dockerignore excludes .git and build*" \
  bash -c 'grep -Fxq .git .dockerignore && grep -Fxq "build*" .dockerignore'
# The runtime packages must cover every shared library the built binary needs.
if [ -x build/budgetgate ] && command -v dpkg >/dev/null; then
  runtime_pkgs="$(sed -n '/AS runtime/,$p' Dockerfile | sed -n '/apt-get install/,/rm -rf/p')"
  missing=""
  for lib in $(objdump -p build/budgetgate | awk '/NEEDED/ {print $2}'); do
    case "$lib" in libc.so.*|libm.so.*|libstdc++.so.*|libgcc_s.so.*|libpthread.so.*|libdl.so.*|ld-linux*) continue ;; esac
    path="$(ldconfig -p | awk -v l="$lib" '$1 == l && !found {print $NF; found = 1}')"
    pkg="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | awk -F: 'NR == 1 {print $1}')"
    if [ -z "$pkg" ] || ! grep -qw -- "$pkg" <<<"$runtime_pkgs"; then missing="$missing $lib(${pkg:-?})"; fi
  done
  check "runtime stage installs the packages of every NEEDED library${missing:+ (missing:$missing)}" test -z "$missing"
else
  echo "skip runtime library check (build/budgetgate not built)"
fi

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
