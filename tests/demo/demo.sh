#!/usr/bin/env bash
# budgetgate demo — the README's "main job": on a fresh machine, installs what is needed, builds
# budgetgate, starts a real Prometheus (with generated request history), a real kube-apiserver +
# etcd + kube-controller-manager, runs `budgetgate operator` with its admission webhook, applies
# two SLOs and shows one rollout admitted and one denied — and the denied one admitted once an
# SRE refunds the outage that was not its team's (a BudgetAdjustment). Everything listens on 127.0.0.1 and is
# stopped at the end (pass --keep to leave it running and get the commands to explore it).
#
# --cluster: the same story the way users run budgetgate: its container image built from the
# Dockerfile (buildah, no Docker), a one-node cluster (tests/scripts/node.sh: containerd,
# kubelet, kube-proxy, kube-scheduler on the same control plane) and `helm install
# charts/budgetgate`: two replicas, the webhook called through its Service. Prometheus listens on
# the node's bridge and is a Service in the cluster; the node is removed at the end and the host
# left as it was.
#
#   tests/demo/demo.sh [--cluster] [--keep]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUDGETGATE_BUILD_DIR:-$ROOT/build}"
KEEP=0
CLUSTER=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    --cluster) CLUSTER=1 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument '$arg' (use --cluster, --keep or --help)" >&2; exit 2 ;;
  esac
done
WORK="$(mktemp -d /tmp/budgetgate-demo.XXXXXX)"
STARTED=$(date +%s)

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

cleanup() {
  [ "$KEEP" = 1 ] && return
  if [ -n "${OPERATOR_PID:-}" ]; then
    kill "$OPERATOR_PID" 2>/dev/null || true
    wait "$OPERATOR_PID" 2>/dev/null || true
  fi
  BUDGETGATE_CACHE="$WORK/cache" "$ROOT/tests/scripts/prometheus.sh" stop "$WORK/prometheus" >/dev/null 2>&1 || true
  if [ "$CLUSTER" = 1 ]; then
    "$ROOT/tests/scripts/node.sh" stop "$WORK/node" || echo "demo: node.sh stop reported a problem (see above)" >&2
  else
    "$ROOT/tests/scripts/controlplane.sh" stop "$WORK/controlplane" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The scenario: checkout 100 req/s, 0.02 % errors (healthy). payments: 20 req/s and an outage
# yesterday (100 % errors for 75 minutes), which used up its 99.9 % / 30-day error budget.
write_scenario() {
  local now
  now=$(( $(date +%s) / 60 * 60 ))
  iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
  cat >"$WORK/scenario.yaml" <<YAML
name: demo
start: $(iso $((now - 31 * 86400)))
end: $(iso $((now + 3 * 3600)))
step: 60s
services:
  - {name: checkout, rps: 100, baseErrorRatio: 0.0002}
  - name: payments
    rps: 20
    baseErrorRatio: 0.0002
    incidents: [{start: $(iso $((now - 86400))), duration: 75m, errorRatio: 1.0}]
YAML
  OUTAGE_START=$((now - 86400))
}

# The payments outage was the database's: an SRE refunds its hours with a BudgetAdjustment
# (whole hours around it), and the same rollout that was denied is admitted.
refund() {
  local from to
  from=$(date -u -d "@$(( OUTAGE_START / 3600 * 3600 ))" +%Y-%m-%dT%H:%M:%SZ)
  to=$(date -u -d "@$(( (OUTAGE_START + 75 * 60 + 3599) / 3600 * 3600 ))" +%Y-%m-%dT%H:%M:%SZ)
  say "The outage was the database's, not payments': a BudgetAdjustment (reason dependency) refunds its hours"
  cat >"$WORK/adjustment.yaml" <<YAML
apiVersion: slo.budgetgate.dev/v1alpha1
kind: BudgetAdjustment
metadata: {name: db-outage, namespace: shop}
spec:
  slos: [payments-availability]
  start: "$from"
  end: "$to"
  reason: dependency
  reference: https://status.example/incidents/db-42
YAML
  run kubectl apply -f "$WORK/adjustment.yaml"
  for _ in $(seq 1 60); do
    [ "$(kubectl get slo -n shop payments-availability -o jsonpath='{.status.tier}')" != exhausted ] && break
    sleep 1
  done
  run kubectl get slo -n shop
  run kubectl get slo -n shop payments-availability -o jsonpath='{.status.adjustments}{"\n"}'
  say "The same rollout of payments: admitted"
  run kubectl apply -f "$WORK/payments.yaml"
}

apply_slos() {
  for svc in checkout payments; do
    sed -e "s/checkout/$svc/g" "$ROOT/crds/samples/slo-checkout.yaml"
    echo "---"
  done | kubectl apply -f -
  for _ in $(seq 1 90); do
    tiers=$(kubectl get slo -n shop -o jsonpath='{.items[*].status.tier}')
    [ "$(wc -w <<<"$tiers")" = 2 ] && break
    sleep 1
  done
  run kubectl get slo -n shop
}

rollouts() {
  say "A rollout of checkout (healthy budget): admitted"
  cat >"$WORK/checkout.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: checkout, namespace: shop, labels: {app: checkout}}
spec:
  replicas: 2
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec: {containers: [{name: checkout, image: $1, imagePullPolicy: IfNotPresent}]}
YAML
  run kubectl apply -f "$WORK/checkout.yaml"

  say "A rollout of payments (error budget exhausted): denied"
  sed -e 's/checkout/payments/g' "$WORK/checkout.yaml" >"$WORK/payments.yaml"
  if run kubectl apply -f "$WORK/payments.yaml"; then
    echo "unexpected: the payments rollout was admitted" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------------------------------------
if [ "$CLUSTER" = 1 ]; then
  say "Setting up (Debian packages, Kubernetes binaries for a control plane and a node, helm, budgetgate's image; all cached after the first run)"
  "$ROOT/tests/scripts/setup-deps.sh"
  "$ROOT/tests/scripts/build-controlplane.sh" --node
  HELM="$("$ROOT/tests/scripts/setup-helm.sh" --path)"
  "$ROOT/tests/scripts/build-image.sh" >"$WORK/image.env"
  # shellcheck disable=SC1091
  . "$WORK/image.env"
  echo "image: $BUDGETGATE_IMAGE ($BUDGETGATE_IMAGE_ID)"

  say "Starting a one-node Kubernetes cluster (control plane + containerd, kubelet, kube-proxy, kube-scheduler)"
  "$ROOT/tests/scripts/node.sh" start "$WORK/node" --image "$BUDGETGATE_IMAGE_ARCHIVE" >/dev/null
  # shellcheck disable=SC1091
  . "$WORK/node/env"
  export KUBECONFIG
  run kubectl get nodes -o wide

  say "Starting Prometheus with 31 days of generated request history (up to now), as a Service in the cluster"
  write_scenario
  PROM_LISTEN_HOST="$NODE_IP" BUDGETGATE_CACHE="$WORK/cache" \
    "$ROOT/tests/scripts/prometheus.sh" start "$WORK/scenario.yaml" "$WORK/prometheus" >/dev/null
  # shellcheck disable=SC1091
  PROM_PORT=$(. "$WORK/prometheus/env" && echo "$PROM_PORT")
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: monitoring}
---
apiVersion: v1
kind: Service
metadata: {name: prometheus, namespace: monitoring}
spec:
  ports: [{name: http, port: 9090, targetPort: $PROM_PORT}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: prometheus-node, namespace: monitoring, labels: {kubernetes.io/service-name: prometheus}}
addressType: IPv4
ports: [{name: http, port: $PROM_PORT, protocol: TCP}]
endpoints: [{addresses: ["$NODE_IP"], conditions: {ready: true}}]
YAML
  PROM_SVC="http://$(kubectl get service -n monitoring prometheus -o jsonpath='{.spec.clusterIP}'):9090"
  echo "Prometheus: $PROM_SVC (Service monitoring/prometheus -> $NODE_IP:$PROM_PORT)"

  say "helm install budgetgate (2 replicas, webhook TLS bootstrapped by budgetgate, default policy)"
  run "$HELM" install budgetgate "$ROOT/charts/budgetgate" -n budgetgate --create-namespace \
    --set image.repository="${BUDGETGATE_IMAGE%:*}" --set image.tag="${BUDGETGATE_IMAGE##*:}" \
    --set prometheus.url="$PROM_SVC" --set controller.interval=10s --wait --timeout 5m
  run kubectl get pods -n budgetgate -o wide

  say "Applying two SLOs (99.9 % availability over 30 days, gating the Deployments labelled app=...)"
  kubectl create namespace shop >/dev/null
  apply_slos
  # The operator labels the namespaces that hold a gating SLO; the webhook selects them.
  for _ in $(seq 1 60); do
    [ "$(kubectl get namespace shop -o jsonpath='{.metadata.labels.budgetgate\.dev/gated}')" = true ] && break
    sleep 1
  done
  run kubectl get namespace shop -L budgetgate.dev/gated
  rollouts "$PAUSE_IMAGE"
  run kubectl rollout status -n shop deployment/checkout --timeout=60s
  refund

  say "Done in $(( $(date +%s) - STARTED )) s"
  if [ "$KEEP" = 1 ]; then
    cat <<EOT
Everything is still running. Try:
  export KUBECONFIG=$KUBECONFIG
  kubectl get pods -A -o wide;  kubectl get slo -A;  kubectl get lease -n budgetgate
  kubectl logs -n budgetgate -l app.kubernetes.io/name=budgetgate --tail=20
  kubectl get events -n shop
Stop it (and restore the host) with: $ROOT/tests/scripts/node.sh stop $WORK/node; \
  BUDGETGATE_CACHE=$WORK/cache $ROOT/tests/scripts/prometheus.sh stop $WORK/prometheus
EOT
  fi
  exit 0
fi

say "Setting up (Debian packages, control plane binaries, budgetgate build; all cached after the first run)"
"$ROOT/tests/scripts/setup-deps.sh"
"$ROOT/tests/scripts/build-controlplane.sh"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
flock /tmp/budgetgate-build.lock cmake --build "$BUILD_DIR" -j2 --target budgetgate
BG="$BUILD_DIR/budgetgate"

say "Starting Prometheus with 31 days of generated request history (up to now)"
write_scenario
BUDGETGATE_CACHE="$WORK/cache" "$ROOT/tests/scripts/prometheus.sh" start "$WORK/scenario.yaml" "$WORK/prometheus" >/dev/null
# shellcheck disable=SC1091
PROM_URL=$(. "$WORK/prometheus/env" && echo "$PROM_URL")
echo "Prometheus: $PROM_URL"

say "Starting a real Kubernetes control plane (kube-apiserver, etcd, kube-controller-manager)"
"$ROOT/tests/scripts/controlplane.sh" start "$WORK/controlplane" >/dev/null
export KUBECONFIG="$WORK/controlplane/kubeconfig"
kubectl version 2>/dev/null | sed -n 2p

say "Installing the CRDs and the default ErrorBudgetPolicy"
run kubectl apply -f "$ROOT/crds/"
kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
kubectl create namespace budgetgate >/dev/null
kubectl create namespace shop >/dev/null
sed 's/^  namespace: .*/  namespace: budgetgate/' "$ROOT/crds/samples/policy-default.yaml" | kubectl apply -f -

say "Starting budgetgate (controller + admission webhook over TLS)"
mkdir -p "$WORK/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=budgetgate-demo-ca \
  -keyout "$WORK/tls/ca.key" -out "$WORK/tls/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
  -keyout "$WORK/tls/tls.key" -out "$WORK/tls/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$WORK/tls/ext"
openssl x509 -req -in "$WORK/tls/tls.csr" -CA "$WORK/tls/ca.crt" -CAkey "$WORK/tls/ca.key" -CAcreateserial \
  -days 1 -extfile "$WORK/tls/ext" -out "$WORK/tls/tls.crt" 2>/dev/null
WEBHOOK_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
METRICS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BG" operator --kubeconfig "$KUBECONFIG" --namespace budgetgate --prometheus "$PROM_URL" --interval 10s \
  --tls-cert-file "$WORK/tls/tls.crt" --tls-key-file "$WORK/tls/tls.key" \
  --webhook-address "127.0.0.1:$WEBHOOK_PORT" --metrics-address "127.0.0.1:$METRICS_PORT" \
  >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!
for _ in $(seq 1 60); do
  curl -sfk "https://127.0.0.1:$WEBHOOK_PORT/readyz" >/dev/null 2>&1 && break
  sleep 1
done
cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: budgetgate}
webhooks:
  - name: deployments.budgetgate.dev
    admissionReviewVersions: [v1]
    sideEffects: None
    timeoutSeconds: 5
    failurePolicy: Fail
    clientConfig:
      url: https://127.0.0.1:$WEBHOOK_PORT/validate/deployments
      caBundle: $(base64 -w0 "$WORK/tls/ca.crt")
    rules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
    namespaceSelector:
      matchExpressions:
        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, budgetgate]}
YAML
echo "budgetgate operator running (pid $OPERATOR_PID), webhook on https://127.0.0.1:$WEBHOOK_PORT"

say "Applying two SLOs (99.9 % availability over 30 days, gating the Deployments labelled app=...)"
apply_slos
rollouts registry.example/checkout:1.5.0
refund
kubectl get slo -n shop payments-availability -o yaml >"$WORK/payments-slo.yaml"
say "Where payments' budget went (budgetgate ledger: Prometheus + the cluster's rollouts and adjustments)"
run "$BG" ledger -f "$WORK/payments-slo.yaml" --prometheus "$PROM_URL" --kubeconfig "$KUBECONFIG" -o table

say "Done in $(( $(date +%s) - STARTED )) s"
if [ "$KEEP" = 1 ]; then
  cat <<EOT
Everything is still running. Try:
  export KUBECONFIG=$KUBECONFIG
  kubectl get slo -A;  kubectl describe slo -n shop payments-availability
  kubectl get events -n shop
  curl -s http://127.0.0.1:$METRICS_PORT/metrics | grep budgetgate_slo
  tail -f $WORK/operator.log
Stop it with: kill $OPERATOR_PID; $ROOT/tests/scripts/controlplane.sh stop $WORK/controlplane; \\
  BUDGETGATE_CACHE=$WORK/cache $ROOT/tests/scripts/prometheus.sh stop $WORK/prometheus
EOT
fi
