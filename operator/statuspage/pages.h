#pragma once
// The status page's two views, rendered on the server to complete HTML (inline CSS and SVG,
// no script, no external resource): the overview of every SLO grouped by namespace, service or
// team, and one SLO's page with its burn-down chart. Pure: given what the operator's caches
// hold, the Events about SLOs and the burn-down points.

#include <optional>
#include <string>
#include <vector>

#include "operator/engine/budget_burn_down.h"
#include "operator/model/slo_view.h"
#include "operator/statuspage/slo_events.h"

namespace budgetgate::statuspage {

enum class Grouping { Namespace, Service, Team };
std::optional<Grouping> parseGrouping(std::string_view text);  // "namespace", "service", "team"

struct PageContext {
  TimePoint now{};
  std::string teamLabel = "team";  // the SLO label that names its team
  std::string scopeNamespace;      // empty: every namespace
  std::string footer;              // who rendered it, when
};

// The team of an SLO: the value of its `teamLabel` label, "" when absent.
std::string teamOf(const model::SloView& slo, const std::string& teamLabel);

std::string renderOverview(const std::vector<model::SloView>& slos, const SloEvents& events,
                           Grouping grouping, const PageContext& context);

struct BurnDownData {
  std::vector<engine::BurnDownPoint> points;  // empty: see `unavailable`
  std::string unavailable;                    // why there is no chart
};

std::string renderSloPage(const model::SloView& slo, const std::vector<SloEvent>& events,
                          const BurnDownData& burnDown, const PageContext& context);

}  // namespace budgetgate::statuspage
