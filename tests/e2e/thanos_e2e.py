#!/usr/bin/env python3
"""End-to-end: budgetgate against Thanos Query, compared with Prometheus on the same history.

Real parts: Prometheus serving tests/prometheus/scenarios/basic.yaml (with the external label a
Thanos sidecar requires), a Thanos sidecar in front of it and a Thanos Query in front of the
sidecar (Thanos v0.41.0 built from its Go module by tests/scripts/setup-thanos.sh), the
`budgetgate evaluate` binary.

Checked: at the history's end, inside checkout's outage and off the sample grid, every SLO of
tests/e2e/data/slos has the same status through Thanos Query as from Prometheus directly (tier,
budget, burn rates, alerts, conditions, message: Thanos Query runs Prometheus' engine over the
same samples); the 30-day bad events equal the history generator's exact counts; with the sidecar
gone Thanos answers with no data (and a warning), which budgetgate reports as unknown, exit 3,
never as a healthy budget.
"""

import json
import os
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ROOT, SCRIPTS, Background, Prometheus, Suite, check, free_port,  # noqa: E402
                     log, run, wait_until, workspace)
from victoriametrics_e2e import (DURING_OUTAGE, END, FILES, OFF_GRID, RATIO_SLOS, SCENARIO,  # noqa: E402
                                 TARGET, WINDOWS, burn_close, evaluate, exact_burn, same_status)

sys.path.insert(0, os.path.join(ROOT, "tests", "prometheus"))
import gen_history  # noqa: E402


class Thanos:
    """A Thanos sidecar next to `prom` and a Thanos Query reading from it, on loopback."""

    def __init__(self, binary, workdir, prom):
        self.binary, self.dir, self.prom = binary, os.path.join(workdir, "thanos"), prom
        self.sidecar = self.query = None
        self.url = None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        grpc, http = free_port(), free_port()
        self.sidecar_grpc = f"127.0.0.1:{grpc}"
        self.sidecar = Background("thanos-sidecar", [
            self.binary, "sidecar", "--prometheus.url", self.prom.url,
            "--tsdb.path", os.path.join(self.dir, "sidecar-tsdb"),
            "--grpc-address", self.sidecar_grpc, "--http-address", f"127.0.0.1:{http}",
            "--log.level", "warn"], self.dir).start()
        qport, qgrpc = free_port(), free_port()
        self.url = f"http://127.0.0.1:{qport}"
        self.query = Background("thanos-query", [
            self.binary, "query", "--http-address", f"127.0.0.1:{qport}",
            "--grpc-address", f"127.0.0.1:{qgrpc}", "--endpoint", self.sidecar_grpc,
            "--query.replica-label", "replica", "--log.level", "warn"], self.dir).start()
        wait_until("Thanos Query to see the sidecar's data", self.ready, timeout=90, interval=1)
        return self

    def ready(self):
        try:
            rows = self.instant('count(http_requests_total{service="checkout"})', END)
        except OSError:
            return False
        return bool(rows)

    def instant(self, expr, at):
        data = urllib.parse.urlencode({"query": expr, "time": at}).encode()
        with urllib.request.urlopen(self.url + "/api/v1/query", data, timeout=60) as r:
            answer = json.loads(r.read())
        check(answer.get("status") == "success", f"{expr}: {answer}")
        return answer["data"]["result"]

    def stop_sidecar(self):
        if self.sidecar:
            self.sidecar.stop()

    def stop(self):
        for p in (self.query, self.sidecar):
            if p:
                p.stop()


def main():
    suite = Suite("thanos e2e")
    scenario = gen_history.load_scenario(SCENARIO)
    with workspace("thanos") as work:
        with suite.setup():
            binary = run([os.path.join(SCRIPTS, "setup-thanos.sh")], timeout=1200).stdout.strip()
            version = run([binary, "--version"])
            log(f"thanos: {binary} ({(version.stdout + version.stderr).strip().splitlines()[0]})")
            prom = Prometheus(work).start()
            suite.on_exit(prom.stop)
            # The sidecar refuses a Prometheus without external labels (they name its data in a
            # Thanos fleet); Thanos Query drops the replica label again (--query.replica-label).
            prom.configure(external_labels={"replica": "a"})
            thanos = Thanos(binary, work, prom).start()
            suite.on_exit(thanos.stop)
            measured = {at: (evaluate(prom.url, at=at), evaluate(thanos.url, at=at))
                        for at in (END, DURING_OUTAGE, OFF_GRID)}

        @suite.check("every SLO has the same budget, tier and conditions through Thanos Query as from Prometheus")
        def _():
            for at, ((rp, sp), (rt, st)) in measured.items():
                check(rp.returncode == rt.returncode == 3,
                      f"at {at}: exit {rp.returncode} (Prometheus), {rt.returncode} (Thanos): 3 for the missing/NaN SLOs")
                check(set(sp) == set(st) and len(st) == len(FILES), f"at {at}: {sorted(sp)} vs {sorted(st)}")
                for name in sorted(sp):
                    # Burn rates are compared with the generator below (the engines' windows
                    # differ by one sample); the message quotes the 1h burn rate.
                    p, t = (dict(x) for x in (sp[name], st[name]))
                    for x in (p, t):
                        x.pop("burnRates", None)
                        x.pop("alerts", None)
                    same_status(f"{name} at {at}", p, t, skip_message=True)
                log(f"at {at}: {len(st)} SLOs with identical budgets; " + ", ".join(
                    f"{n} {st[n]['tier']}" for n in sorted(st) if n in RATIO_SLOS))

        @suite.check("burn rates through Thanos are the generator's exact ratios over Prometheus 3's windows")
        def _():
            # Thanos v0.41 runs Prometheus 3's engine: a range [w] holds the samples in (t-w, t]
            # (left-open), Prometheus 2.42 here those in [t-w, t]. On the sample grid that is one
            # sample fewer, so Thanos' ratio is exactly the generator's over (t-w+60 s, t] and
            # Prometheus' over (t-w, t] (where no counter starts from 0 in the window: at the
            # history's end); off the grid both windows hold the same samples.
            largest = {}
            (_, sp), (_, st) = measured[DURING_OUTAGE]
            for slo in RATIO_SLOS:
                for window, length in WINDOWS.items():
                    got, prom_got = st[slo]["burnRates"].get(window), sp[slo]["burnRates"].get(window)
                    if got is not None and prom_got:
                        # A counter that starts at 0 in the window (checkout's errors before the
                        # outage) is not extrapolated below zero: within one sample of the window.
                        check(abs(got - prom_got) <= 60 / (length - 60) * prom_got + 1e-3,
                              f"{slo} {window} during the outage: {got} vs {prom_got}")
                        largest[window] = max(largest.get(window, 0), abs(got - prom_got) / prom_got)
            for at in (END,):
                (_, sp), (_, st) = measured[at]
                t = gen_history.parse_time(at)
                for slo, service in sorted(RATIO_SLOS.items()):
                    for window, length in WINDOWS.items():
                        got, prom_got = st[slo]["burnRates"].get(window), sp[slo]["burnRates"].get(window)
                        if got is None:
                            check(prom_got is None, f"{slo} {window} at {at}: none through Thanos, {prom_got} from Prometheus")
                            continue
                        if not (scenario.summary(t - length + 60, t, [service]).get(service) or {}).get("total"):
                            continue  # no requests in the span (newcomer before it began)
                        want = exact_burn(scenario, service, t - length + 60, t)
                        check(burn_close(got, want), f"{slo} {window} at {at}: {got} vs exact {want}")
                        check(burn_close(prom_got, exact_burn(scenario, service, t - length, t)),
                              f"{slo} {window} at {at} from Prometheus: {prom_got}")
                        if prom_got:
                            largest[window] = max(largest.get(window, 0), abs(got - prom_got) / prom_got)
            (_, sp), (_, st) = measured[OFF_GRID]
            for slo in RATIO_SLOS:
                check(sp[slo]["burnRates"] == st[slo]["burnRates"],
                      f"{slo} off the grid: {sp[slo]['burnRates']} vs {st[slo]['burnRates']}")
            log("largest relative difference from Prometheus on the grid: " +
                ", ".join(f"{w} {largest[w]:.2%}" for w in WINDOWS if w in largest))

        @suite.check("30-day bad events through Thanos equal the history generator's exact counts")
        def _():
            (_, _), (_, st) = measured[END]
            end = gen_history.parse_time(END)
            for slo, service in sorted(RATIO_SLOS.items()):
                counts = scenario.summary(end - 30 * 86400, end, [service])[service]
                b = st[slo]["errorBudget"]
                check(abs(b["consumed"] - counts["bad"]) <= 0.5, f"{slo}: consumed {b['consumed']} vs exact {counts['bad']}")
                check(abs(b["total"] - (1 - TARGET) * counts["total"]) <= 1e-6 * b["total"],
                      f"{slo}: allowed {b['total']} vs exact 0.1% of {counts['total']}")
                log(f"{slo}: exact bad {counts['bad']} of {counts['total']}; Thanos {b['consumed']}")
            check(st["checkout-availability"]["errorBudget"]["consumed"] == 120000, "checkout: 120,000 bad")

        @suite.check("without its store Thanos answers no data: unknown, exit 3, never a healthy budget")
        def _():
            thanos.stop_sidecar()
            wait_until("Thanos Query to lose the sidecar", lambda: not thanos.ready(), timeout=60, interval=1)
            r, statuses = evaluate(thanos.url, files=["checkout.yaml"], at=END)
            st = statuses.get("checkout-availability", {})
            log(f"checkout through Thanos without a store: exit {r.returncode}, {st.get('tier')}: {st.get('message')}")
            check(r.returncode == 3 and st.get("tier") == "unknown", f"{r.returncode} {st}")
        suite.finish()


if __name__ == "__main__":
    main()
