#include "operator/kube/rollout_history.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "operator/common/json.h"
#include "operator/common/time.h"
#include "operator/http/http_client.h"

namespace budgetgate::kube {
namespace {

constexpr int kPageSize = 500;
constexpr int kMaxPages = 200;
constexpr std::size_t kMaxImagesText =
    512;  // 100,000 ReplicaSets in one namespace: beyond any real one

bool controlledByDeployment(const rapidjson::Value& item, std::string* owner) {
  const auto* refs = json::path(&item, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->IsArray()) return false;
  for (const auto& ref : refs->GetArray()) {
    if (json::stringOr(json::member(&ref, "kind")) == "Deployment" &&
        json::stringOr(json::member(&ref, "apiVersion")) == "apps/v1" &&
        json::asBool(json::member(&ref, "controller")).value_or(false)) {
      *owner = json::stringOr(json::member(&ref, "name"));
      return !owner->empty();
    }
  }
  return false;
}

}  // namespace

std::vector<WorkloadRevision> revisionsFromList(const rapidjson::Value& list) {
  std::vector<WorkloadRevision> out;
  const auto* items = json::member(&list, "items");
  if (items == nullptr || !items->IsArray()) return out;
  for (const auto& item : items->GetArray()) {
    std::string owner;
    if (!controlledByDeployment(item, &owner)) continue;
    const auto created =
        parseTime(json::stringOr(json::path(&item, {"metadata", "creationTimestamp"})));
    if (!created) continue;
    WorkloadRevision r;
    r.record.at = *created;
    r.record.workload = "deployment/" + owner;
    const auto* annotations = json::path(&item, {"metadata", "annotations"});
    r.record.revision =
        json::stringOr(json::member(annotations, "deployment.kubernetes.io/revision"));
    r.record.releaseType = json::stringOr(json::member(annotations, "budgetgate.dev/release-type"));
    if (const auto* containers = json::path(&item, {"spec", "template", "spec", "containers"});
        containers && containers->IsArray()) {
      for (const auto& c : containers->GetArray()) {
        const auto image = json::stringOr(json::member(&c, "image"));
        if (image.empty()) continue;
        // Bounded: the ledger entry lands in the SLO's status.
        if (r.record.images.size() + image.size() > kMaxImagesText) {
          r.record.images += r.record.images.empty() ? "..." : ",...";
          break;
        }
        if (!r.record.images.empty()) r.record.images += ",";
        r.record.images += image;
      }
    }
    if (const auto* labels = json::path(&item, {"metadata", "labels"});
        labels && labels->IsObject()) {
      for (const auto& m : labels->GetObject()) {
        if (m.value.IsString()) r.podLabels[m.name.GetString()] = m.value.GetString();
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<engine::RolloutRecord> rolloutsMatching(const std::vector<WorkloadRevision>& revisions,
                                                    const model::LabelSelector& selector) {
  std::vector<engine::RolloutRecord> out;
  for (const auto& r : revisions) {
    if (selector.matches(r.podLabels)) out.push_back(r.record);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
  return out;
}

std::vector<RolloutRequest> requestsFromEventList(const rapidjson::Value& list) {
  std::vector<RolloutRequest> out;
  const auto* items = json::member(&list, "items");
  if (items == nullptr || !items->IsArray()) return out;
  // "rollout of deployment/NAME in NAMESPACE by USER admitted: RULE"
  constexpr std::string_view kPrefix = "rollout of deployment/";
  for (const auto& e : items->GetArray()) {
    if (json::stringOr(json::member(&e, "reason")) != "RolloutAdmitted") continue;
    const auto message = json::stringOr(json::member(&e, "message"));
    if (message.rfind(kPrefix, 0) != 0) continue;
    const auto in = message.find(" in ", kPrefix.size());
    const auto by = in == std::string::npos ? in : message.find(" by ", in + 4);
    const auto admitted = by == std::string::npos ? by : message.find(" admitted: ", by + 4);
    if (admitted == std::string::npos) continue;
    const auto at = parseTime(json::stringOr(json::member(&e, "firstTimestamp")));
    if (!at) continue;
    out.push_back({message.substr(in + 4, by - in - 4),
                   message.substr(kPrefix.size(), in - kPrefix.size()), *at,
                   message.substr(by + 4, admitted - by - 4)});
  }
  return out;
}

void attachRequesters(std::vector<WorkloadRevision>& revisions, const std::string& ns,
                      const std::vector<RolloutRequest>& requests) {
  constexpr Seconds kMatch{30};
  for (auto& r : revisions) {
    std::optional<Seconds> best;
    for (const auto& q : requests) {
      if (q.ns != ns || "deployment/" + q.deployment != r.record.workload) continue;
      const Seconds d = q.at > r.record.at ? q.at - r.record.at : r.record.at - q.at;
      if (d > kMatch || (best && d >= *best)) continue;
      best = d;
      r.record.requester = q.user;
    }
  }
}

std::vector<RolloutRequest> listRequests(KubeClient& client, const std::string& gateNamespace) {
  const auto result = client.get(kEventResource.collectionPath(gateNamespace) +
                                 "?fieldSelector=" + http::urlEncode("reason=RolloutAdmitted"));
  rapidjson::Document list;
  if (!result.ok() || list.Parse(result.body.c_str()).HasParseError()) {
    spdlog::warn("ledger: who rolled out is not known: listing Events in {}: {}", gateNamespace,
                 result.ok() ? std::string("unreadable response") : result.describe());
    return {};
  }
  return requestsFromEventList(list);
}

std::optional<std::vector<WorkloadRevision>> listRevisions(KubeClient& client,
                                                           const std::string& ns,
                                                           std::string* error) {
  std::vector<WorkloadRevision> all;
  std::string next;
  for (int page = 0; page < kMaxPages; ++page) {
    std::string path =
        fmt::format("{}?limit={}", kReplicaSetResource.collectionPath(ns), kPageSize);
    if (!next.empty()) path += "&continue=" + http::urlEncode(next);
    const auto result = client.get(path);
    if (!result.ok()) {
      if (error) *error = fmt::format("listing ReplicaSets in {}: {}", ns, result.describe());
      return std::nullopt;
    }
    rapidjson::Document doc;
    doc.Parse(result.body.c_str());
    if (doc.HasParseError() || !doc.IsObject()) {
      if (error) *error = fmt::format("listing ReplicaSets in {}: unreadable response", ns);
      return std::nullopt;
    }
    auto revisions = revisionsFromList(doc);
    std::move(revisions.begin(), revisions.end(), std::back_inserter(all));
    next = json::stringOr(json::path(&doc, {"metadata", "continue"}));
    if (next.empty()) return all;
  }
  if (error) *error = fmt::format("listing ReplicaSets in {}: more than {} pages", ns, kMaxPages);
  return std::nullopt;
}

}  // namespace budgetgate::kube
