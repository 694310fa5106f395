#include "webhook/admission/admission_handler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "operator/common/json.h"
#include "operator/common/object_key.h"
#include "operator/common/yaml_json.h"
#include "operator/model/policy_parser.h"
#include "operator/model/rollout_approval.h"
#include "operator/model/slo_parser.h"
#include "operator/prometheus/slo_signals.h"
#include "webhook/admission/admission_review.h"
#include "webhook/gate/approval_guard.h"
#include "webhook/gate/approval_match.h"
#include "webhook/gate/object_guard.h"

namespace budgetgate::admission {

static_assert(WebhookMetrics::kKindNames.size() ==
                  static_cast<std::size_t>(ReviewedKind::Other) + 1,
              "one review counter per ReviewedKind");

struct AdmissionHandler::Answer {
  ReviewResponse response;
  Outcome outcome = Outcome::NotGated;
  engine::Tier tier = engine::Tier::Unknown;
};

namespace {

server::HttpResponse jsonResponse(const ReviewResponse& r) {
  return {200, "application/json", renderResponse(r)};
}

gate::WorkloadKind workloadKind(ReviewedKind k) {
  switch (k) {
    case ReviewedKind::StatefulSet:
      return gate::WorkloadKind::StatefulSet;
    case ReviewedKind::DaemonSet:
      return gate::WorkloadKind::DaemonSet;
    case ReviewedKind::ArgoRollout:
      return gate::WorkloadKind::ArgoRollout;
    case ReviewedKind::ReplicaSet:
      return gate::WorkloadKind::ReplicaSet;
    case ReviewedKind::Pod:
      return gate::WorkloadKind::Pod;
    default:
      return gate::WorkloadKind::Deployment;
  }
}

// The workloads a hand-made Pod or ReplicaSet belongs to: the one its controller owner
// reference names, and every one whose selector picks up its labels (and so would adopt it, or
// send its Service traffic to it). A ReplicaSet can belong only to a Deployment or an Argo
// Rollout; a Pod to any.
std::vector<gate::RelatedWorkload> relatedWorkloads(const ParsedReview& review,
                                                    const std::vector<gate::KnownWorkload>& known) {
  std::vector<gate::RelatedWorkload> out;
  const auto& rollout = review.rollout;
  for (const auto& w : known) {
    // Deployments and Argo Rollouts own ReplicaSets.
    if (rollout.kind == gate::WorkloadKind::ReplicaSet &&
        w.kind != gate::WorkloadKind::Deployment && w.kind != gate::WorkloadKind::ArgoRollout) {
      continue;
    }
    const auto apiKind = gate::workloadApiKind(w.kind);
    const bool owns = review.controller && review.controller->kind == apiKind &&
                      review.controller->name == w.name;
    const bool owned = review.oldController && review.oldController->kind == apiKind &&
                       review.oldController->name == w.name;
    const bool picks = w.selector && w.selector->matches(rollout.identity.labels);
    const bool picked =
        w.selector && rollout.oldIdentity && w.selector->matches(rollout.oldIdentity->labels);
    if (!owns && !picks) continue;
    out.push_back({w.kind, w.name, w.identity, owned || picked});
  }
  return out;
}

// The parts of an SLO the object guard compares; nullopt (and *error) when it does not parse.
std::optional<gate::GuardedSlo> guardedSlo(const std::string& objectJson, std::string* error) {
  auto doc = json::parse(objectJson, error);
  if (!doc) return std::nullopt;
  model::Diagnostics diag("object");
  auto slo = model::parseSlo(jsonToYaml(*doc), diag);
  if (!slo) {
    *error = diag.format();
    return std::nullopt;
  }
  gate::GuardedSlo g;
  g.selector = slo->gate.selector;
  g.policyRef = slo->gate.policyRef;
  g.labels = slo->labels;
  for (const auto& o : slo->objectives) g.targets.push_back(o.target);
  // Everything that defines the budget, except the targets (compared as numbers: raising one is
  // tightening) and names.
  rapidjson::Document fixed(rapidjson::kObjectType);
  auto& a = fixed.GetAllocator();
  if (const auto* spec = json::member(&*doc, "spec"); spec && spec->IsObject()) {
    for (const char* key : {"indicator", "indicatorRef", "timeWindow", "budgetingMethod"}) {
      if (const auto* v = json::member(spec, key)) {
        fixed.AddMember(rapidjson::Value(key, a), rapidjson::Value(*v, a), a);
      }
    }
    if (const auto* objectives = json::member(spec, "objectives");
        objectives && objectives->IsArray()) {
      rapidjson::Value list(rapidjson::kArrayType);
      for (const auto& o : objectives->GetArray()) {
        rapidjson::Value copy(o, a);
        if (copy.IsObject()) {
          for (const char* key : {"target", "targetPercent", "displayName"}) copy.RemoveMember(key);
        }
        list.PushBack(copy, a);
      }
      fixed.AddMember("objectives", list, a);
    }
  }
  g.fixedSpec = json::canonical(fixed);
  return g;
}

// Why an SLO object cannot be read, exactly as `budgetgate validate` says it (the same parser
// and the same evaluation checks); empty when it is valid. *warnings gets what validate warns.
std::string sloProblems(const std::string& objectJson, const std::string& what,
                        const HandlerOptions& options, std::vector<std::string>* warnings) {
  std::string error;
  auto doc = json::parse(objectJson, &error);
  if (!doc) return error;
  model::Diagnostics diag(what);
  auto slo = model::parseSlo(jsonToYaml(*doc), diag);
  for (const auto& w : diag.warnings()) warnings->push_back("budgetgate: " + diag.formatOne(w));
  if (!slo) return diag.format();
  if (options.dataSources && !slo->dataSource.empty()) {
    const auto& declared = *options.dataSources;
    const auto it = std::find_if(declared.begin(), declared.end(),
                                 [&](const auto& d) { return d.name == slo->dataSource; });
    if (it == declared.end() || !it->allows(slo->ns)) {
      warnings->push_back(fmt::format(
          "budgetgate: {}: metricSourceRef: data source \"{}\" is {}: the controller will not "
          "evaluate it (tier unknown)",
          what, slo->dataSource,
          it == declared.end() ? "not declared to the controller"
                               : fmt::format("not for namespace {}", slo->ns)));
    }
  }
  std::string out;
  for (const auto& p : prometheus::evaluationProblems(*slo)) out += what + ": " + p + "\n";
  return out;
}

}  // namespace

AdmissionHandler::AdmissionHandler(cache::GateCache& cache, HandlerOptions options,
                                   EventSink events)
    : cache_(cache), options_(std::move(options)), events_(std::move(events)) {}

void AdmissionHandler::emit(AdmissionEvent event) {
  if (!events_) return;
  // The record of who rolled out is about the workload named in its message, not the object
  // it is attached to (budgetgate's namespace): one per workload and requester.
  const std::string key = event.kind + "/" + objectKey(event.ns, event.name) + "/" + event.reason +
                          (event.reason == kRolloutAdmittedReason ? "/" + event.message : "");
  if (!eventLimiter_.allow(key)) {
    return;
  }
  events_(std::move(event));
}

server::HttpResponse AdmissionHandler::handle(const server::HttpRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  if (request.method != "POST") {
    return {405, "text/plain; charset=utf-8", "POST an admission.k8s.io/v1 AdmissionReview\n"};
  }
  ReviewError error;
  auto review = parseReview(request.body, parsers_, &error);
  if (!review) {
    metrics_.record({}, WebhookMetrics::kOtherKind, engine::Tier::Unknown, Outcome::Error,
                    elapsed(), false);
    if (error.uid.empty()) {
      return {error.httpStatus, "text/plain; charset=utf-8", "budgetgate: " + error.message + "\n"};
    }
    // A review we can answer, about an object we cannot read: refuse with the reason rather
    // than guess (never a silent allow).
    ReviewResponse r;
    r.uid = error.uid;
    r.allowed = false;
    r.code = 400;
    r.reason = "BadRequest";
    r.message = "budgetgate could not read the request: " + error.message;
    // Debug only: a flood of garbage must not flood the log (metrics count it as an error).
    spdlog::debug("refused an unreadable AdmissionReview {}: {}", error.uid, error.message);
    return jsonResponse(r);
  }
  metrics_.recordKind(static_cast<std::size_t>(review->reviewed));
  Answer answer;
  const auto snapshot = cache_.snapshot();
  if (review->reviewed == ReviewedKind::Other) {
    answer.response.warnings.push_back(
        fmt::format("budgetgate does not gate {}/{} {}; passed through", review->group,
                    review->version, review->kind));
  } else {
    const bool ready = cache_.ready();
    if (review->reviewed == ReviewedKind::ServiceLevelObjective ||
        review->reviewed == ReviewedKind::ErrorBudgetPolicy) {
      answer = judgeGateObject(*review, *snapshot);
    } else if (review->reviewed == ReviewedKind::RolloutApproval) {
      answer = judgeApproval(*review, *snapshot);
    } else {
      answer = judgeWorkload(*review, *snapshot, ready);
    }
  }
  answer.response.uid = review->uid;
  // The namespace label is bounded by the SLOs, not by the requests: this port answers anyone
  // who can reach it (the API server authenticates to us, we do not authenticate it), so a
  // label taken from the review would let a client create a series per made-up namespace and
  // grow the webhook's memory and every scrape without bound. Namespaces holding an SLO are
  // the ones the gate is about, and are bounded by what the cluster's users may create; every
  // other namespace is counted under "".
  const auto& ns = review->rollout.ns;
  const bool labelled = !ns.empty() && snapshot->slosByNamespace.contains(ns);
  metrics_.record(labelled ? std::string_view(ns) : std::string_view(),
                  static_cast<std::size_t>(review->reviewed), answer.tier, answer.outcome,
                  elapsed(), review->rollout.dryRun);
  return jsonResponse(answer.response);
}

AdmissionHandler::Answer AdmissionHandler::judgeWorkload(ParsedReview& review,
                                                         const cache::GateSnapshot& snapshot,
                                                         bool ready) {
  auto& rollout = review.rollout;
  rollout.kind = workloadKind(review.reviewed);
  rollout.byWorkloadController = options_.trustedControllers.trusts(rollout.user.username);

  std::vector<gate::GatedSlo> notReadySlos;
  const std::vector<gate::GatedSlo>* candidates = nullptr;
  static const std::vector<gate::GatedSlo> kNoSlos;
  static const std::vector<gate::KnownWorkload> kNoWorkloads;
  if (ready) {
    auto it = snapshot.slosByNamespace.find(rollout.ns);
    candidates = it == snapshot.slosByNamespace.end() ? &kNoSlos : &it->second;
  } else {
    // Before the cache has loaded every workload might be protected: treat it as protected by
    // an SLO without status, under the configured missing-data rule.
    gate::GatedSlo unknown;
    unknown.ns = rollout.ns;
    unknown.name = "(budgetgate cache not loaded yet)";
    unknown.selector = model::LabelSelector{};
    unknown.policy = &options_.notReadyPolicy;
    notReadySlos.push_back(std::move(unknown));
    candidates = &notReadySlos;
  }
  if (rollout.kind == gate::WorkloadKind::ArgoRollout) {
    // A Rollout with a workloadRef runs the Deployment's pod template: its Pods carry that
    // template's labels.
    auto it = snapshot.workloadsByNamespace.find(rollout.ns);
    const auto& known = it == snapshot.workloadsByNamespace.end() ? kNoWorkloads : it->second;
    const auto resolve = [&](const std::string& ref, gate::WorkloadLabels& identity) {
      if (ref.empty()) return;
      for (const auto& w : known) {
        if (w.kind == gate::WorkloadKind::Deployment && w.name == ref) {
          identity.templateLabels = w.identity.templateLabels;
        }
      }
    };
    resolve(review.workloadRef, rollout.identity);
    if (rollout.oldIdentity) resolve(review.oldWorkloadRef, *rollout.oldIdentity);
  }
  if (!gate::isRolledWorkload(rollout.kind) && !rollout.byWorkloadController) {
    auto it = snapshot.workloadsByNamespace.find(rollout.ns);
    rollout.related = relatedWorkloads(
        review, it == snapshot.workloadsByNamespace.end() ? kNoWorkloads : it->second);
  }
  // Comparing the objects and fingerprinting the template cost something: only when an SLO
  // selects the workload, and a fingerprint only when there are revisions to compare with.
  const bool selected = std::any_of(candidates->begin(), candidates->end(), [&](const auto& s) {
    if (gate::selectsAny(s, rollout.identity)) return true;
    if (rollout.oldIdentity && gate::selectsAny(s, *rollout.oldIdentity)) return true;
    return std::any_of(
        rollout.related.begin(), rollout.related.end(),
        [&](const gate::RelatedWorkload& r) { return gate::selectsAny(s, r.identity); });
  });
  const auto approvals = snapshot.approvalsByNamespace.find(rollout.ns);
  if (selected) {
    rollout.change = review.change();
    if (gate::isRolledWorkload(rollout.kind) &&
        (rollout.change == gate::Change::Template || rollout.change == gate::Change::Created ||
         rollout.change == gate::Change::RestartOnly)) {
      bool fingerprint = false;
      if (auto it = snapshot.revisionsByOwnerUid.find(review.objectUid);
          !review.objectUid.empty() && it != snapshot.revisionsByOwnerUid.end()) {
        rollout.previousTemplates = it->second;
        fingerprint = true;  // rollback recognition
      }
      if (approvals != snapshot.approvalsByNamespace.end()) {
        for (const auto& a : approvals->second) {
          if (!gate::approvalNamesWorkload(a, rollout)) continue;
          fingerprint = fingerprint || !a.podTemplateHash.empty();
          if (!a.images.empty() && rollout.templateImages.empty()) {
            rollout.templateImages = review.newTemplateImages();
          }
        }
      }
      // A few microseconds: only when something compares with it (a denial asks again below).
      if (fingerprint) rollout.newTemplate = review.newTemplateFingerprint();
    }
  }
  gate::GateContext ctx;
  ctx.now = nowSeconds();
  ctx.exemptNamespaces = options_.exemptNamespaces;
  if (approvals != snapshot.approvalsByNamespace.end()) ctx.approvals = &approvals->second;
  auto d = gate::decide(rollout, *candidates, ctx);
  if (!d.allowed && !rollout.newTemplate && gate::isRolledWorkload(rollout.kind) &&
      (rollout.change == gate::Change::Template || rollout.change == gate::Change::Created ||
       rollout.change == gate::Change::RestartOnly)) {
    // The denial tells the pod template's hash to approve; denials are the rare path, so the
    // fingerprint is taken only now and the (pure, cheap) decision made again with it.
    rollout.newTemplate = review.newTemplateFingerprint();
    d = gate::decide(rollout, *candidates, ctx);
  }

  Answer a;
  auto& response = a.response;
  response.allowed = d.allowed;
  response.warnings = d.warnings;
  if (!d.allowed) {
    response.code = 403;
    response.reason = "Forbidden";
    response.message = d.message;
  }
  if (d.gated) {
    response.auditAnnotations = d.auditAnnotations;
    if (rollout.dryRun) response.auditAnnotations.emplace_back("dry-run", "true");
  }
  a.outcome = !d.gated              ? Outcome::NotGated
              : !d.allowed          ? Outcome::Denied
              : !d.warnings.empty() ? Outcome::Warned
                                    : Outcome::Allowed;
  a.tier = d.gated ? d.tier : engine::Tier::Unknown;
  if (!d.gated) return a;
  const auto kind = std::string(gate::workloadKindName(rollout.kind));
  // Denials and exceptions are what operators look for; routine admissions stay at debug so
  // that a busy cluster does not log every rollout twice.
  const auto level = !d.allowed || !d.exception.empty() || !d.approval.empty()
                         ? spdlog::level::info
                         : spdlog::level::debug;
  spdlog::log(level, "{} {} {} {} {}/{} by {}: {}{}", d.allowed ? "admitted" : "denied",
              gate::gateActionName(d.action),
              rollout.operation == gate::Operation::Create ? "CREATE" : "UPDATE", kind, rollout.ns,
              rollout.name, rollout.user.username, d.rule, rollout.dryRun ? " (dry run)" : "");
  if (rollout.dryRun || rollout.name.empty()) return a;
  const std::string apiVersion(gate::workloadApiVersion(rollout.kind));
  const std::string kindName(gate::workloadApiKind(rollout.kind));
  // Who rolled out a gated Deployment: Kubernetes records it nowhere the ledger can read (a
  // ReplicaSet does not say who caused it), so the webhook does, as an Event the controller's
  // ledger matches to the new ReplicaSet. In budgetgate's namespace (about that namespace):
  // an Event in the workload's namespace could be forged by its editors (`edit` may create
  // Events).
  if (d.allowed && d.action == gate::GateAction::Rollout &&
      rollout.kind == gate::WorkloadKind::Deployment && !options_.recordNamespace.empty()) {
    emit({"v1", "Namespace", options_.recordNamespace, options_.recordNamespace, "", "Normal",
          std::string(kRolloutAdmittedReason),
          fmt::format("rollout of deployment/{} in {} by {} admitted: {}", rollout.name, rollout.ns,
                      rollout.user.username, d.rule)});
  }
  if (!d.approval.empty()) {
    emit({apiVersion, kindName, rollout.ns, rollout.name, review.objectUid, "Normal",
          "RolloutApprovalUsed",
          fmt::format("{} by {} admitted with RolloutApproval {}: {}",
                      gate::gateActionName(d.action), rollout.user.username, d.approval, d.rule)});
  }
  if (!d.exception.empty()) {
    emit({apiVersion, kindName, rollout.ns, rollout.name, review.objectUid, "Normal",
          "BudgetExceptionUsed",
          fmt::format("{} admitted as a {} exception by {}: {}", gate::gateActionName(d.action),
                      d.exception, rollout.user.username, d.rule)});
  }
  if (!d.allowed) {
    emit({apiVersion, kindName, rollout.ns, rollout.name, review.objectUid, "Warning",
          "BudgetGateDenied",
          fmt::format("{} by {} denied: {}", gate::gateActionName(d.action), rollout.user.username,
                      d.message)});
  } else if (!d.warnings.empty()) {
    emit({apiVersion, kindName, rollout.ns, rollout.name, review.objectUid, "Normal",
          "BudgetGateWarned",
          fmt::format("{} by {} admitted with a warning: {}", gate::gateActionName(d.action),
                      rollout.user.username, d.warnings.front())});
  }
  // The SLOs that refused or warned hear of it too (`kubectl describe slo` shows who was
  // stopped and why), rate-limited like the workload's.
  if (!d.allowed || !d.warnings.empty()) {
    for (const auto& f : d.findings) {
      if (!f.verdict || *f.verdict == engine::Verdict::Approve) continue;
      const auto slash = f.slo.find('/');
      if (slash == std::string::npos) continue;
      emit({"slo.budgetgate.dev/v1alpha1", "ServiceLevelObjective", f.slo.substr(0, slash),
            f.slo.substr(slash + 1), f.uid, d.allowed ? "Normal" : "Warning",
            d.allowed ? "RolloutWarned" : "RolloutDenied",
            fmt::format("{} of {} {}/{} by {} {}: {}", gate::gateActionName(d.action), kindName,
                        rollout.ns, rollout.name, rollout.user.username,
                        d.allowed ? "admitted with a warning" : "denied", d.rule)});
    }
  }
  return a;
}

AdmissionHandler::Answer AdmissionHandler::judgeGateObject(ParsedReview& review,
                                                           const cache::GateSnapshot& snapshot) {
  const auto& r = review.rollout;
  Answer a;
  if (!r.subResource.empty() || r.operation == gate::Operation::Connect) return a;
  static const std::vector<gate::KnownWorkload> kNoWorkloads;
  const auto workloads = snapshot.workloadsByNamespace.find(r.ns);
  gate::GuardContext ctx;
  ctx.policies = &snapshot.policies;
  ctx.lookup = cache_.lookup();
  ctx.fallback = snapshot.fallback;
  ctx.workloads =
      workloads == snapshot.workloadsByNamespace.end() ? &kNoWorkloads : &workloads->second;
  ctx.slos = &snapshot.allSlos;
  ctx.now = nowSeconds();
  const bool isSlo = review.reviewed == ReviewedKind::ServiceLevelObjective;
  const std::string kind = isSlo ? "ServiceLevelObjective" : "ErrorBudgetPolicy";
  gate::GuardDecision d;
  if (isSlo && r.operation != gate::Operation::Delete) {
    // One truth for what is valid: the API server admits exactly what `budgetgate validate`
    // accepts (the CRD schema is the first line of defence, this the second).
    const auto problems =
        sloProblems(review.objectJson(), fmt::format("ServiceLevelObjective {}/{}", r.ns, r.name),
                    options_, &a.response.warnings);
    if (!problems.empty()) {
      a.response.allowed = false;
      a.response.code = 422;
      a.response.reason = "Invalid";
      a.response.message = "budgetgate: " + problems;
      while (!a.response.message.empty() && a.response.message.back() == '\n') {
        a.response.message.pop_back();
      }
      a.outcome = Outcome::Denied;
      return a;
    }
  }
  if (isSlo) {
    gate::SloWrite w{r.operation, r.ns, r.name, r.user, std::nullopt, std::nullopt};
    std::string problem;
    if (r.operation != gate::Operation::Create)
      w.before = guardedSlo(review.oldObjectJson(), &problem);
    problem.clear();
    if (r.operation != gate::Operation::Delete) {
      w.after = guardedSlo(review.objectJson(), &problem);
      if (!w.after && w.before && w.before->selector) {
        // An SLO that no longer parses gates nothing: that is loosening too.
        w.after = gate::GuardedSlo{};
      }
    }
    d = gate::guardSloWrite(w, ctx);
  } else {
    gate::PolicyWrite w{r.operation, r.ns, r.name, r.user, nullptr};
    if (r.operation != gate::Operation::Delete) {
      std::string problem;
      auto doc = json::parse(review.objectJson(), &problem);
      model::Diagnostics diag(objectKey(r.ns, r.name));
      std::optional<engine::ErrorBudgetPolicy> policy;
      if (doc) policy = model::parsePolicy(jsonToYaml(*doc), diag);
      if (!policy) {
        // An invalid policy would be ignored, silently handing its SLOs to another one.
        a.response.allowed = false;
        a.response.code = 400;
        a.response.reason = "Invalid";
        a.response.message = fmt::format("budgetgate: ErrorBudgetPolicy {}/{} is invalid: {}", r.ns,
                                         r.name, doc ? diag.format() : problem);
        a.outcome = Outcome::Denied;
        return a;
      }
      policy->ns = r.ns;
      w.after = std::make_shared<const engine::ErrorBudgetPolicy>(std::move(*policy));
    }
    d = gate::guardPolicyWrite(w, ctx);
  }
  a.response.allowed = d.allowed;
  if (!d.allowed) {
    a.response.code = 403;
    a.response.reason = "Forbidden";
    a.response.message = d.message;
  }
  a.response.auditAnnotations = d.auditAnnotations;
  a.outcome = !d.guarded ? Outcome::NotGated : d.allowed ? Outcome::Warned : Outcome::Denied;
  if (d.guarded) {
    spdlog::info("{} {} {}/{} by {}: {}", d.allowed ? "admitted" : "denied", kind, r.ns, r.name,
                 r.user.username, d.message);
    if (d.allowed) a.response.warnings.push_back("budgetgate: " + d.message);
    if (!r.dryRun) {
      emit({"slo.budgetgate.dev/v1alpha1", kind, r.ns, r.name, "", d.allowed ? "Normal" : "Warning",
            d.allowed ? "GateLoosenedByOwner" : "GateLooseningDenied", d.message});
    }
  }
  return a;
}

AdmissionHandler::Answer AdmissionHandler::judgeApproval(ParsedReview& review,
                                                         const cache::GateSnapshot& snapshot) {
  const auto& r = review.rollout;
  Answer a;
  // Deleting an approval only takes a pass away; status and other subresources carry no spec.
  if (!r.subResource.empty() || r.operation == gate::Operation::Delete ||
      r.operation == gate::Operation::Connect) {
    return a;
  }
  std::string problem;
  const auto doc = json::parse(review.objectJson(), &problem);
  if (r.operation == gate::Operation::Update && doc) {
    auto old = json::parse(review.oldObjectJson(), nullptr);
    const auto* spec = json::member(&*doc, "spec");
    const auto* oldSpec = old ? json::member(&*old, "spec") : nullptr;
    if (spec && oldSpec && json::canonical(*spec) == json::canonical(*oldSpec)) {
      return a;  // labels, annotations, finalizers: nothing the gate reads
    }
  }
  const std::string what = fmt::format("RolloutApproval {}/{}", r.ns, r.name);
  model::Diagnostics diag(what);
  std::optional<model::RolloutApproval> approval;
  if (doc) approval = model::parseRolloutApproval(jsonToYaml(*doc), diag);
  if (approval && approval->ns.empty()) approval->ns = r.ns;
  gate::ApprovalWriteDecision d;
  if (!approval) {
    d.allowed = false;
    d.code = 422;
    d.message = fmt::format("budgetgate: {} is invalid: {}", what, doc ? diag.format() : problem);
    while (!d.message.empty() && d.message.back() == '\n') d.message.pop_back();
  } else {
    static const std::vector<gate::GatedSlo> kNoSlos;
    static const std::vector<gate::KnownWorkload> kNoWorkloads;
    const auto slos = snapshot.slosByNamespace.find(r.ns);
    const auto workloads = snapshot.workloadsByNamespace.find(r.ns);
    const auto fallback =
        model::resolvePolicy(snapshot.policies, cache_.lookup(), r.ns, "", snapshot.fallback);
    const auto policies = gate::policiesForApproval(
        *approval, slos == snapshot.slosByNamespace.end() ? kNoSlos : slos->second,
        workloads == snapshot.workloadsByNamespace.end() ? kNoWorkloads : workloads->second,
        fallback.get());
    d = gate::guardApprovalWrite(*approval, r.user, policies, nowSeconds());
  }
  a.response.allowed = d.allowed;
  a.response.auditAnnotations = d.auditAnnotations;
  a.outcome = d.allowed ? Outcome::Warned : Outcome::Denied;
  if (!d.allowed) {
    a.response.code = d.code;
    a.response.reason = d.code == 403 ? "Forbidden" : "Invalid";
    a.response.message = d.message;
    spdlog::info("denied {} {} by {}: {}",
                 r.operation == gate::Operation::Create ? "CREATE" : "UPDATE", what,
                 r.user.username, d.message);
    return a;
  }
  a.response.warnings.push_back("budgetgate: " + d.message);
  spdlog::info("admitted {}", d.message);
  if (!r.dryRun) {
    emit({"slo.budgetgate.dev/v1alpha1", "RolloutApproval", r.ns, r.name, "", "Normal",
          "RolloutApproved", d.message});
  }
  return a;
}

}  // namespace budgetgate::admission
