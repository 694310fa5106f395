#!/usr/bin/env python3
"""End-to-end: `budgetgate operator` against a real kube-apiserver + etcd and a real Prometheus.

The Prometheus history is "live": it ends three hours after the test starts, so the controller
evaluates the wall clock like in production. One service has an outage scheduled a few
minutes into the test, so its tier changes while we watch.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (condition, BIN, Background, ControlPlane, Prometheus, Suite, check,  # noqa: E402
                     exposition_problems, free_port, http_get, live_scenario, log, metric_samples,
                     metric_value, wait_until, workspace)

OUTAGE_IN = 90  # seconds after the scenario is written: payments starts failing (after the first evaluations)


def slo(name, service, good=True, query=None, target=0.999, window="30d", selector=True, labels=None):
    numerator = "good" if good else "bad"
    num_query = query or (f'http_requests_total{{service="{service}",code!="500"}}' if good
                          else f'http_requests_total{{service="{service}",code="500"}}')
    gate = (f"""
  gate:
    selector:
      matchLabels:
        app: {service}""" if selector else "")
    meta_labels = ("\n  labels:" + "".join(f"\n    {k}: {v}" for k, v in labels.items())) if labels else ""
    return f"""apiVersion: slo.budgetgate.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: {name}
  namespace: shop{meta_labels}
spec:
  service: {service}
  indicator:
    spec:
      ratioMetric:
        counter: true
        {numerator}:
          metricSource: {{type: Prometheus, spec: {{query: '{num_query}'}}}}
        total:
          metricSource: {{type: Prometheus, spec: {{query: 'http_requests_total{{service="{service}"}}'}}}}
  timeWindow: [{{duration: {window}, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{displayName: availability, target: {target}}}]{gate}
"""


def status_of(cp, name):
    obj = cp.get_json("slo", "-n", "shop", name)
    return obj.get("status") or {}, obj


def lease_holder(cp):
    r = cp.kubectl("get", "lease", "-n", "budgetgate", "budgetgate-controller", "-o", "json", check_rc=False)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)["spec"].get("holderIdentity")


def main():
    suite = Suite("controller e2e")
    with workspace("controller") as work:
        with suite.setup():
            services = [
                {"name": "checkout", "rps": 100, "baseErrorRatio": 0},
                {"name": "ledger", "rps": 10, "baseErrorRatio": 0.0002,
                 "incidents": [{"startIn": -2 * 86400, "duration": "2h", "errorRatio": 0.5}]},
                {"name": "payments", "rps": 20, "baseErrorRatio": 0.0001,
                 "incidents": [{"startIn": OUTAGE_IN, "duration": "40m", "errorRatio": 1.0}]},
                {"name": "idle", "rps": 0},
            ]
            started = {}

            def write_scenario():
                # The outage is OUTAGE_IN seconds after the history is written, whatever the
                # wait for the build lock before it.
                live_scenario(work, services)
                started["at"] = time.time()
            prom = Prometheus(work, os.path.join(work, "live-scenario.yaml"), private_cache=True)
            prom.start(write_scenario)
            setup_started = started["at"]
            suite.on_exit(prom.stop)
            cp = ControlPlane(work).start()
            suite.on_exit(cp.stop)
            cp.install_crds()
            for ns in ("shop", "budgetgate"):
                cp.kubectl("create", "namespace", ns)
            cp.apply("".join("---\n" + slo(*a) for a in [
                ("checkout-availability", "checkout"),
                ("ledger-availability", "ledger", False),
                ("idle-availability", "idle"),
                ("missing-availability", "no-such-service"),
            ]) + "---\n" + slo("payments-availability", "payments", labels={"team": "payments"}))

            def operator(name):
                port = free_port()
                proc = Background(name, [BIN, "operator", "--kubeconfig", cp.kubeconfig, "--namespace", "budgetgate",
                                         "--prometheus", prom.url, "--interval", "5s", "--heartbeat", "20s",
                                         "--identity", name, "--metrics-address", f"127.0.0.1:{port}"], work)
                proc.metrics = f"http://127.0.0.1:{port}"
                return proc.start()

            a, b = operator("replica-a"), operator("replica-b")
            suite.on_exit(a.stop)
            suite.on_exit(b.stop)
            replicas = {"replica-a": a, "replica-b": b}

        @suite.check("the controller writes every SLO's status: budget, burn rates, tier, conditions")
        def _():
            def all_evaluated():
                items = cp.get_json("slo", "-n", "shop")["items"]
                return len(items) == 5 and all(i.get("status", {}).get("lastEvaluated") for i in items)
            wait_until("statuses of all 5 SLOs", all_evaluated, timeout=90)
            st, obj = status_of(cp, "checkout-availability")
            check(st["tier"] == "healthy", f"checkout tier {st['tier']}")
            check(st["errorBudget"]["remainingPercent"] == 100, "no errors: 100% left")
            check(st["observedGeneration"] == obj["metadata"]["generation"], "observedGeneration")
            check(condition(st, "Ready")["status"] == "True", "Ready")
            check(st["gate"]["decisionsByRisk"] == {"low": "approve", "medium": "approve", "high": "review"},
                  f"decisions {st['gate']}")
            st, _ = status_of(cp, "ledger-availability")
            check(st["tier"] == "exhausted", f"ledger tier {st['tier']}")
            check(st["errorBudget"]["consumedPercent"] > 100, "ledger over budget")
            check(condition(st, "BudgetExhausted")["status"] == "True", "BudgetExhausted")
            st, _ = status_of(cp, "idle-availability")
            check(condition(st, "DataAvailable")["reason"] == "NoTraffic", f"idle {condition(st, 'DataAvailable')}")
            st, _ = status_of(cp, "missing-availability")
            check(st["tier"] == "unknown" and condition(st, "DataAvailable")["status"] == "False",
                  f"missing: {st.get('tier')} {condition(st, 'DataAvailable')}")

        @suite.check("kubectl get slo shows target, window, remaining %, burn 1h, tier, age")
        def _():
            out = cp.kubectl("get", "slo", "-n", "shop").stdout
            header = out.splitlines()[0].split()
            check(header == ["NAME", "TARGET", "WINDOW", "REMAINING", "BURN-1H", "TIER", "AGE"], f"header {header}")
            rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
            check(rows["checkout-availability"][1:4] == ["0.999", "30d", "100"], f"row {rows['checkout-availability']}")
            check(rows["ledger-availability"][5] == "exhausted", f"row {rows['ledger-availability']}")
            # An SLO without data has an empty REMAINING cell, so count from the end.
            check(rows["missing-availability"][-2] == "unknown", f"row {rows['missing-availability']}")
            log("\n" + out)

        @suite.check("exactly one replica leads (Lease) and only it evaluates")
        def _():
            holder = wait_until("a lease holder", lambda: lease_holder(cp), timeout=30)
            check(holder in replicas, f"holder {holder}")
            leader, follower = replicas[holder], [r for n, r in replicas.items() if n != holder][0]
            _, text = http_get(leader.metrics + "/metrics")
            check(metric_value(text, "budgetgate_leader") == 1, "leader metric on the leader")
            _, text = http_get(follower.metrics + "/metrics")
            check(metric_value(text, "budgetgate_leader") == 0, "leader metric on the follower")
            check("cycle " not in follower.log_text(), "the follower did not evaluate")
            for r in replicas.values():
                check(http_get(r.metrics + "/healthz")[0] == 200, "healthz")
                check(http_get(r.metrics + "/readyz")[0] == 200, "readyz")

        @suite.check("/metrics exports budget, burn rates, tier and alert state per SLO")
        def _():
            holder = lease_holder(cp)
            _, text = http_get(replicas[holder].metrics + "/metrics")
            labels = {"namespace": "shop", "slo": "ledger-availability"}
            check(metric_value(text, "budgetgate_slo_error_budget_remaining_percent", labels) == 0, "ledger remaining")
            check(metric_value(text, "budgetgate_slo_tier", {**labels, "tier": "exhausted"}) == 1, "tier gauge")
            check(metric_value(text, "budgetgate_slo_burn_rate", {**labels, "window": "1h"}) is not None, "burn gauge")
            check(metric_value(text, "budgetgate_evaluation_cycles_total") >= 1, "cycles counter")
            check(metric_value(text, "budgetgate_status_writes_total", {"result": "ok"}) >= 5, "status writes")
            # service (spec.service) and team (the SLO's `team` label, "" without one) on every
            # per-SLO series.
            check(metric_value(text, "budgetgate_slo_tier", {**labels, "service": "ledger", "team": "",
                                                             "tier": "exhausted"}) == 1, "ledger: service, team=\"\"")
            payments = {"namespace": "shop", "slo": "payments-availability", "service": "payments",
                        "team": "payments"}
            check(metric_value(text, "budgetgate_slo_data_available", payments) == 1, "payments: team=payments")
            for family in ("budgetgate_slo_error_budget_remaining_percent", "budgetgate_slo_burn_rate",
                           "budgetgate_slo_tier", "budgetgate_slo_sli", "budgetgate_slo_data_available"):
                samples = metric_samples(text, family)
                check(samples and all("service" in ls and "team" in ls for ls, _ in samples),
                      f"{family}: every series has service and team: {samples[:3]}")

        @suite.check("/metrics is well-formed: one # HELP and # TYPE per family, every sample typed")
        def _():
            for name, r in replicas.items():
                text = http_get(r.metrics + "/metrics")[1]
                problems = exposition_problems(text)
                check(not problems, f"{name}: {problems[:5]}")

        @suite.check("relabelling an SLO's team replaces its series (the old team's go)")
        def _():
            holder = lease_holder(cp)

            def series(team):
                text = http_get(replicas[holder].metrics + "/metrics")[1]
                return [ls for family in ("budgetgate_slo_tier", "budgetgate_slo_burn_rate",
                                          "budgetgate_slo_data_available")
                        for ls, _ in metric_samples(text, family)
                        if ls.get("slo") == "payments-availability" and ls.get("team") == team]
            check(series("payments"), "payments series before")
            cp.kubectl("label", "slo", "-n", "shop", "payments-availability", "team=checkout", "--overwrite")
            wait_until("series with team=checkout", lambda: series("checkout"), timeout=30)
            check(series("payments") == [], f"old team's series left: {series('payments')[:3]}")
            text = http_get(replicas[holder].metrics + "/metrics")[1]
            check(metric_value(text, "budgetgate_slo_data_available",
                               {"slo": "payments-availability", "team": "checkout", "service": "payments"}) == 1,
                  "new series complete")

        @suite.check("a spec change is evaluated within seconds (observedGeneration follows generation)")
        def _():
            cp.kubectl("patch", "slo", "-n", "shop", "checkout-availability", "--type=merge",
                       "-p", '{"spec":{"objectives":[{"displayName":"availability","target":0.99}]}}')
            gen = status_of(cp, "checkout-availability")[1]["metadata"]["generation"]
            wait_until("status for the new generation",
                       lambda: status_of(cp, "checkout-availability")[0].get("observedGeneration") == gen,
                       timeout=20)
            check(status_of(cp, "checkout-availability")[0]["target"] == 0.99, "new target in status")

        @suite.check("an SLO whose query budgetgate cannot evaluate gets Ready=False InvalidSpec")
        def _():
            cp.apply(slo("bad-query", "checkout", query="sum(rate(http_requests_total[5m]))"))
            wait_until("InvalidSpec condition",
                       lambda: condition(status_of(cp, "bad-query")[0], "Ready").get("reason") == "InvalidSpec",
                       timeout=30)
            msg = status_of(cp, "bad-query")[0]["message"]
            check("not a plain selector" in msg, msg)
            cp.kubectl("delete", "slo", "-n", "shop", "bad-query")

        @suite.check("the outage turns payments critical: status, firing alerts and a TierChanged Event")
        def _():
            remaining = OUTAGE_IN - (time.time() - setup_started)
            log(f"waiting for the payments outage (starts in {max(0, remaining):.0f}s)")

            def critical():
                st, _ = status_of(cp, "payments-availability")
                return st if st.get("tier") in ("critical", "exhausted") else None
            st = wait_until("payments to turn critical", critical, timeout=max(0, remaining) + 120, interval=2)
            log(f"payments critical: {st['message']}")

            def paging():
                s2, _ = status_of(cp, "payments-availability")
                return s2 if any(x["firing"] and x["name"] == "page-1h" for x in s2["alerts"]) else None
            # page-1h needs the 1h burn at 14.4x: about 52 s into a total outage.
            st = wait_until("page-1h to fire", paging, timeout=120, interval=2)
            check(st["gate"]["decisionsByRisk"]["medium"] == "block", "critical blocks medium risk")

            def event():
                evs = cp.get_json("events", "-n", "shop", "--field-selector",
                                  "involvedObject.name=payments-availability")["items"]
                return [e for e in evs if e["reason"] == "TierChanged"]
            evs = wait_until("TierChanged event", event, timeout=30)
            check(evs[0]["type"] == "Warning" and "healthy -> critical" in evs[0]["message"],
                  f"event {evs[0]['type']}: {evs[0]['message']}")

        @suite.check("deleting an SLO leaves no residue in status writes or metrics")
        def _():
            holder = lease_holder(cp)
            _, text = http_get(replicas[holder].metrics + "/metrics")
            labels = {"namespace": "shop", "slo": "missing-availability"}
            check(metric_value(text, "budgetgate_slo_data_available", labels) == 0, "present before delete")
            check(metric_value(text, "budgetgate_slos") == 5, "5 SLOs known before")
            cp.kubectl("delete", "slo", "-n", "shop", "missing-availability")
            wait_until("its metrics to disappear", lambda: metric_value(
                http_get(replicas[holder].metrics + "/metrics")[1], "budgetgate_slo_data_available", labels) is None,
                timeout=20)
            check(metric_value(http_get(replicas[holder].metrics + "/metrics")[1], "budgetgate_slos") == 4,
                  "the controller forgot it (4 SLOs left)")
            check(cp.kubectl("get", "slo", "-n", "shop", "missing-availability", check_rc=False).returncode != 0,
                  "gone from the API")

        @suite.check("failover: killing the leader hands the lease to the other replica, which keeps writing")
        def _():
            holder = lease_holder(cp)
            leader = replicas[holder]
            other_name = [n for n in replicas if n != holder][0]
            leader.kill()
            killed_at = time.time()
            wait_until("the other replica to take the lease", lambda: lease_holder(cp) == other_name, timeout=40)
            log(f"takeover after {time.time() - killed_at:.1f}s")
            before = status_of(cp, "checkout-availability")[0]["lastEvaluated"]
            wait_until("fresh statuses from the new leader",
                       lambda: status_of(cp, "checkout-availability")[0]["lastEvaluated"] > before, timeout=40)
            # Bring the killed replica back as a follower for the later checks.
            restarted = operator(holder)
            replicas[holder] = restarted
            suite.on_exit(restarted.stop)

        @suite.check("after the API server restarts, watches resume and new SLOs are evaluated")
        def _():
            cp.restart_apiserver()
            cp.kubectl("get", "--raw", "/readyz")
            cp.apply(slo("after-restart", "checkout", selector=False))
            wait_until("status of an SLO created after the restart",
                       lambda: status_of(cp, "after-restart")[0].get("lastEvaluated"), timeout=90, interval=2)
            before = status_of(cp, "ledger-availability")[0]["lastEvaluated"]
            wait_until("statuses keep advancing",
                       lambda: status_of(cp, "ledger-availability")[0]["lastEvaluated"] > before, timeout=60)

        @suite.check("Prometheus down: DataAvailable=False PrometheusUnavailable, figures kept; back: recovered")
        def _():
            prom.stop()
            wait_until("PrometheusUnavailable condition", lambda: condition(
                status_of(cp, "ledger-availability")[0], "DataAvailable").get("reason") == "PrometheusUnavailable",
                timeout=60, interval=2)
            st, _ = status_of(cp, "ledger-availability")
            check(st["tier"] == "exhausted", "last known tier kept while Prometheus is down")
            check("evaluation failed" in st["message"], st["message"])
            prom.start()
            wait_until("data available again", lambda: condition(
                status_of(cp, "ledger-availability")[0], "DataAvailable").get("status") == "True",
                timeout=90, interval=2)

        @suite.check("two shards split the SLOs by namespace hash, each with its own Lease, and fail over")
        def _():
            for r in list(replicas.values()):
                if r.alive():
                    r.stop()
            # Six more namespaces: FNV-1a 64 of the name, modulo 2, computed here independently.
            def fnv1a(text):
                h = 0xcbf29ce484222325
                for byte in text.encode():
                    h = ((h ^ byte) * 0x100000001b3) % (1 << 64)
                return h
            spaces = [f"team-{i}" for i in range(6)] + ["shop"]
            for ns in spaces[:-1]:
                cp.kubectl("create", "namespace", ns)
                cp.apply(slo("checkout-availability", "checkout").replace("namespace: shop", f"namespace: {ns}"))
            expected = {k: {ns for ns in spaces if fnv1a(ns) % 2 == k} for k in (0, 1)}
            check(expected[0] and expected[1], f"both shards get namespaces: {expected}")

            def sharded(name, shard):
                port = free_port()
                proc = Background(name, [BIN, "operator", "--kubeconfig", cp.kubeconfig, "--namespace", "budgetgate",
                                         "--prometheus", prom.url, "--interval", "5s", "--heartbeat", "20s",
                                         "--identity", name, "--shard", f"{shard}/2",
                                         "--metrics-address", f"127.0.0.1:{port}"], work)
                proc.metrics = f"http://127.0.0.1:{port}"
                suite.on_exit(proc.stop)
                return proc.start()
            shard0, shard1, shard1b = sharded("shard0", 0), sharded("shard1", 1), sharded("shard1-b", 1)

            def holder(lease):
                r = cp.kubectl("get", "lease", "-n", "budgetgate", lease, "-o", "json", check_rc=False)
                return json.loads(r.stdout)["spec"].get("holderIdentity") if r.returncode == 0 else None
            wait_until("a holder for each shard's Lease",
                       lambda: holder("budgetgate-controller-shard-0") == "shard0"
                       and holder("budgetgate-controller-shard-1") in ("shard1", "shard1-b"), timeout=60)

            def exported_namespaces(proc):
                _, text = http_get(proc.metrics + "/metrics")
                return {labels["namespace"] for labels, _ in metric_samples(text, "budgetgate_slo_tier")}
            leader1 = {"shard1": shard1, "shard1-b": shard1b}[holder("budgetgate-controller-shard-1")]
            wait_until("each shard exports exactly its namespaces' SLOs",
                       lambda: exported_namespaces(shard0) == expected[0]
                       and exported_namespaces(leader1) == expected[1], timeout=90, interval=2)
            for ns in spaces[:-1]:
                wait_until(f"status in {ns}", lambda ns=ns: (cp.get_json("slo", "-n", ns, "checkout-availability")
                                                             .get("status") or {}).get("tier") == "healthy",
                           timeout=60, interval=2)
            for proc in (shard0, shard1, shard1b):
                _, text = http_get(proc.metrics + "/metrics")
                check(metric_value(text, "budgetgate_controller_shard") == 1, "shard info metric")
            check("cycle " not in [shard1, shard1b][leader1 is shard1].log_text(), "shard 1's follower idles")
            # Shard 1's leader dies: its follower takes the shard's Lease and keeps its SLOs fresh;
            # shard 0 never takes them over.
            ns1 = sorted(expected[1])[0]
            leader1.kill()
            other = "shard1-b" if leader1 is shard1 else "shard1"
            wait_until("the follower takes shard 1", lambda: holder("budgetgate-controller-shard-1") == other,
                       timeout=40)
            before = cp.get_json("slo", "-n", ns1, "checkout-availability" if ns1 != "shop"
                                 else "ledger-availability")["status"]["lastEvaluated"]
            wait_until(f"{ns1} still evaluated", lambda: cp.get_json(
                "slo", "-n", ns1, "checkout-availability" if ns1 != "shop" else "ledger-availability"
            )["status"]["lastEvaluated"] > before, timeout=60, interval=2)
            check(exported_namespaces(shard0) == expected[0], "shard 0 kept to its own namespaces")
            for proc in (shard0, shard1, shard1b):
                if proc.alive():
                    proc.stop()

        @suite.check("SIGTERM with a Prometheus that never answers: exits within seconds and releases the Lease")
        def _():
            for r in list(replicas.values()):
                if r.alive():
                    log(f"{r.name} exited with {r.stop()}")
            # A Prometheus that accepts connections and never answers (queries time out at 30s).
            import socket
            import threading
            hole = socket.socket()
            hole.bind(("127.0.0.1", 0))
            hole.listen(64)
            held = []
            stop = threading.Event()

            def swallow():
                hole.settimeout(0.2)
                while not stop.is_set():
                    try:
                        held.append(hole.accept()[0])
                    except OSError:
                        pass
            threading.Thread(target=swallow, daemon=True).start()
            try:
                port = free_port()
                slow = Background("replica-slow", [
                    BIN, "operator", "--kubeconfig", cp.kubeconfig, "--namespace", "budgetgate",
                    "--prometheus", f"http://127.0.0.1:{hole.getsockname()[1]}", "--interval", "5s",
                    "--identity", "replica-slow", "--metrics-address", f"127.0.0.1:{port}"], work).start()
                wait_until("the slow replica to lead", lambda: lease_holder(cp) == "replica-slow", timeout=60)
                wait_until("a query in flight", lambda: held, timeout=30)
                time.sleep(1)
                started = time.time()
                rc = slow.stop(timeout=60)
                took = time.time() - started
                log(f"shutdown with a query in flight took {took:.1f}s (exit {rc})")
                check(rc == 0, f"exit code {rc}")
                check(took < 10, f"shutdown took {took:.1f}s: longer than a Pod's grace period allows")
                check(lease_holder(cp) in (None, ""), f"the Lease was released (holder {lease_holder(cp)!r})")
            finally:
                stop.set()
                for c in held:
                    c.close()
                hole.close()
        suite.finish()


if __name__ == "__main__":
    main()
