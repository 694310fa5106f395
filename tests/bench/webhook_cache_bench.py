#!/usr/bin/env python3
"""Benchmark: the admission webhook in a cluster with 50,000 ReplicaSets.

A real kube-apiserver + etcd holds `--deployments` Deployments (paused, 0 replicas) with
`--replicasets` ReplicaSets between them (each owned by its Deployment through a controller
reference, realistic pod templates), of which `--gated` Deployments are selected by an SLO.
One `budgetgate webhook` runs from before the objects exist (the baseline: the same process on
an empty cluster), and a second one starts after them (a cold list of every ReplicaSet, page by
page). Measured in the same run:

  RSS          of the webhook on the empty cluster (baseline) and with every object cached,
               and the difference per ReplicaSet (the cache's memory per object)
  cold start   time until the second webhook is ready (listed everything), its peak RSS
  decisions    p99 at 2,000 requests/s (wrk over TLS) before and after, and the webhook's
               decision for a rollback of a gated Deployment to one of its old ReplicaSets

  tests/bench/webhook_cache_bench.py [--replicasets 50000] [--smoke]
"""

import argparse
import base64
import concurrent.futures
import http.client
import json
import os
import ssl
import sys
import threading
import time

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
sys.path.insert(0, os.path.dirname(__file__))
from harness import (BIN, BUILD, Background, ControlPlane, check, free_port, http_get, log,  # noqa: E402
                     make_certificate, metric_value, run, wait_until, workspace)
from webhook_bench import SLO as WEB_SLO, realistic_deployment, wrk  # noqa: E402


class ApiWriter:
    """POSTs objects to the API server over keep-alive connections, one per thread (kubectl
    would take half an hour for 50,000 objects)."""

    def __init__(self, kubeconfig, work):
        with open(kubeconfig) as f:
            config = yaml.safe_load(f)
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        self.host, self.port = cluster["server"].split("://")[1].split(":")
        paths = {}
        for key in ("certificate-authority-data", "client-certificate-data", "client-key-data"):
            paths[key] = os.path.join(work, key + ".pem")
            with open(paths[key], "wb") as f:
                f.write(base64.b64decode(cluster.get(key) or user[key]))
        self.context = ssl.create_default_context(cafile=paths["certificate-authority-data"])
        self.context.load_cert_chain(paths["client-certificate-data"], paths["client-key-data"])
        self.local = threading.local()

    def post(self, path, obj):
        for attempt in range(5):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPSConnection(self.host, int(self.port),
                                                                    context=self.context, timeout=60)
            try:
                conn.request("POST", path, body=json.dumps(obj), headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException):
                self.local.conn = None
                time.sleep(0.2 * (attempt + 1))
                continue
            if resp.status == 429 or resp.status >= 500:
                time.sleep(0.2 * (attempt + 1))
                continue
            check(resp.status == 201, f"POST {path}: {resp.status} {body[:300]}")
            return json.loads(body)
        raise RuntimeError(f"POST {path} kept failing")


def deployment(i, gated):
    d = realistic_deployment(f"registry.example/web:1.{i % 50}.0")
    meta = d["metadata"]
    for k in ("uid", "resourceVersion", "generation", "creationTimestamp"):
        meta.pop(k, None)
    name = f"web-{i:05d}"
    meta["name"] = name
    app = "gated" if gated else name
    for labels in (meta["labels"], d["spec"]["template"]["metadata"]["labels"]):
        labels["app"] = app
        labels["instance"] = name
    d["spec"]["selector"] = {"matchLabels": {"app": app, "instance": name}}
    d["spec"]["replicas"] = 0
    d["spec"]["paused"] = True
    d.pop("status", None)
    return d


def replica_set(dep, uid, revision):
    template = json.loads(json.dumps(dep["spec"]["template"]))
    for c in template["spec"]["containers"]:
        c["image"] = c["image"].rsplit(":", 1)[0] + f":rev-{revision}"
    hash_ = f"{abs(hash((dep['metadata']['name'], revision))) % 10**10:010d}"
    template["metadata"]["labels"]["pod-template-hash"] = hash_
    selector = dict(dep["spec"]["selector"]["matchLabels"], **{"pod-template-hash": hash_})
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{dep['metadata']['name']}-{hash_}", "namespace": "bench",
                     "labels": template["metadata"]["labels"],
                     "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                          "name": dep["metadata"]["name"], "uid": uid,
                                          "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": selector}, "template": template},
    }


# The webhook benchmark's SLO, selecting app=gated.
SLO = WEB_SLO.replace("web", "gated")


def rss_mib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rollout_review(old, new, uid):
    """An UPDATE of a Deployment from `old` to `new` (pod templates), as the API server sends it."""
    def obj(d):
        d = json.loads(json.dumps(d))
        d["metadata"].update({"uid": uid, "namespace": "bench"})
        return d
    return json.dumps({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "bench-1", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                    "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
                    "name": old["metadata"]["name"], "namespace": "bench", "operation": "UPDATE",
                    "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
                    "object": obj(new), "oldObject": obj(old), "dryRun": False},
    }, separators=(",", ":"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicasets", type=int, default=50000)
    parser.add_argument("--deployments", type=int, default=5000)
    parser.add_argument("--gated", type=int, default=100, help="Deployments an SLO selects")
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run")
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--smoke", action="store_true", help="500 ReplicaSets, 50 Deployments, 2-second runs")
    parser.add_argument("--output", default=os.path.join(BUILD, "bench-results", "webhook_cache.json"))
    args = parser.parse_args()
    if args.smoke:
        args.replicasets, args.deployments, args.gated, args.seconds = 500, 50, 5, 2
    per_deployment = max(1, args.replicasets // args.deployments)
    results = {"replicaSets": args.deployments * per_deployment, "deployments": args.deployments,
               "gatedDeployments": args.gated}
    with workspace("webhook-cache-bench") as work:
        tls = make_certificate(work)
        cp = ControlPlane(work).start()
        procs = []
        try:
            cp.install_crds()
            cp.kubectl("create", "namespace", "bench")
            cp.apply(SLO)
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            cp.kubectl("patch", "slo", "-n", "bench", "gated-availability", "--subresource=status", "--type=merge",
                       "-p", json.dumps({"status": {"lastEvaluated": now, "target": 0.999, "window": "30d",
                                                    "tier": "exhausted", "observedGeneration": 1,
                                                    "errorBudget": {"total": 2592, "consumed": 3000,
                                                                    "remainingPercent": -15.7,
                                                                    "consumedPercent": 115.7, "unit": "requests"}}}))

            def start_webhook(name):
                port = free_port()
                w = Background(name, [BIN, "webhook", "--kubeconfig", cp.kubeconfig, "--namespace", "budgetgate",
                                      "--tls-cert-file", tls["cert"], "--tls-key-file", tls["key"],
                                      "--webhook-address", f"127.0.0.1:{port}", "--webhook-threads", "2"],
                               work).start()
                procs.append(w)
                return w, f"https://127.0.0.1:{port}", f"https://127.0.0.1:{port}/metrics"

            def cached_replicasets(metrics):
                return metric_value(http_get(metrics, timeout=10)[1], "budgetgate_webhook_cached_objects",
                                    {"kind": "replicaset"}) or 0

            first, first_url, first_metrics = start_webhook("webhook-warm")
            wait_until("webhook ready", lambda: http_get(f"{first_url}/readyz")[0] == 200, timeout=60)
            time.sleep(2)
            results["emptyClusterRssMiB"] = rss_mib(first.proc.pid)

            # A review of a gated Deployment (its SLO is exhausted), for wrk.
            gated0 = deployment(0, True)
            newer = json.loads(json.dumps(gated0))
            newer["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example/web:9.9.9"
            body_file = os.path.join(work, "review.json")
            with open(body_file, "w") as f:
                f.write(rollout_review(gated0, newer, "00000000-0000-0000-0000-000000000000"))
            results["emptyCluster"] = wrk(f"{first_url}/validate/deployments", body_file, args.seconds, rate=args.rate)
            log(f"empty cluster: {results['emptyClusterRssMiB']:.1f} MiB, {json.dumps(results['emptyCluster'])}")

            # The objects: Deployments, then their ReplicaSets, 8 writers at a time.
            writer = ApiWriter(cp.kubeconfig, work)
            deployments = [deployment(i, i < args.gated) for i in range(args.deployments)]
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                created = list(pool.map(lambda d: writer.post("/apis/apps/v1/namespaces/bench/deployments", d),
                                        deployments))
                uids = [c["metadata"]["uid"] for c in created]
                log(f"{len(uids)} Deployments created in {time.monotonic() - started:.0f} s")
                jobs = [(d, uid, r) for d, uid in zip(deployments, uids) for r in range(1, per_deployment + 1)]
                done = [0]

                def create(job):
                    writer.post("/apis/apps/v1/namespaces/bench/replicasets", replica_set(*job))
                    done[0] += 1
                    if done[0] % 5000 == 0:
                        log(f"{done[0]} ReplicaSets created")
                list(pool.map(create, jobs))
            results["createSeconds"] = time.monotonic() - started
            log(f"{len(jobs)} ReplicaSets created in {results['createSeconds']:.0f} s")

            wait_until("the warm webhook cached every ReplicaSet",
                       lambda: cached_replicasets(first_metrics) >= len(jobs), timeout=600, interval=1)
            time.sleep(3)
            results["fullClusterRssMiB"] = rss_mib(first.proc.pid)
            results["bytesPerReplicaSet"] = ((results["fullClusterRssMiB"] - results["emptyClusterRssMiB"])
                                             * 1024 * 1024 / len(jobs))

            # Cold start: a second webhook lists everything (paginated).
            started = time.monotonic()
            cold, cold_url, cold_metrics = start_webhook("webhook-cold")
            wait_until("cold webhook ready", lambda: http_get(f"{cold_url}/readyz")[0] == 200,
                       timeout=600, interval=0.2)
            results["coldReadySeconds"] = time.monotonic() - started
            check(cached_replicasets(cold_metrics) >= len(jobs), "the cold webhook listed every ReplicaSet")
            results["coldPeakRssMiB"] = rss_mib(cold.proc.pid, "VmHWM")
            results["coldRssMiB"] = rss_mib(cold.proc.pid)
            cold.stop()

            # Rollback recognition still works with the cache this full: the gated Deployment
            # rolled back to the template of its revision 2 is admitted, a new template denied.
            # The template as the API server stored it (defaulted, as a Deployment's template is
            # by the time the webhook sees it).
            stored = cp.get_json("replicaset", "-n", "bench", replica_set(gated0, uids[0], 2)["metadata"]["name"])
            rollback = json.loads(json.dumps(gated0))
            rollback["spec"]["template"] = stored["spec"]["template"]
            del rollback["spec"]["template"]["metadata"]["labels"]["pod-template-hash"]
            for name, new, allowed in (("rollback", rollback, True), ("new template", newer, False)):
                review = os.path.join(work, f"{name.replace(' ', '-')}.json")
                with open(review, "w") as f:
                    f.write(rollout_review(gated0, new, uids[0]))
                out = run(["curl", "-sk", "--data-binary", f"@{review}", "-H", "Content-Type: application/json",
                           f"{first_url}/validate/deployments"]).stdout
                check(json.loads(out)["response"]["allowed"] is allowed, f"{name}: allowed={allowed}: {out[:400]}")
            results["fullCluster"] = wrk(f"{first_url}/validate/deployments", body_file, args.seconds, rate=args.rate)
            log(f"full cluster: {results['fullClusterRssMiB']:.1f} MiB, {json.dumps(results['fullCluster'])}")
            check(first.alive(), "the webhook survived")
        finally:
            for p in procs:
                p.stop()
            cp.stop()
    e, f = results["emptyCluster"], results["fullCluster"]
    print(f"\nbudgetgate webhook, {results['replicaSets']:,} ReplicaSets of {args.deployments:,} Deployments "
          f"({args.gated} gated), real kube-apiserver + etcd, same run:\n")
    print("| measure | empty cluster (baseline) | with every object cached | ratio |")
    print("|---|---|---|---|")
    print(f"| RSS | {results['emptyClusterRssMiB']:.1f} MiB | {results['fullClusterRssMiB']:.1f} MiB "
          f"({results['bytesPerReplicaSet']:.0f} B per ReplicaSet) | "
          f"{results['fullClusterRssMiB'] / results['emptyClusterRssMiB']:.2f}x |")
    print(f"| decision p99 at {args.rate:,}/s | {e['p99ms']:.2f} ms | {f['p99ms']:.2f} ms | "
          f"{f['p99ms'] / max(e['p99ms'], 1e-6):.2f}x |")
    print(f"| decision p50 | {e['p50ms']:.2f} ms | {f['p50ms']:.2f} ms | {f['p50ms'] / max(e['p50ms'], 1e-6):.2f}x |")
    print(f"| cold start (list everything) | - | {results['coldReadySeconds']:.1f} s, peak RSS "
          f"{results['coldPeakRssMiB']:.1f} MiB | - |")
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as fh:
        json.dump(results, fh, indent=2)
    check(f["non2xx"] == 0 and e["non2xx"] == 0, "every response was 200")


if __name__ == "__main__":
    main()
