// budgetgate check: "would the cluster admit these manifests now?" for a CI step. Each object
// goes to the API server as a server-side apply with dryRun=All: the API server runs every
// admission webhook, budgetgate's gate included, and stores nothing. The verdict is exactly the
// one `kubectl apply --dry-run=server` gets, with the gate's message.

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/common/json.h"
#include "operator/kube/kube_client.h"
#include "operator/kube/kube_config.h"

namespace budgetgate::cli {
namespace {

struct CheckOptions {
  std::vector<std::string> files;
  std::string ns;
  std::string kubeconfig;
  std::string context;
  std::string as;
  std::vector<std::string> asGroups;
};

int fail(const std::string& message, int code = kExitBadInput) {
  std::cerr << "budgetgate check: " << message << '\n';
  return code;
}

struct ResourceInfo {
  std::string plural;
  bool namespaced = true;
};

// The resource for apiVersion/kind, from the API server's discovery (any kind it serves,
// custom resources included).
std::optional<ResourceInfo> discover(kube::KubeClient& client, const std::string& apiVersion,
                                     const std::string& kind, std::string* error) {
  const std::string path =
      apiVersion.find('/') == std::string::npos ? "/api/" + apiVersion : "/apis/" + apiVersion;
  const auto r = client.get(path);
  if (!r.ok()) {
    *error = fmt::format("the API server does not serve {} ({})", apiVersion, r.describe());
    return std::nullopt;
  }
  auto doc = json::parse(r.body, error);
  const auto* resources = doc ? json::member(&*doc, "resources") : nullptr;
  if (resources != nullptr && resources->IsArray()) {
    for (const auto& res : resources->GetArray()) {
      const auto name = json::stringOr(json::member(&res, "name"));
      if (json::stringOr(json::member(&res, "kind")) == kind &&
          name.find('/') == std::string::npos) {
        return ResourceInfo{name, json::asBool(json::member(&res, "namespaced")).value_or(true)};
      }
    }
  }
  *error = fmt::format("the API server serves no kind {} in {}", kind, apiVersion);
  return std::nullopt;
}

int runCheck(const CheckOptions& o) {
  if (o.files.empty()) return fail("give the manifests with -f FILE (repeatable; - for stdin)");
  if (o.asGroups.size() > 1) return fail("give at most one --as-group");
  std::vector<Document> docs;
  for (const auto& f : o.files) {
    std::string error;
    if (!loadDocuments(f, docs, &error)) return fail(error);
  }
  std::string error;
  auto config = kube::resolveConfig(o.kubeconfig, o.context, &error);
  if (!config) return fail("check needs the API server: " + error);
  if (!o.as.empty()) config->http.headers.emplace_back("Impersonate-User", o.as);
  for (const auto& g : o.asGroups) config->http.headers.emplace_back("Impersonate-Group", g);
  kube::KubeClient client(*config);

  int denied = 0;
  int checked = 0;
  for (const auto& d : docs) {
    if (!d.node || d.node.IsNull()) continue;
    auto object = toJson(d.node);
    const auto apiVersion = json::stringOr(json::member(&object, "apiVersion"));
    const auto kind = json::stringOr(json::member(&object, "kind"));
    const auto name = json::stringOr(json::path(&object, {"metadata", "name"}));
    if (apiVersion.empty() || kind.empty() || name.empty()) {
      return fail(fmt::format("{}: needs apiVersion, kind and metadata.name", d.source));
    }
    auto resource = discover(client, apiVersion, kind, &error);
    if (!resource) return fail(fmt::format("{}: {}", d.source, error));
    std::string ns = json::stringOr(json::path(&object, {"metadata", "namespace"}));
    if (ns.empty()) ns = o.ns.empty() ? config->defaultNamespace : o.ns;
    if (!resource->namespaced) ns.clear();
    const auto slash = apiVersion.find('/');
    const kube::Resource res{slash == std::string::npos ? "" : apiVersion.substr(0, slash),
                             slash == std::string::npos ? apiVersion : apiVersion.substr(slash + 1),
                             resource->plural, resource->namespaced};
    const auto path =
        res.objectPath(ns, name) + "?dryRun=All&fieldManager=budgetgate-check&force=true";
    const auto r = client.patch(path, json::canonical(object), kube::PatchType::Apply);
    ++checked;
    const std::string what =
        fmt::format("{}/{}{}", resource->plural, name, ns.empty() ? "" : " in " + ns);
    for (const auto& w : r.warnings) std::cerr << "Warning: " << w << '\n';
    if (r.ok()) {
      std::cout << fmt::format("{}: admitted{}\n", what,
                               r.warnings.empty() ? "" : " with warnings");
      continue;
    }
    if (r.transport != http::Transport::Ok || r.status >= 500 || r.status == 401) {
      std::cerr << fmt::format("{}: could not check: {}\n", what, r.describe());
      return kExitBadInput;
    }
    ++denied;
    std::cout << fmt::format("{}: denied (HTTP {}): {}\n", what, r.status, r.error);
  }
  if (checked == 0) return fail("the manifests hold no object");
  std::cerr << fmt::format("{} of {} objects would be admitted\n", checked - denied, checked);
  return denied == 0 ? kExitOk : kExitDenied;
}

}  // namespace

void addCheckCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<CheckOptions>();
  auto* cmd = app.add_subcommand(
      "check",
      "Would the cluster admit these manifests now? Sends each object to the API server as a "
      "server-side apply with dryRun=All (nothing is stored; every admission webhook runs, "
      "budgetgate's gate included) and prints each verdict with the gate's message: the same "
      "as `kubectl apply --dry-run=server`. For CI steps. Exit 0 all admitted, 1 some denied, "
      "2 bad input or no API server.");
  cmd->add_option("-f,--filename", o->files, "manifest files or directories; - for stdin")
      ->required();
  cmd->add_option("-n,--namespace", o->ns,
                  "namespace for objects that name none (default: the kubeconfig's)");
  cmd->add_option("--kubeconfig", o->kubeconfig,
                  "kubeconfig file (default: $KUBECONFIG, in-cluster, then ~/.kube/config)");
  cmd->add_option("--context", o->context, "kubeconfig context (default: current-context)");
  cmd->add_option("--as", o->as, "impersonate this user, as kubectl --as");
  cmd->add_option("--as-group", o->asGroups, "impersonate this group, as kubectl --as-group");
  cmd->callback([o, &exitCode] { exitCode = runCheck(*o); });
}

}  // namespace budgetgate::cli
