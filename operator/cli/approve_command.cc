// budgetgate approve: writes a RolloutApproval (prints it, or creates it with --apply).

#include <fmt/format.h>

#include <cctype>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/common/json.h"
#include "operator/common/yaml_json.h"
#include "operator/kube/kube_client.h"
#include "operator/kube/kube_config.h"
#include "operator/model/rollout_approval.h"
#include "operator/model/slo.h"
#include "webhook/gate/pod_template.h"
#include "webhook/gate/rollout_request.h"

namespace budgetgate::cli {
namespace {

struct ApproveOptions {
  std::string deployment;  // NS/NAME
  std::string workload;    // NS/KIND/NAME (kind: deployment, statefulset, daemonset)
  std::string templateFrom;
  std::string templateHash;
  std::vector<std::string> images;
  std::string lifetime = "4h";
  std::string reason;
  std::string name;
  std::string approver;
  std::vector<std::string> approverGroups;
  bool apply = false;
  std::string kubeconfig;
  std::string context;
  std::string as;
  std::vector<std::string> asGroups;
  std::string now;
};

int fail(const std::string& message, int code = kExitBadInput) {
  std::cerr << "budgetgate approve: " << message << '\n';
  return code;
}

// Who the API server says we are (authentication.k8s.io/v1 SelfSubjectReview).
bool whoAmI(kube::KubeClient& client, std::string* user, std::vector<std::string>* groups,
            std::string* error) {
  const auto r = client.create("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                               R"({"apiVersion":"authentication.k8s.io/v1",)"
                               R"("kind":"SelfSubjectReview"})");
  if (!r.ok()) {
    *error = "asking the API server who you are (SelfSubjectReview) failed: " + r.describe();
    return false;
  }
  auto doc = json::parse(r.body, error);
  if (!doc) return false;
  const auto* info = json::path(&*doc, {"status", "userInfo"});
  *user = json::stringOr(json::member(info, "username"));
  if (const auto* g = json::member(info, "groups"); g && g->IsArray()) {
    for (const auto& v : g->GetArray()) {
      if (v.IsString()) groups->emplace_back(v.GetString());
    }
  }
  if (user->empty()) {
    *error = "the API server's SelfSubjectReview names no user";
    return false;
  }
  return true;
}

// The fingerprint of the Deployment's pod template as the API server will hold it: the file's
// template goes through the server's defaulting in a dry-run PodTemplate (never stored, never
// gated), so that the hash equals the one the webhook computes from the admitted object.
bool serverTemplateHash(kube::KubeClient& client, const std::string& ns, const std::string& path,
                        std::string* hash, std::string* error) {
  std::vector<Document> docs;
  if (!loadDocuments(path, docs, error)) return false;
  if (docs.size() != 1) {
    *error = fmt::format("{}: expected one workload document, found {}", path, docs.size());
    return false;
  }
  const auto deployment = toJson(docs.front().node);
  const auto kind = gate::rolledWorkloadKind(json::stringOr(json::member(&deployment, "kind")));
  if (!kind) {
    *error = fmt::format("{}: expected kind Deployment, StatefulSet, DaemonSet or Rollout", path);
    return false;
  }
  const auto* tmpl = json::path(&deployment, {"spec", "template"});
  if (tmpl == nullptr || !tmpl->IsObject()) {
    *error = fmt::format("{}: the workload has no spec.template", path);
    return false;
  }
  rapidjson::Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("apiVersion", "v1", a);
  body.AddMember("kind", "PodTemplate", a);
  rapidjson::Value meta(rapidjson::kObjectType);
  meta.AddMember("generateName", "budgetgate-approve-", a);
  body.AddMember("metadata", meta, a);
  body.AddMember("template", rapidjson::Value(*tmpl, a), a);
  const auto r = client.create(
      kube::Resource{"", "v1", "podtemplates", true}.collectionPath(ns) + "?dryRun=All",
      json::canonical(body));
  if (!r.ok()) {
    *error = "applying the API server's defaults to the template (a dry-run PodTemplate in " + ns +
             ") failed: " + r.describe() +
             "; or pass --template-hash with the hash the denial message printed";
    return false;
  }
  auto defaulted = json::parse(r.body, error);
  if (!defaulted) return false;
  const auto* t = json::member(&*defaulted, "template");
  // An Argo Rollout's template is compared without the defaults (as the webhook does).
  auto fp = t == nullptr ? std::nullopt
            : *kind == gate::WorkloadKind::ArgoRollout
                ? gate::templateFingerprintWithoutDefaults(*t)
                : gate::templateFingerprint(*t);
  if (!fp) {
    *error = "the API server's dry-run PodTemplate has no template";
    return false;
  }
  *hash = *fp;
  return true;
}

std::string toLower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string defaultName(const std::string& workload, const std::string& hash, TimePoint now) {
  std::string suffix = !hash.empty() ? hash.substr(0, 10) : formatTime(now);
  for (auto& c : suffix) {
    if (c == ':' || c == 'T' || c == 'Z') c = '-';
  }
  while (!suffix.empty() && suffix.back() == '-') suffix.pop_back();
  std::string base = workload.substr(0, 253 - 1 - suffix.size());
  return base + "-" + std::string(suffix.begin(), suffix.end());
}

int runApprove(const ApproveOptions& o) {
  if (o.deployment.empty() == o.workload.empty()) {
    return fail(
        "give exactly one of --deployment NAMESPACE/NAME and --workload "
        "NAMESPACE/KIND/NAME");
  }
  std::string ns, workload, kind = "Deployment";
  if (!o.deployment.empty()) {
    const auto slash = o.deployment.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == o.deployment.size() ||
        o.deployment.find('/', slash + 1) != std::string::npos) {
      return fail(fmt::format("--deployment \"{}\": expected NAMESPACE/NAME", o.deployment));
    }
    ns = o.deployment.substr(0, slash);
    workload = o.deployment.substr(slash + 1);
  } else {
    const auto first = o.workload.find('/');
    const auto second = first == std::string::npos ? first : o.workload.find('/', first + 1);
    std::optional<gate::WorkloadKind> k;
    if (second != std::string::npos && first > 0 && second > first + 1 &&
        second + 1 < o.workload.size() && o.workload.find('/', second + 1) == std::string::npos) {
      const auto name = o.workload.substr(first + 1, second - first - 1);
      for (auto candidate : {gate::WorkloadKind::Deployment, gate::WorkloadKind::StatefulSet,
                             gate::WorkloadKind::DaemonSet, gate::WorkloadKind::ArgoRollout}) {
        if (name == gate::workloadKindName(candidate)) k = candidate;
      }
    }
    if (!k) {
      return fail(
          fmt::format("--workload \"{}\": expected NAMESPACE/KIND/NAME, KIND one of deployment, "
                      "statefulset, daemonset, rollout",
                      o.workload));
    }
    ns = o.workload.substr(0, first);
    workload = o.workload.substr(second + 1);
    kind = std::string(gate::workloadApiKind(*k));
  }
  const int what = !o.templateFrom.empty() + !o.templateHash.empty() + !o.images.empty();
  if (what != 1) {
    return fail("give exactly one of --template-from FILE, --template-hash HASH and --image");
  }
  const auto lifetime = parseDuration(o.lifetime);
  if (!lifetime || lifetime->count() <= 0) {
    return fail(fmt::format("--for \"{}\": expected a positive duration such as 4h", o.lifetime));
  }
  if (o.reason.find_first_not_of(" \t\n") == std::string::npos) {
    return fail("--reason is required: say why (an incident, a ticket)");
  }
  if (o.asGroups.size() > 1) return fail("give at most one --as-group");
  TimePoint now = nowSeconds();
  if (!o.now.empty()) {
    auto t = parseTime(o.now);
    if (!t) return fail(fmt::format("--now \"{}\": expected RFC 3339", o.now));
    now = *t;
  }

  std::unique_ptr<kube::KubeClient> client;
  const bool needsServer = o.apply || !o.templateFrom.empty() || o.approver.empty();
  if (needsServer) {
    std::string error;
    auto config = kube::resolveConfig(o.kubeconfig, o.context, &error);
    if (!config) {
      return fail(fmt::format("{} needs the API server: {}",
                              o.apply                   ? "--apply"
                              : !o.templateFrom.empty() ? "--template-from"
                                                        : "finding who approves (no --approver)",
                              error));
    }
    if (!o.as.empty()) config->http.headers.emplace_back("Impersonate-User", o.as);
    for (const auto& g : o.asGroups) config->http.headers.emplace_back("Impersonate-Group", g);
    client = std::make_unique<kube::KubeClient>(*config);
  }

  std::string user = o.approver;
  std::vector<std::string> groups = o.approverGroups;
  if (user.empty()) {
    std::string error;
    std::vector<std::string> all;
    if (!whoAmI(*client, &user, &all, &error)) return fail(error, kExitDenied);
    if (groups.empty()) {
      // The groups that can make someone an approver; system:authenticated and the like never
      // are one and would only clutter the record.
      for (const auto& g : all) {
        if (g.rfind("system:", 0) != 0) groups.push_back(g);
      }
    }
  }
  std::string hash = o.templateHash;
  if (!o.templateFrom.empty()) {
    std::string error;
    if (!serverTemplateHash(*client, ns, o.templateFrom, &hash, &error)) {
      return fail(error, kExitDenied);
    }
  }

  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("apiVersion", json::str(model::kApiVersion, a), a);
  doc.AddMember("kind", "RolloutApproval", a);
  rapidjson::Value meta(rapidjson::kObjectType);
  meta.AddMember("name", json::str(o.name.empty() ? defaultName(workload, hash, now) : o.name, a),
                 a);
  meta.AddMember("namespace", json::str(ns, a), a);
  doc.AddMember("metadata", meta, a);
  rapidjson::Value spec(rapidjson::kObjectType);
  rapidjson::Value w(rapidjson::kObjectType);
  w.AddMember("kind", json::str(kind, a), a);
  w.AddMember("name", json::str(workload, a), a);
  spec.AddMember("workload", w, a);
  if (!hash.empty()) {
    spec.AddMember("podTemplateHash", json::str(hash, a), a);
  } else {
    rapidjson::Value list(rapidjson::kArrayType);
    for (const auto& i : o.images) list.PushBack(json::str(i, a), a);
    spec.AddMember("images", list, a);
  }
  spec.AddMember("expires", json::str(formatTime(now + *lifetime), a), a);
  spec.AddMember("reason", json::str(o.reason, a), a);
  rapidjson::Value by(rapidjson::kObjectType);
  by.AddMember("user", json::str(user, a), a);
  if (!groups.empty()) {
    rapidjson::Value list(rapidjson::kArrayType);
    for (const auto& g : groups) list.PushBack(json::str(g, a), a);
    by.AddMember("groups", list, a);
  }
  spec.AddMember("approvedBy", by, a);
  doc.AddMember("spec", spec, a);

  // What we write must be what the webhook and the gate read.
  model::Diagnostics diag("approval");
  if (!model::parseRolloutApproval(jsonToYaml(doc), diag)) return fail(diag.format());

  if (!o.apply) {
    YAML::Emitter out;
    out << jsonToYaml(doc);
    std::cout << out.c_str() << '\n';
    return kExitOk;
  }
  const auto r = client->create(kube::kApprovalResource.collectionPath(ns), json::canonical(doc));
  if (!r.ok()) {
    return fail(fmt::format("creating RolloutApproval {}/{} failed: {}", ns,
                            json::stringOr(json::path(&doc, {"metadata", "name"})), r.describe()),
                kExitDenied);
  }
  std::cout << fmt::format(
      "rolloutapproval.slo.budgetgate.dev/{} created in {}: {} {} "
      "may roll out {} until {} (approved by {})\n",
      json::stringOr(json::path(&doc, {"metadata", "name"})), ns, toLower(kind), workload,
      hash.empty() ? "images " + o.images.front() + (o.images.size() > 1 ? ", ..." : "")
                   : "pod template " + hash.substr(0, 12),
      formatTime(now + *lifetime), user);
  return kExitOk;
}

}  // namespace

void addApproveCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<ApproveOptions>();
  auto* cmd = app.add_subcommand(
      "approve",
      "Approve one rollout that the policy sends to review (or defer, with review.approveDefer): "
      "writes a RolloutApproval naming the Deployment and exactly what may be rolled out, printed "
      "as YAML or created with --apply. The webhook accepts it only from an approver under the "
      "Deployment's policy, recording themselves. Exit 0 done, 1 refused by the API server, 2 bad "
      "input.");
  cmd->add_option("--deployment", o->deployment, "the Deployment, NAMESPACE/NAME");
  cmd->add_option("--workload", o->workload,
                  "instead of --deployment: NAMESPACE/KIND/NAME, KIND one of deployment, "
                  "statefulset, daemonset, rollout (an Argo Rollout)");
  cmd->add_option("--template-from", o->templateFrom,
                  "the new Deployment manifest; its pod template is hashed after the API "
                  "server's defaults (a dry-run PodTemplate, so this needs --kubeconfig access)");
  cmd->add_option("--template-hash", o->templateHash,
                  "the pod template's hash, as the denial message and `budgetgate gate` print it");
  cmd->add_option("--image", o->images,
                  "approve any template whose container images are all among these; repeatable");
  cmd->add_option("--for", o->lifetime, "how long the approval lasts (default 4h)");
  cmd->add_option("--reason", o->reason, "why (an incident, a ticket); required");
  cmd->add_option("--name", o->name, "object name (default: DEPLOYMENT-HASHPREFIX)");
  cmd->add_option("--approver", o->approver,
                  "who approves (default: you, as the API server knows you); the webhook refuses "
                  "an approval recording anyone but its creator");
  cmd->add_option("--approver-group", o->approverGroups,
                  "the approver's groups to record (default with --apply: your non-system "
                  "groups); repeatable");
  cmd->add_flag("--apply", o->apply, "create it in the cluster instead of printing it");
  cmd->add_option("--kubeconfig", o->kubeconfig,
                  "kubeconfig file (default: $KUBECONFIG, in-cluster, then ~/.kube/config)");
  cmd->add_option("--context", o->context, "kubeconfig context (default: current-context)");
  cmd->add_option("--as", o->as, "impersonate this user, as kubectl --as");
  cmd->add_option("--as-group", o->asGroups, "impersonate this group, as kubectl --as-group");
  cmd->add_option("--now", o->now, "the instant the lifetime counts from, RFC 3339 (default: now)");
  cmd->callback([o, &exitCode] { exitCode = runApprove(*o); });
}

}  // namespace budgetgate::cli
