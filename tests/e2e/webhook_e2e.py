#!/usr/bin/env python3
"""End-to-end: the admission webhook called over TLS by a real kube-apiserver.

Setup: live Prometheus history (checkout healthy, ledger exhausted), a real control plane with
kube-controller-manager (so Deployments get ReplicaSets and `kubectl rollout undo` works),
`budgetgate operator` running the controller and the webhook, and a ValidatingWebhookConfiguration
pointing the API server at it.
"""

import base64
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import (BIN, Background, ControlPlane, Prometheus, Suite, check, free_port,  # noqa: E402
                     exposition_problems, http_get, live_scenario, log, make_certificate, metric_sum,
                     metric_samples, metric_value, ratio_slo, run, wait_until, workspace)


def slo(name, ns, service, target=0.999):
    return ratio_slo(name, ns, service, {"app": service}, target)


def deployment(name, ns, app, image, annotations=None):
    ann = ""
    if annotations:
        ann = "\n  annotations:\n" + "".join(f"    {k}: \"{v}\"\n" for k, v in annotations.items())
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {app}}}{ann.rstrip()}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: {app}}}
  template:
    metadata:
      labels: {{app: {app}}}
    spec:
      containers:
        - name: app
          image: {image}
"""


POLICY_WARN = """apiVersion: slo.budgetgate.dev/v1alpha1
kind: ErrorBudgetPolicy
metadata: {name: default, namespace: staging}
spec:
  mode: warn
"""

POLICY_STRICT = """apiVersion: slo.budgetgate.dev/v1alpha1
kind: ErrorBudgetPolicy
metadata: {name: default, namespace: strict}
spec:
  onMissingData: deny
"""

POLICY_DEFAULT = """apiVersion: slo.budgetgate.dev/v1alpha1
kind: ErrorBudgetPolicy
metadata: {name: default, namespace: budgetgate}
spec:
  exceptions:
    security: {groups: [sre]}
    sloImprovement: {groups: [sre]}
"""


def webhook_config(name, url, ca_pem, failure="Fail", ns_exclude=("kube-system", "budgetgate")):
    ca = base64.b64encode(ca_pem.encode()).decode()
    return f"""apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {{name: {name}}}
webhooks:
  - name: deployments.budgetgate.dev
    admissionReviewVersions: [v1]
    sideEffects: None
    timeoutSeconds: 5
    failurePolicy: {failure}
    clientConfig:
      url: {url}
      caBundle: {ca}
    rules:
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [deployments]
    namespaceSelector:
      matchExpressions:
        - key: kubernetes.io/metadata.name
          operator: NotIn
          values: [{", ".join(ns_exclude)}]
"""


def post(url, body, ca=None, timeout=5):
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def forged_slo_update_flood(base, current, changed, what, count=300, garbage=200, seconds=60):
    """Posts `count` AdmissionReviews without credentials (bounded by `seconds`) claiming that
    mallory (group devs) updates SLO `current` into `changed`, then `garbage` unreadable bodies,
    to the webhook at `base`. Checks every review is denied and every unreadable body gets 400."""
    ns, name = current["metadata"]["namespace"], current["metadata"]["name"]
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
              "request": {"uid": "u", "kind": {"group": "slo.budgetgate.dev", "version": "v1alpha1",
                                               "kind": "ServiceLevelObjective"},
                          "resource": {"group": "slo.budgetgate.dev", "version": "v1alpha1",
                                       "resource": "servicelevelobjectives"},
                          "operation": "UPDATE", "namespace": ns, "name": name,
                          "userInfo": {"username": "mallory", "groups": ["devs"]},
                          "object": changed, "oldObject": current}}
    body = json.dumps(review).encode()
    started, denied, sent = time.time(), 0, 0
    for _ in range(count):
        _, text = post(base + "/validate/gate-objects", body)
        denied += json.loads(text)["response"]["allowed"] is False
        sent += 1
        if time.time() - started > seconds:
            break
    log(f"{sent} forged {what}: {denied} denied in {time.time() - started:.2f} s")
    check(denied == sent == count, f"every forged {what} is denied: {denied} of {sent}")
    unreadable = sum(post(base + "/validate/gate-objects", b'{"request": {"uid": "g", "kind": {')[0] == 400
                     for _ in range(garbage))
    check(unreadable == garbage, f"unreadable bodies get HTTP 400: {unreadable} of {garbage}")


def main():
    suite = Suite("webhook e2e")
    with workspace("webhook") as work:
        with suite.setup():
            scenario = live_scenario(work, [
                {"name": "checkout", "rps": 100, "baseErrorRatio": 0},
                {"name": "ledger", "rps": 10, "baseErrorRatio": 0.0002,
                 "incidents": [{"startIn": -2 * 86400, "duration": "2h", "errorRatio": 0.5}]},
            ])
            prom = Prometheus(work, scenario, private_cache=True).start()
            suite.on_exit(prom.stop)
            cp = ControlPlane(work).start()
            suite.on_exit(cp.stop)
            cp.install_crds()
            for ns in ("shop", "budgetgate", "staging", "strict"):
                cp.kubectl("create", "namespace", ns)
            # Developers (group devs) and SREs (group sre) may edit Deployments in shop.
            cp.kubectl("create", "rolebinding", "edit", "-n", "shop", "--clusterrole=edit",
                       "--group=devs", "--group=sre")
            cp.apply(POLICY_DEFAULT + "---\n" + POLICY_WARN + "---\n" + POLICY_STRICT)
            cp.apply(slo("checkout-availability", "shop", "checkout") + "---\n" +
                     slo("ledger-availability", "shop", "ledger") + "---\n" +
                     slo("ledger-availability", "staging", "ledger") + "---\n" +
                     slo("ghost-availability", "strict", "ghost") + "---\n" +
                     slo("ghost-availability", "shop", "ghost"))
            # ledger exists with two revisions before the gate is installed, so that a rollback and
            # replica/metadata edits can be tried under an exhausted budget.
            cp.apply(deployment("ledger", "shop", "ledger", "registry.example/ledger:1.0"))
            cp.kubectl("set", "image", "-n", "shop", "deployment/ledger", "app=registry.example/ledger:1.1")
            wait_until("two ReplicaSets for ledger", lambda: len(cp.get_json(
                "rs", "-n", "shop", "-l", "app=ledger")["items"]) == 2, timeout=60)

            tls = make_certificate(work)
            port, metrics_port = free_port(), free_port()
            op = Background("operator", [BIN, "operator", "--kubeconfig", cp.kubeconfig, "--namespace", "budgetgate",
                                         "--prometheus", prom.url, "--interval", "5s", "--no-leader-election",
                                         "--metrics-address", f"127.0.0.1:{metrics_port}",
                                         "--tls-cert-file", tls["cert"], "--tls-key-file", tls["key"],
                                         "--webhook-address", f"127.0.0.1:{port}"], work).start()
            suite.on_exit(op.stop)
            base = f"https://127.0.0.1:{port}"
            wait_until("webhook ready", lambda: http_get(base + "/readyz")[0] == 200, timeout=60)
            wait_until("SLO statuses", lambda: all(
                i.get("status", {}).get("tier") in ("healthy", "exhausted", "unknown")
                for i in cp.get_json("slo", "-A")["items"]) and len(cp.get_json("slo", "-A")["items"]) == 5,
                timeout=90)
            time.sleep(1)  # the webhook cache follows the status writes via its watch
            with open(tls["ca"]) as f:
                ca_pem = f.read()
            cp.apply(webhook_config("budgetgate", f"{base}/validate/deployments", ca_pem))

            def apply_as(manifest, *extra, user=None, groups=()):
                return cp.kubectl("apply", *extra, "-f", "-", stdin=manifest, check_rc=False,
                                  as_user=user, groups=groups)

        @suite.check("a rollout under an exhausted SLO is denied at kubectl apply with an actionable message")
        def _():
            r = apply_as(deployment("ledger", "shop", "ledger", "registry.example/ledger:2.0"))
            check(r.returncode != 0, "the update must be refused")
            err = r.stderr
            log(err.strip())
            for needle in ("denied the request", "SLO shop/ledger-availability is exhausted",
                           "of the error budget left", "1h burn rate", "risk medium",
                           "tier exhausted x risk medium = block", "To proceed",
                           "kubectl rollout undo"):
                check(needle in err, f"message lacks '{needle}'")

        @suite.check("the same kind of rollout under a healthy SLO is admitted")
        def _():
            r = apply_as(deployment("checkout", "shop", "checkout", "registry.example/checkout:1.0"))
            check(r.returncode == 0, r.stderr)
            r = cp.kubectl("set", "image", "-n", "shop", "deployment/checkout", "app=registry.example/checkout:1.1",
                           check_rc=False)
            check(r.returncode == 0, r.stderr)

        @suite.check("kubectl scale and metadata-only edits pass under an exhausted budget")
        def _():
            r = cp.kubectl("scale", "-n", "shop", "deployment/ledger", "--replicas=3", check_rc=False)
            check(r.returncode == 0, r.stderr)
            r = cp.kubectl("annotate", "-n", "shop", "deployment/ledger", "team=payments", check_rc=False)
            check(r.returncode == 0, r.stderr)
            r = cp.kubectl("patch", "-n", "shop", "deployment/ledger", "--type=merge",
                           "-p", '{"spec":{"replicas":2}}', check_rc=False)
            check(r.returncode == 0, r.stderr)

        @suite.check("kubectl rollout undo passes under an exhausted budget (recognised structurally)")
        def _():
            r = cp.kubectl("rollout", "undo", "-n", "shop", "deployment/ledger", check_rc=False)
            check(r.returncode == 0, r.stderr)
            image = cp.get_json("deployment", "-n", "shop", "ledger")["spec"]["template"]["spec"]["containers"][0]["image"]
            check(image.endswith("ledger:1.0"), f"rolled back to {image}")

            def event():
                evs = cp.get_json("events", "-n", "shop", "--field-selector", "involvedObject.name=ledger")["items"]
                return [e for e in evs if e["reason"] == "BudgetExceptionUsed"]
            evs = wait_until("exception Event", event, timeout=20)
            check("rollback exception" in evs[0]["message"], evs[0]["message"])

        @suite.check("a claimed rollback that matches no ReplicaSet is not honoured")
        def _():
            r = apply_as(deployment("ledger", "shop", "ledger", "registry.example/ledger:9.9",
                                    {"budgetgate.dev/release-type": "rollback"}))
            check(r.returncode != 0, "an annotation alone must not pass the gate")
            check("rollback not honoured" in r.stderr or "denied" in r.stderr, r.stderr)

        @suite.check("security exception: admitted for group sre, refused for group devs")
        def _():
            fix = deployment("ledger", "shop", "ledger", "registry.example/ledger:1.0-cve",
                             {"budgetgate.dev/release-type": "security"})
            r = apply_as(fix, user="bob", groups=["devs"])
            check(r.returncode != 0, "devs may not use the security exception")
            check("release-type security not honoured" in r.stderr or "denied" in r.stderr, r.stderr)
            r = apply_as(fix, user="alice", groups=["sre"])
            check(r.returncode == 0, f"sre may: {r.stderr}")
            check("security exception" in r.stderr, f"the admission warning names the exception: {r.stderr}")

        @suite.check("warn mode admits with a warning")
        def _():
            r = apply_as(deployment("ledger", "staging", "ledger", "registry.example/ledger:2.0"))
            check(r.returncode == 0, r.stderr)
            check("Warning:" in r.stderr and "would be denied in enforce mode" in r.stderr, r.stderr)

        @suite.check("server-side dry-run gets the same verdict (and records no Event)")
        def _():
            events_before = len(cp.get_json("events", "-n", "shop")["items"])
            r = apply_as(deployment("ledger", "shop", "ledger", "registry.example/ledger:3.0"), "--dry-run=server")
            check(r.returncode != 0 and "tier exhausted x risk medium = block" in r.stderr, r.stderr)
            r = apply_as(deployment("checkout", "shop", "checkout", "registry.example/checkout:9.0"),
                         "--dry-run=server")
            check(r.returncode == 0, r.stderr)
            # A new claim: the security annotation is already on the Deployment from the
            # exception above, so the release reference changes.
            sec = deployment("ledger", "shop", "ledger", "registry.example/ledger:1.0-cve2",
                             {"budgetgate.dev/release-type": "security",
                              "budgetgate.dev/release-ref": "CVE-2"})
            r = apply_as(sec, "--dry-run=server", user="alice", groups=["sre"])
            check(r.returncode == 0, r.stderr)
            time.sleep(2)
            evs = [e for e in cp.get_json("events", "-n", "shop")["items"]
                   if e["reason"] == "BudgetExceptionUsed" and "1.0-cve2" in json.dumps(e)]
            check(not evs, "dry-run must have no side effects")
            check(len(cp.get_json("events", "-n", "shop")["items"]) >= events_before, "events listed")

        @suite.check("missing data: allow-with-warning by default, deny where the policy says so")
        def _():
            r = apply_as(deployment("ghost", "shop", "ghost", "registry.example/ghost:1"))
            check(r.returncode == 0 and "no current budget status" in r.stderr, r.stderr)
            r = apply_as(deployment("ghost", "strict", "ghost", "registry.example/ghost:1"))
            check(r.returncode != 0 and "onMissingData = deny" in r.stderr, r.stderr)

        @suite.check("the gate's own namespace and kube-system are never gated")
        def _():
            r = apply_as(deployment("tool", "budgetgate", "ledger", "registry.example/tool:1"))
            check(r.returncode == 0, r.stderr)

        @suite.check("/metrics: latency histogram, decisions by namespace, kind, tier and outcome, cache age")
        def _():
            # A review naming a namespace without SLOs (anyone who reaches the port can send one):
            # counted under namespace="", so made-up namespaces cannot grow the series.
            review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                      "request": {"uid": "u-made-up", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                                  "operation": "CREATE", "namespace": "made-up-namespace", "name": "x",
                                  "userInfo": {"username": "someone"},
                                  "object": {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "metadata": {"name": "x", "namespace": "made-up-namespace"},
                                             "spec": {"template": {"metadata": {"labels": {"app": "x"}},
                                                                   "spec": {"containers": []}}}}}}
            code, body = post(base + "/validate/deployments", json.dumps(review).encode())
            check(code == 200 and json.loads(body)["response"]["allowed"] is True, f"{code} {body}")
            _, text = http_get(base + "/metrics")
            check(metric_value(text, "budgetgate_webhook_decision_duration_seconds_count") >= 8, "latency count")
            decisions = "budgetgate_webhook_decisions_total"
            check(metric_sum(text, decisions, {"tier": "exhausted", "outcome": "denied"}) >= 2, "denials counted")
            check(metric_sum(text, decisions, {"tier": "healthy", "outcome": "allowed"}) >= 1, "admissions counted")
            check(metric_sum(text, decisions, {"namespace": "shop", "kind": "Deployment", "tier": "exhausted",
                                               "outcome": "denied"}) >= 2, "denials in shop, kind Deployment")
            check(metric_sum(text, decisions, {"namespace": "shop", "kind": "Deployment", "tier": "healthy",
                                               "outcome": "allowed"}) >= 1, "admissions in shop")
            samples = metric_samples(text, decisions)
            check(all({"namespace", "kind", "tier", "outcome"} <= set(ls) for ls, _ in samples), f"labels {samples}")
            spaces = {ls["namespace"] for ls, _ in samples}
            check("made-up-namespace" not in spaces and spaces <= {"", "shop", "staging", "strict"},
                  f"namespace labels only where an SLO exists: {spaces}")
            check(metric_sum(text, decisions, {"namespace": "", "kind": "Deployment", "outcome": "not-gated"}) >= 1,
                  "the made-up namespace's review counted under namespace=\"\"")
            problems = exposition_problems(text)
            check(not problems, f"one # HELP/# TYPE per family, every sample typed: {problems[:5]}")
            age = metric_value(text, "budgetgate_webhook_cache_age_seconds")
            check(age is not None and 0 <= age < 60, f"cache age {age}")
            check(metric_value(text, "budgetgate_webhook_dry_run_requests_total") >= 3, "dry runs counted")

        @suite.check("malformed, wrong-version and oversized reviews get clean errors; the server survives")
        def _():
            url = base + "/validate/deployments"
            code, body = post(url, b"{not json")
            check(code == 400 and "not JSON" in body, f"{code} {body}")
            code, body = post(url, json.dumps({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
                                                "request": {"uid": "x"}}).encode())
            check(code == 400 and "admission.k8s.io/v1" in body, f"{code} {body}")
            review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                      "request": {"uid": "u1", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                                  "operation": "CREATE", "namespace": "shop", "object": {"spec": 5}}}
            code, body = post(url, json.dumps(review).encode())
            resp = json.loads(body)["response"]
            check(code == 200 and resp["uid"] == "u1" and resp["allowed"] is False and resp["status"]["code"] == 400,
                  f"unreadable object: {body}")
            code, _ = post(url, b"[" * 100000)
            check(code == 400, f"deep nesting: {code}")
            # Oversized: the server answers 413 as soon as it sees Content-Length, before the body
            # (a client still sending the body would get a reset instead of the answer).
            import socket
            raw = ssl._create_unverified_context().wrap_socket(socket.create_connection(("127.0.0.1", port)))
            raw.sendall(b"POST /validate/deployments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 4194304\r\n\r\n")
            status_line = raw.recv(4096).split(b"\r\n")[0]
            raw.close()
            check(b" 413 " in status_line, f"oversized: {status_line}")
            check(op.alive(), "the webhook process is still running")
            check(http_get(base + "/healthz")[0] == 200, "healthz after abuse")

        @suite.check("a new serving certificate is picked up without a restart")
        def _():
            def served_serial():
                pem = ssl.get_server_certificate(("127.0.0.1", port))
                return run(["openssl", "x509", "-noout", "-serial"], input=pem).stdout.strip()
            before = served_serial()
            make_certificate(work)  # same paths, new key pair
            file_serial = run(["openssl", "x509", "-noout", "-serial", "-in", tls["cert"]]).stdout.strip()
            check(file_serial != before, "the test wrote a different certificate")
            wait_until("the new certificate to be served", lambda: served_serial() == file_serial, timeout=30)
            # The API server still trusts it (same CA): gating keeps working.
            r = apply_as(deployment("ledger", "shop", "ledger", "registry.example/ledger:4.0"))
            check(r.returncode != 0 and "denied the request" in r.stderr, r.stderr)

        @suite.check("budgetgate webhook alone, with self-managed TLS: Secret, caBundle, same decisions")
        def _():
            cp.apply(webhook_config("budgetgate-selfmanaged", "https://127.0.0.1:1/unused", "placeholder",
                                    failure="Ignore", ns_exclude=("kube-system", "budgetgate", "shop", "staging",
                                                                  "strict", "default", "kube-public",
                                                                  "kube-node-lease")))
            wport = free_port()
            tlsdir = os.path.join(work, "selfmanaged")
            wh = Background("webhook", [BIN, "webhook", "--kubeconfig", cp.kubeconfig, "--namespace", "budgetgate",
                                        "--webhook-address", f"127.0.0.1:{wport}",
                                        "--tls-cert-file", os.path.join(tlsdir, "tls.crt"),
                                        "--tls-key-file", os.path.join(tlsdir, "tls.key"),
                                        "--tls-bootstrap-secret", "budgetgate-webhook-tls",
                                        "--tls-bootstrap-webhook", "budgetgate-selfmanaged",
                                        "--tls-bootstrap-service", "budgetgate"], work).start()
            suite.on_exit(wh.stop)
            wait_until("standalone webhook ready", lambda: http_get(f"https://127.0.0.1:{wport}/readyz")[0] == 200,
                       timeout=60)
            secret = cp.get_json("secret", "-n", "budgetgate", "budgetgate-webhook-tls")
            ca = base64.b64decode(secret["data"]["ca.crt"]).decode()
            config = cp.get_json("validatingwebhookconfiguration", "budgetgate-selfmanaged")
            check(config["webhooks"][0]["clientConfig"]["caBundle"] == secret["data"]["ca.crt"],
                  "caBundle patched to the Secret's CA")
            served = ssl.get_server_certificate(("127.0.0.1", wport))
            text = run(["openssl", "x509", "-noout", "-text"], input=served).stdout
            check("DNS:budgetgate.budgetgate.svc" in text, "issued for the Service's DNS names")
            cafile = os.path.join(work, "selfmanaged-ca.crt")
            with open(cafile, "w") as f:
                f.write(ca)
            verify = run(["openssl", "verify", "-CAfile", cafile], input=served, check_rc=False)
            check(verify.returncode == 0, f"served certificate chains to the Secret's CA: {verify.stdout}{verify.stderr}")
            review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                      "request": {"uid": "same", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                                  "operation": "CREATE", "namespace": "shop", "name": "ledger",
                                  "userInfo": {"username": "carol", "groups": ["devs"]},
                                  "object": json.loads(cp.kubectl("create", "--dry-run=client", "-o", "json",
                                                                  "-f", "-", stdin=deployment(
                                                                      "ledger", "shop", "ledger", "x:5")).stdout)}}
            code, body = post(f"https://127.0.0.1:{wport}/validate/deployments", json.dumps(review).encode())
            resp = json.loads(body)["response"]
            check(code == 200 and resp["allowed"] is False and "exhausted" in resp["status"]["message"],
                  f"standalone webhook decision: {body[:300]}")
            # A second start finds the Secret and reuses it.
            wh.stop()
            wh2 = Background("webhook-2", wh.cmd, work).start()
            suite.on_exit(wh2.stop)
            wait_until("restarted webhook ready", lambda: http_get(f"https://127.0.0.1:{wport}/readyz")[0] == 200,
                       timeout=60)
            again = cp.get_json("secret", "-n", "budgetgate", "budgetgate-webhook-tls")
            check(again["data"]["tls.crt"] == secret["data"]["tls.crt"], "the certificate is reused, not reissued")

        @suite.check("the operator shuts down cleanly on SIGTERM")
        def _():
            rc = op.stop()
            check(rc == 0, f"operator exit code {rc} after SIGTERM")
        suite.finish()


if __name__ == "__main__":
    main()
