#include "operator/prometheus/ledger_assembly.h"

#include <algorithm>
#include <map>

namespace budgetgate::prometheus {

std::vector<engine::AdjustmentSpans> usableAdjustments(
    const std::vector<const model::BudgetAdjustment*>& adjustments,
    const model::WindowBounds& bounds, TimePoint at,
    std::vector<model::AdjustmentStatus::Ignored>* ignored) {
  std::vector<engine::AdjustmentSpans> usable;
  for (const auto* a : adjustments) {
    if (auto problem = model::adjustmentProblem(*a, at, bounds.length); !problem.empty()) {
      if (ignored) ignored->push_back({a->name, problem});
      continue;
    }
    engine::AdjustmentSpans s{a->name, a->reason, a->reference, {}};
    // Only what has happened: an adjustment does not exclude the future.
    for (const auto& span : model::adjustmentSpans(*a, bounds.start, at)) {
      s.spans.emplace_back(span.start, span.end);
    }
    if (!s.spans.empty()) usable.push_back(std::move(s));
  }
  return usable;
}

void excludeAdjustedHours(engine::WindowHistory& history,
                          const std::vector<engine::AdjustmentSpans>& usable) {
  const Seconds hour(3600);
  for (std::size_t i = 0; i < history.bad.size() && i < history.total.size(); ++i) {
    const TimePoint end = history.oldestBucketEnd + history.bucket * static_cast<long long>(i);
    const TimePoint from = TimePoint(
        std::chrono::floor<std::chrono::hours>((end - history.bucket).time_since_epoch()));
    const bool excluded = std::any_of(usable.begin(), usable.end(), [&](const auto& a) {
      return std::any_of(a.spans.begin(), a.spans.end(), [&](const auto& span) {
        return span.first <= from && from + hour <= span.second;
      });
    });
    if (!excluded) continue;
    history.total[i] = std::max(0.0, history.total[i] - history.bad[i]);
    history.bad[i] = 0;
  }
}

status::ObjectiveData adjustedData(const status::ObjectiveData& data, status::ObjectiveShape shape,
                                   double excludedBadEvents) {
  status::ObjectiveData out = data;
  if (excludedBadEvents <= 0) return out;
  if (out.totalWindow.hasValue()) out.totalWindow.value -= excludedBadEvents;
  if (shape == status::ObjectiveShape::BadOverTotal && out.numeratorWindow.hasValue()) {
    out.numeratorWindow.value -= excludedBadEvents;
  }
  return out;
}

model::LedgerStatus ledgerStatus(const engine::BudgetLedger& ledger, std::size_t maxEntries) {
  model::LedgerStatus s;
  s.rolloutPercent = ledger.rolloutPercent;
  s.adjustmentPercent = ledger.adjustmentPercent;
  s.unattributedPercent = ledger.unattributedPercent;
  s.entryCount = ledger.entries.size();
  s.entries = engine::topEntries(ledger.entries, maxEntries);
  return s;
}

model::AdjustmentStatus adjustmentStatus(const engine::BudgetLedger& ledger,
                                         const std::vector<engine::AdjustmentSpans>& usable,
                                         std::vector<model::AdjustmentStatus::Ignored> ignored,
                                         const engine::ErrorBudget& unadjusted) {
  model::AdjustmentStatus s;
  s.remainingPercentUnadjusted = unadjusted.remainingPercent();
  s.consumedPercentUnadjusted = unadjusted.consumedPercent;
  s.excludedBadEvents = ledger.excludedBadEvents;
  s.ignored = std::move(ignored);
  std::map<std::string, std::pair<double, double>> byName;  // bad events, percent
  for (const auto& e : ledger.entries) {
    if (e.cause != engine::LedgerCause::Adjustment) continue;
    auto& [bad, pct] = byName[e.adjustment];
    bad += e.badEvents;
    pct += e.budgetPercent;
  }
  for (const auto& u : usable) {
    model::AdjustmentStatus::Applied a{u.name, u.reason, u.reference, 0, 0};
    if (auto it = byName.find(u.name); it != byName.end()) {
      a.excludedBadEvents = it->second.first;
      a.refundedPercent = it->second.second;
    }
    s.applied.push_back(std::move(a));
  }
  // Bounded, like the ledger's entries: the ones that refund the most.
  constexpr std::size_t kMaxListed = 20;
  if (s.applied.size() > kMaxListed) {
    std::stable_sort(s.applied.begin(), s.applied.end(), [](const auto& x, const auto& y) {
      return x.refundedPercent > y.refundedPercent;
    });
    s.applied.resize(kMaxListed);
  }
  if (s.ignored.size() > kMaxListed) s.ignored.resize(kMaxListed);
  return s;
}

status::ObjectiveOutcome measureWithLedger(
    const status::ObjectiveKind& kind, const status::ObjectiveData& data,
    const std::optional<std::vector<engine::HourCounts>>& hours, const model::WindowBounds& bounds,
    TimePoint at, double target, const LedgerInputs& inputs) {
  static const std::vector<const model::BudgetAdjustment*> kNoAdjustments;
  static const std::vector<engine::RolloutRecord> kNoRollouts;
  const auto& adjustments = inputs.adjustments ? *inputs.adjustments : kNoAdjustments;
  std::optional<engine::BudgetLedger> ledger;
  std::vector<engine::AdjustmentSpans> usable;
  std::vector<model::AdjustmentStatus::Ignored> ignored;
  if (hours && kind.occurrences()) {
    usable = usableAdjustments(adjustments, bounds, at, &ignored);
    ledger = engine::buildLedger(*hours, target, usable,
                                 inputs.rollouts ? *inputs.rollouts : kNoRollouts, inputs.options);
  } else {
    for (const auto* a : adjustments) {
      ignored.push_back({a->name,
                         "not applied: adjustments need an Occurrences objective whose good/bad "
                         "and total queries are counters kept in hourly buckets"});
    }
  }
  const double excluded = ledger ? ledger->excludedBadEvents : 0.0;
  auto outcome =
      status::measureObjective(kind, adjustedData(data, kind.shape, excluded), bounds, target);
  if (ledger && inputs.maxEntries > 0) outcome.ledger = ledgerStatus(*ledger, inputs.maxEntries);
  if (!adjustments.empty()) {
    const engine::ErrorBudget unadjusted =
        excluded > 0 ? status::measureObjective(kind, data, bounds, target).budget : outcome.budget;
    if (ledger) {
      outcome.adjustments = adjustmentStatus(*ledger, usable, std::move(ignored), unadjusted);
    } else {
      outcome.adjustments = model::AdjustmentStatus{
          unadjusted.remainingPercent(), unadjusted.consumedPercent, 0, {}, std::move(ignored)};
    }
  }
  return outcome;
}

}  // namespace budgetgate::prometheus
