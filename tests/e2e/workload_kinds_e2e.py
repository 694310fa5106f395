#!/usr/bin/env python3
"""StatefulSets, DaemonSets and Argo Rollouts through the real API server: gated like
Deployments (denied on an exhausted budget, admitted on a healthy one, named by kind), rollbacks
recognised from the ControllerRevisions their controllers wrote (Argo: from its ReplicaSets,
compared without the API server's defaults), and an ordinary namespace editor (bob, `edit`)
trying the bypasses: a forged revision, a hand-made Pod the StatefulSet would adopt, a
hand-made ReplicaSet a Rollout would adopt, a relabel out of the selector. Argo Rollouts' real
Rollout CRD (from its Go module) is installed after the operator started without it. Then an
unauthenticated flood of StatefulSet reviews, bounded in count and time, after which the gate
still decides."""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ControlPlane, Prometheus, Suite, admitted, budgetgate, check,  # noqa: E402
                     chart_user_roles, chart_webhook_config, http_get, live_scenario, log,
                     metric_sum, metric_value, operator_with_webhook, ratio_slo, refused, run, wait_until,
                     workspace)
from webhook_e2e import post  # noqa: E402

ARGO_CRDS = run([os.path.join(os.path.dirname(__file__), "..", "scripts", "setup-cd-crds.sh"),
                 "--path"], timeout=600).stdout.strip()

BOB = dict(user="bob", groups=["devs"])


def slo(name, service, selector):
    return ratio_slo(name, "shop", service, selector)


def workload(kind, name, app, image, labels=None):
    """A StatefulSet or DaemonSet whose Pods carry app=APP; metadata labels as given."""
    meta_labels = f"\n  labels: {json.dumps(labels)}" if labels else ""
    extra = "\n  serviceName: " + name + "\n  replicas: 1" if kind == "StatefulSet" else ""
    return f"""apiVersion: apps/v1
kind: {kind}
metadata:
  name: {name}
  namespace: shop{meta_labels}
spec:{extra}
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


def argo_rollout(name, spec_tail):
    return f"""apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: {name}, namespace: shop}}
spec:
  replicas: 1
  strategy:
    canary:
      steps: [{{setWeight: 20}}, {{pause: {{duration: 10m}}}}]
{spec_tail}"""


def inline_template(app, image):
    return f"""  selector:
    matchLabels: {{app: {app}}}
  template:
    metadata:
      labels: {{app: {app}}}
    spec:
      containers:
        - name: app
          image: {image}
          ports: [{{containerPort: 8080}}]
"""


def main():
    suite = Suite("workload kinds e2e")
    with workspace("kinds") as work:
        with suite.setup():
            scenario = live_scenario(work, [
                {"name": "db", "rps": 10, "baseErrorRatio": 0.0002,
                 "incidents": [{"startIn": -2 * 86400, "duration": "2h", "errorRatio": 0.5}]},
                {"name": "agent", "rps": 50, "baseErrorRatio": 0},
            ])
            prom = Prometheus(work, scenario, private_cache=True).start()
            suite.on_exit(prom.stop)
            cp = ControlPlane(work, extra_controllers=["statefulset-controller", "daemonset-controller"]).start()
            suite.on_exit(cp.stop)
            cp.install_crds()
            for ns in ("shop", "budgetgate"):
                cp.kubectl("create", "namespace", ns)
            cp.apply(chart_user_roles())
            cp.kubectl("create", "rolebinding", "edit", "-n", "shop", "--clusterrole=edit", "--group=devs")
            # db: selected by its metadata label team=db (its Pods carry app=db); logs and agent
            # by their Pods' label.
            cp.apply(slo("db-availability", "db", {"team": "db"}) + "---\n" +
                     slo("logs-availability", "db", {"app": "logs"}) + "---\n" +
                     slo("agent-availability", "agent", {"app": "agent"}) + "---\n" +
                     slo("web-availability", "db", {"app": "web"}) + "---\n" +
                     slo("webref-availability", "db", {"app": "webref"}))
            # At healthy, only progressive rollouts (a canary with steps, a rolling update).
            cp.apply("""apiVersion: slo.budgetgate.dev/v1alpha1
kind: ErrorBudgetPolicy
metadata: {name: default, namespace: budgetgate}
spec:
  requirements:
    healthy: {progressive: true}
""")
            # Argo Rollouts' aggregate-to-edit role grants editors its Rollouts; mirrored here.
            cp.apply("""apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: argo-rollouts-edit, namespace: shop}
rules:
  - apiGroups: [argoproj.io]
    resources: [rollouts, rollouts/scale, analysistemplates]
    verbs: [get, list, watch, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: argo-rollouts-edit, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: argo-rollouts-edit}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: devs}]
""")
            # Workloads with two revisions each, written before the gate is installed.
            cp.apply(workload("StatefulSet", "db", "db", "registry.example/db:1.0", {"team": "db"}))
            cp.apply(workload("DaemonSet", "logs", "logs", "registry.example/logs:1.0"))
            cp.kubectl("set", "image", "-n", "shop", "statefulset/db", "app=registry.example/db:1.1")
            cp.kubectl("set", "image", "-n", "shop", "daemonset/logs", "app=registry.example/logs:1.1")

            def revisions(owner_kind, name):
                return [r for r in cp.get_json("controllerrevisions", "-n", "shop")["items"]
                        if any(o["kind"] == owner_kind and o["name"] == name and o.get("controller")
                               for o in r["metadata"].get("ownerReferences", []))]
            wait_until("two ControllerRevisions of statefulset db",
                       lambda: len(revisions("StatefulSet", "db")) == 2, timeout=60)
            wait_until("two ControllerRevisions of daemonset logs",
                       lambda: len(revisions("DaemonSet", "logs")) == 2, timeout=60)

            # Started before the Rollout CRD exists: it must still become ready.
            _, base, ca_pem, _ = operator_with_webhook(suite, cp, prom, work, "--gate-argo-rollouts")
            cp.kubectl("create", "-f", os.path.join(ARGO_CRDS, "rollout-crd.yaml"))
            cp.wait_established("rollouts.argoproj.io")
            # web: an inline template, now at 1.1; the ReplicaSet of its 1.0 revision is written
            # here as Argo's controller (not running here) writes it: owned by the Rollout's UID,
            # with a rollouts-pod-template-hash label, defaulted by the API server.
            cp.apply(argo_rollout("web", inline_template("web", "registry.example/web:1.0")))
            web_uid = cp.get_json("rollout", "-n", "shop", "web")["metadata"]["uid"]
            written = cp.get_json("rollout", "-n", "shop", "web")["spec"]["template"]
            written["metadata"]["labels"]["rollouts-pod-template-hash"] = "7f9c6d"
            cp.kubectl("create", "-f", "-", stdin=json.dumps({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": "web-7f9c6d", "namespace": "shop",
                             "labels": {"app": "web", "rollouts-pod-template-hash": "7f9c6d"},
                             "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                                  "name": "web", "uid": web_uid, "controller": True}]},
                "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web",
                                                                     "rollouts-pod-template-hash": "7f9c6d"}},
                         "template": written}}))
            cp.kubectl("patch", "rollout", "-n", "shop", "web", "--type=json", "-p", json.dumps(
                [{"op": "replace", "path": "/spec/template/spec/containers/0/image",
                  "value": "registry.example/web:1.1"}]))
            # web-ref: its template lives in the Deployment web-template (scaled to 0).
            cp.apply(workload("Deployment", "web-template", "webref", "registry.example/web:1.0")
                     .replace("\n  replicas: 1", "").replace("spec:\n", "spec:\n  replicas: 0\n", 1))
            cp.apply(argo_rollout("web-ref", """  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web-template}
"""))

            def tiers():
                return {i["metadata"]["name"]: i.get("status", {}).get("tier")
                        for i in cp.get_json("slo", "-n", "shop")["items"]}
            wait_until("SLO statuses", lambda: all(t in ("healthy", "exhausted") for t in tiers().values()),
                       timeout=90)
            log(f"tiers: {tiers()}")
            check(tiers() == {"db-availability": "exhausted", "logs-availability": "exhausted",
                              "agent-availability": "healthy", "web-availability": "exhausted",
                              "webref-availability": "exhausted"}, f"tiers {tiers()}")
            cp.apply(chart_webhook_config(base, ca_pem, "gate.argoRollouts=true"))
            time.sleep(1)  # the webhook cache follows the status writes via its watch

            def image_of(kind, name):
                return cp.get_json(kind, "-n", "shop", name)["spec"]["template"]["spec"]["containers"][0]["image"]

        @suite.check("the chart's webhook sends StatefulSets and DaemonSets to the gate, selected by the SLOs")
        def _():
            hooks = {h["name"]: h for h in cp.get_json("validatingwebhookconfiguration", "budgetgate")["webhooks"]}
            rules = hooks["deployments.budgetgate.dev"]["rules"]
            check(set(rules[0]["resources"]) == {"deployments", "statefulsets", "daemonsets"}, rules)
            wait_until("the gated-workloads matchCondition", lambda: any(
                c["name"] == "gated-workloads" for c in
                cp.get_json("validatingwebhookconfiguration", "budgetgate")["webhooks"][0].get("matchConditions", [])),
                timeout=30)

        @suite.check("a StatefulSet and a DaemonSet on an exhausted budget are denied, named by kind")
        def _():
            refused(cp.kubectl_as(BOB, "set", "image", "-n", "shop", "statefulset/db", "app=registry.example/db:2.0"),
                    "denied the rollout of statefulset shop/db", "SLO shop/db-availability is exhausted",
                    "kubectl rollout undo")
            refused(cp.kubectl_as(BOB, "set", "image", "-n", "shop", "daemonset/logs", "app=registry.example/logs:2.0"),
                    "denied the rollout of daemonset shop/logs", "SLO shop/logs-availability is exhausted")
            # A new one under the same SLO is a rollout too.
            refused(cp.kubectl_as(BOB, "apply", "-f", "-", stdin=workload(
                "StatefulSet", "db-replica", "db-replica", "registry.example/db:2.0", {"team": "db"})),
                "denied the rollout of statefulset shop/db-replica")
            check(image_of("statefulset", "db").endswith("db:1.1"), "db still runs 1.1")
            check(image_of("daemonset", "logs").endswith("logs:1.1"), "logs still runs 1.1")
            events = wait_until("a BudgetGateDenied Event on the StatefulSet", lambda: [
                e for e in cp.get_json("events", "-n", "shop")["items"]
                if e["reason"] == "BudgetGateDenied" and e["involvedObject"]["kind"] == "StatefulSet"],
                timeout=20)
            check("bob" in events[0]["message"], events[0]["message"])

        @suite.check("on a healthy budget both kinds roll out; scaling and restarts are not rollouts")
        def _():
            admitted(cp.kubectl_as(BOB, "apply", "-f", "-", stdin=workload(
                "DaemonSet", "agent", "agent", "registry.example/agent:1.0")))
            admitted(cp.kubectl_as(BOB, "set", "image", "-n", "shop", "daemonset/agent", "app=registry.example/agent:1.1"))
            admitted(cp.kubectl_as(BOB, "apply", "-f", "-", stdin=workload(
                "StatefulSet", "agent-state", "agent", "registry.example/agent:1.0")))
            # Exhausted, but nothing new runs: scaling and (restarts: allow) a restart.
            admitted(cp.kubectl_as(BOB, "scale", "-n", "shop", "statefulset/db", "--replicas=2"))
            admitted(cp.kubectl_as(BOB, "rollout", "restart", "-n", "shop", "daemonset/logs"))

        @suite.check("rollbacks are recognised from the ControllerRevisions of the same object")
        def _():
            r = admitted(cp.kubectl_as(BOB, "rollout", "undo", "-n", "shop", "statefulset/db", "--to-revision=1"))
            check(image_of("statefulset", "db").endswith("db:1.0"), "db rolled back to 1.0")
            log(f"statefulset rollback admitted: {r.stdout.strip()} {r.stderr.strip()[:200]}")
            # The DaemonSet was restarted above: its revision 1 differs from the running one.
            admitted(cp.kubectl_as(BOB, "rollout", "undo", "-n", "shop", "daemonset/logs", "--to-revision=1"))
            check(image_of("daemonset", "logs").endswith("logs:1.0"), "logs rolled back to 1.0")
            wait_until("a BudgetExceptionUsed (rollback) Event", lambda: [
                e for e in cp.get_json("events", "-n", "shop")["items"]
                if e["reason"] == "BudgetExceptionUsed" and "rollback" in e["message"]
                and e["involvedObject"]["kind"] in ("StatefulSet", "DaemonSet")], timeout=20)
            # A template that is no revision is not a rollback, whatever it claims.
            refused(cp.kubectl_as(BOB, "patch", "-n", "shop", "statefulset/db", "--type=merge", "-p", json.dumps(
                {"metadata": {"annotations": {"budgetgate.dev/release-type": "rollback"}},
                 "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry.example/db:9"}]}}}})),
                "release-type rollback not honoured", "this StatefulSet's controller created")

        @suite.check("bob cannot forge a revision, adopt a hand-made Pod, or relabel out of the selector")
        def _():
            sts_uid = cp.get_json("statefulset", "-n", "shop", "db")["metadata"]["uid"]
            forged = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
                      "metadata": {"name": "db-forged", "namespace": "shop",
                                   "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                                        "name": "db", "uid": sts_uid, "controller": True}]},
                      "data": {"spec": {"template": {"$patch": "replace", "metadata": {"labels": {"app": "db"}},
                                                     "spec": {"containers": [{"name": "app",
                                                                              "image": "registry.example/db:6.6"}]}}}},
                      "revision": 99}
            r = cp.kubectl_as(BOB, "create", "-f", "-", stdin=json.dumps(forged))
            check(r.returncode != 0 and "forbidden" in r.stderr.lower(),
                  f"edit cannot write ControllerRevisions: {r.stderr}")
            r = cp.kubectl_as(BOB, "auth", "can-i", "create", "controllerrevisions", "-n", "shop")
            check(r.stdout.strip() == "no", f"can-i: {r.stdout}")
            # A Pod with the StatefulSet's Pod labels: it would adopt it and serve its traffic.
            refused(cp.kubectl_as(BOB, "run", "db-debug", "-n", "shop", "--image=registry.example/db:6.6",
                               "--labels=app=db"),
                    # Its labels are not the SLO's (team=db): only the StatefulSet links them.
                    "denied the creation of pod shop/db-debug", "SLO shop/db-availability is exhausted")
            # Out of the selector, change, back in: leaving is what is gated.
            refused(cp.kubectl_as(BOB, "label", "-n", "shop", "statefulset/db", "team-"),
                    "denied the label change of statefulset shop/db",
                    "it would leave the selector of SLO shop/db-availability")

        @suite.check("budgetgate approve --workload names a StatefulSet, and the CRD takes it")
        def _():
            r = budgetgate("approve", "--workload", "shop/statefulset/db", "--image", "registry.example/db:2.0",
                           "--for", "1h", "--reason", "INC-7 hotfix", "--approver", "alice")
            check(r.returncode == 0, r.stderr)
            check("kind: StatefulSet" in r.stdout and "name: db" in r.stdout, r.stdout)
            admitted(cp.kubectl("apply", "--dry-run=server", "-f", "-", stdin=r.stdout, check_rc=False))
            r = budgetgate("approve", "--workload", "shop/replicaset/db", "--image", "x:1", "--reason", "x")
            check(r.returncode == 2 and "KIND one of deployment, statefulset, daemonset" in r.stderr, r.stderr)

        @suite.check("Argo Rollouts: template changes gated by kind, rollbacks from Argo's ReplicaSets")
        def _():
            def image(value):
                return json.dumps([{"op": "replace", "path": "/spec/template/spec/containers/0/image",
                                    "value": value}])
            refused(cp.kubectl_as(BOB, "patch", "rollout", "-n", "shop", "web", "--type=json", "-p",
                               image("registry.example/web:2.0")),
                    'admission webhook "rollouts.budgetgate.dev" denied',
                    "denied the rollout of rollout shop/web", "SLO shop/web-availability is exhausted")
            r = admitted(cp.kubectl_as(BOB, "patch", "rollout", "-n", "shop", "web", "--type=json", "-p",
                                    image("registry.example/web:1.0")))
            check("rollback exception" in r.stderr, f"recognised as a rollback: {r.stderr}")
            # A new Rollout under the SLO, inline or through a workloadRef to a gated template.
            refused(cp.kubectl_as(BOB, "apply", "-f", "-", stdin=argo_rollout(
                "web-canary", inline_template("web", "registry.example/web:3.0"))),
                "denied the rollout of rollout shop/web-canary")
            refused(cp.kubectl_as(BOB, "apply", "-f", "-", stdin=argo_rollout(
                "web-ref2", "  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web-template}\n")),
                "denied the rollout of rollout shop/web-ref2", "SLO shop/webref-availability is exhausted")
            # The referenced Deployment's template is the Rollout's: changing it is gated.
            refused(cp.kubectl_as(BOB, "set", "image", "-n", "shop", "deployment/web-template",
                               "app=registry.example/web:3.0"),
                    "denied the rollout of deployment shop/web-template")
            # The policy's progressive requirement at healthy: a canary with steps passes, a
            # blue-green switch of every Pod at once does not.
            admitted(cp.kubectl_as(BOB, "apply", "-f", "-", stdin=argo_rollout(
                "agent-canary", inline_template("agent", "registry.example/agent:2.0"))))
            blue_green = argo_rollout("agent-bg", inline_template("agent", "registry.example/agent:2.0")).replace(
                "    canary:\n      steps: [{setWeight: 20}, {pause: {duration: 10m}}]",
                "    blueGreen: {activeService: agent}")
            refused(cp.kubectl_as(BOB, "apply", "-f", "-", stdin=blue_green),
                    "add a progressive rollout: spec.strategy.canary with steps (is BlueGreen)")
            # Argo's own writes (status, restartAt, promote) are not rollouts.
            admitted(cp.kubectl_as(BOB, "patch", "rollout", "-n", "shop", "web", "--type=merge", "-p",
                                '{"spec":{"paused":true}}'))

        @suite.check("a hand-made ReplicaSet a Rollout would adopt is refused (the Rollout informer "
                     "found the CRD installed after the operator started)")
        def _():
            forged = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                      "metadata": {"name": "web-forged", "namespace": "shop", "labels": {"app": "web"}},
                      "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                               "template": {"metadata": {"labels": {"app": "web"}},
                                            "spec": {"containers": [{"name": "app",
                                                                     "image": "registry.example/web:6.6"}]}}}}

            def attempt():
                r = cp.kubectl_as(BOB, "create", "--dry-run=server", "-f", "-", stdin=json.dumps(forged))
                return r if r.returncode != 0 and "it belongs to rollout shop/web" in r.stderr else None
            r = wait_until("the Rollout known to the webhook (CRD listed again within 30 s)", attempt, timeout=60)
            log(f"refused as expected: {r.stderr.strip()[:300]}")

        @suite.check("an unauthenticated flood of StatefulSet reviews is answered, and the gate still decides")
        def _():
            body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                               "request": {"uid": "flood", "kind": {"group": "apps", "version": "v1",
                                                                    "kind": "StatefulSet"},
                                           "operation": "CREATE", "namespace": "shop", "name": "x",
                                           "userInfo": {"username": "mallory"},
                                           "object": {"metadata": {"labels": ["not", "a", "map"]}}}}).encode()
            counts = {"refused": 0, "other": 0}
            lock = threading.Lock()
            deadline = time.time() + 60

            def worker():
                for _ in range(100):  # 16 x 100 requests, at most 60 s
                    if time.time() > deadline:
                        return
                    try:
                        code, text = post(base + "/validate/deployments", body)
                        ok = code == 200 and json.loads(text)["response"]["allowed"] is False
                    except Exception:  # pylint: disable=broad-except
                        ok = False  # a connection shed under load is not an allow
                    with lock:
                        counts["refused" if ok else "other"] += 1
            threads = [threading.Thread(target=worker) for _ in range(16)]
            started = time.time()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            log(f"flood: {counts} in {time.time() - started:.1f}s")
            check(counts["refused"] >= 1500, f"unreadable reviews are refused, never allowed: {counts}")
            check(http_get(base + "/healthz")[0] == 200, "healthz after the flood")
            refused(cp.kubectl_as(BOB, "set", "image", "-n", "shop", "statefulset/db", "app=registry.example/db:3.0"),
                    "denied the rollout of statefulset shop/db")
            text = http_get(base + "/metrics")[1]
            errors = metric_sum(text, "budgetgate_webhook_decisions_total", {"tier": "unknown", "outcome": "error"})
            check(errors >= counts["refused"], f"unreadable reviews counted as errors: {errors}")
            seen = metric_value(text, "budgetgate_webhook_reviews_total", {"kind": "StatefulSet"}) or 0
            check(seen >= 5, f"readable StatefulSet reviews counted by kind: {seen}")
        suite.finish()


if __name__ == "__main__":
    main()
