#include "webhook/gate/denial_message.h"

#include <fmt/format.h>

#include <algorithm>

#include "operator/common/duration.h"
#include "operator/common/object_key.h"

namespace budgetgate::gate {
namespace {

using engine::Risk;
using engine::Tier;
using engine::Verdict;

// Whether a verdict lets an ordinary requester through: review does only when it merely warns.
bool admits(Verdict v, const engine::ErrorBudgetPolicy& policy) {
  return v == Verdict::Approve ||
         (v == Verdict::Review && policy.review == engine::ReviewAction::Warn);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// The thresholds a tier must be better than, for "wait until ..." advice.
std::string conditionsBetterThan(const engine::TierThreshold& t) {
  std::vector<std::string> parts;
  if (t.remainingPercentAtMost)
    parts.push_back(fmt::format("more than {:g}% budget left", *t.remainingPercentAtMost));
  if (t.burnRateAtLeast) parts.push_back(fmt::format("1h burn below {:g}x", *t.burnRateAtLeast));
  if (t.exhaustionWithin)
    parts.push_back(fmt::format("exhaustion further than {}", formatDuration(*t.exhaustionWithin)));
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

std::string policyName(const engine::ErrorBudgetPolicy& p) {
  return p.ns.empty() ? p.name : objectKey(p.ns, p.name);
}

std::string describeSubjects(const engine::Subjects& s) {
  std::string out;
  for (const auto& g : s.groups) out += (out.empty() ? "group " : ", group ") + g;
  for (const auto& u : s.users) out += (out.empty() ? "user " : ", user ") + u;
  return out;
}

std::string describeSlo(const SloFinding& f, const GatedSlo& slo) {
  if (f.missingData) {
    return fmt::format("SLO {} has no current budget status ({})", f.slo, f.missingReason);
  }
  std::string text = f.lastKnownAge.empty()
                         ? fmt::format("SLO {} is {}: {:.1f}% of the error budget left", f.slo,
                                       engine::tierName(f.tier), f.remainingPercent)
                         : fmt::format(
                               "SLO {} was {} at its last known status ({} ago, no current data; "
                               "onMissingData: last-known): {:.1f}% of the error budget left",
                               f.slo, engine::tierName(f.tier), f.lastKnownAge, f.remainingPercent);
  if (slo.status && slo.status->errorBudget && slo.status->errorBudget->consumedPercent > 100.0) {
    text += fmt::format(" ({:.1f}% consumed)", slo.status->errorBudget->consumedPercent);
  }
  text += fmt::format(", 1h burn rate {:.2f}x", f.burnRate1h);
  if (slo.status && slo.status->projectedExhaustion && f.tier != Tier::Exhausted) {
    text += fmt::format(", projected exhaustion {}", formatTime(*slo.status->projectedExhaustion));
  }
  return text;
}

std::string describeRule(const SloFinding& f, Risk risk) {
  if (f.missingData) {
    return fmt::format("policy {}: onMissingData = {}", f.policy,
                       f.denies || f.downgraded ? "deny" : "allow-with-warning");
  }
  std::string rule = fmt::format("policy {}: tier {} x risk {} = ", f.policy,
                                 engine::tierName(f.tier), engine::riskName(risk));
  if (f.matrixVerdict && f.verdict && *f.matrixVerdict != *f.verdict) {
    rule += fmt::format("{}, relaxed to {}: {}", engine::verdictName(*f.matrixVerdict),
                        engine::verdictName(*f.verdict), f.freeze.reason);
  } else {
    rule += f.verdict ? engine::verdictName(*f.verdict) : "?";
  }
  if (!f.unmet.empty()) {
    rule += fmt::format(", but at tier {} a rollout needs {}", engine::tierName(f.tier),
                        joined(f.unmet));
  }
  return rule;
}

std::string howToProceed(const SloFinding& f, const GatedSlo& slo, Risk risk,
                         const RolloutRequest& request) {
  const auto& policy = *slo.policy;
  const WorkloadKind kind = request.kind;
  std::vector<std::string> ways;
  // Approve stands for "no verdict" (missing data): neither review, defer nor block.
  const Verdict verdict = !f.missingData && f.verdict ? *f.verdict : Verdict::Approve;
  if (!f.unmet.empty()) {
    // The tier admits it: what is missing is all that stands in the way.
    std::string unmet;
    for (const auto& u : f.unmet) unmet += (unmet.empty() ? "" : ", ") + u;
    return fmt::format("add {} to the {} (policy {}, requirements.{}), or roll back", unmet,
                       workloadApiKind(kind), f.policy, engine::tierName(f.tier));
  }
  const bool approvable =
      isRolledWorkload(kind) && !policy.approvers.empty() &&
      ((verdict == Verdict::Review && policy.review == engine::ReviewAction::RequireApproval) ||
       (verdict == Verdict::Defer && policy.approvals.approveDefer));
  if (approvable) {
    ways.push_back(fmt::format(
        "ask an approver ({}) for a RolloutApproval of this pod template, valid for at most {}: "
        "budgetgate approve {} --template-hash {} --for 4h --reason \"...\" --apply",
        describeSubjects(policy.approvers), formatDuration(policy.approvals.maxDuration),
        kind == WorkloadKind::Deployment
            ? fmt::format("--deployment {}/{}", request.ns,
                          request.name.empty() ? std::string("NAME") : request.name)
            : fmt::format("--workload {}/{}/{}", request.ns, workloadKindName(kind),
                          request.name.empty() ? std::string("NAME") : request.name),
        request.newTemplate ? *request.newTemplate : std::string("HASH")));
  }
  // Said last: what does not help, so that nobody goes looking for an approver in vain.
  std::string notApprovable;
  if (!approvable && verdict == Verdict::Block) {
    notApprovable = "a block is not overridden by a RolloutApproval";
  } else if (!approvable && verdict == Verdict::Defer && isRolledWorkload(kind)) {
    notApprovable =
        fmt::format("a defer is not approvable under policy {} (review.approveDefer)", f.policy);
  }
  if (!isRolledWorkload(kind)) {
    // A hand-made Pod or ReplicaSet has no revisions to roll back to, and ships around the
    // workload; the way forward is the workload.
    ways.push_back(fmt::format(
        "ship it through its Deployment (StatefulSet, DaemonSet) instead, where rollbacks are "
        "recognised, or wait as below (a hand-made {} is judged like a rollout)",
        workloadKindName(kind)));
  }
  if (!f.missingData && f.tier != Tier::Unknown) {
    for (Risk lower : engine::kRisks) {
      if (static_cast<int>(lower) >= static_cast<int>(risk)) break;
      const Verdict v = policy.matrix.at(f.tier, lower);
      if (admits(v, policy)) {
        ways.push_back(
            fmt::format("if the change really is {} risk, annotate {}: {} ({} at tier {})",
                        engine::riskName(lower), kRiskAnnotation, engine::riskName(lower),
                        engine::verdictName(v), engine::tierName(f.tier)));
        break;
      }
    }
  }
  if (policy.exceptions.rollback && isRolledWorkload(kind)) {
    ways.push_back(
        "roll back to a previous revision (kubectl rollout undo): rollbacks are always admitted");
  }
  if (!policy.exceptions.security.empty()) {
    ways.push_back(fmt::format("a security fix may be shipped with {}: security by {}",
                               kReleaseTypeAnnotation,
                               describeSubjects(policy.exceptions.security)));
  }
  if (!policy.exceptions.bugfix.who.empty() && !f.missingData &&
      policy.exceptions.bugfix.appliesAt(f.tier)) {
    ways.push_back(fmt::format(
        "a bug fix may be shipped with {}: bugfix by {} (at tier {})", kReleaseTypeAnnotation,
        describeSubjects(policy.exceptions.bugfix.who), engine::tierName(f.tier)));
  }
  if (!policy.exceptions.sloImprovement.empty()) {
    ways.push_back(fmt::format("a reliability fix may be shipped with {}: slo-improvement by {}",
                               kReleaseTypeAnnotation,
                               describeSubjects(policy.exceptions.sloImprovement)));
  }
  if (f.missingData) {
    ways.push_back(fmt::format(
        "check the budgetgate controller and Prometheus (kubectl describe slo -n {} {})", slo.ns,
        slo.name));
  } else {
    // The worst tier at which this risk would still be admitted, and what it takes to get there.
    std::optional<Tier> admitted;
    for (Tier t : {Tier::Healthy, Tier::Attention, Tier::Warning, Tier::Critical}) {
      if (admits(policy.matrix.at(t, risk), policy)) admitted = t;
    }
    const engine::TierThreshold* next = nullptr;
    if (admitted == Tier::Healthy) next = &policy.tiers.attention;
    if (admitted == Tier::Attention) next = &policy.tiers.warning;
    if (admitted == Tier::Warning) next = &policy.tiers.critical;
    std::string wait;
    // A defer waits for a better tier by design: say so first, with the projection below.
    const std::string lead = verdict == Verdict::Defer ? "deferred, so wait" : "or wait";
    if (admitted && next) {
      wait = fmt::format("{} until the SLO is {} or better ({})", lead, engine::tierName(*admitted),
                         conditionsBetterThan(*next));
    } else if (admitted) {
      wait = fmt::format("{} until the SLO is {} or better", lead, engine::tierName(*admitted));
    }
    const bool spent = slo.status && slo.status->errorBudget &&
                       slo.status->errorBudget->remainingPercentRaw() <= 0;
    if (!wait.empty() && slo.status && slo.status->tierHold && !spent) {
      // Hysteresis: the tier stays at the hold until budget is restored or the hold expires;
      // then it follows the signals again (a spent budget is exhausted whatever the hold says,
      // so no promise is made for one).
      const auto& hold = *slo.status->tierHold;
      wait += fmt::format(
          "; it is held at {} until the remaining budget has risen {:g} points above its low of "
          "{:.1f}%, or until {}, and then follows the budget",
          engine::tierName(hold.tier), policy.hysteresis.restorePercent,
          hold.lowestRemainingPercent, formatTime(hold.since + policy.hysteresis.maxHold));
    }
    if (f.tier == Tier::Exhausted && spent) {
      // What the policy will actually do about a spent budget, and nothing more.
      const auto relaxed = engine::relaxedVerdict(policy.matrix.at(f.tier, risk), policy.freeze);
      if (!policy.freeze.enabled()) {
        wait += fmt::format(
            "; the budget is spent, so the SLO stays exhausted until it is back above 0% (policy "
            "{} sets no freeze limit)",
            f.policy);
      } else if (!f.freeze.relaxed && relaxed != policy.matrix.at(f.tier, risk)) {
        std::vector<std::string> when;
        if (f.freeze.relaxesAt) {
          when.push_back(fmt::format("at {} (freeze.maxDuration {})",
                                     formatTime(*f.freeze.relaxesAt),
                                     formatDuration(*policy.freeze.maxDuration)));
        }
        if (f.freeze.relaxesAtRemainingPercent) {
          when.push_back(fmt::format(
              "once {:.1f}% of the budget is left (freeze.restoredPercent {:g} above its low)",
              *f.freeze.relaxesAtRemainingPercent, *policy.freeze.restoredPercent));
        }
        std::string whenText;
        for (const auto& w : when) whenText += (whenText.empty() ? "" : ", or ") + w;
        wait += fmt::format("; the freeze relaxes this rollout to {} {}",
                            engine::verdictName(relaxed), whenText);
      }
    }
    if (!wait.empty() && slo.status) {
      // When old errors will have aged out enough (or the calendar period ends), if no new
      // errors occur: the budget part of "wait".
      const auto& r = slo.status->recoveryByTier;
      const auto it =
          std::find_if(r.begin(), r.end(), [&](const auto& e) { return e.first == admitted; });
      if (it != r.end()) {
        wait += fmt::format(
            "; with no new errors the budget is projected to be back at {} levels by {}",
            engine::tierName(it->first), formatTime(it->second));
      } else if (slo.status->projectedRecovery) {
        wait += fmt::format("; with no new errors the budget is fully restored by {}",
                            formatTime(*slo.status->projectedRecovery));
      } else if (verdict == Verdict::Defer) {
        wait += "; no projected time (the window holds too little traffic to project from)";
      }
    }
    if (!wait.empty()) ways.push_back(wait);
  }
  if (!notApprovable.empty()) ways.push_back(notApprovable);
  std::string out;
  for (const auto& w : ways) out += (out.empty() ? "" : "; ") + w;
  return out;
}

}  // namespace budgetgate::gate
