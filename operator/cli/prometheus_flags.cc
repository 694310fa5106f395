#include "operator/cli/prometheus_flags.h"

#include <fmt/format.h>

#include <cctype>
#include <iostream>
#include <optional>
#include <string_view>
#include <utility>

#include "operator/cli/cli_io.h"
#include "operator/common/duration.h"
#include "operator/model/data_source.h"

namespace budgetgate::cli {

void addPrometheusFlags(CLI::App* cmd, PrometheusFlags& f, bool required) {
  auto* url =
      cmd->add_option("--prometheus", f.url, "Prometheus base URL, e.g. http://127.0.0.1:9090");
  if (required) url->required();
  cmd->add_option("--prometheus-timeout", f.timeout, "per-query timeout (default 30s)");
  cmd->add_option("--prometheus-retries", f.retries,
                  "retries of a query after a transport error or 5xx (default 2)");
  cmd->add_option("--prometheus-bearer-token-file", f.bearerTokenFile,
                  "file with a bearer token (re-read on every query)");
  cmd->add_option("--prometheus-basic-auth-file", f.basicAuthFile,
                  "file with user:password for basic auth");
  cmd->add_option("--prometheus-ca-file", f.caFile, "PEM CA bundle for an https Prometheus");
  cmd->add_flag("--prometheus-insecure-skip-verify", f.insecureSkipVerify,
                "do not verify the Prometheus certificate (testing only)");
  cmd->add_option("--prometheus-concurrency", f.concurrency,
                  "queries in flight at once (default 4)");
  cmd->add_option("--prometheus-header", f.headers,
                  "a header sent with every query, NAME=VALUE (repeatable), e.g. "
                  "X-Scope-OrgID=team-a for a Mimir, Cortex or Thanos tenant");
}

namespace {

// "Name=value" or "Name: value"; the name must be an HTTP token, neither may hold CR/LF.
std::optional<std::pair<std::string, std::string>> parseHeader(const std::string& text) {
  const auto sep = text.find_first_of("=:");
  if (sep == std::string::npos || sep == 0) return std::nullopt;
  std::string name = text.substr(0, sep);
  std::string value = text.substr(sep + 1);
  while (!value.empty() && value.front() == ' ') value.erase(value.begin());
  if (!model::validHeader(name, value)) return std::nullopt;
  return std::pair{name, value};
}

}  // namespace

std::unique_ptr<prometheus::PrometheusClient> makePrometheusClient(const PrometheusFlags& f) {
  prometheus::ClientConfig config;
  config.http.baseUrl = f.url;
  while (!config.http.baseUrl.empty() && config.http.baseUrl.back() == '/')
    config.http.baseUrl.pop_back();
  const auto timeout = parseDuration(f.timeout);
  if (!timeout || timeout->count() <= 0) {
    std::cerr << fmt::format("--prometheus-timeout \"{}\": expected a duration such as 30s\n",
                             f.timeout);
    return nullptr;
  }
  config.http.timeout = *timeout;
  config.retries = std::max(0, f.retries);
  config.http.bearerTokenFile = f.bearerTokenFile;
  config.http.caFile = f.caFile;
  config.http.insecureSkipVerify = f.insecureSkipVerify;
  for (const auto& h : f.headers) {
    auto header = parseHeader(h);
    if (!header) {
      std::cerr << fmt::format(
          "--prometheus-header \"{}\": expected NAME=VALUE with a header name such as "
          "X-Scope-OrgID\n",
          h);
      return nullptr;
    }
    config.http.headers.push_back(std::move(*header));
  }
  if (!f.basicAuthFile.empty()) {
    std::string error;
    auto text = readInput(f.basicAuthFile, &error);
    if (!text) {
      std::cerr << error << '\n';
      return nullptr;
    }
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
    const auto colon = text->find(':');
    if (colon == std::string::npos) {
      std::cerr << fmt::format("{}: expected user:password\n", f.basicAuthFile);
      return nullptr;
    }
    config.http.username = text->substr(0, colon);
    config.http.password = text->substr(colon + 1);
  }
  try {
    return std::make_unique<prometheus::PrometheusClient>(config);
  } catch (const std::exception& e) {
    std::cerr << fmt::format("--prometheus {}: {}\n", f.url, e.what());
    return nullptr;
  }
}

}  // namespace budgetgate::cli
