#!/usr/bin/env python3
"""End-to-end on a real node: budgetgate run the way users run it.

The image is built from the Dockerfile here (tests/scripts/build-image.sh: buildah, no Docker,
no registry) and imported into a one-node cluster (tests/scripts/node.sh: the loopback control
plane plus containerd, kubelet, kube-proxy and kube-scheduler). A real Prometheus with generated
history listens on the node's bridge and is a Service in the cluster. Then, as a user would:
`helm install charts/budgetgate` (two replicas, leader election, PodDisruptionBudget, the
self-signed TLS bootstrap), the webhook reached by the API server through its Service, SLO
status written by a Pod with the chart's RBAC, failover by deleting the leader Pod, a drain
against the PodDisruptionBudget, `helm upgrade` to a new image tag under a stream of gated
requests, `helm uninstall`, a mounted certificate (tls.mode=secret), and the plain manifests.
Finally `node.sh stop` must leave the host exactly as it found it.

Numbers (printed as MEASURED lines): image build, node start, install-to-ready, Lease takeover,
requests and failures during the upgrade, stop.
"""

import base64
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ROOT, SCRIPTS, ControlPlane, Prometheus, Suite, check,  # noqa: E402
                     free_port, helm_binary, http_get, live_scenario, log, read_env, run, wait_until, workspace)

NS = "budgetgate"
RELEASE = "budgetgate"
REPO = "localhost/budgetgate"
PAUSE = "registry.k8s.io/pause:3.10"
SELECTOR = "app.kubernetes.io/name=budgetgate"
MEASURED = {}
# Seconds after both Pods turn Ready in which a failed connection through their Service is
# kube-proxy catching up (its iptables rules follow the EndpointSlice), not budgetgate. 3 s was
# exceeded once in CI while the 2-core machine ran other tests beside this one; the lag seen is
# measured and reported, and a Pod that turns unready again fails the check on its own.
ROUTING_GRACE = 10.0


def measured(key, value, unit=""):
    MEASURED[key] = value
    log(f"MEASURED {key}: {value}{unit}")


# ---------------------------------------------------------------------------------------------
# manifests

def slo(name, service, window="{duration: 30d, isRolling: true}", gate=True):
    gate_spec = f"""
  gate:
    selector:
      matchLabels: {{app: {service}}}""" if gate else ""
    return f"""apiVersion: slo.budgetgate.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {{name: {name}, namespace: shop}}
spec:
  service: {service}
  indicator:
    spec:
      ratioMetric:
        counter: true
        good: {{metricSource: {{type: Prometheus, spec: {{query: 'http_requests_total{{service="{service}",code!="500"}}'}}}}}}
        total: {{metricSource: {{type: Prometheus, spec: {{query: 'http_requests_total{{service="{service}"}}'}}}}}}
  timeWindow: [{window}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.999}}]{gate_spec}
"""


CALENDAR_WINDOW = ('{duration: 1d, isRolling: false, calendar: {startTime: "2024-01-01 00:00:00", '
                   'timeZone: Europe/Berlin}}')


def deployment(app, revision="1", replicas=1):
    """A Deployment whose Pods run the pause image (present on the node, never pulled)."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": app, "namespace": "shop", "labels": {"app": app}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}, "annotations": {"revision": revision}},
                "spec": {"containers": [{"name": app, "image": PAUSE, "imagePullPolicy": "Never"}],
                         "terminationGracePeriodSeconds": 1},
            },
        },
    }


# ---------------------------------------------------------------------------------------------
# the cluster

class Node:
    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "node")
        self.env = {}

    def start(self, *archives):
        args = [os.path.join(SCRIPTS, "node.sh"), "start", self.dir]
        for a in archives:
            args += ["--image", a]
        t0 = time.time()
        run(args, timeout=1800)
        self.env = read_env(os.path.join(self.dir, "env"))
        return time.time() - t0

    def stop(self):
        return subprocess.run([os.path.join(SCRIPTS, "node.sh"), "stop", self.dir],
                              capture_output=True, text=True, timeout=300)

    def ctr(self, *args):
        return run([os.path.join(SCRIPTS, "node.sh"), "ctr", self.dir, *args], timeout=120)


class Api:
    """A keep-alive HTTPS client of the API server with the admin certificate: quick enough to
    send gated requests in a tight loop (kubectl would spend most of the time starting up)."""

    def __init__(self, env):
        self.host, self.port = "127.0.0.1", int(env["APISERVER_PORT"])
        self.ctx = ssl.create_default_context(cafile=env["CA_CERT"])
        self.ctx.load_cert_chain(env["ADMIN_CERT"], env["ADMIN_KEY"])
        self.conn = None

    def request(self, method, path, body=None, content_type="application/json"):
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)
                data = json.dumps(body).encode() if body is not None else None
                self.conn.request(method, path, body=data, headers={"Content-Type": content_type})
                r = self.conn.getresponse()
                return r.status, r.read().decode(errors="replace")
            except (http.client.HTTPException, OSError):
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def classify(status, body):
    """admitted | denied (by budgetgate's policy) | failed (anything else: the webhook not
    reachable, TLS, timeouts, no endpoints...)."""
    if status in (200, 201):
        return "admitted"
    if status == 403 and "denied the request" in body and "budgetgate" in body:
        return "denied"
    return "failed"


def gated_requests(api, n):
    """One dry-run rollout of each Deployment: payments (exhausted: must be denied) as a CREATE,
    checkout (healthy: must be admitted) as an UPDATE of its pod template."""
    pay = deployment("payments", revision=str(n))
    s1, b1 = api.request("POST", "/apis/apps/v1/namespaces/shop/deployments?dryRun=All", pay)
    patch = {"spec": {"template": {"metadata": {"annotations": {"revision": f"loop-{n}"}}}}}
    s2, b2 = api.request("PATCH", "/apis/apps/v1/namespaces/shop/deployments/checkout?dryRun=All", patch,
                         content_type="application/merge-patch+json")
    return (classify(s1, b1), b1), (classify(s2, b2), b2)


class GatedLoop(threading.Thread):
    """Gated requests back to back while something happens (an upgrade, a drain)."""

    def __init__(self, env):
        super().__init__(daemon=True)
        self.api = Api(env)
        self.stop_flag = threading.Event()
        self.results = []  # (time, which, outcome, body)

    def run(self):
        n = 0
        while not self.stop_flag.is_set():
            n += 1
            try:
                (p, pb), (c, cb) = gated_requests(self.api, n)
            except Exception as e:  # pylint: disable=broad-except
                p = c = "failed"
                pb = cb = f"client error: {e}"
            now = time.time()
            self.results.append((now, "payments", p, pb))
            self.results.append((now, "checkout", c, cb))

    def finish(self):
        self.stop_flag.set()
        self.join(timeout=60)
        wrong = [(t, w, o, b) for t, w, o, b in self.results
                 if (w, o) not in (("payments", "denied"), ("checkout", "admitted"))]
        return len(self.results), wrong


def main():
    suite = Suite("node e2e")
    with workspace("node") as work:
        with suite.setup():
            helm = helm_binary()
            host_before = host_state()

            t0 = time.time()
            image_env = dict(line.split("=", 1) for line in run(
                [os.path.join(SCRIPTS, "build-image.sh")], timeout=3600).stdout.split() if "=" in line)
            measured("image build (this run; cached when the sources did not change)", round(time.time() - t0, 1), " s")
            image = image_env["BUDGETGATE_IMAGE"]
            check(image == f"{REPO}:dev", f"image name {image}")

            node = Node(work)
            suite.on_exit(lambda: node.stop())
            measured("node start", round(node.start(image_env["BUDGETGATE_IMAGE_ARCHIVE"]), 1), " s")
            env = node.env
            node_ip = env["NODE_IP"]
            cp = ControlPlane(work)
            cp.dir, cp.env, cp.kubeconfig = os.path.join(node.dir, "controlplane"), env, env["KUBECONFIG"]

            # Prometheus on the node's bridge, with 31 days of history up to now (and 3 h on).
            scenario = live_scenario(work, [
                {"name": "checkout", "rps": 100, "baseErrorRatio": 0.0002},
                {"name": "payments", "rps": 20, "baseErrorRatio": 0.0002,
                 "incidents": [{"startIn": -86400, "duration": "75m", "errorRatio": 1.0}]},
            ])
            prom = Prometheus(work, scenario, private_cache=True)
            prom.extra_env["PROM_LISTEN_HOST"] = node_ip
            prom.start()
            suite.on_exit(prom.stop)
            check(prom.url.startswith(f"http://{node_ip}:"), f"Prometheus on the bridge: {prom.url}")
            # Reachable from Pods as a Service (kube-proxy), like an in-cluster Prometheus.
            cp.apply(f"""apiVersion: v1
kind: Namespace
metadata: {{name: monitoring}}
---
apiVersion: v1
kind: Service
metadata: {{name: prometheus, namespace: monitoring}}
spec:
  ports: [{{name: http, port: 9090, targetPort: {prom.port}}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: prometheus-node
  namespace: monitoring
  labels: {{kubernetes.io/service-name: prometheus}}
addressType: IPv4
ports: [{{name: http, port: {prom.port}, protocol: TCP}}]
endpoints: [{{addresses: ["{node_ip}"], conditions: {{ready: true}}}}]
""")
            prom_ip = cp.get_json("service", "-n", "monitoring", "prometheus")["spec"]["clusterIP"]
            prom_svc_url = f"http://{prom_ip}:9090"

            cp.install_crds()
            # The namespace label the operator keeps on namespaces with gating SLOs, set ahead so
            # that the very first rollout after install is sent to the webhook.
            cp.apply("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
                     "  labels: {budgetgate.dev/gated: \"true\"}\n")
            cp.apply("---\n".join([slo("checkout-availability", "checkout"),
                                   slo("payments-availability", "payments"),
                                   slo("checkout-calendar", "checkout", CALENDAR_WINDOW, gate=False)]))
            api = Api(env)

        def kubectl(*args, **kw):
            return cp.kubectl(*args, **kw)

        def helm_cmd(*args, timeout=600):
            return run([helm, "--kubeconfig", env["KUBECONFIG"], *args], timeout=timeout)

        def pods(selector=SELECTOR):
            return kubectl_json("get", "pods", "-n", NS, "-l", selector)["items"]

        def kubectl_json(*args):
            return json.loads(kubectl(*args, "-o", "json").stdout)

        def ready_pods():
            return [p for p in pods() if p["metadata"].get("deletionTimestamp") is None and any(
                c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]

        def lease_holder():
            r = kubectl("get", "lease", "-n", NS, "budgetgate-controller", "-o", "json", check_rc=False)
            return json.loads(r.stdout)["spec"].get("holderIdentity") if r.returncode == 0 else None

        def status(name):
            return kubectl_json("get", "slo", "-n", "shop", name).get("status") or {}

        def install_args(*sets):
            base = ["--set", f"image.repository={REPO}", "--set", "image.tag=dev",
                    "--set", "image.pullPolicy=Never", "--set", f"prometheus.url={prom_svc_url}",
                    "--set", "controller.interval=10s"]
            for s in sets:
                base += ["--set", s]
            return base

        def metrics(pod):
            import urllib.request
            with urllib.request.urlopen(f"http://{pod['status']['podIP']}:8080/metrics", timeout=5) as r:
                return r.read().decode()

        def review_count(kind):
            total = 0
            for p in ready_pods():
                m = re.search(rf'^budgetgate_webhook_reviews_total{{kind="{kind}"}} (\S+)$', metrics(p), re.M)
                total += float(m.group(1)) if m else 0
            return total

        @suite.check("the image: built without Docker, runs as uid 65532 on a read-only root, has CA "
                     "certificates and the tz database: a calendar SLO in Europe/Berlin evaluates in it")
        def _():
            listed = node.ctr("images", "ls", "-q").stdout.split()
            check(image in listed and PAUSE in listed, f"images in containerd: {listed}")
            slo_text = slo("checkout-calendar", "checkout", CALENDAR_WINDOW, gate=False)
            kubectl("create", "configmap", "calendar-slo", "-n", "default", f"--from-literal=slo.yaml={slo_text}")
            # No runAsUser: the uid comes from the image, and runAsNonRoot makes the kubelet
            # refuse an image whose user is root or not numeric.
            pod = {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "image-check", "namespace": "default"},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "check", "image": image, "imagePullPolicy": "Never",
                        "command": ["/bin/sh", "-c",
                                    "echo uid=$(id -u) gid=$(id -g); "
                                    "touch /probe 2>/dev/null && echo rootfs=writable || echo rootfs=read-only; "
                                    "echo cas=$(grep -c 'BEGIN CERTIFICATE' /etc/ssl/certs/ca-certificates.crt); "
                                    "test -f /usr/share/zoneinfo/Europe/Berlin && echo tz=yes; "
                                    "echo ---; exec budgetgate evaluate -o json -f /slo/slo.yaml "
                                    f"--prometheus {prom_svc_url}"],
                        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "slo", "mountPath": "/slo"}]}],
                    "volumes": [{"name": "slo", "configMap": {"name": "calendar-slo"}}]}}
            kubectl("apply", "-f", "-", stdin=json.dumps(pod))
            wait_until("the image-check Pod to finish", lambda: kubectl_json(
                "get", "pod", "-n", "default", "image-check")["status"].get("phase") in ("Succeeded", "Failed"),
                timeout=90)
            phase = kubectl_json("get", "pod", "-n", "default", "image-check")["status"]["phase"]
            out = kubectl("logs", "-n", "default", "image-check").stdout  # through the kubelet
            check(phase == "Succeeded", f"the Pod {phase}:\n{out[-2000:]}")
            head, _, body = out.partition("---\n")
            # The kubelet runs the image's numeric user (runAsNonRoot checks it); the image says
            # 65532:65532 (the chart also sets runAsUser/runAsGroup).
            check("uid=65532 " in head, f"user: {head}")
            check(image_config(image_env["BUDGETGATE_IMAGE_ARCHIVE"]).get("User") == "65532:65532",
                  f"image USER: {image_config(image_env['BUDGETGATE_IMAGE_ARCHIVE']).get('User')}")
            check("rootfs=read-only" in head, f"root filesystem: {head}")
            cas = int(re.search(r"cas=(\d+)", head).group(1))
            check(cas > 100, f"CA certificates in the image: {cas}")
            check("tz=yes" in head, f"tz database: {head}")
            # The JSON array on stdout; budgetgate's log lines (stderr) are interleaved by `logs`.
            start = re.search(r"^\[\s*$|^\[\{", body, re.M)
            check(start is not None, f"no JSON in the evaluate output:\n{body[-2000:]}")
            result, _ = json.JSONDecoder().raw_decode(body[start.start():])
            check(len(result) == 1, f"evaluate printed {len(result)} SLOs")
            st = result[0]["status"]
            check_berlin_window(st)
            kubectl("delete", "pod", "-n", "default", "image-check", "--wait=false")

        @suite.check("helm install: both replicas Ready; the first rollout right after `--wait` is "
                     "judged by budgetgate (no x509 window)")
        def _():
            t0 = time.time()
            helm_cmd("install", RELEASE, os.path.join(ROOT, "charts", "budgetgate"), "-n", NS,
                     "--create-namespace", *install_args(), "--wait", "--timeout", "5m")
            measured("helm install --wait (both replicas Ready)", round(time.time() - t0, 1), " s")
            check(len(ready_pods()) == 2, f"ready replicas: {len(ready_pods())}")
            # Immediately: a rollout in the gated namespace must reach budgetgate and be answered
            # by it. Risk high on a healthy SLO is "review": admitted with budgetgate's warning
            # (before the first evaluation, missing data: admitted with a warning too).
            d = deployment("checkout", "first")
            d["metadata"]["annotations"] = {"budgetgate.dev/risk": "high"}
            r = kubectl("apply", "--dry-run=server", "-f", "-", stdin=json.dumps(d), check_rc=False)
            check(r.returncode == 0, f"first rollout after install refused: {r.stderr}")
            check("budgetgate" in r.stderr.lower(), f"no warning from budgetgate (webhook not called?): {r.stderr!r}")
            check("x509" not in r.stderr, r.stderr)
            config = kubectl_json("get", "validatingwebhookconfiguration", RELEASE)
            secret = kubectl_json("get", "secret", "-n", NS, "budgetgate-webhook-tls")
            for hook in config["webhooks"]:
                check(hook["clientConfig"].get("caBundle") == secret["data"]["ca.crt"],
                      f"{hook['name']}: caBundle is the bootstrap CA")
                check(hook["clientConfig"]["service"]["name"] == "budgetgate", "called through the Service")

        @suite.check("SLO status written by the leader Pod with in-cluster credentials and the chart's RBAC")
        def _():
            wait_until("tiers from the Pod", lambda: status("payments-availability").get("tier") == "exhausted"
                       and status("checkout-availability").get("tier") == "healthy", timeout=120)
            holder = lease_holder()
            names = [p["metadata"]["name"] for p in ready_pods()]
            check(holder in names, f"the Lease is held by a budgetgate Pod: {holder} not in {names}")
            sa = f"system:serviceaccount:{NS}:budgetgate"
            for verb, res, sub, want in [("update", "servicelevelobjectives", "status", "yes"),
                                         ("update", "servicelevelobjectives", "", "no"),
                                         ("get", "secrets", "", "no"),
                                         ("create", "deployments", "", "no")]:
                extra = [f"--subresource={sub}"] if sub else []
                r = kubectl("auth", "can-i", verb, res, *extra, "-n", "shop", "--as", sa, check_rc=False)
                check(r.stdout.strip() == want, f"{sa} can {verb} {res} {sub}: {r.stdout.strip()}, expected {want}")
            check_berlin_window(status("checkout-calendar"))

        @suite.check("through the Service: the exhausted SLO's rollout is denied, the healthy one admitted; "
                     "the Pods the controllers create never reach the webhook")
        def _():
            pod_reviews = review_count("pod")
            r = kubectl("apply", "-f", "-", stdin=json.dumps(deployment("checkout", "2", replicas=2)), check_rc=False)
            check(r.returncode == 0, f"checkout refused: {r.stderr}")
            r = kubectl("apply", "-f", "-", stdin=json.dumps(deployment("payments", "2")), check_rc=False)
            check(r.returncode != 0 and "denied the request" in r.stderr and "exhausted" in r.stderr,
                  f"payments: {r.returncode} {r.stderr}")
            kubectl("rollout", "status", "-n", "shop", "deployment/checkout", "--timeout=90s")
            check(review_count("pod") == pod_reviews, "Pods made by the ReplicaSet controller were sent to the webhook")
            # A Pod written by hand with the protected labels is gated.
            hand = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "by-hand", "namespace": "shop",
                                                                    "labels": {"app": "payments"}},
                    "spec": {"containers": [{"name": "c", "image": PAUSE, "imagePullPolicy": "Never"}]}}
            r = kubectl("apply", "--dry-run=server", "-f", "-", stdin=json.dumps(hand), check_rc=False)
            check(r.returncode != 0 and "denied the request" in r.stderr, f"hand-made Pod: {r.stderr}")
            # Workloads in budgetgate's own namespace (its Pods) are never sent to it.
            config = kubectl_json("get", "validatingwebhookconfiguration", RELEASE)
            for hook in config["webhooks"]:
                if hook["name"].split(".")[0] in ("deployments", "pods", "replicasets"):
                    values = [v for e in hook["namespaceSelector"].get("matchExpressions", []) for v in e["values"]]
                    check(NS in values and "kube-system" in values, f"{hook['name']} exempts {NS}: {values}")

        @suite.check("the status page through `kubectl port-forward` (the chart's default): the exhausted SLO, "
                     "and its burn-down; bob himself may not port-forward")
        def _():
            port = free_port()
            fwd = subprocess.Popen(["kubectl", "--kubeconfig", env["KUBECONFIG"], "port-forward", "-n", NS,
                                    f"deploy/{RELEASE}", f"{port}:8445"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                base = f"http://127.0.0.1:{port}"
                wait_until("the forwarded status page", lambda: http_get(base + "/")[0] == 200, timeout=60)
                code, body = http_get(base + "/")
                check('data-slo="shop/payments-availability" data-tier="exhausted"' in body,
                      f"overview lacks the exhausted SLO: {body[:500]}")
                code, body = http_get(base + "/namespaces/shop/slos/payments-availability", timeout=30)
                check(code == 200 and 'class="burn-down"' in body,
                      f"SLO page {code}: {re.sub('<[^>]+>', ' ', body)[:600]}")
            finally:
                fwd.terminate()
                fwd.wait(timeout=10)
            kubectl("create", "rolebinding", "bob-edit", "-n", "shop", "--clusterrole=edit", "--user=bob")
            r = kubectl("auth", "can-i", "create", "pods/portforward", "-n", NS, "--as", "bob", check_rc=False)
            check(r.stdout.strip() == "no", f"bob can port-forward into {NS}: {r.stdout}")
            r = kubectl("port-forward", "-n", NS, f"deploy/{RELEASE}", f"{free_port()}:8445", "--as", "bob",
                        check_rc=False, timeout=30)
            check(r.returncode != 0 and "forbidden" in r.stderr.lower(), f"bob's port-forward: {r.stderr}")

        @suite.check("failover: deleting the leader Pod hands the Lease to the other replica, which keeps "
                     "writing status")
        def _():
            holder = lease_holder()
            other = [p["metadata"]["name"] for p in ready_pods() if p["metadata"]["name"] != holder][0]
            before = status("payments-availability")["lastEvaluated"]
            # Cordoned, so that the Deployment's replacement Pod cannot start and race the
            # surviving replica for the Lease: this measures the survivor's takeover.
            kubectl("cordon", env["NODE_NAME"])
            try:
                t0 = time.time()
                kubectl("delete", "pod", "-n", NS, holder, "--wait=false")
                wait_until("another replica to hold the Lease", lambda: lease_holder() not in (None, "", holder),
                           timeout=60, interval=0.2)
                takeover = time.time() - t0
                new = lease_holder()
                check(new == other, f"the Lease went to {new}, not the surviving replica {other}")
                measured("Lease takeover after deleting the leader Pod", round(takeover, 1), " s")
                deleted_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + 1))

                def new_write():
                    last = status("payments-availability")["lastEvaluated"]
                    return time.time() if last > before and last >= deleted_at else None
                t_write = wait_until("a status written by the new leader", new_write, timeout=60, interval=0.5)
                measured("first status write by the new leader after the delete", round(t_write - t0, 1), " s")
            finally:
                kubectl("uncordon", env["NODE_NAME"])
            wait_until("two Ready replicas again", lambda: len(ready_pods()) == 2, timeout=120)

        @suite.check("drain: the PodDisruptionBudget keeps one replica serving; gated requests keep "
                     "their verdicts during the drain")
        def _():
            loop = GatedLoop(env)
            loop.start()
            r = run(["kubectl", "--kubeconfig", env["KUBECONFIG"], "drain", env["NODE_NAME"],
                     "--pod-selector", SELECTOR, "--timeout", "25s", "--ignore-daemonsets",
                     "--delete-emptydir-data"],
                    check_rc=False, timeout=120)
            serving = len(ready_pods())
            kubectl("uncordon", env["NODE_NAME"])
            n, wrong = loop.finish()
            check(r.returncode != 0, f"drain evicted every replica: {r.stdout} {r.stderr}")
            check("disruption budget" in (r.stdout + r.stderr), f"drain output: {r.stdout} {r.stderr}")
            check(serving >= 1, f"{serving} replicas Ready during the drain")
            check(not wrong, f"{len(wrong)} of {n} gated requests got a wrong answer during the drain; first: "
                             f"{wrong[:1]}")
            wait_until("two Ready replicas again", lambda: len(ready_pods()) == 2, timeout=120)

        @suite.check("helm upgrade to a new image tag: the replicas roll, and no gated request is wrongly "
                     "admitted or refused meanwhile")
        def _():
            node.ctr("images", "tag", "--force", image, f"{REPO}:dev2")
            old = {p["metadata"]["name"] for p in pods()}
            loop = GatedLoop(env)
            loop.start()
            time.sleep(2)
            t0 = time.time()
            helm_cmd("upgrade", RELEASE, os.path.join(ROOT, "charts", "budgetgate"), "-n", NS,
                     *install_args("image.tag=dev2"), "--wait", "--timeout", "5m")
            wait_until("the old replicas gone", lambda: not (old & {p["metadata"]["name"] for p in pods()}),
                       timeout=120)
            roll = time.time() - t0
            time.sleep(3)
            n, wrong = loop.finish()
            images = {c["image"] for p in ready_pods() for c in p["spec"]["containers"]}
            check(images == {f"{REPO}:dev2"}, f"images after the upgrade: {images}")
            measured("helm upgrade roll", round(roll, 1), " s")
            measured("gated requests during the upgrade", n)
            measured("wrong answers during the upgrade", len(wrong))
            check(n >= 20, f"only {n} gated requests during the upgrade")
            check(not wrong, f"{len(wrong)} of {n} gated requests got a wrong answer during the upgrade; "
                             f"first: {[(w, o, b[:300]) for _, w, o, b in wrong[:3]]}")

        @suite.check("helm uninstall leaves no webhook configuration behind; rollouts work without it")
        def _():
            helm_cmd("uninstall", RELEASE, "-n", NS, "--wait", "--timeout", "2m")
            left = [c["metadata"]["name"] for c in
                    kubectl_json("get", "validatingwebhookconfigurations")["items"]]
            check(not left, f"webhook configurations left: {left}")
            s, b = api.request("POST", "/apis/apps/v1/namespaces/shop/deployments?dryRun=All",
                               deployment("payments", "after-uninstall"))
            check(s == 201, f"a rollout in the gated namespace after uninstall: {s} {b[:300]}")
            wait_until("budgetgate's Pods gone", lambda: not pods(), timeout=60)

        @suite.check("tls.mode=secret: a mounted certificate; same verdicts through the Service")
        def _():
            d = os.path.join(work, "tls")
            os.makedirs(d, exist_ok=True)
            run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-days", "2", "-subj", "/CN=test-ca"])
            run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", f"{d}/tls.key", "-out", f"{d}/tls.csr", "-subj", "/CN=budgetgate.budgetgate.svc"])
            with open(f"{d}/ext", "w") as f:
                f.write("subjectAltName=DNS:budgetgate.budgetgate.svc\nextendedKeyUsage=serverAuth\n")
            run(["openssl", "x509", "-req", "-in", f"{d}/tls.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", f"{d}/ext", "-out", f"{d}/tls.crt"])
            kubectl("create", "secret", "tls", "mounted-tls", "-n", NS, f"--cert={d}/tls.crt", f"--key={d}/tls.key")
            with open(f"{d}/ca.crt", "rb") as f:
                ca_b64 = base64.b64encode(f.read()).decode()
            t0 = time.time()
            helm_cmd("install", RELEASE, os.path.join(ROOT, "charts", "budgetgate"), "-n", NS,
                     *install_args("tls.mode=secret", "tls.secret.name=mounted-tls", f"tls.secret.caBundle={ca_b64}"),
                     "--wait", "--timeout", "5m")
            measured("helm install --wait, tls.mode=secret", round(time.time() - t0, 1), " s")
            try:
                check(len(ready_pods()) == 2, "two Ready replicas")
                # The served certificate is the mounted one.
                p = ready_pods()[0]
                served = ssl.get_server_certificate((p["status"]["podIP"], 8443))
                want = open(f"{d}/tls.crt").read()
                check(ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(want),
                      "the Pod serves the mounted certificate")
                # With a mounted certificate a replica is Ready as soon as its caches are loaded
                # (there is no caBundle to read back), which can be before kube-proxy routes the
                # Service to it: the API server's first calls may then fail to connect. Measured,
                # and documented in the README as the wait after `helm install --wait`.
                t1 = time.time()
                first = {}

                def routed():
                    (pay, pb), (chk, cb) = gated_requests(api, 0)
                    first.setdefault("outcome", (pay, pb[:200]))
                    return pay != "failed" and chk != "failed" and ((pay, pb), (chk, cb))
                (pay, pb), (chk, cb) = wait_until("the Service routes to budgetgate", routed,
                                                  timeout=30, interval=0.2)
                measured("tls.mode=secret: Service routed after helm install --wait",
                         round(time.time() - t1, 1), " s")
                log(f"first gated request after install: {first['outcome']}")
                check(pay == "denied", f"payments: {pay} {pb[:300]}")
                check(chk == "admitted", f"checkout: {chk} {cb[:300]}")
            finally:
                helm_cmd("uninstall", RELEASE, "-n", NS, "--wait", "--timeout", "2m")
            check(not kubectl_json("get", "validatingwebhookconfigurations")["items"], "webhook configuration removed")
            wait_until("budgetgate's Pods gone", lambda: not pods(), timeout=60)

        @suite.check("the plain manifests (charts/manifests/budgetgate.yaml) as the README applies them")
        def _():
            # The manifests name the image budgetgate:<appVersion>: the same image under that name.
            manifest = open(os.path.join(ROOT, "charts", "manifests", "budgetgate.yaml")).read()
            ref = re.search(r"image: \"?([^\"\s]+)\"?", manifest).group(1)
            node.ctr("images", "tag", "--force", image, f"docker.io/library/{ref}")
            manifest = manifest.replace("http://prometheus-operated.monitoring.svc:9090", prom_svc_url)
            check(prom_svc_url in manifest, "the Prometheus URL was set")
            kubectl("apply", "--server-side", "-f", "-", stdin=manifest)
            t0 = time.time()
            kubectl("rollout", "status", "-n", NS, "deployment/budgetgate", "--timeout=180s")
            measured("plain manifests: rollout status", round(time.time() - t0, 1), " s")
            check(len(ready_pods()) == 2, "two Ready replicas")
            wait_until("a status written after the manifests were applied", lambda: status(
                "payments-availability").get("lastEvaluated", "") >= time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)), timeout=90)
            (pay, pb), (chk, cb) = gated_requests(api, 1)
            check(pay == "denied", f"payments: {pay} {pb[:300]}")
            check(chk == "admitted", f"checkout: {chk} {cb[:300]}")
            # Remove all but the CRDs (which keep every SLO), as `helm uninstall` does.
            import yaml
            objects = [o for o in yaml.safe_load_all(manifest) if o and o["kind"] != "CustomResourceDefinition"]
            kubectl("delete", "-f", "-", "--wait=true", "--timeout=120s", stdin=yaml.safe_dump_all(objects),
                    timeout=180)
            check(not kubectl_json("get", "validatingwebhookconfigurations")["items"], "webhook configuration removed")

        @suite.check("Pods started before the webhook configuration exists stay unready until their CA "
                     "is in its caBundle; once Ready, no request fails with x509")
        def _():
            result = webhook_configuration_late(cp, helm, api, install_args(), os.path.join(ROOT, "charts", "budgetgate"))
            measured("webhook configuration created -> both replicas Ready", result["ready_after_s"], " s")
            measured("gated requests refused before Ready (no endpoints)", result["refused_before_ready"])
            check(result["ready_before_configuration"] == 0,
                  f"{result['ready_before_configuration']} replica(s) Ready while the webhook configuration did not exist")
            check(result["ready_after_s"] is not None and result["after_ready"] >= 10,
                  f"replicas not Ready within 90 s of the webhook configuration: {result}")
            measured("connection refusals while kube-proxy caught up after Ready", result["routing_lag_refusals"])
            measured("last such refusal after Ready", result["routing_lag_s"], " s")
            if result["routing_lag_errors"]:
                log(f"connection errors while the Service caught up: {result['routing_lag_errors']}")
            check(result["unready_again"] == 0,
                  f"a replica turned unready again after both were Ready ({result['unready_again']} polls)")
            check(result["refused_after_ready"] == 0,
                  f"{result['refused_after_ready']} of {result['after_ready']} gated requests refused after the "
                  f"replicas were Ready; first: {result['first_refusal_after_ready']}")

        @suite.check("node.sh stop leaves the host as it was (links, routes, iptables, mounts, sysctls)")
        def _():
            prom.stop()
            t0 = time.time()
            r = node.stop()
            measured("node stop with cleanup", round(time.time() - t0, 1), " s")
            check(r.returncode == 0, f"node.sh stop failed ({r.returncode}): {r.stderr[-3000:]}")
            check("host restored" in r.stderr, r.stderr[-2000:])
            after = host_state()
            for key in host_before:
                check(host_before[key] == after[key],
                      f"{key} differs after stop:\n- " + "\n- ".join(sorted(set(host_before[key]) ^ set(after[key]))))

        log("MEASURED summary: " + json.dumps(MEASURED))
        suite.finish()


def webhook_configuration_late(cp, helm, api, install_args, chart, ns=NS, settle=8, after=20):
    """The chart applied with its ValidatingWebhookConfiguration last, once the Pods run (the
    order in which the Pod can start before the configuration exists). Returns counts: replicas
    Ready before the configuration existed; seconds from creating it to both replicas Ready; gated
    requests (a healthy rollout, which must be admitted) refused before and after Ready."""
    import yaml
    out = run([helm, "template", RELEASE, chart, "-n", ns, *install_args], timeout=120).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    vwc = [d for d in docs if d["kind"] == "ValidatingWebhookConfiguration"]
    rest = [d for d in docs if d["kind"] != "ValidatingWebhookConfiguration"]
    cp.kubectl("create", "namespace", ns, check_rc=False)
    cp.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(rest))

    def pods():
        return json.loads(cp.kubectl("get", "pods", "-n", ns, "-l", SELECTOR, "-o", "json").stdout)["items"]

    def ready(p):
        return any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))

    wait_until("both Pods running", lambda: len([p for p in pods() if p["status"].get("phase") == "Running"]) == 2,
               timeout=120)
    time.sleep(settle)  # several readiness probes
    ready_before = len([p for p in pods() if ready(p)])
    t0 = time.time()
    cp.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(vwc))
    results, t_ready = [], None
    n = 0
    unready_again = 0  # polls after t_ready that found fewer than two Ready replicas
    last_poll = 0.0
    while time.time() - t0 < 90:
        n += 1
        (_, _), (c, body) = gated_requests(api, 1000 + n)
        now = time.time()
        if t_ready is None or now - last_poll >= 1.0:
            last_poll = now
            both = len([p for p in pods() if ready(p)]) == 2
            if t_ready is None and both:
                t_ready = now
            elif t_ready is not None and not both:
                unready_again += 1
        results.append((now, t_ready is not None, c, body))
        if t_ready is not None and now - t_ready > after:
            break
    before = [r for r in results if not r[1]]
    after_ready = [r for r in results if r[1]]
    # Right after a Pod turns Ready, kube-proxy and the bridge may not yet route the Service to
    # it: a call then cannot connect (refused while the rules catch up; "no route to host" after
    # ARP gives up on an endpoint not yet or no longer reachable, ~3 s). That is the Service
    # catching up, not budgetgate (which is what this check is about: no x509 or TLS error once
    # Ready), so a failure to connect (the TCP dial, before any TLS) is counted apart within a
    # grace of ROUTING_GRACE seconds; any other refusal, or a connection failure after the
    # grace, fails.
    def routing_lag(r):
        dial_failed = re.search(r"dial tcp [0-9.:]+: connect: ", r[3]) is not None
        return r[0] - t_ready <= ROUTING_GRACE and (dial_failed or "no endpoints available" in r[3])
    lagging = [r for r in after_ready if r[2] != "admitted" and routing_lag(r)]
    lag_s = max((r[0] - t_ready for r in lagging), default=0.0)
    refused_after = [r for r in after_ready if r[2] != "admitted" and not routing_lag(r)]
    cp.kubectl("delete", "-f", "-", "--wait=true", "--timeout=120s", stdin=yaml.safe_dump_all(vwc + rest),
               timeout=180, check_rc=False)
    return {"ready_before_configuration": ready_before,
            "ready_after_s": round(t_ready - t0, 1) if t_ready else None,
            "refused_before_ready": len([r for r in before if r[2] != "admitted"]),
            "after_ready": len(after_ready), "refused_after_ready": len(refused_after),
            "routing_lag_refusals": len(lagging), "routing_lag_s": round(lag_s, 1),
            "unready_again": unready_again,
            "first_refusal_after_ready": (f"{refused_after[0][0] - t_ready:.1f} s after Ready: "
                                          f"{refused_after[0][3][:600]}") if refused_after else None,
            "routing_lag_errors": sorted({re.sub(r".*connect: ([a-z ]+).*", r"\1", r[3], flags=re.S)[:60]
                                          for r in lagging})}


def check_berlin_window(st):
    """The status of a 1-day calendar window in Europe/Berlin: it starts at Berlin's midnight of the
    evaluation day (22:00 or 23:00 UTC), which needs the tz database."""
    check("windowStart" in st and "lastEvaluated" in st, f"status without windowStart/lastEvaluated: {st}")
    evaluated = datetime.fromisoformat(st["lastEvaluated"].replace("Z", "+00:00"))
    berlin = evaluated.astimezone(ZoneInfo("Europe/Berlin"))
    midnight = berlin.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
    got = datetime.fromisoformat(st["windowStart"].replace("Z", "+00:00"))
    check(got == midnight, f"windowStart {st['windowStart']}, expected Berlin midnight {midnight.isoformat()}")
    check(got.hour in (22, 23), f"windowStart {st['windowStart']} is not a Berlin midnight in UTC")


def image_config(archive):
    """The image configuration (docker-archive: manifest.json names the config blob)."""
    import tarfile
    with tarfile.open(archive) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        return json.load(t.extractfile(manifest[0]["Config"]))["config"]


def host_state():
    """What the node may change on the host, normalised for comparison."""
    def out(*cmd):
        return subprocess.run(cmd, capture_output=True, text=True).stdout

    def ipt(tool):
        return sorted(re.sub(r" \[\d+:\d+\]$", "", l) for l in out(tool).splitlines() if not l.startswith("#"))
    sysctls = ["kernel.panic", "kernel.panic_on_oops", "vm.overcommit_memory", "vm.panic_on_oom",
               "net.ipv4.ip_forward", "net.ipv4.conf.all.route_localnet"]
    return {
        "links": sorted(l.split(": ")[1].split("@")[0] for l in out("ip", "-o", "link", "show").splitlines()),
        "routes": sorted(out("ip", "route", "show", "table", "all").splitlines()),
        "iptables": ipt("iptables-save"),
        "ip6tables": ipt("ip6tables-save"),
        # where a node mounts (image builds elsewhere on the machine mount meanwhile)
        "mounts": sorted(m for m in (l.split()[4] for l in open("/proc/self/mountinfo"))
                         if m.startswith(("/tmp/budgetgate-node-", "/run/netns", "/var/run/netns", "/run/containerd",
                                          "/var/lib/kubelet", "/var/lib/containerd", "/var/lib/cni",
                                          "/sys/fs/cgroup/"))),
        "sysctls": [f"{s}={out('sysctl', '-n', s).strip()}" for s in sysctls],
        "netns": sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else [],
    }


if __name__ == "__main__":
    main()
