#!/usr/bin/env bash
# Smoke test of the test control plane (tests/scripts/controlplane.sh): starts a plane in a
# temporary directory, drives it with kubectl (Deployment -> ReplicaSets, set image, rollout
# undo, impersonation + RBAC, a URL webhook, an API server restart), stops it, and exits 0 only
# when every check passed.  Builds the binaries first if they are not cached.
#
#   tests/controlplane/smoke.sh          (SMOKE_KEEP=1 keeps the directory and its logs)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CP="$HERE/../scripts/controlplane.sh"
WAIT="${SMOKE_WAIT:-60}"
KUBECTL="${KUBECTL:-kubectl}"

DIR="$(mktemp -d "${TMPDIR:-/tmp}/budgetgate-cp-smoke.XXXXXX")"
passed=0
failed=0

cleanup() {
  "$CP" stop "$DIR" >/dev/null 2>&1 || true
  if [ "${SMOKE_KEEP:-0}" = 1 ] || [ "$failed" -gt 0 ]; then
    echo "kept $DIR (logs in $DIR/logs)"
  else
    rm -rf "$DIR"
  fi
}
trap cleanup EXIT

pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: run COMMAND, pass when it exits 0 (its output shown on failure).
check() {
  local what="$1" out
  shift
  if out="$("$@" 2>&1)"; then pass "$what"; else fail "$what"; printf '%s\n' "$out" | tail -n 15 | sed 's/^/    /'; fi
}
k() { "$KUBECTL" --kubeconfig "$DIR/kubeconfig" --request-timeout=20s "$@"; }
# eventually SECONDS COMMAND...: retry COMMAND every 0.5 s until it succeeds.
eventually() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}
rs_count_at_least() { [ "$(k get rs -l app=web -o name | wc -l)" -ge "$1" ]; }
image_is() { [ "$(k get deploy web -o 'jsonpath={.spec.template.spec.containers[0].image}')" = "$1" ]; }
revision_is() { [ "$(k get deploy web -o 'jsonpath={.metadata.annotations.deployment\.kubernetes\.io/revision}')" = "$1" ]; }
# can_i EXPECTED VERB RESOURCE: `auth can-i` as alice (group devs) through impersonation.
can_i() { local want="$1"; shift; [ "$(k --as=alice --as-group=devs auth can-i "$@" 2>/dev/null)" = "$want" ]; }
# running PID: a live process (a zombie waiting for PID 1 to reap it is not).
running() { [ -n "$1" ] && [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

webhook_config() { # NAME FAILURE_POLICY PORT
  cat <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: $1
webhooks:
- name: $1.smoke.budgetgate.dev
  clientConfig:
    url: https://127.0.0.1:$3/validate
    caBundle: $(base64 -w0 <"$DIR/pki/ca.crt")
  rules:
  - apiGroups: ["apps"]
    apiVersions: ["v1"]
    operations: ["CREATE", "UPDATE"]
    resources: ["deployments"]
  failurePolicy: $2
  sideEffects: None
  admissionReviewVersions: ["v1"]
  timeoutSeconds: 5
EOF
}

echo "control plane smoke test in $DIR"
t0=$SECONDS
if "$CP" start "$DIR" >"$DIR/start.out" 2>&1; then
  pass "controlplane.sh start ($((SECONDS - t0)) s): $(grep -o 'ready in [0-9.]*s' "$DIR/start.out")"
else
  fail "controlplane.sh start"
  tail -n 40 "$DIR/start.out" | sed 's/^/    /'
  echo "$passed passed, $failed failed"
  exit 1
fi
# shellcheck disable=SC1091
. "$DIR/env"

check "start again on a running plane only reports it" "$CP" start "$DIR"
check "status reports ready" "$CP" status "$DIR"
check "env has KUBECONFIG, APISERVER_URL, ports and pids" \
  test -n "$KUBECONFIG" -a -n "$APISERVER_URL" -a -n "$ETCD_PORT" -a -n "$KCM_PORT" -a -n "$APISERVER_PID"
check "listening on 127.0.0.1 only" \
  bash -c "! ss -ltnpH | grep -E 'pid=($ETCD_PID|$APISERVER_PID|$KCM_PID),' | awk '{print \$4}' | grep -v '^127\.0\.0\.1:'"
server_version="$(k version -o json 2>/dev/null | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["clientVersion"]["gitVersion"], v["serverVersion"]["gitVersion"])')"
check "kubectl version: client/server $server_version" test -n "$server_version"
check "kubectl api-resources lists deployments" bash -c "'$KUBECTL' --kubeconfig '$DIR/kubeconfig' api-resources | grep -q '^deployments '"

check "kubectl create deployment web" k create deployment web --image=registry.invalid/web:v1
check "a ReplicaSet appears for the Deployment" eventually "$WAIT" rs_count_at_least 1
check "kubectl set image deployment/web web=registry.invalid/web:v2" k set image deployment/web web=registry.invalid/web:v2
check "a second ReplicaSet appears" eventually "$WAIT" rs_count_at_least 2
check "revision 2" eventually "$WAIT" revision_is 2
check "kubectl rollout undo deployment/web" k rollout undo deployment/web
check "template image back to v1 after undo" image_is registry.invalid/web:v1
check "revision 3 after undo" eventually "$WAIT" revision_is 3
check "kubectl rollout history lists revisions 2 and 3" \
  bash -c "'$KUBECTL' --kubeconfig '$DIR/kubeconfig' rollout history deployment/web | grep -Eq '^2 ' && '$KUBECTL' --kubeconfig '$DIR/kubeconfig' rollout history deployment/web | grep -Eq '^3 '"

check "impersonation: alice (group devs) cannot create deployments" can_i no create deployments
check "admin can bind role edit to group devs" k create rolebinding devs-edit --clusterrole=edit --group=devs
check "impersonation: alice (group devs) can now create deployments" eventually 10 can_i yes create deployments
check "impersonation: alice still cannot delete nodes" can_i no delete nodes

closed="$(free_port)"
check "ValidatingWebhookConfiguration with clientConfig.url https://127.0.0.1:$closed (failurePolicy Ignore) accepted" \
  bash -c "$(declare -f webhook_config); DIR='$DIR'; webhook_config smoke-ignore Ignore $closed | '$KUBECTL' --kubeconfig '$DIR/kubeconfig' apply -f -"
check "deployment created while the Ignore webhook is unreachable" eventually 20 k create deployment web2 --image=registry.invalid/web:v1
check "the API server called the webhook (failure logged)" \
  eventually 10 grep -q 'smoke-ignore.smoke.budgetgate.dev' "$DIR/logs/kube-apiserver.log"
check "delete the Ignore webhook configuration" k delete validatingwebhookconfiguration smoke-ignore
check "ValidatingWebhookConfiguration with failurePolicy Fail accepted" \
  bash -c "$(declare -f webhook_config); DIR='$DIR'; webhook_config smoke-fail Fail $closed | '$KUBECTL' --kubeconfig '$DIR/kubeconfig' apply -f -"
fail_policy_denies() {
  local out
  out="$(k create deployment web3 --image=registry.invalid/web:v1 --dry-run=server 2>&1)" && return 1
  grep -q 'failed calling webhook "smoke-fail.smoke.budgetgate.dev"' <<<"$out"
}
check "failurePolicy Fail + unreachable webhook denies the create" eventually 20 fail_policy_denies
check "delete the Fail webhook configuration" k delete validatingwebhookconfiguration smoke-fail

old_pid="$APISERVER_PID"
t1=$SECONDS
check "controlplane.sh restart-apiserver" "$CP" restart-apiserver "$DIR"
# shellcheck disable=SC1091
. "$DIR/env"
check "restart took $((SECONDS - t1)) s, new pid $APISERVER_PID on the same port $APISERVER_PORT" \
  test "$APISERVER_PID" != "$old_pid" -a "$APISERVER_URL" = "https://127.0.0.1:$APISERVER_PORT"
check "Deployment web survives the API server restart" image_is registry.invalid/web:v1
check "kube-controller-manager still works after the restart" \
  bash -c "'$KUBECTL' --kubeconfig '$DIR/kubeconfig' create deployment web4 --image=registry.invalid/web:v1 && for i in \$(seq 1 120); do [ -n \"\$('$KUBECTL' --kubeconfig '$DIR/kubeconfig' get rs -l app=web4 -o name)\" ] && exit 0; sleep 0.5; done; exit 1"

check "controlplane.sh stop" "$CP" stop "$DIR"
check "stop is idempotent" "$CP" stop "$DIR"
check "status reports stopped (non-zero)" bash -c "! '$CP' status '$DIR'"
no_process_left() { ! running "$ETCD_PID" && ! running "$APISERVER_PID" && ! running "$KCM_PID"; }
check "no etcd/kube-apiserver/kube-controller-manager process left" no_process_left

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
