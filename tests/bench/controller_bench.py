#!/usr/bin/env python3
"""Benchmark: `budgetgate operator` reconciling 1,000 SLOs in a real kube-apiserver + etcd,
against a real Prometheus holding 31 days of history for 1,000 services (ending "now", so the
controller evaluates the wall clock as in production).

Measured in one run:
  baseline   `budgetgate evaluate -f <the same 1,000 SLOs>`: the evaluation alone, no API server
  operator   time from start until all 1,000 statuses are written (reconcile throughput, SLOs/s),
             steady-state cycle time and status writes per cycle, peak RSS
and the operator's figures as ratios against the baseline. Asserts every SLO got a status that
agrees with the baseline's evaluation.

  tests/bench/controller_bench.py [--slos 1000] [--cycles 3] [--smoke]
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import (BIN, BUILD, Background, ControlPlane, Prometheus, check, free_port,  # noqa: E402
                     http_get, live_scenario, log, metric_value, wait_until, workspace)


def slo_manifest(i):
    svc = f"bench-{i:04d}"
    return f"""---
apiVersion: slo.budgetgate.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: {svc}-availability
  namespace: bench
spec:
  service: {svc}
  indicator:
    spec:
      ratioMetric:
        counter: true
        good: {{metricSource: {{type: Prometheus, spec: {{query: 'http_requests_total{{service="{svc}",code!="500"}}'}}}}}}
        total: {{metricSource: {{type: Prometheus, spec: {{query: 'http_requests_total{{service="{svc}"}}'}}}}}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.999}}]
  gate:
    selector: {{matchLabels: {{app: {svc}}}}}
"""


def bench_scenario(work, slos, history_days):
    """The benchmarks' history: `slos` services with 31 (or `history_days`) days of traffic,
    staggered, seasonal, jittered, each with one incident near the window's start."""
    return live_scenario(work, [{
        "name": "bench", "replicas": slos, "rps": 10, "jitter": 0.8,
        "seasonality": {"amplitude": 0.3}, "baseErrorRatio": 0.0005, "stagger": "40m",
        "incidents": [{"startIn": -(history_days - 1) * 86400, "duration": "20m", "errorRatio": 0.5}],
    }], history_days=history_days, step=300, seed=42)


def create_bench_slos(cp, work, slos):
    """The CRDs, namespace `bench` and one SLO per service, created in the API server. Returns
    the manifest file's path."""
    cp.kubectl("apply", "-f", os.path.join(os.path.dirname(__file__), "..", "..", "crds"))
    cp.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    cp.kubectl("create", "namespace", "bench")
    manifests = os.path.join(work, "slos.yaml")
    with open(manifests, "w") as f:
        f.write("".join(slo_manifest(i) for i in range(slos)))
    log(f"creating {slos} SLOs")
    cp.kubectl("create", "-f", manifests, timeout=600)
    return manifests


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_measured(cmd, timeout):
    """Runs cmd; returns (exit code, stdout, stderr, wall seconds)."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, out, err, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=3, help="steady-state cycles to measure")
    parser.add_argument("--interval", default="60s", help="operator evaluation interval")
    parser.add_argument("--smoke", action="store_true", help="50 SLOs, 2 days of history, 1 cycle")
    parser.add_argument("--compare-ledger", action="store_true",
                        help="then restart the operator with --ledger-entries 0 and measure its steady "
                             "cycle too (the ledger's cost, same run)")
    parser.add_argument("--output", default=os.path.join(BUILD, "bench-results", "controller.json"))
    args = parser.parse_args()
    history_days = 31
    if args.smoke:
        args.slos, args.cycles, args.interval, history_days = 50, 1, "15s", 2
    results = {"slos": args.slos}
    with workspace("controller-bench") as work:
        scenario = bench_scenario(work, args.slos, history_days)
        prom = Prometheus(work, scenario, private_cache=True)
        cp = ControlPlane(work)
        operator = None
        try:
            prom.start()
            cp.start()
            t0 = time.monotonic()
            manifests = create_bench_slos(cp, work, args.slos)
            results["createSeconds"] = time.monotonic() - t0

            # Baseline: the same SLOs evaluated once by the CLI, with no API server involved.
            log("baseline: budgetgate evaluate")
            timed = ["/usr/bin/time", "-f", "maxrss_kib=%M"]
            rc, out, err, seconds = run_measured(
                [*timed, BIN, "evaluate", "-f", manifests, "--prometheus", prom.url, "-o", "json"], 1800)
            check(rc == 0, f"baseline evaluate exits 0 (got {rc}): {err[-500:]}")
            evaluated = json.loads(out)
            evaluated = evaluated if isinstance(evaluated, list) else evaluated.get("items", [evaluated])
            baseline = {e["name"]: e["status"] for e in evaluated}
            check(len(baseline) == args.slos, f"baseline evaluated {len(baseline)} of {args.slos} SLOs")
            rss_line = [ln for ln in err.splitlines() if ln.startswith("maxrss_kib=")]
            results["baseline"] = {"seconds": seconds,
                                   "peakRssMiB": int(rss_line[-1].split("=")[1]) / 1024 if rss_line else 0.0}
            log(f"baseline: {seconds:.2f} s, {results['baseline']['peakRssMiB']:.0f} MiB")

            port = free_port()
            metrics = f"http://127.0.0.1:{port}/metrics"
            operator = Background("operator", [
                BIN, "operator", "--kubeconfig", cp.kubeconfig, "--prometheus", prom.url,
                "--interval", args.interval, "--no-leader-election",
                "--metrics-address", f"127.0.0.1:{port}"], work)
            started = time.monotonic()
            operator.start()

            def scrape(name, labels=None):
                try:
                    return metric_value(http_get(metrics, timeout=5)[1], name, labels) or 0
                except OSError:
                    return 0

            def all_written():
                check(operator.alive(), f"operator exited:\n{operator.log_text()[-2000:]}")
                return scrape("budgetgate_status_writes_total", {"result": "ok"}) >= args.slos
            wait_until(f"{args.slos} statuses written", all_written, timeout=1200, interval=0.2)
            first = time.monotonic() - started
            results["operator"] = {"firstReconcileSeconds": first, "reconcilesPerSecond": args.slos / first}
            log(f"operator: all {args.slos} statuses written after {first:.2f} s")

            cycles0 = scrape("budgetgate_evaluation_cycles_total")
            writes0 = scrape("budgetgate_status_writes_total", {"result": "ok"})
            durations = []
            for n in range(1, args.cycles + 1):
                wait_until(f"steady cycle {n}",
                           lambda: scrape("budgetgate_evaluation_cycles_total") >= cycles0 + n,
                           timeout=900, interval=0.5)
                durations.append(scrape("budgetgate_evaluation_duration_seconds"))
            writes = scrape("budgetgate_status_writes_total", {"result": "ok"}) - writes0
            op = results["operator"]
            op["steadyCycleSeconds"] = sum(durations) / len(durations)
            op["statusWritesPerCycle"] = writes / args.cycles
            op["peakRssMiB"] = peak_rss_mib(operator.proc.pid)
            op["writeErrors"] = scrape("budgetgate_status_writes_total", {"result": "error"})
            sizes = [len(json.dumps(i.get("status") or {}, separators=(",", ":")))
                     for i in cp.get_json("slo", "-n", "bench")["items"]]
            op["statusBytesMean"] = sum(sizes) / len(sizes)
            op["statusBytesMax"] = max(sizes)

            # Every SLO's written status agrees with the baseline evaluation.
            items = cp.get_json("slo", "-n", "bench")["items"]
            mismatched = []
            for item in items:
                st, base = item.get("status") or {}, baseline.get(item["metadata"]["name"], {})
                a = (st.get("errorBudget") or {}).get("remainingPercent")
                b = (base.get("errorBudget") or {}).get("remainingPercent")
                if a is None or b is None or abs(a - b) > 1.0:
                    mismatched.append((item["metadata"]["name"], a, b))
            results["statusesChecked"] = len(items)
            check(len(items) == args.slos, f"{len(items)} SLOs listed")
            check(not mismatched, f"statuses agree with the baseline (first mismatches: {mismatched[:5]})")
            check(op["writeErrors"] == 0, "no failed status writes")
            if args.compare_ledger:
                # The same cluster and Prometheus, the operator restarted without ledgers: the
                # difference between the two steady cycles is what the ledger costs.
                operator.stop()
                operator = Background("operator-no-ledger", [
                    BIN, "operator", "--kubeconfig", cp.kubeconfig, "--prometheus", prom.url,
                    "--interval", args.interval, "--no-leader-election", "--ledger-entries", "0",
                    "--metrics-address", f"127.0.0.1:{port}"], work)
                operator.start()
                wait_until("first cycle without ledgers",
                           lambda: scrape("budgetgate_evaluation_cycles_total") >= 1, timeout=900, interval=0.5)
                plain = []
                for n in range(2, args.cycles + 2):
                    wait_until(f"steady cycle {n} without ledgers",
                               lambda: scrape("budgetgate_evaluation_cycles_total") >= n, timeout=900, interval=0.5)
                    plain.append(scrape("budgetgate_evaluation_duration_seconds"))
                results["noLedger"] = {"steadyCycleSeconds": sum(plain) / len(plain),
                                       "peakRssMiB": peak_rss_mib(operator.proc.pid)}
        finally:
            if operator:
                operator.stop()
            cp.stop()
            prom.stop()

    base, op = results["baseline"], results["operator"]
    print(f"\nController with {args.slos} SLOs (30-day windows) in a real kube-apiserver + etcd, "
          f"Prometheus on the same 2 cores:\n")
    print("| measure | budgetgate evaluate (baseline) | budgetgate operator | ratio |")
    print("|---|---|---|---|")
    print(f"| first full pass ({args.slos} SLOs) | {base['seconds']:.2f} s | {op['firstReconcileSeconds']:.2f} s "
          f"(incl. {args.slos} status writes) | {op['firstReconcileSeconds'] / base['seconds']:.2f}x |")
    print(f"| reconcile throughput | {args.slos / base['seconds']:.0f} SLOs/s | {op['reconcilesPerSecond']:.0f} SLOs/s | "
          f"{op['reconcilesPerSecond'] / (args.slos / base['seconds']):.2f}x |")
    print(f"| steady cycle | - | {op['steadyCycleSeconds']:.2f} s, {op['statusWritesPerCycle']:.0f} writes | - |")
    print(f"| peak RSS | {base['peakRssMiB']:.0f} MiB | {op['peakRssMiB']:.0f} MiB | "
          f"{op['peakRssMiB'] / max(base['peakRssMiB'], 1):.2f}x |")
    print(f"| status size (ledger of up to 10 entries) | - | {op['statusBytesMean']:.0f} B mean, "
          f"{op['statusBytesMax']} B max | - |")
    if "noLedger" in results:
        nl = results["noLedger"]
        print(f"\nSteady cycle with ledgers {op['steadyCycleSeconds']:.3f} s vs without (--ledger-entries 0, "
              f"same run) {nl['steadyCycleSeconds']:.3f} s: "
              f"{op['steadyCycleSeconds'] / max(nl['steadyCycleSeconds'], 1e-9):.2f}x; "
              f"peak RSS {op['peakRssMiB']:.0f} vs {nl['peakRssMiB']:.0f} MiB")
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
