#include "operator/prometheus/query_planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

namespace budgetgate::prometheus {
namespace {

// Selectors that differ only in the value of `pivot` (an equality matcher).
struct SelectorGroup {
  std::string metric;
  std::vector<LabelMatcher> rest;
  std::string pivot;
  std::vector<std::pair<std::string, std::size_t>> members;  // pivot value -> need

  std::string selector() const {
    Selector s;
    s.metric = metric;
    s.matchers = rest;
    std::string alternatives;
    for (const auto& [value, need] : members) {
      // append(), not `"|" + quoteRegex(value)`: GCC 12 at -O3 reports a false
      // -Werror=restrict (overlapping memcpy) for operator+(const char*, std::string&&).
      if (!alternatives.empty()) alternatives.push_back('|');
      alternatives.append(quoteRegex(value));
    }
    s.matchers.push_back({pivot, "=~", alternatives});
    return s.render();
  }
  std::string expr(const WindowRange& range) const {
    if (range.summed) return counterDelta(selector(), range.length, pivot);
    return fmt::format("sum by ({}) (increase({}[{}]))", pivot, selector(),
                       promDuration(range.length));
  }
};

std::string groupKey(const Selector& s, const std::string& pivot) {
  std::string key = s.metric + "{";
  for (const auto& m : s.matchers) {
    if (m.name == pivot && m.op == "=") continue;
    key += m.name + m.op + quoteString(m.value) + ",";
  }
  return key + "} by " + pivot;
}

// Splits needs into shared groups (two or more Increase selectors that differ in one equality
// matcher) and the rest. Each selector joins the candidate group with the most members.
void groupNeeds(const std::vector<QuantityNeed>& needs, const std::vector<std::size_t>& subset,
                bool share, std::vector<SelectorGroup>& groups, std::vector<std::size_t>& single) {
  if (!share) {
    single = subset;
    return;
  }
  std::map<std::string, std::size_t> candidateCount;
  for (auto i : subset) {
    const auto& q = needs[i].quantity;
    if (q.kind != Quantity::Kind::Increase || !q.selector) continue;
    for (const auto& m : q.selector->matchers) {
      if (m.op == "=") ++candidateCount[groupKey(*q.selector, m.name)];
    }
  }
  std::map<std::string, SelectorGroup> byKey;
  for (auto i : subset) {
    const auto& q = needs[i].quantity;
    std::string bestKey;
    const LabelMatcher* bestPivot = nullptr;
    std::size_t bestCount = 1;
    if (q.kind == Quantity::Kind::Increase && q.selector) {
      for (const auto& m : q.selector->matchers) {
        if (m.op != "=") continue;
        const auto key = groupKey(*q.selector, m.name);
        const auto count = candidateCount[key];
        if (count > bestCount || (count == bestCount && bestPivot && m.name < bestPivot->name)) {
          bestCount = count;
          bestKey = key;
          bestPivot = &m;
        }
      }
    }
    if (bestPivot == nullptr) {
      single.push_back(i);
      continue;
    }
    auto& g = byKey[bestKey];
    if (g.members.empty()) {
      g.metric = q.selector->metric;
      g.pivot = bestPivot->name;
      for (const auto& m : q.selector->matchers) {
        if (!(m.name == g.pivot && m.op == "=")) g.rest.push_back(m);
      }
    }
    g.members.emplace_back(bestPivot->value, i);
  }
  for (auto& [key, g] : byKey) {
    if (g.members.size() < 2) {
      single.push_back(g.members.front().second);
    } else {
      groups.push_back(std::move(g));
    }
  }
  std::sort(single.begin(), single.end());
}

// Splits groups into groups of at most `limit(group)` members (in their order).
template <typename Limit>
std::vector<SelectorGroup> splitGroups(std::vector<SelectorGroup> groups, Limit limit) {
  std::vector<SelectorGroup> out;
  for (auto& g : groups) {
    const std::size_t n = std::max<std::size_t>(1, limit(g));
    if (g.members.size() <= n) {
      out.push_back(std::move(g));
      continue;
    }
    for (std::size_t start = 0; start < g.members.size(); start += n) {
      SelectorGroup part{g.metric, g.rest, g.pivot, {}};
      const auto end = std::min(g.members.size(), start + n);
      part.members.assign(g.members.begin() + static_cast<std::ptrdiff_t>(start),
                          g.members.begin() + static_cast<std::ptrdiff_t>(end));
      out.push_back(std::move(part));
    }
  }
  return out;
}

std::string tagged(const std::string& expr, std::string_view label, const std::string& value) {
  return fmt::format("label_replace({}, \"{}\", \"{}\", \"\", \"\")", expr, label, value);
}

std::string joinOr(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " or ") + p;
  return out;
}

Demux groupDemux(const SelectorGroup& g) {
  Demux d;
  d.pivotLabel = g.pivot;
  for (const auto& [value, need] : g.members) {
    d.byPivot.emplace(value, need);
    d.needs.push_back(need);
  }
  return d;
}

}  // namespace

std::vector<InstantUnit> planInstantQueries(const std::vector<QuantityNeed>& needs,
                                            const PlannerOptions& options,
                                            const std::vector<std::size_t>* subset) {
  std::vector<InstantUnit> units;
  std::vector<std::size_t> all;
  if (subset != nullptr) {
    all = *subset;
  } else {
    all.resize(needs.size());
    for (std::size_t i = 0; i < needs.size(); ++i) all[i] = i;
  }
  std::vector<SelectorGroup> groups;
  std::vector<std::size_t> single;
  groupNeeds(needs, all, options.shareAcrossSlos, groups, single);
  groups = splitGroups(std::move(groups),
                       [&](const SelectorGroup&) { return options.maxSeriesPerQuery; });

  for (const auto& g : groups) {
    // Members of a group share their window set: the union, evaluated once.
    std::map<std::string, WindowRange> windows;
    for (const auto& [value, need] : g.members) {
      for (const auto& w : needs[need].windows) windows.insert(w);
    }
    InstantUnit unit;
    unit.demux = groupDemux(g);
    std::vector<std::string> parts;
    for (const auto& [key, range] : windows) {
      parts.push_back(tagged(g.expr(range), kWindowLabel, key));
      unit.windows.push_back(key);
    }
    unit.promql = joinOr(parts);
    units.push_back(std::move(unit));
  }

  const std::size_t batch = std::max<std::size_t>(1, options.batchSize);
  for (std::size_t start = 0; start < single.size(); start += batch) {
    InstantUnit unit;
    std::vector<std::string> parts;
    std::set<std::string> windowKeys;
    for (std::size_t j = start; j < std::min(single.size(), start + batch); ++j) {
      const auto need = single[j];
      unit.demux.needs.push_back(need);
      for (const auto& [key, range] : needs[need].windows) {
        const auto& q = needs[need].quantity;
        const auto expr = range.summed ? q.additiveExpr(range.length) : q.expr(range.length);
        parts.push_back(
            tagged(tagged(expr, kWindowLabel, key), kQuantityLabel, std::to_string(need)));
        windowKeys.insert(key);
      }
    }
    unit.windows.assign(windowKeys.begin(), windowKeys.end());
    unit.promql = joinOr(parts);
    units.push_back(std::move(unit));
  }
  return units;
}

std::vector<RangeUnit> planBucketQueries(const std::vector<QuantityNeed>& needs,
                                         const std::vector<BucketRequest>& requests, Seconds bucket,
                                         const PlannerOptions& options) {
  std::vector<RangeUnit> units;
  std::map<std::size_t, const BucketRequest*> byNeed;
  std::vector<std::size_t> subset;
  for (const auto& r : requests) {
    byNeed[r.need] = &r;
    subset.push_back(r.need);
  }
  std::vector<SelectorGroup> groups;
  std::vector<std::size_t> single;
  groupNeeds(needs, subset, options.shareAcrossSlos, groups, single);
  groups = splitGroups(std::move(groups), [&](const SelectorGroup& g) {
    std::size_t points = 1;
    for (const auto& member : g.members) {
      const auto* r = byNeed[member.second];
      points =
          std::max<std::size_t>(points, static_cast<std::size_t>((r->to - r->from) / bucket) + 1);
    }
    return std::min(options.maxSeriesPerQuery, options.maxPointsPerQuery / points);
  });

  for (const auto& g : groups) {
    RangeUnit unit;
    unit.demux = groupDemux(g);
    unit.from = byNeed[g.members.front().second]->from;
    unit.to = byNeed[g.members.front().second]->to;
    for (const auto& [value, need] : g.members) {
      unit.from = std::min(unit.from, byNeed[need]->from);
      unit.to = std::max(unit.to, byNeed[need]->to);
      unit.fullSync = unit.fullSync || byNeed[need]->fullSync;
    }
    unit.promql = g.expr({bucket, true});
    units.push_back(std::move(unit));
  }
  // Unshared: batch those asking for the same range.
  std::map<std::tuple<TimePoint, TimePoint, bool>, std::vector<std::size_t>> sameRange;
  for (auto need : single) {
    const auto* r = byNeed[need];
    sameRange[{r->from, r->to, r->fullSync}].push_back(need);
  }
  const std::size_t batch = std::max<std::size_t>(1, options.batchSize);
  for (const auto& [range, members] : sameRange) {
    for (std::size_t start = 0; start < members.size(); start += batch) {
      RangeUnit unit;
      std::tie(unit.from, unit.to, unit.fullSync) = range;
      std::vector<std::string> parts;
      for (std::size_t j = start; j < std::min(members.size(), start + batch); ++j) {
        const auto need = members[j];
        unit.demux.needs.push_back(need);
        parts.push_back(tagged(needs[need].quantity.additiveExpr(bucket), kQuantityLabel,
                               std::to_string(need)));
      }
      unit.promql = joinOr(parts);
      units.push_back(std::move(unit));
    }
  }
  return units;
}

}  // namespace budgetgate::prometheus
