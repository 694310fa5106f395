// Benchmark: evaluation cycles of many SLOs against a real Prometheus.
//
// Runs the controller's evaluator for --cycles cycles, --interval apart (instants in the
// past, inside the bench scenario's history), and prints one JSON line: time per cycle (first
// and steady state), queries per cycle, peak RSS. --mode selects how: "shared" (the default:
// hourly buckets + sharing across SLOs), "unshared" (buckets, one query set per SLO) or "naive"
// (every window queried whole every cycle, no sharing: the baseline). --window sets the SLOs'
// rolling window (30d by default; the history must cover it).

#include <fmt/format.h>
#include <sys/resource.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "operator/model/slo_parser.h"
#include "operator/prometheus/prometheus_client.h"
#include "operator/prometheus/slo_evaluator.h"

using namespace budgetgate;

namespace {

std::string sloYaml(int i, const std::string& window) {
  return fmt::format(R"(apiVersion: slo.budgetgate.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {{name: bench-{0:04d}, namespace: bench}}
spec:
  service: bench-{0:04d}
  indicator:
    spec:
      ratioMetric:
        counter: true
        good: {{metricSource: {{type: Prometheus, spec: {{query: 'http_requests_total{{service="bench-{0:04d}",code!="500"}}'}}}}}}
        total: {{metricSource: {{type: Prometheus, spec: {{query: 'http_requests_total{{service="bench-{0:04d}"}}'}}}}}}
  timeWindow: [{{duration: {1}, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.999}}]
)",
                     i, window);
}

long peakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, mode = "shared", at = "2026-01-30T22:00:00Z", window = "30d";
  int slos = 1000, cycles = 5, intervalSeconds = 300;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--prometheus")
      url = value;
    else if (flag == "--mode")
      mode = value;
    else if (flag == "--slos")
      slos = std::stoi(value);
    else if (flag == "--cycles")
      cycles = std::stoi(value);
    else if (flag == "--interval")
      intervalSeconds = std::stoi(value);
    else if (flag == "--at")
      at = value;
    else if (flag == "--window")
      window = value;
  }
  if (url.empty() || (mode != "shared" && mode != "unshared" && mode != "naive")) {
    std::cerr
        << "usage: evaluator_bench --prometheus URL [--mode shared|unshared|naive] [--slos N] "
           "[--cycles K] [--interval SECONDS] [--at RFC3339] [--window 30d]\n";
    return 2;
  }
  std::vector<model::ServiceLevelObjective> parsed;
  parsed.reserve(static_cast<std::size_t>(slos));
  for (int i = 0; i < slos; ++i) {
    model::Diagnostics diag("bench");
    auto slo = model::parseSlo(YAML::Load(sloYaml(i, window)), diag);
    if (!slo) {
      std::cerr << diag.format();
      return 2;
    }
    parsed.push_back(std::move(*slo));
  }
  prometheus::ClientConfig config;
  config.http.baseUrl = url;
  config.http.timeout = std::chrono::seconds(120);
  prometheus::PrometheusClient client(config);
  prometheus::EvaluatorOptions options;
  options.planner.shareAcrossSlos = mode == "shared";
  options.incrementalWindows = mode != "naive";
  prometheus::SloEvaluator evaluator(client, options);
  engine::ErrorBudgetPolicy policy;
  std::vector<prometheus::EvaluationTarget> targets;
  for (const auto& s : parsed) targets.push_back({&s, &policy, nullptr, {}, {}});

  const TimePoint start = *parseTime(at);
  std::vector<double> seconds;
  std::vector<std::size_t> queries;
  std::size_t unknown = 0;
  std::vector<model::SloStatus> previous;  // what targets[i].previous points at
  for (int c = 0; c < cycles; ++c) {
    const auto before = client.counters().queries.load();
    const auto t0 = std::chrono::steady_clock::now();
    auto statuses =
        evaluator.evaluate(targets, start + Seconds(static_cast<long long>(c) * intervalSeconds));
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    queries.push_back(static_cast<std::size_t>(client.counters().queries.load() - before));
    // Feed statuses back as the controller does (hysteresis state).
    unknown =
        static_cast<std::size_t>(std::count_if(statuses.begin(), statuses.end(), [](const auto& s) {
          return s.tier == engine::Tier::Unknown;
        }));
    previous = std::move(statuses);
    for (std::size_t i = 0; i < targets.size(); ++i) targets[i].previous = &previous[i];
  }
  double steady = 0;
  std::size_t steadyQueries = 0;
  for (int c = 1; c < cycles; ++c) {
    steady += seconds[static_cast<std::size_t>(c)];
    steadyQueries += queries[static_cast<std::size_t>(c)];
  }
  const int steadyCycles = std::max(1, cycles - 1);
  std::cout
      << fmt::format(
             R"({{"mode":"{}","window":"{}","slos":{},"cycles":{},"firstCycleSeconds":{:.3f},"steadyCycleSeconds":{:.3f},)"
             R"("firstCycleQueries":{},"steadyCycleQueries":{:.1f},"peakRssMiB":{:.1f},"unknownSlos":{},"failedQueries":{}}})",
             mode, window, slos, cycles, seconds.front(), steady / steadyCycles, queries.front(),
             static_cast<double>(steadyQueries) / steadyCycles,
             static_cast<double>(peakRssKb()) / 1024.0, unknown, client.counters().failures.load())
      << std::endl;
  return unknown == 0 ? 0 : 3;
}
