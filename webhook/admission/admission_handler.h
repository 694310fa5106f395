#pragma once
// POST /validate/deployments: AdmissionReview in, gate decision out. Reads only the in-memory
// cache; records exceptions as Events off the request path.

#include <functional>
#include <set>
#include <string>

#include "webhook/admission/json_parser_pool.h"
#include "webhook/admission/webhook_metrics.h"
#include "webhook/cache/gate_cache.h"
#include "webhook/server/http_server.h"

namespace budgetgate::admission {

// Called (off the request path) for every exception used by a non-dry-run rollout.
using ExceptionSink = std::function<void(const std::string& ns, const std::string& deployment,
                                         const std::string& reason, const std::string& message)>;

class AdmissionHandler {
 public:
  AdmissionHandler(cache::GateCache& cache, std::set<std::string, std::less<>> exemptNamespaces,
                   engine::ErrorBudgetPolicy notReadyPolicy, ExceptionSink exceptions);

  server::HttpResponse handle(const server::HttpRequest& request);
  const WebhookMetrics& metrics() const { return metrics_; }

 private:
  cache::GateCache& cache_;
  std::set<std::string, std::less<>> exempt_;
  engine::ErrorBudgetPolicy notReadyPolicy_;
  ExceptionSink exceptions_;
  WebhookMetrics metrics_;
  JsonParserPool parsers_;
};

}  // namespace budgetgate::admission
