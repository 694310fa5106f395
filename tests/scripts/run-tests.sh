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
SANITIZE_DIR="${BUDGETGATE_SANITIZE_DIR:-$ROOT/build-sanitize}"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }

step "Debian packages"
tests/scripts/setup-deps.sh

step "Test control plane (kube-apiserver, kube-controller-manager, etcd; cached)"
tests/scripts/build-controlplane.sh

step "helm"
tests/scripts/setup-helm.sh

step "oslo (OpenSLO's reference validator, judge of the OpenSLO tests; cached)"
tests/scripts/setup-oslo.sh

step "CD tools' CRDs (Argo Rollouts, Flagger; from their Go modules; cached)"
tests/scripts/setup-cd-crds.sh

step "VictoriaMetrics single-node (a Prometheus-compatible backend; from its Go module; cached)"
tests/scripts/setup-victoriametrics.sh

step "Thanos (Query and sidecar, in front of Prometheus; from its Go module; cached)"
tests/scripts/setup-thanos.sh

step "Build (warnings are errors)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUDGETGATE_WERROR=ON >/dev/null
flock /tmp/budgetgate-build.lock cmake --build "$BUILD_DIR" -j2

# The parsers and the admission server again, under AddressSanitizer and UBSan: the code that
# reads what an unauthenticated client sends. Skipped when ctest arguments select tests.
if [ "$#" -eq 0 ] && [ "${BUDGETGATE_SKIP_SANITIZERS:-0}" != 1 ]; then
  step "Sanitizer build (ASan + UBSan): fuzz and integration tests"
  # -O1 with line tables only: the usual sanitizer build, and much quicker to compile than -O2 -g.
  cmake -S . -B "$SANITIZE_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_FLAGS_SANITIZE="-O1 -g1" \
    -DBUDGETGATE_WERROR=ON -DBUDGETGATE_SANITIZE=ON >/dev/null
  flock /tmp/budgetgate-build.lock cmake --build "$SANITIZE_DIR" -j2 --target fuzz_tests server_tests
  (cd "$SANITIZE_DIR" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --output-on-failure -L 'fuzz|integration' --timeout 900)
fi

step "Tests"
cd "$BUILD_DIR"
# e2e tests start their own servers on free loopback ports; two at a time keep the 2 cores busy
# without starving the servers.
mkdir -p Testing
set +e
ctest --output-on-failure -j2 --timeout 1500 "$@" 2>&1 | tee Testing/ctest-output.log
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  # The failing checks' own lines, repeated at the end where a truncated CI log still shows them.
  step "What failed (the FAIL lines of the failing tests)"
  grep -h -E '^\[[0-9:]+\] +(FAIL|SETUP FAILED|  FAILED)|^\[  FAILED  \]' Testing/Temporary/LastTest.log 2>/dev/null |
    cut -c1-600 | tail -n 30 || true
  summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' Testing/ctest-output.log | tail -n 1)
  if [ -n "$summary" ]; then
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
    failed=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$summary")
    echo "$((total - failed)) passed, $failed failed"
  fi
fi
exit "$rc"
