#pragma once
// admission.k8s.io/v1 AdmissionReview: reading the request the API server sends for a
// Deployment, and writing the response. Hostile input yields a ReviewError, never a crash.

#include <rapidjson/document.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "webhook/gate/rollout_request.h"

namespace budgetgate::admission {

struct ParsedReview {
  std::string uid;
  std::string group, version, kind;  // request.kind
  gate::RolloutRequest rollout;      // fingerprints left empty: computed only when needed
  const rapidjson::Value* newTemplate = nullptr;  // into `document`
  const rapidjson::Value* oldTemplate = nullptr;
  rapidjson::Document document;  // owns the parsed body
};

struct ReviewError {
  int httpStatus = 400;  // 400: unusable review (no uid, wrong version, not JSON)
  std::string message;
  std::string uid;  // when known, the error is answered inside a v1 response instead
};

// Parses the body; on failure returns nullopt and fills *error.
std::optional<ParsedReview> parseReview(std::string_view body, ReviewError* error);

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
