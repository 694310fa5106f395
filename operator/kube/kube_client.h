#pragma once
// A small Kubernetes API client: REST verbs on JSON objects and streamed watches. Errors are
// values (HTTP status + Kubernetes Status reason/message, or a transport failure).

#include <rapidjson/document.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "operator/http/http_client.h"
#include "operator/kube/kube_config.h"

namespace budgetgate::kube {

struct ApiResult {
  http::Transport transport = http::Transport::Ok;
  int status = 0;
  std::string body;
  std::string error;  // transport error, or the Status message from the server
  // The server's Warning headers (RFC 7234 299 warnings: deprecations, admission warnings), as
  // their text.
  std::vector<std::string> warnings;

  bool ok() const { return transport == http::Transport::Ok && status >= 200 && status < 300; }
  bool notFound() const { return transport == http::Transport::Ok && status == 404; }
  bool conflict() const { return transport == http::Transport::Ok && status == 409; }
  // Worth retrying: transport errors, 409 on status writes, 429, 5xx.
  bool retryable() const;
  std::string describe() const;  // "HTTP 403: slos is forbidden ..." / "unreachable: ..."
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  rapidjson::Document object;
};

// Apply: server-side apply (application/apply-patch+yaml; the path carries fieldManager).
enum class PatchType { Merge, JsonPatch, StrategicMerge, Apply };

// A resource type: "" group for core.
struct Resource {
  std::string group;
  std::string version;
  std::string plural;
  bool namespaced = true;

  std::string collectionPath(const std::string& ns = {}) const;  // all namespaces when empty
  std::string objectPath(const std::string& ns, const std::string& name) const;
};

inline const Resource kSloResource{"slo.budgetgate.dev", "v1alpha1", "servicelevelobjectives",
                                   true};
inline const Resource kPolicyResource{"slo.budgetgate.dev", "v1alpha1", "errorbudgetpolicies",
                                      true};
inline const Resource kApprovalResource{"slo.budgetgate.dev", "v1alpha1", "rolloutapprovals", true};
inline const Resource kAdjustmentResource{"slo.budgetgate.dev", "v1alpha1", "budgetadjustments",
                                          true};
inline const Resource kLeaseResource{"coordination.k8s.io", "v1", "leases", true};
inline const Resource kEventResource{"", "v1", "events", true};
inline const Resource kReplicaSetResource{"apps", "v1", "replicasets", true};
inline const Resource kDeploymentResource{"apps", "v1", "deployments", true};
inline const Resource kStatefulSetResource{"apps", "v1", "statefulsets", true};
inline const Resource kDaemonSetResource{"apps", "v1", "daemonsets", true};
inline const Resource kControllerRevisionResource{"apps", "v1", "controllerrevisions", true};
inline const Resource kArgoRolloutResource{"argoproj.io", "v1alpha1", "rollouts", true};
inline const Resource kNamespaceResource{"", "v1", "namespaces", false};

class KubeClient {
 public:
  explicit KubeClient(const KubeConfig& config);

  ApiResult get(const std::string& path);
  ApiResult create(const std::string& path, const std::string& body);
  ApiResult replace(const std::string& path, const std::string& body);
  ApiResult patch(const std::string& path, const std::string& body, PatchType type);
  ApiResult remove(const std::string& path);

  // Streams a watch (path must include ?watch=true...). Calls onEvent per event until the
  // server closes the stream, onEvent returns false, a malformed line arrives, or the idle
  // timeout passes. The returned result describes how the stream ended.
  ApiResult watch(const std::string& path, std::chrono::milliseconds idleTimeout,
                  const std::function<bool(WatchEvent&)>& onEvent);

  // Ends every request in flight, including watches (at shutdown).
  void cancelAll() { client_.cancelAll(); }
  const KubeConfig& config() const { return config_; }

 private:
  ApiResult call(const http::Request& request);
  KubeConfig config_;
  http::Client client_;
};

}  // namespace budgetgate::kube
