#pragma once
// POST /validate/...: AdmissionReview in, decision out. Workloads (Deployments, and Pods and
// ReplicaSets written by anyone but their controller) are judged by the gate; writes to the
// gate's own objects (SLOs, policies) by the object guard. Reads only the in-memory cache;
// records Events off the request path.

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "operator/model/data_source.h"
#include "webhook/admission/event_rate_limiter.h"
#include "webhook/admission/json_parser_pool.h"
#include "webhook/admission/trusted_controllers.h"
#include "webhook/admission/webhook_metrics.h"
#include "webhook/cache/gate_cache.h"
#include "webhook/server/http_server.h"

namespace budgetgate::admission {

struct AdmissionEvent {
  std::string apiVersion, kind, ns, name;
  std::string uid;   // of the object, when known (kubectl describe finds Events by it)
  std::string type;  // Normal, Warning
  std::string reason, message;
};
// Called (off the request path) for denials, exceptions used and gate objects loosened by an
// owner, for non-dry-run requests; rate-limited per object and reason.
using EventSink = std::function<void(AdmissionEvent)>;
// The Event, in budgetgate's namespace, that names who rolled out a gated Deployment (read by
// the ledger): "rollout of deployment/NAME in NAMESPACE by USER admitted: RULE".
inline constexpr std::string_view kRolloutAdmittedReason = "RolloutAdmitted";

struct HandlerOptions {
  std::set<std::string, std::less<>> exemptNamespaces{"kube-system"};
  // Applies to every workload before the cache has loaded.
  engine::ErrorBudgetPolicy notReadyPolicy;
  TrustedControllers trustedControllers;
  // budgetgate's namespace: the webhook's record of who rolled out what (RolloutAdmitted Events)
  // goes there, where namespace editors cannot write. Empty: not recorded.
  std::string recordNamespace;
  // The controller's named data sources (operator mode): an SLO naming one that is not declared,
  // or not for its namespace, is admitted with a warning (its tier will be unknown). nullopt
  // (a webhook without a controller): not known here, no warning.
  std::optional<std::vector<model::DataSourceDeclaration>> dataSources;
};

class AdmissionHandler {
 public:
  AdmissionHandler(cache::GateCache& cache, HandlerOptions options, EventSink events);

  server::HttpResponse handle(const server::HttpRequest& request);
  const WebhookMetrics& metrics() const { return metrics_; }

 private:
  struct Answer;
  Answer judgeWorkload(class ParsedReview& review, const cache::GateSnapshot& snapshot, bool ready);
  Answer judgeGateObject(class ParsedReview& review, const cache::GateSnapshot& snapshot);
  Answer judgeApproval(class ParsedReview& review, const cache::GateSnapshot& snapshot);
  void emit(AdmissionEvent event);

  cache::GateCache& cache_;
  HandlerOptions options_;
  EventSink events_;
  EventRateLimiter eventLimiter_;
  WebhookMetrics metrics_;
  JsonParserPool parsers_;
};

}  // namespace budgetgate::admission
