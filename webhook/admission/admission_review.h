#pragma once
// admission.k8s.io/v1 AdmissionReview: reading the request the API server sends for a workload
// (Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod) or one of the gate's own objects, and
// writing the response. Hostile input yields a ReviewError, never a crash; a review that cannot be
// read fully is an error, never read as "nothing to gate".

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

// What the request is about (request.kind).
enum class ReviewedKind {
  Deployment,
  StatefulSet,
  DaemonSet,
  ArgoRollout,  // argoproj.io Rollout
  ReplicaSet,
  Pod,
  ServiceLevelObjective,
  ErrorBudgetPolicy,
  RolloutApproval,
  Other,  // a kind the webhook is not registered for: answered, with a warning
};

// A controller owner reference of the object (metadata.ownerReferences with controller: true).
struct OwnerReference {
  std::string kind;
  std::string name;
  std::string uid;
};

class ParsedReview {
 public:
  ParsedReview();
  ~ParsedReview();
  ParsedReview(ParsedReview&&) noexcept;
  ParsedReview& operator=(ParsedReview&&) noexcept;

  std::string uid;
  std::string group, version, kind;  // request.kind
  ReviewedKind reviewed = ReviewedKind::Other;
  std::string objectUid;  // object.metadata.uid (UPDATE: the workload whose revisions count)
  std::optional<OwnerReference> controller;     // of the new object
  std::optional<OwnerReference> oldController;  // of the old object
  // An Argo Rollout with spec.workloadRef: the Deployment (same namespace) that holds its pod
  // template, new and old; its template labels are filled in from the cache by the caller.
  std::string workloadRef, oldWorkloadRef;
  // Workloads: identity, annotations and operation are filled in; `change` and the fingerprint
  // are left to the caller (they cost something and matter only when an SLO selects it).
  gate::RolloutRequest rollout;

  // How an UPDATE changes the workload (gate::Change); Created for CREATE.
  gate::Change change() const;
  // The fingerprint (pod_template.h) of object.spec.template, to recognise a rollback; of the
  // template without the API server's defaults for an Argo Rollout (whose template is stored as
  // written, its ReplicaSets' defaulted).
  std::optional<std::string> newTemplateFingerprint() const;
  // The container images of object.spec.template (matched against RolloutApprovals by image).
  std::vector<std::string> newTemplateImages() const;
  // The gate's own objects: the object and the old object as JSON text (empty when absent).
  std::string objectJson() const;
  std::string oldObjectJson() const;

 private:
  friend std::optional<ParsedReview> parseReview(std::string_view, JsonParserPool&, ReviewError*);
  struct Parsed;  // the body as parsed by a pooled simdjson parser
  std::unique_ptr<Parsed> parsed_;
};

// Parses the body with a parser from `parsers`, held until the ParsedReview is destroyed (which
// must not outlive `body`: the rollback fingerprint reads the template's bytes from it). On
// failure returns nullopt and fills *error. JSON nested deeper than json::kMaxNestingDepth,
// invalid UTF-8 and unescaped control characters are refused as not JSON. So are reviews
// without request.kind or namespace, and objects whose labels or annotations are not maps of
// strings.
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
