#include "operator/cli/manifests.h"

#include <fmt/format.h>

#include <iostream>

#include "operator/cli/cli_io.h"
#include "operator/model/policy_parser.h"
#include "operator/model/slo_parser.h"
#include "operator/prometheus/slo_signals.h"

namespace budgetgate::cli {

std::vector<std::string> evaluationProblems(const model::ServiceLevelObjective& slo) {
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < slo.objectives.size(); ++i) {
    std::string error;
    if (!prometheus::signalsFor(slo, slo.objectives[i], &error)) {
      problems.push_back(fmt::format("spec.objectives[{}]: {}", i, error));
    }
  }
  return problems;
}

bool loadSlos(const std::vector<std::string>& files,
              std::vector<model::ServiceLevelObjective>& out) {
  bool ok = true;
  for (const auto& file : files) {
    std::vector<Document> docs;
    std::string error;
    if (!loadDocuments(file, docs, &error)) {
      std::cerr << error << '\n';
      ok = false;
      continue;
    }
    for (const auto& doc : docs) {
      if (model::isPolicyDocument(doc.node)) continue;  // policies may sit beside SLOs
      model::Diagnostics diag(doc.source);
      auto slo = model::parseSlo(doc.node, diag);
      if (!slo) {
        std::cerr << diag.format();
        ok = false;
        continue;
      }
      const auto problems = evaluationProblems(*slo);
      for (const auto& p : problems) std::cerr << fmt::format("{}: {}\n", doc.source, p);
      if (!problems.empty()) {
        ok = false;
        continue;
      }
      out.push_back(std::move(*slo));
    }
  }
  return ok;
}

std::optional<engine::ErrorBudgetPolicy> loadPolicy(const std::string& file) {
  if (file.empty()) return engine::ErrorBudgetPolicy{};
  std::vector<Document> docs;
  std::string error;
  if (!loadDocuments(file, docs, &error)) {
    std::cerr << error << '\n';
    return std::nullopt;
  }
  for (const auto& doc : docs) {
    if (!model::isPolicyDocument(doc.node)) continue;
    model::Diagnostics diag(doc.source);
    auto policy = model::parsePolicy(doc.node, diag);
    if (!policy) std::cerr << diag.format();
    return policy;
  }
  std::cerr << fmt::format("{}: no ErrorBudgetPolicy document\n", file);
  return std::nullopt;
}

}  // namespace budgetgate::cli
