#!/usr/bin/env python3
"""End-to-end: an ordinary namespace editor tries to get around the gate.

Real parts: Prometheus with live history (ledger and payments exhausted, checkout healthy), a
kube-apiserver + etcd + kube-controller-manager (deployment and replicaset controllers, running
as their own service accounts), `budgetgate operator` with its webhook over TLS, and the chart's
own ValidatingWebhookConfiguration (rules, namespace selection, CEL matchConditions exactly as
shipped) and user ClusterRoles. Bob is an ordinary editor (`edit` role, group devs); alice is an
SRE (group sre: the default policy's owners and exception users); carol may write policies in
shop (the chart's policy-admin role) but owns none.

Each check is an attack that succeeded before the gate was hardened (issue 11): a forged
rollback, relabelling out of a selector, Pods and ReplicaSets made by hand, an exception that
outlived its rollout, unreadable reviews, the gate's own objects, a monitoring outage, and the
blast radius of a stopped operator.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ControlPlane, Prometheus, Suite, check, chart_user_roles,  # noqa: E402
                     chart_webhook_config, http_get, live_scenario, log, metric_value,
                     operator_with_webhook, ratio_slo, wait_until, workspace)
from webhook_e2e import deployment, post  # noqa: E402

BOB = dict(user="bob", groups=["devs"])
ALICE = dict(user="alice", groups=["sre"])
CAROL = dict(user="carol", groups=["policy-admins"])


slo = ratio_slo  # policy_workflows_e2e and budget_ledger_e2e import it from here


def labelled_deployment(name, ns, labels, template_labels, selector, image, annotations=None):
    ann = ""
    if annotations:
        ann = "\n  annotations: " + json.dumps(annotations)
    meta_labels = f"\n  labels: {json.dumps(labels)}" if labels else ""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}{meta_labels}{ann}
spec:
  replicas: 1
  selector:
    matchLabels: {json.dumps(selector)}
  template:
    metadata:
      labels: {json.dumps(template_labels)}
    spec:
      containers:
        - name: app
          image: {image}
"""


def policy(name, ns, spec):
    return f"""apiVersion: slo.budgetgate.dev/v1alpha1
kind: ErrorBudgetPolicy
metadata: {{name: {name}, namespace: {ns}}}
spec:
{spec}"""


def main():
    suite = Suite("gate bypass e2e")
    with workspace("bypass") as work:
        with suite.setup():
            scenario = live_scenario(work, [
                {"name": "checkout", "rps": 100, "baseErrorRatio": 0},
                {"name": "ledger", "rps": 10, "baseErrorRatio": 0.0002,
                 "incidents": [{"startIn": -2 * 86400, "duration": "2h", "errorRatio": 0.5}]},
                {"name": "payments", "rps": 10, "baseErrorRatio": 0.0002,
                 "incidents": [{"startIn": -2 * 86400, "duration": "2h", "errorRatio": 0.5}]},
            ])
            prom = Prometheus(work, scenario, private_cache=True).start()
            suite.on_exit(prom.stop)
            cp = ControlPlane(work).start()
            suite.on_exit(cp.stop)
            cp.install_crds()
            for ns in ("shop", "budgetgate", "sandbox", "frozen", "legacy"):
                cp.kubectl("create", "namespace", ns)
            cp.apply(chart_user_roles())
            for ns in ("shop", "sandbox", "frozen", "legacy"):
                cp.kubectl("create", "rolebinding", "edit", "-n", ns, "--clusterrole=edit",
                           "--group=devs", "--group=sre")
            cp.kubectl("create", "rolebinding", "policy-admin", "-n", "shop",
                       "--clusterrole=budgetgate-policy-admin", "--group=policy-admins")
            cp.apply(policy("default", "budgetgate", """  owners: {groups: [sre]}
  exceptions:
    security: {groups: [sre]}
    sloImprovement: {groups: [sre]}
    bugfix: {groups: [sre]}
""") + "---\n" + policy("lenient", "budgetgate", "  mode: warn\n") + "---\n" +
                policy("default", "frozen", "  restarts: gate\n  staleAfter: 20s\n"
                       "  lastKnownFor: 1h\n  owners: {groups: [sre]}\n"
                       "  exceptions: {bugfix: {groups: [sre], tiers: [exhausted]}}\n") + "---\n" +
                policy("default", "legacy", "  onMissingData: allow-with-warning\n"
                       "  staleAfter: 20s\n"))
            cp.apply(slo("ledger-availability", "shop", "ledger", {"app": "ledger"}) + "---\n" +
                     slo("checkout-availability", "shop", "checkout", {"app": "checkout"}) + "---\n" +
                     slo("payments-availability", "shop", "payments", {"team": "payments"}) + "---\n" +
                     slo("fleet-availability", "shop", "checkout", {"app": "fleet"}) + "---\n" +
                     slo("ledger-availability", "frozen", "ledger", {"app": "ledger"}) + "---\n" +
                     slo("ledger-availability", "legacy", "ledger", {"app": "ledger"}))
            # Workloads that exist before the gate is installed.
            for ns in ("shop", "frozen", "legacy"):
                cp.apply(deployment("ledger", ns, "ledger", "registry.example/ledger:1.0"))
            cp.kubectl("set", "image", "-n", "shop", "deployment/ledger",
                       "app=registry.example/ledger:1.1")
            cp.apply(deployment("checkout", "shop", "checkout", "registry.example/checkout:1.0"))
            cp.apply(deployment("tools", "shop", "tools", "registry.example/tools:1.0"))  # no SLO
            # Recreate: with no node the Pods stay Pending, and a rolling update would stall
            # at maxUnavailable.
            cp.apply(deployment("fleet", "shop", "fleet", "registry.example/fleet:1.0").replace(
                "spec:\n  replicas: 1", "spec:\n  replicas: 1\n  strategy: {type: Recreate}"))
            cp.apply(labelled_deployment("payments", "shop", {"app": "payments", "team": "payments"},
                                         {"app": "payments"}, {"app": "payments"},
                                         "registry.example/payments:1.0"))
            wait_until("two ReplicaSets for ledger", lambda: len(cp.get_json(
                "rs", "-n", "shop", "-l", "app=ledger")["items"]) == 2, timeout=60)

            op, base, ca_pem, metrics_port = operator_with_webhook(suite, cp, prom, work)

            def tiers():
                return {f"{i['metadata']['namespace']}/{i['metadata']['name']}": i.get("status", {}).get("tier")
                        for i in cp.get_json("slo", "-A")["items"]}
            wait_until("SLO statuses", lambda: all(t in ("healthy", "exhausted") for t in tiers().values()),
                       timeout=90)
            log(f"tiers: {tiers()}")
            check(tiers()["shop/ledger-availability"] == "exhausted", "ledger is exhausted")
            check(tiers()["shop/checkout-availability"] == "healthy", "checkout is healthy")
            check(tiers()["shop/payments-availability"] == "exhausted", "payments is exhausted")
            cp.apply(chart_webhook_config(base, ca_pem))
            time.sleep(1)  # the webhook cache follows the status writes via its watch

            def kubectl_as(who, *args, stdin=None):
                return cp.kubectl(*args, check_rc=False, stdin=stdin, as_user=who["user"],
                                  groups=who["groups"])

            def refused(result, *needles):
                check(result.returncode != 0, f"must be refused, was admitted: {result.stdout}{result.stderr}")
                for n in needles:
                    check(n in result.stderr, f"message lacks '{n}': {result.stderr.strip()}")
                log(f"refused as expected: {result.stderr.strip()[:400]}")

            def admitted(result):
                check(result.returncode == 0, f"must be admitted: {result.stderr.strip()}")
                return result

            def image_of(ns, name):
                return cp.get_json("deployment", "-n", ns, name)["spec"]["template"]["spec"]["containers"][0]["image"]

        @suite.check("the operator labels exactly the namespaces holding a gating SLO")
        def _():
            def labelled():
                return {n["metadata"]["name"] for n in cp.get_json("namespaces")["items"]
                        if n["metadata"].get("labels", {}).get("budgetgate.dev/gated") == "true"}
            wait_until("namespace labels", lambda: labelled() == {"shop", "frozen", "legacy"}, timeout=30)

            def condition():
                hooks = cp.get_json("validatingwebhookconfiguration", "budgetgate")["webhooks"]
                conds = {c["name"]: c["expression"] for h in hooks if h["name"] == "deployments.budgetgate.dev"
                         for c in h.get("matchConditions", [])}
                return conds.get("gated-workloads")
            expr = wait_until("the gated-workloads matchCondition", condition, timeout=30)
            log(f"gated-workloads: {len(expr)} characters of CEL, accepted by the API server")
            for ns in ("shop", "frozen", "legacy"):
                check(f"request.namespace == '{ns}'" in expr, f"{ns} in {expr[:200]}")
            r = kubectl_as(BOB, "label", "namespace", "shop", "budgetgate.dev/gated-")
            check(r.returncode != 0 and "forbidden" in r.stderr.lower(),
                  f"an editor cannot remove the label: {r.stderr}")

        @suite.check("forged rollback: a hand-made ReplicaSet of a gated Deployment is refused")
        def _():
            uid = cp.get_json("deployment", "-n", "shop", "ledger")["metadata"]["uid"]
            forged = {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": "ledger-forged", "namespace": "shop",
                             "labels": {"app": "ledger", "pod-template-hash": "forged"},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                  "name": "ledger", "uid": uid, "controller": True,
                                                  "blockOwnerDeletion": True}]},
                "spec": {"replicas": 0,
                         "selector": {"matchLabels": {"app": "ledger", "pod-template-hash": "forged"}},
                         "template": {"metadata": {"labels": {"app": "ledger", "pod-template-hash": "forged"}},
                                      "spec": {"containers": [{"name": "app",
                                                               "image": "registry.example/ledger:2.0"}]}}}}
            refused(kubectl_as(BOB, "create", "-f", "-", stdin=json.dumps(forged)),
                    "denied the creation of replicaset shop/ledger-forged",
                    "only the workload's controller may create or change its ReplicaSets")
            # An orphan the deployment controller would adopt is the same forgery.
            orphan = json.loads(json.dumps(forged))
            orphan["metadata"]["name"] = "ledger-orphan"
            del orphan["metadata"]["ownerReferences"]
            refused(kubectl_as(BOB, "create", "-f", "-", stdin=json.dumps(orphan)),
                    "it belongs to deployment shop/ledger")
            # Rewriting a genuine revision's template is the same forgery.
            genuine = cp.get_json("rs", "-n", "shop", "-l", "app=ledger")["items"][0]["metadata"]["name"]
            refused(kubectl_as(BOB, "set", "image", "-n", "shop", f"rs/{genuine}",
                               "app=registry.example/ledger:2.0"), "denied the change of replicaset")
            check(not cp.kubectl("get", "rs", "-n", "shop", "ledger-forged", check_rc=False).returncode == 0,
                  "the forged ReplicaSet does not exist")
            # Scaling a ReplicaSet is not a new revision.
            admitted(kubectl_as(BOB, "scale", "-n", "shop", f"rs/{genuine}", "--replicas=0"))
            r = kubectl_as(BOB, "set", "image", "-n", "shop", "deployment/ledger",
                           "app=registry.example/ledger:2.0")
            refused(r, "tier exhausted x risk medium = block")
            check("rollback exception" not in r.stderr, r.stderr)
            check(image_of("shop", "ledger").endswith("ledger:1.1"), "ledger still runs 1.1")

        @suite.check("a genuine rollback still passes (its revision was made by the deployment controller)")
        def _():
            admitted(kubectl_as(BOB, "rollout", "undo", "-n", "shop", "deployment/ledger"))
            check(image_of("shop", "ledger").endswith("ledger:1.0"), "rolled back to 1.0")

        @suite.check("relabel bypass: an edit that takes a workload out of an SLO's selector is gated")
        def _():
            refused(kubectl_as(BOB, "label", "-n", "shop", "deployment/payments", "team-"),
                    "would leave the selector of SLO shop/payments-availability",
                    "the label change of deployment shop/payments")
            refused(kubectl_as(BOB, "label", "-n", "shop", "deployment/payments", "team=other",
                               "--overwrite"), "would leave the selector")
            refused(kubectl_as(BOB, "set", "image", "-n", "shop", "deployment/payments",
                               "app=registry.example/payments:2.0"), "tier exhausted")
            # Labels that keep it under the selector, and annotations, are not gated.
            admitted(kubectl_as(BOB, "label", "-n", "shop", "deployment/payments", "owner=bob"))
            admitted(kubectl_as(BOB, "annotate", "-n", "shop", "deployment/payments", "note=hi"))
            # A new Deployment without labels whose pods carry the protected ones is a rollout.
            shadow = labelled_deployment("ledger-shadow", "shop", None, {"app": "ledger", "role": "shadow"},
                                         {"app": "ledger", "role": "shadow"}, "registry.example/ledger:2.0")
            refused(kubectl_as(BOB, "apply", "-f", "-", stdin=shadow),
                    "denied the rollout of deployment shop/ledger-shadow")

        @suite.check("Pods made by hand with protected labels are gated; controller-made Pods are not")
        def _():
            refused(kubectl_as(BOB, "run", "ledger-debug", "-n", "shop", "--image=registry.example/ledger:2.0",
                               "--labels=app=ledger"),
                    "denied the creation of pod shop/ledger-debug", "tier exhausted")
            admitted(kubectl_as(BOB, "run", "plain", "-n", "shop", "--image=registry.example/tool:1"))
            refused(kubectl_as(BOB, "label", "-n", "shop", "pod/plain", "app=ledger"),
                    "the label change of pod shop/plain", "it would come under SLO shop/ledger-availability")
            pods = wait_until("a ledger Pod made by the replicaset controller", lambda: cp.get_json(
                "pods", "-n", "shop", "-l", "app=ledger")["items"], timeout=30)
            refused(kubectl_as(BOB, "set", "image", "-n", "shop", f"pod/{pods[0]['metadata']['name']}",
                               "app=registry.example/ledger:2.0"), "the spec change of pod")
            # Under a healthy SLO a hand-made Pod is a rollout like any other: admitted.
            admitted(kubectl_as(BOB, "run", "checkout-canary", "-n", "shop",
                                "--image=registry.example/checkout:2.0", "--labels=app=checkout"))
            # A hand-made ReplicaSet the checkout Deployment would adopt: refused whatever the tier.
            rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": "checkout-extra", "namespace": "shop", "labels": {"app": "checkout"}},
                  "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "checkout"}},
                           "template": {"metadata": {"labels": {"app": "checkout"}},
                                        "spec": {"containers": [{"name": "app", "image": "x:9"}]}}}}
            refused(kubectl_as(BOB, "create", "-f", "-", stdin=json.dumps(rs)),
                    "it belongs to deployment shop/checkout")

        @suite.check("a 100-Pod rollout costs one webhook call (controller-made Pods and ReplicaSets never reach it)")
        def _():
            def reviews():
                _, text = http_get(base + "/metrics")
                return {k: metric_value(text, "budgetgate_webhook_reviews_total", {"kind": k}) or 0
                        for k in ("Deployment", "ReplicaSet", "Pod")}
            def fleet(image):
                return [p for p in cp.get_json("pods", "-n", "shop", "-l", "app=fleet")["items"]
                        if p["spec"]["containers"][0]["image"].endswith(image)
                        and "deletionTimestamp" not in p["metadata"]]
            admitted(cp.kubectl("scale", "-n", "shop", "deployment/fleet", "--replicas=100", check_rc=False))
            wait_until("100 fleet Pods", lambda: len(fleet("fleet:1.0")) >= 100, timeout=120)
            before = reviews()
            admitted(kubectl_as(BOB, "set", "image", "-n", "shop", "deployment/fleet",
                                "app=registry.example/fleet:1.1"))
            wait_until("the 100 Pods replaced", lambda: len(fleet("fleet:1.1")) >= 100 and not fleet("fleet:1.0"),
                       timeout=180)
            after = reviews()
            delta = {k: after[k] - before[k] for k in after}
            log(f"webhook calls during the 100-Pod rollout: {delta}")
            check(delta["Pod"] == 0 and delta["ReplicaSet"] == 0, f"no Pod/ReplicaSet reviews: {delta}")
            check(delta["Deployment"] == 1, f"exactly the one Deployment update: {delta}")
            cp.kubectl("scale", "-n", "shop", "deployment/fleet", "--replicas=0")

        @suite.check("an exception applies only to the rollout that asked for it")
        def _():
            fix = deployment("ledger", "shop", "ledger", "registry.example/ledger:1.0-cve",
                             {"budgetgate.dev/release-type": "security"})
            r = admitted(kubectl_as(ALICE, "apply", "-f", "-", stdin=fix))
            check("security exception" in r.stderr, r.stderr)
            # The annotation stays on the Deployment; it is not a claim for the next rollout.
            for who in (BOB, ALICE):
                r = kubectl_as(who, "set", "image", "-n", "shop", "deployment/ledger",
                               "app=registry.example/ledger:3.0")
                refused(r, "claimed by an earlier change", "tier exhausted")
            # A new claim (release-ref changed in the same request) is honoured for alice...
            again = deployment("ledger", "shop", "ledger", "registry.example/ledger:1.0-cve2",
                               {"budgetgate.dev/release-type": "security",
                                "budgetgate.dev/release-ref": "CVE-2026-0002"})
            refused(kubectl_as(BOB, "apply", "-f", "-", stdin=again), "release-type security not honoured")
            admitted(kubectl_as(ALICE, "apply", "-f", "-", stdin=again))
            # A restart runs the same pod spec: not a rollout under the default policy...
            r = admitted(kubectl_as(BOB, "rollout", "restart", "-n", "shop", "deployment/ledger"))
            check("exception" not in r.stderr, r.stderr)
            # ...and gated where the policy says restarts: gate.
            refused(kubectl_as(BOB, "rollout", "restart", "-n", "frozen", "deployment/ledger"),
                    "denied the restart of deployment frozen/ledger")

        @suite.check("release types: bugfix only for the people and tiers the policy names; unknown types refused")
        def _():
            fix = deployment("ledger", "shop", "ledger", "registry.example/ledger:1.0-fix",
                             {"budgetgate.dev/release-type": "bugfix"})
            # budgetgate/default: bugfix by sre at warning and critical; shop/ledger is exhausted.
            refused(kubectl_as(ALICE, "apply", "-f", "-", stdin=fix),
                    "admits bug fixes at tiers warning, critical only", "tier exhausted")
            refused(kubectl_as(BOB, "apply", "-f", "-", stdin=fix),
                    "release-type bugfix not honoured: user bob")
            # frozen/default lets sre ship bug fixes even when exhausted; bob still may not.
            frozen_fix = fix.replace("namespace: shop", "namespace: frozen")
            refused(kubectl_as(BOB, "apply", "-f", "-", stdin=frozen_fix), "not honoured")
            r = admitted(kubectl_as(ALICE, "apply", "-f", "-", stdin=frozen_fix))
            check("bugfix exception" in r.stderr, r.stderr)
            # A release type budgetgate does not know is refused even on a healthy SLO, with the
            # valid ones; removing it (a feature) goes through.
            typo = deployment("checkout", "shop", "checkout", "registry.example/checkout:1.1",
                              {"budgetgate.dev/release-type": "hotfix"})
            refused(kubectl_as(BOB, "apply", "-f", "-", stdin=typo),
                    '"hotfix" is not one of feature, bugfix, security, slo-improvement, rollback')
            admitted(kubectl_as(BOB, "apply", "-f", "-", stdin=deployment(
                "checkout", "shop", "checkout", "registry.example/checkout:1.1",
                {"budgetgate.dev/release-type": "feature"})))

        @suite.check("reviews the webhook cannot read are refused, never allowed")
        def _():
            good = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                    "request": {"uid": "u1", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                                "operation": "CREATE", "namespace": "shop", "name": "x",
                                "userInfo": {"username": "bob"},
                                "object": json.loads(cp.kubectl("create", "--dry-run=client", "-o", "json", "-f", "-",
                                                                stdin=deployment("x", "shop", "ledger", "y:1")).stdout)}}
            cases = {}
            no_kind = json.loads(json.dumps(good))
            del no_kind["request"]["kind"]
            cases["no request.kind"] = no_kind
            no_ns = json.loads(json.dumps(good))
            del no_ns["request"]["namespace"]
            cases["no namespace"] = no_ns
            array_labels = json.loads(json.dumps(good))
            array_labels["request"]["object"]["metadata"]["labels"] = ["app", "ledger"]
            cases["labels as an array"] = array_labels
            for what, review in cases.items():
                code, body = post(base + "/validate/deployments", json.dumps(review).encode())
                resp = json.loads(body)["response"]
                check(code == 200 and resp["allowed"] is False and resp["status"]["code"] == 400,
                      f"{what}: {body}")

        @suite.check("the gate's own objects: editors may read SLOs and tighten them, never loosen them")
        def _():
            admitted(kubectl_as(BOB, "get", "slo", "-n", "shop"))
            r = admitted(kubectl_as(BOB, "describe", "slo", "-n", "shop", "ledger-availability"))
            check("exhausted" in r.stdout, r.stdout[:300])
            r = kubectl_as(BOB, "patch", "slo", "-n", "shop", "ledger-availability", "--subresource=status",
                           "--type=merge", "-p", '{"status":{"tier":"healthy"}}')
            check(r.returncode != 0 and "forbidden" in r.stderr.lower(), f"status is the controller's: {r.stderr}")
            r = kubectl_as(BOB, "apply", "-f", "-", stdin=policy("default", "shop", "  mode: audit\n"))
            check(r.returncode != 0 and "forbidden" in r.stderr.lower(), f"policies are not editors': {r.stderr}")
            refused(kubectl_as(BOB, "delete", "slo", "-n", "shop", "ledger-availability"),
                    "denied the deletion of ServiceLevelObjective shop/ledger-availability",
                    "it deletes a gating SLO", "group sre")
            lowered = slo("ledger-availability", "shop", "ledger", {"app": "ledger"}, target=0.9)
            refused(kubectl_as(BOB, "apply", "-f", "-", stdin=lowered), "lowers objectives[0] from 99.9% to 90%")
            narrowed = slo("ledger-availability", "shop", "ledger", {"app": "ledger", "tier": "gold"})
            refused(kubectl_as(BOB, "apply", "-f", "-", stdin=narrowed),
                    "narrows spec.gate.selector: deployment shop/ledger would no longer be gated")
            laxer = slo("ledger-availability", "shop", "ledger", {"app": "ledger"}, policy_ref="lenient")
            refused(kubectl_as(BOB, "apply", "-f", "-", stdin=laxer),
                    "points spec.gate.policyRef at policy budgetgate/lenient", "mode enforce -> warn")
            check(tiers()["shop/ledger-availability"] == "exhausted", "the SLO is unchanged")
            # Tightening and new SLOs are the editors' to make.
            admitted(kubectl_as(BOB, "apply", "-f", "-",
                                stdin=slo("ledger-availability", "shop", "ledger", {"app": "ledger"}, target=0.9995)))
            admitted(kubectl_as(BOB, "apply", "-f", "-",
                                stdin=slo("ledger-latency", "shop", "ledger", {"app": "ledger"})))
            # The owners may loosen, and it is recorded.
            admitted(kubectl_as(ALICE, "apply", "-f", "-",
                                stdin=slo("ledger-availability", "shop", "ledger", {"app": "ledger"})))
            admitted(kubectl_as(ALICE, "delete", "slo", "-n", "shop", "ledger-latency"))
            evs = wait_until("GateLoosenedByOwner Event", lambda: [
                e for e in cp.get_json("events", "-n", "shop")["items"] if e["reason"] == "GateLoosenedByOwner"],
                timeout=20)
            check(any("alice" in e["message"] for e in evs), evs[0]["message"])
            # A policy that would shadow the global one while it denies: not without an owner.
            refused(kubectl_as(CAROL, "apply", "-f", "-", stdin=policy("default", "shop", "  mode: audit\n")),
                    "denied the creation of ErrorBudgetPolicy shop/default",
                    "would be governed by policy shop/default instead of budgetgate/default")
            # An invalid policy would be ignored (handing its SLOs to another): refused.
            r = kubectl_as(CAROL, "apply", "-f", "-", stdin=policy("strict", "shop", "  staleAfter: 1h\n  lastKnownFor: 1m\n"))
            refused(r, "is invalid", "lastKnownFor")

        @suite.check("a monitoring outage does not open the gate (onMissingData: last-known)")
        def _():
            prom.stop()
            time.sleep(26)  # both test policies have staleAfter 20s
            refused(kubectl_as(BOB, "set", "image", "-n", "frozen", "deployment/ledger",
                               "app=registry.example/ledger:9.0"),
                    "last known status", "tier exhausted")
            # The old behaviour, where a policy asks for it: admitted with a warning.
            r = admitted(kubectl_as(BOB, "set", "image", "-n", "legacy", "deployment/ledger",
                                    "app=registry.example/ledger:9.0"))
            check("no current budget status" in r.stderr, r.stderr)
            prom.start()

        @suite.check("with the operator stopped, only gated rollouts fail")
        def _():
            rc = op.stop()
            check(rc == 0, f"operator exit code {rc}")
            # Ungated namespace: every kind of write goes on.
            admitted(kubectl_as(BOB, "apply", "-f", "-", stdin=deployment("tool", "sandbox", "tool", "x:1")))
            admitted(kubectl_as(BOB, "set", "image", "-n", "sandbox", "deployment/tool", "app=x:2"))
            admitted(kubectl_as(BOB, "run", "adhoc", "-n", "sandbox", "--image=x:1", "--labels=app=ledger"))
            # Gated namespace: scaling, annotations and controller-made Pods go on.
            admitted(kubectl_as(BOB, "scale", "-n", "shop", "deployment/ledger", "--replicas=3"))
            admitted(kubectl_as(BOB, "annotate", "-n", "shop", "deployment/ledger", "note=down", "--overwrite"))
            wait_until("3 ledger Pods made by the controller while the webhook is down", lambda: len([
                p for p in cp.get_json("pods", "-n", "shop", "-l", "app=ledger")["items"]
                if "deletionTimestamp" not in p["metadata"]]) >= 3, timeout=60)
            # A Deployment that no SLO selects rolls out, even in a gated namespace.
            admitted(kubectl_as(BOB, "set", "image", "-n", "shop", "deployment/tools", "app=registry.example/tools:2.0"))
            # The gated rollouts fail closed, including the relabel out of the selector.
            r = kubectl_as(BOB, "set", "image", "-n", "shop", "deployment/ledger", "app=registry.example/ledger:5.0")
            refused(r, "failed calling webhook")
            refused(kubectl_as(BOB, "label", "-n", "shop", "deployment/payments", "team-"), "failed calling webhook")
        suite.finish()


if __name__ == "__main__":
    main()
