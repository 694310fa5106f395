#include "webhook/gate/object_guard.h"

#include <fmt/format.h>

#include <algorithm>

#include "operator/common/object_key.h"
#include "operator/engine/policy_strictness.h"

namespace budgetgate::gate {
namespace {

bool selectorCovers(const model::LabelSelector& s, const WorkloadLabels& w) {
  return s.matches(w.labels) || (w.templateLabels && s.matches(*w.templateLabels));
}

std::string policyName(const engine::ErrorBudgetPolicy& p) {
  return p.ns.empty() ? p.name + " (built-in)" : objectKey(p.ns, p.name);
}

std::string ownersText(const engine::ErrorBudgetPolicy& p) {
  std::vector<std::string> parts;
  for (const auto& g : p.owners.groups) parts.push_back("group " + g);
  for (const auto& u : p.owners.users) parts.push_back("user " + u);
  parts.push_back(fmt::format("group {}", engine::kClusterAdminGroup));
  std::string out;
  for (const auto& s : parts) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string percent(double fraction) {
  return fmt::format("{:g}%", fraction * 100.0);
}

// How the write loosens a gating SLO, or nullopt when it does not.
std::optional<std::string> sloLoosening(const SloWrite& w, const GuardContext& ctx,
                                        const engine::ErrorBudgetPolicy& before) {
  const auto& old = *w.before;
  if (w.operation == Operation::Delete || !w.after) return std::string("it deletes a gating SLO");
  const auto& now = *w.after;
  if (!now.selector)
    return std::string("it removes spec.gate.selector (the SLO would gate nothing)");
  if (ctx.workloads != nullptr) {
    for (const auto& workload : *ctx.workloads) {
      if (selectorCovers(*old.selector, workload.identity) &&
          !selectorCovers(*now.selector, workload.identity)) {
        return fmt::format("it narrows spec.gate.selector: {} {}/{} would no longer be gated",
                           workloadKindName(workload.kind), w.ns, workload.name);
      }
    }
  }
  const auto after =
      model::resolvePolicy(*ctx.policies, ctx.lookup, w.ns, now.policyRef, ctx.fallback);
  if (auto l = engine::firstLoosening(*after, before)) {
    return fmt::format("it points spec.gate.policyRef at policy {}, which is laxer than {} ({})",
                       policyName(*after), policyName(before), *l);
  }
  if (now.fixedSpec != old.fixedSpec) {
    return std::string(
        "it changes the indicator, time window, budgeting method or objectives (other than "
        "raising a target)");
  }
  if (now.labels != old.labels) {
    return std::string(
        "it changes the SLO's labels (BudgetAdjustment.spec.sloSelector selects SLOs by label: a "
        "relabelled SLO could take a refund meant for another)");
  }
  for (std::size_t i = 0; i < old.targets.size() && i < now.targets.size(); ++i) {
    if (now.targets[i] < old.targets[i]) {
      return fmt::format("it lowers objectives[{}] from {} to {}", i, percent(old.targets[i]),
                         percent(now.targets[i]));
    }
  }
  return std::nullopt;
}

// The policy refuses some rollout now (or would, without data), for this SLO.
bool deniesSomeone(const GatedSlo& slo, const engine::ErrorBudgetPolicy& policy) {
  if (!slo.status || slo.status->tier == engine::Tier::Unknown) {
    return policy.onMissingData == engine::MissingDataAction::Deny ||
           policy.missingDataFallback == engine::MissingDataAction::Deny;
  }
  for (auto risk : engine::kRisks) {
    const auto v = policy.matrix.at(slo.status->tier, risk);
    if (v == engine::Verdict::Defer || v == engine::Verdict::Block) return true;
    if (v == engine::Verdict::Review && policy.review == engine::ReviewAction::RequireApproval)
      return true;
  }
  return false;
}

GuardDecision denied(std::string message, std::string loosening) {
  GuardDecision d;
  d.allowed = false;
  d.guarded = true;
  d.message = std::move(message);
  d.auditAnnotations = {{"decision", "denied"}, {"action", "loosen"}, {"loosening", loosening}};
  return d;
}

GuardDecision allowedByOwner(const UserInfo& user, std::string loosening) {
  GuardDecision d;
  d.guarded = true;
  d.message = fmt::format("loosened by owner {}: {}", user.username, loosening);
  d.auditAnnotations = {{"decision", "allowed"},
                        {"action", "loosen"},
                        {"loosening", std::move(loosening)},
                        {"owner", user.username}};
  return d;
}

std::string_view verb(Operation op) {
  switch (op) {
    case Operation::Create:
      return "creation";
    case Operation::Delete:
      return "deletion";
    default:
      return "change";
  }
}

}  // namespace

GuardDecision guardSloWrite(const SloWrite& w, const GuardContext& ctx) {
  if (!w.before || !w.before->selector) return {};  // it gated nothing: nothing to loosen
  const auto before =
      model::resolvePolicy(*ctx.policies, ctx.lookup, w.ns, w.before->policyRef, ctx.fallback);
  const auto loosening = sloLoosening(w, ctx, *before);
  if (!loosening) return {};
  if (before->isOwner(w.user.username, w.user.groups)) return allowedByOwner(w.user, *loosening);
  return denied(
      fmt::format("budgetgate denied the {} of ServiceLevelObjective {}/{} by {}: {}. Only the "
                  "owners of its policy {} may loosen a gating SLO ({}); namespace editors may "
                  "create SLOs and tighten them",
                  verb(w.operation), w.ns, w.name, w.user.username, *loosening, policyName(*before),
                  ownersText(*before)),
      *loosening);
}

GuardDecision guardPolicyWrite(const PolicyWrite& w, const GuardContext& ctx) {
  model::PolicyMap next = *ctx.policies;
  const std::string key = objectKey(w.ns, w.name);
  if (w.after) {
    next[key] = w.after;
  } else {
    next.erase(key);
  }
  if (ctx.slos == nullptr) return {};
  std::optional<std::string> loosenedByOwner;
  for (const auto& slo : *ctx.slos) {
    if (!slo.selector) continue;
    const auto before =
        model::resolvePolicy(*ctx.policies, ctx.lookup, slo.ns, slo.policyRef, ctx.fallback);
    const auto after = model::resolvePolicy(next, ctx.lookup, slo.ns, slo.policyRef, ctx.fallback);
    if (before == after) continue;
    const auto l = engine::firstLoosening(*after, *before);
    if (!l || !deniesSomeone(slo, *before)) continue;
    const std::string loosening =
        before->ns == w.ns && before->name == w.name
            ? fmt::format("it relaxes policy {} ({}) while it denies rollouts under SLO {}/{}",
                          policyName(*before), *l, slo.ns, slo.name)
            : fmt::format(
                  "SLO {}/{} would be governed by policy {} instead of {} ({}) while it "
                  "denies rollouts",
                  slo.ns, slo.name, policyName(*after), policyName(*before), *l);
    if (before->isOwner(w.user.username, w.user.groups)) {
      if (!loosenedByOwner) loosenedByOwner = loosening;
      continue;
    }
    return denied(fmt::format("budgetgate denied the {} of ErrorBudgetPolicy {} by {}: {}. Only "
                              "the owners of policy {} may do that ({})",
                              verb(w.operation), key, w.user.username, loosening,
                              policyName(*before), ownersText(*before)),
                  loosening);
  }
  if (loosenedByOwner) return allowedByOwner(w.user, *loosenedByOwner);
  return {};
}

}  // namespace budgetgate::gate
