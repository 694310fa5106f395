#!/usr/bin/env python3
"""End-to-end: every query of the Grafana dashboard against a real Prometheus scraping budgetgate.

Setup: live Prometheus history (checkout healthy, ledger's budget exhausted by an incident two
days ago, payments burning 20x since an hour ago), a real control plane, `budgetgate operator`
with its webhook and the chart's webhook configuration; the same Prometheus then scrapes the
operator's /metrics every 5 s and evaluates the rules of `budgetgate rules` for the SLOs. A
rollout of ledger is denied twice and one of checkout admitted, so decision series exist.

Checks: dashboards/budgetgate.json is a Grafana dashboard model whose panels all read the
`${datasource}` variable; every panel target and template-variable query (Grafana's variables
replaced as Grafana would with "All": `$namespace` -> `.*`, `$__rate_interval` -> 1m, `$__range`
-> 10m) parses with promtool and returns at least one series from the real Prometheus. A failure
names the panel, its refId and the expression.
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ROOT, ControlPlane, Prometheus, Suite, budgetgate, chart_webhook_config,  # noqa: E402
                     check, live_scenario, log, operator_with_webhook, ratio_slo, run, wait_until,
                     workspace)

DASHBOARD = os.path.join(ROOT, "dashboards", "budgetgate.json")

SERVICES = [
    {"name": "checkout", "rps": 50, "baseErrorRatio": 0},
    # 36000 bad requests two days ago against a budget of ~3500: exhausted.
    {"name": "ledger", "rps": 10, "baseErrorRatio": 0.0002,
     "incidents": [{"startIn": -2 * 86400, "duration": "2h", "errorRatio": 0.5}]},
    # 2 % errors for the last hour and the next five: burn rate 20 over 1h and 5m (page-1h
    # fires), the budget falls by ~0.006 points a second (time to exhaustion: hours).
    {"name": "payments", "rps": 20, "baseErrorRatio": 0.0001,
     "incidents": [{"startIn": -3600, "duration": "6h", "errorRatio": 0.02}]},
]

# What Grafana substitutes before sending a query (variables at "All", whose allValue is .*).
SUBSTITUTIONS = {"namespace": ".*", "team": ".*", "service": ".*", "slo": ".*",
                 "__rate_interval": "1m", "__interval": "15s", "__range": "10m"}


def deployment(name, ns, image):
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}, labels: {{app: {name}}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: app, image: "{image}"}}]}}
"""


def substitute(expr):
    """expr as Grafana sends it: $var, ${var} and [[var]] replaced; fails on unknown variables."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        check(name in SUBSTITUTIONS, f"unknown dashboard variable ${name} in {expr}")
        return SUBSTITUTIONS[name]
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$([A-Za-z_]\w*)|\[\[(\w+)\]\]", repl, expr)


def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))


def panel_queries(dashboard):
    """[(label, expr)] for every target of every panel (rows' nested panels included)."""
    out = []
    for p in walk(dashboard["panels"]):
        for t in p.get("targets", []):
            if t.get("expr"):
                out.append((f"panel {p['id']} '{p['title']}' target {t['refId']}", substitute(t["expr"])))
    return out


def variable_selectors(dashboard):
    """[(label, selector)]: the series selector inside each label_values(...) variable query."""
    out = []
    for v in dashboard["templating"]["list"]:
        if v["type"] != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\)\s*", q)
        check(m, f"variable {v['name']}: not label_values(selector, label): {q}")
        out.append((f"variable ${v['name']} ({m.group(2)})", substitute(m.group(1))))
    return out


def main():
    suite = Suite("dashboard e2e")
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    with workspace("dashboard") as work:
        with suite.setup():
            def write_scenario():
                live_scenario(work, SERVICES, history_days=4)
            prom = Prometheus(work, os.path.join(work, "live-scenario.yaml"), private_cache=True)
            prom.start(write_scenario)
            suite.on_exit(prom.stop)
            cp = ControlPlane(work).start()
            suite.on_exit(cp.stop)
            cp.install_crds()
            for ns in ("shop", "payments", "budgetgate"):
                cp.kubectl("create", "namespace", ns)
            slos = "---\n".join([
                ratio_slo("checkout-availability", "shop", "checkout", {"app": "checkout"}),
                ratio_slo("ledger-availability", "shop", "ledger", {"app": "ledger"}),
                ratio_slo("payments-availability", "payments", "payments", {"app": "payments"})])
            cp.apply(slos)
            for name, ns in (("checkout", "shop"), ("ledger", "shop"), ("payments", "payments")):
                cp.apply(deployment(name, ns, f"registry.example/{name}:1.0"))

            # The rules of `budgetgate rules` for these SLOs, checked by promtool.
            slo_file = os.path.join(work, "slos.yaml")
            with open(slo_file, "w") as f:
                f.write(slos)
            r = budgetgate("rules", "-f", slo_file)
            check(r.returncode == 0, f"budgetgate rules: {r.stderr}")
            rules = os.path.join(work, "budgetgate-rules.yaml")
            with open(rules, "w") as f:
                f.write(r.stdout)
            run(["promtool", "check", "rules", rules])

            op, base, ca_pem, metrics_port = operator_with_webhook(suite, cp, prom, work)
            prom.configure(scrape_configs=[{
                "job_name": "budgetgate", "scrape_interval": "5s", "scrape_timeout": "4s",
                "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}],
                rule_files=[rules], interval="5s")
            scraping_since = time.time()

            def tiers():
                return {f"{i['metadata']['namespace']}/{i['metadata']['name']}": i.get("status", {}).get("tier")
                        for i in cp.get_json("slo", "-A")["items"]}
            wait_until("SLO statuses", lambda: tiers().get("shop/ledger-availability") == "exhausted"
                       and all(t not in (None, "unknown") for t in tiers().values()), timeout=90)
            log(f"tiers: {tiers()}")
            cp.apply(chart_webhook_config(base, ca_pem))

        @suite.check("dashboards/budgetgate.json is a Grafana dashboard on a ${datasource} variable")
        def _():
            check(dashboard["uid"] == "budgetgate", "uid")
            check(38 <= dashboard["schemaVersion"] <= 41, f"schemaVersion {dashboard['schemaVersion']}")
            variables = {v["name"]: v for v in dashboard["templating"]["list"]}
            check(variables["datasource"]["type"] == "datasource"
                  and variables["datasource"]["query"] == "prometheus", "datasource variable")
            for name in ("namespace", "team", "service"):
                v = variables.get(name)
                check(v and v["multi"] and v["includeAll"] and v["allValue"] == ".*",
                      f"variable {name}: multi-value, All = .*")
            ids = [p["id"] for p in walk(dashboard["panels"])]
            check(len(ids) == len(set(ids)), f"panel ids repeat: {ids}")
            for p in walk(dashboard["panels"]):
                if p["type"] == "row":
                    continue
                check(p["datasource"] == {"type": "prometheus", "uid": "${datasource}"},
                      f"panel '{p['title']}' datasource {p['datasource']}")
                check(p["targets"] and all(t["datasource"]["uid"] == "${datasource}" for t in p["targets"]),
                      f"panel '{p['title']}' targets")
            titles = " | ".join(p["title"] for p in walk(dashboard["panels"]))
            for needle in ("Remaining error budget", "Burn rate", "Time to exhaustion", "Tier",
                           "alerts firing", "Gate decisions by namespace", "Denials by namespace",
                           "Latency"):
                check(needle in titles, f"no panel '{needle}' in {titles}")
            log(f"{len(ids)} panels, {len(panel_queries(dashboard))} queries, "
                f"{len(variable_selectors(dashboard))} variable queries")

        @suite.check("every panel and variable query parses with promtool")
        def _():
            import yaml
            groups = []
            for i, (label, expr) in enumerate(panel_queries(dashboard) + variable_selectors(dashboard)):
                groups.append({"name": label, "rules": [{"record": f"dashboard:query_{i}:check", "expr": expr}]})
            path = os.path.join(work, "dashboard-queries.yaml")
            with open(path, "w") as f:
                yaml.safe_dump({"groups": groups}, f, sort_keys=False)
            r = run(["promtool", "check", "rules", path], check_rc=False)
            check(r.returncode == 0, f"promtool check rules: {r.stdout}{r.stderr}")
            log(f"promtool: {len(groups)} expressions parse")

        @suite.check("rollouts are denied and admitted through the chart's webhook configuration")
        def _():
            tag = iter(range(2, 100))

            def denied():
                r = cp.kubectl("set", "image", "-n", "shop", "deployment/ledger",
                               f"app=registry.example/ledger:{next(tag)}.0", check_rc=False)
                return r.returncode != 0 and "denied the request" in r.stderr
            wait_until("a rollout of ledger denied", denied, timeout=60, interval=1)
            time.sleep(6)  # another scrape: the counter's increase shows the next denial
            check(denied(), "the second rollout of ledger is denied too")
            r = cp.kubectl("set", "image", "-n", "shop", "deployment/checkout",
                           "app=registry.example/checkout:1.1", check_rc=False)
            check(r.returncode == 0, f"checkout is healthy, its rollout admitted: {r.stderr}")

        @suite.check("every panel and variable query returns series from Prometheus scraping budgetgate")
        def _():
            queries = panel_queries(dashboard) + variable_selectors(dashboard)
            failing = {}

            def all_return_series():
                failing.clear()
                for label, expr in queries:
                    try:
                        result = prom.query(expr)
                    except Exception as e:  # pylint: disable=broad-except
                        failing[label] = f"error {e}: {expr}"
                        continue
                    if not result:
                        failing[label] = f"no series: {expr}"
                if failing:
                    log(f"  {len(failing)} queries without series yet: "
                        + ", ".join(k.split(" target ")[0] for k in failing))
                return not failing
            try:
                wait_until("every dashboard query to return series", all_return_series,
                           timeout=120, interval=5)
            except AssertionError:
                for label, why in failing.items():
                    log(f"  FAILING {label}: {why}")
                raise AssertionError(f"{len(failing)} of {len(queries)} dashboard queries fail: "
                                     + "; ".join(f"{k}: {v}" for k, v in failing.items()))
            log(f"all {len(queries)} queries return series ({time.time() - scraping_since:.0f} s "
                "after the scrapes began):")
            for label, expr in queries:
                result = prom.query(expr)
                sample = ", ".join(f"{json.dumps(s['metric'], sort_keys=True)}={s['value'][1]}"
                                   for s in result[:2])
                log(f"  {label}: {len(result)} series, e.g. {sample[:220]}")

        @suite.check("the queries' figures: payments burns and runs out, ledger is exhausted and denied")
        def _():
            sel = 'namespace="payments", slo="payments-availability"'
            remaining = prom.query(f"budgetgate_slo_error_budget_remaining_percent{{{sel}}}")
            check(remaining and 0 < float(remaining[0]["value"][1]) < 100, f"payments remaining {remaining}")
            # The slope over the little scraped so far is noisy (the history's counters move once a
            # minute; the controller's increase() extrapolates between): hours, not 3.
            tte = wait_until("a time to exhaustion for payments", lambda: prom.query(
                f"budgetgate_slo_error_budget_remaining_percent{{{sel}}} / "
                f"(-deriv(budgetgate_slo_error_budget_remaining_percent{{{sel}}}[1h]) > 0)"), timeout=60, interval=2)
            hours = float(tte[0]["value"][1]) / 3600
            log(f"payments: {float(remaining[0]['value'][1]):.2f} % left, exhausted in {hours:.1f} h")
            check(0.02 < hours < 100, f"payments' time to exhaustion {hours:.1f} h")
            firing = prom.query('budgetgate_slo_alert_firing{alert="page-1h", slo="payments-availability"} == 1')
            check(firing, "the controller's page-1h alert fires for payments")
            alerts = prom.query('ALERTS{alertname="BudgetgateErrorBudgetBurn", budgetgate_alert="page-1h", '
                                'alertstate="firing", slo="payments-availability"}')
            check(alerts, "Prometheus fires BudgetgateErrorBudgetBurn page-1h from budgetgate rules")
            denials = prom.query('sum(budgetgate_webhook_decisions_total{outcome="denied"})')
            check(denials and float(denials[0]["value"][1]) >= 2, f"two denials scraped: {denials}")
            tier = prom.query('budgetgate_slo_tier{slo="ledger-availability", tier="exhausted"} == 1')
            check(tier, "ledger's tier is exhausted in Prometheus")

        suite.finish()


if __name__ == "__main__":
    main()
