#pragma once
// Who is asking the decision API, and may they read the namespace's SLOs? The caller's bearer
// token goes to the API server's TokenReview; the user it names to a SubjectAccessReview for
// `get servicelevelobjectives.slo.budgetgate.dev` in the namespace. So the API answers exactly
// those who could `kubectl get slo` there, under the cluster's own authentication and RBAC.
//
// Against floods: a request without a token costs nothing; answers are cached by the token's
// SHA-256 (60 s when valid, 10 s when not, bounded in size), and reviews sent to the API server
// are rate-limited (a token bucket): beyond it a new caller gets 429 while known ones go on.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "operator/kube/kube_client.h"

namespace budgetgate::api {

struct Caller {
  std::string username;
  std::vector<std::string> groups;
};

struct AuthorizerOptions {
  double reviewsPerSecond = 20;  // TokenReviews + SubjectAccessReviews sent, sustained
  double reviewBurst = 40;
  std::size_t maxCachedEntries = 10000;
  std::chrono::seconds validFor{60};
  std::chrono::seconds invalidFor{10};
};

struct Authorization {
  int status = 200;  // 200, 401 (no or bad token), 403 (not allowed), 429, 503 (no API server)
  std::string message;
  Caller caller;
};

class RequestAuthorizer {
 public:
  RequestAuthorizer(const kube::KubeConfig& config, AuthorizerOptions options = {});

  // `authorizationHeader` as received ("Bearer <token>"); `queryToken` the access_token query
  // parameter (RFC 6750 section 2.3, for clients that cannot set headers, such as Flagger).
  Authorization authorize(std::string_view authorizationHeader, std::string_view queryToken,
                          const std::string& ns);

  long long reviewsSent() const { return reviewsSent_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct CachedToken {
    bool authenticated = false;
    Caller caller;
    std::string message;
    Clock::time_point expires;
  };
  struct CachedAccess {
    bool allowed = false;
    std::string message;
    Clock::time_point expires;
  };
  bool takeReviewBudget();            // under mutex_
  void prune(Clock::time_point now);  // under mutex_

  kube::KubeClient client_;
  AuthorizerOptions options_;
  std::mutex mutex_;  // guards the caches and the bucket; never held across API calls
  std::map<std::string, CachedToken> tokens_;   // sha256(token) ->
  std::map<std::string, CachedAccess> access_;  // sha256(token) + "/" + ns ->
  double bucket_;
  Clock::time_point refilled_;
  std::atomic<long long> reviewsSent_{0};
};

}  // namespace budgetgate::api
