#pragma once
// The --prometheus connection flags shared by evaluate, backtest and operator.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "operator/prometheus/prometheus_client.h"

namespace budgetgate::cli {

struct PrometheusFlags {
  std::string url;
  std::string timeout = "30s";
  int retries = 2;
  std::string bearerTokenFile;
  std::string basicAuthFile;  // "user:password" in a file, so it stays out of `ps`
  std::string caFile;
  bool insecureSkipVerify = false;
  int concurrency = 4;
  // "Name: value" or "Name=value", sent with every query (X-Scope-OrgID for Mimir, Cortex or a
  // Thanos tenant).
  std::vector<std::string> headers;
};

void addPrometheusFlags(CLI::App* cmd, PrometheusFlags& flags, bool required = true);

// nullptr (and a message on stderr) for unusable settings such as a missing CA file.
std::unique_ptr<prometheus::PrometheusClient> makePrometheusClient(const PrometheusFlags& flags);

}  // namespace budgetgate::cli
