#include "operator/prometheus/multi_source_evaluator.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "operator/status/status_builder.h"

namespace budgetgate::prometheus {

MultiSourceEvaluator::MultiSourceEvaluator(PrometheusApi& defaultApi,
                                           std::vector<NamedDataSource> sources,
                                           EvaluatorOptions options) {
  default_.api = &defaultApi;
  default_.evaluator = std::make_unique<SloEvaluator>(defaultApi, options);
  for (auto& s : sources) {
    Source source;
    source.api = s.api;
    source.evaluator = std::make_unique<SloEvaluator>(*s.api, options);
    source.declaration = std::move(s.declaration);
    const std::string name = source.declaration.name;
    named_.emplace(name, std::move(source));
  }
}

MultiSourceEvaluator::Source* MultiSourceEvaluator::sourceFor(
    const model::ServiceLevelObjective& slo, std::string* reason, std::string* message) {
  if (slo.dataSource.empty()) return &default_;
  const auto it = named_.find(slo.dataSource);
  if (it == named_.end()) {
    std::vector<std::string> usable;
    for (const auto& [name, s] : named_) {
      if (s.declaration.allows(slo.ns)) usable.push_back(name);
    }
    *reason = "DataSourceUnknown";
    *message = fmt::format(
        "metricSourceRef: data source \"{}\" is not declared to the controller ({}); ask the "
        "cluster's administrators to declare it, or remove metricSourceRef to read the default "
        "Prometheus",
        slo.dataSource,
        usable.empty() ? std::string("it declares none for this namespace")
                       : fmt::format("declared: {}", fmt::join(usable, ", ")));
    return nullptr;
  }
  if (!it->second.declaration.allows(slo.ns)) {
    *reason = "DataSourceNotAllowed";
    *message = fmt::format(
        "metricSourceRef: data source \"{}\" does not serve namespace {} (its allowedNamespaces)",
        slo.dataSource, slo.ns);
    return nullptr;
  }
  return &it->second;
}

std::vector<model::SloStatus> MultiSourceEvaluator::evaluate(
    const std::vector<EvaluationTarget>& targets, TimePoint at) {
  const auto started = std::chrono::steady_clock::now();
  report_ = CycleReport{};
  std::vector<std::optional<model::SloStatus>> statuses(targets.size());
  std::map<Source*, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    std::string reason, message;
    if (Source* s = sourceFor(*targets[i].slo, &reason, &message)) {
      groups[s].push_back(i);
    } else {
      statuses[i] =
          status::invalidStatus(*targets[i].slo, reason, message, targets[i].previous, at);
    }
  }
  // Every data source's evaluator runs, with no SLOs if none reads it now: that is what lets
  // it drop the buckets of SLOs that moved away.
  std::vector<Source*> all{&default_};
  for (auto& [name, s] : named_) all.push_back(&s);
  for (Source* source : all) {
    const auto& indices = groups[source];
    // One data source for every SLO (the usual case): no copy of the targets, whose rollouts
    // and adjustments would be copied per SLO per cycle.
    const bool everyTarget = indices.size() == targets.size();
    std::vector<EvaluationTarget> subset;
    if (!everyTarget) {
      subset.reserve(indices.size());
      for (auto i : indices) subset.push_back(targets[i]);
    }
    auto results = source->evaluator->evaluate(everyTarget ? targets : subset, at);
    for (std::size_t k = 0; k < indices.size(); ++k) statuses[indices[k]] = std::move(results[k]);
    const auto& r = source->evaluator->lastCycle();
    report_.slos += r.slos;
    report_.quantities += r.quantities;
    report_.instantQueries += r.instantQueries;
    report_.rangeQueries += r.rangeQueries;
    report_.failedQueries += r.failedQueries;
    report_.bucketSeries += r.bucketSeries;
    report_.bucketMemoryBytes += r.bucketMemoryBytes;
  }
  report_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  std::vector<model::SloStatus> out;
  out.reserve(targets.size());
  for (auto& s : statuses) out.push_back(std::move(*s));
  return out;
}

void MultiSourceEvaluator::cancelAll() {
  default_.api->cancelAll();
  for (auto& [name, s] : named_) s.api->cancelAll();
}

}  // namespace budgetgate::prometheus
