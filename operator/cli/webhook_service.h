#pragma once
// The admission webhook as a running service: gate cache (watches), TLS server, exception
// events. Used by `budgetgate webhook` and, when TLS files are given, `budgetgate operator`.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "operator/kube/event_queue.h"
#include "webhook/admission/admission_handler.h"
#include "webhook/cache/gate_cache.h"
#include "webhook/server/http_server.h"
#include "webhook/tls/certificate_bootstrap.h"

namespace budgetgate::cli {

struct WebhookFlags {
  std::string certFile;
  std::string keyFile;
  std::string address = "0.0.0.0:8443";
  int threads = 2;
  std::size_t maxRequestBytes = 3 * 1024 * 1024;
  // What clients without credentials can make the server hold (server::ServerOptions).
  std::size_t maxConnections = 1024;
  std::size_t maxInflightBytes = 32 * 1024 * 1024;
  std::string requestTimeout = "10s";
  std::vector<std::string> exemptNamespaces;
  std::string defaultPolicyName = "default";
  std::string fallbackPolicyFile;
  bool noReplicaSetWatch = false;
  // Identities of the workload controllers (admission/trusted_controllers.h).
  std::vector<std::string> trustedControllerUsers{"system:kube-controller-manager"};
  std::vector<std::string> trustedControllerNamespaces{"kube-system"};
  // Self-managed TLS (tls/certificate_bootstrap.h): when the secret name is set, budgetgate
  // creates and renews its certificate and writes it to --tls-cert-file/--tls-key-file.
  std::string bootstrapSecret;
  std::string bootstrapWebhook;
  std::string bootstrapService = "budgetgate";
};

void addWebhookFlags(CLI::App* cmd, WebhookFlags& flags);

class WebhookService {
 public:
  // Throws std::runtime_error with a clear message for unusable settings.
  WebhookService(const WebhookFlags& flags, const kube::KubeConfig& config,
                 const std::string& gateNamespace);
  ~WebhookService();
  void start();
  void stop();
  bool ready() const { return cache_.ready(); }
  unsigned short port() const { return server_->port(); }
  void renderMetrics(std::string& out) const;

 private:
  kube::KubeConfig config_;
  cache::GateCache cache_;
  std::unique_ptr<kube::EventQueue> events_;
  std::unique_ptr<admission::AdmissionHandler> handler_;
  std::unique_ptr<server::HttpServer> server_;
  std::shared_ptr<server::CertificateStore> certificates_;
  std::unique_ptr<tls::CertificateBootstrap> bootstrap_;
};

}  // namespace budgetgate::cli
