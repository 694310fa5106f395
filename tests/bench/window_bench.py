#!/usr/bin/env python3
"""Benchmark: does a 90-day SLO window cost more per cycle than a 30-day one?

One real Prometheus with 92 days of history (tests/prometheus/scenarios/bench-90d.yaml: 100
services at 5-minute resolution) and the controller's evaluator (tests/bench/evaluator_bench),
run four ways in the same session on the same SLOs, differing only in their window:

  naive 30d, naive 90d      every window queried whole each cycle (the baseline way)
  shared 30d, shared 90d    hourly buckets kept between cycles + queries shared (the operator)

Reported: first-cycle and steady-state seconds per cycle, queries per cycle and peak RSS, with
ratios against the 30-day window of the same mode. Asserted: every SLO evaluated, and the shared
evaluator's steady cycle asks exactly as many queries for 90-day windows as for 30-day ones.

  tests/bench/window_bench.py [--slos 100] [--cycles 6] [--smoke]
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import BUILD, Prometheus, check, log, run, workspace  # noqa: E402

MODES = [("naive", "30d"), ("naive", "90d"), ("shared", "30d"), ("shared", "90d")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slos", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=6)
    parser.add_argument("--smoke", action="store_true", help="10 SLOs, 2 cycles: checks the benchmark runs")
    parser.add_argument("--output", default=os.path.join(BUILD, "bench-results", "window.json"))
    args = parser.parse_args()
    if args.smoke:
        args.slos, args.cycles = 10, 2
    bench = os.path.join(BUILD, "tests", "bench", "evaluator_bench")
    results = {}
    with workspace("window-bench") as work:
        prom = Prometheus(work, "bench-90d.yaml").start()
        try:
            for mode, window in MODES:
                log(f"{mode} {window}: {args.slos} SLOs x {args.cycles} cycles")
                out = run([bench, "--prometheus", prom.url, "--mode", mode, "--window", window,
                           "--slos", str(args.slos), "--cycles", str(args.cycles)], timeout=1800)
                results[f"{mode} {window}"] = json.loads(out.stdout.strip().splitlines()[-1])
                log(json.dumps(results[f"{mode} {window}"]))
        finally:
            prom.stop()
    print(f"\nEvaluation of {args.slos} SLOs, {args.cycles} cycles 5 minutes apart, Prometheus 2.42 "
          "on the same 2 cores; ratios against the 30-day window of the same mode:\n")
    print("| mode, window | first cycle | steady cycle | queries/cycle (first, steady) | peak RSS | steady time vs 30d | steady queries vs 30d |")
    print("|---|---|---|---|---|---|---|")
    for mode, window in MODES:
        r, base = results[f"{mode} {window}"], results[f"{mode} 30d"]
        print(f"| {mode}, {window} | {r['firstCycleSeconds']:.2f} s | {r['steadyCycleSeconds']:.3f} s | "
              f"{r['firstCycleQueries']}, {r['steadyCycleQueries']:.0f} | {r['peakRssMiB']:.0f} MiB | "
              f"{r['steadyCycleSeconds'] / base['steadyCycleSeconds']:.2f}x | "
              f"{r['steadyCycleQueries'] / base['steadyCycleQueries']:.2f}x |")
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(results, f, indent=2)
    for name, r in results.items():
        check(r["unknownSlos"] == 0 and r["failedQueries"] == 0, f"{name}: every SLO evaluated")
    check(results["shared 90d"]["steadyCycleQueries"] == results["shared 30d"]["steadyCycleQueries"],
          "a 90-day window asks a steady cycle exactly the queries a 30-day one does")


if __name__ == "__main__":
    main()
