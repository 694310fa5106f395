// budgetgate webhook: the admission webhook alone (the controller runs elsewhere).

#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/cli/service_runtime.h"
#include "operator/cli/webhook_service.h"

namespace budgetgate::cli {
namespace {

struct WebhookCommandOptions {
  KubeFlags kube;
  WebhookFlags webhook;
};

int runWebhook(const WebhookCommandOptions& o) {
  blockTerminationSignals();
  auto config = resolveKube(o.kube);
  if (!config) return kExitBadInput;
  const auto ns = gateNamespace(o.kube, *config);
  try {
    metrics::Registry registry;
    WebhookService service(o.webhook, *config, ns, registry);
    service.start();
    spdlog::info("budgetgate webhook started: API server {} ({}), namespace {}",
                 config->http.baseUrl, config->source, ns);
    const auto sig = waitForTermination();
    spdlog::info("{} received, shutting down", sig);
    service.shutdown();
  } catch (const std::exception& e) {
    std::cerr << "budgetgate webhook: " << e.what() << '\n';
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace

void addWebhookCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<WebhookCommandOptions>();
  auto* cmd = app.add_subcommand(
      "webhook",
      "Run the validating admission webhook: HTTPS /validate/deployments, /healthz, /readyz "
      "(ready once the SLO cache has loaded) and /metrics on the same port.");
  addKubeFlags(cmd, o->kube);
  addWebhookFlags(cmd, o->webhook);
  cmd->callback([o, &exitCode] { exitCode = runWebhook(*o); });
}

}  // namespace budgetgate::cli
