#include "operator/cli/manifests.h"

#include <fmt/format.h>

#include <iostream>

#include "operator/cli/cli_io.h"
#include "operator/model/budget_adjustment.h"
#include "operator/model/policy_parser.h"
#include "operator/model/slo_parser.h"
#include "operator/prometheus/slo_signals.h"

namespace budgetgate::cli {

ManifestSet sortManifests(const std::vector<Document>& docs) {
  ManifestSet set;
  for (const auto& doc : docs) {
    const auto openslo = model::openSloKind(doc.node);
    const auto name = [&] {
      const auto& n = doc.node;
      return n.IsMap() && n["metadata"] && n["metadata"]["name"] && n["metadata"]["name"].IsScalar()
                 ? n["metadata"]["name"].Scalar()
                 : std::string();
    }();
    if (model::isSloDocument(doc.node)) {
      set.slos.push_back(doc);
    } else if (model::isPolicyDocument(doc.node)) {
      set.policies.push_back(doc);
    } else if (model::isBudgetAdjustmentDocument(doc.node)) {
      set.adjustments.push_back(doc);
    } else if (openslo == "SLI" || openslo == "DataSource") {
      auto& catalog = openslo == "SLI" ? set.catalog.slis : set.catalog.dataSources;
      (openslo == "SLI" ? set.slis : set.dataSources).push_back(doc);
      if (!catalog.emplace(name, doc.node).second) {
        set.errors.push_back(
            fmt::format("{}: a second openslo/v1 {} named \"{}\"", doc.source, openslo, name));
      }
    } else if (!openslo.empty()) {
      set.notes.push_back(fmt::format(
          "{}: openslo/v1 {} {}: ignored (budgetgate needs only SLO, SLI and DataSource "
          "documents; it generates alerts itself: budgetgate rules)",
          doc.source, openslo, name));
    } else {
      set.unknown.push_back(doc);
    }
  }
  return set;
}

bool loadManifests(const std::vector<std::string>& files, ManifestSet& out) {
  std::vector<Document> docs;
  bool ok = true;
  for (const auto& file : files) {
    std::string error;
    if (!loadDocuments(file, docs, &error)) {
      std::cerr << error << '\n';
      ok = false;
    }
  }
  out = sortManifests(docs);
  for (const auto& e : out.errors) std::cerr << e << '\n';
  return ok && out.errors.empty();
}

bool loadSlos(const std::vector<std::string>& files,
              std::vector<model::ServiceLevelObjective>& out) {
  ManifestSet set;
  bool ok = loadManifests(files, set);
  for (const auto& note : set.notes) std::cerr << note << '\n';
  for (const auto& doc : set.unknown) {
    std::cerr << fmt::format("{}: not an SLO, policy or OpenSLO document; ignored\n", doc.source);
  }
  {
    for (const auto& doc : set.slos) {
      model::Diagnostics diag(doc.source);
      auto slo = model::parseSlo(doc.node, diag, &set.catalog);
      std::cerr << diag.formatWarnings();
      if (!slo) {
        std::cerr << diag.format();
        ok = false;
        continue;
      }
      const auto problems = prometheus::evaluationProblems(*slo);
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

bool loadAdjustments(const ManifestSet& set, std::vector<model::BudgetAdjustment>& out) {
  bool ok = true;
  for (const auto& doc : set.adjustments) {
    model::Diagnostics diag(doc.source);
    if (auto a = model::parseBudgetAdjustment(doc.node, diag)) {
      out.push_back(std::move(*a));
    } else {
      std::cerr << diag.format();
      ok = false;
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
