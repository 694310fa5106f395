#!/usr/bin/env python3
"""Synthetic request history for budgetgate's Prometheus tests.

Reads a scenario YAML file and writes OpenMetrics text (ending with ``# EOF``)
that ``promtool tsdb create-blocks-from openmetrics`` turns into TSDB blocks.
The same model answers "what will the counters show?" so that tests can
assert exact expected budget consumption.

Scenario format (all instants RFC 3339 UTC, durations like 60s, 20m, 2h, 1d, 1h30m):

    name: basic                   # optional, defaults to the file name
    start: 2025-12-27T00:00:00Z   # first sample (counters are 0 here)
    end: 2026-01-31T00:00:00Z     # last sample (inclusive when on the step grid)
    step: 60s                     # scrape interval
    seed: 7                       # optional; only used by `jitter`
    services:
      - name: checkout
        rps: 100                  # base request rate (requests/second)
        seasonality: {amplitude: 0.5}   # optional, rate*(1+a*sin(2*pi*secondsOfDayUTC/86400))
        baseErrorRatio: 0.0005    # fraction of requests answered with code 500
        labels: {team: shop}      # optional extra static labels on every series
        activeFrom: ...           # optional: series exist only from here ...
        activeUntil: ...          # ... and up to here (exclusive); counters start at 0
        incidents:                # error ratio / slow ratio override while active
          - {start: 2026-01-20T14:00:00Z, duration: 20m, errorRatio: 1.0}
          - {start: ..., duration: 1h, slowRatio: 0.3}       # latency only
        latency:                  # optional histogram http_request_duration_seconds
          buckets: {0.05: 0.5, 0.1: 0.8, 0.25: 0.95, 0.5: 0.99, 1: 0.999}
          slowSeconds: 1.5        # where slow requests land (default 1.5: only +Inf)
          incidents: [{start: ..., duration: 30m, slowRatio: 0.2}]
        restarts:                 # optional: the process restarts and its counters start again
          - {start: ..., duration: 2h, every: 10m}   # at start, start+every, ... (< start+duration)
          - 2026-01-20T03:00:00Z                      # or single instants (on the sample grid)
        lazyErrors: true          # optional: the code="500" series appears only with the first
                                  # failed request (as client libraries create labelled series)
        quietFrom: ...            # optional: no more requests from here; the series stay (flat)
        replicas: 1000            # optional (alias: count): stamps out name-0000..name-0999
        stagger: 1h               # optional: replica i's incidents shift by i*stagger
        jitter: 0.5               # optional, needs seed: per-replica rps and baseErrorRatio
                                  # multiplied by uniform factors in [1-jitter, 1+jitter]

Series written per service (labels: service, plus `labels`):
    http_requests_total{code="200"}  good requests   = floor(integral of rate*(1-e) + EPS)
    http_requests_total{code="500"}  bad requests    = floor(integral of rate*e + EPS)
    http_request_duration_seconds_bucket{le=...}     = floor(integral of rate*cdf(le) + EPS)
    http_request_duration_seconds_count              = bucket{le="+Inf"} = floor(integral of rate + EPS)
    http_request_duration_seconds_sum                  integral of rate*mean latency (3 decimals)
Integrals run from the first sample (or activeFrom) and are evaluated in closed
form at every sample instant, so there is no drift: a counter's increase
between two sample instants is exactly the difference of these floors.  The
total (code 200 + code 500) may differ by at most 1 from the histogram _count.
While an incident is active, the error ratio is the incident's errorRatio (not
added to the base); for a latency incident, slowRatio of the requests take
slowSeconds and the rest keep the base distribution:
    cdf(le) = (1 - slowRatio) * cdf_base(le) + slowRatio * [le >= slowSeconds].
Overlapping incidents: the one listed last wins for each field it sets.
A restart at r (on the sample grid) happens just after the scrape at r: the sample at r still
shows the old count, the next one counts from 0 again, so a reset-aware reader sees every
request. With lazyErrors the code="500" series has no sample before its first failed request;
its first sample's value is what a rate-based reader cannot see (--summary reports it).

Usage:
    gen_history.py SCENARIO.yaml [-o FILE] [--from T] [--to T]   # OpenMetrics; samples with from <= t < to
    gen_history.py SCENARIO.yaml --summary --from T1 --to T2   # exact counter increases, JSON
    gen_history.py SCENARIO.yaml --at T                        # counter values at a sample instant, JSON
    gen_history.py SCENARIO.yaml --info                        # grid, series, incidents, JSON
Importable: load_scenario(path), Scenario.summary(t1, t2), Scenario.values_at(t).
"""

import argparse
import bisect
import datetime as _dt
import json
import math
import os
import random
import re
import sys
import time

import yaml

EPS = 1e-6  # added before floor() so that exact integers computed in binary floating point stay put
DAY = 86400
OMEGA = 2.0 * math.pi / DAY
DEFAULT_BUCKETS = [(0.05, 0.5), (0.1, 0.8), (0.25, 0.95), (0.5, 0.99), (1.0, 0.999)]
DEFAULT_SLOW_SECONDS = 1.5
REQUESTS_METRIC = "http_requests_total"
HIST_METRIC = "http_request_duration_seconds"

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY, "y": 365 * DAY}


class ScenarioError(ValueError):
    pass


def parse_duration(v, what="duration"):
    """'60s', '20m', '1h30m', '2d' or a number of seconds -> int seconds."""
    if isinstance(v, bool):
        raise ScenarioError(f"{what}: not a duration: {v!r}")
    if isinstance(v, (int, float)):
        secs = float(v)
    else:
        s = str(v).strip()
        pos, secs = 0, 0.0
        for m in _DURATION_RE.finditer(s):
            if m.start() != pos:
                break
            secs += float(m.group(1)) * _UNIT[m.group(2)]
            pos = m.end()
        if pos != len(s) or not s:
            raise ScenarioError(f"{what}: not a duration: {v!r} (use e.g. 60s, 20m, 1h30m, 2d)")
    if secs != int(secs):
        raise ScenarioError(f"{what}: {v!r} is not a whole number of seconds")
    return int(secs)


def parse_time(v, what="time"):
    """RFC 3339 string (or a datetime as PyYAML returns it, naive = UTC) -> int unix seconds."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v)
    if isinstance(v, _dt.datetime):
        d = v
    else:
        try:
            d = _dt.datetime.fromisoformat(str(v).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ScenarioError(f"{what}: not an RFC 3339 instant: {v!r}") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.timezone.utc)
    ts = d.timestamp()
    if ts != int(ts):
        raise ScenarioError(f"{what}: {v!r} is not on a whole second")
    return int(ts)


def fmt_time(ts):
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _le_text(le):
    if le == math.inf:
        return "+Inf"
    return repr(float(le)).rstrip("0").rstrip(".") if float(le) != int(le) else str(int(le))


def _esc(v):
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Service:
    """One service's model: rate(t), piecewise-constant error/slow ratios, closed-form integrals."""

    def __init__(self, name, rps, amplitude, base_error, incidents, latency, labels,
                 active_from, active_until, grid_start, restarts=(), lazy_errors=False,
                 quiet_from=None):
        self.name = name
        self.restarts = sorted(restarts)  # restart instants (after the scrape at each)
        self.lazy_errors = lazy_errors
        self.quiet_from = quiet_from
        self.rps = float(rps)
        self.amp = float(amplitude)
        self.k = self.amp / OMEGA  # integral of amp*sin(w t) dt = -amp/w * cos(w t)
        self.base_error = float(base_error)
        self.labels = labels
        self.t0 = active_from if active_from is not None else grid_start
        self.t_until = active_until  # exclusive, or None
        self.cos0 = math.cos(OMEGA * (self.t0 % DAY))
        self.latency = latency  # None or dict(les, cdf, slow_seconds)
        self._build_segments(incidents)
        label_text = "".join(f',{k}="{_esc(v)}"' for k, v in labels.items())
        svc = f'service="{_esc(name)}"{label_text}'
        self.prefix_good = f'{REQUESTS_METRIC}{{{svc},code="200"}} '
        self.prefix_bad = f'{REQUESTS_METRIC}{{{svc},code="500"}} '
        if latency:
            self.prefix_buckets = [f'{HIST_METRIC}_bucket{{{svc},le="{_le_text(le)}"}} '
                                   for le in latency["les"]] + \
                                  [f'{HIST_METRIC}_bucket{{{svc},le="+Inf"}} ']
            self.prefix_sum = f"{HIST_METRIC}_sum{{{svc}}} "
            self.prefix_count = f"{HIST_METRIC}_count{{{svc}}} "

    # Integral of the request rate from t0 to t (t >= t0), closed form.
    def R(self, t):
        if self.quiet_from is not None and t > self.quiet_from:
            t = self.quiet_from  # no requests after quietFrom: the integral stays put
        if self.k == 0.0:
            return self.rps * (t - self.t0)
        return self.rps * ((t - self.t0) - self.k * (math.cos(OMEGA * (t % DAY)) - self.cos0))

    def _build_segments(self, incidents):
        # incidents: list of (start, end, errorRatio|None, slowRatio|None), later wins.
        cuts = {self.t0}
        for s, e, _, _ in incidents:
            if e > self.t0:
                cuts.add(max(s, self.t0))
                cuts.add(max(e, self.t0))
        cuts = sorted(cuts)
        lat = self.latency
        base_cdf = lat["cdf"] if lat else []
        base_mean = lat["mean"] if lat else 0.0
        segs = []
        for i, a in enumerate(cuts):
            err, slow = self.base_error, 0.0
            for s, e, er, sr in incidents:
                if s <= a < e:
                    if er is not None:
                        err = er
                    if sr is not None:
                        slow = sr
            if lat:
                ss = lat["slow_seconds"]
                cdf = [(1.0 - slow) * c + (slow if le >= ss else 0.0)
                       for le, c in zip(lat["les"], base_cdf)]
                mean = (1.0 - slow) * base_mean + slow * ss
            else:
                cdf, mean = [], 0.0
            segs.append([a, err, cdf, mean])
        # Cumulative integrals at each segment start.
        cum_bad, cum_good = 0.0, 0.0
        cum_b = [0.0] * len(base_cdf)
        cum_sum = 0.0
        prev = None
        for seg in segs:
            a = seg[0]
            if prev is not None:
                dr = self.R(a) - self.R(prev[0])
                cum_bad += prev[1] * dr
                cum_good += (1.0 - prev[1]) * dr
                cum_b = [cb + c * dr for cb, c in zip(cum_b, prev[2])]
                cum_sum += prev[3] * dr
            seg.extend([self.R(a), cum_bad, cum_good, list(cum_b), cum_sum])
            prev = seg
        # seg: [start, err, cdf, mean, R(start), cumBad, cumGood, cumBuckets, cumSum]
        self.segs = segs
        self.seg_starts = [s[0] for s in segs]

    def seg_index(self, t):
        """Index of the last segment starting at or before t."""
        return max(0, bisect.bisect_right(self.seg_starts, t) - 1)

    def active(self, t):
        return t >= self.t0 and (self.t_until is None or t < self.t_until)

    def true_values_at(self, t, seg=None):
        """Every request since t0 up to instant t (t0 <= t), restarts ignored: dict good, bad,
        total[, buckets, count, sum]."""
        if seg is None:
            seg = self.segs[self.seg_index(t)]
        r = self.R(t)
        dr = r - seg[4]
        good = math.floor(seg[6] + (1.0 - seg[1]) * dr + EPS)
        bad = math.floor(seg[5] + seg[1] * dr + EPS)
        out = {"good": good, "bad": bad, "total": good + bad}
        if self.latency:
            buckets = [math.floor(cb + c * dr + EPS) for cb, c in zip(seg[7], seg[2])]
            count = math.floor(r + EPS)
            buckets.append(count)
            out["buckets"] = buckets
            out["count"] = count
            out["sum"] = round(seg[8] + seg[3] * dr, 3)
        return out

    def last_restart_before(self, t):
        """The latest restart strictly before t (its counters count from there), or None."""
        i = bisect.bisect_left(self.restarts, t)
        return self.restarts[i - 1] if i > 0 else None

    def values_at(self, t, seg=None):
        """Counter values the series show at sample instant t (t0 <= t): the requests since the
        last restart before t."""
        out = self.true_values_at(t, seg)
        r = self.last_restart_before(t)
        if r is None or r < self.t0:
            return out
        base = self.true_values_at(r)
        shown = {k: out[k] - base[k] for k in ("good", "bad", "total")}
        if self.latency:
            shown["buckets"] = [a - b for a, b in zip(out["buckets"], base["buckets"])]
            shown["count"] = out["count"] - base["count"]
            shown["sum"] = round(out["sum"] - base["sum"], 3)
        return shown

    def bad_series_from(self, grid):
        """With lazyErrors: the first sample instant on `grid` where the bad counter is non-zero
        (the code="500" series has no sample before it); None when it never is."""
        for t in grid:
            if t >= self.t0 and self.true_values_at(t)["bad"] > 0:
                return t
        return None


class Scenario:
    def __init__(self, doc, name):
        if not isinstance(doc, dict):
            raise ScenarioError("scenario must be a mapping")
        self.name = str(doc.get("name") or name)
        self.start = parse_time(_req(doc, "start"), "start")
        self.end = parse_time(_req(doc, "end"), "end")
        self.step = parse_duration(_req(doc, "step"), "step")
        if self.step <= 0 or self.end < self.start:
            raise ScenarioError("need step > 0 and end >= start")
        self.n_samples = (self.end - self.start) // self.step + 1
        seed = doc.get("seed")
        rng = random.Random(seed) if seed is not None else None
        self.services = []
        names = set()
        for i, sd in enumerate(_req(doc, "services")):
            for svc in self._expand(sd, i, rng):
                if svc.name in names:
                    raise ScenarioError(f"duplicate service name {svc.name!r}")
                names.add(svc.name)
                self.services.append(svc)

    def _expand(self, sd, idx, rng):
        where = f"services[{idx}]"
        if not isinstance(sd, dict):
            raise ScenarioError(f"{where}: must be a mapping")
        known = {"name", "rps", "seasonality", "baseErrorRatio", "incidents", "latency", "labels",
                 "replicas", "count", "stagger", "jitter", "activeFrom", "activeUntil", "restarts",
                 "lazyErrors", "quietFrom"}
        extra = set(sd) - known
        if extra:
            raise ScenarioError(f"{where}: unknown field(s) {sorted(extra)}")
        name = str(_req(sd, "name", where))
        rps = float(sd.get("rps", 0))
        if rps < 0:
            raise ScenarioError(f"{where}: rps must be >= 0")
        seas = sd.get("seasonality") or {}
        amp = float(seas.get("amplitude", 0)) if isinstance(seas, dict) else float(seas)
        if not 0 <= amp < 1:
            raise ScenarioError(f"{where}: seasonality.amplitude must be in [0,1)")
        base = float(sd.get("baseErrorRatio", 0))
        _ratio(base, f"{where}.baseErrorRatio")
        labels = {str(k): str(v) for k, v in (sd.get("labels") or {}).items()}
        for k in labels:
            if k in ("service", "code", "le") or not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", k):
                raise ScenarioError(f"{where}.labels: bad or reserved label name {k!r}")
        active_from = parse_time(sd["activeFrom"], f"{where}.activeFrom") if "activeFrom" in sd else None
        active_until = parse_time(sd["activeUntil"], f"{where}.activeUntil") if "activeUntil" in sd else None
        if active_from is not None and active_from < self.start:
            raise ScenarioError(f"{where}.activeFrom is before start")
        restarts = []
        for j, rs in enumerate(sd.get("restarts") or []):
            w = f"{where}.restarts[{j}]"
            if isinstance(rs, dict):
                extra_r = set(rs) - {"start", "duration", "every"}
                if extra_r:
                    raise ScenarioError(f"{w}: unknown field(s) {sorted(extra_r)}")
                r0 = parse_time(_req(rs, "start", w), f"{w}.start")
                dur = parse_duration(_req(rs, "duration", w), f"{w}.duration")
                every = parse_duration(_req(rs, "every", w), f"{w}.every")
                if every <= 0:
                    raise ScenarioError(f"{w}.every must be positive")
                restarts.extend(range(r0, r0 + dur, every))
            else:
                restarts.append(parse_time(rs, w))
        for r in restarts:
            if not self.on_grid(r):
                raise ScenarioError(f"{where}.restarts: {fmt_time(r)} is not a sample instant")
        lazy_errors = bool(sd.get("lazyErrors", False))
        quiet_from = parse_time(sd["quietFrom"], f"{where}.quietFrom") if "quietFrom" in sd else None
        incidents = []
        for j, inc in enumerate(sd.get("incidents") or []):
            incidents.append(_incident(inc, f"{where}.incidents[{j}]", allow_error=True))
        latency = None
        if sd.get("latency") is not None and sd.get("latency") is not False:
            lat = sd["latency"] if isinstance(sd["latency"], dict) else {}
            buckets = lat.get("buckets")
            pairs = sorted((float(k), float(v)) for k, v in buckets.items()) if buckets else DEFAULT_BUCKETS
            prev = 0.0
            for le, c in pairs:
                _ratio(c, f"{where}.latency.buckets[{le}]")
                if c < prev:
                    raise ScenarioError(f"{where}.latency.buckets must be non-decreasing")
                prev = c
            les = [le for le, _ in pairs]
            cdf = [c for _, c in pairs]
            slow_s = float(lat.get("slowSeconds", DEFAULT_SLOW_SECONDS))
            # Mean latency of the base distribution: bucket midpoints; the open bucket at slowSeconds.
            mean, lo, below = 0.0, 0.0, 0.0
            for le, c in pairs:
                mean += (c - below) * (lo + le) / 2.0
                lo, below = le, c
            mean += (1.0 - below) * max(slow_s, lo)
            latency = {"les": les, "cdf": cdf, "slow_seconds": slow_s, "mean": mean}
            for j, inc in enumerate(lat.get("incidents") or []):
                incidents.append(_incident(inc, f"{where}.latency.incidents[{j}]", allow_error=False))
        if any(i[3] is not None for i in incidents) and latency is None:
            raise ScenarioError(f"{where}: slowRatio needs a latency section")
        n = sd.get("replicas", sd.get("count"))
        stagger = parse_duration(sd.get("stagger", 0), f"{where}.stagger")
        jitter = float(sd.get("jitter", 0))
        if jitter and rng is None:
            raise ScenarioError(f"{where}: jitter needs a top-level seed")
        if not 0 <= jitter < 1:
            raise ScenarioError(f"{where}: jitter must be in [0,1)")
        extras = dict(restarts=restarts, lazy_errors=lazy_errors, quiet_from=quiet_from)
        if n is None:
            yield Service(name, rps, amp, base, incidents, latency, labels, active_from, active_until,
                          self.start, **extras)
            return
        n = int(n)
        width = max(4, len(str(n - 1)))
        for r in range(n):
            f_rps = f_err = 1.0
            if jitter:
                f_rps = rng.uniform(1 - jitter, 1 + jitter)
                f_err = rng.uniform(1 - jitter, 1 + jitter)
            shift = r * stagger
            incs = [(s + shift, e + shift, er, sr) for s, e, er, sr in incidents]
            yield Service(f"{name}-{r:0{width}d}", rps * f_rps, amp, min(1.0, base * f_err), incs, latency,
                          labels, active_from, active_until, self.start, **extras)

    # ---- sample grid -------------------------------------------------------------------------
    def grid(self, t_from=None, t_to=None):
        """Sample instants on the grid with t_from <= t < t_to (defaults: whole scenario)."""
        k0 = 0 if t_from is None else max(0, -((self.start - t_from) // self.step))
        k1 = self.n_samples if t_to is None else min(self.n_samples, -((self.start - t_to) // self.step))
        return range(self.start + k0 * self.step, self.start + k1 * self.step, self.step)

    def on_grid(self, t):
        return self.start <= t <= self.end and (t - self.start) % self.step == 0

    def series_count(self):
        return sum(2 + ((len(s.latency["les"]) + 3) if s.latency else 0) for s in self.services)

    # ---- expectations --------------------------------------------------------------------------
    def service(self, name):
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)

    def values_at(self, t, services=None):
        """Counter values each series shows at sample instant t; None when the series has no sample."""
        self._check_grid(t)
        out = {}
        for s in self.services:
            if services and s.name not in services:
                continue
            v = s.values_at(t) if s.active(t) else None
            if v is not None and s.lazy_errors and s.true_values_at(t)["bad"] == 0:
                v = dict(v, bad=None)  # no code="500" series yet
            out[s.name] = v
        return out

    def summary(self, t1, t2, services=None):
        """Exact request counts between the samples at t1 and t2 (both on the grid, t1 <= t2):
        every request served in (t1, t2], restarts included — what sum(increase(x[t2-t1]))
        evaluated at t2 returns when both ends hold a sample and every reset is counted
        (Prometheus 2.x ranges are closed [t2-w, t2]). Services without samples at both ends
        are reported between their first and last sample in [t1, t2] (firstSample/lastSample
        say which); None when they have no sample there. With lazyErrors, a code="500" series
        that appears inside the range is reported as badSeriesFrom (its first sample) and
        badUnseen (that sample's value: the failed requests a difference of samples cannot
        see)."""
        self._check_grid(t1)
        self._check_grid(t2)
        if t2 < t1:
            raise ScenarioError("summary: t2 < t1")
        out = {}
        for s in self.services:
            if services and s.name not in services:
                continue
            g = self.grid(max(t1, s.t0), min(t2 + 1, s.t_until if s.t_until is not None else t2 + 1))
            if len(g) == 0:
                out[s.name] = None  # no sample in [t1, t2]: Prometheus returns an empty vector
                continue
            a_t, b_t = g[0], g[-1]
            a, b = s.true_values_at(a_t), s.true_values_at(b_t)
            d = {"total": b["total"] - a["total"], "good": b["good"] - a["good"], "bad": b["bad"] - a["bad"]}
            if s.latency:
                d["buckets"] = {_le_text(le): y - x for le, x, y in
                                zip(s.latency["les"] + [math.inf], a["buckets"], b["buckets"])}
                d["count"] = b["count"] - a["count"]
                d["sum"] = round(b["sum"] - a["sum"], 3)
            if a_t != t1:
                d["firstSample"] = fmt_time(a_t)  # series starts inside the range (at 0)
            if b_t != t2:
                d["lastSample"] = fmt_time(b_t)  # series ends inside the range: increase() extrapolates
            restarts = [r for r in s.restarts if a_t <= r < b_t]
            if restarts:
                d["restarts"] = len(restarts)
            if s.lazy_errors:
                first = s.bad_series_from(self.grid(s.t0, b_t + 1))
                if first is not None and a_t < first <= b_t:
                    d["badSeriesFrom"] = fmt_time(first)
                    d["badUnseen"] = s.values_at(first)["bad"]
            out[s.name] = d
        return out

    def _check_grid(self, t):
        if not self.on_grid(t):
            raise ScenarioError(f"{fmt_time(t)} is not a sample instant "
                                f"(grid {fmt_time(self.start)} + k*{self.step}s up to {fmt_time(self.end)})")

    def info(self):
        return {
            "name": self.name, "start": fmt_time(self.start), "end": fmt_time(self.end), "step": self.step,
            "samples_per_series": self.n_samples, "services": len(self.services),
            "series": self.series_count(),
            "lines": sum((2 + ((len(s.latency["les"]) + 3) if s.latency else 0)) *
                         len(self.grid(s.t0, s.t_until)) for s in self.services),
        }

    # ---- OpenMetrics -------------------------------------------------------------------------
    def write_openmetrics(self, out, t_from=None, t_to=None):
        """Streams samples with t_from <= t < t_to, time-major; returns the number of sample lines.

        Same arithmetic as Service.values_at (the expectations), inlined for speed: the
        cos() term is shared by all services at an instant, segments advance with a cursor."""
        lines = 0
        floor, cos, inf = math.floor, math.cos, math.inf
        # Per service mutable state: [svc, seg index, next segment start, last good, last bad].
        states = [[s, 0, inf, -1, -1] for s in self.services]
        for t in self.grid(t_from, t_to):
            ts = f" {t}\n"
            ct = cos(OMEGA * (t % DAY))
            chunk = []
            app = chunk.append
            for st in states:
                s = st[0]
                if t < s.t0 or (s.t_until is not None and t >= s.t_until):
                    continue
                if s.restarts or s.lazy_errors or s.quiet_from is not None:
                    lines += self._write_slow(app, s, t, ts)
                    continue
                if t >= st[2] or st[3] < 0:
                    i = s.seg_index(t)
                    st[1] = i
                    st[2] = s.segs[i + 1][0] if i + 1 < len(s.segs) else inf
                seg = s.segs[st[1]]
                if s.k == 0.0:
                    r = s.rps * (t - s.t0)
                else:
                    r = s.rps * ((t - s.t0) - s.k * (ct - s.cos0))
                dr = r - seg[4]
                good = floor(seg[6] + (1.0 - seg[1]) * dr + EPS)
                bad = floor(seg[5] + seg[1] * dr + EPS)
                if good < st[3] or bad < st[4]:
                    raise AssertionError(f"counter decreased for {s.name} at {fmt_time(t)}")
                st[3], st[4] = good, bad
                app(f"{s.prefix_good}{good}{ts}{s.prefix_bad}{bad}{ts}")
                lines += 2
                if s.latency:
                    count = floor(r + EPS)
                    for p, cb, c in zip(s.prefix_buckets, seg[7], seg[2]):
                        app(f"{p}{floor(cb + c * dr + EPS)}{ts}")
                    app(f"{s.prefix_buckets[-1]}{count}{ts}{s.prefix_count}{count}{ts}"
                        f"{s.prefix_sum}{seg[8] + seg[3] * dr:.3f}{ts}")
                    lines += len(s.prefix_buckets) + 2
            out.write("".join(chunk))
        out.write("# EOF\n")
        return lines


    @staticmethod
    def _write_slow(app, s, t, ts):
        """One instant of a service with restarts, lazy errors or a quiet period, through
        values_at (the expectations' own arithmetic); returns the number of sample lines."""
        v = s.values_at(t)
        lines = 1
        app(f"{s.prefix_good}{v['good']}{ts}")
        if not (s.lazy_errors and s.true_values_at(t)["bad"] == 0):
            app(f"{s.prefix_bad}{v['bad']}{ts}")
            lines += 1
        if s.latency:
            for p, c in zip(s.prefix_buckets, v["buckets"]):
                app(f"{p}{c}{ts}")
            app(f"{s.prefix_count}{v['count']}{ts}{s.prefix_sum}{v['sum']:.3f}{ts}")
            lines += len(s.prefix_buckets) + 2
        return lines


def _req(d, key, where="scenario"):
    if key not in d:
        raise ScenarioError(f"{where}: missing {key}")
    return d[key]


def _ratio(v, what):
    if not 0.0 <= float(v) <= 1.0:
        raise ScenarioError(f"{what}: must be in [0,1], got {v}")


def _incident(inc, where, allow_error):
    if not isinstance(inc, dict):
        raise ScenarioError(f"{where}: must be a mapping")
    extra = set(inc) - {"start", "duration", "errorRatio", "slowRatio", "note"}
    if extra:
        raise ScenarioError(f"{where}: unknown field(s) {sorted(extra)}")
    s = parse_time(_req(inc, "start", where), f"{where}.start")
    d = parse_duration(_req(inc, "duration", where), f"{where}.duration")
    er = inc.get("errorRatio")
    sr = inc.get("slowRatio")
    if er is not None:
        if not allow_error:
            raise ScenarioError(f"{where}: errorRatio belongs in the service's incidents")
        _ratio(er, f"{where}.errorRatio")
        er = float(er)
    if sr is not None:
        _ratio(sr, f"{where}.slowRatio")
        sr = float(sr)
    if er is None and sr is None:
        raise ScenarioError(f"{where}: needs errorRatio and/or slowRatio")
    return (s, s + d, er, sr)


def load_scenario(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    name = os.path.splitext(os.path.basename(path))[0]
    return Scenario(doc, name)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("-o", "--output", help="write OpenMetrics here (default stdout)")
    ap.add_argument("--from", dest="t_from", help="only samples at or after this instant")
    ap.add_argument("--to", dest="t_to", help="only samples before this instant")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--summary", action="store_true", help="exact increases between --from and --to (JSON)")
    mode.add_argument("--at", help="counter values at this sample instant (JSON)")
    mode.add_argument("--info", action="store_true", help="grid and size (JSON)")
    ap.add_argument("--service", action="append", help="restrict --summary/--at to these services")
    a = ap.parse_args(argv)
    try:
        scn = load_scenario(a.scenario)
        t_from = parse_time(a.t_from, "--from") if a.t_from else None
        t_to = parse_time(a.t_to, "--to") if a.t_to else None
        if a.info:
            json.dump(scn.info(), sys.stdout, indent=2)
            print()
            return 0
        if a.at:
            json.dump(scn.values_at(parse_time(a.at, "--at"), a.service), sys.stdout, indent=1)
            print()
            return 0
        if a.summary:
            if t_from is None or t_to is None:
                raise ScenarioError("--summary needs --from and --to")
            json.dump({"from": fmt_time(t_from), "to": fmt_time(t_to),
                       "services": scn.summary(t_from, t_to, a.service)}, sys.stdout, indent=1)
            print()
            return 0
    except ScenarioError as e:
        print(f"gen_history: {a.scenario}: {e}", file=sys.stderr)
        return 2
    began = time.monotonic()
    if a.output and (not os.path.exists(a.output) or os.path.isfile(a.output)):
        # Regular file: write beside it and rename, so a partial file never looks complete.
        tmp = a.output + ".tmp"
        with open(tmp, "w", encoding="ascii", buffering=1 << 20) as out:
            lines = scn.write_openmetrics(out, t_from, t_to)
        os.replace(tmp, a.output)
    elif a.output:  # a device or FIFO such as /dev/null: write in place, never replace it
        with open(a.output, "w", encoding="ascii", buffering=1 << 20) as out:
            lines = scn.write_openmetrics(out, t_from, t_to)
    else:
        out = open(sys.stdout.fileno(), "w", encoding="ascii", buffering=1 << 20, closefd=False)
        lines = scn.write_openmetrics(out, t_from, t_to)
        out.flush()
    el = time.monotonic() - began
    print(f"gen_history: {scn.name}: {lines} samples, {len(scn.services)} services, "
          f"{el:.1f}s, {lines / el if el > 0 else 0:,.0f} lines/s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
