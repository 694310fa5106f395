// budgetgate gate: "would this Deployment rollout be admitted?", offline, from files.

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/common/json.h"
#include "operator/model/policy_parser.h"
#include "operator/model/rollout_approval.h"
#include "operator/model/slo_parser.h"
#include "webhook/gate/deployment_view.h"
#include "webhook/gate/gate_decision.h"

namespace budgetgate::cli {
namespace {

struct GateOptions {
  std::string policy;
  std::vector<std::string> statuses;
  std::string deployment;
  std::string old;
  std::vector<std::string> replicaSets;
  std::string user = "kubectl-user";
  std::vector<std::string> groups;
  std::string now;
  std::vector<std::string> approvals;
};

int fail(const std::string& message) {
  std::cerr << "budgetgate gate: " << message << '\n';
  return kExitBadInput;
}

// Loads exactly one document from a file.
bool loadOne(const std::string& path, const std::string& what, YAML::Node& out,
             std::string* error) {
  std::vector<Document> docs;
  if (!loadDocuments(path, docs, error)) return false;
  if (docs.size() != 1) {
    *error = fmt::format("{}: expected one {} document, found {}", path, what, docs.size());
    return false;
  }
  out = docs.front().node;
  return true;
}

bool readDeploymentFile(const std::string& path, gate::DeploymentView& view, std::string* error) {
  YAML::Node node;
  if (!loadOne(path, "workload", node, error)) return false;
  const auto doc = toJson(node);
  const auto kind = json::stringOr(json::member(&doc, "kind"));
  if (!gate::rolledWorkloadKind(kind)) {
    *error = fmt::format("{}: expected kind Deployment, StatefulSet or DaemonSet, got \"{}\"", path,
                         kind);
    return false;
  }
  std::string why;
  auto v = gate::readDeployment(doc, &why);
  if (!v || !v->templateFingerprint) {
    *error = fmt::format("{}: {}", path, v ? "the workload has no spec.template" : why);
    return false;
  }
  if (v->ns.empty()) v->ns = "default";
  view = std::move(*v);
  return true;
}

int runGate(const GateOptions& o) {
  std::string error;
  engine::ErrorBudgetPolicy policy;
  if (!o.policy.empty()) {
    YAML::Node node;
    if (!loadOne(o.policy, "ErrorBudgetPolicy", node, &error)) return fail(error);
    model::Diagnostics diag(o.policy);
    auto parsed = model::parsePolicy(node, diag);
    if (!parsed) {
      std::cerr << diag.format();
      return kExitBadInput;
    }
    policy = std::move(*parsed);
  }

  gate::DeploymentView next;
  if (!readDeploymentFile(o.deployment, next, &error)) return fail(error);
  gate::RolloutRequest request;
  request.operation = gate::Operation::Create;
  request.kind = next.kind;
  request.ns = next.ns;
  request.name = next.name;
  request.identity = {next.labels, next.templateLabels};
  request.annotations = next.annotations;
  request.newTemplate = next.templateFingerprint;
  request.templateImages = next.images;
  request.strategy = next.strategy;
  request.user = {o.user, o.groups};
  std::string ownerUid;  // only revisions owned by this object (by UID) count, as in the webhook
  if (!o.old.empty()) {
    gate::DeploymentView previous;
    if (!readDeploymentFile(o.old, previous, &error)) return fail(error);
    if (previous.kind != next.kind) {
      return fail(fmt::format("--old is a {}, the new object a {}",
                              gate::workloadKindName(previous.kind),
                              gate::workloadKindName(next.kind)));
    }
    request.operation = gate::Operation::Update;
    request.oldIdentity = gate::WorkloadLabels{previous.labels, previous.templateLabels};
    request.oldAnnotations = previous.annotations;
    ownerUid = previous.uid;
    if (next.templateFingerprint != previous.templateFingerprint) {
      request.change = next.restartlessFingerprint == previous.restartlessFingerprint
                           ? gate::Change::RestartOnly
                           : gate::Change::Template;
    } else {
      request.change = next.labels != previous.labels ? gate::Change::Labels : gate::Change::None;
    }
  }
  for (const auto& file : o.replicaSets) {
    std::vector<Document> docs;
    if (!loadDocuments(file, docs, &error)) return fail(error);
    for (const auto& d : docs) {
      const auto doc = toJson(d.node);
      // Accept single ReplicaSets and `kubectl get rs -o yaml` lists.
      std::vector<const rapidjson::Value*> items;
      if (const auto* list = json::member(&doc, "items"); list && list->IsArray()) {
        for (const auto& item : list->GetArray()) items.push_back(&item);
      } else {
        items.push_back(&doc);
      }
      for (const auto* item : items) {
        // A StatefulSet's or DaemonSet's revisions are ControllerRevisions.
        const bool revision = json::stringOr(json::member(item, "kind")) == "ControllerRevision";
        auto fp = revision ? gate::controllerRevisionTemplate(*item)
                           : gate::replicaSetTemplate(*item,
                                                      next.kind == gate::WorkloadKind::ArgoRollout);
        if (!fp) {
          return fail(fmt::format("{}: a {} without {}", d.source,
                                  revision ? "ControllerRevision" : "ReplicaSet",
                                  revision ? "data.spec.template" : "spec.template"));
        }
        if (!ownerUid.empty() && gate::revisionOwnerUid(*item) != ownerUid) {
          std::cerr << fmt::format(
              "{}: warning: a revision not controlled by the workload's UID {} is not one of "
              "its revisions; ignored\n",
              d.source, ownerUid);
          continue;
        }
        request.previousTemplates.push_back(*fp);
      }
    }
  }

  std::vector<gate::GatedSlo> slos;
  std::optional<TimePoint> newest;
  for (const auto& file : o.statuses) {
    YAML::Node node;
    if (!loadOne(file, "status", node, &error)) return fail(error);
    const auto doc = toJson(node);
    if (!doc.IsObject()) return fail(fmt::format("{}: expected a JSON object", file));
    gate::GatedSlo slo;
    slo.ns = request.ns;
    slo.name = std::filesystem::path(file).stem().string();
    slo.selector = model::LabelSelector{};  // a bare status protects the given deployment
    const rapidjson::Value* statusValue = &doc;
    if (model::isSloDocument(node)) {
      model::Diagnostics diag(file);
      auto parsed = model::parseSlo(node, diag);
      if (!parsed) {
        std::cerr << diag.format();
        return kExitBadInput;
      }
      slo.ns = parsed->ns;
      slo.name = parsed->name;
      slo.selector = parsed->gate.selector;
      statusValue = json::member(&doc, "status");
    }
    if (statusValue != nullptr) {
      std::vector<std::string> problems;
      slo.status = model::statusFromJson(*statusValue, &problems);
      for (const auto& p : problems) std::cerr << fmt::format("{}: warning: {}\n", file, p);
      if (slo.status->lastEvaluated && (!newest || *slo.status->lastEvaluated > *newest)) {
        newest = slo.status->lastEvaluated;
      }
    }
    slo.policy = &policy;
    slos.push_back(std::move(slo));
  }

  gate::GateContext context;
  // Offline, "now" is the moment of the newest status snapshot unless given: the question is
  // what the gate would have said then, not whether the file is old.
  if (!o.now.empty()) {
    auto t = parseTime(o.now);
    if (!t) return fail(fmt::format("--now \"{}\": expected RFC 3339", o.now));
    context.now = *t;
  } else {
    context.now = newest.value_or(nowSeconds());
  }
  std::vector<model::RolloutApproval> approvals;
  for (const auto& file : o.approvals) {
    std::vector<Document> docs;
    if (!loadDocuments(file, docs, &error)) return fail(error);
    for (const auto& doc : docs) {
      model::Diagnostics diag(doc.source);
      auto a = model::parseRolloutApproval(doc.node, diag);
      if (!a) {
        std::cerr << diag.format();
        return kExitBadInput;
      }
      if (a->ns.empty()) a->ns = "default";
      approvals.push_back(std::move(*a));
    }
  }
  context.approvals = &approvals;
  const auto d = gate::decide(request, slos, context);

  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  out.AddMember("allowed", d.allowed, a);
  std::string decision = !d.gated    ? "not-gated"
                         : d.verdict ? std::string(engine::verdictName(*d.verdict))
                                     : "no-data";
  out.AddMember("decision", json::str(decision, a), a);
  out.AddMember("gated", d.gated, a);
  out.AddMember("reason", json::str(d.reason, a), a);
  out.AddMember("action", json::str(gate::gateActionName(d.action), a), a);
  out.AddMember("tier", json::str(engine::tierName(d.tier), a), a);
  out.AddMember("risk", json::str(engine::riskName(d.risk), a), a);
  out.AddMember("releaseType", json::str(d.releaseType, a), a);
  if (d.exception.empty()) {
    out.AddMember("exception", rapidjson::Value(rapidjson::kNullType), a);
  } else {
    out.AddMember("exception", json::str(d.exception, a), a);
  }
  out.AddMember("rule", json::str(d.rule, a), a);
  // What a RolloutApproval names (budgetgate approve --template-hash).
  out.AddMember("podTemplateHash", json::str(request.newTemplate.value_or(""), a), a);
  if (d.approval.empty()) {
    out.AddMember("approval", rapidjson::Value(rapidjson::kNullType), a);
  } else {
    out.AddMember("approval", json::str(d.approval, a), a);
  }
  out.AddMember("message", json::str(d.message, a), a);
  rapidjson::Value warnings(rapidjson::kArrayType);
  for (const auto& w : d.warnings) warnings.PushBack(json::str(w, a), a);
  out.AddMember("warnings", warnings, a);
  rapidjson::Value audit(rapidjson::kObjectType);
  for (const auto& [k, v] : d.auditAnnotations)
    audit.AddMember(json::str(k, a), json::str(v, a), a);
  out.AddMember("auditAnnotations", audit, a);
  printJson(out);
  return d.allowed ? kExitOk : kExitDenied;
}

}  // namespace

void addGateCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<GateOptions>();
  auto* cmd = app.add_subcommand(
      "gate",
      "Would this Deployment rollout be admitted? Applies the policy to SLO status snapshots "
      "exactly as the webhook does and prints the decision as JSON. Exit 0 allowed, 1 denied, "
      "2 bad input.");
  cmd->add_option("--policy", o->policy, "ErrorBudgetPolicy manifest (default: built-in policy)");
  cmd->add_option("--status", o->statuses,
                  "SLO status JSON (as in .status or `budgetgate evaluate -o json`), or a whole "
                  "ServiceLevelObjective with status (then its spec.gate.selector applies); "
                  "repeatable")
      ->required();
  cmd->add_option("--deployment", o->deployment,
                  "the new workload manifest (a Deployment, StatefulSet or DaemonSet)")
      ->required();
  cmd->add_option("--old", o->old, "the current workload (makes this an UPDATE)");
  cmd->add_option("--replicaset", o->replicaSets,
                  "the workload's revisions for rollback recognition: a Deployment's ReplicaSets "
                  "(`kubectl get rs -o yaml`), a StatefulSet's or DaemonSet's ControllerRevisions "
                  "(`kubectl get controllerrevisions -o yaml`); repeatable");
  cmd->add_option("--approval", o->approvals,
                  "RolloutApproval manifests that may admit a review (or defer) rollout; "
                  "repeatable");
  cmd->add_option("--user", o->user, "requesting user (default kubectl-user)");
  cmd->add_option("--group", o->groups, "requesting user's groups; repeatable");
  cmd->add_option("--now", o->now,
                  "evaluation instant, RFC 3339 (default: the newest status's lastEvaluated)");
  cmd->callback([o, &exitCode] { exitCode = runGate(*o); });
}

}  // namespace budgetgate::cli
