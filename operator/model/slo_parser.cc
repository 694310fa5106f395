#include "operator/model/slo_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "operator/model/field.h"
#include "operator/model/window_bounds.h"

namespace budgetgate::model {
namespace {

std::string_view kindOf(const YAML::Node& doc) {
  if (!doc.IsMap() || !doc["kind"] || !doc["kind"].IsScalar()) return {};
  return doc["kind"].Scalar();
}

std::string_view apiVersionOf(const YAML::Node& doc) {
  if (!doc.IsMap() || !doc["apiVersion"] || !doc["apiVersion"].IsScalar()) return {};
  return doc["apiVersion"].Scalar();
}

std::optional<MetricSource> parseMetricSource(const Field& holder) {
  // holder is e.g. spec.indicator.spec.ratioMetric.good; it contains metricSource.
  if (!holder.expectMap(true)) return std::nullopt;
  holder.rejectUnknownKeys({"metricSource", "metricSourceRef"});
  if (holder.child("metricSourceRef").present()) {
    holder.child("metricSourceRef")
        .error("references to DataSource objects are not supported; inline metricSource");
    return std::nullopt;
  }
  const Field source = holder.child("metricSource");
  if (!source.expectMap(true)) return std::nullopt;
  source.rejectUnknownKeys({"type", "spec", "metricSourceRef"});
  MetricSource result;
  result.type = source.child("type").string(true).value_or("");
  if (!result.type.empty() && result.type != "Prometheus" && result.type != "prometheus") {
    source.child("type").error(
        fmt::format("only Prometheus metric sources are supported, got \"{}\"", result.type));
  }
  const Field spec = source.child("spec");
  if (spec.expectMap(true)) {
    spec.rejectUnknownKeys({"query", "promql"});
    auto query = spec.child("query").string();
    if (!query) query = spec.child("promql").string();
    if (!query) {
      spec.missing("query", "a PromQL selector or expression");
    } else if (std::all_of(query->begin(), query->end(),
                           [](unsigned char c) { return std::isspace(c); })) {
      spec.child("query").error("must not be empty");
    } else {
      result.query = *query;
    }
  }
  return result;
}

std::optional<Indicator> parseIndicator(const Field& spec) {
  if (spec.child("indicatorRef").present()) {
    spec.child("indicatorRef")
        .error("references to SLI objects are not supported; inline the indicator");
    return std::nullopt;
  }
  const Field ind = spec.child("indicator");
  if (!ind.expectMap(true)) return std::nullopt;
  ind.rejectUnknownKeys({"metadata", "spec"});
  Indicator indicator;
  indicator.name = ind.child("metadata").child("name").string().value_or("");
  const Field s = ind.child("spec");
  if (!s.expectMap(true)) return std::nullopt;
  s.rejectUnknownKeys({"ratioMetric", "thresholdMetric"});
  const Field ratio = s.child("ratioMetric");
  const Field threshold = s.child("thresholdMetric");
  if (ratio.present() == threshold.present()) {
    s.error("needs exactly one of ratioMetric or thresholdMetric");
    return std::nullopt;
  }
  if (ratio.present()) {
    if (!ratio.expectMap()) return std::nullopt;
    ratio.rejectUnknownKeys({"counter", "good", "bad", "total", "rawType", "raw"});
    if (ratio.child("raw").present() || ratio.child("rawType").present()) {
      ratio.error("raw ratio metrics are not supported; use good or bad with total");
      return std::nullopt;
    }
    RatioMetric m;
    m.counter = ratio.child("counter").boolean().value_or(true);
    const bool hasGood = ratio.child("good").present();
    const bool hasBad = ratio.child("bad").present();
    if (hasGood == hasBad) {
      ratio.error("needs exactly one of good or bad (plus total)");
    }
    if (hasGood) m.good = parseMetricSource(ratio.child("good"));
    if (hasBad) m.bad = parseMetricSource(ratio.child("bad"));
    auto total = parseMetricSource(ratio.child("total"));
    if (total) m.total = *total;
    if (!m.counter) {
      for (const char* key : {"good", "bad", "total"}) {
        const Field q = ratio.child(key).child("metricSource").child("spec").child("query");
        if (q.present() && q.node().IsScalar() &&
            q.node().Scalar().find("$window") == std::string::npos) {
          q.error(
              "with counter: false the query must contain $window (replaced by each window, "
              "e.g. sum(increase(x[$window])))");
        }
      }
    }
    indicator.metric = std::move(m);
  } else {
    if (!threshold.expectMap()) return std::nullopt;
    ThresholdMetric m;
    if (auto src = parseMetricSource(threshold)) m.source = *src;
    indicator.metric = std::move(m);
  }
  return indicator;
}

std::optional<TimeWindow> parseTimeWindow(const Field& spec) {
  const Field list = spec.child("timeWindow");
  if (!list.expectSequence(true)) return std::nullopt;
  if (list.size() != 1) {
    list.error(fmt::format("must hold exactly one window, got {}", list.size()));
    return std::nullopt;
  }
  const Field w = list.item(0);
  if (!w.expectMap(true)) return std::nullopt;
  w.rejectUnknownKeys({"duration", "isRolling", "calendar"});
  TimeWindow window;
  auto text = w.child("duration").string(true);
  if (!text) return std::nullopt;
  window.text = *text;
  window.isRolling = w.child("isRolling").boolean().value_or(true);
  // OpenSLO duration shorthand: a count and one unit of m h d w M Q Y.
  if (text->size() < 2 || !std::isdigit(static_cast<unsigned char>(text->front()))) {
    w.child("duration")
        .error(fmt::format("expected a duration such as 28d or 1M, got \"{}\"", *text));
    return std::nullopt;
  }
  const char unit = text->back();
  const std::string digits = text->substr(0, text->size() - 1);
  if (!std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      digits.size() > 6) {
    w.child("duration")
        .error(fmt::format("expected a duration such as 28d or 1M, got \"{}\"", *text));
    return std::nullopt;
  }
  const int count = std::stoi(digits);
  if (count <= 0) {
    w.child("duration").error("must be positive");
    return std::nullopt;
  }
  if (window.isRolling) {
    if (unit == 'M' || unit == 'Q' || unit == 'Y') {
      w.child("duration")
          .error(fmt::format(
              "a rolling window needs a fixed length; \"{}\" varies (use days, e.g. 30d, or set "
              "isRolling: false for a calendar window)",
              *text));
      return std::nullopt;
    }
    auto d = parseDuration(*text);
    if (!d || *d < Seconds(3600)) {
      w.child("duration")
          .error(fmt::format("expected a window of at least 1h such as 28d, got \"{}\"", *text));
      return std::nullopt;
    }
    window.duration = *d;
    if (w.child("calendar").present()) {
      w.child("calendar").error("only valid with isRolling: false");
    }
    return window;
  }
  switch (unit) {
    case 'd':
      window.calendarUnit = CalendarUnit::Day;
      break;
    case 'w':
      window.calendarUnit = CalendarUnit::Week;
      break;
    case 'M':
      window.calendarUnit = CalendarUnit::Month;
      break;
    case 'Q':
      window.calendarUnit = CalendarUnit::Quarter;
      break;
    case 'Y':
      window.calendarUnit = CalendarUnit::Year;
      break;
    default:
      w.child("duration")
          .error(fmt::format("a calendar window is counted in d, w, M, Q or Y, got \"{}\"", *text));
      return std::nullopt;
  }
  window.calendarCount = count;
  const Field cal = w.child("calendar");
  if (cal.expectMap()) {
    cal.rejectUnknownKeys({"startTime", "timeZone"});
    window.calendarStart = cal.child("startTime").string().value_or("");
    window.calendarTimeZone = cal.child("timeZone").string().value_or("UTC");
  } else {
    window.calendarTimeZone = "UTC";
  }
  std::string error;
  if (!resolveWindow(window, TimePoint(Seconds(0)) + Seconds(1'700'000'000), &error)) {
    cal.error(error);
    return std::nullopt;
  }
  return window;
}

std::optional<ThresholdOp> parseOp(const Field& f) {
  auto s = f.string();
  if (!s) return std::nullopt;
  if (*s == "lt") return ThresholdOp::Lt;
  if (*s == "lte") return ThresholdOp::Lte;
  if (*s == "gt") return ThresholdOp::Gt;
  if (*s == "gte") return ThresholdOp::Gte;
  f.error(fmt::format("expected lt, lte, gt or gte, got \"{}\"", *s));
  return std::nullopt;
}

Objective parseObjective(const Field& o, BudgetingMethod method, bool ratio) {
  Objective obj;
  o.rejectUnknownKeys({"displayName", "target", "targetPercent", "op", "value", "timeSliceTarget",
                       "timeSliceWindow", "indicator", "indicatorRef", "compositeWeight"});
  obj.displayName = o.child("displayName").string().value_or("");
  const Field target = o.child("target");
  const Field percent = o.child("targetPercent");
  if (target.present() && percent.present()) {
    o.error("set target or targetPercent, not both");
  } else if (target.present()) {
    if (auto t = target.number()) {
      if (*t > 0 && *t < 1) {
        obj.target = *t;
      } else {
        target.error(fmt::format("expected a fraction in (0, 1) such as 0.999, got {}", *t));
      }
    }
  } else if (percent.present()) {
    if (auto t = percent.number()) {
      if (*t > 0 && *t < 100) {
        obj.target = *t / 100.0;
      } else {
        percent.error(fmt::format("expected a percentage in (0, 100) such as 99.9, got {}", *t));
      }
    }
  } else {
    o.missing("target", "a fraction in (0, 1), or targetPercent in (0, 100)");
  }
  if (o.child("indicator").present() || o.child("indicatorRef").present()) {
    o.error("per-objective indicators (composite SLOs) are not supported");
  }
  obj.op = parseOp(o.child("op"));
  obj.value = o.child("value").number();
  const Field sliceTarget = o.child("timeSliceTarget");
  if (auto t = sliceTarget.number()) {
    if (*t > 0 && *t <= 1) {
      obj.timeSliceTarget = *t;
    } else {
      sliceTarget.error(fmt::format("expected a fraction in (0, 1], got {}", *t));
    }
  }
  const Field sliceWindow = o.child("timeSliceWindow");
  if (sliceWindow.present()) {
    // OpenSLO allows a number of seconds or a duration shorthand.
    const std::string& raw = sliceWindow.node().IsScalar() ? sliceWindow.node().Scalar() : "";
    if (!raw.empty() &&
        std::all_of(raw.begin(), raw.end(), [](unsigned char c) { return std::isdigit(c); })) {
      obj.timeSliceWindow = Seconds(std::stoll(raw.substr(0, 9)));
    } else {
      obj.timeSliceWindow = sliceWindow.duration();
    }
    if (obj.timeSliceWindow &&
        (*obj.timeSliceWindow < Seconds(10) || *obj.timeSliceWindow > Seconds(86400))) {
      sliceWindow.error("expected a slice between 10s and 1d");
      obj.timeSliceWindow.reset();
    }
  }
  const bool sliced = method != BudgetingMethod::Occurrences;
  if (sliced && !obj.timeSliceWindow && !sliceWindow.present()) {
    o.missing("timeSliceWindow",
              fmt::format("{} needs the slice length, e.g. 1m", budgetingMethodName(method)));
  }
  if (!sliced && sliceWindow.present()) {
    sliceWindow.error("only used with budgetingMethod Timeslices or RatioTimeslices");
  }
  if (ratio) {
    if (method == BudgetingMethod::Timeslices && !obj.timeSliceTarget && !sliceTarget.present()) {
      o.missing("timeSliceTarget", "Timeslices with a ratio metric: the good ratio a slice needs");
    }
    if (obj.op || obj.value) o.error("op and value are for thresholdMetric indicators");
  } else {
    if (!obj.op && !o.child("op").present()) o.missing("op", "thresholdMetric: lt, lte, gt or gte");
    if (!obj.value && !o.child("value").present())
      o.missing("value", "thresholdMetric: the threshold");
  }
  return obj;
}

}  // namespace

bool isSloDocument(const YAML::Node& doc) {
  const auto api = apiVersionOf(doc);
  const auto kind = kindOf(doc);
  return (api == kApiVersion && kind == "ServiceLevelObjective") ||
         (api == kOpenSloApiVersion && kind == "SLO");
}

std::string_view budgetingMethodName(BudgetingMethod m) {
  switch (m) {
    case BudgetingMethod::Occurrences:
      return "Occurrences";
    case BudgetingMethod::Timeslices:
      return "Timeslices";
    case BudgetingMethod::RatioTimeslices:
      return "RatioTimeslices";
  }
  return "Occurrences";
}

std::string_view thresholdOpName(ThresholdOp op) {
  switch (op) {
    case ThresholdOp::Lt:
      return "lt";
    case ThresholdOp::Lte:
      return "lte";
    case ThresholdOp::Gt:
      return "gt";
    case ThresholdOp::Gte:
      return "gte";
  }
  return "lt";
}

std::string_view thresholdOpPromQL(ThresholdOp op) {
  switch (op) {
    case ThresholdOp::Lt:
      return "<";
    case ThresholdOp::Lte:
      return "<=";
    case ThresholdOp::Gt:
      return ">";
    case ThresholdOp::Gte:
      return ">=";
  }
  return "<";
}

std::optional<ServiceLevelObjective> parseSlo(const YAML::Node& doc, Diagnostics& diagnostics) {
  const std::size_t errorsBefore = diagnostics.errors().size();
  const Field root(doc, "", diagnostics);
  if (!root.expectMap(true)) return std::nullopt;
  ServiceLevelObjective slo;
  slo.apiVersion = root.child("apiVersion").string(true).value_or("");
  slo.kind = root.child("kind").string(true).value_or("");
  const bool openslo = slo.apiVersion == kOpenSloApiVersion;
  if (!isSloDocument(doc)) {
    root.error(fmt::format(
        "expected apiVersion {} kind ServiceLevelObjective, or apiVersion {} kind SLO; got {} {}",
        kApiVersion, kOpenSloApiVersion, slo.apiVersion, slo.kind));
    return std::nullopt;
  }
  const Field meta = root.child("metadata");
  if (meta.expectMap(true)) {
    slo.name = meta.child("name").string(true).value_or("");
    slo.ns = meta.child("namespace").string().value_or(openslo ? "default" : "");
    slo.uid = meta.child("uid").string().value_or("");
    // Integers only: converting an out-of-range double to an integer is undefined.
    const double generation = meta.child("generation").number().value_or(0);
    if (generation >= 0 && generation < 9e15 && generation == std::floor(generation)) {
      slo.generation = static_cast<long long>(generation);
    } else {
      meta.child("generation")
          .error(fmt::format("expected a non-negative integer, got {}", generation));
    }
  }
  if (slo.ns.empty()) slo.ns = "default";
  const Field spec = root.child("spec");
  if (!spec.expectMap(true)) return std::nullopt;
  spec.rejectUnknownKeys({"description", "service", "indicator", "indicatorRef", "timeWindow",
                          "budgetingMethod", "objectives", "alertPolicies", "gate"});
  slo.description = spec.child("description").string().value_or("");
  slo.service = spec.child("service").string(true).value_or("");

  auto indicator = parseIndicator(spec);
  if (indicator) slo.indicator = std::move(*indicator);
  auto window = parseTimeWindow(spec);
  if (window) slo.window = std::move(*window);

  const Field method = spec.child("budgetingMethod");
  const auto methodText = method.string(true);
  if (methodText == "Occurrences") {
    slo.budgetingMethod = BudgetingMethod::Occurrences;
  } else if (methodText == "Timeslices") {
    slo.budgetingMethod = BudgetingMethod::Timeslices;
  } else if (methodText == "RatioTimeslices") {
    slo.budgetingMethod = BudgetingMethod::RatioTimeslices;
  } else if (methodText) {
    method.error(fmt::format("expected Occurrences, Timeslices or RatioTimeslices, got \"{}\"",
                             *methodText));
  }
  if (indicator && !indicator->isRatio() && slo.budgetingMethod != BudgetingMethod::Timeslices &&
      methodText) {
    method.error(
        "a thresholdMetric indicator needs budgetingMethod Timeslices (each slice is good when "
        "the value satisfies op/value)");
  }
  if (indicator && indicator->isRatio() && slo.budgetingMethod != BudgetingMethod::Occurrences &&
      !std::get<RatioMetric>(indicator->metric).counter) {
    method.error("Timeslices and RatioTimeslices need counter: true ratio metrics");
  }

  const Field objectives = spec.child("objectives");
  if (objectives.expectSequence(true)) {
    if (objectives.size() == 0) objectives.error("needs at least one objective");
    for (std::size_t i = 0; i < objectives.size(); ++i) {
      const Field o = objectives.item(i);
      if (!o.expectMap(true)) continue;
      slo.objectives.push_back(
          parseObjective(o, slo.budgetingMethod, !indicator || indicator->isRatio()));
    }
  }
  const Field policies = spec.child("alertPolicies");
  if (policies.expectSequence()) {
    for (std::size_t i = 0; i < policies.size(); ++i) {
      const Field p = policies.item(i);
      if (p.node().IsScalar()) {
        slo.alertPolicies.push_back(p.node().Scalar());
      } else if (p.isMap()) {
        // OpenSLO also allows inline AlertPolicy objects or {kind, metadata.name}; keep the name.
        auto name = p.child("metadata").child("name").string();
        if (!name) name = p.child("alertPolicyRef").string();
        if (name) slo.alertPolicies.push_back(*name);
      } else {
        p.error("expected an alert policy name");
      }
    }
  }

  const Field gate = spec.child("gate");
  if (gate.expectMap()) {
    if (openslo) gate.error("spec.gate is a budgetgate extension; use kind ServiceLevelObjective");
    gate.rejectUnknownKeys({"selector", "policyRef", "alerts"});
    if (gate.child("selector").present())
      slo.gate.selector = parseLabelSelector(gate.child("selector"));
    slo.gate.policyRef = gate.child("policyRef").string().value_or("");
    const Field alerts = gate.child("alerts");
    if (alerts.expectSequence()) {
      const auto known = engine::defaultAlertNames();
      for (std::size_t i = 0; i < alerts.size(); ++i) {
        const Field a = alerts.item(i);
        if (!a.expectMap(true)) continue;
        a.rejectUnknownKeys({"name", "disabled", "severity"});
        engine::AlertOverride o;
        o.name = a.child("name").string(true).value_or("");
        if (!o.name.empty() && std::find(known.begin(), known.end(), o.name) == known.end()) {
          a.child("name").error(fmt::format(
              "unknown alert \"{}\" (expected page-1h, page-6h, ticket-1d or ticket-3d)", o.name));
        }
        o.disabled = a.child("disabled").boolean().value_or(false);
        o.severity = a.child("severity").string().value_or("");
        slo.gate.alerts.push_back(std::move(o));
      }
    }
  }
  if (diagnostics.errors().size() != errorsBefore) return std::nullopt;
  return slo;
}

}  // namespace budgetgate::model
