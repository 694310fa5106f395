#!/usr/bin/env python3
"""End-to-end: `budgetgate evaluate`, `rules` and `backtest` against a real Prometheus loaded
with the synthetic history of tests/prometheus/scenarios/basic.yaml (35 days ending
2026-01-31T00:00:00Z; the incidents and their exact sizes are documented in that file)."""

import getpass
import glob
import http.server
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (condition, DATA, Background, Suite, Prometheus, backfilled_rules, check, check_close, budgetgate,  # noqa: E402
                     free_port, http_get, log, make_certificate, run, workspace, wait_until)

SLOS = os.path.join(DATA, "slos")
END = "2026-01-31T00:00:00Z"
DURING_OUTAGE = "2026-01-20T14:10:00Z"  # checkout: 100 % errors 14:00-14:20


def evaluate(prom, files, at=END, extra=()):
    result = budgetgate("evaluate", "-o", "json", "--prometheus", prom, "--at", at, *extra,
                        "-f", *[os.path.join(SLOS, f) for f in files])
    try:
        statuses = {item["name"]: item["status"] for item in json.loads(result.stdout or "[]")}
    except json.JSONDecodeError:
        statuses = {}
    return result, statuses


class SilentServer:
    """A TCP server that accepts connections and never answers (a hung Prometheus)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
            except OSError:
                return


def error_server(status, body, content_type="application/json"):
    class Handler(http.server.BaseHTTPRequestHandler):
        def _reply(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        do_GET = _reply
        do_POST = _reply

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    suite = Suite("prometheus e2e")
    with workspace("prometheus") as work:
        with suite.setup():
            prom = Prometheus(work).start()
            suite.on_exit(prom.stop)
            url = prom.url

        @suite.check("a 20-minute total outage in a flat 99.9%/30d SLO consumes 20/43.2 of the budget")
        def _():
            result, s = evaluate(url, ["checkout.yaml"])
            check(result.returncode == 0, f"exit {result.returncode}: {result.stderr}")
            b = s["checkout-availability"]["errorBudget"]
            check_close(b["consumedPercent"], 20 / 43.2 * 100, 0.01, "consumed percent")
            check_close(b["consumed"], 120000, 0.01, "bad requests")
            check_close(b["total"], 259200, 0.01, "allowed bad requests (0.1% of 259.2M)")
            check(s["checkout-availability"]["tier"] == "healthy", "53.7% left, no burn: healthy")

        @suite.check("recovery projection: the outage hour ages out of the 30-day window on 2026-02-19 15:00")
        def _():
            # A policy under which 53.7 % left is only "attention": the budget alone makes it
            # healthy again once the 14:00-15:00 bucket holding all of the outage's errors is
            # 30 days old.
            policy = os.path.join(work, "attention-below-60.yaml")
            with open(policy, "w") as f:
                f.write("apiVersion: slo.budgetgate.dev/v1alpha1\nkind: ErrorBudgetPolicy\n"
                        "metadata: {name: strict, namespace: budgetgate}\n"
                        "spec:\n  tiers:\n    attention: {remainingPercent: 60}\n")
            result, s = evaluate(url, ["checkout.yaml", "ledger.yaml"], extra=("--policy", policy))
            check(result.returncode == 0, f"exit {result.returncode}: {result.stderr}")
            st = s["checkout-availability"]
            check(st["tier"] == "attention", f"tier {st['tier']}")
            check(st.get("recoveryByTier") == {"healthy": "2026-02-19T15:00:00Z"},
                  f"recoveryByTier {st.get('recoveryByTier')}")
            check(st.get("projectedRecovery") == "2026-02-19T15:00:00Z",
                  f"fully restored when the outage hour leaves: {st.get('projectedRecovery')}")
            # ledger (exhausted, errors spread over the window): every better tier, in order.
            ledger = s["ledger-availability"]["recoveryByTier"]
            order = ["critical", "warning", "attention", "healthy"]
            check(sorted(ledger, key=order.index) == order, f"ledger recovery tiers {ledger}")
            times = [ledger[t] for t in order]
            check(times == sorted(times) and END < times[0] and times[-1] <= "2026-03-02T00:00:00Z",
                  f"ledger recovers tier by tier within one window: {times}")

        @suite.check("Timeslices, RatioTimeslices and a calendar month agree with Occurrences on the outage")
        def _():
            result, s = evaluate(url, ["checkout-timeslices.yaml", "checkout-ratiotimeslices.yaml",
                                       "checkout-calendar.yaml"])
            check(result.returncode == 0, f"exit {result.returncode}: {result.stderr}")
            ts = s["checkout-timeslices"]["errorBudget"]
            check(ts["unit"] == "minutes", "Timeslices budgets are in minutes")
            check_close(ts["total"], 43.2, 0.001, "allowed bad minutes")
            check_close(ts["consumed"], 20, 0.001, "20 bad one-minute slices")
            rts = s["checkout-ratiotimeslices"]["errorBudget"]
            check_close(rts["consumed"], 20, 0.01, "sum of per-slice bad fractions")
            cal = s["checkout-calendar"]
            check(cal["windowStart"] == "2026-01-01T00:00:00Z", f"calendar start {cal.get('windowStart')}")
            check(cal.get("projectedRecovery") == "2026-02-01T00:00:00Z",
                  f"a calendar budget is back when the month ends: {cal.get('projectedRecovery')}")
            check_close(cal["errorBudget"]["consumedPercent"], 20 / 43.2 * 100, 0.01, "calendar consumed")

        @suite.check("seasonal traffic with a slow burn, an exhausted budget, an outage outside the window")
        def _():
            result, s = evaluate(url, ["search.yaml", "ledger.yaml", "payments.yaml"])
            check(result.returncode == 0, f"exit {result.returncode}: {result.stderr}")
            check_close(s["search-availability"]["errorBudget"]["consumedPercent"], 66.667, 0.01,
                        "search: 86,400 bad of 129.6M")
            check(s["search-availability"]["tier"] == "attention", "33% left is attention")
            check_close(s["search-availability"]["burnRates"]["1d"], 0.5, 0.02, "search base burn 0.5x")
            ledger = s["ledger-availability"]
            check(ledger["tier"] == "exhausted", f"ledger tier {ledger['tier']}")
            check(ledger["errorBudget"]["consumedPercent"] > 150, "raw consumption above 100% kept")
            check(ledger["errorBudget"]["remainingPercent"] == 0, "remaining clamped at 0")
            check(ledger.get("projectedRecovery") == "2026-03-02T00:00:00Z",
                  f"errors in every hour: fully restored a window from now: {ledger.get('projectedRecovery')}")
            check(condition(ledger, "BudgetExhausted").get("status") == "True", "BudgetExhausted condition")
            check(ledger["gate"]["decisionsByRisk"] == {"low": "block", "medium": "block", "high": "block"},
                  "exhausted blocks every risk")
            check_close(s["payments-availability"]["errorBudget"]["consumedPercent"], 10, 0.02,
                        "the 30-minute outage before the window is not counted")

        @suite.check("off the sample grid, window counts equal the exact sample differences (no drift)")
        def _():
            # The window is exactly (T - 30d, T], off the hour and off the sample grid: its head
            # piece is measured up to the first whole hour, its tail from the last one. With
            # samples every 60 s, its counts are the counter values at the last sample before T
            # minus those at the last sample before T - 30d: the generator knows them exactly.
            at = "2026-01-28T10:17:30Z"
            last_sample, window_start = "2026-01-28T10:17:00Z", "2025-12-29T10:17:00Z"
            gen = os.path.join(os.path.dirname(__file__), "..", "prometheus", "gen_history.py")
            scenario = os.path.join(os.path.dirname(__file__), "..", "prometheus", "scenarios", "basic.yaml")

            def counters(t):
                out = run([sys.executable, gen, scenario, "--at", t]).stdout
                return json.loads(out)
            end, begin = counters(last_sample), counters(window_start)
            _, s = evaluate(url, ["ledger.yaml", "search.yaml", "payments.yaml"], at=at)
            for service, slo in (("ledger", "ledger-availability"), ("search", "search-availability"),
                                 ("payments", "payments-availability")):
                bad = end[service]["bad"] - begin[service]["bad"]
                total = end[service]["total"] - begin[service]["total"]
                b = s[slo]["errorBudget"]
                check(abs(b["consumed"] - bad) <= 0.5, f"{service}: bad {b['consumed']} vs exact {bad}")
                check_close(b["total"], 0.001 * total, 1e-9, f"{service}: allowed bad vs exact total")

        @suite.check("during the outage: 1000x 5m burn, every alert firing, tier critical, medium risk blocked")
        def _():
            result, s = evaluate(url, ["checkout.yaml"], at=DURING_OUTAGE)
            st = s["checkout-availability"]
            check_close(st["burnRates"]["5m"], 1000, 0.01, "5m burn at 100% errors")
            check_close(st["burnRates"]["1h"], 1000 / 6, 0.02, "1h burn: 10 of 60 minutes bad")
            firing = sorted(a["name"] for a in st["alerts"] if a["firing"])
            check(firing == ["page-1h", "page-6h", "ticket-1d", "ticket-3d"], f"firing {firing}")
            check(st["tier"] == "critical", f"tier {st['tier']}")
            check(st["gate"]["decisionsByRisk"]["medium"] == "block", "critical x medium = block")
            check(st["projectedExhaustion"] is not None, "projected exhaustion while burning")

        @suite.check("zero traffic is noData per window and an untouched budget, never NaN")
        def _():
            result, s = evaluate(url, ["idle.yaml"])
            st = s["idle-availability"]
            check(result.returncode == 0, "idle service evaluates (exit 0)")
            check(sorted(st["noDataWindows"]) == sorted(["5m", "30m", "1h", "2h", "6h", "1d", "3d"]),
                  f"noData windows {st['noDataWindows']}")
            check(all(v == 0 for v in st["burnRates"].values()), "burn rates are 0, not NaN")
            check(st["errorBudget"]["remainingPercent"] == 100, "budget untouched")
            check(condition(st, "DataAvailable").get("reason") == "NoTraffic", "NoTraffic reason")
            check("NaN" not in result.stdout and "Infinity" not in result.stdout, "no NaN/inf in JSON")

        @suite.check("a metric that does not exist, or a query returning NaN, is 'unknown' with exit 3")
        def _():
            result, s = evaluate(url, ["missing.yaml", "nan.yaml"])
            check(result.returncode == 3, f"exit {result.returncode}")
            for name in ("missing-availability", "idle-ratio-nan"):
                check(s[name]["tier"] == "unknown", f"{name} tier {s[name]['tier']}")
                check(condition(s[name], "DataAvailable").get("status") == "False", f"{name} DataAvailable")
            check("NaN" in s["idle-ratio-nan"]["message"], s["idle-ratio-nan"]["message"])
            check("no series" in s["missing-availability"]["message"], s["missing-availability"]["message"])

        @suite.check("a metric that disappeared keeps its window budget but its recent windows are noData")
        def _():
            result, s = evaluate(url, ["retired.yaml", "newcomer.yaml"])
            st = s["retired-availability"]
            check("5m" in st["noDataWindows"] and "1h" in st["noDataWindows"], "recent windows noData")
            check_close(st["errorBudget"]["consumedPercent"], 50, 0.05, "0.05% errors over 29 days")
            nc = s["newcomer-availability"]
            check(nc["errorBudget"]["total"] > 0, "a 7-day-old service is evaluated on what exists")

        @suite.check("threshold (latency) SLO with 5-minute slices counts the 30-minute slow incident")
        def _():
            result, s = evaluate(url, ["frontend-latency.yaml"])
            b = s["frontend-latency"]["errorBudget"]
            check(6 <= b["consumed"] / 5 <= 7, f"bad slices {b['consumed'] / 5}")
            check_close(b["total"], 0.01 * 2016 * 5, 0.001, "allowed bad minutes of 7 days")

        @suite.check("sharing across SLOs gives the same numbers with fewer queries")
        def _():
            files = sorted(os.path.basename(f) for f in glob.glob(os.path.join(SLOS, "*.yaml")))
            shared, s1 = evaluate(url, files)
            alone, s2 = evaluate(url, files, extra=["--no-share"])
            check(set(s1) == set(s2) and len(s1) == len(files), "same SLOs")
            for name in s1:
                a, b = s1[name], s2[name]
                check(a["tier"] == b["tier"], f"{name}: tier {a['tier']} vs {b['tier']}")
                for w, v in a["burnRates"].items():
                    check(abs(v - b["burnRates"][w]) <= 1e-6 * max(1, abs(v)), f"{name} burn {w}")
                if "errorBudget" in a:
                    check(abs(a["errorBudget"]["consumed"] - b["errorBudget"]["consumed"]) <= 1e-6 *
                          max(1, a["errorBudget"]["consumed"]), f"{name} consumed")

            def queries(r):
                line = [l for l in r.stderr.splitlines() if "instant and" in l][-1]
                words = line.split()
                return int(words[words.index("instant") - 1]) + int(words[words.index("range") - 1])
            log(f"queries shared: {queries(shared)}, unshared: {queries(alone)}")
            check(queries(shared) < queries(alone), "sharing issues fewer queries")

        @suite.check("Prometheus unreachable, hanging, failing or not Prometheus: distinct states, exit 3")
        def _():
            dead = free_port()
            started = time.time()
            r, s = evaluate(f"http://127.0.0.1:{dead}", ["checkout.yaml"],
                            extra=["--prometheus-retries", "1"])
            check(r.returncode == 3, f"refused: exit {r.returncode}")
            msg = s["checkout-availability"]["message"]
            check("unreachable" in msg, f"refused: {msg}")
            check(condition(s["checkout-availability"], "DataAvailable").get("reason") == "PrometheusUnavailable",
                  "reason PrometheusUnavailable")

            silent = SilentServer()
            started = time.time()
            r, s = evaluate(f"http://127.0.0.1:{silent.port}", ["checkout.yaml"],
                            extra=["--prometheus-timeout", "2s", "--prometheus-retries", "0"])
            elapsed = time.time() - started
            check(r.returncode == 3, f"hang: exit {r.returncode}")
            check("timeout" in s["checkout-availability"]["message"], s["checkout-availability"]["message"])
            check(elapsed < 20, f"a hung Prometheus is bounded by the timeout ({elapsed:.1f}s)")

            broken = error_server(503, "overloaded", "text/plain")
            r, s = evaluate(f"http://127.0.0.1:{broken.server_port}", ["checkout.yaml"],
                            extra=["--prometheus-retries", "1"])
            check(r.returncode == 3 and "http-error" in s["checkout-availability"]["message"],
                  s["checkout-availability"]["message"])
            broken.shutdown()

            liar = error_server(200, "<html>not prometheus</html>", "text/html")
            r, s = evaluate(f"http://127.0.0.1:{liar.server_port}", ["checkout.yaml"])
            check(r.returncode == 3 and "bad-response" in s["checkout-availability"]["message"],
                  s["checkout-availability"]["message"])
            liar.shutdown()

            rejecting = error_server(400, json.dumps({"status": "error", "errorType": "bad_data",
                                                      "error": "parse error"}))
            r, s = evaluate(f"http://127.0.0.1:{rejecting.server_port}", ["checkout.yaml"])
            check(r.returncode == 3 and "query-error" in s["checkout-availability"]["message"],
                  s["checkout-availability"]["message"])
            check(condition(s["checkout-availability"], "DataAvailable").get("reason") == "QueryError",
                  "reason QueryError")
            rejecting.shutdown()

        @suite.check("bad input: malformed SLO file, bad --at, bad URL -> exit 2 with a message")
        def _():
            bad = os.path.join(work, "bad.yaml")
            with open(bad, "w") as f:
                f.write("apiVersion: slo.budgetgate.dev/v1alpha1\nkind: ServiceLevelObjective\n"
                        "metadata: {name: x}\nspec: {service: x, objectives: [{target: 2}]}\n")
            r = budgetgate("evaluate", "-f", bad, "--prometheus", url)
            check(r.returncode == 2 and "target" in r.stderr, r.stderr)
            r = budgetgate("evaluate", "-f", os.path.join(SLOS, "checkout.yaml"), "--prometheus", url,
                           "--at", "yesterday")
            check(r.returncode == 2 and "--at" in r.stderr, r.stderr)
            r = budgetgate("evaluate", "-f", os.path.join(SLOS, "checkout.yaml"), "--prometheus", "ftp://x")
            check(r.returncode == 2, f"bad URL exit {r.returncode}")

        @suite.check("generated rules pass promtool and, backfilled into Prometheus, give evaluate's burn rates")
        def _():
            files = [os.path.join(SLOS, f) for f in ("checkout.yaml", "search.yaml",
                                                       "checkout-timeslices.yaml", "frontend-latency.yaml")]
            r = budgetgate("rules", *[a for f in files for a in ("-f", f)])
            check(r.returncode == 0, r.stderr)
            # Backfill the recording rules over the outage (the rule engine evaluates them as
            # Prometheus would), then serve the result from a second Prometheus.
            with backfilled_rules(work, r.stdout, url, "2026-01-20T13:50:00Z", "2026-01-20T14:40:00Z",
                                  timeout=600) as query:
                # Rule groups are evaluated at an offset within each interval, and increase()
                # extrapolates relative to the evaluation instant, so each recorded sample is
                # compared with `evaluate --at` the sample's own timestamp.
                compared = 0
                slos = {"checkout-availability": "checkout.yaml", "search-availability": "search.yaml",
                        "checkout-timeslices": "checkout-timeslices.yaml",
                        "frontend-latency": "frontend-latency.yaml"}
                for at in ("2026-01-20T14:06:00Z", "2026-01-20T14:15:00Z", "2026-01-20T14:27:00Z",
                           "2026-01-20T14:39:00Z"):
                    for slo, file in slos.items():
                        stamp = query(f'timestamp(budgetgate:slo_burn_rate:1h{{slo="{slo}"}})', at)
                        check(len(stamp) == 1, f"{slo}: no recorded sample at {at}")
                        exact_time = float(stamp[0]["value"][1])
                        sample_time = int(exact_time)
                        _, s = evaluate(url, [file], at=str(sample_time))
                        st = s[slo]
                        # evaluate's instants are whole seconds, the rule engine's are not: a
                        # slice subquery's first step can differ between the second before and
                        # after the rule's instant, so both are evaluated and the recorded value
                        # must equal one of them.
                        candidates = [st]
                        if exact_time != sample_time:
                            candidates.append(evaluate(url, [file], at=str(sample_time + 1))[1][slo])
                        for window in ("5m", "30m", "1h", "2h", "6h", "1d"):
                            rows = query(f'budgetgate:slo_burn_rate:{window}{{slo="{slo}"}}', at)
                            if window in st["noDataWindows"]:
                                continue
                            check(len(rows) == 1, f"{slo} {window} at {at}: {len(rows)} recorded series")
                            recorded = float(rows[0]["value"][1])
                            expected = [c["burnRates"][window] for c in candidates]
                            check(any(abs(recorded - e) <= 0.005 * max(abs(e), 1e-9) for e in expected),
                                  f"{slo} burn {window} at {exact_time} (rules vs evaluate): recorded "
                                  f"{recorded}, evaluate {expected} at the seconds around it")
                            compared += 1
                log(f"compared {compared} recorded burn rates with evaluate")
                check(compared >= 40, f"only {compared} comparisons")

        @suite.check("backtest replays the outage: critical from 14:05, alerts fire, hysteresis holds the freeze")
        def _():
            r = budgetgate("backtest", "-o", "json", "-f", os.path.join(SLOS, "checkout.yaml"),
                           "--prometheus", url, "--from", "2026-01-20T12:00:00Z",
                           "--to", "2026-01-21T12:00:00Z", "--step", "5m", timeout=300)
            check(r.returncode == 0, r.stderr)
            out = json.loads(r.stdout)[0]
            steps = {s["time"]: s for s in out["steps"]}
            check(len(out["steps"]) == 289, f"{len(out['steps'])} steps")
            check(steps["2026-01-20T14:00:00Z"]["tier"] == "healthy", "healthy before the outage")
            check(steps["2026-01-20T14:05:00Z"]["tier"] == "critical", "critical 5 minutes in")
            check("page-1h" in steps["2026-01-20T14:10:00Z"]["firing"], "page-1h fires during the outage")
            check("page-1h" not in steps["2026-01-20T14:30:00Z"]["firing"], "page-1h stops after it (5m window clean)")
            late = steps["2026-01-21T12:00:00Z"]
            check(late["tier"] == "critical" and late["remainingPercent"] > 40,
                  "critical held by hysteresis although 45% is left")
            summary = out["summary"]
            check_close(summary["frozenHoursByRisk"]["medium"], 22.0, 0.01, "hours frozen for medium risk")
            check(summary["tierChanges"] == 1, f"tier changes {summary['tierChanges']}")
            check(summary["alertEpisodes"].get("page-1h") == 1, f"{summary['alertEpisodes']}")
            r = budgetgate("backtest", "-f", os.path.join(SLOS, "checkout.yaml"), "--prometheus", url,
                           "--from", "2026-01-20T12:00:00Z", "--to", "2026-01-21T12:00:00Z", "--step", "7m")
            check(r.returncode == 2 and "--step" in r.stderr, f"bad step: {r.returncode} {r.stderr}")

        @suite.check("secured Prometheus: TLS with a private CA, basic auth (bcrypt) and bearer token")
        def _():
            # nginx in front of the real Prometheus, as in clusters where Prometheus sits behind an
            # authenticating proxy: one port wants basic auth, the other a bearer token.
            tls = make_certificate(work, "prom-proxy")
            root = os.path.join(work, "secure-proxy")
            os.makedirs(root, exist_ok=True)
            htpasswd = os.path.join(root, "htpasswd")
            run(["htpasswd", "-B", "-b", "-c", htpasswd, "slo-reader", "s3cret pass"])
            basic_port, bearer_port, tenant_port = free_port(), free_port(), free_port()
            conf = os.path.join(root, "nginx.conf")
            upstream = url.rstrip("/")
            common = f"""ssl_certificate {tls['cert']}; ssl_certificate_key {tls['key']};"""
            with open(conf, "w") as f:
                # Workers read the htpasswd file from our private workspace: run them as us (as
                # root, nginx would switch them to "nobody"; as non-root the line is ignored).
                f.write(f"""user {getpass.getuser()};
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {root}/body; proxy_temp_path {root}/proxy; fastcgi_temp_path {root}/fcgi;
  uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
  server {{
    listen 127.0.0.1:{basic_port} ssl; {common}
    location / {{ auth_basic "prometheus"; auth_basic_user_file {htpasswd}; proxy_pass {upstream}; }}
  }}
  server {{
    listen 127.0.0.1:{bearer_port} ssl; {common}
    location / {{
      if ($http_authorization != "Bearer tok-123") {{ return 401; }}
      proxy_pass {upstream};
    }}
  }}
  server {{
    listen 127.0.0.1:{tenant_port} ssl; {common}
    location / {{
      if ($http_x_scope_orgid != "team-a") {{ return 401; }}
      proxy_pass {upstream};
    }}
  }}
}}
""")
            proxy = Background("secure-proxy", ["nginx", "-c", conf, "-g", "daemon off;"], work).start()
            try:
                def answering():
                    try:
                        http_get(f"https://127.0.0.1:{bearer_port}/-/ready")
                    except Exception as e:  # noqa: BLE001 - 401 means nginx is up
                        return "401" in str(e)
                    return True
                wait_until("TLS proxy", answering, timeout=20)
                secrets = {}
                for name, text in (("basic", "slo-reader:s3cret pass\n"), ("wrong", "slo-reader:nope\n"),
                                   ("token", "tok-123\n"), ("badtoken", "tok-999\n")):
                    secrets[name] = os.path.join(root, name)
                    with open(secrets[name], "w") as f:
                        f.write(text)
                plain, ps = evaluate(url, ["checkout.yaml"])
                expected = ps["checkout-availability"]["errorBudget"]["remainingPercent"]
                basic_url, bearer_url = f"https://127.0.0.1:{basic_port}", f"https://127.0.0.1:{bearer_port}"

                r, s = evaluate(basic_url, ["checkout.yaml"], extra=(
                    "--prometheus-ca-file", tls["ca"], "--prometheus-basic-auth-file", secrets["basic"]))
                check(r.returncode == 0, f"basic auth over TLS: exit {r.returncode} {r.stderr} {r.stdout[-1500:]}")
                check(s["checkout-availability"]["errorBudget"]["remainingPercent"] == expected,
                      "same budget through the proxy")
                r, s = evaluate(bearer_url, ["checkout.yaml"], extra=(
                    "--prometheus-ca-file", tls["ca"], "--prometheus-bearer-token-file", secrets["token"]))
                check(r.returncode == 0, f"bearer token over TLS: exit {r.returncode} {r.stderr} {r.stdout[-1500:]}")
                check(s["checkout-availability"]["errorBudget"]["remainingPercent"] == expected,
                      "same budget with a bearer token")
                # A multi-tenant backend (Mimir, Cortex, Thanos receive) wants its tenant header.
                tenant_url = f"https://127.0.0.1:{tenant_port}"
                r, s = evaluate(tenant_url, ["checkout.yaml"], extra=(
                    "--prometheus-ca-file", tls["ca"], "--prometheus-header", "X-Scope-OrgID=team-a"))
                check(r.returncode == 0, f"tenant header: exit {r.returncode} {r.stderr} {r.stdout[-1500:]}")
                check(s["checkout-availability"]["errorBudget"]["remainingPercent"] == expected,
                      "same budget through the tenant proxy")
                r, s = evaluate(tenant_url, ["checkout.yaml"], extra=(
                    "--prometheus-ca-file", tls["ca"], "--prometheus-retries", "0"))
                check(r.returncode == 3 and "401" in s.get("checkout-availability", {}).get("message", ""),
                      f"without the tenant header: exit {r.returncode}, {s}")

                # Refusals are reported as such: unknown tier, exit 3, the cause in the message.
                for what, target, extra, needle in (
                        ("wrong password", basic_url, ("--prometheus-ca-file", tls["ca"],
                                                       "--prometheus-basic-auth-file", secrets["wrong"]), "401"),
                        ("wrong token", bearer_url, ("--prometheus-ca-file", tls["ca"],
                                                     "--prometheus-bearer-token-file", secrets["badtoken"]), "401"),
                        ("unknown CA", basic_url, ("--prometheus-basic-auth-file", secrets["basic"]), "certificate")):
                    r, s = evaluate(target, ["checkout.yaml"], extra=extra + ("--prometheus-retries", "0"))
                    st = s.get("checkout-availability", {})
                    check(r.returncode == 3 and st.get("tier") == "unknown",
                          f"{what}: exit {r.returncode}, tier {st.get('tier')}")
                    check(needle in st.get("message", "").lower() or needle in st.get("message", ""),
                          f"{what}: message names the cause: {st.get('message')}")
                r = budgetgate("evaluate", "-o", "json", "--prometheus", basic_url, "--at", END,
                               "--prometheus-basic-auth-file", secrets["token"],
                               "-f", os.path.join(SLOS, "checkout.yaml"))
                check(r.returncode == 2 and "user:password" in r.stderr,
                      f"a basic-auth file without a colon is bad input: {r.returncode} {r.stderr}")
            finally:
                proxy.stop()

        suite.finish()


if __name__ == "__main__":
    main()
