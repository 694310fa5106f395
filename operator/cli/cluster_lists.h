#pragma once
// What the CLI's commands read from a cluster: every item of a list (paginated), and the
// BudgetAdjustments of some namespaces, parsed. Used by `ledger` and `report`.

#include <rapidjson/document.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "operator/kube/kube_client.h"
#include "operator/model/budget_adjustment.h"

namespace budgetgate::cli {

using Item = rapidjson::Document;

// Every item of `resource` in `ns` (all namespaces when empty), one page of 500 per request,
// `continue` followed; each item with apiVersion and kind filled in. False with *error.
bool listItems(kube::KubeClient& client, const kube::Resource& resource, const std::string& ns,
               const std::string& kind, std::vector<Item>& out, std::string* error);

// "namespace/name" of an item.
std::string identity(const rapidjson::Value& item);

// The BudgetAdjustments of these namespaces; unparseable ones are reported on stderr (as
// `budgetgate <command>: ...`) and skipped. False when a list fails.
bool clusterAdjustments(kube::KubeClient& client, const std::set<std::string>& namespaces,
                        std::vector<model::BudgetAdjustment>& out, std::string_view command);

}  // namespace budgetgate::cli
