#pragma once
// Plumbing shared by the long-running commands (operator, webhook): signals, addresses,
// Kubernetes flags, and the /metrics /healthz /readyz endpoints.

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "operator/kube/kube_config.h"
#include "operator/metrics/registry.h"
#include "webhook/server/http_server.h"

namespace budgetgate::cli {

// Call before starting any thread: SIGINT/SIGTERM are then only seen by waitForTermination.
void blockTerminationSignals();
// Blocks until SIGINT or SIGTERM; returns its name.
std::string waitForTermination();

// "0.0.0.0:8080", ":8080", "[::1]:8443" -> address and port.
std::optional<std::pair<std::string, unsigned short>> parseAddress(const std::string& text);

struct KubeFlags {
  std::string kubeconfig;
  std::string context;
  std::string ns;  // budgetgate's own namespace
  std::size_t listPageSize = 500;
};
void addKubeFlags(CLI::App* cmd, KubeFlags& flags);
std::optional<kube::KubeConfig> resolveKube(const KubeFlags& flags);
// --namespace, else $POD_NAMESPACE, else the kubeconfig's namespace.
std::string gateNamespace(const KubeFlags& flags, const kube::KubeConfig& config);

struct Probes {
  std::function<bool()> ready;
  std::function<bool()> healthy;
};

// Serves GET /metrics, /healthz and /readyz; anything else is 404.
server::HttpResponse serveOps(const server::HttpRequest& request, const metrics::Registry& registry,
                              const Probes& probes);

}  // namespace budgetgate::cli
