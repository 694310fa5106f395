#include "operator/kube/kube_config.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "operator/kube/exec_credential.h"

namespace budgetgate::kube {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> decodeBase64(const std::string& in) {
  std::string clean;
  for (char c : in) {
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  }
  if (clean.size() % 4 != 0) return std::nullopt;
  std::string out(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  std::size_t padding = 0;
  if (!clean.empty() && clean.back() == '=') ++padding;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::string scalar(const YAML::Node& n, const char* key) {
  if (!n.IsMap()) return {};
  const YAML::Node v = n[key];
  return v && v.IsScalar() ? v.Scalar() : std::string();
}

// Relative paths in a kubeconfig are relative to the kubeconfig's directory.
std::string resolvePath(const std::string& p, const fs::path& base) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (base / p).string();
}

const YAML::Node findNamed(const YAML::Node& list, const std::string& name, const char* inner) {
  if (list && list.IsSequence()) {
    for (const auto& item : list) {
      if (scalar(item, "name") == name && item[inner]) return item[inner];
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

}  // namespace

std::optional<KubeConfig> loadKubeconfig(const std::string& path, const std::string& contextName,
                                         std::string* error) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    *error = fmt::format("kubeconfig {}: {}", path, e.what());
    return std::nullopt;
  }
  const fs::path base = fs::path(path).parent_path();
  const std::string ctxName = contextName.empty() ? scalar(root, "current-context") : contextName;
  if (ctxName.empty()) {
    *error = fmt::format("kubeconfig {}: no current-context and no --context", path);
    return std::nullopt;
  }
  const YAML::Node ctx = findNamed(root["contexts"], ctxName, "context");
  if (!ctx.IsDefined()) {
    *error = fmt::format("kubeconfig {}: context \"{}\" not found", path, ctxName);
    return std::nullopt;
  }
  const YAML::Node cluster = findNamed(root["clusters"], scalar(ctx, "cluster"), "cluster");
  const YAML::Node user = findNamed(root["users"], scalar(ctx, "user"), "user");
  if (!cluster.IsDefined()) {
    *error = fmt::format("kubeconfig {}: cluster \"{}\" not found", path, scalar(ctx, "cluster"));
    return std::nullopt;
  }
  KubeConfig c;
  c.source = fmt::format("kubeconfig {} (context {})", path, ctxName);
  c.http.baseUrl = scalar(cluster, "server");
  if (c.http.baseUrl.empty()) {
    *error = fmt::format("kubeconfig {}: cluster has no server", path);
    return std::nullopt;
  }
  while (c.http.baseUrl.back() == '/') c.http.baseUrl.pop_back();
  c.http.insecureSkipVerify = scalar(cluster, "insecure-skip-tls-verify") == "true";
  c.http.caFile = resolvePath(scalar(cluster, "certificate-authority"), base);
  if (auto data = scalar(cluster, "certificate-authority-data"); !data.empty()) {
    auto pem = decodeBase64(data);
    if (!pem) {
      *error = fmt::format("kubeconfig {}: certificate-authority-data is not base64", path);
      return std::nullopt;
    }
    c.http.caPem = *pem;
  }
  // proxy-url: the API server is reached through an HTTP proxy (CONNECT for https), as kubectl
  // does. kubectl also takes socks5://, which budgetgate's HTTP client cannot speak.
  if (auto proxy = scalar(cluster, "proxy-url"); !proxy.empty()) {
    if (proxy.rfind("http://", 0) != 0) {
      *error = fmt::format(
          "kubeconfig {}: proxy-url \"{}\": budgetgate supports http:// proxies (CONNECT), not "
          "{}",
          path, proxy, proxy.substr(0, proxy.find(':')));
      return std::nullopt;
    }
    c.http.proxyUrl = proxy;
  }
  if (user.IsDefined()) {
    if (user["auth-provider"]) {
      *error = fmt::format(
          "kubeconfig {}: user \"{}\" uses an auth-provider plugin (removed from kubectl in "
          "1.26), which budgetgate does not run; use an exec plugin, a token or a client "
          "certificate",
          path, scalar(ctx, "user"));
      return std::nullopt;
    }
    if (const auto exec = user["exec"]) {
      ExecPlugin plugin;
      plugin.command = scalar(exec, "command");
      if (auto v = scalar(exec, "apiVersion"); !v.empty()) plugin.apiVersion = v;
      if (plugin.command.empty()) {
        *error = fmt::format("kubeconfig {}: user \"{}\": exec has no command", path,
                             scalar(ctx, "user"));
        return std::nullopt;
      }
      if (plugin.apiVersion != "client.authentication.k8s.io/v1" &&
          plugin.apiVersion != "client.authentication.k8s.io/v1beta1") {
        *error = fmt::format(
            "kubeconfig {}: user \"{}\": exec apiVersion \"{}\" is not "
            "client.authentication.k8s.io/v1 or v1beta1",
            path, scalar(ctx, "user"), plugin.apiVersion);
        return std::nullopt;
      }
      if (const auto args = exec["args"]; args && args.IsSequence()) {
        for (const auto& a : args) plugin.args.push_back(a.as<std::string>(""));
      }
      if (const auto env = exec["env"]; env && env.IsSequence()) {
        for (const auto& e : env) plugin.env.emplace_back(scalar(e, "name"), scalar(e, "value"));
      }
      plugin.workingDir = base.string();
      auto source = std::make_shared<ExecCredentialSource>(std::move(plugin));
      c.http.bearerTokenSource = [source] { return source->token(); };
    }
    c.http.clientCertFile = resolvePath(scalar(user, "client-certificate"), base);
    c.http.clientKeyFile = resolvePath(scalar(user, "client-key"), base);
    for (auto [key, target] : {std::pair{"client-certificate-data", &c.http.clientCertPem},
                               std::pair{"client-key-data", &c.http.clientKeyPem}}) {
      if (auto data = scalar(user, key); !data.empty()) {
        auto pem = decodeBase64(data);
        if (!pem) {
          *error = fmt::format("kubeconfig {}: {} is not base64", path, key);
          return std::nullopt;
        }
        *target = *pem;
      }
    }
    c.http.bearerToken = scalar(user, "token");
    c.http.bearerTokenFile = resolvePath(scalar(user, "tokenFile"), base);
    c.http.username = scalar(user, "username");
    c.http.password = scalar(user, "password");
  }
  if (auto ns = scalar(ctx, "namespace"); !ns.empty()) c.defaultNamespace = ns;
  return c;
}

std::optional<KubeConfig> inClusterConfig(std::string* error) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  const fs::path dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  if (host == nullptr || port == nullptr || !fs::exists(dir / "token")) {
    *error = "not running in a cluster (no KUBERNETES_SERVICE_HOST or service account token)";
    return std::nullopt;
  }
  KubeConfig c;
  c.source = "in-cluster service account";
  const std::string h = host;
  c.http.baseUrl = h.find(':') != std::string::npos ? fmt::format("https://[{}]:{}", h, port)
                                                    : fmt::format("https://{}:{}", h, port);
  c.http.caFile = (dir / "ca.crt").string();
  c.http.bearerTokenFile = (dir / "token").string();  // re-read: bound tokens rotate
  std::ifstream ns(dir / "namespace");
  std::string value;
  if (ns && std::getline(ns, value) && !value.empty()) c.defaultNamespace = value;
  return c;
}

std::optional<KubeConfig> resolveConfig(const std::string& kubeconfigFlag,
                                        const std::string& context, std::string* error) {
  if (!kubeconfigFlag.empty()) return loadKubeconfig(kubeconfigFlag, context, error);
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::string first(env);
    first = first.substr(0, first.find(':'));
    return loadKubeconfig(first, context, error);
  }
  std::string inClusterError;
  if (auto c = inClusterConfig(&inClusterError)) return c;
  if (const char* home = std::getenv("HOME")) {
    const auto path = fs::path(home) / ".kube" / "config";
    if (fs::exists(path)) return loadKubeconfig(path.string(), context, error);
  }
  *error = "no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a cluster (" +
           inClusterError + ")";
  return std::nullopt;
}

}  // namespace budgetgate::kube
