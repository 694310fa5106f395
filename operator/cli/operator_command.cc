// budgetgate operator: the SLO controller, its metrics endpoint, and optionally the webhook.

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <random>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/cli/data_source_flags.h"
#include "operator/cli/manifests.h"
#include "operator/cli/prometheus_flags.h"
#include "operator/cli/service_runtime.h"
#include "operator/cli/webhook_service.h"
#include "operator/controller/slo_controller.h"
#include "operator/statuspage/status_page.h"

namespace budgetgate::cli {
namespace {

struct OperatorOptions {
  KubeFlags kube;
  PrometheusFlags prometheus;
  WebhookFlags webhook;
  std::string interval = "30s";
  std::string heartbeat = "2m";
  std::string metricsAddress = "0.0.0.0:8080";
  bool noLeaderElection = false;
  bool noNamespaceLabels = false;
  std::string webhookConfiguration;
  std::string leaseName = "budgetgate-controller";
  std::string identity;
  int ledgerEntries = 10;
  // The status page (operator/statuspage/): off unless an address is given.
  std::string statusAddress;
  std::string statusAuth = "kubernetes";
  std::string statusCertFile;
  std::string statusKeyFile;
  std::string teamLabel = "team";
  double statusWriteQps = 200;
  int statusWriteBurst = 400;
  std::string shard = "0/1";
  std::string dataSourcesFile;
};

bool isLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.starts_with("127.");
}

// The status page's listener: its own port and threads, off the admission path.
std::unique_ptr<server::HttpServer> makeStatusServer(const OperatorOptions& o,
                                                     statuspage::StatusPage& page) {
  const auto address = parseAddress(o.statusAddress);
  if (!address) {
    throw std::runtime_error("--status-address \"" + o.statusAddress + "\" is not host:port");
  }
  server::ServerOptions options;
  options.address = address->first;
  options.port = address->second;
  options.threads = 2;
  options.maxBodyBytes = 16 * 1024;  // GET only
  options.maxConnections = 256;
  options.maxInflightBodyBytes = 1024 * 1024;
  if (!o.statusCertFile.empty()) {
    options.certificates =
        std::make_shared<server::CertificateStore>(o.statusCertFile, o.statusKeyFile);
  }
  return std::make_unique<server::HttpServer>(
      options, [&page](const server::HttpRequest& r) { return page.handle(r); });
}

std::string defaultIdentity() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  return fmt::format("{}_{:08x}", host, rd());
}

int runOperator(const OperatorOptions& o) {
  blockTerminationSignals();
  auto config = resolveKube(o.kube);
  if (!config) return kExitBadInput;
  const auto ns = gateNamespace(o.kube, *config);
  auto client = makePrometheusClient(o.prometheus);
  if (!client) return kExitBadInput;
  auto dataSources = makeDataSourceClients(o.dataSourcesFile, o.prometheus);
  if (!dataSources) return kExitBadInput;
  const auto interval = parseDuration(o.interval);
  const auto heartbeat = parseDuration(o.heartbeat);
  if (!interval || interval->count() <= 0 || !heartbeat) {
    std::cerr << "budgetgate operator: --interval and --heartbeat take durations such as 30s\n";
    return kExitBadInput;
  }
  const auto metricsAddress = parseAddress(o.metricsAddress);
  if (!metricsAddress) {
    std::cerr << "budgetgate operator: --metrics-address \"" << o.metricsAddress
              << "\" is not host:port\n";
    return kExitBadInput;
  }
  controller::ControllerOptions options;
  options.interval = *interval;
  options.heartbeat = *heartbeat;
  options.policyLookup = {ns, o.webhook.defaultPolicyName};
  if (!o.webhook.fallbackPolicyFile.empty()) {
    auto policy = loadPolicy(o.webhook.fallbackPolicyFile);
    if (!policy) return kExitBadInput;
    options.fallbackPolicy = *policy;
  }
  options.fallbackPolicy.name = "builtin";
  options.leaderElection = !o.noLeaderElection;
  options.manageNamespaceLabels = !o.noNamespaceLabels;
  options.webhookConfiguration = o.webhookConfiguration;
  options.teamLabel = o.teamLabel;
  std::string shardError;
  const auto shard = controller::ShardAssignment::parse(o.shard, &shardError);
  if (!shard) {
    std::cerr << "budgetgate operator: --shard " << shardError << "\n";
    return kExitBadInput;
  }
  options.shard = *shard;
  options.statusWriteQps = o.statusWriteQps;
  options.statusWriteBurst = o.statusWriteBurst;
  options.election.ns = ns;
  options.election.name = o.leaseName;
  options.election.identity = o.identity.empty() ? defaultIdentity() : o.identity;
  options.evaluator.concurrency = static_cast<std::size_t>(std::max(1, o.prometheus.concurrency));
  options.evaluator.ledgerEntries = static_cast<std::size_t>(o.ledgerEntries);
  options.dataSources = dataSources->sources;
  if (!o.statusAddress.empty()) {
    const auto address = parseAddress(o.statusAddress);
    if (o.statusAuth != "kubernetes" && o.statusAuth != "none") {
      std::cerr << "budgetgate operator: --status-auth takes kubernetes or none\n";
      return kExitBadInput;
    }
    // Without authorization the page must not be reachable from the network: only through
    // `kubectl port-forward`, which the API server authorizes (pods/portforward).
    if (o.statusAuth == "none" && (!address || !isLoopback(address->first))) {
      std::cerr << "budgetgate operator: --status-auth none needs a loopback --status-address "
                   "(127.0.0.1:PORT), reached with kubectl port-forward\n";
      return kExitBadInput;
    }
    if (o.statusCertFile.empty() != o.statusKeyFile.empty()) {
      std::cerr << "budgetgate operator: --status-tls-cert-file and --status-tls-key-file go "
                   "together\n";
      return kExitBadInput;
    }
  }

  try {
    metrics::Registry registry;
    registry.describe("budgetgate_prometheus_requests_total", metrics::Registry::Type::Counter,
                      "Prometheus requests: logical queries, HTTP attempts (with retries), "
                      "failed queries.");
    std::vector<metrics::Registration> clientMetrics;
    // The default Prometheus' series have no datasource label (as before data sources existed).
    const auto observeClient = [&](const prometheus::PrometheusClient& c, const std::string& name) {
      for (const auto& [kind, counter] :
           {std::pair<const char*, const std::atomic<long long>*>{"query", &c.counters().queries},
            {"attempt", &c.counters().attempts},
            {"failure", &c.counters().failures}}) {
        metrics::Labels labels{{"kind", kind}};
        if (!name.empty()) labels["datasource"] = name;
        clientMetrics.push_back(registry.observe(
            "budgetgate_prometheus_requests_total", labels,
            [counter] { return static_cast<double>(counter->load(std::memory_order_relaxed)); }));
      }
    };
    observeClient(*client, "");
    for (std::size_t i = 0; i < dataSources->clients.size(); ++i) {
      observeClient(*dataSources->clients[i], dataSources->sources[i].declaration.name);
    }
    controller::SloController controller(*config, *client, registry, options);
    std::unique_ptr<WebhookService> webhook;
    if (!o.webhook.certFile.empty()) {
      std::vector<model::DataSourceDeclaration> declared;
      for (const auto& d : dataSources->sources) declared.push_back(d.declaration);
      webhook = std::make_unique<WebhookService>(o.webhook, *config, ns, registry, declared);
    }
    std::unique_ptr<statuspage::StatusPage> statusPage;
    std::unique_ptr<server::HttpServer> statusServer;
    if (!o.statusAddress.empty()) {
      statuspage::StatusPageOptions pageOptions;
      pageOptions.teamLabel = o.teamLabel;
      pageOptions.identity = options.election.identity;
      pageOptions.dataSources = dataSources->sources;
      statusPage = std::make_unique<statuspage::StatusPage>(
          pageOptions,
          [&controller](const std::string& scope, const std::string& name) {
            return controller.views(scope, name);
          },
          *config, *client,
          o.statusAuth == "kubernetes" ? std::make_unique<api::RequestAuthorizer>(*config)
                                       : nullptr);
      statusServer = makeStatusServer(o, *statusPage);
    }
    std::vector<metrics::Registration> statusMetrics;
    if (statusPage) {
      using T = metrics::Registry::Type;
      registry.describe("budgetgate_status_page_reviews_total", T::Counter,
                        "TokenReviews and SubjectAccessReviews the status page sent to the API "
                        "server.");
      registry.describe("budgetgate_status_page_burn_down_evaluations_total", T::Counter,
                        "Burn-downs the status page recomputed from Prometheus.");
      auto* page = statusPage.get();
      statusMetrics.push_back(registry.observe("budgetgate_status_page_reviews_total", {}, [page] {
        return static_cast<double>(page->reviewsSent());
      }));
      statusMetrics.push_back(
          registry.observe("budgetgate_status_page_burn_down_evaluations_total", {},
                           [page] { return static_cast<double>(page->burnDownEvaluations()); }));
    }
    Probes probes;
    std::atomic<bool> stopping{false};
    probes.ready = [&] {
      return !stopping && controller.ready() && (!webhook || webhook->ready());
    };
    probes.healthy = [&] { return controller.healthy(); };
    server::ServerOptions serverOptions;
    serverOptions.address = metricsAddress->first;
    serverOptions.port = metricsAddress->second;
    serverOptions.threads = 1;
    server::HttpServer ops(
        serverOptions, [&](const server::HttpRequest& r) { return serveOps(r, registry, probes); });
    ops.start();
    controller.start();
    if (webhook) webhook->start();
    if (statusServer) {
      statusServer->start();
      spdlog::info("status page on port {} ({}, {})", statusServer->port(),
                   o.statusCertFile.empty() ? "HTTP" : "TLS",
                   o.statusAuth == "kubernetes" ? "bearer tokens checked with the API server"
                                                : "loopback only, no authorization");
    }
    spdlog::info(
        "budgetgate operator started: API server {} ({}), Prometheus {}, namespace {}, "
        "identity {}, metrics on port {}",
        config->http.baseUrl, config->source, o.prometheus.url, ns, options.election.identity,
        ops.port());
    const auto sig = waitForTermination();
    spdlog::info("{} received, shutting down", sig);
    stopping = true;
    // The controller first: it releases the Lease, so another replica takes over at once, while
    // the webhook drains (--shutdown-delay).
    controller.stop();
    if (webhook) webhook->shutdown();
    if (statusServer) statusServer->stop();
    ops.stop();
  } catch (const std::exception& e) {
    std::cerr << "budgetgate operator: " << e.what() << '\n';
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace

void addOperatorCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<OperatorOptions>();
  auto* cmd = app.add_subcommand(
      "operator",
      "Run the controller: watch ServiceLevelObjectives and ErrorBudgetPolicies, evaluate them "
      "against Prometheus, write their status, record Events and serve /metrics /healthz "
      "/readyz. With --tls-cert-file it also serves the admission webhook.");
  addKubeFlags(cmd, o->kube);
  addPrometheusFlags(cmd, o->prometheus);
  addDataSourcesFlag(cmd, o->dataSourcesFile);
  addWebhookFlags(cmd, o->webhook);
  cmd->add_option("--interval", o->interval, "evaluation interval (default 30s)");
  cmd->add_option("--heartbeat", o->heartbeat,
                  "rewrite an unchanged status at least this often so the webhook sees it is "
                  "fresh (default 2m)");
  cmd->add_option("--metrics-address", o->metricsAddress,
                  "plain-HTTP /metrics /healthz /readyz (default 0.0.0.0:8080)");
  cmd->add_flag("--no-leader-election", o->noLeaderElection,
                "evaluate and write without a lease (single replica only)");
  cmd->add_option("--lease-name", o->leaseName,
                  "Lease used for leader election (default budgetgate-controller)");
  cmd->add_option("--identity", o->identity, "leader-election identity (default hostname_random)");
  cmd->add_option("--webhook-configuration", o->webhookConfiguration,
                  "budgetgate's ValidatingWebhookConfiguration: keep the matchCondition "
                  "gated-workloads of its deployments.budgetgate.dev entry equal to the gating "
                  "SLOs' selectors, so the API server calls the webhook only for Deployments an "
                  "SLO selects (default: off)");
  cmd->add_option("--ledger-entries", o->ledgerEntries,
                  "burn episodes and adjustments kept in each SLO's status.ledger (the costliest; "
                  "`budgetgate ledger` prints all); 0 leaves the ledger out (default 10)")
      ->check(CLI::Range(0, 100));
  cmd->add_option("--status-address", o->statusAddress,
                  "serve the status page (every SLO, burn-down charts, gate decisions) on "
                  "host:port; read-only, its own listener (default: off)");
  cmd->add_option("--status-auth", o->statusAuth,
                  "kubernetes: each request's bearer token must belong to someone who may get "
                  "servicelevelobjectives (TokenReview + SubjectAccessReview); none: no check, "
                  "only allowed on a loopback --status-address, reached with kubectl "
                  "port-forward (default kubernetes)")
      ->check(CLI::IsMember({"kubernetes", "none"}));
  cmd->add_option("--status-tls-cert-file", o->statusCertFile,
                  "serve the status page over TLS with this certificate (reloaded when it "
                  "changes; default: plain HTTP)");
  cmd->add_option("--status-tls-key-file", o->statusKeyFile, "the status page's TLS key");
  cmd->add_option("--team-label", o->teamLabel,
                  "SLO label whose value names its team: the `team` label of the per-SLO "
                  "metrics and the status page's grouping (empty when an SLO has no such "
                  "label; default team)");
  cmd->add_option("--shard", o->shard,
                  "evaluate only shard K of N (K/N): the SLOs of the namespaces whose FNV-1a hash "
                  "is K modulo N; each shard elects its leader on the Lease "
                  "<lease-name>-shard-K, and shard 0 keeps the namespace labels and the webhook's "
                  "matchCondition (default 0/1: every SLO)");
  cmd->add_option("--status-write-qps", o->statusWriteQps,
                  "status writes per second at most (changed tiers first, heartbeats only with "
                  "spare capacity; 429s are counted and retried); 0: unlimited (default 200)")
      ->check(CLI::Range(0.0, 100000.0));
  cmd->add_option("--status-write-burst", o->statusWriteBurst,
                  "status writes allowed at once above --status-write-qps (default 400)")
      ->check(CLI::Range(1, 100000));
  cmd->add_flag("--no-namespace-labels", o->noNamespaceLabels,
                "do not keep the label budgetgate.dev/gated on the namespaces that hold gating "
                "SLOs (set it yourself when the webhook configuration selects namespaces by it)");
  cmd->callback([o, &exitCode] { exitCode = runOperator(*o); });
}

}  // namespace budgetgate::cli
