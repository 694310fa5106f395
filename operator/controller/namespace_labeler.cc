#include "operator/controller/namespace_labeler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "operator/common/json.h"
#include "operator/http/http_client.h"

namespace budgetgate::controller {

NamespaceLabeler::NamespaceLabeler(const kube::KubeConfig& config) : client_(config) {}

bool NamespaceLabeler::setLabel(const std::string& ns, bool gated) {
  const std::string body = fmt::format(R"({{"metadata":{{"labels":{{"{}":{}}}}}}})",
                                       kGatedNamespaceLabel, gated ? "\"true\"" : "null");
  const auto r =
      client_.patch(kube::kNamespaceResource.objectPath("", ns), body, kube::PatchType::Merge);
  if (r.ok() || (!gated && r.notFound())) {
    ++patches_;
    spdlog::info("namespace {}: {} {}", ns, gated ? "labelled" : "unlabelled",
                 kGatedNamespaceLabel);
    return true;
  }
  if (r.notFound()) return true;  // deleted meanwhile
  const auto error = fmt::format("labelling namespace {}: {}", ns, r.describe());
  if (error != lastError_) spdlog::warn("{}", error);
  lastError_ = error;
  return false;
}

bool NamespaceLabeler::reconcile(const std::set<std::string>& gated) {
  const auto list = client_.get(kube::kNamespaceResource.collectionPath() +
                                "?labelSelector=" + http::urlEncode(kGatedNamespaceLabel));
  if (!list.ok()) {
    const auto error = "listing labelled namespaces: " + list.describe();
    if (error != lastError_) spdlog::warn("{}", error);
    lastError_ = error;
    return false;
  }
  std::string error;
  const auto doc = json::parse(list.body, &error);
  if (!doc) {
    spdlog::warn("listing labelled namespaces: {}", error);
    return false;
  }
  std::set<std::string> labelled;
  if (const auto* items = json::member(&*doc, "items"); items && items->IsArray()) {
    for (const auto& item : items->GetArray()) {
      const auto* meta = json::member(&item, "metadata");
      if (json::stringOr(json::path(meta, {"labels", kGatedNamespaceLabel})) == "true") {
        labelled.insert(json::stringOr(json::member(meta, "name")));
      }
    }
  }
  bool ok = true;
  for (const auto& ns : gated) {
    if (labelled.count(ns) == 0) ok = setLabel(ns, true) && ok;
  }
  for (const auto& ns : labelled) {
    if (gated.count(ns) == 0) ok = setLabel(ns, false) && ok;
  }
  if (ok) lastError_.clear();
  return ok;
}

}  // namespace budgetgate::controller
