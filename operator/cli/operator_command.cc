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
#include "operator/cli/manifests.h"
#include "operator/cli/prometheus_flags.h"
#include "operator/cli/service_runtime.h"
#include "operator/cli/webhook_service.h"
#include "operator/controller/slo_controller.h"

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
  std::string teamLabel = "team";
};

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
  options.election.ns = ns;
  options.election.name = o.leaseName;
  options.election.identity = o.identity.empty() ? defaultIdentity() : o.identity;
  options.evaluator.concurrency = static_cast<std::size_t>(std::max(1, o.prometheus.concurrency));
  options.evaluator.ledgerEntries = static_cast<std::size_t>(o.ledgerEntries);

  try {
    metrics::Registry registry;
    registry.describe("budgetgate_prometheus_requests_total", metrics::Registry::Type::Counter,
                      "Prometheus requests: logical queries, HTTP attempts (with retries), "
                      "failed queries.");
    std::vector<metrics::Registration> clientMetrics;
    for (const auto& [kind, counter] : {std::pair<const char*, const std::atomic<long long>*>{
                                            "query", &client->counters().queries},
                                        {"attempt", &client->counters().attempts},
                                        {"failure", &client->counters().failures}}) {
      clientMetrics.push_back(registry.observe(
          "budgetgate_prometheus_requests_total", {{"kind", kind}},
          [counter] { return static_cast<double>(counter->load(std::memory_order_relaxed)); }));
    }
    controller::SloController controller(*config, *client, registry, options);
    std::unique_ptr<WebhookService> webhook;
    if (!o.webhook.certFile.empty())
      webhook = std::make_unique<WebhookService>(o.webhook, *config, ns, registry);
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
  cmd->add_option("--team-label", o->teamLabel,
                  "SLO label whose value becomes the `team` label of the per-SLO metrics "
                  "(empty when an SLO has no such label; default team)");
  cmd->add_flag("--no-namespace-labels", o->noNamespaceLabels,
                "do not keep the label budgetgate.dev/gated on the namespaces that hold gating "
                "SLOs (set it yourself when the webhook configuration selects namespaces by it)");
  cmd->callback([o, &exitCode] { exitCode = runOperator(*o); });
}

}  // namespace budgetgate::cli
