#include "webhook/admission/admission_review.h"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include <algorithm>

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
  std::optional<review_json::Element> newTemplate;
  std::optional<review_json::Element> oldTemplate;
};

ParsedReview::ParsedReview() = default;
ParsedReview::~ParsedReview() = default;
ParsedReview::ParsedReview(ParsedReview&&) noexcept = default;
ParsedReview& ParsedReview::operator=(ParsedReview&&) noexcept = default;

bool ParsedReview::templateChanged() const {
  return !(parsed_ && parsed_->newTemplate && parsed_->oldTemplate &&
           review_json::sameJson(*parsed_->newTemplate, *parsed_->oldTemplate));
}

std::optional<std::string> ParsedReview::newTemplateFingerprint() const {
  if (!parsed_ || !parsed_->newTemplate) return std::nullopt;
  // Fingerprints must match those of the ReplicaSets in the cache, which are RapidJSON
  // readings of the API server's text: read the template's own bytes with RapidJSON too, so
  // that every number is rounded the same way (the two parsers differ in the last digit of
  // some doubles). Runs only when the Deployment has ReplicaSets to compare with.
  const auto raw =
      review_json::rawValueAt(parsed_->body, {"request", "object", "spec", "template"});
  auto doc = raw ? json::parse(*raw, nullptr)
                 : json::parse(simdjson::minify(*parsed_->newTemplate), nullptr);
  if (!doc) return std::nullopt;
  return gate::templateFingerprint(*doc);
}

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
  // Deletes carry only oldObject; scale/status subresources carry other kinds: the gate never
  // gates those, so their objects need not be readable Deployments.
  const bool needsObject = (rollout.operation == gate::Operation::Create ||
                            rollout.operation == gate::Operation::Update) &&
                           rollout.subResource.empty();
  if (!needsObject) return r;
  const auto object = member(req, "object");
  if (!object || !object->is_object()) {
    error->message = "request.object is missing";
    return std::nullopt;
  }
  rollout.labels = review_json::stringMap(path(object, {"metadata", "labels"}));
  rollout.annotations = review_json::stringMap(path(object, {"metadata", "annotations"}));
  if (rollout.name.empty()) rollout.name = stringOr(path(object, {"metadata", "name"}));
  auto& parsed = *r.parsed_;
  parsed.newTemplate = path(object, {"spec", "template"});
  if (!parsed.newTemplate || !parsed.newTemplate->is_object()) {
    error->message = "request.object has no spec.template";
    return std::nullopt;
  }
  if (rollout.operation == gate::Operation::Update) {
    parsed.oldTemplate = path(member(req, "oldObject"), {"spec", "template"});
    if (parsed.oldTemplate && !parsed.oldTemplate->is_object()) parsed.oldTemplate.reset();
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
