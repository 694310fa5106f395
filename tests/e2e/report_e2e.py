#!/usr/bin/env python3
"""End-to-end: `budgetgate report` (issue 17, seed 003's review meeting) against a real
Prometheus serving the basic scenario's history (tests/prometheus/scenarios/basic.yaml).

Four SLOs of the scenario, labelled with teams (finance: ledger and payments; shop-core:
checkout; search without a team label), reported at 2026-01-31T00:00:00Z in Markdown, CSV and
JSON. Checked against numbers this test derives itself from the history generator's exact
request counts and the default policy's documented tiers and decision matrix:

* each SLO's remaining budget (within 0.01 budget points);
* the grouping (teams -> services -> SLOs, "(none)" last) and the team totals (worst remaining);
* the frozen hours per risk: for every hourly step of the period, the tier the default policy
  gives from the exact counts (remaining %, 1h burn confirmed by the 5m burn, the critical hold)
  and whether the matrix then defers or blocks a low, medium or high risk rollout;
* the CSV header and rows (python's csv), the Markdown team table, `--since`, `--team-label`;
* cluster mode (a real kube-apiserver): the SLOs read from it, each with the ErrorBudgetPolicy
  the controller would resolve (a stricter `default` in the SLOs' namespace), and the denials and
  exceptions counted from Events dated inside and outside the period.
"""

import csv
import io
import json
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from harness import (DATA, ROOT, ControlPlane, Prometheus, Suite, budgetgate, check, log,  # noqa: E402
                     workspace)

sys.path.insert(0, os.path.join(ROOT, "tests", "prometheus"))
import gen_history  # noqa: E402

AT = "2026-01-31T00:00:00Z"
HOUR = 3600
WINDOW = 30 * 86400
TARGET = 0.999
TOLERANCE = 0.01  # budget points
TEAMS = {"checkout": "shop-core", "ledger": "finance", "payments": "finance", "search": None}
CSV_HEADER = ["namespace", "name", "team", "service", "target_percent", "window", "tier",
              "remaining_percent", "consumed_percent", "rollout_percent", "adjustment_percent",
              "unattributed_percent", "frozen_hours_low", "frozen_hours_medium",
              "frozen_hours_high", "denials", "exceptions_used", "note"]


def write_slos(work, label="team"):
    """The scenario's SLO manifests with a team label (none for search)."""
    paths = []
    for service, team in TEAMS.items():
        with open(os.path.join(DATA, "slos", f"{service}.yaml")) as f:
            doc = yaml.safe_load(f)
        if team:
            doc["metadata"]["labels"] = {label: team}
        path = os.path.join(work, f"{service}-{label}.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(doc, f)
        paths.append(path)
    return paths


class Exact:
    """Budget figures from the generator's exact counts."""

    def __init__(self, scenario):
        self.s = scenario

    def counts(self, service, t1, t2):
        return self.s.summary(max(t1, self.s.start), t2, [service])[service]

    def remaining(self, service, t):
        c = self.counts(service, t - WINDOW, t)
        return 100.0 * (1.0 - c["bad"] / (c["total"] * (1.0 - TARGET)))

    def burn(self, service, t, seconds):
        c = self.counts(service, t - seconds, t)
        return 0.0 if not c or c["total"] == 0 else c["bad"] / c["total"] / (1.0 - TARGET)

    def frozen_hours(self, service, start, end, healthy_low_frozen=False):
        """Hours (hourly steps in (start, end]) in which the default policy defers or blocks a
        rollout of each risk. Tiers (README, ErrorBudgetPolicy reference): exhausted at <= 0 %
        remaining; critical at <= 10 % or a 1h burn >= 5 confirmed by the 5m burn; warning at
        <= 25 % or >= 2; attention at <= 50 % or >= 1.5. Once critical or exhausted the tier
        holds until the budget is 10 points above its low (never within these scenarios'
        periods). Frozen (defer/block) per the default matrix: low from critical, medium from
        warning, high from attention. Exhaustion projections are not modelled: the scenarios
        chosen burn at 0 or far below 1x outside their incidents."""
        frozen = [0, 0, 0]
        held = False
        t = start + HOUR
        while t <= end:
            rem = self.remaining(service, t)
            burn = min(self.burn(service, t, HOUR), self.burn(service, t, 300))
            if rem <= 0 or rem <= 10 or burn >= 5:
                held = True
            if held:
                level = 3  # critical or exhausted
            elif rem <= 25 or burn >= 2:
                level = 2  # warning
            elif rem <= 50 or burn >= 1.5:
                level = 1  # attention
            else:
                level = 0
            for risk, from_level in enumerate((3, 2, 1)):
                if level >= from_level or (risk == 0 and level == 0 and healthy_low_frozen):
                    frozen[risk] += 1
            t += HOUR
        return frozen


STRICT_POLICY = """apiVersion: slo.budgetgate.dev/v1alpha1
kind: ErrorBudgetPolicy
metadata: {name: default, namespace: shop}
spec:
  decisions:
    healthy: {low: defer, medium: approve, high: review}
"""


def event(name, reason, kind, obj, when, count=1):
    api = "slo.budgetgate.dev/v1alpha1" if kind == "ServiceLevelObjective" else "apps/v1"
    return f"""apiVersion: v1
kind: Event
metadata: {{name: {name}, namespace: shop}}
involvedObject: {{apiVersion: {api}, kind: {kind}, namespace: shop, name: {obj}}}
reason: {reason}
message: written by report_e2e
type: Normal
source: {{component: budgetgate-webhook}}
firstTimestamp: "{when}"
lastTimestamp: "{when}"
count: {count}
"""


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: checkout, namespace: shop}
spec:
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec: {containers: [{name: c, image: registry.example/checkout:1}]}
"""


def report(url, files, *args, fmt="json"):
    r = budgetgate("report", "--prometheus", url, "--at", AT, "-o", fmt,
                   *[a for f in files for a in ("-f", f)], *args, timeout=120)
    check(r.returncode == 0, f"report -o {fmt} exit {r.returncode}: {r.stderr[-2000:]}")
    return r.stdout


def slos_of(rep):
    return {s["name"]: s for t in rep["teams"] for sv in t["services"] for s in sv["slos"]}


def main():
    suite = Suite("report e2e")
    scenario = gen_history.load_scenario(os.path.join(ROOT, "tests", "prometheus", "scenarios",
                                                      "basic.yaml"))
    exact = Exact(scenario)
    at = gen_history.parse_time(AT)
    with workspace("report") as work:
        with suite.setup():
            prom = Prometheus(work, "basic.yaml").start()
            suite.on_exit(prom.stop)
            files = write_slos(work)
            rep = json.loads(report(prom.url, files))
            slos = slos_of(rep)

        @suite.check("remaining budget of every SLO equals the exact-count calculation")
        def _():
            for service in TEAMS:
                got = slos[f"{service}-availability"]["remainingPercent"]
                expected = exact.remaining(service, at)
                log(f"{service}: report {got:.4f}%, exact {expected:.4f}%")
                check(abs(got - expected) <= TOLERANCE, f"{service}: {got} vs exact {expected}")
                consumed = slos[f"{service}-availability"]["consumedPercent"]
                check(abs(got + consumed - 100) <= 1e-6, f"{service}: {got} + {consumed}")

        @suite.check("JSON groups teams -> services -> SLOs with totals; (none) last; counts null")
        def _():
            check([t["team"] for t in rep["teams"]] == ["finance", "shop-core", "(none)"],
                  [t["team"] for t in rep["teams"]])
            finance = rep["teams"][0]
            check([s["service"] for s in finance["services"]] == ["ledger", "payments"],
                  finance["services"])
            check(finance["totals"]["slos"] == 2, finance["totals"])
            worst = min(exact.remaining("ledger", at), exact.remaining("payments", at))
            check(abs(finance["totals"]["minRemainingPercent"] - worst) <= TOLERANCE,
                  f"finance worst {finance['totals']['minRemainingPercent']} vs {worst}")
            check(finance["totals"]["tiers"] == {"exhausted": 1, "healthy": 1},
                  finance["totals"]["tiers"])
            check(rep["teams"][2]["services"][0]["slos"][0]["name"] == "search-availability",
                  rep["teams"][2])
            check(rep["period"] == "30d window ending " + AT, rep["period"])
            check(rep["countsFromCluster"] is False, rep)
            for s in slos.values():
                check(s["denials"] is None and s["exceptionsUsed"] is None, s)
            # No rollouts without a cluster: the consumption is unattributed.
            ledger = slos["ledger-availability"]["consumptionByCause"]
            check(ledger["rolloutPercent"] == 0 and ledger["adjustmentPercent"] == 0, ledger)
            check(abs(ledger["unattributedPercent"] - slos["ledger-availability"]["consumedPercent"])
                  <= TOLERANCE, ledger)

        @suite.check("frozen hours per risk match the tiers derived from the exact counts")
        def _():
            # payments leaves its critical hold by maxHold mid-period, which this derivation does
            # not model (it is compared with `backtest` below).
            for service in ("ledger", "checkout", "search"):
                got = slos[f"{service}-availability"]["frozenHoursByRisk"]
                got = [got["low"], got["medium"], got["high"]]
                expected = exact.frozen_hours(service, at - WINDOW, at)
                log(f"{service}: frozen low/medium/high {got}, derived {expected}")
                check(got == expected, f"{service}: {got} vs derived {expected}")
            # The ledger exhausted its budget in the incident of 2026-01-28 09:00-11:00: from the
            # 10:00 step (1h burn 500x) to the end, 14 + 48 + 1 hours, for every risk.
            check(slos["ledger-availability"]["frozenHoursByRisk"] ==
                  {"low": 63, "medium": 63, "high": 63}, slos["ledger-availability"])
            for s in slos.values():
                f = s["frozenHoursByRisk"]
                check(f["high"] >= f["medium"] >= f["low"], f"{s['name']}: {f}")
            # payments (its outage of 2025-12-29 ages out of the window on 2026-01-28): the same
            # hours as `backtest` over the period's hourly steps gives.
            r = budgetgate("backtest", "-o", "json", "--prometheus", prom.url, "-f", files[2],
                           "--from", "2026-01-01T01:00:00Z", "--to", AT, "--step", "1h")
            check(r.returncode == 0, r.stderr[-1000:])
            bt = json.loads(r.stdout)
            bt = (bt if isinstance(bt, list) else [bt])[0]["summary"]
            check(bt["steps"] == 720, bt["steps"])
            check(slos["payments-availability"]["frozenHoursByRisk"] == bt["frozenHoursByRisk"],
                  f"{slos['payments-availability']['frozenHoursByRisk']} vs backtest "
                  f"{bt['frozenHoursByRisk']}")
            # A team's frozen hours: the most of any of its SLOs, risk by risk.
            finance = rep["teams"][0]["totals"]["maxFrozenHoursByRisk"]
            ledger = slos["ledger-availability"]["frozenHoursByRisk"]
            payments = slos["payments-availability"]["frozenHoursByRisk"]
            check(finance == {k: max(ledger[k], payments[k]) for k in ledger}, finance)

        @suite.check("CSV: python's csv reads the header and one row per SLO, same figures")
        def _():
            text = report(prom.url, files, fmt="csv")
            rows = list(csv.reader(io.StringIO(text)))
            check(rows[0] == CSV_HEADER, rows[0])
            check(len(rows) == 5, f"{len(rows)} rows")
            by_name = {r[1]: dict(zip(CSV_HEADER, r)) for r in rows[1:]}
            for service, team in TEAMS.items():
                r = by_name[f"{service}-availability"]
                check(r["team"] == (team or "(none)") and r["service"] == service, r)
                check(abs(float(r["remaining_percent"]) - exact.remaining(service, at)) <= TOLERANCE, r)
                j = slos[f"{service}-availability"]
                check(float(r["frozen_hours_high"]) == j["frozenHoursByRisk"]["high"], r)
                check(r["denials"] == "" and r["exceptions_used"] == "", r)

        @suite.check("Markdown: title with the period, the team table, the SLO table")
        def _():
            path = os.path.join(work, "report.md")
            r = budgetgate("report", "--prometheus", prom.url, "--at", AT, "--output-file", path,
                           *[a for f in files for a in ("-f", f)], timeout=120)
            check(r.returncode == 0 and r.stdout == "", r.stderr[-2000:])
            with open(path) as f:
                md = f.read()
            check(md.startswith("# Error budget review: 30d window ending " + AT), md[:200])
            check("## Teams\n\n| Team | SLOs | Worst remaining |" in md, md[:1500])
            worst = min(exact.remaining("ledger", at), exact.remaining("payments", at))
            f = rep["teams"][0]["totals"]["maxFrozenHoursByRisk"]
            line = (f"| finance | 2 | {worst:.2f}% | healthy 1, exhausted 1 | "
                    f"{f['low']:g} / {f['medium']:g} / {f['high']:g} | - | - |")
            check(line in md, f"{line!r} not in\n{md[:2000]}")
            check("| shop-core | checkout | shop/checkout-availability | 99.9% | 30d |" in md, md)
            check("unknown (-) without a cluster" in md, md[:1000])

        @suite.check("--since 2d: frozen hours over the last 48 hours only; --team-label")
        def _():
            other = write_slos(work, label="squad")
            rep2 = json.loads(report(prom.url, other, "--since", "2d", "--team-label", "squad"))
            check(rep2["period"] == "2d ending " + AT, rep2["period"])
            check([t["team"] for t in rep2["teams"]] == ["finance", "shop-core", "(none)"], rep2)
            s2 = slos_of(rep2)
            for service in ("ledger", "checkout"):
                got = s2[f"{service}-availability"]["frozenHoursByRisk"]
                expected = exact.frozen_hours(service, at - 2 * 86400, at)
                check([got["low"], got["medium"], got["high"]] == expected,
                      f"{service}: {got} vs derived {expected}")
            check(s2["ledger-availability"]["frozenHoursByRisk"]["low"] == 48, s2)
            # The budget is the window's whatever the period.
            check(abs(s2["checkout-availability"]["remainingPercent"] -
                      slos["checkout-availability"]["remainingPercent"]) <= 1e-9, s2)
            # The default label finds no team in these files.
            rep3 = json.loads(report(prom.url, other, "--since", "2d"))
            check([t["team"] for t in rep3["teams"]] == ["(none)"], rep3["teams"])

        @suite.check("an SLO without data: exit 3, the report printed, its figures unknown (not 0)")
        def _():
            r = budgetgate("report", "--prometheus", prom.url, "--at", AT, "-o", "json", "-f",
                           os.path.join(DATA, "slos", "missing.yaml"), "-f", files[0], timeout=120)
            check(r.returncode == 3, f"exit {r.returncode}: {r.stderr[-1000:]}")
            s = slos_of(json.loads(r.stdout))
            missing = s["missing-availability"]
            check(missing["tier"] == "unknown" and missing["remainingPercent"] is None, missing)
            check(missing["frozenHoursByRisk"] is None and "no data" in missing["note"], missing)
            check(s["checkout-availability"]["frozenHoursByRisk"] ==
                  slos["checkout-availability"]["frozenHoursByRisk"], s)

        @suite.check("cluster: SLOs and their resolved policy from the API server, Events counted")
        def _():
            cp = ControlPlane(work).start()
            suite.on_exit(cp.stop)
            cp.install_crds()
            for ns in ("shop", "budgetgate"):
                cp.kubectl("create", "namespace", ns)
            for f in files:
                cp.kubectl("apply", "-f", f)
            cp.apply(STRICT_POLICY)
            cp.apply(DEPLOYMENT)
            events = [
                event("d1", "RolloutDenied", "ServiceLevelObjective", "ledger-availability",
                      "2026-01-30T12:00:00Z"),
                event("d2", "RolloutDenied", "ServiceLevelObjective", "ledger-availability",
                      "2026-01-30T13:00:00Z", count=3),
                event("d-old", "RolloutDenied", "ServiceLevelObjective", "ledger-availability",
                      "2025-12-01T00:00:00Z"),  # before the period
                event("w1", "BudgetGateDenied", "Deployment", "checkout", "2026-01-30T12:00:00Z"),
                event("a1", "RolloutApprovalUsed", "Deployment", "checkout", "2026-01-30T10:00:00Z"),
                event("x1", "BudgetExceptionUsed", "Deployment", "checkout", "2026-01-29T10:00:00Z",
                      count=2),
                event("x2", "BudgetExceptionUsed", "Deployment", "ghost", "2026-01-29T10:00:00Z"),
            ]
            cp.apply("---\n".join(events))
            r = budgetgate("report", "--kubeconfig", cp.kubeconfig, "-A", "--prometheus", prom.url,
                           "--at", AT, "-o", "json", timeout=120)
            check(r.returncode == 0, f"exit {r.returncode}: {r.stderr[-2000:]}")
            rep4 = json.loads(r.stdout)
            s4 = slos_of(rep4)
            check(sorted(s4) == sorted(slos), sorted(s4))
            check(rep4["countsFromCluster"] is True, rep4)
            check([t["team"] for t in rep4["teams"]] == ["finance", "shop-core", "(none)"], rep4)
            for service in TEAMS:
                got = s4[f"{service}-availability"]
                check(abs(got["remainingPercent"] - exact.remaining(service, at)) <= TOLERANCE, got)
                # shop/default shadows the built-in default: healthy hours freeze low risk too.
                f = got["frozenHoursByRisk"]
                if service != "payments":
                    expected = exact.frozen_hours(service, at - WINDOW, at, healthy_low_frozen=True)
                    check([f["low"], f["medium"], f["high"]] == expected,
                          f"{service}: {f} vs derived {expected}")
            # payments: its healthy hours (not frozen for high risk) now freeze low risk too.
            files_mode = slos["payments-availability"]["frozenHoursByRisk"]
            check(s4["payments-availability"]["frozenHoursByRisk"]["low"] ==
                  files_mode["low"] + 720 - files_mode["high"], (s4["payments-availability"], files_mode))
            denials = {n: s["denials"] for n, s in s4.items()}
            used = {n: s["exceptionsUsed"] for n, s in s4.items()}
            log(f"denials {denials}, exceptions used {used}")
            check(denials == {"ledger-availability": 4, "payments-availability": 0,
                              "checkout-availability": 0, "search-availability": 0}, denials)
            check(used == {"ledger-availability": 0, "payments-availability": 0,
                           "checkout-availability": 3, "search-availability": 0}, used)
            check(rep4["teams"][0]["totals"]["denials"] == 4, rep4["teams"][0]["totals"])
            check("ghost" in r.stderr and "not attributed" in r.stderr, r.stderr[-2000:])
            # --since 1d: the exceptions of 2026-01-29 fall outside.
            r = budgetgate("report", "--kubeconfig", cp.kubeconfig, "-n", "shop", "--prometheus",
                           prom.url, "--at", AT, "--since", "1d", "-o", "csv", timeout=120)
            check(r.returncode == 0, r.stderr[-2000:])
            rows = {x["name"]: x for x in csv.DictReader(io.StringIO(r.stdout))}
            check(rows["checkout-availability"]["exceptions_used"] == "1", rows["checkout-availability"])
            check(rows["ledger-availability"]["denials"] == "4", rows["ledger-availability"])
            r = budgetgate("report", "--kubeconfig", cp.kubeconfig, "-n", "empty", "--prometheus",
                           prom.url, "--at", AT, timeout=60)
            check(r.returncode == 2 and "no ServiceLevelObjectives in namespace empty" in r.stderr,
                  f"{r.returncode}: {r.stderr[-500:]}")
        suite.finish()


if __name__ == "__main__":
    main()
