#include "operator/kube/rollout_history.h"

#include <fmt/format.h>

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
  constexpr std::string_view kPrefix = "rollout by ";
  constexpr std::string_view kSuffix = " admitted: ";
  for (const auto& e : items->GetArray()) {
    if (json::stringOr(json::member(&e, "reason")) != "RolloutAdmitted" ||
        json::stringOr(json::member(&e, "reportingComponent")) != "budgetgate-webhook" ||
        json::stringOr(json::path(&e, {"involvedObject", "kind"})) != "Deployment") {
      continue;
    }
    const auto message = json::stringOr(json::member(&e, "message"));
    const auto end = message.find(kSuffix);
    if (message.rfind(kPrefix, 0) != 0 || end == std::string::npos || end <= kPrefix.size()) {
      continue;
    }
    const auto at = parseTime(json::stringOr(json::member(&e, "firstTimestamp")));
    if (!at) continue;
    out.push_back({json::stringOr(json::path(&e, {"involvedObject", "name"})), *at,
                   message.substr(kPrefix.size(), end - kPrefix.size())});
  }
  return out;
}

void attachRequesters(std::vector<WorkloadRevision>& revisions,
                      const std::vector<RolloutRequest>& requests) {
  constexpr Seconds kMatch{30};
  for (auto& r : revisions) {
    std::optional<Seconds> best;
    for (const auto& q : requests) {
      if ("deployment/" + q.deployment != r.record.workload) continue;
      const Seconds d = q.at > r.record.at ? q.at - r.record.at : r.record.at - q.at;
      if (d > kMatch || (best && d >= *best)) continue;
      best = d;
      r.record.requester = q.user;
    }
  }
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
    if (next.empty()) {
      // Requesters are a nicety: without them (Events unreadable) the ledger still attributes.
      const auto events = client.get(kEventResource.collectionPath(ns) +
                                     "?fieldSelector=" + http::urlEncode("reason=RolloutAdmitted"));
      rapidjson::Document list;
      if (events.ok() && !list.Parse(events.body.c_str()).HasParseError()) {
        attachRequesters(all, requestsFromEventList(list));
      }
      return all;
    }
  }
  if (error) *error = fmt::format("listing ReplicaSets in {}: more than {} pages", ns, kMaxPages);
  return std::nullopt;
}

}  // namespace budgetgate::kube
