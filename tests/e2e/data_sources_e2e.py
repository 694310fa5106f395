#!/usr/bin/env python3
"""End-to-end: SLOs that read named data sources (OpenSLO DataSource, metricSourceRef).

Real parts: two Prometheus servers with different live histories ("home", the default
--prometheus, where checkout and pay never fail; "eu", where checkout fails 0.2 % of the time and
pay 0.05 %), a small tenant gateway in front of "eu" that answers only requests carrying
`X-Scope-OrgID: team-a` (as Mimir does), kube-apiserver + etcd + kube-controller-manager,
`budgetgate operator --datasources` with its webhook over TLS, the chart's CRDs, webhook
configuration and user roles. Bob is an ordinary namespace editor (group devs, role `edit`) in
shop and pay.

Declared by the administrator: `eu` (through the gateway, tenant team-a, namespace shop only)
and `eu-all` (eu directly, every namespace).

Checked: each SLO's budget comes from its own data source, against the history generator's
exact counts (checkout-eu 200 %, pay-eu-all 50 %, checkout-home 0 %); every request the gateway
saw carried the tenant header and none asked for another namespace's series; the operator's
metrics count each data source's queries; bob is denied the rollout that checkout-eu gates and
cannot switch the gating SLO to the default Prometheus (the webhook calls it loosening); an SLO
naming an undeclared data source, one its namespace may not read, or a URL gets tier unknown or is
refused, never another data source's numbers; `budgetgate evaluate --datasources` agrees with the
controller; an unauthenticated flood of forged data-source switches is denied and the webhook
still decides.
"""

import http.server
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ROOT, ControlPlane, Prometheus, Suite, budgetgate, check,  # noqa: E402
                     chart_user_roles, chart_webhook_config, condition, http_get, live_scenario,
                     log, metric_value, operator_with_webhook, ratio_slo, refused, wait_until,
                     workspace)
from webhook_e2e import deployment, forged_slo_update_flood  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "prometheus"))
import gen_history  # noqa: E402

BOB = dict(user="bob", groups=["devs"])
DAY = 86400
WINDOW = 30 * DAY
TARGET = 0.999
TENANT = "team-a"


def slo(name, ns, service, source=None, selector=None):
    """A 30-day 99.9 % SLO on `service`'s requests read from data source `source` (None: the
    default Prometheus), gating `selector` (matchLabels) if given."""
    return ratio_slo(name, ns, service, selector, target=TARGET, source=source)


class TenantGateway:
    """Forwards the Prometheus API to `upstream` only for requests carrying X-Scope-OrgID: team-a
    (401 otherwise, as a multi-tenant Mimir answers), and records every request it saw."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.seen = []  # (tenant header or None, query text)
        self.lock = threading.Lock()
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self, body):
                tenant = self.headers.get("X-Scope-OrgID")
                query = urllib.parse.unquote_plus((body or b"").decode() + "&" + self.path)
                with gateway.lock:
                    gateway.seen.append((tenant, query))
                if tenant != TENANT:
                    self.send_response(401)
                    self.end_headers()
                    self.wfile.write(b"no org id\n")
                    return
                req = urllib.request.Request(gateway.upstream + self.path, data=body, method=self.command)
                if body is not None:
                    req.add_header("Content-Type", self.headers.get("Content-Type", ""))
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        status, payload = r.status, r.read()
                except urllib.error.HTTPError as e:
                    status, payload = e.code, e.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):  # noqa: N802
                self._forward(None)

            def do_POST(self):  # noqa: N802
                self._forward(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def requests(self):
        with self.lock:
            return list(self.seen)

    def stop(self):
        self.server.shutdown()


def main():
    suite = Suite("data sources e2e")
    with workspace("datasources") as work:
        with suite.setup():
            prometheus = {}
            scenarios = {}
            for name, checkout_errors, pay_errors in (("home", 0, 0), ("eu", 0.002, 0.0005)):
                d = os.path.join(work, name)
                os.makedirs(d, exist_ok=True)
                path = live_scenario(d, [
                    {"name": "checkout", "rps": 10, "baseErrorRatio": checkout_errors},
                    {"name": "pay", "rps": 5, "baseErrorRatio": pay_errors},
                ])
                scenarios[name] = gen_history.load_scenario(path)
                prometheus[name] = Prometheus(d, path, private_cache=True).start()
                suite.on_exit(prometheus[name].stop)
            gateway = TenantGateway(prometheus["eu"].url)
            suite.on_exit(gateway.stop)
            datasources = os.path.join(work, "datasources.yaml")
            with open(datasources, "w") as f:
                f.write(f"""apiVersion: openslo/v1
kind: DataSource
metadata: {{name: eu}}
spec:
  type: Prometheus
  description: the EU Mimir, tenant {TENANT}, for shop only
  connectionDetails:
    url: {gateway.url}
    headers: {{X-Scope-OrgID: {TENANT}}}
    allowedNamespaces: [shop]
---
apiVersion: openslo/v1
kind: DataSource
metadata: {{name: eu-all}}
spec:
  type: Prometheus
  connectionDetails: {{url: "{prometheus['eu'].url}", timeout: 20s}}
""")
            cp = ControlPlane(work).start()
            suite.on_exit(cp.stop)
            cp.install_crds()
            for ns in ("shop", "pay", "budgetgate"):
                cp.kubectl("create", "namespace", ns)
            cp.apply(chart_user_roles())
            for ns in ("shop", "pay"):
                cp.kubectl("create", "rolebinding", "edit", "-n", ns, "--clusterrole=edit", "--group=devs")
            cp.apply(deployment("checkout", "shop", "checkout", "registry.example/checkout:1.0"))
            cp.apply(slo("checkout-eu", "shop", "checkout", "eu", {"app": "checkout"}) + "---\n" +
                     slo("checkout-home", "shop", "checkout") + "---\n" +
                     slo("pay-eu-all", "pay", "pay", "eu-all") + "---\n" +
                     slo("pay-eu", "pay", "pay", "eu"))
            op, base, ca_pem, metrics_port = operator_with_webhook(suite, cp, prometheus["home"], work,
                                                                   "--datasources", datasources)

            def status(ns, name):
                return cp.get_json("slo", "-n", ns, name).get("status", {})

            def evaluated():  # a status with conditions (the refused ones have no lastEvaluated)
                return all(status(ns, n).get("conditions") for ns, n in (
                    ("shop", "checkout-eu"), ("shop", "checkout-home"), ("pay", "pay-eu-all"), ("pay", "pay-eu")))
            wait_until("every SLO evaluated", evaluated, timeout=120)
            wait_until("checkout-eu exhausted", lambda: status("shop", "checkout-eu").get("tier") == "exhausted",
                       timeout=60)
            cp.apply(chart_webhook_config(base, ca_pem))
            time.sleep(1)

            def exact_percent(source, service, st):
                """The budget consumed, in percent, from the generator's counts of the window
                ending at the status' last evaluation (whole minutes: the history's grid)."""
                at = gen_history.parse_time(st["lastEvaluated"]) // 60 * 60
                c = scenarios[source].summary(at - WINDOW, at, [service])[service]
                return 100.0 * c["bad"] / (c["total"] * (1 - TARGET))

        @suite.check("each SLO's budget comes from its own data source (against the generator's counts)")
        def _():
            for ns, name, source, service, want in (("shop", "checkout-eu", "eu", "checkout", 200),
                                                    ("shop", "checkout-home", "home", "checkout", 0),
                                                    ("pay", "pay-eu-all", "eu", "pay", 50)):
                st = status(ns, name)
                got = st["errorBudget"]["consumedPercent"]
                exact = exact_percent(source, service, st)
                log(f"{ns}/{name}: consumed {got}% (exact {exact:.4f}%, hand calculation {want}%), tier {st['tier']}")
                check(abs(got - exact) <= 0.5, f"{name}: {got}% vs exact {exact}%")
                check(abs(exact - want) <= 0.5, f"{name}: exact {exact}% vs hand calculation {want}%")
                check(condition(st, "Ready")["status"] == "True", f"{name}: {condition(st, 'Ready')}")
            check(status("shop", "checkout-eu")["tier"] == "exhausted", "checkout-eu exhausted")
            check(status("shop", "checkout-home")["tier"] == "healthy", "checkout-home healthy")

        @suite.check("a namespace a data source does not serve gets tier unknown, and no query reaches it")
        def _():
            st = status("pay", "pay-eu")
            log(f"pay/pay-eu: {st.get('tier')}: {st.get('message')}")
            check(st["tier"] == "unknown", st)
            check(condition(st, "Ready")["reason"] == "DataSourceNotAllowed", condition(st, "Ready"))
            check('data source "eu" does not serve namespace pay' in st["message"], st["message"])
            check("errorBudget" not in st, f"no figures from another data source: {st.get('errorBudget')}")
            seen = gateway.requests()
            tenants = {t for t, _ in seen}
            log(f"the gateway saw {len(seen)} requests, tenants {tenants}")
            check(seen and tenants == {TENANT}, f"every request carried X-Scope-OrgID {TENANT}: {tenants}")
            check(not any('service="pay"' in q for _, q in seen), "no query for pay's series through eu")
            check(any('service="checkout"' in q for _, q in seen), "checkout's queries went through eu")

        @suite.check("the operator's metrics count each data source's queries")
        def _():
            _, text = http_get(f"http://127.0.0.1:{metrics_port}/metrics")
            text = text if isinstance(text, str) else text.decode()
            counts = {ds: metric_value(text, "budgetgate_prometheus_requests_total", {"kind": "query", "datasource": ds})
                      for ds in ("eu", "eu-all")}
            default = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                       if line.startswith('budgetgate_prometheus_requests_total{') and 'kind="query"' in line
                       and "datasource" not in line]
            default = default[0] if default else None
            log(f"queries: default {default}, {counts}")
            check(all(v and v > 0 for v in counts.values()) and default and default > 0, counts)

        @suite.check("bob is denied the rollout checkout-eu gates and cannot switch it to the default Prometheus")
        def _():
            refused(cp.kubectl_as(BOB, "set", "image", "-n", "shop", "deployment/checkout",
                                  "app=registry.example/checkout:2.0"),
                    "denied the rollout of deployment shop/checkout", "exhausted")
            switched = slo("checkout-eu", "shop", "checkout", None, {"app": "checkout"})
            refused(cp.kubectl_as(BOB, "apply", "-f", "-", stdin=switched), "it changes the indicator")
            other = slo("checkout-eu", "shop", "checkout", "eu-all", {"app": "checkout"})
            refused(cp.kubectl_as(BOB, "apply", "-f", "-", stdin=other), "it changes the indicator")
            check(status("shop", "checkout-eu")["tier"] == "exhausted", "still exhausted")

        @suite.check("an undeclared data source or a URL is never read: tier unknown, or refused")
        def _():
            r = cp.kubectl_as(BOB, "apply", "-f", "-", stdin=slo("checkout-nope", "shop", "checkout", "nope"))
            check(r.returncode == 0, f"an SLO naming an undeclared data source is admitted: {r.stderr}")
            check('data source "nope" is not declared to the controller' in r.stderr and "Warning" in r.stderr,
                  f"with a warning: {r.stderr}")
            st = wait_until("checkout-nope evaluated", lambda: status("shop", "checkout-nope").get("conditions") and
                            status("shop", "checkout-nope"), timeout=60)
            log(f"shop/checkout-nope: {st['tier']}: {st['message']}")
            check(st["tier"] == "unknown" and condition(st, "Ready")["reason"] == "DataSourceUnknown", st)
            check('"nope" is not declared' in st["message"] and "declared: eu, eu-all" in st["message"], st["message"])
            r = cp.kubectl_as(BOB, "apply", "-f", "-", stdin=slo("checkout-pay-ns", "pay", "pay", "eu"))
            check(r.returncode == 0 and 'data source "eu" is not for namespace pay' in r.stderr, r.stderr)
            r = cp.kubectl_as(BOB, "apply", "--dry-run=server", "-f", "-",
                              stdin=slo("checkout-eu-2", "shop", "checkout", "eu"))
            check(r.returncode == 0 and "Warning" not in r.stderr, f"a declared data source: no warning: {r.stderr}")
            st = wait_until("pay/checkout-pay-ns evaluated",
                            lambda: status("pay", "checkout-pay-ns").get("conditions") and status("pay", "checkout-pay-ns"),
                            timeout=60)
            check(condition(st, "Ready")["reason"] == "DataSourceNotAllowed", st)
            # A URL instead of a name: the CRD's schema refuses it before anyone reads it.
            evil = slo("checkout-evil", "shop", "checkout", "eu").replace(
                "metricSourceRef: eu", "metricSourceRef: 'http://203.0.113.7:9090'")
            refused(cp.kubectl_as(BOB, "apply", "-f", "-", stdin=evil), "metricSourceRef")

        @suite.check("budgetgate evaluate --datasources agrees with the controller")
        def _():
            path = os.path.join(work, "checkout-eu.yaml")
            with open(path, "w") as f:
                f.write(slo("checkout-eu", "shop", "checkout", "eu", {"app": "checkout"}))
            r = budgetgate("evaluate", "-f", path, "--prometheus", prometheus["home"].url,
                           "--datasources", datasources, "-o", "json")
            check(r.returncode == 0, f"evaluate ({r.returncode}): {r.stderr}")
            cli = json.loads(r.stdout)[0]["status"]["errorBudget"]["consumedPercent"]
            ctl = status("shop", "checkout-eu")["errorBudget"]["consumedPercent"]
            log(f"evaluate --datasources: {cli}%; controller {ctl}%")
            check(abs(cli - ctl) <= 0.5, f"{cli} vs {ctl}")
            # Without --datasources the CLI reads --prometheus for every SLO (its caller chose it).
            r = budgetgate("evaluate", "-f", path, "--prometheus", prometheus["home"].url, "-o", "json")
            check(json.loads(r.stdout)[0]["status"]["errorBudget"]["consumedPercent"] == 0, r.stdout)
            bad = os.path.join(work, "bad-datasources.yaml")
            with open(bad, "w") as f:
                f.write("apiVersion: openslo/v1\nkind: DataSource\nmetadata: {name: x}\n"
                        "spec: {type: Datadog, connectionDetails: {url: 'http://127.0.0.1:1'}}\n")
            r = budgetgate("evaluate", "-f", path, "--prometheus", prometheus["home"].url, "--datasources", bad)
            check(r.returncode == 2 and "only Prometheus data sources" in r.stderr, f"{r.returncode}: {r.stderr}")

        @suite.check("unauthenticated floods of forged data-source switches do not stop the webhook")
        def _():
            current = cp.get_json("slo", "-n", "shop", "checkout-eu")
            switched = json.loads(json.dumps(current))
            for m in ("good", "total"):
                switched["spec"]["indicator"]["spec"]["ratioMetric"][m]["metricSource"]["metricSourceRef"] = "eu-all"
            forged_slo_update_flood(base, current, switched, "data-source switches")
            refused(cp.kubectl_as(BOB, "set", "image", "-n", "shop", "deployment/checkout",
                                  "app=registry.example/checkout:3.0"), "exhausted")
            check(op.alive(), "the operator is still running")
        suite.finish()


if __name__ == "__main__":
    main()
