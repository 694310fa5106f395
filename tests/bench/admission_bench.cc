// Micro-benchmark: the admission decision path without the network — AdmissionReview parse,
// selector match, pod-template fingerprints, decision, response — on one core.
//
//   admission_bench REVIEW.json [iterations]

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "operator/common/json.h"
#include "webhook/admission/admission_handler.h"

using namespace budgetgate;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: admission_bench REVIEW.json [iterations]\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  const int iterations = argc > 2 ? std::stoi(argv[2]) : 20000;

  cache::GateCache cache(cache::GateCacheOptions{});
  std::string error;
  auto slo =
      json::parse(R"({"metadata":{"namespace":"bench","name":"web-availability","generation":1},
    "spec":{"gate":{"selector":{"matchLabels":{"app":"web"}}}},
    "status":{"lastEvaluated":"2100-01-01T00:00:00Z","tier":"healthy","target":0.999,
              "errorBudget":{"remainingPercent":90,"consumedPercent":10},
              "burnRates":{"5m":0.2,"30m":0.2,"1h":0.2,"2h":0.2,"6h":0.2,"1d":0.2,"3d":0.2}}})",
                  &error);
  cache.upsertSlo(*slo);
  cache.rebuild();
  admission::AdmissionHandler handler(cache, admission::HandlerOptions{}, nullptr);
  server::HttpRequest request{"POST", "/validate/deployments", "application/json", text.str()};

  auto first = handler.handle(request);
  if (first.status != 200 || first.body.find("\"allowed\":true") == std::string::npos) {
    std::cerr << "unexpected response: " << first.body << "\n";
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  std::size_t bytes = 0;
  for (int i = 0; i < iterations; ++i) bytes += handler.handle(request).body.size();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout
      << fmt::format(
             R"({{"reviewBytes":{},"iterations":{},"microsecondsPerDecision":{:.2f},"decisionsPerSecondOneCore":{:.0f},"responseBytes":{}}})",
             request.body.size(), iterations, seconds / iterations * 1e6, iterations / seconds,
             bytes / static_cast<std::size_t>(iterations))
      << std::endl;
  return 0;
}
