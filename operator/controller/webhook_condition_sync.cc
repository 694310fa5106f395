#include "operator/controller/webhook_condition_sync.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "operator/common/json.h"

namespace budgetgate::controller {
namespace {

const kube::Resource kWebhookConfigurations{"admissionregistration.k8s.io", "v1",
                                            "validatingwebhookconfigurations", false};

// Re-read the stored configuration every this many calls even when nothing changed here: a
// `helm upgrade` or a break-glass restore may have replaced it.
constexpr int kRecheckEvery = 10;

}  // namespace

WebhookConditionSync::WebhookConditionSync(const kube::KubeConfig& config,
                                           std::string configurationName, std::string webhookName)
    : client_(config),
      configuration_(std::move(configurationName)),
      webhook_(std::move(webhookName)) {}

bool WebhookConditionSync::write(const std::string& expression, std::string* error) {
  const auto path = kWebhookConfigurations.objectPath("", configuration_);
  const auto current = client_.get(path);
  if (!current.ok()) {
    *error = fmt::format("reading ValidatingWebhookConfiguration {}: {}", configuration_,
                         current.describe());
    return false;
  }
  auto doc = json::parse(current.body, error);
  if (!doc) return false;
  auto& a = doc->GetAllocator();
  auto hooks = doc->FindMember("webhooks");
  if (hooks == doc->MemberEnd() || !hooks->value.IsArray()) {
    *error = fmt::format("ValidatingWebhookConfiguration {} has no webhooks", configuration_);
    return false;
  }
  rapidjson::Value* entry = nullptr;
  for (auto& h : hooks->value.GetArray()) {
    if (json::stringOr(json::member(&h, "name")) == webhook_) entry = &h;
  }
  if (entry == nullptr) {
    *error = fmt::format("ValidatingWebhookConfiguration {} has no webhook {}", configuration_,
                         webhook_);
    return false;
  }
  auto conditions = entry->FindMember("matchConditions");
  if (conditions == entry->MemberEnd()) {
    entry->AddMember("matchConditions", rapidjson::Value(rapidjson::kArrayType), a);
    conditions = entry->FindMember("matchConditions");
  }
  rapidjson::Value* ours = nullptr;
  for (auto& c : conditions->value.GetArray()) {
    if (json::stringOr(json::member(&c, "name")) == kGatedWorkloadsCondition) ours = &c;
  }
  if (ours != nullptr && json::stringOr(json::member(ours, "expression")) == expression) {
    stored_ = expression;
    return true;
  }
  if (ours == nullptr) {
    rapidjson::Value c(rapidjson::kObjectType);
    c.AddMember("name", json::str(kGatedWorkloadsCondition, a), a);
    c.AddMember("expression", json::str(expression, a), a);
    conditions->value.PushBack(c, a);
  } else {
    (*ours)["expression"].SetString(expression.c_str(),
                                    static_cast<rapidjson::SizeType>(expression.size()), a);
  }
  // The resourceVersion read above makes this a compare-and-swap: a concurrent writer (the TLS
  // bootstrap's caBundle, helm) wins and the next reconcile retries.
  const auto r = client_.replace(path, json::toString(*doc));
  if (!r.ok()) {
    *error =
        fmt::format("updating ValidatingWebhookConfiguration {}: {}", configuration_, r.describe());
    return false;
  }
  stored_ = expression;
  spdlog::info("webhook {}: matchCondition {} set ({} characters)", webhook_,
               kGatedWorkloadsCondition, expression.size());
  return true;
}

bool WebhookConditionSync::reconcile(const std::string& expression) {
  if (expression == stored_ && ++sinceCheck_ < kRecheckEvery) return true;
  sinceCheck_ = 0;
  std::string error;
  bool ok = write(expression, &error);
  if (!ok && error.find("HTTP 422") != std::string::npos && expression != "true") {
    // Refused by the API server's validation (CEL size or cost): fall back to sending every
    // Deployment of the gated namespaces, which is safe.
    spdlog::error("{}; falling back to sending every Deployment of the gated namespaces", error);
    std::string fallbackError;
    ok = write("true", &fallbackError);
    if (!ok) error = fallbackError;
  }
  if (!ok && error != lastError_) spdlog::warn("{}", error);
  lastError_ = ok ? std::string() : error;
  return ok;
}

}  // namespace budgetgate::controller
