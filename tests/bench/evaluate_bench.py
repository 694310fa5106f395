#!/usr/bin/env python3
"""Benchmark: evaluation cycles of 1,000 SLOs against a real Prometheus (bench scenario:
1,000 services, 31 days at 5-minute resolution).

Three evaluator modes run in the same session against the same Prometheus:
  naive     every window queried whole each cycle, one query set per SLO (the baseline)
  unshared  hourly buckets kept between cycles, one query set per SLO
  shared    hourly buckets + queries shared across SLOs (what `budgetgate operator` does)
Reported per mode: first-cycle and steady-state seconds per cycle, queries per cycle, peak RSS,
and ratios against the naive baseline.

  tests/bench/evaluate_bench.py [--slos 1000] [--cycles 5] [--smoke]
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import BUILD, Prometheus, check, log, run, workspace  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="50 SLOs, 2 cycles: checks the benchmark runs")
    parser.add_argument("--output", default=os.path.join(BUILD, "bench-results", "evaluate.json"))
    args = parser.parse_args()
    if args.smoke:
        args.slos, args.cycles = 50, 2
    bench = os.path.join(BUILD, "tests", "bench", "evaluator_bench")
    results = {}
    with workspace("evaluate-bench") as work:
        prom = Prometheus(work, "bench.yaml").start()
        try:
            for mode in ("naive", "unshared", "shared"):
                log(f"mode {mode}: {args.slos} SLOs x {args.cycles} cycles")
                out = run([bench, "--prometheus", prom.url, "--mode", mode, "--slos", str(args.slos),
                           "--cycles", str(args.cycles)], timeout=1800)
                results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
                log(json.dumps(results[mode]))
        finally:
            prom.stop()
    base = results["naive"]
    print(f"\nEvaluation of {args.slos} SLOs (30-day windows, 7 burn windows each), "
          f"{args.cycles} cycles 5 minutes apart, Prometheus 2.42 on the same 2 cores:\n")
    print("| mode | first cycle | steady cycle | queries/cycle (first, steady) | peak RSS | steady time vs naive | queries vs naive |")
    print("|---|---|---|---|---|---|---|")
    for mode in ("naive", "unshared", "shared"):
        r = results[mode]
        print(f"| {mode} | {r['firstCycleSeconds']:.2f} s | {r['steadyCycleSeconds']:.2f} s | "
              f"{r['firstCycleQueries']}, {r['steadyCycleQueries']:.0f} | {r['peakRssMiB']:.0f} MiB | "
              f"{r['steadyCycleSeconds'] / base['steadyCycleSeconds']:.3f}x | "
              f"{r['steadyCycleQueries'] / base['steadyCycleQueries']:.4f}x |")
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(results, f, indent=2)
    for mode, r in results.items():
        check(r["unknownSlos"] == 0 and r["failedQueries"] == 0, f"{mode}: every SLO evaluated")
    check(results["shared"]["steadyCycleQueries"] < results["naive"]["steadyCycleQueries"],
          "sharing issues fewer queries than the baseline")


if __name__ == "__main__":
    main()
