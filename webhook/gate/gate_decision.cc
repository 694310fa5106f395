#include "webhook/gate/gate_decision.h"

#include <fmt/format.h>

#include <algorithm>

#include "operator/common/duration.h"
#include "webhook/gate/denial_message.h"

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

// Why a status cannot be used, or empty when it can.
std::string missingReason(const GatedSlo& slo, const GateContext& ctx) {
  if (!slo.status) return "not evaluated yet";
  const auto& s = *slo.status;
  if (!s.lastEvaluated) return "not evaluated yet";
  const auto age = ctx.now - *s.lastEvaluated;
  if (age > slo.policy->staleAfter) {
    return fmt::format("last evaluated {} ago, staleAfter {}", humanDuration(age),
                       formatDuration(slo.policy->staleAfter));
  }
  if (s.tier == Tier::Unknown) {
    return s.message.empty() ? std::string("no data") : s.message;
  }
  return {};
}

std::string exceptionFor(const RolloutRequest& req, const engine::ErrorBudgetPolicy& policy,
                         bool isRollback, const std::string& releaseType) {
  if (isRollback && policy.exceptions.rollback) return "rollback";
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

}  // namespace

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
  if (req.operation == Operation::Update && !req.templateChanged) {
    return notGated("spec.template is unchanged (scale or metadata edit)");
  }

  std::vector<const GatedSlo*> matching;
  for (const auto& slo : slos) {
    if (slo.ns == req.ns && slo.selector && slo.selector->matches(req.labels)) {
      matching.push_back(&slo);
    }
  }
  if (matching.empty()) return notGated("no SLO selects this deployment");

  GateDecision d;
  d.gated = true;
  d.reason = "rollout";

  if (auto it = req.annotations.find(kRiskAnnotation); it != req.annotations.end()) {
    if (auto r = engine::riskFromName(it->second)) {
      d.risk = *r;
    } else {
      d.risk = Risk::High;
      d.warnings.push_back(fmt::format("{}: \"{}\" is not low, medium or high; treated as high",
                                       kRiskAnnotation, it->second));
    }
  }
  if (auto it = req.annotations.find(kReleaseTypeAnnotation); it != req.annotations.end()) {
    const bool known = std::find(std::begin(kReleaseTypes), std::end(kReleaseTypes), it->second) !=
                       std::end(kReleaseTypes);
    if (known) {
      d.releaseType = it->second;
    } else {
      d.warnings.push_back(fmt::format(
          "{}: \"{}\" is not feature, bugfix, security, slo-improvement or rollback; treated as "
          "feature",
          kReleaseTypeAnnotation, it->second));
    }
  }
  const bool isRollback =
      req.newTemplate && std::find(req.previousTemplates.begin(), req.previousTemplates.end(),
                                   *req.newTemplate) != req.previousTemplates.end();
  if (d.releaseType == "rollback" && !isRollback) {
    d.warnings.push_back(
        "release-type rollback not honoured: the new pod template matches none of this "
        "Deployment's ReplicaSets");
  }

  // findings[i] describes matching[i]; the deciding SLO is a denying one if any, else the one
  // with the worst verdict.
  d.findings.reserve(matching.size());
  std::size_t deciding = 0;
  bool unauthorisedExceptionNoted = false;
  for (const GatedSlo* slo : matching) {
    const auto& policy = *slo->policy;
    SloFinding f;
    f.slo = slo->ns + "/" + slo->name;
    f.policy = policy.ns.empty() ? policy.name : policy.ns + "/" + policy.name;
    f.mode = policy.mode;
    f.missingReason = missingReason(*slo, ctx);
    f.missingData = !f.missingReason.empty();
    bool wouldDeny = false;
    bool needsReview = false;
    if (f.missingData) {
      wouldDeny = policy.onMissingData == engine::MissingDataAction::Deny;
    } else {
      f.tier = slo->status->tier;
      f.remainingPercent =
          slo->status->errorBudget ? slo->status->errorBudget->remainingPercent() : 0.0;
      f.burnRate1h = slo->status->burnRates.orZero(engine::BurnRateWindow::H1);
      f.verdict = policy.matrix.at(f.tier, d.risk);
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
    }
    if (wouldDeny || needsReview) {
      f.exception = exceptionFor(req, policy, isRollback, d.releaseType);
      if (!f.exception.empty()) {
        wouldDeny = false;
        needsReview = false;
      } else if ((d.releaseType == "security" || d.releaseType == "slo-improvement") &&
                 !unauthorisedExceptionNoted) {
        unauthorisedExceptionNoted = true;
        d.warnings.push_back(fmt::format(
            "release-type {} not honoured: user {} is not allowed to use it under policy {}",
            d.releaseType, req.user.username, f.policy));
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
  if (d.verdict)
    d.auditAnnotations.emplace_back("verdict", std::string(engine::verdictName(*d.verdict)));
  if (!d.exception.empty()) {
    d.auditAnnotations.emplace_back("exception",
                                    fmt::format("{} by {}", d.exception, req.user.username));
  }

  const std::string subject = fmt::format("deployment {}/{} (risk {}, release-type {})", req.ns,
                                          req.name, engine::riskName(d.risk), d.releaseType);
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
                             describeSlo(f, *matching[i]), describeRule(f, d.risk));
    }
    if (const auto others = admittingSlos(); !others.empty()) {
      reasons += fmt::format(" (also matching: {})", others);
    }
    d.message =
        fmt::format("budgetgate denied the rollout of {}: {}. To proceed: {}.", subject, reasons,
                    howToProceed(d.findings[deciding], *matching[deciding], d.risk));
  } else {
    d.message =
        fmt::format("budgetgate admitted the rollout of {}: {}", subject,
                    !d.exception.empty()      ? d.exception + " exception"
                    : d.tier == Tier::Unknown ? std::string("no current budget status")
                                              : "tier " + std::string(engine::tierName(d.tier)));
    if (d.findings.size() > 1) d.message += fmt::format(" (matching SLOs: {})", admittingSlos());
  }
  return d;
}

}  // namespace budgetgate::gate
