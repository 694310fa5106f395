#pragma once
// The decision API, for CD tools and CI: served by the operator on its own TLS port
// (--api-address), read-only, off the admission path.
//
//   GET  /api/v1/namespaces/NS/decisions?workload=KIND/NAME[&risk=R][&trafficShare=F&duration=D]
//        200 with the gate's decision for a new pod template of the workload (JSON)
//   POST the same: the status says it (200 admitted, 403 denied), for Flagger's webhooks
//   GET  /api/v1/namespaces/NS/slos/NAME: one SLO's figures and the policy's verdict per risk
//
// Every request is authenticated and authorized (api/request_authorizer.h): the caller must be
// allowed to get SLOs in NS.

#include <map>
#include <memory>
#include <set>
#include <string>

#include "webhook/api/request_authorizer.h"
#include "webhook/cache/gate_cache.h"
#include "webhook/server/http_server.h"

namespace budgetgate::api {

class DecisionApi {
 public:
  DecisionApi(cache::GateCache& cache, std::unique_ptr<RequestAuthorizer> authorizer,
              std::set<std::string, std::less<>> exemptNamespaces);

  server::HttpResponse handle(const server::HttpRequest& request);
  // TokenReviews and SubjectAccessReviews sent so far (what callers cost the API server).
  long long reviewsSent() const { return authorizer_->reviewsSent(); }

 private:
  server::HttpResponse decisions(const server::HttpRequest& request,
                                 const std::map<std::string, std::string>& params,
                                 const std::string& ns, const Caller& caller);
  server::HttpResponse sloStatus(const std::string& ns, const std::string& name);

  cache::GateCache& cache_;
  std::unique_ptr<RequestAuthorizer> authorizer_;
  std::set<std::string, std::less<>> exemptNamespaces_;
};

}  // namespace budgetgate::api
