#include "operator/engine/policy_strictness.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace budgetgate::engine {
namespace {

// Higher is stricter.
int strictness(Mode m) {
  switch (m) {
    case Mode::Audit:
      return 0;
    case Mode::Warn:
      return 1;
    case Mode::Enforce:
      return 2;
  }
  return 0;
}

bool subset(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::all_of(a.begin(), a.end(), [&](const std::string& x) {
    return std::find(b.begin(), b.end(), x) != b.end();
  });
}

// Fewer people allowed is stricter.
bool subjectsSubset(const Subjects& candidate, const Subjects& current) {
  return subset(candidate.users, current.users) && subset(candidate.groups, current.groups);
}

std::string describe(const Subjects& s) {
  std::vector<std::string> parts;
  for (const auto& g : s.groups) parts.push_back("group " + g);
  for (const auto& u : s.users) parts.push_back("user " + u);
  if (parts.empty()) return "nobody";
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

// A threshold catches more statuses (stricter) with a higher remaining %, a lower burn rate and
// a longer exhaustion horizon; an absent signal catches nothing.
std::optional<std::string> thresholdLoosening(std::string_view tier, const TierThreshold& c,
                                              const TierThreshold& o) {
  if (o.remainingPercentAtMost &&
      (!c.remainingPercentAtMost || *c.remainingPercentAtMost < *o.remainingPercentAtMost)) {
    return fmt::format("tiers.{}.remainingPercent {:g} -> {}", tier, *o.remainingPercentAtMost,
                       c.remainingPercentAtMost ? fmt::format("{:g}", *c.remainingPercentAtMost)
                                                : std::string("unset"));
  }
  if (o.burnRateAtLeast && (!c.burnRateAtLeast || *c.burnRateAtLeast > *o.burnRateAtLeast)) {
    return fmt::format(
        "tiers.{}.burnRate {:g} -> {}", tier, *o.burnRateAtLeast,
        c.burnRateAtLeast ? fmt::format("{:g}", *c.burnRateAtLeast) : std::string("unset"));
  }
  if (o.exhaustionWithin && (!c.exhaustionWithin || *c.exhaustionWithin < *o.exhaustionWithin)) {
    return fmt::format("tiers.{}.exhaustionWithin {} -> {}", tier,
                       formatDuration(*o.exhaustionWithin),
                       c.exhaustionWithin ? formatDuration(*c.exhaustionWithin) : "unset");
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> firstLoosening(const ErrorBudgetPolicy& c, const ErrorBudgetPolicy& o) {
  if (strictness(c.mode) < strictness(o.mode)) {
    return fmt::format("mode {} -> {}", modeName(o.mode), modeName(c.mode));
  }
  for (Tier tier :
       {Tier::Healthy, Tier::Attention, Tier::Warning, Tier::Critical, Tier::Exhausted}) {
    for (Risk risk : kRisks) {
      const Verdict before = o.matrix.at(tier, risk);
      const Verdict after = c.matrix.at(tier, risk);
      if (static_cast<int>(after) < static_cast<int>(before)) {
        return fmt::format("decisions.{}.{} {} -> {}", tierName(tier), riskName(risk),
                           verdictName(before), verdictName(after));
      }
    }
  }
  if (auto l = thresholdLoosening("critical", c.tiers.critical, o.tiers.critical)) return l;
  if (auto l = thresholdLoosening("warning", c.tiers.warning, o.tiers.warning)) return l;
  if (auto l = thresholdLoosening("attention", c.tiers.attention, o.tiers.attention)) return l;
  if (c.hysteresis.restorePercent < o.hysteresis.restorePercent) {
    return fmt::format("hysteresis.restorePercent {:g} -> {:g}", o.hysteresis.restorePercent,
                       c.hysteresis.restorePercent);
  }
  if (c.hysteresis.maxHold < o.hysteresis.maxHold) {
    return fmt::format("hysteresis.maxHold {} -> {}", formatDuration(o.hysteresis.maxHold),
                       formatDuration(c.hysteresis.maxHold));
  }
  if (c.minEvents > o.minEvents) {
    return fmt::format("minEvents {:g} -> {:g}", o.minEvents, c.minEvents);
  }
  // Requirements: dropping one, or widening a strategy bound, lets rollouts through.
  for (Tier t : {Tier::Healthy, Tier::Attention, Tier::Warning, Tier::Critical, Tier::Exhausted}) {
    const auto& was = o.requirements[static_cast<std::size_t>(t)];
    const auto& now = c.requirements[static_cast<std::size_t>(t)];
    for (const auto& a : was.annotations) {
      const auto it =
          std::find_if(now.annotations.begin(), now.annotations.end(),
                       [&](const AnnotationRequirement& x) { return x.name == a.name; });
      if (it == now.annotations.end() || (a.url && !it->url)) {
        return fmt::format("requirements.{} drops annotation {}{}", tierName(t), a.name,
                           it == now.annotations.end() ? "" : " as a URL");
      }
    }
    if (was.progressive && !now.progressive) {
      return fmt::format("requirements.{}.progressive dropped", tierName(t));
    }
    if (was.strategyType && now.strategyType != was.strategyType) {
      return fmt::format("requirements.{}.strategy.type {} dropped or changed", tierName(t),
                         *was.strategyType);
    }
    // Bounds are compared as written: a change of unit (2 -> 10%) counts as loosening.
    for (auto [name, before, after] :
         {std::tuple{"maxUnavailable", &was.maxUnavailable, &now.maxUnavailable},
          std::tuple{"maxSurge", &was.maxSurge, &now.maxSurge}}) {
      if (!*before) continue;
      const auto number = [](const std::string& s) {
        return std::stod(s.back() == '%' ? s.substr(0, s.size() - 1) : s);
      };
      if (!*after || ((*before)->back() == '%') != ((*after)->back() == '%') ||
          number(**after) > number(**before)) {
        return fmt::format("requirements.{}.strategy.{} {} -> {}", tierName(t), name, **before,
                           *after ? **after : std::string("(none)"));
      }
    }
  }
  // Freeze limits let an exhausted SLO's rollouts through: any that relax sooner or further.
  if (c.freeze.enabled()) {
    if (c.freeze.maxDuration &&
        (!o.freeze.maxDuration || *c.freeze.maxDuration < *o.freeze.maxDuration)) {
      return fmt::format("freeze.maxDuration {} -> {}",
                         o.freeze.maxDuration ? formatDuration(*o.freeze.maxDuration) : "(none)",
                         formatDuration(*c.freeze.maxDuration));
    }
    if (c.freeze.restoredPercent &&
        (!o.freeze.restoredPercent || *c.freeze.restoredPercent < *o.freeze.restoredPercent)) {
      return fmt::format("freeze.restoredPercent {} -> {:g}",
                         o.freeze.restoredPercent ? fmt::format("{:g}", *o.freeze.restoredPercent)
                                                  : std::string("(none)"),
                         *c.freeze.restoredPercent);
    }
    if (o.freeze.enabled() &&
        static_cast<int>(c.freeze.relaxTo) < static_cast<int>(o.freeze.relaxTo)) {
      return fmt::format("freeze.relaxTo {} -> {}", verdictName(o.freeze.relaxTo),
                         verdictName(c.freeze.relaxTo));
    }
    if (!o.freeze.enabled()) return std::string("freeze limits added");
  }
  if (o.review == ReviewAction::RequireApproval && c.review != ReviewAction::RequireApproval) {
    return std::string("review.action require-approval -> warn");
  }
  // Approvers let rollouts through wherever approvals count: review under require-approval,
  // defer under approveDefer.
  if ((c.review == ReviewAction::RequireApproval || c.approvals.approveDefer) &&
      !subjectsSubset(c.approvers, o.approvers)) {
    return fmt::format("review.approvers {} -> {}", describe(o.approvers), describe(c.approvers));
  }
  if (c.approvals.approveDefer && !o.approvals.approveDefer) {
    return std::string("review.approveDefer false -> true");
  }
  if (c.approvals.maxDuration > o.approvals.maxDuration) {
    return fmt::format("review.maxApprovalDuration {} -> {}",
                       formatDuration(o.approvals.maxDuration),
                       formatDuration(c.approvals.maxDuration));
  }
  if (c.exceptions.rollback && !o.exceptions.rollback) {
    return std::string("exceptions.rollback false -> true");
  }
  if (!subjectsSubset(c.exceptions.security, o.exceptions.security)) {
    return fmt::format("exceptions.security {} -> {}", describe(o.exceptions.security),
                       describe(c.exceptions.security));
  }
  if (!subjectsSubset(c.exceptions.sloImprovement, o.exceptions.sloImprovement)) {
    return fmt::format("exceptions.sloImprovement {} -> {}", describe(o.exceptions.sloImprovement),
                       describe(c.exceptions.sloImprovement));
  }
  if (!c.exceptions.bugfix.who.empty()) {
    if (!subjectsSubset(c.exceptions.bugfix.who, o.exceptions.bugfix.who)) {
      return fmt::format("exceptions.bugfix {} -> {}", describe(o.exceptions.bugfix.who),
                         describe(c.exceptions.bugfix.who));
    }
    for (Tier t : c.exceptions.bugfix.tiers) {
      if (!o.exceptions.bugfix.appliesAt(t)) {
        return fmt::format("exceptions.bugfix.tiers gains {}", tierName(t));
      }
    }
  }
  // What happens without current data: only a move to deny is provably stricter; any other
  // change of these settings is judged by an owner.
  const bool sameMissing = c.onMissingData == o.onMissingData && c.staleAfter == o.staleAfter &&
                           c.lastKnownFor == o.lastKnownFor &&
                           c.missingDataFallback == o.missingDataFallback;
  const bool denyNow = c.onMissingData == MissingDataAction::Deny && c.staleAfter <= o.staleAfter;
  if (!sameMissing && !denyNow) {
    return fmt::format("missing-data handling {} (staleAfter {}) -> {} (staleAfter {})",
                       missingDataActionName(o.onMissingData), formatDuration(o.staleAfter),
                       missingDataActionName(c.onMissingData), formatDuration(c.staleAfter));
  }
  if (c.restarts == RestartAction::Allow && o.restarts == RestartAction::Gate) {
    return std::string("restarts gate -> allow");
  }
  if (!subjectsSubset(c.owners, o.owners)) {
    return fmt::format("owners {} -> {}", describe(o.owners), describe(c.owners));
  }
  return std::nullopt;
}

}  // namespace budgetgate::engine
