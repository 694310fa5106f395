#!/usr/bin/env python3
"""Benchmark: the status page with 1,000 SLOs in a real kube-apiserver + etcd, statuses written
by the operator from a real Prometheus holding 31 days of history.

Measured in one run, each the median of --repeat requests after one warm-up:
  baseline   `kubectl get slo -A -o json` (the API server serialising the same SLOs)
  overview   GET / (every SLO, grouped by namespace) and GET /?group=team
  SLO page   GET /namespaces/bench/slos/NAME, the first view (its burn-down recomputed from
             Prometheus) and a cached one
and the page figures as ratios against the baseline. Asserts the overview lists every SLO.

  tests/bench/status_page_bench.py [--slos 1000] [--repeat 5] [--smoke]
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from controller_bench import bench_scenario, create_bench_slos  # noqa: E402
from harness import (BIN, BUILD, Background, ControlPlane, Prometheus, check, free_port,  # noqa: E402
                     http_get, log, metric_value, wait_until, workspace)


def timed(fn, repeat):
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        t0 = time.monotonic()
        fn()
        samples.append(time.monotonic() - t0)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="50 SLOs, 2 days of history")
    parser.add_argument("--output", default=os.path.join(BUILD, "bench-results", "status_page.json"))
    args = parser.parse_args()
    history_days = 31
    if args.smoke:
        args.slos, args.repeat, history_days = 50, 3, 2
    results = {"slos": args.slos}
    with workspace("status-page-bench") as work:
        scenario = bench_scenario(work, args.slos, history_days)
        prom = Prometheus(work, scenario, private_cache=True)
        cp = ControlPlane(work)
        operator = None
        try:
            prom.start()
            cp.start()
            create_bench_slos(cp, work, args.slos)
            metrics_port, page_port = free_port(), free_port()
            operator = Background("operator", [
                BIN, "operator", "--kubeconfig", cp.kubeconfig, "--prometheus", prom.url,
                "--interval", "60s", "--no-leader-election", "--metrics-address",
                f"127.0.0.1:{metrics_port}", "--status-address", f"127.0.0.1:{page_port}",
                "--status-auth", "none"], work).start()

            def written():
                check(operator.alive(), f"operator exited:\n{operator.log_text()[-2000:]}")
                text = http_get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)[1]
                return (metric_value(text, "budgetgate_status_writes_total", {"result": "ok"}) or 0) >= args.slos
            wait_until(f"{args.slos} statuses written", written, timeout=1200, interval=0.5)
            time.sleep(2)  # the operator's own cache sees its writes come back

            page = f"http://127.0.0.1:{page_port}"
            sizes = {}

            def get(path):
                def fn():
                    code, body = http_get(page + path, timeout=60)
                    check(code == 200, f"{path}: {code}")
                    sizes[path] = len(body)
                    return body
                return fn
            overview = get("/")()
            listed = overview.count("<tr data-slo=")
            check(listed == args.slos, f"the overview lists {listed} of {args.slos} SLOs")
            base = timed(lambda: cp.kubectl("get", "slo", "-A", "-o", "json", timeout=120), args.repeat)
            slo_path = "/namespaces/bench/slos/bench-0000-availability"
            t0 = time.monotonic()
            first = get(slo_path)()
            first_view = time.monotonic() - t0
            check('class="burn-down"' in first, "the SLO page has its burn-down")
            results.update({
                "baselineKubectlSeconds": base,
                "overviewSeconds": timed(get("/"), args.repeat),
                "overviewByTeamSeconds": timed(get("/?group=team"), args.repeat),
                "sloPageFirstViewSeconds": first_view,
                "sloPageCachedSeconds": timed(get(slo_path), args.repeat),
                "overviewBytes": sizes["/"],
                "sloPageBytes": sizes[slo_path],
                "kubectlJsonBytes": len(cp.kubectl("get", "slo", "-A", "-o", "json", timeout=120).stdout),
            })
        finally:
            if operator:
                operator.stop()
            cp.stop()
            prom.stop()

    r = results
    print(f"\nStatus page with {args.slos} SLOs (server on the same 2 cores as the API server and "
          f"Prometheus; median of {args.repeat}):\n")
    print("| request | time | vs `kubectl get slo -A -o json` | size |")
    print("|---|---|---|---|")
    print(f"| `kubectl get slo -A -o json` (baseline) | {r['baselineKubectlSeconds'] * 1000:.0f} ms | 1.00x | "
          f"{r['kubectlJsonBytes'] / 1024:.0f} KiB |")
    for label, key, size in (("overview `/`", "overviewSeconds", "overviewBytes"),
                             ("overview `/?group=team`", "overviewByTeamSeconds", "overviewBytes"),
                             ("SLO page, first view (burn-down from Prometheus)", "sloPageFirstViewSeconds",
                              "sloPageBytes"),
                             ("SLO page, cached", "sloPageCachedSeconds", "sloPageBytes")):
        print(f"| {label} | {r[key] * 1000:.1f} ms | {r[key] / r['baselineKubectlSeconds']:.3f}x | "
              f"{r[size] / 1024:.0f} KiB |")
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(results, f, indent=2)
    log(f"results written to {args.output}")


if __name__ == "__main__":
    main()
