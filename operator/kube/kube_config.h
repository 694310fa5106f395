#pragma once
// Where the API server is and how to authenticate: from a kubeconfig file (current context,
// or a named one) or from the in-cluster service account.

#include <optional>
#include <string>

#include "operator/http/http_client.h"

namespace budgetgate::kube {

struct KubeConfig {
  http::ClientOptions http;  // server URL, TLS material, token
  std::string defaultNamespace = "default";
  std::string source;  // "kubeconfig /path (context x)" or "in-cluster"
  // Objects per page when an informer lists (`limit`/`continue`): one page is parsed and handed
  // over before the next is asked for, so a list of 50,000 objects never sits in memory as one
  // response body. 0: one unpaginated list.
  std::size_t listPageSize = 500;
};

// Reads a kubeconfig. Supports certificate-authority(-data), client-certificate(-data),
// client-key(-data), token, tokenFile, username/password, insecure-skip-tls-verify and exec
// credential plugins that return a token (exec_credential.h); auth-provider plugins are
// reported as unsupported. nullopt with *error on failure.
std::optional<KubeConfig> loadKubeconfig(const std::string& path, const std::string& context,
                                         std::string* error);

// The pod's service account (KUBERNETES_SERVICE_HOST/PORT and
// /var/run/secrets/kubernetes.io/serviceaccount). nullopt when not in a cluster.
std::optional<KubeConfig> inClusterConfig(std::string* error);

// --kubeconfig if given, else $KUBECONFIG, else in-cluster, else ~/.kube/config.
std::optional<KubeConfig> resolveConfig(const std::string& kubeconfigFlag,
                                        const std::string& context, std::string* error);

}  // namespace budgetgate::kube
