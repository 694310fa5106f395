#include "operator/statuspage/pages.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "operator/common/object_key.h"
#include "operator/http/http_client.h"
#include "operator/statuspage/burn_down_chart.h"
#include "operator/statuspage/html.h"

namespace budgetgate::statuspage {
namespace {

using engine::BurnRateWindow;
using engine::Tier;

// Path segments in links go through http::urlEncode: namespaces and names are DNS labels,
// but links must not trust that.

// The burn-rate windows the overview shows (the page of an SLO shows all of them).
constexpr std::array<BurnRateWindow, 3> kOverviewWindows{BurnRateWindow::H1, BurnRateWindow::H6,
                                                         BurnRateWindow::D3};

Tier tierOf(const model::SloView& s) {
  return s.status ? s.status->tier : Tier::Unknown;
}

std::optional<double> remainingOf(const model::SloView& s) {
  if (!s.status || !s.status->errorBudget) return std::nullopt;
  return s.status->errorBudget->remainingPercentRaw();
}

std::string badge(Tier tier) {
  return fmt::format("<span class=\"badge {}\">{}</span>", tierClass(tier), engine::tierName(tier));
}

std::string sloLink(const model::SloView& s) {
  return fmt::format("<a href=\"/namespaces/{}/slos/{}\">{}</a>", http::urlEncode(s.ns),
                     http::urlEncode(s.name), escape(s.name));
}

std::string verdictCell(const model::SloView& s, engine::Risk risk) {
  if (!s.status || !s.status->decisionsByRisk) return "<td class=\"muted\">–</td>";
  const auto v = (*s.status->decisionsByRisk)[static_cast<std::size_t>(risk)];
  return fmt::format("<td class=\"verdict-{0}\" data-risk=\"{1}\">{0}</td>", engine::verdictName(v),
                     engine::riskName(risk));
}

std::string firingAlerts(const model::SloStatus* st) {
  if (st == nullptr) return "–";
  std::string names;
  for (const auto& a : st->alerts) {
    if (!a.firing) continue;
    if (!names.empty()) names += ", ";
    names += escape(a.rule.name);
  }
  return names.empty() ? "<span class=\"muted\">none</span>"
                       : "<span class=\"firing\">" + names + "</span>";
}

std::string cards(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string out = "<div class=\"cards\">";
  for (const auto& [label, valueHtml] : items) {
    out += fmt::format(
        "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}</div></div>",
        escape(label), valueHtml);
  }
  return out + "</div>";
}

std::string groupKey(const model::SloView& s, Grouping g, const std::string& teamLabel) {
  switch (g) {
    case Grouping::Namespace:
      return s.ns;
    case Grouping::Service:
      return s.spec ? s.spec->service : std::string();
    case Grouping::Team:
      return teamOf(s, teamLabel);
  }
  return {};
}

std::string_view groupingName(Grouping g) {
  switch (g) {
    case Grouping::Namespace:
      return "namespace";
    case Grouping::Service:
      return "service";
    case Grouping::Team:
      return "team";
  }
  return "namespace";
}

// Since when a spent budget has been spent, else when it will be at the current burn rate.
std::string exhaustionText(const model::SloStatus* st, TimePoint now) {
  if (st == nullptr) return "–";
  if (st->freeze) return escape("spent " + relativeTime(st->freeze->since, now));
  if (st->projectedExhaustion) return escape(relativeTime(*st->projectedExhaustion, now));
  return "not at this rate";
}

std::string breadcrumb(const std::string& ns, const std::string& slo) {
  std::string out = "<a href=\"/\">all SLOs</a>";
  if (!ns.empty()) {
    out += fmt::format(" / <a href=\"/namespaces/{}/\">{}</a>", http::urlEncode(ns), escape(ns));
  }
  if (!slo.empty()) out += " / " + escape(slo);
  return out;
}

}  // namespace

std::optional<Grouping> parseGrouping(std::string_view text) {
  if (text.empty() || text == "namespace") return Grouping::Namespace;
  if (text == "service") return Grouping::Service;
  if (text == "team") return Grouping::Team;
  return std::nullopt;
}

std::string teamOf(const model::SloView& slo, const std::string& teamLabel) {
  if (!slo.spec || teamLabel.empty()) return {};
  const auto it = slo.spec->labels.find(teamLabel);
  return it == slo.spec->labels.end() ? std::string() : it->second;
}

std::string renderOverview(const std::vector<model::SloView>& slos, const SloEvents& events,
                           Grouping grouping, const PageContext& context) {
  std::string body;
  body.reserve(slos.size() * 900 + 4096);
  const std::string scope = context.scopeNamespace;
  body += fmt::format("<h1>Service level objectives{}</h1>",
                      scope.empty() ? "" : " in " + escape(scope));
  std::array<std::size_t, static_cast<std::size_t>(Tier::Unknown) + 1> byTier{};
  for (const auto& s : slos) ++byTier[static_cast<std::size_t>(tierOf(s))];
  std::vector<std::pair<std::string, std::string>> summary{
      {"SLOs", fmt::format("<span id=\"slo-count\">{}</span>", slos.size())}};
  for (std::size_t t = 0; t < byTier.size(); ++t) {
    const auto tier = static_cast<Tier>(t);
    summary.emplace_back(
        std::string(engine::tierName(tier)),
        fmt::format("<span id=\"count-{}\">{}</span>", engine::tierName(tier), byTier[t]));
  }
  body += cards(summary);
  const std::string base = scope.empty() ? "/" : "/namespaces/" + http::urlEncode(scope) + "/";
  body += "<nav class=\"groups\">group by: ";
  for (auto g : {Grouping::Namespace, Grouping::Service, Grouping::Team}) {
    body += g == grouping ? fmt::format("<strong>{}</strong> ", groupingName(g))
                          : fmt::format("<a href=\"{}?group={}\">{}</a> ", base, groupingName(g),
                                        groupingName(g));
  }
  body += "</nav>";
  if (slos.empty()) {
    body += "<p class=\"muted\">No ServiceLevelObjectives here.</p>";
  }

  std::map<std::string, std::vector<const model::SloView*>> groups;
  for (const auto& s : slos) groups[groupKey(s, grouping, context.teamLabel)].push_back(&s);
  for (const auto& [key, members] : groups) {
    // Worst first inside a group, so what needs attention is on top.
    auto sorted = members;
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
      const auto ta = tierOf(*a), tb = tierOf(*b);
      const int ra = ta == Tier::Unknown ? 2 : static_cast<int>(ta);
      const int rb = tb == Tier::Unknown ? 2 : static_cast<int>(tb);
      return ra > rb;
    });
    body += fmt::format(
        "<section class=\"group\" data-group=\"{0}\"><h2>{1}: {2} <span class=\"muted\">({3})"
        "</span></h2>",
        escape(key), groupingName(grouping), key.empty() ? "(none)" : escape(key), members.size());
    body +=
        "<div class=\"scroll\"><table><thead><tr><th>SLO</th><th>namespace</th><th>service</th>"
        "<th>team</th><th>tier</th><th class=\"num\">remaining</th>";
    for (auto w : kOverviewWindows)
      body += fmt::format("<th class=\"num\">burn {}</th>", engine::windowName(w));
    body +=
        "<th>alerts firing</th><th>low</th><th>medium</th><th>high</th><th>last denial</th>"
        "</tr></thead><tbody>";
    for (const auto* s : sorted) {
      const auto* st = s->status ? &*s->status : nullptr;
      const auto remaining = remainingOf(*s);
      body += fmt::format(
          "<tr data-slo=\"{}/{}\" data-tier=\"{}\" data-remaining=\"{}\"><td>{}</td><td>{}</td>"
          "<td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>",
          escape(s->ns), escape(s->name), engine::tierName(tierOf(*s)),
          remaining ? fmt::format("{:.4f}", *remaining) : "", sloLink(*s), escape(s->ns),
          escape(s->spec ? s->spec->service : ""), escape(teamOf(*s, context.teamLabel)),
          badge(tierOf(*s)), percent(remaining));
      for (auto w : kOverviewWindows) {
        body += fmt::format("<td class=\"num\">{}</td>",
                            number(st ? st->burnRates.at(w) : std::nullopt));
      }
      body += "<td>" + firingAlerts(st) + "</td>";
      for (auto r : {engine::Risk::Low, engine::Risk::Medium, engine::Risk::High}) {
        body += verdictCell(*s, r);
      }
      const SloEvent* denial = nullptr;
      if (auto it = events.find(objectKey(s->ns, s->name)); it != events.end()) {
        denial = newest(it->second, "RolloutDenied");
      }
      body += denial ? fmt::format("<td class=\"last-denial\" title=\"{}\">{}</td>",
                                   escape(denial->message), relativeTime(denial->last, context.now))
                     : "<td class=\"muted\">–</td>";
      body += "</tr>";
    }
    body += "</tbody></table></div></section>";
  }
  return page(scope.empty() ? "budgetgate: all SLOs" : "budgetgate: " + scope,
              breadcrumb(scope, ""), body, context.footer);
}

std::string renderSloPage(const model::SloView& slo, const std::vector<SloEvent>& events,
                          const BurnDownData& burnDown, const PageContext& context) {
  const auto* st = slo.status ? &*slo.status : nullptr;
  const auto tier = tierOf(slo);
  std::string body;
  body += fmt::format("<h1>{} {}</h1>", escape(slo.name), badge(tier));
  if (slo.spec && !slo.spec->description.empty()) {
    body += "<p>" + escape(slo.spec->description) + "</p>";
  }
  if (!slo.spec) body += "<p class=\"firing\">Invalid spec: " + escape(slo.specError) + "</p>";
  if (st && !st->message.empty())
    body += "<p class=\"status-message\">" + escape(st->message) + "</p>";

  const auto remaining = remainingOf(slo);
  std::vector<std::pair<std::string, std::string>> figures{
      {"remaining",
       fmt::format("<span id=\"remaining\" data-value=\"{}\">{}</span>",
                   remaining ? fmt::format("{:.4f}", *remaining) : "", percent(remaining))},
      {"consumed",
       percent(st && st->errorBudget ? std::optional<double>(st->errorBudget->consumedPercent)
                                     : std::nullopt)},
      {"target", st && st->target > 0 ? percent(st->target * 100, 3) : "–"},
      {"window", escape(st ? st->window : "")},
      {"SLI", st && st->sli ? percent(*st->sli * 100, 3) : "–"},
      {"service", escape(slo.spec ? slo.spec->service : "")},
      {"team", escape(teamOf(slo, context.teamLabel))},
      {"policy", escape(st ? st->policy : "")},
      {"budget exhausted", exhaustionText(st, context.now)},
      {"evaluated",
       st && st->lastEvaluated ? escape(relativeTime(*st->lastEvaluated, context.now)) : "never"}};
  body += cards(figures);

  body += "<h2>Remaining budget over the window</h2><div class=\"chart\">";
  if (!burnDown.points.empty() && st && st->windowStart && st->lastEvaluated) {
    BurnDownChart chart;
    chart.points = burnDown.points;
    chart.windowStart = burnDown.points.front().at;
    chart.windowEnd = burnDown.points.back().at;
    if (slo.policy) chart.thresholds = slo.policy->tiers;
    if (st->ledger) {
      for (const auto& e : st->ledger->entries) {
        if (e.rollout) {
          chart.markers.push_back(
              {ChartMarker::Kind::Rollout, e.rollout->at, e.rollout->at,
               fmt::format("{} revision {} ({:.2f} % of the budget after it)", e.rollout->workload,
                           e.rollout->revision, e.budgetPercent)});
        } else if (e.cause == engine::LedgerCause::Adjustment) {
          chart.markers.push_back({ChartMarker::Kind::Adjustment, e.start, e.end,
                                   fmt::format("BudgetAdjustment {}: {} ({:.2f} % refunded)",
                                               e.adjustment, e.reason, e.budgetPercent)});
        }
      }
    }
    body += renderBurnDownSvg(chart);
    // The same figures as a table: for screen readers, for copying, and for tests.
    body +=
        "<details><summary>hour by hour</summary><div class=\"scroll\"><table "
        "class=\"burn-down-data\"><thead><tr><th>hour ending</th><th "
        "class=\"num\">remaining</th></tr></thead><tbody>";
    for (const auto& p : burnDown.points) {
      body += fmt::format(
          "<tr data-at=\"{}\" data-remaining=\"{:.6f}\"><td>{}</td><td class=\"num\">{:.3f} "
          "%</td></tr>",
          std::chrono::duration_cast<std::chrono::seconds>(p.at.time_since_epoch()).count(),
          p.remainingPercent, escape(formatTime(p.at)), p.remainingPercent);
    }
    body += "</tbody></table></div></details>";
    body +=
        "<p class=\"muted\">Budget left counting the window's bad events up to each hour; bands: "
        "the policy's tier thresholds; dashed lines: rollouts the ledger charged; blue spans: "
        "budget adjustments.</p>";
  } else {
    body += "<p class=\"muted no-chart\">No burn-down: " +
            escape(burnDown.unavailable.empty() ? "no hourly data" : burnDown.unavailable) + "</p>";
  }
  body += "</div>";

  body += "<h2>Burn rates</h2><div class=\"scroll\"><table><thead><tr>";
  for (auto w : engine::kBurnRateWindows)
    body += fmt::format("<th class=\"num\">{}</th>", engine::windowName(w));
  body += "</tr></thead><tbody><tr>";
  for (auto w : engine::kBurnRateWindows) {
    body += fmt::format("<td class=\"num\" data-window=\"{}\">{}</td>", engine::windowName(w),
                        number(st ? st->burnRates.at(w) : std::nullopt, 3));
  }
  body += "</tr></tbody></table></div>";

  body +=
      "<h2>Alerts</h2><div class=\"scroll\"><table><thead><tr><th>alert</th><th>severity</th>"
      "<th>windows</th><th class=\"num\">threshold</th><th>state</th></tr></thead><tbody>";
  if (st) {
    for (const auto& a : st->alerts) {
      body += fmt::format(
          "<tr data-alert=\"{}\"><td>{}</td><td>{}</td><td>{} and {}</td><td "
          "class=\"num\">{:.2f}</td><td>{}</td></tr>",
          escape(a.rule.name), escape(a.rule.name), escape(a.rule.severity),
          engine::windowName(a.rule.longWindow), engine::windowName(a.rule.shortWindow),
          a.rule.threshold, a.firing ? "<span class=\"firing\">firing</span>" : "ok");
    }
  }
  body += "</tbody></table></div>";

  body +=
      "<h2>Gate decision by risk</h2><div class=\"scroll\"><table><thead><tr><th>low</th>"
      "<th>medium</th><th>high</th></tr></thead><tbody><tr>";
  for (auto r : {engine::Risk::Low, engine::Risk::Medium, engine::Risk::High}) {
    body += verdictCell(slo, r);
  }
  body += "</tr></tbody></table></div>";

  if (st && st->ledger) {
    const auto& l = *st->ledger;
    body += fmt::format(
        "<h2>Where the budget went</h2><p>rollouts {} · adjustments {} · unattributed {} "
        "({} entries in the window)</p>",
        percent(l.rolloutPercent), percent(l.adjustmentPercent), percent(l.unattributedPercent),
        l.entryCount);
    body +=
        "<div class=\"scroll\"><table><thead><tr><th>start</th><th>end</th><th>cause</th>"
        "<th class=\"num\">budget</th><th>detail</th></tr></thead><tbody>";
    for (const auto& e : l.entries) {
      std::string detail = e.rollout ? fmt::format("{} revision {} {}", e.rollout->workload,
                                                   e.rollout->revision, e.rollout->images)
                           : e.adjustment.empty() ? std::string("–")
                                                  : e.adjustment + ": " + e.reason;
      body += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td "
          "class=\"wrap\">{}</td></tr>",
          escape(formatTime(e.start)), escape(formatTime(e.end)), engine::ledgerCauseName(e.cause),
          percent(e.budgetPercent), escape(detail));
    }
    body += "</tbody></table></div>";
  }

  body +=
      "<h2>History</h2><p class=\"muted\">Tier changes, alerts and gate decisions as recorded in "
      "Events (kept by the API server for about an hour; a namespace's editors can create "
      "Events too, so this is not an audit trail).</p><div class=\"scroll\"><table><thead><tr>"
      "<th>when</th><th>type</th><th>reason</th><th class=\"num\">count</th><th>message</th>"
      "</tr></thead><tbody>";
  for (const auto& e : events) {
    body += fmt::format(
        "<tr class=\"event\" data-reason=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td "
        "class=\"num\">{}</td><td class=\"wrap\">{}</td></tr>",
        escape(e.reason), escape(relativeTime(e.last, context.now)), escape(e.type),
        escape(e.reason), e.count, escape(e.message));
  }
  if (events.empty()) body += "<tr><td colspan=\"5\" class=\"muted\">none held</td></tr>";
  body += "</tbody></table></div>";
  return page("budgetgate: " + objectKey(slo.ns, slo.name), breadcrumb(slo.ns, slo.name), body,
              context.footer);
}

}  // namespace budgetgate::statuspage
