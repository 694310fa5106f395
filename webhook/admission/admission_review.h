#pragma once
// admission.k8s.io/v1 AdmissionReview: reading the request the API server sends for a
// Deployment, and writing the response. Hostile input yields a ReviewError, never a crash.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "webhook/admission/json_parser_pool.h"
#include "webhook/gate/rollout_request.h"

namespace budgetgate::admission {

struct ReviewError {
  int httpStatus = 400;  // 400: unusable review (no uid, wrong version, not JSON)
  std::string message;
  std::string uid;  // when known, the error is answered inside a v1 response instead
};

class ParsedReview {
 public:
  ParsedReview();
  ~ParsedReview();
  ParsedReview(ParsedReview&&) noexcept;
  ParsedReview& operator=(ParsedReview&&) noexcept;

  std::string uid;
  std::string group, version, kind;  // request.kind
  // templateChanged and the fingerprints are left to the caller: they cost something and are
  // needed only when an SLO selects the Deployment.
  gate::RolloutRequest rollout;

  // Whether object.spec.template differs from oldObject's, compared member by member in any
  // order (cheaper than fingerprinting both). True when there is no old template (CREATE).
  bool templateChanged() const;
  // The fingerprint (pod_template.h) of object.spec.template, to recognise a rollback.
  std::optional<std::string> newTemplateFingerprint() const;

 private:
  friend std::optional<ParsedReview> parseReview(std::string_view, JsonParserPool&, ReviewError*);
  struct Parsed;  // the body as parsed by a pooled simdjson parser
  std::unique_ptr<Parsed> parsed_;
};

// Parses the body with a parser from `parsers`, held until the ParsedReview is destroyed (which
// must not outlive `body`: the rollback fingerprint reads the template's bytes from it). On
// failure returns nullopt and fills *error. JSON nested deeper than json::kMaxNestingDepth,
// invalid UTF-8 and unescaped control characters are refused as not JSON.
std::optional<ParsedReview> parseReview(std::string_view body, JsonParserPool& parsers,
                                        ReviewError* error);

struct ReviewResponse {
  std::string uid;
  bool allowed = true;
  int code = 200;  // with allowed=false: 403 (policy) or 400 (unreadable object)
  std::string reason;
  std::string message;
  std::vector<std::string> warnings;
  std::vector<std::pair<std::string, std::string>> auditAnnotations;
};

std::string renderResponse(const ReviewResponse& response);

}  // namespace budgetgate::admission
