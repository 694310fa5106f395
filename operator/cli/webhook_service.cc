#include "operator/cli/webhook_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "operator/cli/manifests.h"
#include "operator/cli/service_runtime.h"
#include "operator/common/backoff.h"
#include "operator/common/duration.h"

namespace budgetgate::cli {
namespace {

cache::GateCacheOptions cacheOptions(const WebhookFlags& flags, const std::string& gateNamespace) {
  cache::GateCacheOptions o;
  o.gateNamespace = gateNamespace;
  o.defaultPolicyName = flags.defaultPolicyName;
  o.watchReplicaSets = !flags.noReplicaSetWatch;
  o.watchArgoRollouts = flags.gateArgoRollouts;
  if (!flags.fallbackPolicyFile.empty()) {
    auto policy = loadPolicy(flags.fallbackPolicyFile);
    if (!policy)
      throw std::runtime_error("--fallback-policy " + flags.fallbackPolicyFile + " is invalid");
    o.fallbackPolicy = *policy;
  }
  o.fallbackPolicy.name = o.fallbackPolicy.name.empty() ? "builtin" : o.fallbackPolicy.name;
  return o;
}

}  // namespace

void addWebhookFlags(CLI::App* cmd, WebhookFlags& f) {
  cmd->add_option("--tls-cert-file", f.certFile,
                  "serving certificate (PEM; reloaded when it changes)");
  cmd->add_option("--tls-key-file", f.keyFile, "serving key (PEM)");
  cmd->add_option("--webhook-address", f.address,
                  "address of the HTTPS admission endpoint (default 0.0.0.0:8443)");
  cmd->add_option("--webhook-threads", f.threads,
                  "I/O threads of the admission server (default 2)");
  cmd->add_option("--max-request-bytes", f.maxRequestBytes,
                  "largest AdmissionReview accepted (default 3 MiB)");
  cmd->add_option("--webhook-max-connections", f.maxConnections,
                  "open connections at most; at the limit the connection idle the longest is "
                  "closed to admit a new one, or the new one is refused when none is idle "
                  "(default 1024; lowered to fit RLIMIT_NOFILE)");
  cmd->add_option("--webhook-max-inflight-bytes", f.maxInflightBytes,
                  "request body bytes being received at once, across connections; a request "
                  "beyond it is answered 503 (default 32 MiB)");
  cmd->add_option("--webhook-request-timeout", f.requestTimeout,
                  "once a request has begun, all of it must arrive within this (default 10s)");
  cmd->add_option("--exempt-namespace", f.exemptNamespaces,
                  "never gate this namespace (repeatable; kube-system and budgetgate's own "
                  "namespace always are)");
  cmd->add_option("--default-policy-name", f.defaultPolicyName,
                  "ErrorBudgetPolicy used when an SLO has no policyRef (default \"default\")");
  cmd->add_option("--fallback-policy", f.fallbackPolicyFile,
                  "ErrorBudgetPolicy file used when the referenced policy does not exist and "
                  "before the cache has loaded (default: built-in defaults)");
  cmd->add_flag("--no-replicaset-watch", f.noReplicaSetWatch,
                "do not watch ReplicaSets (rollbacks are then not recognised)");
  cmd->add_option("--api-address", f.apiAddress,
                  "serve the decision API for CD tools over TLS on host:port (same certificate "
                  "as the webhook; callers authenticated by TokenReview and authorized by "
                  "SubjectAccessReview); default: off");
  cmd->add_flag("--gate-argo-rollouts", f.gateArgoRollouts,
                "also gate Argo Rollouts (argoproj.io/v1alpha1 Rollout): watch them and their "
                "ReplicaSets; without the Rollout CRD there is nothing to watch and the webhook "
                "looks again every 30 s");
  cmd->add_option("--trusted-controller-user", f.trustedControllerUsers,
                  "a workload controller's user name: Pods and ReplicaSets it writes are not "
                  "judged again (repeatable; default system:kube-controller-manager)");
  cmd->add_option("--trusted-controller-namespace", f.trustedControllerNamespaces,
                  "service accounts in this namespace are workload controllers (repeatable; "
                  "default kube-system)");
  cmd->add_option("--tls-bootstrap-secret", f.bootstrapSecret,
                  "manage the webhook certificate: keep a CA and serving pair in this Secret (in "
                  "budgetgate's namespace), renew it before expiry, write it to --tls-cert-file "
                  "and --tls-key-file");
  cmd->add_option("--tls-bootstrap-webhook", f.bootstrapWebhook,
                  "ValidatingWebhookConfiguration whose caBundle is kept equal to that CA");
  cmd->add_option("--tls-bootstrap-service", f.bootstrapService,
                  "Service name the certificate is issued for (default budgetgate)");
  cmd->add_option("--shutdown-delay", f.shutdownDelay,
                  "on SIGTERM, keep answering admission requests this long (reporting unready, "
                  "closing each connection after its response) before stopping, so that a "
                  "Service has stopped sending requests here first (default 0s)");
}

WebhookService::WebhookService(const WebhookFlags& flags, const kube::KubeConfig& config,
                               const std::string& gateNamespace, metrics::Registry& registry,
                               std::optional<std::vector<model::DataSourceDeclaration>> dataSources)
    : config_(config), cache_(cacheOptions(flags, gateNamespace)), registry_(registry) {
  if (flags.certFile.empty() || flags.keyFile.empty()) {
    throw std::runtime_error(
        "the webhook needs --tls-cert-file and --tls-key-file (the API server only calls HTTPS "
        "webhooks)");
  }
  const auto address = parseAddress(flags.address);
  if (!address)
    throw std::runtime_error("--webhook-address \"" + flags.address + "\" is not host:port");
  const auto requestTimeout = parseDuration(flags.requestTimeout);
  if (!requestTimeout || requestTimeout->count() <= 0) {
    throw std::runtime_error("--webhook-request-timeout takes a duration such as 10s, not \"" +
                             flags.requestTimeout + "\"");
  }
  const auto shutdownDelay = parseDuration(flags.shutdownDelay);
  if (!shutdownDelay || shutdownDelay->count() < 0) {
    throw std::runtime_error("--shutdown-delay takes a duration such as 5s, not \"" +
                             flags.shutdownDelay + "\"");
  }
  shutdownDelay_ = std::chrono::duration_cast<std::chrono::milliseconds>(*shutdownDelay);
  if (flags.maxConnections == 0 || flags.maxInflightBytes == 0) {
    throw std::runtime_error(
        "--webhook-max-connections and --webhook-max-inflight-bytes must be positive");
  }
  if (!flags.bootstrapSecret.empty()) {
    tls::BootstrapOptions b;
    b.ns = gateNamespace;
    b.secretName = flags.bootstrapSecret;
    b.webhookName = flags.bootstrapWebhook;
    b.serviceName = flags.bootstrapService;
    b.certFile = flags.certFile;
    b.keyFile = flags.keyFile;
    bootstrap_ = std::make_unique<tls::CertificateBootstrap>(config_, b);
    // The server cannot start without a certificate: wait for the first one (bounded).
    std::string error;
    Backoff backoff(std::chrono::milliseconds(500), std::chrono::seconds(4));
    for (int attempt = 0; attempt < 30; ++attempt) {
      error = bootstrap_->ensure();
      if (error.empty() || error.rfind("reading ValidatingWebhookConfiguration", 0) == 0) break;
      spdlog::warn("webhook TLS bootstrap: {} (retrying)", error);
      std::this_thread::sleep_for(backoff.next());
    }
    if (!error.empty() && error.rfind("reading ValidatingWebhookConfiguration", 0) != 0) {
      throw std::runtime_error("webhook TLS bootstrap failed: " + error);
    }
  }
  certificates_ = std::make_shared<server::CertificateStore>(flags.certFile, flags.keyFile);
  std::set<std::string, std::less<>> exempt{"kube-system", gateNamespace};
  exempt.insert(flags.exemptNamespaces.begin(), flags.exemptNamespaces.end());
  events_ = std::make_unique<kube::EventQueue>(config_, "budgetgate-webhook");
  admission::HandlerOptions handlerOptions;
  handlerOptions.exemptNamespaces = exempt;
  handlerOptions.notReadyPolicy = cacheOptions(flags, gateNamespace).fallbackPolicy;
  handlerOptions.recordNamespace = gateNamespace;
  handlerOptions.dataSources = std::move(dataSources);
  handlerOptions.trustedControllers.users = flags.trustedControllerUsers;
  handlerOptions.trustedControllers.serviceAccountNamespaces = flags.trustedControllerNamespaces;
  handler_ = std::make_unique<admission::AdmissionHandler>(
      cache_, std::move(handlerOptions), [this](admission::AdmissionEvent e) {
        events_->push({e.apiVersion, e.kind, e.ns, e.name, e.uid}, e.type, e.reason, e.message);
      });
  server::ServerOptions options;
  options.address = address->first;
  options.port = address->second;
  options.threads = static_cast<std::size_t>(std::max(1, flags.threads));
  options.maxBodyBytes = flags.maxRequestBytes;
  options.maxConnections = flags.maxConnections;
  options.maxInflightBodyBytes = flags.maxInflightBytes;
  options.requestTimeout = *requestTimeout;
  options.certificates = certificates_;
  if (!flags.apiAddress.empty()) {
    const auto apiAddress = parseAddress(flags.apiAddress);
    if (!apiAddress) {
      throw std::runtime_error("--api-address \"" + flags.apiAddress + "\" is not host:port");
    }
    api_ = std::make_unique<api::DecisionApi>(
        cache_, std::make_unique<api::RequestAuthorizer>(config_), exempt);
    server::ServerOptions apiOptions = options;
    apiOptions.address = apiAddress->first;
    apiOptions.port = apiAddress->second;
    apiOptions.threads = 1;
    apiOptions.maxBodyBytes = 64 * 1024;  // Flagger's POST carries a small JSON document
    apiOptions.maxConnections = std::min<std::size_t>(flags.maxConnections, 256);
    apiOptions.maxInflightBodyBytes = 4 * 1024 * 1024;
    apiServer_ =
        std::make_unique<server::HttpServer>(apiOptions, [this](const server::HttpRequest& r) {
          const auto path = r.target.substr(0, r.target.find('?'));
          if (path == "/healthz")
            return server::HttpResponse{200, "text/plain; charset=utf-8", "ok\n"};
          return api_->handle(r);
        });
  }
  server_ = std::make_unique<server::HttpServer>(options, [this](const server::HttpRequest& r) {
    const auto path = r.target.substr(0, r.target.find('?'));
    // One handler for every kind it is registered for; it reads request.kind. The paths only
    // tell the webhook configuration's entries apart in logs.
    if (path == "/validate" || path.rfind("/validate/", 0) == 0) return handler_->handle(r);
    if (path == "/readyz") {
      const bool ok = ready();
      return server::HttpResponse{ok ? 200 : 503, "text/plain; charset=utf-8",
                                  ok ? "ok\n" : notReadyReason() + "\n"};
    }
    if (path == "/healthz") return server::HttpResponse{200, "text/plain; charset=utf-8", "ok\n"};
    if (path == "/metrics") {
      return server::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                                  registry_.render()};
    }
    return server::HttpResponse{404, "text/plain; charset=utf-8", "not found\n"};
  });
  registerMetrics();
}

std::string WebhookService::notReadyReason() const {
  if (!cache_.ready()) return "SLO cache not loaded";
  if (bootstrap_ && !bootstrap_->caBundleConfirmed())
    return "webhook CA not yet confirmed in the ValidatingWebhookConfiguration's caBundle";
  return "ready";
}

WebhookService::~WebhookService() {
  stop();
}

void WebhookService::start() {
  if (bootstrap_) bootstrap_->startBackground();
  cache_.start(config_);
  server_->start();
  spdlog::info("admission webhook listening on port {} (TLS)", server_->port());
  if (apiServer_) {
    apiServer_->start();
    spdlog::info("decision API listening on port {} (TLS)", apiServer_->port());
  }
}

void WebhookService::shutdown() {
  shuttingDown_ = true;
  if (server_) server_->beginDrain();
  if (shutdownDelay_.count() > 0) {
    spdlog::info("unready; answering admission requests for {} ms more (--shutdown-delay)",
                 shutdownDelay_.count());
    std::this_thread::sleep_for(shutdownDelay_);
  }
  if (server_) server_->drainAndStop(std::chrono::seconds(5));
  stop();
}

void WebhookService::stop() {
  if (bootstrap_) bootstrap_->stop();
  if (apiServer_) apiServer_->stop();
  if (server_) server_->stop();
  cache_.stop();
}

void WebhookService::registerMetrics() {
  using T = metrics::Registry::Type;
  auto& r = registry_;
  auto& regs = metricRegistrations_;
  regs = handler_->metrics().registerIn(r);
  // A family of one unlabelled series, read at render time.
  const auto single = [&](const char* name, T type, const char* help, std::function<double()> f) {
    r.describe(name, type, help);
    regs.push_back(r.observe(name, {}, std::move(f)));
  };
  const auto value = [](const std::atomic<long long>& a) {
    return [&a] { return static_cast<double>(a.load(std::memory_order_relaxed)); };
  };
  single("budgetgate_webhook_cache_age_seconds", T::Gauge,
         "Seconds since the SLO cache last heard from the API server.",
         [this] { return cache_.secondsSinceContact(); });
  single("budgetgate_webhook_ready", T::Gauge, "Whether the SLO cache has loaded (1) or not (0).",
         [this] { return cache_.ready() ? 1.0 : 0.0; });
  const auto& s = server_->stats();
  single("budgetgate_webhook_connections_total", T::Counter,
         "Connections accepted and admitted by the webhook server.", value(s.connections));
  r.describe("budgetgate_webhook_rejected_requests_total", T::Counter,
             "Requests or connections the webhook server refused, by reason.");
  for (const auto& [reason, counter] :
       {std::pair<const char*, const std::atomic<long long>*>{"too-large", &s.rejectedTooLarge},
        {"malformed-http", &s.malformed},
        {"tls-handshake", &s.tlsHandshakeFailures},
        {"overloaded", &s.rejectedOverloaded},
        {"request-timeout", &s.requestTimeouts}}) {
    regs.push_back(r.observe("budgetgate_webhook_rejected_requests_total", {{"reason", reason}},
                             value(*counter)));
  }
  single("budgetgate_webhook_connections_shed_total", T::Counter,
         "Idle connections closed to make room for new ones.", value(s.connectionsShed));
  single("budgetgate_webhook_connections_refused_total", T::Counter,
         "New connections closed at once: at the limit with none idle.",
         value(s.connectionsRefused));
  single("budgetgate_webhook_accept_errors_total", T::Counter,
         "Failed accepts (out of file descriptors...), each followed by a pause.",
         value(s.acceptErrors));
  single("budgetgate_webhook_open_connections", T::Gauge, "Connections open.",
         value(s.openConnections));
  single("budgetgate_webhook_max_connections", T::Gauge, "The connection limit in force.",
         [this] { return static_cast<double>(server_->maxConnections()); });
  single("budgetgate_webhook_inflight_body_bytes", T::Gauge,
         "Request body bytes reserved for requests being received.", value(s.inflightBodyBytes));
  r.describe("budgetgate_webhook_certificate_expiry_timestamp_seconds", T::Gauge,
             "notAfter of the serving certificate.");
  regs.push_back(r.collect("budgetgate_webhook_certificate_expiry_timestamp_seconds",
                           [this](std::vector<metrics::Sample>& out) {
                             if (auto notAfter = certificates_->notAfter())
                               out.push_back({{}, static_cast<double>(*notAfter)});
                           }));
  single("budgetgate_webhook_certificate_reloads_total", T::Counter, "Serving certificate reloads.",
         [this] { return static_cast<double>(certificates_->reloads()); });
  r.describe("budgetgate_webhook_cached_objects", T::Gauge, "Objects in the gate cache, by kind.");
  regs.push_back(
      r.collect("budgetgate_webhook_cached_objects", [this](std::vector<metrics::Sample>& out) {
        const auto snap = cache_.snapshot();
        out.push_back({{{"kind", "slo"}}, static_cast<double>(snap->sloCount)});
        out.push_back({{{"kind", "policy"}}, static_cast<double>(snap->policyCount)});
        out.push_back({{{"kind", "replicaset"}}, static_cast<double>(snap->replicaSetCount)});
        out.push_back(
            {{{"kind", "controllerrevision"}}, static_cast<double>(snap->controllerRevisionCount)});
        out.push_back({{{"kind", "workload"}}, static_cast<double>(snap->workloadCount)});
      }));
  if (api_) {
    single("budgetgate_api_reviews_total", T::Counter,
           "TokenReviews and SubjectAccessReviews the decision API sent to the API server.",
           [this] { return static_cast<double>(api_->reviewsSent()); });
  }
  single("budgetgate_webhook_events_dropped_total", T::Counter,
         "Admission Events dropped because the event queue was full.",
         [this] { return static_cast<double>(events_->dropped()); });
}

}  // namespace budgetgate::cli
