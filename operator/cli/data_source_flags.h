#pragma once
// --datasources: the named data sources SLOs may read by metricSourceRef, declared by whoever
// runs the controller (operator/model/data_source.h), each with its own Prometheus client.

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operator/cli/prometheus_flags.h"
#include "operator/prometheus/multi_source_evaluator.h"

namespace budgetgate::cli {

void addDataSourcesFlag(CLI::App* cmd, std::string& path);

struct DataSourceClients {
  std::vector<std::unique_ptr<prometheus::PrometheusClient>> clients;  // owned here
  std::vector<prometheus::NamedDataSource> sources;                    // pointing at them
};

// The data sources declared in the file at `path` (none for an empty path). Settings a
// declaration leaves out (timeout, retries, concurrency) are the --prometheus-* flags'; headers,
// credentials and TLS are the declaration's alone. nullopt (every problem on stderr) when the
// file cannot be read or a declaration is invalid.
std::optional<DataSourceClients> makeDataSourceClients(const std::string& path,
                                                       const PrometheusFlags& defaults);

}  // namespace budgetgate::cli
