#include "webhook/gate/gate_decision.h"

#include <fmt/format.h>

#include <algorithm>

#include "operator/common/duration.h"
#include "operator/common/object_key.h"
#include "webhook/gate/approval_match.h"
#include "webhook/gate/denial_message.h"
#include "webhook/gate/rollout_requirements.h"

namespace budgetgate::gate {
namespace {

using engine::Mode;
using engine::Risk;
using engine::Tier;
using engine::Verdict;

constexpr std::string_view kReleaseTypes[] = {"feature", "bugfix", "security", "slo-improvement",
                                              "rollback"};

GateDecision notGated(std::string reason) {
  GateDecision d;
  d.reason = std::move(reason);
  d.message = "not gated: " + d.reason;
  return d;
}

std::string_view operationName(Operation op) {
  switch (op) {
    case Operation::Create:
      return "CREATE";
    case Operation::Update:
      return "UPDATE";
    case Operation::Delete:
      return "DELETE";
    case Operation::Connect:
      return "CONNECT";
  }
  return "?";
}

bool selects(const GatedSlo& slo, const WorkloadLabels& w) {
  if (!slo.selector) return false;
  return slo.selector->matches(w.labels) ||
         (w.templateLabels && slo.selector->matches(*w.templateLabels));
}

// How one SLO relates to the request's object.
struct Match {
  const GatedSlo* slo = nullptr;
  bool now = false;     // selects the new object
  bool before = false;  // selected the old object
  std::string via;      // a related workload it selects ("deployment ledger"), if any
  bool viaJoins = false;
};

// Whether a status can be decided on: fresh, or stale but within last-known; else why not.
struct DataState {
  std::string missingReason;  // empty: usable
  std::string lastKnownAge;   // non-empty: usable only as last-known
};

DataState dataState(const GatedSlo& slo, const GateContext& ctx) {
  if (!slo.status || !slo.status->lastEvaluated) return {"not evaluated yet", {}};
  const auto& s = *slo.status;
  if (s.tier == Tier::Unknown) return {s.message.empty() ? std::string("no data") : s.message, {}};
  const auto age = ctx.now - *s.lastEvaluated;
  const auto& policy = *slo.policy;
  if (age <= policy.staleAfter) return {};
  if (policy.onMissingData == engine::MissingDataAction::LastKnown && age <= policy.lastKnownFor) {
    return {{}, humanDuration(age)};
  }
  return {fmt::format("last evaluated {} ago, staleAfter {}{}", humanDuration(age),
                      formatDuration(policy.staleAfter),
                      policy.onMissingData == engine::MissingDataAction::LastKnown
                          ? fmt::format(", last-known for {}", formatDuration(policy.lastKnownFor))
                          : std::string()),
          {}};
}

// What applies when there is no usable status.
engine::MissingDataAction missingAction(const engine::ErrorBudgetPolicy& policy) {
  return policy.onMissingData == engine::MissingDataAction::LastKnown ? policy.missingDataFallback
                                                                      : policy.onMissingData;
}

std::string tierList(const std::vector<Tier>& tiers) {
  std::string out;
  for (Tier t : tiers) out += (out.empty() ? "" : ", ") + std::string(engine::tierName(t));
  return out.empty() ? std::string("(none)") : out;
}

// `tier` is the SLO's current tier (Unknown without data: no tiered exception applies).
std::string exceptionFor(const RolloutRequest& req, const engine::ErrorBudgetPolicy& policy,
                         bool isRollback, const std::string& releaseType, Tier tier) {
  if (isRollback && policy.exceptions.rollback) return "rollback";
  if (releaseType == "bugfix" && tier != Tier::Unknown &&
      policy.exceptions.bugfix.appliesAt(tier) &&
      policy.exceptions.bugfix.who.admits(req.user.username, req.user.groups)) {
    return "bugfix";
  }
  if (releaseType == "security" &&
      policy.exceptions.security.admits(req.user.username, req.user.groups)) {
    return "security";
  }
  if (releaseType == "slo-improvement" &&
      policy.exceptions.sloImprovement.admits(req.user.username, req.user.groups)) {
    return "slo-improvement";
  }
  return {};
}

std::string objectName(const RolloutRequest& req) {
  return fmt::format("{} {}/{}", workloadKindName(req.kind), req.ns,
                     req.name.empty() ? std::string("(generated name)") : req.name);
}

// "the rollout of deployment shop/ledger", "the creation of pod shop/debug"...
std::string actionSubject(const RolloutRequest& req, GateAction action) {
  const auto object = objectName(req);
  switch (action) {
    case GateAction::Rollout:
      if (isRolledWorkload(req.kind)) return "the rollout of " + object;
      return (req.change == Change::Created ? "the creation of " : "the spec change of ") + object;
    case GateAction::Restart:
      return "the restart of " + object;
    case GateAction::Unselect:
    case GateAction::Join:
      return "the label change of " + object;
    case GateAction::RevisionGuard:
      return (req.change == Change::Created ? "the creation of " : "the change of ") + object;
  }
  return object;
}

// A gated request whose release type is not one budgetgate knows: refused whatever the budget
// says, with the valid values, so that a typo is fixed rather than shipped as a feature.
GateDecision refuseUnknownReleaseType(GateDecision d, const RolloutRequest& req,
                                      const std::string& problem) {
  for (auto& f : d.findings) f.denies = f.mode == Mode::Enforce;
  d.allowed = false;
  d.exception.clear();
  d.rule = "the release type must be one budgetgate knows";
  d.message = fmt::format(
      "budgetgate denied {}: {}. To proceed: set {} to one of them (or remove it for a feature "
      "release)",
      actionSubject(req, d.action), problem, kReleaseTypeAnnotation);
  d.auditAnnotations = {{"decision", "denied"},
                        {"risk", std::string(engine::riskName(d.risk))},
                        {"release-type", "unknown"},
                        {"rule", d.rule}};
  return d;
}

// Whether a RolloutApproval may turn this finding's denial into an admission: review under
// require-approval, defer under approveDefer; never block, missing data or a label change.
bool approvable(const SloFinding& f, const engine::ErrorBudgetPolicy& policy,
                const RolloutRequest& req, GateAction action) {
  if (!f.verdict || f.missingData || !isRolledWorkload(req.kind)) return false;
  if (action != GateAction::Rollout && action != GateAction::Restart) return false;
  return (*f.verdict == Verdict::Review &&
          policy.review == engine::ReviewAction::RequireApproval) ||
         (*f.verdict == Verdict::Defer && policy.approvals.approveDefer);
}

// The first approval of the workload that admits it under `policy`; the others' reasons go to
// *unused ("shop/x by alice: it expired at ...").
std::string useApproval(const RolloutRequest& req, const engine::ErrorBudgetPolicy& policy,
                        const GateContext& ctx, std::set<std::string>* unused) {
  if (ctx.approvals == nullptr) return {};
  for (const auto& a : *ctx.approvals) {
    if (!approvalNamesWorkload(a, req)) continue;
    const auto why = approvalMismatch(a, req, policy, ctx.now);
    if (why.empty()) return describeApproval(a);
    unused->insert(fmt::format("RolloutApproval {} not used: {}", describeApproval(a), why));
  }
  return {};
}

// Which matched SLOs decide, and as what; nullopt with a reason when the change is not one the
// gate looks at.
struct Judgement {
  GateAction action = GateAction::Rollout;
  std::vector<const Match*> deciding;
  std::string notGatedReason;
};

Judgement judge(const RolloutRequest& req, const std::vector<Match>& matches) {
  Judgement j;
  const auto pick = [&](auto predicate) {
    for (const auto& m : matches) {
      if (predicate(m)) j.deciding.push_back(&m);
    }
  };
  if (req.kind == WorkloadKind::ReplicaSet &&
      std::any_of(matches.begin(), matches.end(), [](const Match& m) { return !m.via.empty(); })) {
    // A ReplicaSet owned or adoptable by a gated Deployment is one of its revisions: written by
    // anyone but the controller it could be passed off as a rollback target.
    j.action = GateAction::RevisionGuard;
    pick([](const Match& m) { return !m.via.empty(); });
    return j;
  }
  switch (req.change) {
    case Change::Created:
    case Change::Template:
      j.action = GateAction::Rollout;
      pick([](const Match&) { return true; });
      break;
    case Change::RestartOnly:
      j.action = GateAction::Restart;
      pick([](const Match& m) { return m.slo->policy->restarts == engine::RestartAction::Gate; });
      if (j.deciding.empty()) {
        j.notGatedReason =
            "a restart (only the pod template's kubectl.kubernetes.io/restartedAt changed) runs "
            "the same pod spec and is not a rollout under the policy (restarts: allow)";
      }
      break;
    case Change::Labels:
      if (req.kind == WorkloadKind::Pod) {
        // A Pod's labels are its membership of a service: joining one is shipping its code there.
        j.action = GateAction::Join;
        pick([](const Match& m) { return (m.now && !m.before) || m.viaJoins; });
        if (j.deciding.empty()) j.notGatedReason = "the label change puts the pod under no new SLO";
      } else {
        // Out of a selector, then a template change, then back in: leaving is what is gated.
        j.action = GateAction::Unselect;
        pick([](const Match& m) { return m.before && !m.now; });
        if (j.deciding.empty()) {
          j.notGatedReason = "the label change takes the workload out of no SLO's selector";
        }
      }
      break;
    case Change::None:
      j.notGatedReason = "nothing the gate looks at changed";
      break;
  }
  return j;
}

std::string describeMembership(const Match& m, GateAction action) {
  if (action == GateAction::Unselect) {
    return fmt::format("it would leave the selector of SLO {}/{}", m.slo->ns, m.slo->name);
  }
  if (action == GateAction::RevisionGuard) {
    return fmt::format("it belongs to {}, which SLO {}/{} gates", m.via, m.slo->ns, m.slo->name);
  }
  if (action == GateAction::Join) {
    return m.via.empty() || (m.now && !m.before)
               ? fmt::format("it would come under SLO {}/{}", m.slo->ns, m.slo->name)
               : fmt::format("it would join {}, which SLO {}/{} gates", m.via, m.slo->ns,
                             m.slo->name);
  }
  return {};
}

GateDecision guardRevision(const RolloutRequest& req, const Judgement& j) {
  GateDecision d;
  d.gated = true;
  d.action = j.action;
  d.reason = std::string(gateActionName(j.action));
  bool enforce = false;
  std::string owners;
  for (const Match* m : j.deciding) {
    SloFinding f;
    f.slo = objectKey(m->slo->ns, m->slo->name);
    f.uid = m->slo->uid;
    const auto& policy = *m->slo->policy;
    f.policy = policyName(policy);
    f.mode = policy.mode;
    f.denies = policy.mode == Mode::Enforce;
    f.downgraded = !f.denies;
    enforce = enforce || f.denies;
    if (owners.find(m->via) == std::string::npos) owners += (owners.empty() ? "" : ", ") + m->via;
    d.findings.push_back(std::move(f));
  }
  d.allowed = !enforce;
  d.rule = "only the workload's controller may create or change its ReplicaSets";
  const auto& first = *j.deciding.front();
  const std::string what = fmt::format(
      "{}: {}, and {} (a hand-made ReplicaSet would be taken for one of its revisions and could "
      "be rolled out as a rollback)",
      actionSubject(req, j.action), describeMembership(first, j.action), d.rule);
  if (d.allowed) {
    d.warnings.push_back("would be denied in enforce mode: " + what);
    d.message = "budgetgate admitted " + what;
  } else {
    d.message = fmt::format(
        "budgetgate denied {}. To proceed: change {} instead (kubectl set "
        "image, kubectl apply, kubectl rollout undo), which the gate judges "
        "by its error budget",
        what, owners);
  }
  d.auditAnnotations = {{"decision", d.allowed ? "allowed-by-mode" : "denied"},
                        {"action", d.reason},
                        {"owner", owners},
                        {"rule", d.rule}};
  return d;
}

}  // namespace

std::string_view workloadKindName(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::Deployment:
      return "deployment";
    case WorkloadKind::StatefulSet:
      return "statefulset";
    case WorkloadKind::DaemonSet:
      return "daemonset";
    case WorkloadKind::ArgoRollout:
      return "rollout";
    case WorkloadKind::ReplicaSet:
      return "replicaset";
    case WorkloadKind::Pod:
      return "pod";
  }
  return "?";
}

std::string_view workloadApiKind(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::Deployment:
      return "Deployment";
    case WorkloadKind::StatefulSet:
      return "StatefulSet";
    case WorkloadKind::DaemonSet:
      return "DaemonSet";
    case WorkloadKind::ArgoRollout:
      return "Rollout";
    case WorkloadKind::ReplicaSet:
      return "ReplicaSet";
    case WorkloadKind::Pod:
      return "Pod";
  }
  return "?";
}

std::string_view workloadApiVersion(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::ArgoRollout:
      return "argoproj.io/v1alpha1";
    case WorkloadKind::Pod:
      return "v1";
    default:
      return "apps/v1";
  }
}

std::optional<WorkloadKind> rolledWorkloadKind(std::string_view apiKind) {
  for (auto k : {WorkloadKind::Deployment, WorkloadKind::StatefulSet, WorkloadKind::DaemonSet,
                 WorkloadKind::ArgoRollout}) {
    if (workloadApiKind(k) == apiKind) return k;
  }
  return std::nullopt;
}

std::string_view gateActionName(GateAction action) {
  switch (action) {
    case GateAction::Rollout:
      return "rollout";
    case GateAction::Restart:
      return "restart";
    case GateAction::Unselect:
      return "unselect";
    case GateAction::Join:
      return "join";
    case GateAction::RevisionGuard:
      return "revision-guard";
  }
  return "?";
}

bool claimsReleaseType(const RolloutRequest& req) {
  if (req.operation != Operation::Update) return true;
  const auto value = [](const model::Labels& m, std::string_view key) {
    auto it = m.find(key);
    return it == m.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  };
  return value(req.annotations, kReleaseTypeAnnotation) !=
             value(req.oldAnnotations, kReleaseTypeAnnotation) ||
         value(req.annotations, kReleaseRefAnnotation) !=
             value(req.oldAnnotations, kReleaseRefAnnotation);
}

GateDecision decide(const RolloutRequest& req, const std::vector<GatedSlo>& slos,
                    const GateContext& ctx) {
  if (req.operation != Operation::Create && req.operation != Operation::Update) {
    return notGated(fmt::format("{} is never gated", operationName(req.operation)));
  }
  if (!req.subResource.empty()) {
    return notGated(fmt::format("the {} subresource is never gated", req.subResource));
  }
  if (ctx.exemptNamespaces.count(req.ns) != 0) {
    return notGated(fmt::format("namespace {} is exempt", req.ns));
  }
  if (!isRolledWorkload(req.kind) && req.byWorkloadController) {
    return notGated(fmt::format("{} written by its workload controller ({})",
                                workloadKindName(req.kind), req.user.username));
  }
  if (req.change == Change::None) {
    return notGated("nothing the gate looks at changed (annotations, replicas or status)");
  }

  std::vector<Match> matches;
  for (const auto& slo : slos) {
    if (slo.ns != req.ns || !slo.selector) continue;
    Match m;
    m.slo = &slo;
    m.now = selects(slo, req.identity);
    m.before = req.oldIdentity && selects(slo, *req.oldIdentity);
    for (const auto& r : req.related) {
      if (selects(slo, r.identity)) {
        m.via = fmt::format("{} {}/{}", workloadKindName(r.kind), req.ns, r.name);
        m.viaJoins = !r.relatedBefore;
        break;
      }
    }
    if (m.now || m.before || !m.via.empty()) matches.push_back(std::move(m));
  }
  if (matches.empty()) {
    return notGated(fmt::format("no SLO selects this {}", workloadKindName(req.kind)));
  }
  const Judgement j = judge(req, matches);
  if (j.deciding.empty()) return notGated(j.notGatedReason);
  if (j.action == GateAction::RevisionGuard) return guardRevision(req, j);

  GateDecision d;
  d.gated = true;
  d.action = j.action;
  d.reason = std::string(gateActionName(j.action));

  if (auto it = req.annotations.find(kRiskAnnotation); it != req.annotations.end()) {
    if (auto r = engine::riskFromName(it->second)) {
      d.risk = *r;
    } else {
      d.risk = Risk::High;
      d.warnings.push_back(fmt::format("{}: \"{}\" is not low, medium or high; treated as high",
                                       kRiskAnnotation, it->second));
    }
  }
  std::optional<std::string> unknownReleaseType;
  if (auto it = req.annotations.find(kReleaseTypeAnnotation); it != req.annotations.end()) {
    const bool known = std::find(std::begin(kReleaseTypes), std::end(kReleaseTypes), it->second) !=
                       std::end(kReleaseTypes);
    if (!known) {
      // A typo ("secuirty", "hotfix") must not quietly ship as a feature: refused below.
      unknownReleaseType = it->second;
    } else if (it->second != "feature" && it->second != "rollback" && !claimsReleaseType(req)) {
      // Set for an earlier rollout and left on the object: it is not a claim for this one.
      d.warnings.push_back(fmt::format(
          "{}: {} was claimed by an earlier change and is not honoured for this one; an exception "
          "applies only to the request that sets or changes {} (or {})",
          kReleaseTypeAnnotation, it->second, kReleaseTypeAnnotation, kReleaseRefAnnotation));
    } else {
      d.releaseType = it->second;
    }
  }
  const bool isRollback =
      req.newTemplate && std::find(req.previousTemplates.begin(), req.previousTemplates.end(),
                                   *req.newTemplate) != req.previousTemplates.end();
  if (d.releaseType == "rollback" && !isRollback) {
    d.warnings.push_back(
        fmt::format("release-type rollback not honoured: the new pod template matches none of "
                    "the revisions this {}'s controller created",
                    workloadApiKind(req.kind)));
  }

  // findings[i] describes deciding[i]; the deciding SLO is a denying one if any, else the one
  // with the worst verdict.
  d.findings.reserve(j.deciding.size());
  std::size_t deciding = 0;
  bool unauthorisedExceptionNoted = false;
  std::set<std::string> unusedApprovals;
  for (const Match* match : j.deciding) {
    const GatedSlo* slo = match->slo;
    const auto& policy = *slo->policy;
    SloFinding f;
    f.slo = objectKey(slo->ns, slo->name);
    f.uid = slo->uid;
    f.policy = policyName(policy);
    f.mode = policy.mode;
    const auto state = dataState(*slo, ctx);
    f.missingReason = state.missingReason;
    f.missingData = !f.missingReason.empty();
    f.lastKnownAge = state.lastKnownAge;
    bool wouldDeny = false;
    bool needsReview = false;
    if (f.missingData) {
      wouldDeny = missingAction(policy) == engine::MissingDataAction::Deny;
    } else {
      f.tier = slo->status->tier;
      f.remainingPercent =
          slo->status->errorBudget ? slo->status->errorBudget->remainingPercent() : 0.0;
      f.burnRate1h = slo->status->burnRates.orZero(engine::BurnRateWindow::H1);
      f.verdict = policy.matrix.at(f.tier, d.risk);
      if (f.tier == Tier::Exhausted && policy.freeze.enabled()) {
        // Decided with the request's clock, not the controller's: a limit that passes between
        // two evaluations takes effect at once.
        const double remaining =
            slo->status->errorBudget ? slo->status->errorBudget->remainingPercentRaw() : 0.0;
        f.freeze = engine::freezeRelief(policy.freeze, slo->status->freeze, remaining, ctx.now);
        if (f.freeze.relaxed) {
          f.matrixVerdict = f.verdict;
          f.verdict = engine::relaxedVerdict(*f.verdict, policy.freeze);
        }
      }
      if (*f.verdict == Verdict::Defer || *f.verdict == Verdict::Block) {
        wouldDeny = true;
      } else if (*f.verdict == Verdict::Review) {
        if (policy.review == engine::ReviewAction::RequireApproval &&
            !policy.approvers.admits(req.user.username, req.user.groups)) {
          wouldDeny = true;
        } else {
          needsReview = true;
        }
      }
      if (!f.lastKnownAge.empty()) {
        d.warnings.push_back(fmt::format(
            "SLO {} has no current status; decided on its last known status from {} ago "
            "(onMissingData: last-known, for up to {})",
            f.slo, f.lastKnownAge, formatDuration(policy.lastKnownFor)));
      }
    }
    if (wouldDeny || needsReview) {
      f.exception = exceptionFor(req, policy, isRollback, d.releaseType,
                                 f.missingData ? Tier::Unknown : f.tier);
      if (!f.exception.empty()) {
        wouldDeny = false;
        needsReview = false;
      } else if (d.releaseType == "bugfix" && !unauthorisedExceptionNoted &&
                 policy.exceptions.bugfix.who.admits(req.user.username, req.user.groups)) {
        unauthorisedExceptionNoted = true;
        d.warnings.push_back(fmt::format(
            "release-type bugfix not honoured: policy {} admits bug fixes at tiers {} only, and "
            "SLO {} is {}",
            f.policy, tierList(policy.exceptions.bugfix.tiers), f.slo,
            f.missingData ? std::string("without data") : std::string(engine::tierName(f.tier))));
      } else if ((d.releaseType == "security" || d.releaseType == "slo-improvement" ||
                  d.releaseType == "bugfix") &&
                 !unauthorisedExceptionNoted) {
        unauthorisedExceptionNoted = true;
        d.warnings.push_back(fmt::format(
            "release-type {} not honoured: user {} is not allowed to use it under policy {}",
            d.releaseType, req.user.username, f.policy));
      }
    }
    if (wouldDeny && f.exception.empty() && approvable(f, policy, req, d.action)) {
      f.approval = useApproval(req, policy, ctx, &unusedApprovals);
      if (!f.approval.empty()) wouldDeny = false;
    }
    if (!wouldDeny && !f.missingData && isRolledWorkload(req.kind) &&
        d.action == GateAction::Rollout && f.exception != "rollback") {
      // Requirements hold for every rollout the tier lets through, exceptions included; a
      // rollback is exempt (the way out must stay open).
      f.unmet = unmetRequirements(policy.requirements[static_cast<std::size_t>(f.tier)], req);
      if (!f.unmet.empty()) {
        wouldDeny = true;
        needsReview = false;
      }
    }
    if (wouldDeny && policy.mode != Mode::Enforce) {
      f.downgraded = true;
      wouldDeny = false;
    }
    f.denies = wouldDeny;
    if (needsReview) {
      d.warnings.push_back(
          fmt::format("review required: {} ({})", describeSlo(f, *slo), describeRule(f, d.risk)));
    } else if (f.missingData && !wouldDeny && !f.downgraded) {
      d.warnings.push_back(
          fmt::format("{}; admitted by {}", describeSlo(f, *slo), describeRule(f, d.risk)));
    }
    if (f.downgraded && policy.mode == Mode::Warn) {
      d.warnings.push_back(fmt::format("would be denied in enforce mode: {} ({})",
                                       describeSlo(f, *slo), describeRule(f, d.risk)));
    }
    if (!f.exception.empty()) {
      d.warnings.push_back(
          fmt::format("admitted as a {} exception despite {}", f.exception, describeSlo(f, *slo)));
      if (d.exception.empty()) d.exception = f.exception;
    }
    if (!f.approval.empty()) {
      d.warnings.push_back(fmt::format("admitted with RolloutApproval {} despite {} ({})",
                                       f.approval, describeSlo(f, *slo), describeRule(f, d.risk)));
      if (d.approval.empty()) d.approval = f.approval;
    }
    if (!f.missingData &&
        (d.tier == Tier::Unknown || engine::tierSeverity(f.tier) > engine::tierSeverity(d.tier))) {
      d.tier = f.tier;
    }
    if (f.verdict && (!d.verdict || static_cast<int>(*f.verdict) > static_cast<int>(*d.verdict))) {
      d.verdict = f.verdict;
    }
    d.findings.push_back(std::move(f));
    const SloFinding& added = d.findings.back();
    const SloFinding& current = d.findings[deciding];
    if ((added.denies && !current.denies) ||
        (added.denies == current.denies && added.verdict &&
         (!current.verdict ||
          static_cast<int>(*added.verdict) > static_cast<int>(*current.verdict)))) {
      deciding = d.findings.size() - 1;
    }
  }

  d.allowed = std::none_of(d.findings.begin(), d.findings.end(),
                           [](const SloFinding& f) { return f.denies; });
  d.rule = describeRule(d.findings[deciding], d.risk);
  if (!d.allowed) {
    // An approval that exists but does not count is the first thing its holder will ask about.
    for (const auto& note : unusedApprovals) d.warnings.push_back(note);
  }
  if (unknownReleaseType) {
    const std::string problem =
        fmt::format("{}: \"{}\" is not one of feature, bugfix, security, slo-improvement, rollback",
                    kReleaseTypeAnnotation, *unknownReleaseType);
    const bool enforced = std::any_of(d.findings.begin(), d.findings.end(),
                                      [](const SloFinding& f) { return f.mode == Mode::Enforce; });
    // A recognised rollback stays admitted (the way out of a bad release must not depend on an
    // annotation left on the object).
    const bool rollback =
        isRollback && std::all_of(j.deciding.begin(), j.deciding.end(), [](const Match* m) {
          return m->slo->policy->exceptions.rollback;
        });
    if (enforced && !rollback) {
      return refuseUnknownReleaseType(std::move(d), req, problem);
    }
    d.warnings.push_back(rollback ? problem + "; admitted as a rollback"
                                  : "would be denied in enforce mode: " + problem);
  }

  std::string slosList;
  for (const auto& f : d.findings) {
    slosList += (slosList.empty() ? "" : ",") + f.slo + "=" +
                std::string(f.missingData ? "no-data" : engine::tierName(f.tier));
  }
  const bool anyDowngraded = std::any_of(d.findings.begin(), d.findings.end(),
                                         [](const SloFinding& f) { return f.downgraded; });
  d.auditAnnotations = {
      {"decision", d.allowed ? (anyDowngraded ? "allowed-by-mode" : "allowed") : "denied"},
      {"slos", slosList},
      {"risk", std::string(engine::riskName(d.risk))},
      {"release-type", d.releaseType},
      {"rule", d.rule},
  };
  if (d.action != GateAction::Rollout) d.auditAnnotations.emplace_back("action", d.reason);
  if (d.verdict)
    d.auditAnnotations.emplace_back("verdict", std::string(engine::verdictName(*d.verdict)));
  if (!d.exception.empty()) {
    d.auditAnnotations.emplace_back("exception",
                                    fmt::format("{} by {}", d.exception, req.user.username));
  }
  if (!d.approval.empty()) d.auditAnnotations.emplace_back("approval", d.approval);

  std::string membership;
  if (d.action == GateAction::Unselect || d.action == GateAction::Join) {
    membership = describeMembership(*j.deciding[deciding], d.action);
  }
  const std::string subject = fmt::format(
      "{} (risk {}, release-type {}{}{})", actionSubject(req, d.action), engine::riskName(d.risk),
      d.releaseType, membership.empty() ? "" : "; ", membership);
  // With several matching SLOs the message names each one, not only those that decided.
  const auto admittingSlos = [&] {
    std::string out;
    for (const auto& f : d.findings) {
      if (f.denies) continue;
      out += fmt::format("{}{} {}", out.empty() ? "" : ", ", f.slo,
                         f.missingData ? "no data" : engine::tierName(f.tier));
    }
    return out;
  };
  if (!d.allowed) {
    std::string reasons;
    for (std::size_t i = 0; i < d.findings.size(); ++i) {
      const auto& f = d.findings[i];
      if (!f.denies) continue;
      reasons += fmt::format("{}{}; {}", reasons.empty() ? "" : ". Also ",
                             describeSlo(f, *j.deciding[i]->slo), describeRule(f, d.risk));
    }
    if (const auto others = admittingSlos(); !others.empty()) {
      reasons += fmt::format(" (also matching: {})", others);
    }
    // At most three (the warnings list them all): a message must stay readable.
    std::size_t listed = 0;
    for (const auto& note : unusedApprovals) {
      if (++listed > 3) {
        reasons +=
            fmt::format(" (and {} more unused RolloutApprovals)", unusedApprovals.size() - 3);
        break;
      }
      reasons += fmt::format(" ({})", note);
    }
    d.message =
        fmt::format("budgetgate denied {}: {}. To proceed: {}.", subject, reasons,
                    howToProceed(d.findings[deciding], *j.deciding[deciding]->slo, d.risk, req));
  } else {
    d.message =
        fmt::format("budgetgate admitted {}: {}", subject,
                    !d.exception.empty()      ? d.exception + " exception"
                    : !d.approval.empty()     ? "approved by RolloutApproval " + d.approval
                    : d.tier == Tier::Unknown ? std::string("no current budget status")
                                              : "tier " + std::string(engine::tierName(d.tier)));
    if (d.findings.size() > 1) d.message += fmt::format(" (matching SLOs: {})", admittingSlos());
  }
  return d;
}

}  // namespace budgetgate::gate
