#!/usr/bin/env python3
"""End-to-end: budgets that are exact in every case, against counts kept by the history
generator (tests/prometheus/gen_history.py, scenario tests/prometheus/scenarios/exact.yaml).

A real Prometheus serves the generated history; `budgetgate evaluate`, `backtest` and the
recording rules from `budgetgate rules` (backfilled by promtool's rule engine) are each compared
with the exact request counts the generator computed while writing the history: uneven diurnal
traffic with an incident straddling the window's start, a crash loop with six counter resets in
every hour, an error series created mid-window, a service gone quiet, and an instant off the hour.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import (DATA, ROOT, Prometheus, Suite, backfilled_rules, budgetgate, check,  # noqa: E402
                     log, workspace)

sys.path.insert(0, os.path.join(ROOT, "tests", "prometheus"))
import gen_history  # noqa: E402

SCENARIO = os.path.join(ROOT, "tests", "prometheus", "scenarios", "exact.yaml")
SLOS = os.path.join(DATA, "exact")
AT = "2026-02-28T20:35:00Z"  # off the hour
WINDOW = 30 * 86400
TARGET = 0.999
TOLERANCE = 0.05  # budget points, where Prometheus can see every request


def ts(text):
    return gen_history.parse_time(text)


def exact_remaining(scenario, service, at, window=WINDOW, target=TARGET):
    """Remaining budget in percent from the generator's exact counts over [at-window, at] (the
    history begins at the scenario's start: a window reaching before it counts from there)."""
    s = scenario.summary(max(at - window, scenario.start), at, [service])[service]
    return 100.0 * (1.0 - s["bad"] / (s["total"] * (1.0 - target))), s


def evaluate(url, files, at=AT):
    r = budgetgate("evaluate", "-o", "json", "--prometheus", url, "--at", at,
                   *[a for f in files for a in ("-f", os.path.join(SLOS, f))])
    check(r.returncode in (0, 1), f"evaluate failed ({r.returncode}): {r.stderr}")
    return {i["name"]: i["status"] for i in json.loads(r.stdout)}


def main():
    suite = Suite("exact budgets e2e")
    scenario = gen_history.load_scenario(SCENARIO)
    at = ts(AT)
    with workspace("exact") as work:
        with suite.setup():
            prom = Prometheus(work, SCENARIO).start()
            suite.on_exit(prom.stop)
            url = prom.url
            statuses = evaluate(url, ["diurnal.yaml", "crashloop.yaml", "lazy.yaml", "quiet.yaml",
                                      "journey.yaml"])

        @suite.check("off the hour, the window counts from exactly its start (an incident straddles it)")
        def _():
            expected, counts = exact_remaining(scenario, "diurnal", at)
            st = statuses["diurnal-availability"]
            check(st["windowStart"] == "2026-01-29T20:35:00Z", st["windowStart"])
            got = st["errorBudget"]["remainingPercent"] if expected > 0 else 0.0
            raw = 100.0 - st["errorBudget"]["consumedPercent"]
            log(f"diurnal: exact {expected:.4f}% (bad {counts['bad']} of {counts['total']}), "
                f"evaluate {raw:.4f}%")
            check(abs(raw - expected) <= TOLERANCE, f"diurnal remaining {raw} vs exact {expected}")
            check(abs(st["errorBudget"]["consumed"] - counts["bad"]) <= 1,
                  f"bad events {st['errorBudget']['consumed']} vs exact {counts['bad']}")
            check(got >= 0, "clamped")

        @suite.check("a crash loop with six counter resets an hour is counted exactly")
        def _():
            expected, counts = exact_remaining(scenario, "crashloop", at)
            st = statuses["crashloop-availability"]
            raw = 100.0 - st["errorBudget"]["consumedPercent"]
            log(f"crashloop: {counts.get('restarts')} restarts, exact {expected:.4f}%, evaluate {raw:.4f}%")
            check(counts.get("restarts", 0) >= 280, f"restarts in the window: {counts}")
            check(abs(raw - expected) <= TOLERANCE, f"crashloop remaining {raw} vs exact {expected}")
            check(abs(st["errorBudget"]["consumed"] - counts["bad"]) <= 1,
                  f"bad events {st['errorBudget']['consumed']} vs exact {counts['bad']}")

        @suite.check("an error series created mid-window: evaluate misses at most its first sample")
        def _():
            expected, counts = exact_remaining(scenario, "lazy", at)
            st = statuses["lazy-availability"]
            unseen = counts["badUnseen"]
            got = st["errorBudget"]["consumed"]
            log(f"lazy: exact bad {counts['bad']} (series from {counts['badSeriesFrom']}, first sample "
                f"{unseen}), evaluate {got:.1f}: {counts['bad'] - got:.1f} unseen "
                f"({100 * (counts['bad'] - got) / (counts['total'] * (1 - TARGET)):.3f} budget points)")
            check(counts["bad"] - unseen - 1 <= got <= counts["bad"] + 1,
                  f"bad {got} outside [{counts['bad'] - unseen}, {counts['bad']}]")

        @suite.check("a service gone quiet: noData windows, a NoTrafficInSomeWindows condition, burn 0")
        def _():
            st = statuses["quiet-availability"]
            check(st["noDataWindows"] == ["5m", "30m", "1h", "2h"], f"noDataWindows {st['noDataWindows']}")
            for w in st["noDataWindows"]:
                check(st["burnRates"][w] == 0, f"burn {w} = {st['burnRates'][w]}")
            cond = [c for c in st["conditions"] if c["type"] == "DataAvailable"][0]
            check(cond["status"] == "True" and cond["reason"] == "NoTrafficInSomeWindows",
                  f"condition {cond}")
            check("5m, 30m, 1h, 2h" in cond["message"], cond["message"])
            expected, _ = exact_remaining(scenario, "quiet", at)
            raw = 100.0 - st["errorBudget"]["consumedPercent"]
            check(abs(raw - expected) <= TOLERANCE, f"quiet remaining {raw} vs exact {expected}")

        def exact_composite(t):
            """(2 x browse's consumed % + 1 x pay's) / 3 from the exact counts: seed 002's weighted
            composite budget, computed here by hand."""
            browse, _ = exact_remaining(scenario, "diurnal", t)
            pay, _ = exact_remaining(scenario, "crashloop", t)
            return 100.0 - (2 * (100.0 - browse) + (100.0 - pay)) / 3, browse, pay

        @suite.check("a composite SLO: the weighted composite of exact budgets decides; each objective its own")
        def _():
            expected, browse, pay = exact_composite(at)
            st = statuses["journey"]
            check(st["objective"] == "composite" and st["errorBudget"]["unit"] == "percent", st)
            raw = 100.0 - st["errorBudget"]["consumedPercent"]
            log(f"journey: exact browse {browse:.3f}%, pay {pay:.3f}% -> composite {expected:.3f}%; "
                f"evaluate {raw:.3f}% ({st['tier']})")
            check(abs(raw - expected) <= TOLERANCE, f"composite remaining {raw} vs exact {expected}")
            parts = {o["displayName"]: o for o in st["objectives"]}
            check(parts["browse"]["compositeWeight"] == 2 and parts["pay"]["compositeWeight"] == 1, parts)
            check(abs(100 - parts["browse"]["consumedPercent"] - browse) <= TOLERANCE, parts["browse"])
            check(abs(100 - parts["pay"]["consumedPercent"] - pay) <= TOLERANCE, parts["pay"])
            for w in ("1h", "1d"):
                mean = (2 * parts["browse"]["burnRates"].get(w, 0) + parts["pay"]["burnRates"].get(w, 0)) / 3
                check(abs(st["burnRates"][w] - mean) <= 1e-3 + 1e-3 * mean,
                      f"composite burn {w} {st['burnRates'][w]} vs weighted {mean}")
            # The tier is the composite's, not the worst objective's.
            worst = max(parts.values(), key=lambda o: o["consumedPercent"])
            log(f"journey: objectives {[(o['displayName'], o['tier']) for o in parts.values()]}, "
                f"composite tier {st['tier']} (worst objective {worst['displayName']})")

        @suite.check("backtest at every hour of the crash loop's last day agrees with the exact counts")
        def _():
            r = budgetgate("backtest", "-o", "json", "--prometheus", url, "-f",
                           os.path.join(SLOS, "crashloop.yaml"), "-f", os.path.join(SLOS, "diurnal.yaml"),
                           "--from", "2026-02-15T00:00:00Z", "--to", "2026-02-16T00:00:00Z", "--step", "1h")
            check(r.returncode == 0, r.stderr)
            out = json.loads(r.stdout)
            runs = {x["name"]: x for x in (out if isinstance(out, list) else [out])}
            compared = 0
            for name, service in (("crashloop-availability", "crashloop"), ("diurnal-availability", "diurnal")):
                for step in runs[name]["steps"]:
                    t = ts(step["time"])
                    expected, _ = exact_remaining(scenario, service, t)
                    raw = step["remainingPercent"]
                    check(abs(raw - expected) <= TOLERANCE, f"{name} at {step['time']}: {raw} vs exact {expected}")
                    compared += 1
            check(compared == 50, f"compared {compared} steps")

        @suite.check("backfilled rules: every objective its own burn rate and budget, 0 (not NaN) without traffic")
        def _():
            r = budgetgate("rules", "-f", os.path.join(SLOS, "two-objectives.yaml"),
                           "-f", os.path.join(SLOS, "journey.yaml"),
                           "-f", os.path.join(SLOS, "quiet.yaml"), "-f", os.path.join(SLOS, "crashloop.yaml"))
            check(r.returncode == 0, r.stderr)
            with backfilled_rules(work, r.stdout, url, "2026-02-28T20:20:00Z",
                                  "2026-02-28T20:40:00Z") as raw_query:
                def query(q):
                    return {json.dumps(x["metric"], sort_keys=True): float(x["value"][1])
                            for x in raw_query(q, AT)}
                # Several objectives: each divided by its own budget (10x for 99.99 vs 99.9).
                burns = query('budgetgate:slo_burn_rate:1d{slo="diurnal-two-objectives"}')
                by_objective = {json.loads(k)["objective"]: v for k, v in burns.items()}
                check(set(by_objective) == {"three-nines", "four-nines"}, f"objectives {by_objective}")
                check(abs(by_objective["four-nines"] - 10 * by_objective["three-nines"]) <=
                      1e-6 * by_objective["four-nines"], f"burn rates {by_objective}")
                one = evaluate(url, ["diurnal.yaml"])["diurnal-availability"]["burnRates"]["1d"]
                check(abs(by_objective["three-nines"] - one) <= 0.005 * max(one, 1e-9),
                      f"recorded {by_objective['three-nines']} vs evaluate {one}")
                # No traffic: 0, not NaN, in the windows evaluate reports as noData.
                for window in ("5m", "1h", "2h"):
                    v = list(query(f'budgetgate:slo_burn_rate:{window}{{slo="quiet-availability"}}').values())
                    check(v == [0.0], f"quiet burn {window}: {v}")
                # The remaining budget over 30 days with every reset counted.
                rem = list(query('budgetgate:slo_error_budget_remaining:ratio{slo="crashloop-availability"}').values())
                expected, _ = exact_remaining(scenario, "crashloop", at)
                check(len(rem) == 1 and abs(100 * rem[0] - expected) <= TOLERANCE,
                      f"recorded remaining {rem} vs exact {expected}%")
                # The composite's remaining budget: the weighted mean of its objectives'.
                rem = list(query('budgetgate:slo_error_budget_remaining:ratio{slo="journey",'
                                 'objective="composite"}').values())
                expected, _, _ = exact_composite(at)
                check(len(rem) == 1 and abs(100 * rem[0] - expected) <= TOLERANCE,
                      f"recorded composite remaining {rem} vs exact {expected}%")
        suite.finish()


if __name__ == "__main__":
    main()
