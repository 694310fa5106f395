#pragma once
// The status page as an HTTP handler: routes, authorization, and the data behind the pages —
// the operator's cached SLOs, the Events about them (one list, cached briefly) and each SLO's
// burn-down, recomputed from Prometheus on demand (cached, one evaluation at a time, so page
// views cannot multiply the load on Prometheus). Read-only: it answers GET only.
//
//   /                               every SLO (?group=namespace|service|team)
//   /namespaces/NS/                 the SLOs of NS
//   /namespaces/NS/slos/NAME        one SLO, with its burn-down chart
//
// Authorization: with an authorizer, a bearer token whose user may `get
// servicelevelobjectives` in the namespace (cluster-wide for the overview of all), as for the
// decision API; without one, the listener must be on loopback (reached by `kubectl
// port-forward`, which itself needs `create pods/portforward` in budgetgate's namespace).

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "operator/kube/kube_client.h"
#include "operator/model/slo_view.h"
#include "operator/prometheus/multi_source_evaluator.h"
#include "operator/prometheus/prometheus_api.h"
#include "operator/statuspage/pages.h"
#include "webhook/api/request_authorizer.h"
#include "webhook/server/http_server.h"

namespace budgetgate::statuspage {

struct StatusPageOptions {
  std::string teamLabel = "team";
  std::string identity;  // shown in the footer: which replica rendered the page
  std::chrono::seconds burnDownFor{60};
  std::chrono::seconds eventsFor{15};
  std::size_t eventsPerSlo = 20;
  // The named data sources burn-downs read (as the controller: by the SLO's metricSourceRef).
  std::vector<prometheus::NamedDataSource> dataSources;
};

class StatusPage {
 public:
  // The SLOs of a namespace (all when empty), or the one named (when the name is given).
  using ViewSource =
      std::function<std::vector<model::SloView>(const std::string& ns, const std::string& name)>;
  // `authorizer` null: no authorization (the caller binds the listener to loopback).
  StatusPage(StatusPageOptions options, ViewSource views, const kube::KubeConfig& config,
             prometheus::PrometheusApi& prometheus,
             std::unique_ptr<api::RequestAuthorizer> authorizer);

  server::HttpResponse handle(const server::HttpRequest& request);

  long long reviewsSent() const { return authorizer_ ? authorizer_->reviewsSent() : 0; }
  long long burnDownEvaluations() const { return evaluations_; }

 private:
  struct CachedBurnDown {
    std::chrono::steady_clock::time_point expires;
    BurnDownData data;
  };
  server::HttpResponse overview(const std::string& ns, Grouping grouping);
  server::HttpResponse sloPage(const std::string& ns, const std::string& name);
  SloEvents events();
  BurnDownData burnDown(const model::SloView& slo);
  PageContext context(const std::string& ns) const;

  StatusPageOptions options_;
  ViewSource views_;
  kube::KubeClient client_;
  prometheus::PrometheusApi& prometheus_;
  std::unique_ptr<api::RequestAuthorizer> authorizer_;

  std::mutex eventsMutex_;  // guards the two below; held while listing (one list at a time)
  SloEvents events_;
  std::chrono::steady_clock::time_point eventsExpire_{};

  std::mutex burnDownMutex_;  // guards the cache
  std::map<std::string, CachedBurnDown> burnDowns_;
  std::mutex evaluateMutex_;  // one Prometheus evaluation at a time
  std::atomic<long long> evaluations_{0};
};

// An HTML error page (a request that is not a GET, names no page, or is not authorized).
server::HttpResponse errorPage(int status, const std::string& message);

}  // namespace budgetgate::statuspage
