#include "webhook/admission/admission_review.h"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include <algorithm>
#include <string>

#include "operator/common/json.h"
#include "webhook/admission/review_json.h"
#include "webhook/gate/pod_template.h"

namespace budgetgate::admission {
namespace {

std::optional<gate::Operation> operationFrom(std::string_view s) {
  if (s == "CREATE") return gate::Operation::Create;
  if (s == "UPDATE") return gate::Operation::Update;
  if (s == "DELETE") return gate::Operation::Delete;
  if (s == "CONNECT") return gate::Operation::Connect;
  return std::nullopt;
}

// Kubernetes limits: a warning should be short; the API server truncates long ones anyway.
std::string shortWarning(const std::string& w) {
  constexpr std::size_t kMax = 512;
  if (w.size() <= kMax) return w;
  return w.substr(0, kMax - 3) + "...";
}

}  // namespace

struct ParsedReview::Parsed {
  explicit Parsed(JsonParserPool::Lease l) : lease(std::move(l)) {}
  JsonParserPool::Lease lease;  // the elements below point into this parser's document
  std::string_view body;        // the caller's text, for the raw template
  std::optional<review_json::Element> object;
  std::optional<review_json::Element> oldObject;
  // spec.template of a Deployment or ReplicaSet, spec of a Pod.
  std::optional<review_json::Element> newTemplate;
  std::optional<review_json::Element> oldTemplate;
};

ParsedReview::ParsedReview() = default;
ParsedReview::~ParsedReview() = default;
ParsedReview::ParsedReview(ParsedReview&&) noexcept = default;
ParsedReview& ParsedReview::operator=(ParsedReview&&) noexcept = default;

gate::Change ParsedReview::change() const {
  if (rollout.operation == gate::Operation::Create) return gate::Change::Created;
  if (!parsed_ || !parsed_->newTemplate || !parsed_->oldTemplate) return gate::Change::Template;
  const auto& p = *parsed_;
  if (!review_json::sameJson(*p.newTemplate, *p.oldTemplate)) {
    if ((reviewed == ReviewedKind::Deployment || reviewed == ReviewedKind::StatefulSet ||
         reviewed == ReviewedKind::DaemonSet || reviewed == ReviewedKind::ArgoRollout) &&
        review_json::sameJsonExcept(*p.newTemplate, *p.oldTemplate,
                                    {"metadata", "annotations", gate::kRestartedAtAnnotation})) {
      return gate::Change::RestartOnly;
    }
    return gate::Change::Template;
  }
  const bool ownersChanged = reviewed == ReviewedKind::ReplicaSet &&
                             (controller.has_value() != oldController.has_value() ||
                              (controller && (controller->uid != oldController->uid ||
                                              controller->name != oldController->name ||
                                              controller->kind != oldController->kind)));
  if (!rollout.oldIdentity || rollout.identity.labels != rollout.oldIdentity->labels ||
      ownersChanged) {
    return gate::Change::Labels;
  }
  return gate::Change::None;
}

std::optional<std::string> ParsedReview::newTemplateFingerprint() const {
  if (!parsed_ || !parsed_->newTemplate || reviewed == ReviewedKind::Pod) return std::nullopt;
  // Fingerprints must match those of the ReplicaSets in the cache, which are RapidJSON
  // readings of the API server's text: read the template's own bytes with RapidJSON too, so
  // that every number is rounded the same way (the two parsers differ in the last digit of
  // some doubles). Runs only when the Deployment has revisions to compare with.
  const auto raw =
      review_json::rawValueAt(parsed_->body, {"request", "object", "spec", "template"});
  auto doc = raw ? json::parse(*raw, nullptr)
                 : json::parse(simdjson::minify(*parsed_->newTemplate), nullptr);
  if (!doc) return std::nullopt;
  return reviewed == ReviewedKind::ArgoRollout ? gate::templateFingerprintWithoutDefaults(*doc)
                                               : gate::templateFingerprint(*doc);
}

std::vector<std::string> ParsedReview::newTemplateImages() const {
  if (!parsed_ || !parsed_->newTemplate || reviewed == ReviewedKind::Pod) return {};
  auto doc = json::parse(simdjson::minify(*parsed_->newTemplate), nullptr);
  return doc ? gate::templateImages(*doc) : std::vector<std::string>();
}

std::string ParsedReview::objectJson() const {
  return parsed_ && parsed_->object ? simdjson::minify(*parsed_->object) : std::string();
}

std::string ParsedReview::oldObjectJson() const {
  return parsed_ && parsed_->oldObject ? simdjson::minify(*parsed_->oldObject) : std::string();
}

namespace {

ReviewedKind reviewedKind(std::string_view group, std::string_view kind) {
  if (group == "apps" && kind == "Deployment") return ReviewedKind::Deployment;
  if (group == "apps" && kind == "StatefulSet") return ReviewedKind::StatefulSet;
  if (group == "apps" && kind == "DaemonSet") return ReviewedKind::DaemonSet;
  if (group == "apps" && kind == "ReplicaSet") return ReviewedKind::ReplicaSet;
  if (group == "argoproj.io" && kind == "Rollout") return ReviewedKind::ArgoRollout;
  if (group.empty() && kind == "Pod") return ReviewedKind::Pod;
  if (group == "slo.budgetgate.dev" && kind == "ServiceLevelObjective")
    return ReviewedKind::ServiceLevelObjective;
  if (group == "slo.budgetgate.dev" && kind == "ErrorBudgetPolicy")
    return ReviewedKind::ErrorBudgetPolicy;
  if (group == "slo.budgetgate.dev" && kind == "RolloutApproval")
    return ReviewedKind::RolloutApproval;
  return ReviewedKind::Other;
}

// The controller owner reference of an object; *error when ownerReferences is malformed.
std::optional<OwnerReference> controllerOf(review_json::Element object, std::string* error) {
  using review_json::member;
  using review_json::path;
  using review_json::stringOr;
  const auto refs = path(object, {"metadata", "ownerReferences"});
  if (!refs || refs->is_null()) return std::nullopt;
  simdjson::dom::array list;
  if (refs->get_array().get(list)) {
    *error = "metadata.ownerReferences is not a list";
    return std::nullopt;
  }
  for (review_json::Element ref : list) {
    if (!ref.is_object()) {
      *error = "metadata.ownerReferences holds a non-object";
      return std::nullopt;
    }
    if (review_json::asBool(member(ref, "controller")).value_or(false)) {
      return OwnerReference{stringOr(member(ref, "kind")), stringOr(member(ref, "name")),
                            stringOr(member(ref, "uid"))};
    }
  }
  return std::nullopt;
}

// Reads what identifies a workload object; fills *error (naming the field) when malformed.
struct WorkloadObject {
  gate::WorkloadLabels identity;
  model::Labels annotations;
  // spec.template, or a Pod's spec, or an Argo Rollout's spec.workloadRef (changing it is
  // changing the template)
  std::optional<review_json::Element> podTemplate;
  std::string workloadRef;  // an Argo Rollout's spec.workloadRef.name
};

std::optional<WorkloadObject> readWorkload(review_json::Element object, ReviewedKind kind,
                                           std::string_view field, std::string* error) {
  using review_json::path;
  WorkloadObject w;
  std::string problem;
  const auto labels = review_json::labelMap(path(object, {"metadata", "labels"}), &problem);
  if (!labels) {
    *error = fmt::format("{}.metadata.labels {}", field, problem);
    return std::nullopt;
  }
  w.identity.labels = *labels;
  const auto annotations =
      review_json::labelMap(path(object, {"metadata", "annotations"}), &problem);
  if (!annotations) {
    *error = fmt::format("{}.metadata.annotations {}", field, problem);
    return std::nullopt;
  }
  w.annotations = *annotations;
  if (kind == ReviewedKind::Pod) {
    w.podTemplate = path(object, {"spec"});
    if (!w.podTemplate || !w.podTemplate->is_object()) {
      *error = fmt::format("{} has no spec", field);
      return std::nullopt;
    }
    return w;
  }
  w.podTemplate = path(object, {"spec", "template"});
  if (kind == ReviewedKind::ArgoRollout && (!w.podTemplate || !w.podTemplate->is_object())) {
    // A Rollout may take its pod template from a Deployment instead.
    const auto ref = path(object, {"spec", "workloadRef"});
    if (ref && ref->is_object()) {
      if (review_json::stringOr(review_json::member(*ref, "kind")) != "Deployment" ||
          review_json::stringOr(review_json::member(*ref, "name")).empty()) {
        *error = fmt::format("{}.spec.workloadRef must name a Deployment", field);
        return std::nullopt;
      }
      w.workloadRef = review_json::stringOr(review_json::member(*ref, "name"));
      w.podTemplate = ref;
      return w;  // template labels: the Deployment's, from the cache
    }
    *error = fmt::format("{} has neither spec.template nor spec.workloadRef", field);
    return std::nullopt;
  }
  if (!w.podTemplate || !w.podTemplate->is_object()) {
    *error = fmt::format("{} has no spec.template", field);
    return std::nullopt;
  }
  const auto templateLabels =
      review_json::labelMap(path(*w.podTemplate, {"metadata", "labels"}), &problem);
  if (!templateLabels) {
    *error = fmt::format("{}.spec.template.metadata.labels {}", field, problem);
    return std::nullopt;
  }
  w.identity.templateLabels = *templateLabels;
  return w;
}

}  // namespace

std::optional<ParsedReview> parseReview(std::string_view body, JsonParserPool& parsers,
                                        ReviewError* error) {
  ParsedReview r;
  r.parsed_ = std::make_unique<ParsedReview::Parsed>(parsers.acquire());
  r.parsed_->body = body;
  auto& parser = r.parsed_->lease.parser();
  if (parser.capacity() < body.size() || parser.max_depth() != json::kMaxNestingDepth) {
    // Room for typical reviews up front, so the parser is not regrown review after review.
    constexpr std::size_t kInitialCapacity = 64 * 1024;
    if (auto e = parser.allocate(std::max(body.size(), kInitialCapacity), json::kMaxNestingDepth)) {
      error->httpStatus = 500;
      error->message =
          std::string("cannot allocate the JSON parser: ") + simdjson::error_message(e);
      return std::nullopt;
    }
  }
  review_json::Element d;
  if (auto e = parser.parse(body.data(), body.size()).get(d)) {
    error->message = std::string("request body is not JSON: ") + simdjson::error_message(e);
    return std::nullopt;
  }
  if (!d.is_object()) {
    error->message = "request body is not a JSON object";
    return std::nullopt;
  }
  using review_json::member;
  using review_json::path;
  using review_json::stringOr;
  const auto api = stringOr(member(d, "apiVersion"));
  const auto kind = stringOr(member(d, "kind"));
  if (kind != "AdmissionReview" || api != "admission.k8s.io/v1") {
    error->message = fmt::format(
        "expected apiVersion admission.k8s.io/v1 kind AdmissionReview, got \"{}\" \"{}\" "
        "(set admissionReviewVersions: [v1])",
        api, kind);
    return std::nullopt;
  }
  const auto req = member(d, "request");
  if (!req || !req->is_object()) {
    error->message = "AdmissionReview has no request";
    return std::nullopt;
  }
  r.uid = stringOr(member(req, "uid"));
  if (r.uid.empty()) {
    error->message = "AdmissionReview request has no uid";
    return std::nullopt;
  }
  error->uid = r.uid;  // from here on, errors can be answered in a proper response
  const auto k = member(req, "kind");
  r.group = stringOr(member(k, "group"));
  r.version = stringOr(member(k, "version"));
  r.kind = stringOr(member(k, "kind"));
  if (r.kind.empty()) {
    error->message = "request.kind is missing";
    return std::nullopt;
  }
  r.reviewed = reviewedKind(r.group, r.kind);
  auto op = operationFrom(stringOr(member(req, "operation")));
  if (!op) {
    error->message = "request.operation is missing or unknown";
    return std::nullopt;
  }
  auto& rollout = r.rollout;
  rollout.operation = *op;
  rollout.subResource = stringOr(member(req, "subResource"));
  rollout.dryRun = review_json::asBool(member(req, "dryRun")).value_or(false);
  rollout.ns = stringOr(member(req, "namespace"));
  rollout.name = stringOr(member(req, "name"));
  if (const auto user = member(req, "userInfo")) {
    rollout.user.username = stringOr(member(user, "username"));
    simdjson::dom::array groups;
    if (const auto g = member(user, "groups"); g && !g->get_array().get(groups)) {
      for (review_json::Element group : groups) {
        std::string_view name;
        if (!group.get_string().get(name)) rollout.user.groups.emplace_back(name);
      }
    }
  }
  if (r.reviewed == ReviewedKind::Other) return r;  // answered with a warning by the caller
  // Every kind the webhook reads is namespaced.
  if (rollout.ns.empty()) {
    error->message = "request.namespace is missing";
    return std::nullopt;
  }
  if (!rollout.subResource.empty()) return r;  // never gated; the objects need not be readable
  auto& parsed = *r.parsed_;
  const bool hasObject =
      rollout.operation == gate::Operation::Create || rollout.operation == gate::Operation::Update;
  const bool hasOldObject =
      rollout.operation == gate::Operation::Update || rollout.operation == gate::Operation::Delete;
  if (hasObject) {
    parsed.object = member(req, "object");
    if (!parsed.object || !parsed.object->is_object()) {
      error->message = "request.object is missing";
      return std::nullopt;
    }
  }
  if (hasOldObject) {
    parsed.oldObject = member(req, "oldObject");
    if (!parsed.oldObject || !parsed.oldObject->is_object()) {
      error->message = "request.oldObject is missing";
      return std::nullopt;
    }
  }
  if (r.reviewed == ReviewedKind::ServiceLevelObjective ||
      r.reviewed == ReviewedKind::ErrorBudgetPolicy ||
      r.reviewed == ReviewedKind::RolloutApproval) {
    const auto object = hasObject ? parsed.object : parsed.oldObject;
    if (rollout.name.empty()) rollout.name = stringOr(path(object, {"metadata", "name"}));
    return r;
  }
  // Workloads. Deletes carry only oldObject and are never gated.
  if (!hasObject) return r;
  std::string problem;
  auto current = readWorkload(*parsed.object, r.reviewed, "request.object", &problem);
  if (!current) {
    error->message = problem;
    return std::nullopt;
  }
  rollout.identity = std::move(current->identity);
  rollout.annotations = std::move(current->annotations);
  r.workloadRef = current->workloadRef;
  if (r.reviewed == ReviewedKind::ArgoRollout) {
    using review_json::intOrString;
    // Argo Rollouts' strategies: canary (with its own surge and unavailability limits, 25 %
    // and 25 % by default) or blueGreen.
    gate::RolloutStrategy st;
    const auto strategy = path(parsed.object, {"spec", "strategy"});
    const auto canary = member(strategy, "canary");
    st.type = std::string(!canary && member(strategy, "blueGreen") ? "BlueGreen" : "Canary");
    st.maxUnavailable = intOrString(member(canary, "maxUnavailable"), st.maxUnavailable);
    st.maxSurge = intOrString(member(canary, "maxSurge"), st.maxSurge);
    st.replicas = review_json::asInt(path(parsed.object, {"spec", "replicas"})).value_or(1);
    simdjson::dom::array steps;
    if (const auto s = member(canary, "steps"); s && !s->get_array().get(steps)) {
      st.canarySteps = static_cast<int>(steps.size());
    }
    rollout.strategy = st;
  }
  if (r.reviewed == ReviewedKind::Deployment || r.reviewed == ReviewedKind::StatefulSet ||
      r.reviewed == ReviewedKind::DaemonSet) {
    using review_json::intOrString;
    // The API server has applied each kind's defaults; these are its defaults again, for a
    // review written by hand.
    gate::RolloutStrategy st = r.reviewed == ReviewedKind::Deployment
                                   ? gate::RolloutStrategy{}
                                   : gate::updateStrategyDefaults();
    const auto strategy =
        path(parsed.object,
             {"spec", r.reviewed == ReviewedKind::Deployment ? "strategy" : "updateStrategy"});
    st.type = stringOr(member(strategy, "type"), st.type);
    const auto rolling = member(strategy, "rollingUpdate");
    st.maxUnavailable = intOrString(member(rolling, "maxUnavailable"), st.maxUnavailable);
    st.maxSurge = intOrString(member(rolling, "maxSurge"), st.maxSurge);
    // A DaemonSet runs one Pod per eligible node: a count the review does not hold.
    st.replicas = r.reviewed == ReviewedKind::DaemonSet
                      ? 0
                      : review_json::asInt(path(parsed.object, {"spec", "replicas"})).value_or(1);
    rollout.strategy = st;
  }
  parsed.newTemplate = current->podTemplate;
  if (rollout.name.empty()) rollout.name = stringOr(path(parsed.object, {"metadata", "name"}));
  r.objectUid = stringOr(path(parsed.object, {"metadata", "uid"}));
  r.controller = controllerOf(*parsed.object, &problem);
  if (!problem.empty()) {
    error->message = "request.object." + problem;
    return std::nullopt;
  }
  if (rollout.operation == gate::Operation::Update) {
    auto previous = readWorkload(*parsed.oldObject, r.reviewed, "request.oldObject", &problem);
    if (!previous) {
      error->message = problem;
      return std::nullopt;
    }
    rollout.oldIdentity = std::move(previous->identity);
    r.oldWorkloadRef = previous->workloadRef;
    rollout.oldAnnotations = std::move(previous->annotations);
    parsed.oldTemplate = previous->podTemplate;
    r.oldController = controllerOf(*parsed.oldObject, &problem);
    if (!problem.empty()) {
      error->message = "request.oldObject." + problem;
      return std::nullopt;
    }
  }
  return r;
}

std::string renderResponse(const ReviewResponse& resp) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("apiVersion");
  w.String("admission.k8s.io/v1");
  w.Key("kind");
  w.String("AdmissionReview");
  w.Key("response");
  w.StartObject();
  w.Key("uid");
  w.String(resp.uid.c_str(), static_cast<rapidjson::SizeType>(resp.uid.size()));
  w.Key("allowed");
  w.Bool(resp.allowed);
  if (!resp.allowed) {
    w.Key("status");
    w.StartObject();
    w.Key("code");
    w.Int(resp.allowed ? 200 : resp.code);
    if (!resp.reason.empty()) {
      w.Key("reason");
      w.String(resp.reason.c_str(), static_cast<rapidjson::SizeType>(resp.reason.size()));
    }
    w.Key("message");
    w.String(resp.message.c_str(), static_cast<rapidjson::SizeType>(resp.message.size()));
    w.EndObject();
  }
  if (!resp.warnings.empty()) {
    w.Key("warnings");
    w.StartArray();
    for (const auto& warning : resp.warnings) {
      const auto text = shortWarning(warning);
      w.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
    }
    w.EndArray();
  }
  if (!resp.auditAnnotations.empty()) {
    w.Key("auditAnnotations");
    w.StartObject();
    for (const auto& [k, v] : resp.auditAnnotations) {
      w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
      w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    }
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace budgetgate::admission
