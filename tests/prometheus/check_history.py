#!/usr/bin/env python3
"""Self-check of a Prometheus started by tests/scripts/prometheus.sh against its scenario.

    check_history.py [--url URL | --env DIR/env] SCENARIO.yaml [--json FINDINGS.json]

Queries /api/v1/query and /api/v1/query_range at fixed instants and compares with the exact
counter values from gen_history.py.  Generic checks run for every scenario (30-day increases
for every service at `end`, raw counter values at `end`); basic.yaml adds the outage, zero
traffic, NaN, missing-series, partial-series and histogram checks, and every scenario gets
the hourly bucket-sum accuracy measurement that the C++ evaluator depends on.
Exit status 0 when every check passes.
"""

import argparse
import json
import math
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_history as gh  # noqa: E402

HOUR = 3600
BAD = ',code="500"'
GOOD = ',code="200"'
DAY = 86400


class Prom:
    def __init__(self, url):
        self.url = url.rstrip("/")
        self.queries = 0
        self.seconds = 0.0

    def _get(self, path, params):
        q = urllib.parse.urlencode(params)
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(f"{self.url}{path}?{q}", timeout=120) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{path} {params}: HTTP {e.code}: {e.read()[:300]!r}") from None
        self.seconds += time.monotonic() - t0
        self.queries += 1
        if body.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr, t):
        """Instant query at unix time t -> list of (labels, float value)."""
        d = self._get("/api/v1/query", {"query": expr, "time": str(t)})
        if d["resultType"] == "scalar":
            return [({}, float(d["result"][1]))]
        return [(s["metric"], float(s["value"][1])) for s in d["result"]]

    def raw(self, expr, t):
        return self._get("/api/v1/query", {"query": expr, "time": str(t)})

    def scalar(self, expr, t):
        """Value of a single-element result, None for an empty vector."""
        r = self.query(expr, t)
        if not r:
            return None
        if len(r) != 1:
            raise RuntimeError(f"{expr}: expected one series, got {len(r)}")
        return r[0][1]

    def range_values(self, expr, start, end, step):
        d = self._get("/api/v1/query_range", {"query": expr, "start": str(start), "end": str(end),
                                              "step": str(step)})
        return [[(int(float(ts)), float(v)) for ts, v in s["values"]] for s in d["result"]]


class Checker:
    def __init__(self):
        self.failures = 0
        self.passes = 0
        self.findings = {}

    def check(self, name, ok, detail=""):
        if ok:
            self.passes += 1
            print(f"PASS {name}" + (f": {detail}" if detail else ""))
        else:
            self.failures += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""))

    def close(self, name, got, want, rel=0.01, exact=False):
        if got is None:
            self.check(name, False, f"empty result, want {want}")
            return
        if want == 0:
            ok = got == 0
        else:
            ok = abs(got - want) <= (1e-9 * abs(want) if exact else rel * abs(want))
        diff = got - want
        self.check(name, ok, f"got {got:.10g} want {want} (diff {diff:+.6g}, "
                             f"{(diff / want * 100 if want else 0):+.4f} %)")

    def note(self, key, value):
        self.findings[key] = value
        print(f"NOTE {key}: {json.dumps(value)}")


def sel(service, extra=""):
    return f'http_requests_total{{service="{service}"{extra}}}'


def generic_checks(p, scn, c, window=30 * DAY):
    end = scn.end
    t1 = end - window
    if not scn.on_grid(t1):
        print(f"SKIP 30-day checks: {gh.fmt_time(t1)} is not on the sample grid")
        return
    exp = scn.summary(t1, end)
    # All services in one query each, as the C++ query planner does.
    t0 = time.monotonic()
    bad = {m["service"]: v for m, v in
           p.query('sum by (service) (increase(http_requests_total{code="500"}[30d]))', end)}
    q_bad_s = time.monotonic() - t0
    total = {m["service"]: v for m, v in p.query("sum by (service) (increase(http_requests_total[30d]))", end)}
    c.note("query_seconds_sum_by_service_increase_30d", round(q_bad_s, 3))
    n_exact = n_close = n_checked = 0
    worst = 0.0
    for s in scn.services:
        e = exp[s.name]
        if e is None or "firstSample" in e or "lastSample" in e:
            continue  # partial series: checked separately (extrapolation applies)
        n_checked += 1
        for kind, got, want in (("bad", bad.get(s.name), e["bad"]), ("total", total.get(s.name), e["total"])):
            if got is None:
                c.check(f"30d {kind} {s.name}", False, "missing from result")
                continue
            if got == want:
                n_exact += 1
            if (want == 0 and got == 0) or (want and abs(got - want) <= 0.01 * want):
                n_close += 1
            else:
                c.check(f"30d {kind} {s.name}", False, f"got {got} want {want}")
            if want:
                worst = max(worst, abs(got - want) / want)
    c.check(f"30d increase at end within 1 % for {n_checked} services (bad and total)",
            n_close == 2 * n_checked, f"{n_exact}/{2 * n_checked} exactly equal, worst rel diff {worst:.3g}")
    c.check("30d increase at end exact for grid-aligned window (Prometheus 2.x closed range, no extrapolation)",
            n_exact == 2 * n_checked, f"{n_exact}/{2 * n_checked}")
    # Raw counter values at end (instant selector, lookback 5m).
    vals = scn.values_at(end)
    raw = {(m["service"], m["code"]): v for m, v in p.query("http_requests_total", end)}
    mism = [n for n, v in vals.items() if v is not None and
            (raw.get((n, "500")) != v["bad"] or raw.get((n, "200")) != v["good"])]
    c.check("raw counter values at end equal the generator's", not mism, f"mismatched: {mism[:5]}")


def hourly_accuracy(p, scn, c, services, window=30 * DAY):
    """sum of 720 adjacent increase(x[1h]) (query_range step=1h) vs increase(x[30d])."""
    end = scn.end
    out = {}
    for name in services:
        exp = scn.summary(end - window, end, [name])[name]
        for kind, extra, want in (("bad", ',code="500"', exp["bad"]), ("total", "", exp["total"])):
            expr_h = f"sum(increase({sel(name, extra)}[1h]))"
            expr_w = f"sum(increase({sel(name, extra)}[30d]))"
            row = {"exact": want}
            for label, shift in (("aligned", 0), ("offset30s", 30), ("offset1s", 1), ("offset59s", 59)):
                e = end - shift
                series = p.range_values(expr_h, e - window + HOUR, e, HOUR)
                pts = series[0] if series else []
                hsum = sum(v for _, v in pts)
                w = p.scalar(expr_w, e)
                row[label] = {"points": len(pts), "hourly_sum": round(hsum, 3), "increase_30d": w,
                              "hourly_vs_30d_pct": round((hsum - w) / w * 100, 5) if w else None}
            out[f"{name}/{kind}"] = row
    c.note("hourly_bucket_sums", out)
    for k, row in out.items():
        a = row["aligned"]
        c.check(f"hourly sums aligned to the scrape grid are exact: {k}",
                a["points"] == window // HOUR and a["hourly_sum"] == row["exact"] and a["increase_30d"] == row["exact"],
                f"{a['hourly_sum']} vs exact {row['exact']}")
    return out


def sync_timing(p, scn, c, window=30 * DAY):
    """Cost of the C++ evaluator's initial sync for many SLOs: hourly buckets for every service."""
    end = scn.end
    out = {}
    exp = scn.summary(end - window, end)
    for kind, extra in (("bad", '{code="500"}'), ("total", "")):
        t0 = time.monotonic()
        d = p._get("/api/v1/query_range", {
            "query": f"sum by (service) (increase(http_requests_total{extra}[1h]))",
            "start": str(end - window + HOUR), "end": str(end), "step": str(HOUR)})
        el = time.monotonic() - t0
        got = {s["metric"]["service"]: sum(float(v) for _, v in s["values"]) for s in d["result"]}
        out[kind] = {"series": len(d["result"]), "points": sum(len(s["values"]) for s in d["result"]),
                     "seconds": round(el, 3)}
        wrong = [n for n, e in exp.items() if e and "firstSample" not in e and "lastSample" not in e
                 and got.get(n) != e[kind]]
        c.check(f"hourly bucket sums equal the exact 30d {kind} count for all {len(got)} services", not wrong,
                f"wrong: {wrong[:5]}")
    t0 = time.monotonic()
    n = len(p.query('sum by (service) (increase(http_requests_total{code="500"}[5m]))', end))
    out["instant_5m_all_services"] = {"series": n, "seconds": round(time.monotonic() - t0, 3)}
    c.note("sync_query_timing", out)


def basic_checks(p, scn, c):
    T = gh.parse_time
    end = scn.end

    # --- checkout: the 20-minute outage ---------------------------------------------------
    o_start, o_end = T("2026-01-20T14:00:00Z"), T("2026-01-20T14:20:00Z")
    bad = sel("checkout", ',code="500"')
    c.close("checkout bad over 30d = 120000 (20/43.2 of a 99.9 % budget)",
            p.scalar(f"sum(increase({bad}[30d]))", end), 120000, exact=True)
    c.close("checkout total over 30d = 259200000", p.scalar(f"sum(increase({sel('checkout')}[30d]))", end),
            259200000, exact=True)
    ratio5m = f"sum(increase({bad}[5m])) / sum(increase({sel('checkout')}[5m]))"
    for at, want in ((o_start, 0.0), (o_start + 300, 1.0), (o_start + 600, 1.0), (o_end, 1.0),
                     (o_end + 60, 0.8), (o_end + 300, 0.0)):
        c.close(f"checkout 5m error ratio at {gh.fmt_time(at)}", p.scalar(ratio5m, at), want, exact=True)
    c.close("checkout increase(bad[20m]) at outage end = 120000",
            p.scalar(f"sum(increase({bad}[20m]))", o_end), 120000, exact=True)
    c.close("checkout 1h burn rate (99.9 %) at outage end = 333.33x",
            p.scalar(f"(sum(increase({bad}[1h])) / sum(increase({sel('checkout')}[1h]))) / 0.001", o_end),
            1000 / 3, rel=1e-9)

    # --- search: seasonality and slow burn -------------------------------------------------
    exp = scn.summary(end - 30 * DAY, end, ["search"])["search"]
    c.close("search bad over 30d = 86400", p.scalar(f"sum(increase({sel('search', BAD)}[30d]))", end),
            exp["bad"], exact=True)
    burn = (f"(sum(increase({sel('search', BAD)}[1h])) / sum(increase({sel('search')}[1h])))"
            " / 0.001")
    c.close("search 1h burn rate during slow burn ~ 3x", p.scalar(burn, T("2026-01-26T12:00:00Z")), 3.0, rel=0.01)
    c.close("search 1h burn rate outside ~ 0.5x", p.scalar(burn, T("2026-01-22T12:00:00Z")), 0.5, rel=0.02)
    peak = p.scalar(f"sum(rate({sel('search')}[5m]))", T("2026-01-22T06:00:00Z"))
    trough = p.scalar(f"sum(rate({sel('search')}[5m]))", T("2026-01-22T18:00:00Z"))
    c.close("search rate at 06:00 UTC peak ~ 75 rps", peak, 75.0, rel=0.01)
    c.close("search rate at 18:00 UTC trough ~ 25 rps", trough, 25.0, rel=0.01)

    # --- payments: the outage before the window must not count --------------------------------
    exp = scn.summary(end - 30 * DAY, end, ["payments"])["payments"]
    c.close("payments bad over 30d excludes the 2025-12-29 outage",
            p.scalar(f"sum(increase({sel('payments', BAD)}[30d]))", end), exp["bad"], exact=True)
    c.close("payments bad over 35d includes it (+36000)",
            p.scalar(f"sum(increase({sel('payments', BAD)}[35d]))", end),
            scn.summary(scn.start, end, ["payments"])["payments"]["bad"], exact=True)

    # --- ledger: exhausted ----------------------------------------------------------------
    exp = scn.summary(end - 30 * DAY, end, ["ledger"])["ledger"]
    got = p.scalar(f"sum(increase({sel('ledger', BAD)}[30d])) / "
                   f"(0.001 * sum(increase({sel('ledger')}[30d])))", end)
    c.close("ledger budget consumed > 100 % (exhausted)", got, exp["bad"] / (0.001 * exp["total"]), rel=1e-9)

    # --- zero traffic, NaN, missing series -------------------------------------------------
    findings = {}
    r = p.raw(f"sum(increase({sel('idle')}[30d]))", end)
    findings["idle: sum(increase(total[30d]))"] = r["result"]
    c.check("idle (series exist, counters stay 0): sum(increase(total[30d])) is a one-element vector of 0",
            len(r["result"]) == 1 and float(r["result"][0]["value"][1]) == 0.0, json.dumps(r["result"]))
    r = p.raw(f"sum(increase({sel('idle', BAD)}[5m])) / sum(increase({sel('idle')}[5m]))", end)
    findings["idle: bad/total ratio over 5m"] = r["result"]
    c.check('idle: bad/total ratio is a one-element vector whose value is the string "NaN"',
            len(r["result"]) == 1 and r["result"][0]["value"][1] == "NaN", json.dumps(r["result"]))
    r = p.raw(f"sum(rate({sel('idle', BAD)}[1h])) / sum(rate({sel('idle')}[1h])) / 0.001", end)
    findings["idle: burn rate expression"] = r["result"]
    c.check("idle: burn rate expression is NaN too", len(r["result"]) == 1 and r["result"][0]["value"][1] == "NaN")
    r = p.raw(f"increase({sel('idle', BAD)}[5m]) / ignoring(code) increase({sel('idle', GOOD)}[5m])", end)
    findings["idle: per-series ratio without sum"] = r["result"]
    r = p.raw(f"sum(increase({sel('no-such-service')}[30d]))", end)
    findings["missing service: sum(increase(...))"] = r["result"]
    c.check("missing service: sum(increase(...[30d])) is an EMPTY vector (not 0)", r["result"] == [],
            json.dumps(r["result"]))
    r = p.raw(f"sum(increase({sel('checkout', BAD)}[5m]))", end)
    findings["checkout, no errors in window: sum(increase(bad[5m]))"] = r["result"]
    c.check("series present but no errors: sum(increase(bad[5m])) is a one-element vector of 0",
            len(r["result"]) == 1 and float(r["result"][0]["value"][1]) == 0.0)
    r = p.raw(f"sum(increase({sel('checkout')}[30d]))", scn.start - DAY)
    findings["before any history: sum(increase(...[30d]))"] = r["result"]
    c.check("before the history starts: empty vector", r["result"] == [])
    r = p.raw(f"sum(increase({sel('checkout')}[30d]))", scn.start + 30)
    findings["window holding a single sample: sum(increase(...[30d]))"] = r["result"]
    c.check("window holding a single sample: empty vector (increase needs 2 samples)", r["result"] == [])
    r = p.raw("sum(increase(http_requests_total[30d]))", end + 40 * DAY)
    findings["30d window entirely after the history"] = r["result"]
    c.check("30d window after the last sample: empty vector", r["result"] == [])
    r = p.raw(f"sum(increase({sel('checkout')}[5m]))", end + 10 * 60)
    findings["5m window after the history's end"] = r["result"]

    # --- partial series: newcomer (starts at 0 inside the window), retired (stops) ----------
    exp = scn.summary(end - 30 * DAY, end, ["newcomer", "retired"])
    got = p.scalar(f"sum(increase({sel('newcomer')}[30d]))", end)
    c.close("newcomer (series start at 0 inside the window): increase(total[30d]) exact",
            got, exp["newcomer"]["total"], exact=True)
    findings["newcomer: increase[30d] vs exact"] = {"got": got, "exact": exp["newcomer"]["total"]}
    got = p.scalar(f"sum(increase({sel('retired')}[30d]))", end)
    findings["retired: increase[30d] vs first..last sample"] = {
        "got": got, "first_to_last_sample": exp["retired"]["total"],
        "extrapolation_pct": round((got - exp["retired"]["total"]) / exp["retired"]["total"] * 100, 5)}
    c.close("retired (series stop 1 d before end): increase(total[30d]) within 1 % of first..last sample",
            got, exp["retired"]["total"])
    r = p.raw(f"sum(increase({sel('retired')}[5m]))", end)
    c.check("retired: 5m window at end is an empty vector", r["result"] == [])
    r = p.raw(f"absent({sel('retired')})", end)
    c.check("retired: absent() fires at end", len(r["result"]) == 1 and float(r["result"][0]["value"][1]) == 1)
    r = p.raw(f"{sel('retired', GOOD)}", T("2026-01-30T00:04:00Z"))
    findings["retired: instant selector 5 min after last sample (lookback 5m)"] = len(r["result"])
    r = p.raw(f"{sel('retired', GOOD)}", T("2026-01-30T00:05:00Z"))
    findings["retired: instant selector 6 min after last sample"] = len(r["result"])
    c.note("empty_zero_nan", findings)

    # --- histogram ------------------------------------------------------------------------
    h_start = T("2026-01-29T12:00:00Z")
    le05 = ('sum(increase(http_request_duration_seconds_bucket{service="frontend",le="0.5"}[5m])) / '
            'sum(increase(http_request_duration_seconds_count{service="frontend"}[5m]))')
    c.close("frontend: fraction under 0.5 s normally = 0.99", p.scalar(le05, h_start - HOUR), 0.99, rel=1e-4)
    c.close("frontend: fraction under 0.5 s during the slow incident = 0.8*0.99", p.scalar(le05, h_start + 600),
            0.792, rel=1e-4)
    q = ('histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket'
         '{service="frontend"}[5m])))')
    qn, qi = p.scalar(q, h_start - HOUR), p.scalar(q, h_start + 600)
    c.check("frontend: p90 latency jumps during the incident", qi > qn, f"p90 {qn:.4f}s -> {qi:.4f}s")
    exp = scn.summary(end - 30 * DAY, end, ["frontend"])["frontend"]
    bk = {m["le"]: v for m, v in p.query(
        'sum by (le) (increase(http_request_duration_seconds_bucket{service="frontend"}[30d]))', end)}
    c.check("frontend: 30d bucket increases equal the generator's", bk == {k: float(v) for k, v in
                                                                          exp["buckets"].items()},
            json.dumps(bk))
    c.close("frontend: 30d _count", p.scalar('sum(increase(http_request_duration_seconds_count'
                                             '{service="frontend"}[30d]))', end), exp["count"], exact=True)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--url", default=os.environ.get("PROM_URL"))
    ap.add_argument("--env", help="DIR/env written by prometheus.sh start")
    ap.add_argument("--json", help="write findings here")
    ap.add_argument("--hourly", help="comma-separated services for the hourly bucket-sum measurement")
    a = ap.parse_args(argv)
    url = a.url
    if a.env:
        for line in open(a.env, encoding="utf-8"):
            if line.startswith("PROM_URL="):
                url = line.split("=", 1)[1].strip()
    if not url:
        ap.error("need --url, --env or PROM_URL")
    scn = gh.load_scenario(a.scenario)
    p, c = Prom(url), Checker()
    t0 = time.monotonic()
    generic_checks(p, scn, c)
    if scn.name == "basic":
        basic_checks(p, scn, c)
        hourly = ["checkout", "search", "ledger"]
    else:
        hourly = [scn.services[0].name]
    if a.hourly:
        hourly = a.hourly.split(",")
    if len(scn.services) >= 100:
        sync_timing(p, scn, c)
    hourly_accuracy(p, scn, c, hourly)
    c.note("queries", {"count": p.queries, "seconds": round(p.seconds, 2)})
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(c.findings, f, indent=1)
    print(f"{c.passes} passed, {c.failures} failed in {time.monotonic() - t0:.1f}s")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
