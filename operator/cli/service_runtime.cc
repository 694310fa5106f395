#include "operator/cli/service_runtime.h"

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

namespace budgetgate::cli {

void blockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that disappears mid-write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
}

std::string waitForTermination() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

std::optional<std::pair<std::string, unsigned short>> parseAddress(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  try {
    const int port = std::stoi(text.substr(colon + 1));
    if (port < 0 || port > 65535) return std::nullopt;
    return std::make_pair(host, static_cast<unsigned short>(port));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void addKubeFlags(CLI::App* cmd, KubeFlags& flags) {
  cmd->add_option("--kubeconfig", flags.kubeconfig,
                  "kubeconfig file (default: $KUBECONFIG, in-cluster, then ~/.kube/config)");
  cmd->add_option("--context", flags.context, "kubeconfig context (default: current-context)");
  cmd->add_option("--namespace", flags.ns,
                  "budgetgate's own namespace: exempt from gating, holds the default policy and "
                  "the lease (default: $POD_NAMESPACE, else the kubeconfig's)");
  cmd->add_option("--list-page-size", flags.listPageSize,
                  "objects per page when listing from the API server (limit/continue); 0 lists "
                  "each resource in one response (default 500)");
}

std::optional<kube::KubeConfig> resolveKube(const KubeFlags& flags) {
  std::string error;
  auto config = kube::resolveConfig(flags.kubeconfig, flags.context, &error);
  if (!config) {
    std::cerr << "budgetgate: " << error << '\n';
    return config;
  }
  config->listPageSize = flags.listPageSize;
  return config;
}

std::string gateNamespace(const KubeFlags& flags, const kube::KubeConfig& config) {
  if (!flags.ns.empty()) return flags.ns;
  if (const char* env = std::getenv("POD_NAMESPACE"); env != nullptr && *env != '\0') return env;
  return config.defaultNamespace;
}

server::HttpResponse serveOps(const server::HttpRequest& request, const metrics::Registry& registry,
                              const Probes& probes) {
  const auto path = request.target.substr(0, request.target.find('?'));
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8", registry.render()};
  }
  if (path == "/healthz" || path == "/livez") {
    const bool ok = !probes.healthy || probes.healthy();
    return {ok ? 200 : 503, "text/plain; charset=utf-8", ok ? "ok\n" : "unhealthy\n"};
  }
  if (path == "/readyz") {
    const bool ok = !probes.ready || probes.ready();
    return {ok ? 200 : 503, "text/plain; charset=utf-8", ok ? "ok\n" : "not ready\n"};
  }
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

}  // namespace budgetgate::cli
