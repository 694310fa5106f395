#!/usr/bin/env bash
# Renders charts/budgetgate with default values into charts/manifests/budgetgate.yaml, the plain
# manifests for installing budgetgate without Helm.
#
#   charts/manifests/generate.sh           rewrite budgetgate.yaml
#   charts/manifests/generate.sh --check   exit 1 (with a diff) if budgetgate.yaml is out of date
#   charts/manifests/generate.sh --stdout  print the manifests
#
# Uses the helm binary from tests/scripts/setup-helm.sh (or $HELM).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$HERE/budgetgate.yaml"
NAMESPACE=budgetgate
RELEASE=budgetgate
PROMETHEUS_URL=http://prometheus-operated.monitoring.svc:9090

HELM="${HELM:-$("$ROOT/tests/scripts/setup-helm.sh" --path)}"

render() {
  local chart_version
  chart_version="$(sed -n 's/^version: *//p' "$ROOT/charts/budgetgate/Chart.yaml")"
  cat <<HEADER
# budgetgate: plain Kubernetes manifests, for installing without Helm.
#
# GENERATED from the Helm chart charts/budgetgate (version $chart_version) by
# charts/manifests/generate.sh; do not edit by hand (the chart tests fail when this file and the
# chart differ). It is the output of
#
#   helm template $RELEASE charts/budgetgate --namespace $NAMESPACE --include-crds \\
#     --set prometheus.url=$PROMETHEUS_URL
#
# preceded by the Namespace. Default values: 2 replicas, self-signed webhook TLS managed by
# budgetgate itself, failurePolicy Fail, the default ErrorBudgetPolicy in enforce mode.
#
# Install (adjust the Deployment's --prometheus= argument and the image first):
#
#   kubectl apply --server-side -f budgetgate.yaml
#
# The CustomResourceDefinitions come first; if kubectl reports that kind ErrorBudgetPolicy is not
# known yet, the CRDs were still being registered: run the same command again.
# Break glass (lets every rollout through): kubectl delete validatingwebhookconfiguration $RELEASE
---
apiVersion: v1
kind: Namespace
metadata:
  name: $NAMESPACE
  labels:
    app.kubernetes.io/name: budgetgate
    app.kubernetes.io/part-of: budgetgate
    # budgetgate's pods meet the "restricted" Pod Security Standard.
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/audit: restricted
HEADER
  "$HELM" template "$RELEASE" "$ROOT/charts/budgetgate" --namespace "$NAMESPACE" --include-crds \
    --set "prometheus.url=$PROMETHEUS_URL"
}

case "${1:-}" in
  "")
    tmp="$(mktemp "$OUT.XXXXXX")"
    render >"$tmp"
    mv -f "$tmp" "$OUT"
    echo "wrote ${OUT#"$ROOT"/}"
    ;;
  --stdout)
    render
    ;;
  --check)
    tmp="$(mktemp)"
    trap 'rm -f "$tmp"' EXIT
    render >"$tmp"
    if ! diff -u "$OUT" "$tmp"; then
      echo "charts/manifests/budgetgate.yaml is out of date: run charts/manifests/generate.sh" >&2
      exit 1
    fi
    echo "charts/manifests/budgetgate.yaml is in sync with charts/budgetgate"
    ;;
  *)
    echo "usage: $0 [--check|--stdout]" >&2
    exit 2
    ;;
esac
