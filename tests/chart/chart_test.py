#!/usr/bin/env python3
"""Static tests of the Helm chart charts/budgetgate and the plain manifests charts/manifests.

`helm lint --strict`, then `helm template` with the value sets in tests/chart/values/ and
assertions on the rendered objects: the webhook configuration (rules, sideEffects, failurePolicy,
namespaceSelector, TLS wiring), the Deployment (replicas, probes, security context, flags), RBAC
(least privilege, exact rule sets), the PodDisruptionBudget, the default ErrorBudgetPolicy against
crds/samples/policy-default.yaml, cert-manager and ServiceMonitor options, the Grafana dashboard
ConfigMap (the chart's copy byte-identical to dashboards/budgetgate.json); rendering errors for
bad values; CRDs in the chart byte-identical to crds/; charts/manifests/budgetgate.yaml in sync
with the chart; and the rendered flags accepted by the real build/budgetgate.

Run: python3 tests/chart/chart_test.py [-v] [TestClass[.test_method]]
Environment: HELM (helm binary; default: tests/scripts/setup-helm.sh --path),
BUDGETGATE_BIN (default: build/budgetgate; the flag check is skipped when it does not exist).
"""

import copy
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHART = ROOT / "charts" / "budgetgate"
VALUES = HERE / "values"
MANIFESTS = ROOT / "charts" / "manifests" / "budgetgate.yaml"
PROM_URL = "http://prometheus-operated.monitoring.svc:9090"
TLS_DIR = "/var/run/budgetgate/tls"

_helm = None


def helm():
    global _helm
    if _helm is None:
        _helm = os.environ.get("HELM") or subprocess.run(
            [str(ROOT / "tests" / "scripts" / "setup-helm.sh"), "--path"],
            check=True, capture_output=True, text=True).stdout.strip()
    return _helm


def run_helm(*args, check=True):
    p = subprocess.run([helm(), *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p


def template_args(values=None, sets=(), release="budgetgate", namespace="budgetgate",
                  chart=CHART, extra=()):
    args = ["template", release, str(chart), "--namespace", namespace, *extra]
    if values:
        args += ["-f", str(VALUES / values)]
    for s in sets:
        args += ["--set", s]
    return args


def render(values="defaults.yaml", sets=(), **kw):
    out = run_helm(*template_args(values, sets, **kw)).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def render_error(values=None, sets=(), **kw):
    p = run_helm(*template_args(values, sets, **kw), check=False)
    return p.returncode, p.stderr


def find(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    return found


def one(docs, kind, name=None):
    found = find(docs, kind, name)
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0]


def container(docs):
    dep = one(docs, "Deployment")
    cs = dep["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1, cs
    return cs[0]


def args_of(docs):
    return container(docs)["args"]


def flag(args, name):
    """Value of --name=VALUE in args (None if absent; True for a bare --name)."""
    for a in args:
        if a == name:
            return True
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def rule_set(rules):
    """Flatten RBAC rules into (group, resource, verb, resourceName-or-None) tuples."""
    out = set()
    for r in rules:
        for g in r.get("apiGroups", []):
            for res in r.get("resources", []):
                for v in r.get("verbs", []):
                    for n in r.get("resourceNames") or [None]:
                        out.add((g, res, v, n))
    return out


def policy_sample_spec():
    with open(ROOT / "crds" / "samples" / "policy-default.yaml") as f:
        return yaml.safe_load(f)["spec"]


def deep_merge(base, override):
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "ValidatingWebhookConfiguration",
                  "CustomResourceDefinition", "Namespace"}

DEFAULT_CLUSTER_RULES = {
    ("slo.budgetgate.dev", "servicelevelobjectives", "get", None),
    ("slo.budgetgate.dev", "servicelevelobjectives", "list", None),
    ("slo.budgetgate.dev", "servicelevelobjectives", "watch", None),
    ("slo.budgetgate.dev", "errorbudgetpolicies", "get", None),
    ("slo.budgetgate.dev", "errorbudgetpolicies", "list", None),
    ("slo.budgetgate.dev", "errorbudgetpolicies", "watch", None),
    ("slo.budgetgate.dev", "rolloutapprovals", "get", None),
    ("slo.budgetgate.dev", "rolloutapprovals", "list", None),
    ("slo.budgetgate.dev", "rolloutapprovals", "watch", None),
    ("slo.budgetgate.dev", "budgetadjustments", "get", None),
    ("slo.budgetgate.dev", "budgetadjustments", "list", None),
    ("slo.budgetgate.dev", "budgetadjustments", "watch", None),
    ("slo.budgetgate.dev", "servicelevelobjectives/status", "get", None),
    ("slo.budgetgate.dev", "servicelevelobjectives/status", "patch", None),
    ("slo.budgetgate.dev", "servicelevelobjectives/status", "update", None),
    ("apps", "replicasets", "get", None),
    ("apps", "replicasets", "list", None),
    ("apps", "replicasets", "watch", None),
    ("apps", "deployments", "get", None),
    ("apps", "deployments", "list", None),
    ("apps", "deployments", "watch", None),
    ("apps", "statefulsets", "get", None),
    ("apps", "statefulsets", "list", None),
    ("apps", "statefulsets", "watch", None),
    ("apps", "daemonsets", "get", None),
    ("apps", "daemonsets", "list", None),
    ("apps", "daemonsets", "watch", None),
    ("apps", "controllerrevisions", "get", None),
    ("apps", "controllerrevisions", "list", None),
    ("apps", "controllerrevisions", "watch", None),
    ("", "namespaces", "get", None),
    ("", "namespaces", "list", None),
    ("", "namespaces", "patch", None),
    ("", "events", "create", None),
    ("", "events", "patch", None),
    ("", "events", "list", None),
    ("authentication.k8s.io", "tokenreviews", "create", None),
    ("authorization.k8s.io", "subjectaccessreviews", "create", None),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations", "get", "budgetgate"),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations", "update", "budgetgate"),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations", "patch", "budgetgate"),
}
LEASE_RULES = {
    ("coordination.k8s.io", "leases", "get", "budgetgate-controller"),
    ("coordination.k8s.io", "leases", "update", "budgetgate-controller"),
    ("coordination.k8s.io", "leases", "create", None),
}
SECRET_RULES = {
    ("", "secrets", "get", "budgetgate-webhook-tls"),
    ("", "secrets", "update", "budgetgate-webhook-tls"),
    ("", "secrets", "create", None),
}


class Lint(unittest.TestCase):
    def test_lint_strict(self):
        p = run_helm("lint", "--strict", str(CHART), "--set", f"prometheus.url={PROM_URL}")
        self.assertIn("0 chart(s) failed", p.stdout)
        self.assertNotIn("[WARNING]", p.stdout)
        self.assertNotIn("[ERROR]", p.stdout)

    def test_lint_strict_every_value_set(self):
        for f in sorted(VALUES.glob("*.yaml")):
            with self.subTest(values=f.name):
                p = run_helm("lint", "--strict", str(CHART), "-f", str(f), check=False)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertNotIn("[WARNING]", p.stdout)

    def test_lint_without_values_names_the_missing_url(self):
        # helm lint reports a `required` failure as information; the chart stays lintable bare.
        p = run_helm("lint", str(CHART), check=False)
        self.assertIn("prometheus.url is required", p.stdout + p.stderr)


class Crds(unittest.TestCase):
    def test_chart_crds_are_byte_identical_to_crds_dir(self):
        src = sorted(p.name for p in (ROOT / "crds").glob("slo.budgetgate.dev_*.yaml"))
        dst = sorted(p.name for p in (CHART / "crds").glob("*"))
        self.assertTrue(src, "no CRDs in crds/")
        self.assertEqual(src, dst, "charts/budgetgate/crds/ must hold exactly crds/slo.budgetgate.dev_*.yaml")
        for name in src:
            with self.subTest(crd=name):
                self.assertEqual((ROOT / "crds" / name).read_bytes(), (CHART / "crds" / name).read_bytes(),
                                 f"charts/budgetgate/crds/{name} differs from crds/{name}: cp crds/{name} charts/budgetgate/crds/")

    def test_template_include_crds_renders_them(self):
        docs = render(extra=("--include-crds",))
        names = {d["metadata"]["name"] for d in find(docs, "CustomResourceDefinition")}
        self.assertEqual(names, {"servicelevelobjectives.slo.budgetgate.dev",
                                 "errorbudgetpolicies.slo.budgetgate.dev",
                                 "rolloutapprovals.slo.budgetgate.dev",
                                 "budgetadjustments.slo.budgetgate.dev"})


class Defaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = render()

    def test_objects(self):
        kinds = sorted(d["kind"] for d in self.docs)
        self.assertEqual(kinds, sorted([
            "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service",
            "Deployment", "PodDisruptionBudget", "ErrorBudgetPolicy", "ValidatingWebhookConfiguration",
            "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRole"]))

    def test_user_roles(self):
        view = one(self.docs, "ClusterRole", "budgetgate-view")
        self.assertEqual({k for k, v in view["metadata"]["labels"].items() if v == "true"},
                         {f"rbac.authorization.k8s.io/aggregate-to-{r}" for r in ("view", "edit", "admin")})
        self.assertEqual({r[2] for r in rule_set(view["rules"])}, {"get", "list", "watch"})
        edit = one(self.docs, "ClusterRole", "budgetgate-edit")
        self.assertIn("rbac.authorization.k8s.io/aggregate-to-edit", edit["metadata"]["labels"])
        self.assertNotIn("rbac.authorization.k8s.io/aggregate-to-view", edit["metadata"]["labels"])
        # Editors write SLOs; never their status (the controller's) nor policies.
        self.assertEqual({r[1] for r in rule_set(edit["rules"])}, {"servicelevelobjectives"})
        admin = one(self.docs, "ClusterRole", "budgetgate-policy-admin")
        self.assertFalse(any(k.startswith("rbac.authorization.k8s.io/aggregate")
                             for k in admin["metadata"]["labels"]), "bound explicitly, never aggregated")
        self.assertIn(("slo.budgetgate.dev", "errorbudgetpolicies", "create", None), rule_set(admin["rules"]))
        # Approvers write RolloutApprovals (and dry-run PodTemplates for --template-from);
        # bound explicitly: an editor approving their own rollout is what approvals prevent.
        approver = one(self.docs, "ClusterRole", "budgetgate-approver")
        self.assertFalse(any(k.startswith("rbac.authorization.k8s.io/aggregate")
                             for k in approver["metadata"]["labels"]), "bound explicitly, never aggregated")
        self.assertEqual({(r[1], r[2]) for r in rule_set(approver["rules"]) if r[2] == "create"},
                         {("rolloutapprovals", "create"), ("podtemplates", "create")})
        self.assertNotIn("rolloutapprovals", {r[1] for r in rule_set(edit["rules"])})
        # Adjusters write BudgetAdjustments; everyone who may view SLOs may read them; editors
        # may not write them (a team refunding its own budget is what the gate prevents).
        adjuster = one(self.docs, "ClusterRole", "budgetgate-adjuster")
        self.assertFalse(any(k.startswith("rbac.authorization.k8s.io/aggregate")
                             for k in adjuster["metadata"]["labels"]), "bound explicitly, never aggregated")
        self.assertEqual({r[1] for r in rule_set(adjuster["rules"]) if r[2] == "create"}, {"budgetadjustments"})
        self.assertIn(("slo.budgetgate.dev", "budgetadjustments", "list", None), rule_set(view["rules"]))
        self.assertNotIn("budgetadjustments", {r[1] for r in rule_set(edit["rules"])})

    def test_labels_and_namespaces(self):
        for d in self.docs:
            with self.subTest(kind=d["kind"]):
                labels = d["metadata"]["labels"]
                self.assertEqual(labels["app.kubernetes.io/name"], "budgetgate")
                self.assertEqual(labels["app.kubernetes.io/instance"], "budgetgate")
                self.assertEqual(labels["app.kubernetes.io/managed-by"], "Helm")
                self.assertEqual(labels["app.kubernetes.io/version"], "0.1.0")
                self.assertRegex(labels["helm.sh/chart"], r"^budgetgate-\d+\.\d+\.\d+")
                if d["kind"] in CLUSTER_SCOPED:
                    self.assertNotIn("namespace", d["metadata"])
                else:
                    self.assertEqual(d["metadata"]["namespace"], "budgetgate")

    def test_webhook_configuration(self):
        vwc = one(self.docs, "ValidatingWebhookConfiguration")
        self.assertEqual(vwc["metadata"]["name"], "budgetgate")
        self.assertNotIn("annotations", vwc["metadata"])
        hooks = {h["name"]: h for h in vwc["webhooks"]}
        self.assertEqual(set(hooks), {"deployments.budgetgate.dev", "pods.budgetgate.dev",
                                      "replicasets.budgetgate.dev", "gate-objects.budgetgate.dev"})
        resources = {name: [(r["apiGroups"], r["resources"], r["operations"]) for r in h["rules"]]
                     for name, h in hooks.items()}
        self.assertEqual(resources["deployments.budgetgate.dev"], [(["apps"], ["deployments", "statefulsets", "daemonsets"], ["CREATE", "UPDATE"])])
        self.assertEqual(resources["pods.budgetgate.dev"], [([""], ["pods"], ["CREATE", "UPDATE"])])
        self.assertEqual(resources["replicasets.budgetgate.dev"], [(["apps"], ["replicasets"], ["CREATE", "UPDATE"])])
        self.assertEqual(resources["gate-objects.budgetgate.dev"], [
            (["slo.budgetgate.dev"], ["servicelevelobjectives", "errorbudgetpolicies", "rolloutapprovals"],
             ["CREATE", "UPDATE", "DELETE"])])
        workload_namespaces = {
            "matchLabels": {"budgetgate.dev/gated": "true"},
            "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                                  "values": ["kube-system", "budgetgate"]}]}
        for name, hook in hooks.items():
            with self.subTest(hook=name):
                self.assertRegex(hook["name"], r"^[a-z0-9-]+(\.[a-z0-9-]+){2,}$")
                for rule in hook["rules"]:
                    self.assertEqual(rule["apiVersions"], ["v1alpha1" if rule["apiGroups"] == ["slo.budgetgate.dev"] else "v1"])
                    for res in rule["resources"]:
                        self.assertNotIn("/", res, "subresources (scale, status) must not be gated")
                        self.assertNotEqual(res, "*")
                self.assertEqual(hook["sideEffects"], "None")
                self.assertEqual(hook["admissionReviewVersions"], ["v1"])
                self.assertEqual(hook["timeoutSeconds"], 5)
                self.assertEqual(hook["failurePolicy"], "Fail")
                self.assertNotIn("objectSelector", hook)
                self.assertTrue(hook["matchConditions"], "only changes that can matter are sent")
                cc = hook["clientConfig"]
                self.assertNotIn("caBundle", cc, "selfSigned mode: budgetgate writes the caBundle")
                self.assertNotIn("url", cc)
                self.assertEqual(cc["service"], {"name": "budgetgate", "namespace": "budgetgate",
                                                 "path": "/validate/" + name.split(".")[0], "port": 443})
                if name == "gate-objects.budgetgate.dev":
                    self.assertNotIn("namespaceSelector", hook, "SLOs and policies everywhere")
                else:
                    self.assertEqual(hook["namespaceSelector"], workload_namespaces)
        trusted = ("request.userInfo.username == 'system:kube-controller-manager' || "
                   "request.userInfo.username.startsWith('system:serviceaccount:kube-system:')")
        for name in ("pods.budgetgate.dev", "replicasets.budgetgate.dev", "gate-objects.budgetgate.dev"):
            self.assertIn({"name": "not-a-workload-controller", "expression": f"!({trusted})"},
                          hooks[name]["matchConditions"])
        # Every namespace's workloads, when asked; the operator then leaves labels alone.
        docs = render(sets=["webhook.namespaceSelection=all"])
        for hook in one(docs, "ValidatingWebhookConfiguration")["webhooks"][:3]:
            self.assertNotIn("matchLabels", hook["namespaceSelector"])
        self.assertIs(flag(args_of(docs), "--no-namespace-labels"), True)
        self.assertFalse(any(r[1] == "namespaces" for r in rule_set(one(docs, "ClusterRole", "budgetgate")["rules"])))

    def test_service(self):
        svc = one(self.docs, "Service")
        ports = {p["name"]: p for p in svc["spec"]["ports"]}
        self.assertEqual((ports["webhook"]["port"], ports["webhook"]["targetPort"]), (443, "webhook"))
        self.assertEqual((ports["metrics"]["port"], ports["metrics"]["targetPort"]), (8080, "metrics"))
        cports = {p["name"]: p["containerPort"] for p in container(self.docs)["ports"]}
        self.assertEqual(cports, {"webhook": 8443, "metrics": 8080, "api": 8444})
        self.assertEqual((ports["api"]["port"], ports["api"]["targetPort"]), (8444, "api"))
        self.assertIn("--api-address=0.0.0.0:8444", args_of(self.docs))
        off = render(sets=["api.enabled=false"])
        self.assertNotIn("api", {p["name"] for p in one(off, "Service")["spec"]["ports"]})
        self.assertFalse(any(a.startswith("--api-address") for a in args_of(off)))
        self.assertFalse(any(r[0] == "authentication.k8s.io"
                             for r in rule_set(one(off, "ClusterRole", "budgetgate")["rules"])))
        dep = one(self.docs, "Deployment")
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        for k, v in svc["spec"]["selector"].items():
            self.assertEqual(pod_labels.get(k), v)
        self.assertEqual(svc["spec"]["selector"], dep["spec"]["selector"]["matchLabels"])

    def test_status_page(self):
        # Default: loopback inside the Pod, reached by kubectl port-forward; not on the Service.
        args = args_of(self.docs)
        self.assertIn("--status-address=127.0.0.1:8445", args)
        self.assertIn("--status-auth=none", args)
        self.assertNotIn("status", {p["name"] for p in one(self.docs, "Service")["spec"]["ports"]})
        # kubernetes: TLS with the webhook's certificate, bearer tokens, a Service port.
        docs = render(sets=["statusPage.auth=kubernetes"])
        args = args_of(docs)
        for a in ("--status-address=0.0.0.0:8445", "--status-auth=kubernetes",
                  "--status-tls-cert-file=/var/run/budgetgate/tls/tls.crt",
                  "--status-tls-key-file=/var/run/budgetgate/tls/tls.key"):
            self.assertIn(a, args)
        ports = {p["name"]: p for p in one(docs, "Service")["spec"]["ports"]}
        self.assertEqual((ports["status"]["port"], ports["status"]["targetPort"]), (8445, "status"))
        self.assertEqual({p["name"]: p["containerPort"] for p in container(docs)["ports"]}["status"], 8445)
        self.assertIn(("authentication.k8s.io", "tokenreviews", "create"),
                      {(r[0], r[1], r[2]) for r in rule_set(one(docs, "ClusterRole", "budgetgate")["rules"])})
        off = render(sets=["statusPage.enabled=false"])
        self.assertFalse(any(a.startswith(("--status-address", "--status-auth", "--status-tls")) for a in args_of(off)))
        rc, err = render_error(sets=["statusPage.auth=open"])
        self.assertNotEqual(rc, 0)
        self.assertIn("statusPage", err)

    def test_deployment_replicas_and_spreading(self):
        dep = one(self.docs, "Deployment")
        self.assertEqual(dep["spec"]["replicas"], 2)
        self.assertEqual(dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0)
        pod = dep["spec"]["template"]["spec"]
        terms = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        self.assertEqual(terms[0]["podAffinityTerm"]["topologyKey"], "kubernetes.io/hostname")
        self.assertEqual(terms[0]["podAffinityTerm"]["labelSelector"]["matchLabels"],
                         dep["spec"]["selector"]["matchLabels"])
        self.assertEqual(pod["serviceAccountName"], one(self.docs, "ServiceAccount")["metadata"]["name"])
        for k in ("nodeSelector", "tolerations", "priorityClassName", "imagePullSecrets"):
            self.assertNotIn(k, pod)
        self.assertEqual(container(self.docs)["image"], "budgetgate:0.1.0")

    def test_security_context(self):
        pod = one(self.docs, "Deployment")["spec"]["template"]["spec"]
        psc = pod["securityContext"]
        self.assertTrue(psc["runAsNonRoot"])
        self.assertIsInstance(psc["runAsUser"], int)
        self.assertGreater(psc["runAsUser"], 0)
        self.assertEqual(psc["seccompProfile"], {"type": "RuntimeDefault"})
        sc = container(self.docs)["securityContext"]
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertFalse(sc.get("privileged", False))
        self.assertEqual(sc["capabilities"], {"drop": ["ALL"]})
        self.assertTrue(sc["runAsNonRoot"])
        self.assertEqual(sc["seccompProfile"], {"type": "RuntimeDefault"})
        self.assertFalse(pod.get("hostNetwork", False))

    def test_probes_and_resources(self):
        c = container(self.docs)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        live, ready = c["livenessProbe"]["httpGet"], c["readinessProbe"]["httpGet"]
        self.assertEqual(live["path"], "/healthz")
        self.assertEqual(ready["path"], "/readyz")
        self.assertEqual(ports[live["port"]], 8080)
        self.assertEqual(ports[ready["port"]], 8080)
        self.assertNotIn("scheme", live)  # plain HTTP on the metrics port
        for kind in ("requests", "limits"):
            self.assertIn("cpu", c["resources"][kind])
            self.assertIn("memory", c["resources"][kind])

    def test_args_self_signed_tls(self):
        args = args_of(self.docs)
        self.assertEqual(args[0], "operator")
        self.assertEqual(flag(args, "--prometheus"), PROM_URL)
        self.assertEqual(flag(args, "--prometheus-timeout"), "30s")
        self.assertEqual(flag(args, "--interval"), "30s")
        self.assertEqual(flag(args, "--heartbeat"), "2m")
        self.assertEqual(flag(args, "--status-write-qps"), "200")
        self.assertEqual(flag(args, "--status-write-burst"), "400")
        self.assertEqual(flag(args, "--lease-name"), "budgetgate-controller")
        self.assertEqual(flag(args, "--team-label"), "team")
        self.assertIsNone(flag(args, "--no-leader-election"))
        self.assertIsNone(flag(args, "--no-replicaset-watch"))
        self.assertIsNone(flag(args, "--prometheus-bearer-token-file"))
        self.assertIsNone(flag(args, "--prometheus-ca-file"))
        self.assertIsNone(flag(args, "--prometheus-insecure-skip-verify"))
        self.assertEqual(flag(args, "--tls-cert-file"), f"{TLS_DIR}/tls.crt")
        self.assertEqual(flag(args, "--tls-key-file"), f"{TLS_DIR}/tls.key")
        self.assertEqual(flag(args, "--tls-bootstrap-secret"), "budgetgate-webhook-tls")
        self.assertEqual(flag(args, "--tls-bootstrap-webhook"),
                         one(self.docs, "ValidatingWebhookConfiguration")["metadata"]["name"])
        self.assertEqual(flag(args, "--tls-bootstrap-service"), one(self.docs, "Service")["metadata"]["name"])
        self.assertEqual(flag(args, "--namespace"), "$(POD_NAMESPACE)")
        env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container(self.docs)["env"]}
        self.assertEqual(env["POD_NAMESPACE"], "metadata.namespace")

    def test_tls_volume_is_writable_emptydir(self):
        dep = one(self.docs, "Deployment")
        mounts = {m["mountPath"]: m for m in container(self.docs)["volumeMounts"]}
        vols = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
        m = mounts[TLS_DIR]
        self.assertFalse(m.get("readOnly", False))
        self.assertIn("emptyDir", vols[m["name"]])

    def test_pdb(self):
        pdb = one(self.docs, "PodDisruptionBudget")
        self.assertEqual(pdb["apiVersion"], "policy/v1")
        self.assertEqual(pdb["spec"]["minAvailable"], 1)
        self.assertEqual(pdb["spec"]["selector"]["matchLabels"],
                         one(self.docs, "Deployment")["spec"]["selector"]["matchLabels"])

    def test_rbac_is_least_privilege(self):
        cr = one(self.docs, "ClusterRole", "budgetgate")
        self.assertEqual(rule_set(cr["rules"]), DEFAULT_CLUSTER_RULES)
        role = one(self.docs, "Role")
        self.assertEqual(role["metadata"]["namespace"], "budgetgate")
        self.assertEqual(rule_set(role["rules"]), LEASE_RULES | SECRET_RULES)
        for r in cr["rules"] + role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                self.assertNotIn("*", r[field])
        sa = one(self.docs, "ServiceAccount")["metadata"]
        for kind, ref in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
            b = one(self.docs, kind)
            self.assertEqual(b["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": ref,
                                            "name": "budgetgate"})
            self.assertEqual(b["subjects"], [{"kind": "ServiceAccount", "name": sa["name"],
                                              "namespace": sa["namespace"]}])

    def test_default_policy_matches_sample(self):
        ebp = one(self.docs, "ErrorBudgetPolicy")
        self.assertEqual(ebp["apiVersion"], "slo.budgetgate.dev/v1alpha1")
        self.assertEqual(ebp["metadata"]["name"], "default")
        self.assertEqual(ebp["metadata"]["namespace"], "budgetgate")
        self.assertEqual(ebp["spec"], policy_sample_spec())


class ReleaseNaming(unittest.TestCase):
    def test_other_release_and_namespace_stay_consistent(self):
        docs = render(release="prod", namespace="platform")
        vwc = one(docs, "ValidatingWebhookConfiguration")
        self.assertEqual(vwc["metadata"]["name"], "prod-budgetgate")
        hook = vwc["webhooks"][0]
        self.assertEqual(hook["namespaceSelector"]["matchExpressions"][0]["values"], ["kube-system", "platform"])
        svc = one(docs, "Service")
        self.assertEqual(hook["clientConfig"]["service"],
                         {"name": svc["metadata"]["name"], "namespace": "platform",
                          "path": "/validate/deployments", "port": 443})
        args = args_of(docs)
        self.assertEqual(flag(args, "--tls-bootstrap-secret"), "prod-budgetgate-webhook-tls")
        self.assertEqual(flag(args, "--tls-bootstrap-webhook"), "prod-budgetgate")
        self.assertEqual(flag(args, "--tls-bootstrap-service"), svc["metadata"]["name"])
        self.assertIn(("", "secrets", "get", "prod-budgetgate-webhook-tls"), rule_set(one(docs, "Role")["rules"]))
        self.assertIn(("admissionregistration.k8s.io", "validatingwebhookconfigurations", "patch", "prod-budgetgate"),
                      rule_set(one(docs, "ClusterRole", "prod-budgetgate")["rules"]))
        self.assertEqual(one(docs, "ErrorBudgetPolicy")["metadata"]["namespace"], "platform")


class CertManager(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = render("cert-manager.yaml")

    def test_issuer_and_certificate(self):
        issuer = one(self.docs, "Issuer")
        self.assertEqual(issuer["apiVersion"], "cert-manager.io/v1")
        self.assertEqual(issuer["spec"], {"selfSigned": {}})
        cert = one(self.docs, "Certificate")
        self.assertEqual(cert["spec"]["secretName"], "budgetgate-webhook-tls")
        self.assertIn("budgetgate.budgetgate.svc", cert["spec"]["dnsNames"])
        self.assertIn("server auth", cert["spec"]["usages"])
        self.assertEqual(cert["spec"]["issuerRef"], {"name": issuer["metadata"]["name"], "kind": "Issuer"})

    def test_webhook_ca_injected_by_cert_manager(self):
        vwc = one(self.docs, "ValidatingWebhookConfiguration")
        cert = one(self.docs, "Certificate")
        self.assertEqual(vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
                         f"budgetgate/{cert['metadata']['name']}")
        self.assertNotIn("caBundle", vwc["webhooks"][0]["clientConfig"])

    def test_secret_mounted_and_no_bootstrap(self):
        args = args_of(self.docs)
        self.assertEqual(flag(args, "--tls-cert-file"), f"{TLS_DIR}/tls.crt")
        self.assertEqual(flag(args, "--tls-key-file"), f"{TLS_DIR}/tls.key")
        for f in ("--tls-bootstrap-secret", "--tls-bootstrap-webhook", "--tls-bootstrap-service"):
            self.assertIsNone(flag(args, f), f)
        mounts = {m["mountPath"]: m for m in container(self.docs)["volumeMounts"]}
        vols = {v["name"]: v for v in one(self.docs, "Deployment")["spec"]["template"]["spec"]["volumes"]}
        self.assertTrue(mounts[TLS_DIR]["readOnly"])
        self.assertEqual(vols[mounts[TLS_DIR]["name"]]["secret"]["secretName"],
                         one(self.docs, "Certificate")["spec"]["secretName"])

    def test_rbac_has_no_secret_rights(self):
        # The webhook configuration is still budgetgate's to update (its gated-workloads
        # matchCondition), but no Secret.
        self.assertEqual(rule_set(one(self.docs, "ClusterRole", "budgetgate")["rules"]),
                         DEFAULT_CLUSTER_RULES)
        self.assertEqual(rule_set(one(self.docs, "Role")["rules"]), LEASE_RULES)

    def test_existing_issuer(self):
        docs = render("cert-manager-issuer.yaml")
        self.assertEqual(find(docs, "Issuer"), [])
        self.assertEqual(one(docs, "Certificate")["spec"]["issuerRef"], {"name": "cluster-ca", "kind": "ClusterIssuer"})


class ServiceMonitor(unittest.TestCase):
    def test_off_by_default(self):
        self.assertEqual(find(render(), "ServiceMonitor"), [])

    def test_enabled(self):
        docs = render("service-monitor.yaml")
        sm = one(docs, "ServiceMonitor")
        self.assertEqual(sm["apiVersion"], "monitoring.coreos.com/v1")
        self.assertEqual(sm["metadata"]["labels"]["release"], "kube-prometheus-stack")
        (ep,) = sm["spec"]["endpoints"]
        self.assertEqual((ep["port"], ep["path"], ep["interval"]), ("metrics", "/metrics", "15s"))
        svc = one(docs, "Service")
        for k, v in sm["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(svc["metadata"]["labels"].get(k), v)
        self.assertIn("metrics", [p["name"] for p in svc["spec"]["ports"]])
        self.assertEqual(sm["spec"]["namespaceSelector"], {"matchNames": ["budgetgate"]})


class PrometheusRuleAlerts(unittest.TestCase):
    def test_off_by_default(self):
        self.assertEqual(find(render(), "PrometheusRule"), [])

    def test_bands_follow_the_default_policy_and_pass_promtool(self):
        docs = render(sets=["prometheusRule.enabled=true", "policy.tiers.warning.remainingPercent=30",
                            "policy.tiers.critical.remainingPercent=5",
                            "prometheusRule.runbookUrl=https://runbooks.example/budget"])
        rule = one(docs, "PrometheusRule")
        (group,) = rule["spec"]["groups"]
        bands = {r["labels"]["budgetgate_alert"]: r for r in group["rules"]}
        m = "budgetgate_slo_error_budget_remaining_percent"
        self.assertEqual(bands["budget-warning"]["expr"], f"{m} <= 30 and {m} > 5")
        self.assertEqual(bands["budget-critical"]["expr"], f"{m} <= 5 and {m} > 0")
        self.assertEqual(bands["budget-exhausted"]["expr"], f"{m} <= 0")
        self.assertEqual({r["labels"]["severity"] for r in group["rules"]}, {"ticket", "page"})
        self.assertTrue(all(r["annotations"]["runbook_url"] == "https://runbooks.example/budget"
                            for r in group["rules"]))
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            yaml.safe_dump(rule["spec"], f)
            f.flush()
            p = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class GrafanaDashboard(unittest.TestCase):
    """The dashboard ConfigMap for Grafana's sidecar: the chart's copy of dashboards/budgetgate.json."""

    TOP = ROOT / "dashboards" / "budgetgate.json"
    COPY = CHART / "dashboards" / "budgetgate.json"

    def test_chart_copy_is_byte_identical(self):
        self.assertEqual(self.COPY.read_bytes(), self.TOP.read_bytes(),
                         "charts/budgetgate/dashboards/budgetgate.json differs from "
                         "dashboards/budgetgate.json: cp dashboards/budgetgate.json "
                         "charts/budgetgate/dashboards/")

    def test_off_by_default(self):
        self.assertEqual([d for d in render() if d["kind"] == "ConfigMap"
                          and d["metadata"]["name"].endswith("-dashboard")], [])

    def test_enabled(self):
        cm = one(render(sets=["grafanaDashboard.enabled=true"]), "ConfigMap", "budgetgate-dashboard")
        self.assertEqual(cm["metadata"]["namespace"], "budgetgate")
        self.assertEqual(cm["metadata"]["labels"]["grafana_dashboard"], "1")
        self.assertEqual(cm["metadata"]["labels"]["app.kubernetes.io/name"], "budgetgate")
        self.assertNotIn("annotations", cm["metadata"])
        self.assertEqual(list(cm["data"]), ["budgetgate.json"])
        text = cm["data"]["budgetgate.json"]
        self.assertEqual(text, self.TOP.read_text(), "the ConfigMap holds the file as it is")
        dashboard = json.loads(text)
        self.assertEqual(dashboard, json.loads(self.TOP.read_text()))
        self.assertEqual(dashboard["uid"], "budgetgate")
        self.assertIsNone(dashboard["id"])

    def test_labels_annotations_namespace_overridable(self):
        cm = one(render(sets=["grafanaDashboard.enabled=true",
                              "grafanaDashboard.labels.grafana_dashboard=null",
                              "grafanaDashboard.labels.dashboards=budgetgate",
                              "grafanaDashboard.annotations.grafana_folder=SLOs",
                              "grafanaDashboard.namespace=monitoring"]),
                 "ConfigMap", "budgetgate-dashboard")
        self.assertEqual(cm["metadata"]["namespace"], "monitoring")
        self.assertNotIn("grafana_dashboard", cm["metadata"]["labels"])
        self.assertEqual(cm["metadata"]["labels"]["dashboards"], "budgetgate")
        self.assertEqual(cm["metadata"]["annotations"], {"grafana_folder": "SLOs"})

    def test_lint_enabled_and_schema(self):
        p = run_helm("lint", "--strict", str(CHART), "--set", f"prometheus.url={PROM_URL}",
                     "--set", "grafanaDashboard.enabled=true",
                     "--set", "grafanaDashboard.annotations.grafana_folder=SLOs")
        self.assertNotIn("[WARNING]", p.stdout)
        self.assertNotIn("[ERROR]", p.stdout)
        code, err = render_error("defaults.yaml", ["grafanaDashboard.enabled=true",
                                                   "grafanaDashboard.folder=SLOs"])
        self.assertNotEqual(code, 0)
        self.assertIn("folder", err)

    def test_dashboard_model(self):
        d = json.loads(self.TOP.read_text())
        self.assertGreaterEqual(d["schemaVersion"], 36)
        variables = {v["name"]: v for v in d["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        for name in ("namespace", "team", "service"):
            v = variables[name]
            self.assertTrue(v["multi"] and v["includeAll"], name)
            self.assertEqual(v["allValue"], ".*", name)
            self.assertTrue(v["query"].startswith(
                "label_values(budgetgate_slo_error_budget_remaining_percent"), name)
        panels = [p for p in d["panels"] if p["type"] != "row"]
        self.assertEqual(len({p["id"] for p in d["panels"]}), len(d["panels"]), "unique panel ids")
        for p in panels:
            self.assertEqual(p["datasource"], {"type": "prometheus", "uid": "${datasource}"}, p["title"])
            self.assertTrue(p.get("description"), p["title"])
            self.assertTrue(p["targets"], p["title"])
            for t in p["targets"]:
                self.assertEqual(t["datasource"]["uid"], "${datasource}", p["title"])
                names = set(re.findall(r"\b(budgetgate[_:][a-z0-9_:]+|ALERTS)\b", t["expr"]))
                self.assertTrue(names, f"{p['title']}: {t['expr']}")
            g = p["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, p["title"])


class ArgoRollouts(unittest.TestCase):
    def test_off_by_default(self):
        docs = render()
        hooks = [h["name"] for h in one(docs, "ValidatingWebhookConfiguration")["webhooks"]]
        self.assertNotIn("rollouts.budgetgate.dev", hooks)
        self.assertNotIn("--gate-argo-rollouts", args_of(docs))
        self.assertNotIn("argoproj.io", {g for r in one(docs, "ClusterRole", "budgetgate")["rules"]
                                         for g in r["apiGroups"]})

    def test_enabled(self):
        docs = render(sets=["gate.argoRollouts=true", "gate.argoRolloutsNamespace=rollouts"])
        hooks = {h["name"]: h for h in one(docs, "ValidatingWebhookConfiguration")["webhooks"]}
        hook = hooks["rollouts.budgetgate.dev"]
        self.assertEqual([(r["apiGroups"], r["resources"], r["operations"]) for r in hook["rules"]],
                         [(["argoproj.io"], ["rollouts"], ["CREATE", "UPDATE"])])
        self.assertEqual(hook["clientConfig"]["service"]["path"], "/validate/rollouts")
        self.assertIn("spec.workloadRef", hook["matchConditions"][0]["expression"])
        # Argo's controller is trusted for the ReplicaSets and Pods it writes.
        for name in ("pods.budgetgate.dev", "replicasets.budgetgate.dev"):
            cond = {c["name"]: c["expression"] for c in hooks[name]["matchConditions"]}
            self.assertIn("system:serviceaccount:rollouts:", cond["not-a-workload-controller"])
        args = args_of(docs)
        self.assertIn("--gate-argo-rollouts", args)
        self.assertIn("--trusted-controller-namespace=rollouts", args)
        rules = rule_set(one(docs, "ClusterRole", "budgetgate")["rules"])
        self.assertEqual(rules - DEFAULT_CLUSTER_RULES,
                         {("argoproj.io", "rollouts", v, None) for v in ("get", "list", "watch")})


class WarnPolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = render("warn-policy.yaml")

    def test_policy_follows_values_deep_merged(self):
        with open(VALUES / "warn-policy.yaml") as f:
            override = yaml.safe_load(f)["policy"]
        expected = deep_merge(policy_sample_spec(), override)
        spec = one(self.docs, "ErrorBudgetPolicy")["spec"]
        self.assertEqual(spec, expected)
        self.assertEqual(spec["mode"], "warn")
        self.assertEqual(spec["tiers"]["critical"], {"remainingPercent": 5, "burnRate": 5, "exhaustionWithin": "3d"})
        self.assertEqual(spec["review"]["approvers"], {"groups": ["release-managers"], "users": ["alice"]})

    def test_webhook_fail_open_and_exempt_namespaces(self):
        hook = one(self.docs, "ValidatingWebhookConfiguration")["webhooks"][0]
        self.assertEqual(hook["failurePolicy"], "Ignore")
        self.assertEqual(hook["timeoutSeconds"], 3)
        self.assertEqual(hook["namespaceSelector"]["matchExpressions"][0]["values"],
                         ["kube-system", "budgetgate", "argocd", "flux-system"])
        exempt = [a.split("=", 1)[1] for a in args_of(self.docs) if a.startswith("--exempt-namespace=")]
        self.assertEqual(exempt, ["argocd", "flux-system"])

    def test_policy_mode_by_set(self):
        spec = one(render(sets=["policy.mode=audit"]), "ErrorBudgetPolicy")["spec"]
        self.assertEqual(spec, dict(policy_sample_spec(), mode="audit"))

    def test_policy_not_created(self):
        self.assertEqual(find(render(sets=["policy.create=false"]), "ErrorBudgetPolicy"), [])


def mounted_file(docs, path):
    """(volume, key) that provides the file at `path` in the container, or fail."""
    dep = one(docs, "Deployment")
    vols = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    for m in container(docs)["volumeMounts"]:
        prefix = m["mountPath"].rstrip("/") + "/"
        if path.startswith(prefix):
            rel = path[len(prefix):]
            vol = vols[m["name"]]
            src = vol.get("secret") or vol.get("configMap")
            assert src is not None, f"{path} is not on a Secret/ConfigMap volume"
            assert m.get("readOnly"), f"{m['mountPath']} should be read-only"
            keys = [i["key"] for i in src.get("items", []) if i["path"] == rel]
            assert keys, f"{path}: no item of volume {m['name']} has path {rel}"
            return vol, keys[0]
    raise AssertionError(f"no volume mounted for {path}")


class PrometheusConnection(unittest.TestCase):
    def test_bearer_token_and_ca_configmap(self):
        docs = render("prometheus-auth.yaml")
        args = args_of(docs)
        self.assertEqual(flag(args, "--prometheus"), "https://prometheus.monitoring.svc:9091")
        self.assertEqual(flag(args, "--prometheus-timeout"), "10s")
        self.assertEqual(flag(args, "--prometheus-retries"), "3")
        self.assertEqual(flag(args, "--prometheus-concurrency"), "8")
        vol, key = mounted_file(docs, flag(args, "--prometheus-bearer-token-file"))
        self.assertEqual((vol["secret"]["secretName"], key), ("prometheus-token", "token"))
        vol, key = mounted_file(docs, flag(args, "--prometheus-ca-file"))
        self.assertEqual((vol["configMap"]["name"], key), ("prometheus-ca", "ca.crt"))
        self.assertIsNone(flag(args, "--prometheus-insecure-skip-verify"))
        self.assertIsNone(flag(args, "--prometheus-basic-auth-file"))

    def test_basic_auth_ca_secret_insecure(self):
        docs = render("prometheus-basic-auth.yaml")
        args = args_of(docs)
        vol, key = mounted_file(docs, flag(args, "--prometheus-basic-auth-file"))
        self.assertEqual((vol["secret"]["secretName"], key), ("prometheus-basic-auth", "auth"))
        vol, key = mounted_file(docs, flag(args, "--prometheus-ca-file"))
        self.assertEqual((vol["secret"]["secretName"], key), ("prometheus-tls", "ca.pem"))
        self.assertIs(flag(args, "--prometheus-insecure-skip-verify"), True)
        self.assertIsNone(flag(args, "--prometheus-bearer-token-file"))

    def test_tenant_headers(self):
        self.assertFalse(any(a.startswith("--prometheus-header") for a in args_of(render())))
        args = args_of(render(sets=["prometheus.headers.X-Scope-OrgID=team-a"]))
        self.assertIn("--prometheus-header=X-Scope-OrgID=team-a", args)
        rc, err = render_error(sets=["prometheus.headers.bad\\ name=x"])
        self.assertNotEqual(rc, 0, "a header name with a space is refused by the schema")

    def test_url_with_yaml_special_characters_stays_one_argument(self):
        url = "http://prom.example:9090/prefix?a=b#frag"
        args = args_of(render(sets=[f"prometheus.url={url}"]))
        self.assertEqual(flag(args, "--prometheus"), url)


class DataSources(unittest.TestCase):
    BIN = pathlib.Path(os.environ.get("BUDGETGATE_BIN", ROOT / "build" / "budgetgate"))

    def test_off_by_default(self):
        docs = render()
        self.assertEqual(find(docs, "ConfigMap"), [])
        self.assertIsNone(flag(args_of(docs), "--datasources"))

    def test_declarations_file_mounted_and_read_by_the_binary(self):
        docs = render("data-sources.yaml")
        args = args_of(docs)
        path = flag(args, "--datasources")
        vol, key = mounted_file(docs, path)
        cm = one(docs, "ConfigMap", vol["configMap"]["name"])
        text = cm["data"]["datasources.yaml"]
        declared = [d for d in yaml.safe_load_all(text) if d]
        self.assertEqual([d["metadata"]["name"] for d in declared], ["eu-mimir", "us"])
        eu = declared[0]["spec"]["connectionDetails"]
        self.assertEqual(eu["headers"], {"X-Scope-OrgID": "team-a"})
        self.assertEqual(eu["allowedNamespaces"], ["shop", "pay"])
        token, token_key = mounted_file(docs, eu["bearerTokenFile"])
        self.assertEqual((token["secret"]["secretName"], token_key), ("mimir-token", "token"))
        self.assertNotIn("allowedNamespaces", declared[1]["spec"]["connectionDetails"])
        # A changed list rolls the pods (the controller reads it at start).
        annotations = one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
        other = render("data-sources.yaml", sets=["prometheus.dataSources[1].url=http://other:9090"])
        self.assertNotEqual(annotations["checksum/datasources"],
                            one(other, "Deployment")["spec"]["template"]["metadata"]["annotations"]
                            ["checksum/datasources"])
        if not self.BIN.exists():
            self.skipTest(f"{self.BIN} not built")
        # The real binary reads the rendered file (no SLO names a data source here, so nothing
        # is queried but an unreachable loopback port).
        with tempfile.TemporaryDirectory() as tmp:
            # The token as the Secret's volume would provide it.
            (pathlib.Path(tmp) / "token").write_text("secret-token\n")
            ds = pathlib.Path(tmp) / "datasources.yaml"
            ds.write_text(text.replace(eu["bearerTokenFile"], str(pathlib.Path(tmp) / "token")))
            slo = ROOT / "crds" / "samples" / "slo-checkout.yaml"
            p = subprocess.run([str(self.BIN), "evaluate", "-f", str(slo), "--prometheus", "http://127.0.0.1:1",
                                "--prometheus-retries", "0", "--datasources", str(ds), "-o", "json"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn("data source eu-mimir: https://mimir.eu.example/prometheus (namespaces shop, pay)", p.stderr)
            self.assertIn("data source us: http://prometheus.us.example:9090", p.stderr)

    def test_schema_refuses_bad_declarations(self):
        for bad in ["prometheus.dataSources[0].name=EU", "prometheus.dataSources[0].url=ftp://x",
                    "prometheus.dataSources[0].allowedNamespaces={}"]:
            sets = ["prometheus.dataSources[0].name=eu", "prometheus.dataSources[0].url=http://eu:9090", bad]
            rc, err = render_error(sets=[f"prometheus.url={PROM_URL}", *sets])
            self.assertNotEqual(rc, 0, f"{bad} should be refused")


class Shards(unittest.TestCase):
    def test_one_shard_by_default(self):
        docs = render()
        dep = one(docs, "Deployment")
        self.assertEqual(dep["metadata"]["name"], "budgetgate")
        self.assertIsNone(flag(args_of(docs), "--shard"))
        self.assertNotIn("budgetgate.dev/shard", dep["spec"]["selector"]["matchLabels"])

    def test_a_deployment_per_shard(self):
        docs = render("shards.yaml")
        deps = find(docs, "Deployment")
        self.assertEqual([d["metadata"]["name"] for d in deps], ["budgetgate-shard-0", "budgetgate-shard-1"])
        selectors = []
        for k, d in enumerate(deps):
            spec = d["spec"]
            self.assertEqual(spec["replicas"], 2)
            args = spec["template"]["spec"]["containers"][0]["args"]
            self.assertEqual(flag(args, "--shard"), f"{k}/2")
            self.assertEqual(flag(args, "--lease-name"), "budgetgate-controller",
                             "each shard adds -shard-K to the Lease itself")
            selector = spec["selector"]["matchLabels"]
            self.assertEqual(selector["budgetgate.dev/shard"], str(k))
            labels = spec["template"]["metadata"]["labels"]
            self.assertTrue(all(labels.get(key) == v for key, v in selector.items()), (selector, labels))
            selectors.append(selector)
        # The Deployments do not select each other's pods; the webhook Service selects them all.
        for k, d in enumerate(deps):
            other = selectors[1 - k]
            labels = d["spec"]["template"]["metadata"]["labels"]
            self.assertFalse(all(labels.get(key) == v for key, v in other.items()))
            service = one(docs, "Service")["spec"]["selector"]
            self.assertTrue(all(labels.get(key) == v for key, v in service.items()), (service, labels))
        rc, err = render_error(sets=[f"prometheus.url={PROM_URL}", "controller.shards=0"])
        self.assertNotEqual(rc, 0, "zero shards is refused by the schema")


class SingleReplica(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = render("single-replica.yaml")

    def test_no_pdb_no_leader_election(self):
        self.assertEqual(one(self.docs, "Deployment")["spec"]["replicas"], 1)
        self.assertEqual(find(self.docs, "PodDisruptionBudget"), [])
        args = args_of(self.docs)
        self.assertIs(flag(args, "--no-leader-election"), True)
        self.assertIsNone(flag(args, "--lease-name"))
        self.assertEqual(rule_set(one(self.docs, "Role")["rules"]), SECRET_RULES)

    def test_no_replicaset_watch(self):
        args = args_of(self.docs)
        self.assertIs(flag(args, "--no-replicaset-watch"), True)
        # No watch; the ledger still lists a gated namespace's ReplicaSets to attribute burn.
        self.assertEqual({r[2] for r in rule_set(one(self.docs, "ClusterRole", "budgetgate")["rules"])
                          if r[1] == "replicasets"}, {"get", "list"})

    def test_controller_values_and_extra_args(self):
        args = args_of(self.docs)
        self.assertEqual(flag(args, "--interval"), "1m")
        self.assertEqual(flag(args, "--heartbeat"), "5m")
        self.assertEqual(flag(args, "--team-label"), "example.com/owner")
        self.assertEqual(args[-1], "--fallback-policy=/etc/budgetgate/policy.yaml")

    def test_no_role_when_nothing_namespaced_is_needed(self):
        docs = render("single-replica.yaml", sets=["tls.mode=certManager"])
        self.assertEqual(find(docs, "Role"), [])
        self.assertEqual(find(docs, "RoleBinding"), [])


class Scheduling(unittest.TestCase):
    def test_overrides(self):
        docs = render("scheduling.yaml")
        dep = one(docs, "Deployment")
        pod = dep["spec"]["template"]["spec"]
        c = container(docs)
        self.assertEqual(c["image"], "registry.example.com/platform/budgetgate:0.2.0-rc1")
        self.assertEqual(c["imagePullPolicy"], "Always")
        self.assertEqual(pod["imagePullSecrets"], [{"name": "regcred"}])
        self.assertEqual(pod["nodeSelector"], {"node-role.kubernetes.io/infra": ""})
        self.assertEqual(pod["tolerations"][0]["key"], "dedicated")
        self.assertIn("nodeAffinity", pod["affinity"])
        self.assertNotIn("podAntiAffinity", pod["affinity"], "affinity value replaces the default")
        self.assertEqual(pod["priorityClassName"], "system-cluster-critical")
        meta = dep["spec"]["template"]["metadata"]
        self.assertEqual(meta["annotations"], {"example.com/owner": "platform"})
        self.assertEqual(meta["labels"]["team"], "platform")
        self.assertNotIn("team", dep["spec"]["selector"]["matchLabels"])
        self.assertEqual(flag(c["args"], "--lease-name"), "bg-leader")
        self.assertIn(("coordination.k8s.io", "leases", "update", "bg-leader"), rule_set(one(docs, "Role")["rules"]))


class RenderingErrors(unittest.TestCase):
    def assertFails(self, message, values=None, sets=()):
        rc, err = render_error(values, sets)
        self.assertNotEqual(rc, 0, f"rendering should fail with {message!r}")
        self.assertIn(message, err)

    def test_prometheus_url_required(self):
        self.assertFails("prometheus.url is required", None)
        self.assertFails("prometheus.url is required", None, ["prometheus.url="])
        rc, err = render_error(None)
        self.assertIn("--set prometheus.url=", err, "the message should say how to set it")

    def test_leader_election_needed_with_replicas(self):
        self.assertFails("controller.leaderElection.enabled=false needs replicaCount=1",
                         "defaults.yaml", ["controller.leaderElection.enabled=false"])

    def test_schema_rejects_bad_values(self):
        # values.schema.json: enums, types and unknown keys are refused before any template runs.
        self.assertFails('tls.mode must be one of the following: "selfSigned", "certManager", "secret"',
                         "defaults.yaml", ["tls.mode=vault"])
        self.assertFails('webhook.failurePolicy must be one of the following: "Fail", "Ignore"',
                         "defaults.yaml", ["webhook.failurePolicy=fail"])
        self.assertFails('policy.mode must be one of the following: "enforce", "warn", "audit"',
                         "defaults.yaml", ["policy.mode=enforcing"])
        self.assertFails("policy.decisions.healthy.high must be one of the following",
                         "defaults.yaml", ["policy.decisions.healthy.high=deny"])
        self.assertFails("policy.staleAfter", "defaults.yaml", ["policy.staleAfter=10 minutes"])
        self.assertFails("replicaCount", "defaults.yaml", ["replicaCount=0"])
        self.assertFails("Additional property replicas is not allowed", "defaults.yaml", ["replicas=3"])
        self.assertFails("Additional property failurPolicy is not allowed", "defaults.yaml",
                         ["webhook.failurPolicy=Ignore"])
        self.assertFails("metrics.teamLabel", "defaults.yaml", ["metrics.teamLabel=the team"])

    def test_tls_secret_needs_name_and_ca(self):
        self.assertFails("tls.mode=secret needs tls.secret.name", "defaults.yaml", ["tls.mode=secret"])
        self.assertFails("tls.mode=secret needs tls.secret.caBundle", "defaults.yaml",
                         ["tls.mode=secret", "tls.secret.name=x"])

    def test_two_ca_sources(self):
        self.assertFails("set at most one of prometheus.ca.configMapName and prometheus.ca.secretName",
                         "defaults.yaml", ["prometheus.ca.configMapName=a", "prometheus.ca.secretName=b"])


class SecretTls(unittest.TestCase):
    """tls.mode=secret: a Secret the user manages, its CA rendered into every caBundle."""

    @classmethod
    def setUpClass(cls):
        cls.docs = render("tls-secret.yaml")
        with open(VALUES / "tls-secret.yaml") as f:
            cls.values = yaml.safe_load(f)["tls"]["secret"]

    def test_ca_bundle_rendered(self):
        vwc = one(self.docs, "ValidatingWebhookConfiguration")
        self.assertNotIn("annotations", vwc["metadata"])
        self.assertEqual(len(vwc["webhooks"]), 4)
        for hook in vwc["webhooks"]:
            self.assertEqual(hook["clientConfig"]["caBundle"], self.values["caBundle"], hook["name"])

    def test_secret_mounted_read_only_and_no_bootstrap(self):
        args = args_of(self.docs)
        self.assertEqual(flag(args, "--tls-cert-file"), f"{TLS_DIR}/tls.crt")
        self.assertEqual(flag(args, "--tls-key-file"), f"{TLS_DIR}/tls.key")
        for f in ("--tls-bootstrap-secret", "--tls-bootstrap-webhook", "--tls-bootstrap-service"):
            self.assertIsNone(flag(args, f), f)
        mounts = {m["mountPath"]: m for m in container(self.docs)["volumeMounts"]}
        vols = {v["name"]: v for v in one(self.docs, "Deployment")["spec"]["template"]["spec"]["volumes"]}
        self.assertTrue(mounts[TLS_DIR]["readOnly"])
        self.assertEqual(vols[mounts[TLS_DIR]["name"]]["secret"]["secretName"], self.values["name"])

    def test_no_cert_manager_objects_and_no_secret_rbac(self):
        self.assertEqual(find(self.docs, "Certificate") + find(self.docs, "Issuer"), [])
        for role in find(self.docs, "Role") + find(self.docs, "ClusterRole"):
            for rule in role.get("rules", []):
                self.assertNotIn("secrets", rule.get("resources", []), role["metadata"]["name"])


class Notes(unittest.TestCase):
    """NOTES.txt, rendered offline by wrapping it in a throwaway template of a chart copy."""

    def render_notes(self, values="defaults.yaml", sets=()):
        with tempfile.TemporaryDirectory() as tmp:
            chart = pathlib.Path(tmp) / "budgetgate"
            shutil.copytree(CHART, chart)
            notes = (chart / "templates" / "NOTES.txt").read_text()
            (chart / "templates" / "_notes_under_test.tpl").write_text(
                '{{- define "notes-under-test" -}}\n' + notes + "\n{{- end }}\n")
            (chart / "templates" / "notes-under-test.yaml").write_text(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n"
                '  notes: {{ include "notes-under-test" . | quote }}\n')
            docs = render(values, sets, chart=chart, extra=("--show-only", "templates/notes-under-test.yaml"))
            return docs[0]["data"]["notes"]

    def test_notes(self):
        notes = self.render_notes()
        self.assertIn("kubectl get slo -A", notes)
        self.assertIn("kubectl delete validatingwebhookconfiguration budgetgate", notes)
        self.assertIn("failurePolicy is Fail", notes)
        self.assertIn("kube-system", notes)
        self.assertIn(PROM_URL, notes)

    def test_notes_fail_open_and_cert_manager(self):
        notes = self.render_notes("warn-policy.yaml", ["tls.mode=certManager"])
        self.assertIn("failurePolicy is Ignore", notes)
        self.assertIn("UNCHECKED", notes)
        self.assertIn("get certificate budgetgate-webhook", notes)

    def test_notes_tls_secret(self):
        notes = self.render_notes("tls-secret.yaml")
        self.assertIn("get secret my-webhook-tls", notes)
        self.assertNotIn("get certificate", notes)
        self.assertNotIn("caBundle}", notes)


class PlainManifests(unittest.TestCase):
    def test_in_sync_with_chart(self):
        p = subprocess.run([str(ROOT / "charts" / "manifests" / "generate.sh"), "--check"],
                           capture_output=True, text=True, env=dict(os.environ, HELM=helm()))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_content(self):
        text = MANIFESTS.read_text()
        self.assertTrue(text.startswith("# budgetgate: plain Kubernetes manifests"))
        self.assertIn("charts/manifests/generate.sh", text.split("\n---\n", 1)[0])
        docs = [d for d in yaml.safe_load_all(text) if d]
        self.assertEqual(docs[0]["kind"], "Namespace")
        self.assertEqual(docs[0]["metadata"]["name"], "budgetgate")
        self.assertEqual([d["kind"] for d in docs[1:3]], ["CustomResourceDefinition"] * 2)
        for d in docs:
            if d["kind"] not in CLUSTER_SCOPED:
                self.assertEqual(d["metadata"].get("namespace"), "budgetgate", d["kind"])
        self.assertEqual(flag(args_of(docs), "--prometheus"), PROM_URL)
        for crd in find(docs, "CustomResourceDefinition"):
            plural = crd["spec"]["names"]["plural"]
            with open(ROOT / "crds" / f"slo.budgetgate.dev_{plural}.yaml") as f:
                self.assertEqual(crd, yaml.safe_load(f))


class BinaryFlags(unittest.TestCase):
    """Every flag the chart renders is one the real binary accepts (it then stops at the kubeconfig)."""

    BIN = pathlib.Path(os.environ.get("BUDGETGATE_BIN", ROOT / "build" / "budgetgate"))

    def test_rendered_args_parse(self):
        if not self.BIN.exists():
            self.skipTest(f"{self.BIN} not built")
        with tempfile.TemporaryDirectory() as tmp:
            for f, rendered in [(f, c["args"]) for f in sorted(VALUES.glob("*.yaml"))
                                for d in find(render(f.name), "Deployment")
                                for c in d["spec"]["template"]["spec"]["containers"]]:
                with self.subTest(values=f.name):
                    args = []
                    for a in rendered:
                        a = a.replace("$(POD_NAMESPACE)", "budgetgate").replace("$(POD_NAME)", "budgetgate-0")
                        if a.startswith(("--metrics-address=", "--webhook-address=")):
                            a = a.split("=", 1)[0] + "=127.0.0.1:0"
                        if a.startswith(("--tls-cert-file=", "--tls-key-file=")):
                            a = a.split("=", 1)[0] + "=" + tmp + "/" + pathlib.Path(a).name
                        args.append(a)
                    missing = pathlib.Path(tmp) / "no-such-kubeconfig"
                    p = subprocess.run([str(self.BIN), *args, f"--kubeconfig={missing}"],
                                       capture_output=True, text=True, timeout=20)
                    out = p.stdout + p.stderr
                    self.assertNotEqual(p.returncode, 0)
                    self.assertNotIn("not expected", out)
                    self.assertNotIn("Run with --help", out)
                    self.assertIn(str(missing), out, "the binary should get as far as reading the kubeconfig")


if __name__ == "__main__":
    unittest.main(verbosity=2)
