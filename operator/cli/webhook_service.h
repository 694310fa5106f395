#pragma once
// The admission webhook as a running service: gate cache (watches), TLS server, exception
// events. Used by `budgetgate webhook` and, when TLS files are given, `budgetgate operator`.

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operator/kube/event_queue.h"
#include "operator/metrics/registry.h"
#include "operator/model/data_source.h"
#include "webhook/admission/admission_handler.h"
#include "webhook/api/decision_api.h"
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
  bool gateArgoRollouts = false;
  // The decision API's own TLS listener (same certificate), empty: off.
  std::string apiAddress;  // also judge argoproj.io Rollouts (watches them)
  // Identities of the workload controllers (admission/trusted_controllers.h).
  std::vector<std::string> trustedControllerUsers{"system:kube-controller-manager"};
  std::vector<std::string> trustedControllerNamespaces{"kube-system"};
  // Self-managed TLS (tls/certificate_bootstrap.h): when the secret name is set, budgetgate
  // creates and renews its certificate and writes it to --tls-cert-file/--tls-key-file.
  std::string bootstrapSecret;
  std::string bootstrapWebhook;
  std::string bootstrapService = "budgetgate";
  // On SIGTERM, keep answering (unready, closing each connection after its response) this long
  // before stopping: a replica leaving a Service is still sent requests until the endpoint
  // removal has reached every node (kube-proxy) and the API server's kept-alive connections.
  std::string shutdownDelay = "0s";
};

void addWebhookFlags(CLI::App* cmd, WebhookFlags& flags);

class WebhookService {
 public:
  // Throws std::runtime_error with a clear message for unusable settings.
  // Its metrics are registered in `registry` (which must outlive it) and served, with whatever
  // else the registry holds, on /metrics of the webhook port.
  // `dataSources`: the controller's named data sources when it runs in the same process (SLOs
  // naming others are admitted with a warning); nullopt when they are not known here.
  WebhookService(const WebhookFlags& flags, const kube::KubeConfig& config,
                 const std::string& gateNamespace, metrics::Registry& registry,
                 std::optional<std::vector<model::DataSourceDeclaration>> dataSources = {});
  ~WebhookService();
  void start();
  // Graceful: unready at once, keeps answering for --shutdown-delay with every response closing
  // its connection, then stops accepting and waits (up to 5 s) for requests in progress.
  void shutdown();
  void stop();
  // Ready once the SLO cache has loaded and, with self-managed TLS, the API server has the CA
  // to verify this replica (the caBundle is confirmed in the webhook configuration).
  bool ready() const {
    return !shuttingDown_ && cache_.ready() && (!bootstrap_ || bootstrap_->caBundleConfirmed());
  }
  // Why not ready, for /readyz.
  std::string notReadyReason() const;
  unsigned short port() const { return server_->port(); }

 private:
  void registerMetrics();

  kube::KubeConfig config_;
  cache::GateCache cache_;
  metrics::Registry& registry_;
  std::unique_ptr<kube::EventQueue> events_;
  std::unique_ptr<admission::AdmissionHandler> handler_;
  std::unique_ptr<server::HttpServer> server_;
  std::unique_ptr<api::DecisionApi> api_;
  std::unique_ptr<server::HttpServer> apiServer_;
  std::shared_ptr<server::CertificateStore> certificates_;
  std::unique_ptr<tls::CertificateBootstrap> bootstrap_;
  std::chrono::milliseconds shutdownDelay_{0};
  std::atomic<bool> shuttingDown_{false};
  // Last: unregistered first, before anything their callbacks read is destroyed.
  std::vector<metrics::Registration> metricRegistrations_;
};

}  // namespace budgetgate::cli
