#pragma once
// The identities of the cluster's workload controllers (deployment, replicaset, job... in
// kube-controller-manager). Pods and ReplicaSets they write are the consequence of a rollout
// the gate has already judged; the same objects written by anyone else are judged themselves.
// The chart's webhook configuration skips these identities in matchConditions, so the webhook
// is not even called for ordinary Pod churn; the webhook checks again in case it is.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace budgetgate::admission {

struct TrustedControllers {
  // Exact user names, e.g. system:kube-controller-manager (controllers without their own
  // service-account credentials).
  std::vector<std::string> users{"system:kube-controller-manager"};
  // Service accounts in these namespaces (system:serviceaccount:<ns>:<name>); only cluster
  // admins can act as them.
  std::vector<std::string> serviceAccountNamespaces{"kube-system"};

  bool trusts(std::string_view username) const {
    if (std::find(users.begin(), users.end(), username) != users.end()) return true;
    constexpr std::string_view kPrefix = "system:serviceaccount:";
    if (username.substr(0, kPrefix.size()) != kPrefix) return false;
    const auto rest = username.substr(kPrefix.size());
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos || colon + 1 >= rest.size()) return false;
    const auto ns = rest.substr(0, colon);
    return std::find(serviceAccountNamespaces.begin(), serviceAccountNamespaces.end(), ns) !=
           serviceAccountNamespaces.end();
  }
};

}  // namespace budgetgate::admission
