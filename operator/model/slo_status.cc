#include "operator/model/slo_status.h"

#include <fmt/format.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>

#include "operator/common/json.h"

namespace budgetgate::model {
namespace {

using rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

// Never NaN or infinity in a status: they are not JSON and would poison every reader.
double finite(double v) {
  return std::isfinite(v) ? v : 0.0;
}

// 12 significant digits: exact enough for tiny budgets, readable in `kubectl get -o yaml`.
double rounded(double v) {
  return json::tidy(finite(v));
}

void addNumber(Value& obj, std::string_view key, double v, Allocator& a) {
  obj.AddMember(json::str(key, a), Value(rounded(v)), a);
}

// Percentages and burn rates are read by people (`kubectl get slo` columns, the denial
// message): two decimals and four significant digits say all there is to say. The raw
// totals stay exact.
double percent(double v) {
  return std::round(finite(v) * 100.0) / 100.0;
}
double fourDigits(double v) {
  v = finite(v);
  if (v == 0.0) return 0.0;
  const double scale = std::pow(10.0, 3 - static_cast<int>(std::floor(std::log10(std::fabs(v)))));
  return std::round(v * scale) / scale;
}
void addString(Value& obj, std::string_view key, std::string_view v, Allocator& a) {
  obj.AddMember(json::str(key, a), json::str(v, a), a);
}
void addTime(Value& obj, std::string_view key, const std::optional<TimePoint>& t, Allocator& a) {
  if (t) {
    addString(obj, key, formatTime(*t), a);
  } else {
    obj.AddMember(json::str(key, a), Value(rapidjson::kNullType), a);
  }
}

}  // namespace

void ledgerEntryToValue(const engine::LedgerEntry& e, Value& out, Allocator& a) {
  out.SetObject();
  addString(out, "start", formatTime(e.start), a);
  addString(out, "end", formatTime(e.end), a);
  addString(out, "cause", engine::ledgerCauseName(e.cause), a);
  addNumber(out, "badEvents", e.badEvents, a);
  addNumber(out, "budgetPercent", percent(e.budgetPercent), a);
  if (e.rollout) {
    Value r(rapidjson::kObjectType);
    addString(r, "workload", e.rollout->workload, a);
    addString(r, "at", formatTime(e.rollout->at), a);
    if (!e.rollout->revision.empty()) addString(r, "revision", e.rollout->revision, a);
    if (!e.rollout->images.empty()) addString(r, "images", e.rollout->images, a);
    if (!e.rollout->releaseType.empty()) addString(r, "releaseType", e.rollout->releaseType, a);
    if (!e.rollout->requester.empty()) addString(r, "requester", e.rollout->requester, a);
    out.AddMember("rollout", r, a);
  }
  if (!e.adjustment.empty()) {
    addString(out, "adjustment", e.adjustment, a);
    addString(out, "reason", e.reason, a);
    if (!e.reference.empty()) addString(out, "reference", e.reference, a);
  }
}

const Condition* SloStatus::condition(std::string_view type) const {
  for (const auto& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

void SloStatus::setCondition(Condition c) {
  for (auto& existing : conditions) {
    if (existing.type == c.type) {
      if (existing.status == c.status) c.lastTransitionTime = existing.lastTransitionTime;
      existing = std::move(c);
      return;
    }
  }
  conditions.push_back(std::move(c));
}

void statusToValue(const SloStatus& s, Value& out, Allocator& a) {
  out.SetObject();
  out.AddMember("observedGeneration", Value(static_cast<std::int64_t>(s.observedGeneration)), a);
  addTime(out, "lastEvaluated", s.lastEvaluated, a);
  if (!s.objective.empty()) addString(out, "objective", s.objective, a);
  if (s.target > 0) addNumber(out, "target", s.target, a);
  addString(out, "window", s.window, a);
  if (s.windowStart) addTime(out, "windowStart", s.windowStart, a);
  addString(out, "budgetingMethod", s.budgetingMethod, a);
  if (s.sli) {
    out.AddMember("sli", Value(rounded(*s.sli)), a);
  } else {
    out.AddMember("sli", Value(rapidjson::kNullType), a);
  }
  if (s.errorBudget) {
    const auto& b = *s.errorBudget;
    Value budget(rapidjson::kObjectType);
    addNumber(budget, "total", b.total, a);
    addNumber(budget, "consumed", b.consumed, a);
    addNumber(budget, "remaining", b.remaining(), a);
    addNumber(budget, "remainingPercent", percent(b.remainingPercent()), a);
    addNumber(budget, "consumedPercent", percent(b.consumedPercent), a);
    addString(budget, "unit", engine::budgetUnitName(b.unit), a);
    out.AddMember("errorBudget", budget, a);
  }
  Value burn(rapidjson::kObjectType);
  Value noData(rapidjson::kArrayType);
  for (auto w : engine::kBurnRateWindows) {
    addNumber(burn, engine::windowName(w), fourDigits(s.burnRates.orZero(w)), a);
    if (!s.burnRates.at(w)) noData.PushBack(json::str(engine::windowName(w), a), a);
  }
  out.AddMember("burnRates", burn, a);
  out.AddMember("noDataWindows", noData, a);
  if (!s.lowTrafficWindows.empty()) {
    Value low(rapidjson::kArrayType);
    for (const auto& w : s.lowTrafficWindows) low.PushBack(json::str(w, a), a);
    out.AddMember("lowTrafficWindows", low, a);
  }
  Value alerts(rapidjson::kArrayType);
  for (const auto& st : s.alerts) {
    Value alert(rapidjson::kObjectType);
    addString(alert, "name", st.rule.name, a);
    addString(alert, "severity", st.rule.severity, a);
    addString(alert, "shortWindow", engine::windowName(st.rule.shortWindow), a);
    addString(alert, "longWindow", engine::windowName(st.rule.longWindow), a);
    addNumber(alert, "threshold", st.rule.threshold, a);
    alert.AddMember("firing", Value(st.firing), a);
    alerts.PushBack(alert, a);
  }
  out.AddMember("alerts", alerts, a);
  addTime(out, "projectedExhaustion", s.projectedExhaustion, a);
  if (s.projectedRecovery) addTime(out, "projectedRecovery", s.projectedRecovery, a);
  addString(out, "tier", engine::tierName(s.tier), a);
  if (!s.recoveryByTier.empty()) {
    Value recovery(rapidjson::kObjectType);
    for (const auto& [tier, when] : s.recoveryByTier) {
      addString(recovery, engine::tierName(tier), formatTime(when), a);
    }
    out.AddMember("recoveryByTier", recovery, a);
  }
  if (s.tierHold) {
    Value hold(rapidjson::kObjectType);
    addString(hold, "tier", engine::tierName(s.tierHold->tier), a);
    addString(hold, "since", formatTime(s.tierHold->since), a);
    addNumber(hold, "lowestRemainingPercent", s.tierHold->lowestRemainingPercent, a);
    out.AddMember("tierHold", hold, a);
  }
  if (s.freeze) {
    Value freeze(rapidjson::kObjectType);
    addString(freeze, "since", formatTime(s.freeze->since), a);
    addNumber(freeze, "lowestRemainingPercent", s.freeze->lowestRemainingPercent, a);
    if (!s.freezeRelaxed.empty()) addString(freeze, "relaxed", s.freezeRelaxed, a);
    out.AddMember("freeze", freeze, a);
  }
  Value gate(rapidjson::kObjectType);
  if (!s.policy.empty()) addString(gate, "policy", s.policy, a);
  if (!s.policyShadows.empty()) addString(gate, "policyShadows", s.policyShadows, a);
  if (s.decisionsByRisk) {
    Value decisions(rapidjson::kObjectType);
    for (auto risk : engine::kRisks) {
      addString(decisions, engine::riskName(risk),
                engine::verdictName((*s.decisionsByRisk)[static_cast<std::size_t>(risk)]), a);
    }
    gate.AddMember("decisionsByRisk", decisions, a);
  }
  out.AddMember("gate", gate, a);
  if (!s.objectives.empty()) {
    Value objectives(rapidjson::kArrayType);
    for (const auto& o : s.objectives) {
      Value obj(rapidjson::kObjectType);
      addString(obj, "displayName", o.displayName, a);
      addNumber(obj, "target", o.target, a);
      if (o.compositeWeight) addNumber(obj, "compositeWeight", *o.compositeWeight, a);
      if (o.sli) obj.AddMember("sli", Value(rounded(*o.sli)), a);
      addNumber(obj, "consumedPercent", percent(o.consumedPercent), a);
      addNumber(obj, "remainingPercent", percent(o.remainingPercent), a);
      Value objectiveBurn(rapidjson::kObjectType);
      for (auto w : engine::kBurnRateWindows) {
        if (auto b = o.burnRates.at(w))
          addNumber(objectiveBurn, engine::windowName(w), fourDigits(*b), a);
      }
      obj.AddMember("burnRates", objectiveBurn, a);
      addString(obj, "tier", engine::tierName(o.tier), a);
      objectives.PushBack(obj, a);
    }
    out.AddMember("objectives", objectives, a);
  }
  if (s.ledger) {
    Value ledger(rapidjson::kObjectType);
    Value totals(rapidjson::kObjectType);
    addNumber(totals, "rolloutPercent", percent(s.ledger->rolloutPercent), a);
    addNumber(totals, "adjustmentPercent", percent(s.ledger->adjustmentPercent), a);
    addNumber(totals, "unattributedPercent", percent(s.ledger->unattributedPercent), a);
    ledger.AddMember("totals", totals, a);
    ledger.AddMember("entryCount", Value(static_cast<std::uint64_t>(s.ledger->entryCount)), a);
    Value entries(rapidjson::kArrayType);
    for (const auto& e : s.ledger->entries) {
      Value entry;
      ledgerEntryToValue(e, entry, a);
      entries.PushBack(entry, a);
    }
    ledger.AddMember("entries", entries, a);
    out.AddMember("ledger", ledger, a);
  }
  if (s.adjustments) {
    Value adj(rapidjson::kObjectType);
    addNumber(adj, "remainingPercentUnadjusted", percent(s.adjustments->remainingPercentUnadjusted),
              a);
    addNumber(adj, "consumedPercentUnadjusted", percent(s.adjustments->consumedPercentUnadjusted),
              a);
    addNumber(adj, "excludedBadEvents", s.adjustments->excludedBadEvents, a);
    Value applied(rapidjson::kArrayType);
    for (const auto& x : s.adjustments->applied) {
      Value item(rapidjson::kObjectType);
      addString(item, "name", x.name, a);
      addString(item, "reason", x.reason, a);
      if (!x.reference.empty()) addString(item, "reference", x.reference, a);
      addNumber(item, "excludedBadEvents", x.excludedBadEvents, a);
      addNumber(item, "refundedPercent", percent(x.refundedPercent), a);
      applied.PushBack(item, a);
    }
    adj.AddMember("applied", applied, a);
    {
      // Always written: the controller merge-patches the status, so an absent list would keep
      // the previous one.
      Value ignored(rapidjson::kArrayType);
      for (const auto& x : s.adjustments->ignored) {
        Value item(rapidjson::kObjectType);
        addString(item, "name", x.name, a);
        addString(item, "problem", x.problem, a);
        ignored.PushBack(item, a);
      }
      adj.AddMember("ignored", ignored, a);
    }
    out.AddMember("adjustments", adj, a);
  }
  Value conditions(rapidjson::kArrayType);
  for (const auto& c : s.conditions) {
    Value cond(rapidjson::kObjectType);
    addString(cond, "type", c.type, a);
    addString(cond, "status", c.status, a);
    addString(cond, "reason", c.reason, a);
    addString(cond, "message", c.message, a);
    addString(cond, "lastTransitionTime", formatTime(c.lastTransitionTime), a);
    cond.AddMember("observedGeneration", Value(static_cast<std::int64_t>(c.observedGeneration)), a);
    conditions.PushBack(cond, a);
  }
  out.AddMember("conditions", conditions, a);
  addString(out, "message", s.message, a);
}

std::string statusToJson(const SloStatus& status, JsonStyle style) {
  rapidjson::Document doc;
  statusToValue(status, doc, doc.GetAllocator());
  rapidjson::StringBuffer buffer;
  if (style == JsonStyle::Pretty) {
    rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
    writer.SetIndent(' ', 2);
    doc.Accept(writer);
  } else {
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    doc.Accept(writer);
  }
  return std::string(buffer.GetString(), buffer.GetSize());
}

SloStatus statusFromJson(const Value& v, std::vector<std::string>* problems) {
  SloStatus s;
  auto note = [&](std::string msg) {
    if (problems) problems->push_back(std::move(msg));
  };
  if (!v.IsObject()) {
    note("status is not an object");
    return s;
  }
  s.observedGeneration = json::asInt(json::member(&v, "observedGeneration")).value_or(0);
  if (auto t = json::asString(json::member(&v, "lastEvaluated"))) {
    s.lastEvaluated = parseTime(*t);
    if (!s.lastEvaluated) note(fmt::format("lastEvaluated \"{}\" is not RFC 3339", *t));
  }
  s.objective = json::stringOr(json::member(&v, "objective"));
  s.target = json::asNumber(json::member(&v, "target")).value_or(0);
  s.window = json::stringOr(json::member(&v, "window"));
  if (auto t = json::asString(json::member(&v, "windowStart"))) s.windowStart = parseTime(*t);
  s.budgetingMethod = json::stringOr(json::member(&v, "budgetingMethod"));
  s.sli = json::asNumber(json::member(&v, "sli"));
  if (const auto* b = json::member(&v, "errorBudget"); b && b->IsObject()) {
    engine::ErrorBudget budget;
    budget.total = json::asNumber(json::member(b, "total")).value_or(0);
    budget.consumed = json::asNumber(json::member(b, "consumed")).value_or(0);
    auto consumedPercent = json::asNumber(json::member(b, "consumedPercent"));
    auto remainingPercent = json::asNumber(json::member(b, "remainingPercent"));
    if (consumedPercent) {
      budget.consumedPercent = *consumedPercent;
    } else if (remainingPercent) {
      budget.consumedPercent = 100.0 - *remainingPercent;
    } else {
      note("errorBudget has neither consumedPercent nor remainingPercent");
    }
    const std::string unit = json::stringOr(json::member(b, "unit"));
    budget.unit = unit == "minutes"   ? engine::BudgetUnit::Minutes
                  : unit == "percent" ? engine::BudgetUnit::Percent
                                      : engine::BudgetUnit::Requests;
    s.errorBudget = budget;
  }
  std::vector<std::string> noData;
  if (const auto* nd = json::member(&v, "noDataWindows"); nd && nd->IsArray()) {
    for (const auto& e : nd->GetArray()) {
      if (e.IsString()) noData.emplace_back(e.GetString());
    }
  }
  // The ledger is recomputed every evaluation; it is read back whole: its rollouts for their
  // requesters (the webhook's Events that name them expire), and all of it for the status page.
  if (const auto* ledger = json::member(&v, "ledger"); ledger && ledger->IsObject()) {
    LedgerStatus ls;
    const auto* totals = json::member(ledger, "totals");
    ls.rolloutPercent = json::asNumber(json::member(totals, "rolloutPercent")).value_or(0);
    ls.adjustmentPercent = json::asNumber(json::member(totals, "adjustmentPercent")).value_or(0);
    ls.unattributedPercent =
        json::asNumber(json::member(totals, "unattributedPercent")).value_or(0);
    ls.entryCount = static_cast<std::size_t>(
        std::max(0LL, json::asInt(json::member(ledger, "entryCount")).value_or(0)));
    if (const auto* entries = json::member(ledger, "entries"); entries && entries->IsArray()) {
      for (const auto& e : entries->GetArray()) {
        if (!e.IsObject()) continue;
        engine::LedgerEntry entry;
        if (auto t = parseTime(json::stringOr(json::member(&e, "start")))) entry.start = *t;
        if (auto t = parseTime(json::stringOr(json::member(&e, "end")))) entry.end = *t;
        const auto cause = json::stringOr(json::member(&e, "cause"));
        entry.badEvents = json::asNumber(json::member(&e, "badEvents")).value_or(0);
        entry.budgetPercent = json::asNumber(json::member(&e, "budgetPercent")).value_or(0);
        entry.adjustment = json::stringOr(json::member(&e, "adjustment"));
        entry.reason = json::stringOr(json::member(&e, "reason"));
        entry.reference = json::stringOr(json::member(&e, "reference"));
        if (const auto* r = json::member(&e, "rollout"); r != nullptr && r->IsObject()) {
          engine::RolloutRecord record;
          record.workload = json::stringOr(json::member(r, "workload"));
          record.revision = json::stringOr(json::member(r, "revision"));
          record.images = json::stringOr(json::member(r, "images"));
          record.releaseType = json::stringOr(json::member(r, "releaseType"));
          record.requester = json::stringOr(json::member(r, "requester"));
          if (auto at = parseTime(json::stringOr(json::member(r, "at")))) record.at = *at;
          entry.rollout = record;
          entry.cause = engine::LedgerCause::Rollout;
        } else if (cause == "adjustment" || !entry.adjustment.empty()) {
          entry.cause = engine::LedgerCause::Adjustment;
        } else {
          entry.cause = engine::LedgerCause::Unattributed;
        }
        ls.entries.push_back(std::move(entry));
      }
    }
    s.ledger = std::move(ls);
  }
  if (const auto* adj = json::member(&v, "adjustments"); adj && adj->IsObject()) {
    AdjustmentStatus as;
    as.remainingPercentUnadjusted =
        json::asNumber(json::member(adj, "remainingPercentUnadjusted")).value_or(0);
    as.consumedPercentUnadjusted =
        json::asNumber(json::member(adj, "consumedPercentUnadjusted")).value_or(0);
    as.excludedBadEvents = json::asNumber(json::member(adj, "excludedBadEvents")).value_or(0);
    if (const auto* applied = json::member(adj, "applied"); applied && applied->IsArray()) {
      for (const auto& e : applied->GetArray()) {
        AdjustmentStatus::Applied x;
        x.name = json::stringOr(json::member(&e, "name"));
        x.reason = json::stringOr(json::member(&e, "reason"));
        x.excludedBadEvents = json::asNumber(json::member(&e, "excludedBadEvents")).value_or(0);
        x.refundedPercent = json::asNumber(json::member(&e, "refundedPercent")).value_or(0);
        if (!x.name.empty()) as.applied.push_back(std::move(x));
      }
    }
    s.adjustments = std::move(as);
  }
  if (const auto* low = json::member(&v, "lowTrafficWindows"); low && low->IsArray()) {
    for (const auto& e : low->GetArray()) {
      if (e.IsString()) s.lowTrafficWindows.emplace_back(e.GetString());
    }
  }
  if (const auto* burn = json::member(&v, "burnRates"); burn && burn->IsObject()) {
    for (auto w : engine::kBurnRateWindows) {
      const auto name = engine::windowName(w);
      auto value = json::asNumber(json::member(burn, name));
      const bool missing = std::find(noData.begin(), noData.end(), name) != noData.end();
      if (value && !missing) s.burnRates.set(w, *value);
    }
  }
  if (const auto* alerts = json::member(&v, "alerts"); alerts && alerts->IsArray()) {
    for (const auto& e : alerts->GetArray()) {
      engine::AlertState st{};
      st.rule.name = json::stringOr(json::member(&e, "name"));
      st.rule.severity = json::stringOr(json::member(&e, "severity"));
      auto sw = engine::windowFromName(json::stringOr(json::member(&e, "shortWindow")));
      auto lw = engine::windowFromName(json::stringOr(json::member(&e, "longWindow")));
      if (!sw || !lw) {
        note("alert with unknown windows skipped");
        continue;
      }
      st.rule.shortWindow = *sw;
      st.rule.longWindow = *lw;
      st.rule.threshold = json::asNumber(json::member(&e, "threshold")).value_or(0);
      st.firing = json::asBool(json::member(&e, "firing")).value_or(false);
      s.alerts.push_back(std::move(st));
    }
  }
  if (auto t = json::asString(json::member(&v, "projectedRecovery"))) {
    s.projectedRecovery = parseTime(*t);
  }
  if (auto t = json::asString(json::member(&v, "projectedExhaustion"))) {
    s.projectedExhaustion = parseTime(*t);
  }
  if (auto t = json::asString(json::member(&v, "tier"))) {
    if (auto tier = engine::tierFromName(*t)) {
      s.tier = *tier;
    } else {
      note(fmt::format("unknown tier \"{}\"", *t));
    }
  }
  if (const auto* r = json::member(&v, "recoveryByTier"); r && r->IsObject()) {
    for (const auto& m : r->GetObject()) {
      auto tier =
          engine::tierFromName(std::string_view(m.name.GetString(), m.name.GetStringLength()));
      auto when = m.value.IsString() ? parseTime(m.value.GetString()) : std::nullopt;
      if (tier && when) {
        s.recoveryByTier.emplace_back(*tier, *when);
      } else {
        note("recoveryByTier has an unknown tier or a malformed time");
      }
    }
  }
  if (const auto* hold = json::member(&v, "tierHold"); hold && hold->IsObject()) {
    auto tier = engine::tierFromName(json::stringOr(json::member(hold, "tier")));
    auto since = parseTime(json::stringOr(json::member(hold, "since")));
    auto lowest = json::asNumber(json::member(hold, "lowestRemainingPercent"));
    if (tier && since && lowest) {
      s.tierHold = engine::TierHold{*tier, *since, *lowest};
    } else {
      note("tierHold is incomplete and was ignored");
    }
  }
  if (const auto* freeze = json::member(&v, "freeze"); freeze && freeze->IsObject()) {
    auto since = parseTime(json::stringOr(json::member(freeze, "since")));
    auto lowest = json::asNumber(json::member(freeze, "lowestRemainingPercent"));
    if (since && lowest) {
      s.freeze = engine::FreezeState{*since, *lowest};
      s.freezeRelaxed = json::stringOr(json::member(freeze, "relaxed"));
    } else {
      note("freeze is incomplete and was ignored");
    }
  }
  if (const auto* gate = json::member(&v, "gate"); gate && gate->IsObject()) {
    s.policy = json::stringOr(json::member(gate, "policy"));
    s.policyShadows = json::stringOr(json::member(gate, "policyShadows"));
    if (const auto* d = json::member(gate, "decisionsByRisk"); d && d->IsObject()) {
      std::array<engine::Verdict, 3> decisions{};
      bool complete = true;
      for (auto risk : engine::kRisks) {
        auto verdict =
            engine::verdictFromName(json::stringOr(json::member(d, engine::riskName(risk))));
        complete = complete && verdict.has_value();
        if (verdict) decisions[static_cast<std::size_t>(risk)] = *verdict;
      }
      if (complete) s.decisionsByRisk = decisions;
    }
  }
  if (const auto* objectives = json::member(&v, "objectives");
      objectives && objectives->IsArray()) {
    for (const auto& e : objectives->GetArray()) {
      ObjectiveSummary o;
      o.displayName = json::stringOr(json::member(&e, "displayName"));
      o.target = json::asNumber(json::member(&e, "target")).value_or(0);
      o.compositeWeight = json::asNumber(json::member(&e, "compositeWeight"));
      o.sli = json::asNumber(json::member(&e, "sli"));
      o.consumedPercent = json::asNumber(json::member(&e, "consumedPercent")).value_or(0);
      o.remainingPercent = json::asNumber(json::member(&e, "remainingPercent")).value_or(0);
      if (const auto* burn = json::member(&e, "burnRates"); burn && burn->IsObject()) {
        for (auto w : engine::kBurnRateWindows) {
          o.burnRates.set(w, json::asNumber(json::member(burn, engine::windowName(w))));
        }
      }
      o.tier = engine::tierFromName(json::stringOr(json::member(&e, "tier")))
                   .value_or(engine::Tier::Unknown);
      s.objectives.push_back(std::move(o));
    }
  }
  if (const auto* conditions = json::member(&v, "conditions");
      conditions && conditions->IsArray()) {
    for (const auto& e : conditions->GetArray()) {
      Condition c;
      c.type = json::stringOr(json::member(&e, "type"));
      c.status = json::stringOr(json::member(&e, "status"));
      c.reason = json::stringOr(json::member(&e, "reason"));
      c.message = json::stringOr(json::member(&e, "message"));
      c.lastTransitionTime =
          parseTime(json::stringOr(json::member(&e, "lastTransitionTime"))).value_or(TimePoint{});
      c.observedGeneration = json::asInt(json::member(&e, "observedGeneration")).value_or(0);
      if (!c.type.empty()) s.conditions.push_back(std::move(c));
    }
  }
  s.message = json::stringOr(json::member(&v, "message"));
  return s;
}

}  // namespace budgetgate::model
