#include "operator/cli/data_source_flags.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "operator/cli/cli_io.h"
#include "operator/model/data_source.h"

namespace budgetgate::cli {

void addDataSourcesFlag(CLI::App* cmd, std::string& path) {
  cmd->add_option("--datasources", path,
                  "YAML file of OpenSLO DataSource documents (type Prometheus; "
                  "connectionDetails: url, headers, timeout, bearerTokenFile, basicAuthFile, "
                  "caFile, insecureSkipVerify, allowedNamespaces) that SLOs may name in "
                  "metricSourceRef; SLOs without one read --prometheus");
}

std::optional<DataSourceClients> makeDataSourceClients(const std::string& path,
                                                       const PrometheusFlags& defaults) {
  DataSourceClients out;
  if (path.empty()) return out;
  std::vector<Document> docs;
  std::string error;
  if (!loadDocuments(path, docs, &error)) {
    std::cerr << "--datasources " << error << '\n';
    return std::nullopt;
  }
  std::vector<YAML::Node> nodes;
  for (const auto& d : docs) nodes.push_back(d.node);
  model::Diagnostics diagnostics(path);
  auto declarations = model::parseDataSources(nodes, diagnostics);
  if (!diagnostics.ok()) {
    std::cerr << diagnostics.format();
    return std::nullopt;
  }
  if (declarations.empty()) {
    std::cerr << fmt::format("--datasources {}: declares no DataSource\n", path);
    return std::nullopt;
  }
  for (auto& d : declarations) {
    PrometheusFlags flags;
    flags.url = d.url;
    flags.timeout = d.timeout.empty() ? defaults.timeout : d.timeout;
    flags.retries = defaults.retries;
    flags.concurrency = defaults.concurrency;
    flags.bearerTokenFile = d.bearerTokenFile;
    flags.basicAuthFile = d.basicAuthFile;
    flags.caFile = d.caFile;
    flags.insecureSkipVerify = d.insecureSkipVerify;
    for (const auto& [name, value] : d.headers) flags.headers.push_back(name + "=" + value);
    auto client = makePrometheusClient(flags);
    if (!client) {
      std::cerr << fmt::format("--datasources {}: data source \"{}\" is unusable (above)\n", path,
                               d.name);
      return std::nullopt;
    }
    spdlog::info("data source {}: {}{}", d.name, d.url,
                 d.allowedNamespaces.empty()
                     ? std::string()
                     : fmt::format(" (namespaces {})", fmt::join(d.allowedNamespaces, ", ")));
    out.sources.push_back({std::move(d), client.get()});
    out.clients.push_back(std::move(client));
  }
  return out;
}

}  // namespace budgetgate::cli
