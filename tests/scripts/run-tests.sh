#!/usr/bin/env bash
# The README's test command: installs everything the tests need (idempotently, cached under
# ~/.cache/budgetgate), builds budgetgate with warnings as errors, and runs the whole suite with
# ctest — unit, fuzz, CLI, chart and end-to-end tests against a real Prometheus, a real
# kube-apiserver + etcd and real TLS. Ends with ctest's summary.
#
#   tests/scripts/run-tests.sh [extra ctest arguments, e.g. -L e2e or -R webhook]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUDGETGATE_BUILD_DIR:-$ROOT/build}"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }

step "Debian packages"
tests/scripts/setup-deps.sh

step "Test control plane (kube-apiserver, kube-controller-manager, etcd; cached)"
tests/scripts/build-controlplane.sh

step "helm"
tests/scripts/setup-helm.sh

step "Build (warnings are errors)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUDGETGATE_WERROR=ON >/dev/null
flock /tmp/budgetgate-build.lock cmake --build "$BUILD_DIR" -j2

step "Tests"
cd "$BUILD_DIR"
# e2e tests start their own servers on free loopback ports; two at a time keep the 2 cores busy
# without starving the servers.
ctest --output-on-failure -j2 --timeout 1500 "$@"
