#!/usr/bin/env python3
"""The chart and the plain manifests against a real kube-apiserver.

A. A real `helm install` into a namespace that enforces the "restricted" Pod Security Standard:
   Helm creates the CRDs and the default ErrorBudgetPolicy; the Deployment's pods are admitted
   (when kube-controller-manager runs); NOTES; the ServiceAccount's permissions checked with
   `kubectl auth can-i` (what budgetgate needs is allowed, neighbours are not); a caBundle
   written the way budgetgate writes it survives `helm upgrade`; the gate's reach with
   failurePolicy Fail (webhook pointed at a closed loopback port, so the API server never dials
   a cluster IP): Deployment CREATE and UPDATE refused outside the exempt namespaces, allowed
   in kube-system and the release namespace, scale and delete never gated, dry-run gated too;
   failurePolicy Ignore fails open; break glass (delete the configuration) lets rollouts
   through and `helm upgrade` restores it; `helm uninstall` keeps the CRDs.
B. Every value set in tests/chart/values/ rendered and applied with
   `kubectl apply --dry-run=server` (CRDs applied for real first; cert-manager and
   Prometheus-Operator objects only when their CRDs exist); a PodSecurity warning fails.
C. charts/manifests/budgetgate.yaml: client-side and server-side dry-run apply.

Needs tests/scripts/build-controlplane.sh and tests/scripts/controlplane.sh (exits 77 = skipped
without them). Run: python3 tests/chart/chart_apiserver_test.py [-v]
"""

import json
import pathlib
import socket
import subprocess
import sys
import time
import unittest

import yaml

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import controlplane  # noqa: E402

ROOT = controlplane.ROOT
CHART = ROOT / "charts" / "budgetgate"
VALUES = HERE / "values"
MANIFESTS = ROOT / "charts" / "manifests" / "budgetgate.yaml"
NS = "budgetgate"
PROM_URL = "http://prometheus-operated.monitoring.svc:9090"
SA = f"system:serviceaccount:{NS}:budgetgate"
OPTIONAL_GROUPS = {"cert-manager.io": ("Issuer", "Certificate"), "monitoring.coreos.com": ("ServiceMonitor",)}

cp = None
HELM = None


def setUpModule():
    global cp, HELM
    HELM = subprocess.run([str(ROOT / "tests" / "scripts" / "setup-helm.sh"), "--path"],
                          check=True, capture_output=True, text=True).stdout.strip()
    cp = controlplane.ControlPlane("chart").start()
    # The release namespace, labelled as in the plain manifests (+ warn, to see violations of
    # Deployments, which "enforce" only checks on Pods).
    ns = yaml.safe_load(MANIFESTS.read_text().split("\n---\n", 2)[1])
    assert ns["kind"] == "Namespace"
    ns["metadata"]["labels"]["pod-security.kubernetes.io/warn"] = "restricted"
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(ns))


def tearDownModule():
    if cp:
        cp.stop()


def render(values):
    out = subprocess.run([HELM, "template", "budgetgate", str(CHART), "--namespace", NS, "-f", str(VALUES / values)],
                         check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def ensure_crds():
    """The chart's CRDs, applied for real (custom resources can only be dry-run against them)."""
    names = ("servicelevelobjectives.slo.budgetgate.dev", "errorbudgetpolicies.slo.budgetgate.dev")
    if any(cp.kubectl("get", "crd", n, check=False).returncode != 0 for n in names):
        cp.kubectl("apply", "-f", str(CHART / "crds"))
    cp.wait_crds(*names)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deployment(name, ns, image="registry.invalid/app:1"):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}}}


class A_HelmInstall(unittest.TestCase):
    """Ordered steps on one real release (methods run in name order)."""

    @classmethod
    def setUpClass(cls):
        p = cp.helm(HELM, "install", "budgetgate", str(CHART), "--namespace", NS,
                    "--set", f"prometheus.url={PROM_URL}")
        cls.install_output = p.stdout
        for ns in ("shop", "other"):
            cp.kubectl("create", "namespace", ns)
            # What the operator does for namespaces holding a gating SLO (none runs here).
            cp.kubectl("label", "namespace", ns, "budgetgate.dev/gated=true")
        cp.kubectl("create", "namespace", "ungated")

    def vwc(self):
        return json.loads(cp.kubectl("get", "validatingwebhookconfiguration", "budgetgate", "-o", "json").stdout)

    def can_i(self, *args):
        p = cp.kubectl("auth", "can-i", *args, f"--as={SA}", check=False)
        return p.stdout.strip() == "yes"

    def test_1_notes(self):
        self.assertIn("kubectl get slo -A", self.install_output)
        self.assertIn("kubectl delete validatingwebhookconfiguration budgetgate", self.install_output)

    def test_1_crds_and_default_policy_installed_by_helm(self):
        for crd in ("servicelevelobjectives.slo.budgetgate.dev", "errorbudgetpolicies.slo.budgetgate.dev"):
            cp.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=30s")
        ebp = json.loads(cp.kubectl("get", "ebp", "default", "-n", NS, "-o", "json").stdout)
        with open(ROOT / "crds" / "samples" / "policy-default.yaml") as f:
            self.assertEqual(ebp["spec"], yaml.safe_load(f)["spec"])

    def test_1_pods_admitted_under_restricted_pod_security(self):
        # Needs kube-controller-manager (ReplicaSet -> Pods); the namespace enforces "restricted".
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rs = cp.kubectl("get", "rs", "-n", NS, "-l", "app.kubernetes.io/instance=budgetgate", "-o", "name").stdout
            pods = cp.kubectl("get", "pods", "-n", NS, "-l", "app.kubernetes.io/instance=budgetgate",
                              "-o", "name").stdout.split()
            if len(pods) == 2:
                return
            events = cp.kubectl("get", "events", "-n", NS, "--field-selector", "reason=FailedCreate",
                                "-o", "jsonpath={.items[*].message}").stdout
            self.assertNotIn("violates PodSecurity", events)
            time.sleep(1)
        if not rs:
            self.skipTest("no ReplicaSet was created: kube-controller-manager is not running")
        self.fail(f"the Deployment's 2 pods were not created; events: {events}")

    def test_2_rbac(self):
        if self.can_i("delete", "nodes"):
            self.skipTest("the API server does not enforce RBAC (authorization mode lets everything through)")
        allowed = [
            ("list", "servicelevelobjectives.slo.budgetgate.dev", "--all-namespaces"),
            ("watch", "errorbudgetpolicies.slo.budgetgate.dev", "--all-namespaces"),
            ("patch", "servicelevelobjectives.slo.budgetgate.dev", "--subresource=status", "-n", "shop"),
            ("update", "servicelevelobjectives.slo.budgetgate.dev", "--subresource=status", "-n", "shop"),
            ("watch", "replicasets.apps", "--all-namespaces"),
            ("watch", "deployments.apps", "--all-namespaces"),
            ("patch", "namespaces/shop"),
            ("create", "events", "-n", "shop"),
            ("create", "leases.coordination.k8s.io", "-n", NS),
            ("update", "leases.coordination.k8s.io/budgetgate-controller", "-n", NS),
            ("create", "secrets", "-n", NS),
            ("get", "secrets/budgetgate-webhook-tls", "-n", NS),
            ("update", "secrets/budgetgate-webhook-tls", "-n", NS),
            ("get", "validatingwebhookconfigurations.admissionregistration.k8s.io/budgetgate"),
            ("update", "validatingwebhookconfigurations.admissionregistration.k8s.io/budgetgate"),
            ("patch", "validatingwebhookconfigurations.admissionregistration.k8s.io/budgetgate"),
        ]
        denied = [
            ("patch", "servicelevelobjectives.slo.budgetgate.dev", "-n", "shop"),
            ("delete", "servicelevelobjectives.slo.budgetgate.dev", "-n", "shop"),
            ("create", "errorbudgetpolicies.slo.budgetgate.dev", "-n", NS),
            ("update", "deployments.apps", "-n", "shop"),
            ("delete", "replicasets.apps", "-n", "shop"),
            ("update", "leases.coordination.k8s.io/someone-else", "-n", NS),
            ("create", "leases.coordination.k8s.io", "-n", "shop"),
            ("list", "secrets", "-n", NS),
            ("get", "secrets/other", "-n", NS),
            ("get", "secrets/budgetgate-webhook-tls", "-n", "shop"),
            ("create", "secrets", "-n", "shop"),
            ("update", "validatingwebhookconfigurations.admissionregistration.k8s.io/other"),
            ("create", "validatingwebhookconfigurations.admissionregistration.k8s.io"),
            ("list", "pods", "--all-namespaces"),
            ("delete", "namespaces/shop"),
            ("create", "namespaces"),
        ]
        for args in allowed:
            with self.subTest(allowed=" ".join(args)):
                self.assertTrue(self.can_i(*args))
        for args in denied:
            with self.subTest(denied=" ".join(args)):
                self.assertFalse(self.can_i(*args))

    def test_3_ca_bundle_survives_upgrade(self):
        self.assertNotIn("caBundle", self.vwc()["webhooks"][0]["clientConfig"])
        ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="  # what budgetgate writes: base64 PEM
        cp.kubectl("patch", "validatingwebhookconfiguration", "budgetgate", "--type=json", "-p",
                   json.dumps([{"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": ca}]))
        cp.helm(HELM, "upgrade", "budgetgate", str(CHART), "--namespace", NS,
                "--set", f"prometheus.url={PROM_URL}", "--set", "webhook.timeoutSeconds=4")
        hook = self.vwc()["webhooks"][0]
        self.assertEqual(hook["timeoutSeconds"], 4, "the upgrade was applied")
        self.assertEqual(hook["clientConfig"].get("caBundle"), ca, "helm upgrade must keep budgetgate's caBundle")

    def point_webhook_at_closed_loopback_port(self):
        hook = self.vwc()["webhooks"][0]
        self.assertEqual(hook["clientConfig"]["service"]["name"], "budgetgate")
        url = f"https://127.0.0.1:{free_port()}/validate/deployments"
        cp.kubectl("patch", "validatingwebhookconfiguration", "budgetgate", "--type=json", "-p", json.dumps([
            {"op": "remove", "path": "/webhooks/0/clientConfig/service"},
            {"op": "add", "path": "/webhooks/0/clientConfig/url", "value": url}]))

    def set_failure_policy(self, policy):
        cp.kubectl("patch", "validatingwebhookconfiguration", "budgetgate", "--type=json", "-p", json.dumps(
            [{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": policy}]))

    def create(self, obj):
        return cp.kubectl("create", "-f", "-", input=yaml.safe_dump(obj), check=False)

    def test_4_gate_reach_with_fail(self):
        self.point_webhook_at_closed_loopback_port()
        # Fail open first (Ignore) to get a Deployment into a gated namespace.
        self.set_failure_policy("Ignore")
        p = self.create(deployment("web", "shop"))
        self.assertEqual(p.returncode, 0, "failurePolicy Ignore lets the write through: " + p.stderr)
        self.set_failure_policy("Fail")

        p = self.create(deployment("api", "other"))
        self.assertNotEqual(p.returncode, 0, "an unreachable gate with failurePolicy Fail must refuse")
        self.assertIn('failed calling webhook "deployments.budgetgate.dev"', p.stderr)
        p = cp.kubectl("set", "image", "deployment/web", "app=registry.invalid/app:2", "-n", "shop", check=False)
        self.assertNotEqual(p.returncode, 0, "UPDATE of a Deployment is gated")
        self.assertIn("deployments.budgetgate.dev", p.stderr)

        for ns in ("kube-system", NS, "ungated"):
            with self.subTest(exempt=ns):
                p = self.create(deployment("exempt-check", ns))
                self.assertEqual(p.returncode, 0, f"{ns} is exempt or holds no gating SLO: {p.stderr}")
                cp.kubectl("delete", "deployment", "exempt-check", "-n", ns)

        p = cp.kubectl("scale", "deployment/web", "--replicas=3", "-n", "shop", check=False)
        self.assertEqual(p.returncode, 0, "the scale subresource is never gated: " + p.stderr)
        self.assertEqual(cp.kubectl("get", "deployment", "web", "-n", "shop", "-o",
                                    "jsonpath={.spec.replicas}").stdout, "3")
        p = cp.kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(deployment("dry", "shop")),
                       check=False)
        self.assertNotEqual(p.returncode, 0, "dry-run requests are gated too (sideEffects: None)")

    def test_5_break_glass_and_restore(self):
        cp.kubectl("delete", "validatingwebhookconfiguration", "budgetgate")
        p = self.create(deployment("api", "other"))
        self.assertEqual(p.returncode, 0, "after break glass rollouts go through: " + p.stderr)
        # Leave no Deployment in a gated namespace before the configuration comes back pointing at
        # the Service (the API server must not dial a cluster IP from this test).
        cp.kubectl("delete", "deployment", "--all", "-n", "shop")
        cp.kubectl("delete", "deployment", "--all", "-n", "other")
        cp.helm(HELM, "upgrade", "budgetgate", str(CHART), "--namespace", NS, "--set", f"prometheus.url={PROM_URL}")
        hook = self.vwc()["webhooks"][0]
        self.assertEqual(hook["clientConfig"]["service"]["name"], "budgetgate")
        self.assertEqual(hook["failurePolicy"], "Fail")

    def test_6_uninstall(self):
        cp.helm(HELM, "uninstall", "budgetgate", "--namespace", NS)
        p = cp.kubectl("get", "validatingwebhookconfiguration", "budgetgate", check=False)
        self.assertNotEqual(p.returncode, 0)
        p = cp.kubectl("get", "crd", "servicelevelobjectives.slo.budgetgate.dev", check=False)
        self.assertEqual(p.returncode, 0, "helm uninstall keeps the CRDs (and every SLO)")


class B_DryRunValueSets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ensure_crds()

    def test_every_value_set(self):
        present = {g for g in OPTIONAL_GROUPS if cp.has_api_group(g)}
        for f in sorted(VALUES.glob("*.yaml")):
            with self.subTest(values=f.name):
                docs = render(f.name)
                skipped = [d["kind"] for d in docs
                           if d["apiVersion"].split("/")[0] in OPTIONAL_GROUPS
                           and d["apiVersion"].split("/")[0] not in present]
                docs = [d for d in docs if d["kind"] not in skipped]
                p = cp.kubectl("apply", "--dry-run=server", "-f", "-",
                               input=yaml.safe_dump_all(docs), check=False)
                out = p.stdout + p.stderr
                print(f"  {f.name}: {len(docs)} objects dry-run applied"
                      + (f"; not applied (CRD absent): {', '.join(skipped)}" if skipped else ""),
                      file=sys.stderr)
                self.assertEqual(p.returncode, 0, out)
                self.assertEqual(out.count("(server dry run)"), len(docs), out)
                self.assertNotIn("PodSecurity", out)
                self.assertNotIn("Warning", p.stderr)


class C_PlainManifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ensure_crds()

    def test_client_side_dry_run(self):
        p = cp.kubectl("apply", "--dry-run=server", "-f", str(MANIFESTS), check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("PodSecurity", p.stderr)

    def test_server_side_dry_run(self):
        p = cp.kubectl("apply", "--server-side", "--dry-run=server", "-f", str(MANIFESTS), check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("validatingwebhookconfiguration.admissionregistration.k8s.io/budgetgate serverside-applied",
                      p.stdout)

if __name__ == "__main__":
    controlplane.require()
    unittest.main(verbosity=2)
