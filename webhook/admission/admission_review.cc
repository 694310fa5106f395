#include "webhook/admission/admission_review.h"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "operator/common/json.h"
#include "webhook/gate/deployment_view.h"

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

std::optional<ParsedReview> parseReview(std::string_view body, ReviewError* error) {
  ParsedReview r;
  std::string parseError;
  auto doc = json::parse(body, &parseError);
  if (!doc) {
    error->message = "request body is not JSON: " + parseError;
    return std::nullopt;
  }
  r.document = std::move(*doc);
  const auto& d = r.document;
  if (!d.IsObject()) {
    error->message = "request body is not a JSON object";
    return std::nullopt;
  }
  const auto api = json::stringOr(json::member(&d, "apiVersion"));
  const auto kind = json::stringOr(json::member(&d, "kind"));
  if (kind != "AdmissionReview" || api != "admission.k8s.io/v1") {
    error->message = fmt::format(
        "expected apiVersion admission.k8s.io/v1 kind AdmissionReview, got \"{}\" \"{}\" "
        "(set admissionReviewVersions: [v1])",
        api, kind);
    return std::nullopt;
  }
  const auto* req = json::member(&d, "request");
  if (req == nullptr || !req->IsObject()) {
    error->message = "AdmissionReview has no request";
    return std::nullopt;
  }
  r.uid = json::stringOr(json::member(req, "uid"));
  if (r.uid.empty()) {
    error->message = "AdmissionReview request has no uid";
    return std::nullopt;
  }
  error->uid = r.uid;  // from here on, errors can be answered in a proper response
  const auto* k = json::member(req, "kind");
  r.group = json::stringOr(json::member(k, "group"));
  r.version = json::stringOr(json::member(k, "version"));
  r.kind = json::stringOr(json::member(k, "kind"));
  auto op = operationFrom(json::stringOr(json::member(req, "operation")));
  if (!op) {
    error->message = "request.operation is missing or unknown";
    return std::nullopt;
  }
  auto& rollout = r.rollout;
  rollout.operation = *op;
  rollout.subResource = json::stringOr(json::member(req, "subResource"));
  rollout.dryRun = json::asBool(json::member(req, "dryRun")).value_or(false);
  rollout.ns = json::stringOr(json::member(req, "namespace"));
  rollout.name = json::stringOr(json::member(req, "name"));
  if (const auto* user = json::member(req, "userInfo")) {
    rollout.user.username = json::stringOr(json::member(user, "username"));
    if (const auto* groups = json::member(user, "groups"); groups && groups->IsArray()) {
      for (const auto& g : groups->GetArray()) {
        if (g.IsString()) rollout.user.groups.emplace_back(g.GetString(), g.GetStringLength());
      }
    }
  }
  // Deletes carry only oldObject; scale/status subresources carry other kinds: the gate never
  // gates those, so their objects need not be readable Deployments.
  const bool needsObject = (rollout.operation == gate::Operation::Create ||
                            rollout.operation == gate::Operation::Update) &&
                           rollout.subResource.empty();
  if (!needsObject) return r;
  const auto* object = json::member(req, "object");
  if (object == nullptr || !object->IsObject()) {
    error->message = "request.object is missing";
    return std::nullopt;
  }
  rollout.labels = gate::readStringMap(json::path(object, {"metadata", "labels"}));
  rollout.annotations = gate::readStringMap(json::path(object, {"metadata", "annotations"}));
  if (rollout.name.empty()) rollout.name = json::stringOr(json::path(object, {"metadata", "name"}));
  r.newTemplate = json::path(object, {"spec", "template"});
  if (r.newTemplate == nullptr || !r.newTemplate->IsObject()) {
    error->message = "request.object has no spec.template";
    return std::nullopt;
  }
  if (rollout.operation == gate::Operation::Update) {
    r.oldTemplate = json::path(json::member(req, "oldObject"), {"spec", "template"});
    if (r.oldTemplate != nullptr && !r.oldTemplate->IsObject()) r.oldTemplate = nullptr;
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
