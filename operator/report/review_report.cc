#include "operator/report/review_report.h"

#include <fmt/format.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <utility>

#include "operator/common/csv.h"
#include "operator/common/json.h"
#include "operator/common/object_key.h"

namespace budgetgate::report {
namespace {

constexpr std::array<const char*, 3> kRiskNames{"low", "medium", "high"};
constexpr std::array<const char*, 6> kTierOrder{"healthy",  "attention", "warning",
                                                "critical", "exhausted", "unknown"};

std::string percent(const std::optional<double>& v) {
  return v ? fmt::format("{:.2f}%", *v) : std::string("-");
}

std::string number(const std::optional<double>& v) {
  return v ? fmt::format("{:.2f}", *v) : std::string();
}

std::string count(const std::optional<long long>& v, const char* unknown) {
  return v ? fmt::format("{}", *v) : std::string(unknown);
}

std::string hours(double h) {
  return fmt::format("{:g}", json::tidy(h));
}

std::string frozen(const std::optional<std::array<double, 3>>& f) {
  if (!f) return "-";
  return fmt::format("{} / {} / {}", hours((*f)[0]), hours((*f)[1]), hours((*f)[2]));
}

// "healthy 2, exhausted 1", in order of severity.
std::string tierCounts(const std::map<std::string, std::size_t>& tiers) {
  std::string out;
  auto add = [&out](const std::string& tier, std::size_t n) {
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", tier, n);
  };
  for (const char* t : kTierOrder) {
    if (auto it = tiers.find(t); it != tiers.end()) add(it->first, it->second);
  }
  for (const auto& [tier, n] : tiers) {
    if (std::find_if(kTierOrder.begin(), kTierOrder.end(),
                     [&tier](const char* t) { return tier == t; }) == kTierOrder.end()) {
      add(tier, n);
    }
  }
  return out;
}

// A Markdown table cell: no line breaks, pipes escaped.
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string row(const std::vector<std::string>& cells) {
  std::string out = "|";
  for (const auto& c : cells) {
    out += ' ';
    out += cell(c);
    out += " |";
  }
  return out + "\n";
}

std::string separator(std::size_t n) {
  std::string out = "|";
  for (std::size_t i = 0; i < n; ++i) out += "---|";
  return out + "\n";
}

using Alloc = rapidjson::Document::AllocatorType;

rapidjson::Value optionalNumber(const std::optional<double>& v) {
  return v ? rapidjson::Value(json::tidy(*v)) : rapidjson::Value(rapidjson::kNullType);
}

rapidjson::Value optionalCount(const std::optional<long long>& v) {
  return v ? rapidjson::Value(static_cast<std::int64_t>(*v))
           : rapidjson::Value(rapidjson::kNullType);
}

rapidjson::Value frozenJson(const std::optional<std::array<double, 3>>& f, Alloc& a) {
  if (!f) return rapidjson::Value(rapidjson::kNullType);
  rapidjson::Value out(rapidjson::kObjectType);
  for (std::size_t i = 0; i < 3; ++i) {
    out.AddMember(rapidjson::StringRef(kRiskNames[i]), rapidjson::Value(json::tidy((*f)[i])), a);
  }
  return out;
}

rapidjson::Value totalsJson(const GroupTotals& t, Alloc& a) {
  rapidjson::Value out(rapidjson::kObjectType);
  out.AddMember("slos", static_cast<std::uint64_t>(t.slos), a);
  rapidjson::Value tiers(rapidjson::kObjectType);
  for (const auto& [tier, n] : t.tiers) {
    tiers.AddMember(json::str(tier, a), rapidjson::Value(static_cast<std::uint64_t>(n)), a);
  }
  out.AddMember("tiers", tiers, a);
  out.AddMember("minRemainingPercent", optionalNumber(t.minRemainingPercent), a);
  out.AddMember("maxFrozenHoursByRisk", frozenJson(t.maxFrozenHours, a), a);
  out.AddMember("denials", optionalCount(t.denials), a);
  out.AddMember("exceptionsUsed", optionalCount(t.exceptions), a);
  return out;
}

rapidjson::Value sloJson(const SloRow& r, Alloc& a) {
  rapidjson::Value out(rapidjson::kObjectType);
  out.AddMember("namespace", json::str(r.ns, a), a);
  out.AddMember("name", json::str(r.name, a), a);
  out.AddMember("team", json::str(r.team, a), a);
  out.AddMember("service", json::str(r.service, a), a);
  out.AddMember("targetPercent", json::tidy(r.targetPercent), a);
  out.AddMember("window", json::str(r.window, a), a);
  out.AddMember("tier", json::str(r.tier, a), a);
  out.AddMember("remainingPercent", optionalNumber(r.remainingPercent), a);
  out.AddMember("consumedPercent", optionalNumber(r.consumedPercent), a);
  rapidjson::Value causes(rapidjson::kObjectType);
  causes.AddMember("rolloutPercent", optionalNumber(r.rolloutPercent), a);
  causes.AddMember("adjustmentPercent", optionalNumber(r.adjustmentPercent), a);
  causes.AddMember("unattributedPercent", optionalNumber(r.unattributedPercent), a);
  out.AddMember("consumptionByCause", causes, a);
  out.AddMember("frozenHoursByRisk", frozenJson(r.frozenHours, a), a);
  out.AddMember("denials", optionalCount(r.denials), a);
  out.AddMember("exceptionsUsed", optionalCount(r.exceptions), a);
  if (!r.note.empty()) out.AddMember("note", json::str(r.note, a), a);
  return out;
}

std::string countsNote(const Report& report) {
  if (!report.countsFromCluster) {
    return "Denials and exceptions used: unknown (-) without a cluster (--kubeconfig).";
  }
  return "Denials (RolloutDenied Events on the SLO) and exceptions used (RolloutApprovalUsed "
         "and BudgetExceptionUsed Events on the workloads the SLO gates) cover only the Events "
         "the API server still holds (--event-ttl, 1h by default), at most one per object and "
         "reason every 10 s: lower bounds.";
}

}  // namespace

std::string teamOf(const std::map<std::string, std::string, std::less<>>& labels,
                   const std::string& label) {
  const auto it = labels.find(label);
  if (it == labels.end() || it->second.empty()) return kNoTeam;
  return it->second;
}

GroupTotals totalsOf(const std::vector<const SloRow*>& rows) {
  GroupTotals t;
  for (const auto* r : rows) {
    ++t.slos;
    ++t.tiers[r->tier.empty() ? "unknown" : r->tier];
    if (r->remainingPercent &&
        (!t.minRemainingPercent || *r->remainingPercent < *t.minRemainingPercent)) {
      t.minRemainingPercent = r->remainingPercent;
    }
    if (r->frozenHours) {
      if (!t.maxFrozenHours) t.maxFrozenHours = std::array<double, 3>{};
      for (std::size_t i = 0; i < 3; ++i) {
        (*t.maxFrozenHours)[i] = std::max((*t.maxFrozenHours)[i], (*r->frozenHours)[i]);
      }
    }
    if (r->denials) t.denials = t.denials.value_or(0) + *r->denials;
    if (r->exceptions) t.exceptions = t.exceptions.value_or(0) + *r->exceptions;
  }
  return t;
}

std::vector<TeamGroup> group(std::vector<SloRow> rows) {
  // Teams by name with "(none)" last; services by name; SLOs by namespace, then name.
  auto teamKey = [](const std::string& team) { return std::make_pair(team == kNoTeam, team); };
  std::sort(rows.begin(), rows.end(), [&teamKey](const SloRow& x, const SloRow& y) {
    return std::make_tuple(teamKey(x.team), x.service, x.ns, x.name) <
           std::make_tuple(teamKey(y.team), y.service, y.ns, y.name);
  });
  std::vector<TeamGroup> teams;
  for (auto& r : rows) {
    if (teams.empty() || teams.back().team != r.team) teams.push_back({r.team, {}, {}});
    auto& services = teams.back().services;
    if (services.empty() || services.back().service != r.service) {
      services.push_back({r.service, {}, {}});
    }
    services.back().slos.push_back(std::move(r));
  }
  for (auto& team : teams) {
    std::vector<const SloRow*> all;
    for (auto& service : team.services) {
      std::vector<const SloRow*> mine;
      for (const auto& r : service.slos) mine.push_back(&r);
      service.totals = totalsOf(mine);
      all.insert(all.end(), mine.begin(), mine.end());
    }
    team.totals = totalsOf(all);
  }
  return teams;
}

const std::vector<std::string>& csvHeader() {
  static const std::vector<std::string> header{"namespace",
                                               "name",
                                               "team",
                                               "service",
                                               "target_percent",
                                               "window",
                                               "tier",
                                               "remaining_percent",
                                               "consumed_percent",
                                               "rollout_percent",
                                               "adjustment_percent",
                                               "unattributed_percent",
                                               "frozen_hours_low",
                                               "frozen_hours_medium",
                                               "frozen_hours_high",
                                               "denials",
                                               "exceptions_used",
                                               "note"};
  return header;
}

std::string renderCsv(const Report& report) {
  std::string out;
  for (const auto& h : csvHeader()) out += (out.empty() ? "" : ",") + h;
  out += "\n";
  for (const auto& team : report.teams) {
    for (const auto& service : team.services) {
      for (const auto& r : service.slos) {
        std::vector<std::string> f{r.ns,
                                   r.name,
                                   r.team,
                                   r.service,
                                   fmt::format("{:g}", json::tidy(r.targetPercent)),
                                   r.window,
                                   r.tier,
                                   number(r.remainingPercent),
                                   number(r.consumedPercent),
                                   number(r.rolloutPercent),
                                   number(r.adjustmentPercent),
                                   number(r.unattributedPercent)};
        for (std::size_t i = 0; i < 3; ++i) {
          f.push_back(r.frozenHours ? hours((*r.frozenHours)[i]) : std::string());
        }
        f.push_back(count(r.denials, ""));
        f.push_back(count(r.exceptions, ""));
        f.push_back(r.note);
        std::string line;
        for (std::size_t i = 0; i < f.size(); ++i) {
          if (i > 0) line += ',';
          line += csvField(f[i]);
        }
        out += line + "\n";
      }
    }
  }
  return out;
}

std::string renderMarkdown(const Report& report) {
  std::string out = fmt::format("# {}: {}\n\n", report.title, report.period);
  if (!report.generatedAt.empty()) out += fmt::format("Generated {}. ", report.generatedAt);
  out += fmt::format(
      "Team: the SLO label `{}` ({} without it). Remaining: % of the error budget left "
      "(negative once overspent); for a team or service, its worst SLO's. Frozen hours: hours "
      "of the period in which the gate would have deferred or blocked a rollout of low / medium "
      "/ high risk; for a team or service, the most of any of its SLOs. Consumption by cause "
      "(% of the budget): rollouts, budget adjustments (refunded), unattributed. {}\n\n",
      report.teamLabel, kNoTeam, countsNote(report));

  out += "## Teams\n\n";
  const std::vector<std::string> groupHeader{"SLOs",    "Worst remaining",
                                             "Tiers",   "Frozen h (low / medium / high)",
                                             "Denials", "Exceptions used"};
  auto groupCells = [](const GroupTotals& t) {
    return std::vector<std::string>{fmt::format("{}", t.slos), percent(t.minRemainingPercent),
                                    tierCounts(t.tiers),       frozen(t.maxFrozenHours),
                                    count(t.denials, "-"),     count(t.exceptions, "-")};
  };
  {
    std::vector<std::string> h{"Team"};
    h.insert(h.end(), groupHeader.begin(), groupHeader.end());
    out += row(h) + separator(h.size());
    for (const auto& team : report.teams) {
      std::vector<std::string> c{team.team};
      const auto g = groupCells(team.totals);
      c.insert(c.end(), g.begin(), g.end());
      out += row(c);
    }
  }

  out += "\n## Services\n\n";
  {
    std::vector<std::string> h{"Team", "Service"};
    h.insert(h.end(), groupHeader.begin(), groupHeader.end());
    out += row(h) + separator(h.size());
    for (const auto& team : report.teams) {
      for (const auto& service : team.services) {
        std::vector<std::string> c{team.team, service.service.empty() ? "-" : service.service};
        const auto g = groupCells(service.totals);
        c.insert(c.end(), g.begin(), g.end());
        out += row(c);
      }
    }
  }

  out += "\n## SLOs\n\n";
  const std::vector<std::string> h{
      "Team",     "Service",        "SLO",          "Target",
      "Window",   "Tier",           "Remaining",    "Consumed",
      "Rollouts", "Adjustments",    "Unattributed", "Frozen h (low / medium / high)",
      "Denials",  "Exceptions used"};
  out += row(h) + separator(h.size());
  std::vector<std::string> notes;
  for (const auto& team : report.teams) {
    for (const auto& service : team.services) {
      for (const auto& r : service.slos) {
        out += row({r.team, r.service.empty() ? "-" : r.service, objectKey(r.ns, r.name),
                    fmt::format("{:g}%", json::tidy(r.targetPercent)), r.window,
                    r.tier.empty() ? "unknown" : r.tier, percent(r.remainingPercent),
                    percent(r.consumedPercent), percent(r.rolloutPercent),
                    percent(r.adjustmentPercent), percent(r.unattributedPercent),
                    frozen(r.frozenHours), count(r.denials, "-"), count(r.exceptions, "-")});
        if (!r.note.empty()) notes.push_back(fmt::format("- {}/{}: {}", r.ns, r.name, r.note));
      }
    }
  }
  if (!notes.empty()) {
    out += "\n## Notes\n\n";
    for (const auto& n : notes) out += n + "\n";
  }
  return out;
}

std::string renderJson(const Report& report) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("title", json::str(report.title, a), a);
  doc.AddMember("period", json::str(report.period, a), a);
  doc.AddMember("generatedAt", json::str(report.generatedAt, a), a);
  doc.AddMember("teamLabel", json::str(report.teamLabel, a), a);
  doc.AddMember("countsFromCluster", report.countsFromCluster, a);
  doc.AddMember("countsNote", json::str(countsNote(report), a), a);
  rapidjson::Value teams(rapidjson::kArrayType);
  for (const auto& team : report.teams) {
    rapidjson::Value t(rapidjson::kObjectType);
    t.AddMember("team", json::str(team.team, a), a);
    t.AddMember("totals", totalsJson(team.totals, a), a);
    rapidjson::Value services(rapidjson::kArrayType);
    for (const auto& service : team.services) {
      rapidjson::Value s(rapidjson::kObjectType);
      s.AddMember("service", json::str(service.service, a), a);
      s.AddMember("totals", totalsJson(service.totals, a), a);
      rapidjson::Value slos(rapidjson::kArrayType);
      for (const auto& r : service.slos) slos.PushBack(sloJson(r, a), a);
      s.AddMember("slos", slos, a);
      services.PushBack(s, a);
    }
    t.AddMember("services", services, a);
    teams.PushBack(t, a);
  }
  doc.AddMember("teams", teams, a);
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  doc.Accept(writer);
  return std::string(buffer.GetString()) + "\n";
}

EventCounts countEvents(const std::vector<EventRecord>& events, long long since, long long until) {
  EventCounts out;
  for (const auto& e : events) {
    if (e.time < since || e.time > until) continue;
    const long long n = std::max(1LL, e.count);
    if (e.reason == "RolloutDenied" && e.kind == "ServiceLevelObjective") {
      out.denialsBySlo[objectKey(e.ns, e.name)] += n;
    } else if (e.reason == "RolloutApprovalUsed" || e.reason == "BudgetExceptionUsed") {
      out.exceptionsByWorkload[e.ns + "/" + e.kind + "/" + e.name] += n;
    }
  }
  return out;
}

}  // namespace budgetgate::report
