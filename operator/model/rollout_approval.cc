#include "operator/model/rollout_approval.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "operator/model/field.h"
#include "operator/model/resource_kind.h"
#include "operator/model/slo.h"

namespace budgetgate::model {
namespace {

bool isHexSha256(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::isdigit(c) || (c >= 'a' && c <= 'f');
         });
}

std::optional<TimePoint> instant(const Field& f, bool required) {
  auto text = f.string(required);
  if (!text) return std::nullopt;
  auto t = parseTime(*text);
  if (!t) f.error(fmt::format("expected an RFC 3339 instant, got \"{}\"", *text));
  return t;
}

}  // namespace

bool isRolloutApprovalDocument(const YAML::Node& doc) {
  return isKindDocument(doc, "RolloutApproval");
}

std::optional<RolloutApproval> parseRolloutApproval(const YAML::Node& doc,
                                                    Diagnostics& diagnostics) {
  const std::size_t errorsBefore = diagnostics.errors().size();
  const Field root(doc, "", diagnostics);
  if (!expectBudgetgateKind(root, "RolloutApproval")) return std::nullopt;
  RolloutApproval a;
  const Field meta = root.child("metadata");
  if (meta.expectMap(true)) {
    a.name = meta.child("name").string(true).value_or("");
    a.ns = meta.child("namespace").string().value_or("");
    if (meta.child("creationTimestamp").present())
      a.created = instant(meta.child("creationTimestamp"), false);
  }
  const Field spec = root.child("spec");
  if (!spec.expectMap(true)) return std::nullopt;
  spec.rejectUnknownKeys(
      {"workload", "podTemplateHash", "images", "expires", "reason", "approvedBy"});
  const Field workload = spec.child("workload");
  if (workload.expectMap(true)) {
    workload.rejectUnknownKeys({"kind", "name"});
    if (auto k = workload.child("kind").string()) {
      if (*k != "Deployment" && *k != "StatefulSet" && *k != "DaemonSet" && *k != "Rollout") {
        workload.child("kind").error(
            fmt::format("expected Deployment, StatefulSet, DaemonSet or Rollout, got \"{}\"", *k));
      } else {
        a.workloadKind = *k;
      }
    }
    a.workloadName = workload.child("name").string(true).value_or("");
  }
  const Field hash = spec.child("podTemplateHash");
  if (auto h = hash.string()) {
    if (!isHexSha256(*h)) {
      hash.error(
          "expected the pod template's fingerprint: 64 lowercase hex digits (SHA-256), as "
          "`budgetgate gate` and the denial message print it");
    }
    a.podTemplateHash = *h;
  }
  const Field images = spec.child("images");
  if (images.present() && images.expectSequence()) {
    for (std::size_t i = 0; i < images.size(); ++i) {
      if (auto v = images.item(i).string(true)) {
        if (v->empty()) {
          images.item(i).error("expected an image reference, got an empty string");
        } else {
          a.images.push_back(*v);
        }
      }
    }
  }
  if (hash.present() == images.present()) {
    spec.error(
        "set exactly one of podTemplateHash (this exact pod template) and images (every "
        "container image of the new template)");
  }
  if (auto t = instant(spec.child("expires"), true)) a.expires = *t;
  if (auto r = spec.child("reason").string(true)) {
    if (r->find_first_not_of(" \t\n") == std::string::npos) {
      spec.child("reason").error("say why the rollout is approved (an incident, a ticket)");
    }
    a.reason = *r;
  }
  const Field by = spec.child("approvedBy");
  if (by.expectMap(true)) {
    by.rejectUnknownKeys({"user", "groups"});
    a.approvedByUser = by.child("user").string(true).value_or("");
    const Field groups = by.child("groups");
    if (groups.present() && groups.expectSequence()) {
      for (std::size_t i = 0; i < groups.size(); ++i) {
        if (auto g = groups.item(i).string(true)) a.approvedByGroups.push_back(*g);
      }
    }
  }
  if (a.created && a.expires <= *a.created) {
    spec.child("expires").error("must be after the approval's creation");
  }
  if (diagnostics.errors().size() != errorsBefore) return std::nullopt;
  return a;
}

}  // namespace budgetgate::model
