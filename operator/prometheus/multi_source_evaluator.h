#pragma once
// Evaluates SLOs that read different data sources: each SLO goes to the evaluator of the data
// source its metricSourceRef names (the default Prometheus when it names none), each with its
// own shared queries and hourly buckets. An SLO naming a data source that is not declared, or
// one its namespace may not read, gets tier "unknown" with the reason in its status; it never
// falls back to another data source (that would be someone else's numbers).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "operator/model/data_source.h"
#include "operator/prometheus/slo_evaluator.h"

namespace budgetgate::prometheus {

struct NamedDataSource {
  model::DataSourceDeclaration declaration;
  PrometheusApi* api = nullptr;  // not owned; outlives the evaluator
};

class MultiSourceEvaluator {
 public:
  MultiSourceEvaluator(PrometheusApi& defaultApi, std::vector<NamedDataSource> sources,
                       EvaluatorOptions options);

  // One status per target, in order (SloEvaluator::evaluate, per data source).
  std::vector<model::SloStatus> evaluate(const std::vector<EvaluationTarget>& targets,
                                         TimePoint at);
  // The cycle's figures summed over the data sources.
  const CycleReport& lastCycle() const { return report_; }
  // Cancels the queries in flight on every data source (shutdown).
  void cancelAll();

 private:
  struct Source {
    model::DataSourceDeclaration declaration;
    PrometheusApi* api = nullptr;
    std::unique_ptr<SloEvaluator> evaluator;
  };
  // nullptr (and the reason in *reason, *message) when the SLO may not be evaluated.
  Source* sourceFor(const model::ServiceLevelObjective& slo, std::string* reason,
                    std::string* message);

  Source default_;
  std::map<std::string, Source> named_;
  CycleReport report_;
};

}  // namespace budgetgate::prometheus
