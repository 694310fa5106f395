#include "operator/cli/cluster_lists.h"

#include <fmt/format.h>

#include <iostream>

#include "operator/common/json.h"
#include "operator/common/object_key.h"
#include "operator/common/yaml_json.h"
#include "operator/http/http_client.h"
#include "operator/model/diagnostics.h"

namespace budgetgate::cli {

// Every item of a list (one page per call of the API server, `continue` followed).
bool listItems(kube::KubeClient& client, const kube::Resource& resource, const std::string& ns,
               const std::string& kind, std::vector<Item>& out, std::string* error) {
  std::string next;
  do {
    std::string path = resource.collectionPath(ns) + "?limit=500";
    if (!next.empty()) path += "&continue=" + http::urlEncode(next);
    const auto result = client.get(path);
    if (!result.ok()) {
      *error = fmt::format("listing {} in {}: {}", resource.plural,
                           ns.empty() ? "all namespaces" : ns, result.describe());
      return false;
    }
    rapidjson::Document doc;
    doc.Parse(result.body.c_str());
    const auto* items = json::member(&doc, "items");
    if (doc.HasParseError() || items == nullptr || !items->IsArray()) {
      *error = fmt::format("listing {} in {}: unreadable answer", resource.plural, ns);
      return false;
    }
    for (const auto& item : items->GetArray()) {
      Item copy;
      copy.CopyFrom(item, copy.GetAllocator());
      if (!copy.HasMember("apiVersion")) {
        const std::string apiVersion =
            resource.group.empty() ? resource.version : resource.group + "/" + resource.version;
        copy.AddMember("apiVersion", json::str(apiVersion, copy.GetAllocator()),
                       copy.GetAllocator());
      }
      if (!copy.HasMember("kind")) {
        copy.AddMember("kind", json::str(kind, copy.GetAllocator()), copy.GetAllocator());
      }
      out.push_back(std::move(copy));
    }
    next = json::stringOr(json::path(&doc, {"metadata", "continue"}));
  } while (!next.empty());
  return true;
}

std::string identity(const rapidjson::Value& item) {
  return objectKey(json::stringOr(json::path(&item, {"metadata", "namespace"})),
                   json::stringOr(json::path(&item, {"metadata", "name"})));
}

bool clusterAdjustments(kube::KubeClient& client, const std::set<std::string>& namespaces,
                        std::vector<model::BudgetAdjustment>& out, std::string_view command) {
  for (const auto& ns : namespaces) {
    std::vector<Item> items;
    std::string error;
    if (!listItems(client, kube::kAdjustmentResource, ns, "BudgetAdjustment", items, &error)) {
      std::cerr << "budgetgate " << command << ": " << error << '\n';
      return false;
    }
    for (const auto& item : items) {
      model::Diagnostics diag(identity(item));
      if (auto a = model::parseBudgetAdjustment(jsonToYaml(item), diag)) {
        out.push_back(std::move(*a));
      } else {
        std::cerr << "budgetgate " << command << ": BudgetAdjustment ignored: " << diag.format();
      }
    }
  }
  return true;
}

}  // namespace budgetgate::cli
