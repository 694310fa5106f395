#include "operator/model/slo_parser.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

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

// The section of the OpenSLO v1 specification a refusal refers to.
constexpr std::string_view kSpecSli = "OpenSLO v1 §SLI";
constexpr std::string_view kSpecSlo = "OpenSLO v1 §SLO";
constexpr std::string_view kSpecObjectives = "OpenSLO v1 §Objectives";

// A metric name that says "counter" (Prometheus naming conventions).
bool looksLikeCounter(const std::string& query) {
  for (std::string_view suffix : {"_total", "_count", "_sum", "_bucket"}) {
    const auto at = query.find(suffix);
    if (at == std::string::npos) continue;
    const auto next = at + suffix.size();
    if (next == query.size() || query[next] == '{' || query[next] == '[' || query[next] == ' ')
      return true;
  }
  return false;
}

// holder is e.g. ratioMetric.good: {metricSource: {metricSourceRef?, type?, spec: {query}}}.
std::optional<MetricSource> parseMetricSource(const Field& holder, const OpenSloCatalog* catalog) {
  if (!holder.expectMap(true)) return std::nullopt;
  holder.rejectUnknownKeys({"metricSource"});
  const Field source = holder.child("metricSource");
  if (!source.expectMap(true)) return std::nullopt;
  source.rejectUnknownKeys({"type", "spec", "metricSourceRef"});
  MetricSource result;
  const Field ref = source.child("metricSourceRef");
  if (ref.present()) {
    result.dataSource = ref.string().value_or("");
    if (catalog != nullptr && catalog->dataSourcesByName) {
      // A ServiceLevelObjective names a data source its administrator declares
      // (--datasources): checked when it is evaluated, not here.
      if (!isDnsLabel(result.dataSource)) {
        ref.error(
            fmt::format("\"{}\" is not a data source name (a DNS label: lower-case letters, "
                        "digits and '-')",
                        result.dataSource));
      }
    } else {
      const YAML::Node* ds = nullptr;
      if (catalog != nullptr) {
        if (auto it = catalog->dataSources.find(result.dataSource);
            it != catalog->dataSources.end())
          ds = &it->second;
      }
      if (ds == nullptr) {
        ref.error(
            fmt::format("DataSource \"{}\" not found: give its document with the SLO (same "
                        "file or directory; {} metricSourceRef)",
                        result.dataSource, kSpecSli));
      } else if ((*ds)["spec"] && (*ds)["spec"]["type"] && (*ds)["spec"]["type"].IsScalar()) {
        result.type = (*ds)["spec"]["type"].Scalar();
      }
    }
  }
  if (auto type = source.child("type").string(!ref.present())) result.type = *type;
  if (!result.type.empty() && result.type != "Prometheus" && result.type != "prometheus") {
    (source.child("type").present() ? source.child("type") : ref)
        .error(fmt::format("only Prometheus metric sources are supported, got \"{}\" ({} "
                           "metricSource.type)",
                           result.type, kSpecSli));
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
      spec.child("query").error(
          fmt::format("must not be empty: budgetgate evaluates it ({} metricSource)", kSpecSli));
    } else {
      result.query = *query;
    }
  }
  return result;
}

// An SLI's spec: {description?, ratioMetric | thresholdMetric} (the `spec` of an inline
// indicator or of an SLI document).
std::optional<Indicator> parseIndicatorSpec(const Field& s, const OpenSloCatalog* catalog) {
  if (!s.expectMap(true)) return std::nullopt;
  s.rejectUnknownKeys({"description", "ratioMetric", "thresholdMetric"});
  if (auto d = s.child("description").string(); d && d->size() > 1050) {
    s.child("description")
        .error(fmt::format("at most 1050 characters, got {} ({})", d->size(), kSpecSli));
  }
  Indicator indicator;
  const Field ratio = s.child("ratioMetric");
  const Field threshold = s.child("thresholdMetric");
  if (ratio.present() == threshold.present()) {
    s.error(fmt::format("needs exactly one of ratioMetric or thresholdMetric ({})", kSpecSli));
    return std::nullopt;
  }
  if (threshold.present()) {
    if (!threshold.expectMap()) return std::nullopt;
    ThresholdMetric m;
    if (auto src = parseMetricSource(threshold, catalog)) m.source = *src;
    indicator.metric = std::move(m);
    return indicator;
  }
  if (!ratio.expectMap()) return std::nullopt;
  ratio.rejectUnknownKeys({"counter", "good", "bad", "total", "rawType", "raw"});
  RatioMetric m;
  const Field counter = ratio.child("counter");
  m.counter = counter.boolean().value_or(false);
  if (ratio.child("raw").present()) {
    for (const char* key : {"good", "bad", "total"}) {
      if (ratio.child(key).present()) {
        ratio.child(key).error(
            fmt::format("raw cannot be used with good, bad or total ({})", kSpecSli));
      }
    }
    m.raw = parseMetricSource(ratio.child("raw"), catalog);
    const Field rawType = ratio.child("rawType");
    const auto type = rawType.string(true);
    if (type == "success") {
      m.rawType = RawType::Success;
    } else if (type == "failure") {
      m.rawType = RawType::Failure;
    } else if (type) {
      rawType.error(fmt::format("expected success or failure, got \"{}\" ({})", *type, kSpecSli));
    }
    indicator.metric = std::move(m);
    return indicator;
  }
  if (ratio.child("rawType").present()) {
    ratio.child("rawType").error(fmt::format("only valid with raw ({})", kSpecSli));
  }
  const bool hasGood = ratio.child("good").present();
  const bool hasBad = ratio.child("bad").present();
  if (hasGood == hasBad) {
    ratio.error(
        fmt::format("needs exactly one of good or bad (plus total), or raw ({})", kSpecSli));
  }
  if (hasGood) m.good = parseMetricSource(ratio.child("good"), catalog);
  if (hasBad) m.bad = parseMetricSource(ratio.child("bad"), catalog);
  auto total = parseMetricSource(ratio.child("total"), catalog);
  if (total) m.total = *total;
  if (!counter.present()) {
    // OpenSLO's default is a gauge; a query that names a counter almost certainly means
    // counter: true, and reading it as a gauge gives the ratio of lifetime totals. Valid
    // OpenSLO, so a warning, not an error.
    for (const auto* q :
         {m.good ? &m.good->query : nullptr, m.bad ? &m.bad->query : nullptr, &m.total.query}) {
      if (q != nullptr && q->find("$window") == std::string::npos && looksLikeCounter(*q)) {
        counter.warn(
            "is not set, and OpenSLO reads that as false (a gauge), but the queries name "
            "counters (…_total): set counter: true (budgetgate then counts increases), or "
            "counter: false to say that the ratio of the raw values is meant");
        break;
      }
    }
  }
  indicator.metric = std::move(m);
  return indicator;
}

// An SLI document from the catalog, by name (for indicatorRef).
std::optional<Indicator> resolveSli(const Field& ref, const OpenSloCatalog* catalog) {
  const auto name = ref.string(true);
  if (!name) return std::nullopt;
  if (catalog == nullptr || catalog->slis.count(*name) == 0) {
    ref.error(
        fmt::format("SLI \"{}\" not found: give its document with the SLO (same file or "
                    "directory; {} indicatorRef)",
                    *name, kSpecSlo));
    return std::nullopt;
  }
  const YAML::Node& doc = catalog->slis.at(*name);
  Diagnostics& diag = ref.diagnostics();
  const Field sli(doc, fmt::format("SLI {}", *name), diag);
  auto indicator = parseIndicatorSpec(sli.child("spec"), catalog);
  if (indicator) indicator->name = *name;
  return indicator;
}

// `holder` holds `indicator` (inline: {metadata, spec}) or `indicatorRef`.
std::optional<Indicator> parseIndicator(const Field& holder, const OpenSloCatalog* catalog,
                                        bool required) {
  const Field ref = holder.child("indicatorRef");
  const Field ind = holder.child("indicator");
  if (ref.present() && ind.present()) {
    holder.error(fmt::format("set indicator or indicatorRef, not both ({})", kSpecSlo));
    return std::nullopt;
  }
  if (ref.present()) return resolveSli(ref, catalog);
  if (!ind.present()) {
    if (required) holder.missing("indicator", "an inline SLI, or indicatorRef to an SLI document");
    return std::nullopt;
  }
  if (!ind.expectMap(true)) return std::nullopt;
  ind.rejectUnknownKeys({"metadata", "spec"});
  auto indicator = parseIndicatorSpec(ind.child("spec"), catalog);
  if (indicator) indicator->name = ind.child("metadata").child("name").string().value_or("");
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
  // OpenSLO: "if omitted assumed false if calendar: is present".
  window.isRolling = w.child("isRolling").boolean().value_or(!w.child("calendar").present());
  if (!window.isRolling && !w.child("calendar").present()) {
    w.error(
        fmt::format("a calendar-aligned window (isRolling: false) needs calendar with "
                    "startTime and timeZone ({} timeWindow)",
                    kSpecSlo));
    return std::nullopt;
  }
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
  if (std::string_view("mhdwMQY").find(unit) == std::string_view::npos) {
    w.child("duration")
        .error(fmt::format("expected a duration in m, h, d, w, M, Q or Y such as 28d, got \"{}\" "
                           "({} duration shorthand)",
                           *text, kSpecSlo));
    return std::nullopt;
  }
  if (window.isRolling) {
    if (unit == 'M' || unit == 'Q' || unit == 'Y') {
      // Valid OpenSLO that budgetgate cannot compute exactly: months differ in length.
      w.child("duration")
          .error(fmt::format(
              "budgetgate supports rolling windows of fixed length only; \"{}\" varies (use "
              "days, e.g. 30d, or isRolling: false with a calendar for a calendar window) ({} "
              "timeWindow)",
              *text, kSpecSlo));
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
  window.calendarTimeZone = "UTC";
  if (cal.expectMap()) {
    cal.rejectUnknownKeys({"startTime", "timeZone"});
    window.calendarStart = cal.child("startTime").string().value_or("");
    window.calendarTimeZone = cal.child("timeZone").string().value_or("UTC");
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

Objective parseObjective(const Field& o, BudgetingMethod method,
                         const std::optional<Indicator>& sloIndicator, bool composite,
                         const OpenSloCatalog* catalog) {
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
      if (*t >= 0 && *t < 1) {  // OpenSLO: [0.0, 1.0)
        obj.target = *t;
      } else {
        target.error(fmt::format("expected a fraction in [0, 1) such as 0.999, got {} ({} target)",
                                 *t, kSpecObjectives));
      }
    }
  } else if (percent.present()) {
    if (auto t = percent.number()) {
      if (*t >= 0 && *t < 100) {  // OpenSLO: [0.0, 100)
        obj.target = *t / 100.0;
      } else {
        percent.error(
            fmt::format("expected a percentage in [0, 100) such as 99.9, got {} ({} "
                        "targetPercent)",
                        *t, kSpecObjectives));
      }
    }
  } else {
    o.missing("target", "a fraction in [0, 1), or targetPercent in [0, 100)");
  }
  // Composite SLOs: an indicator per objective, and a weight.
  const bool own = o.child("indicator").present() || o.child("indicatorRef").present();
  if (composite) {
    obj.indicator = parseIndicator(o, catalog, true);
  } else if (own) {
    o.error(
        fmt::format("an objective's own indicator makes a composite SLO: then every objective "
                    "needs one and spec.indicator must go ({} Composite SLO)",
                    kSpecObjectives));
  }
  const Field weight = o.child("compositeWeight");
  if (auto w = weight.number()) {
    if (!(*w > 0)) {
      weight.error(fmt::format("expected a weight above 0, got {} ({})", *w, kSpecObjectives));
    } else {
      obj.compositeWeight = *w;
    }
  }
  const std::optional<Indicator>& indicator = composite ? obj.indicator : sloIndicator;
  const bool ratio = !indicator || indicator->isRatio();
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
    const std::string& raw = sliceWindow.node().IsScalar() ? sliceWindow.node().Scalar() : "";
    if (!raw.empty() &&
        std::all_of(raw.begin(), raw.end(), [](unsigned char c) { return std::isdigit(c); })) {
      sliceWindow.error(fmt::format(
          "a bare number is not a duration: write the unit, e.g. {}m ({} timeSliceWindow)", raw,
          kSpecObjectives));
    } else if (!raw.empty() &&
               std::string_view("mhdw").find(raw.back()) == std::string_view::npos) {
      sliceWindow.error(fmt::format(
          "expected a duration in m, h, d or w such as 5m, got \"{}\" ({} duration shorthand)", raw,
          kSpecSlo));
    } else {
      obj.timeSliceWindow = sliceWindow.duration();
    }
    if (obj.timeSliceWindow &&
        (*obj.timeSliceWindow < Seconds(60) || *obj.timeSliceWindow > Seconds(86400))) {
      sliceWindow.error(
          fmt::format("budgetgate supports slices between 1m and 1d, got {} ({} timeSliceWindow)",
                      raw, kSpecObjectives));
      obj.timeSliceWindow.reset();
    }
  }
  const bool sliced = method != BudgetingMethod::Occurrences;
  if (sliced && !obj.timeSliceWindow && !sliceWindow.present()) {
    o.missing("timeSliceWindow",
              fmt::format("{} needs the slice length, e.g. 1m", budgetingMethodName(method)));
  }
  if (method == BudgetingMethod::Timeslices && !obj.timeSliceTarget && !sliceTarget.present()) {
    o.missing("timeSliceTarget",
              fmt::format("Timeslices: the share of a slice that must be good, e.g. 0.95 ({} "
                          "timeSliceTarget)",
                          kSpecObjectives));
  }
  // With another budgeting method timeSliceTarget means nothing; OpenSLO (and oslo) allow it,
  // so it is accepted and ignored.
  if (method != BudgetingMethod::Timeslices) obj.timeSliceTarget.reset();
  if (ratio) {
    if (obj.op || obj.value) {
      o.error(
          fmt::format("op and value are for thresholdMetric indicators ({} op)", kSpecObjectives));
    }
  } else {
    if (!obj.op && !o.child("op").present()) o.missing("op", "thresholdMetric: lt, lte, gt or gte");
    if (!obj.value && !o.child("value").present())
      o.missing("value", "thresholdMetric: the threshold");
  }
  return obj;
}

}  // namespace

bool isDnsLabel(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  const auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!ok(name.front()) || !ok(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return ok(c) || c == '-'; });
}

bool isSloDocument(const YAML::Node& doc) {
  const auto api = apiVersionOf(doc);
  const auto kind = kindOf(doc);
  return (api == kApiVersion && kind == "ServiceLevelObjective") ||
         (api == kOpenSloApiVersion && kind == "SLO");
}

std::string_view openSloKind(const YAML::Node& doc) {
  if (apiVersionOf(doc) != kOpenSloApiVersion) return {};
  return kindOf(doc);
}

bool isOpenSloDocument(const YAML::Node& doc) {
  return !openSloKind(doc).empty();
}

bool validateOpenSloSupport(const YAML::Node& doc, Diagnostics& diagnostics,
                            const OpenSloCatalog* catalog) {
  const std::size_t errorsBefore = diagnostics.errors().size();
  const Field root(doc, "", diagnostics);
  if (!root.expectMap(true)) return false;
  const auto kind = openSloKind(doc);
  root.rejectUnknownKeys({"apiVersion", "kind", "metadata", "spec"});
  const Field meta = root.child("metadata");
  if (meta.expectMap(true)) {
    const auto name = meta.child("name").string(true).value_or("");
    if (!name.empty() && !isDnsLabel(name)) {
      meta.child("name").error(fmt::format("\"{}\" is not a DNS label", name));
    }
  }
  const Field spec = root.child("spec");
  if (kind == "SLI") {
    parseIndicatorSpec(spec, catalog);
  } else if (kind == "DataSource") {
    if (spec.expectMap(true)) {
      spec.rejectUnknownKeys({"description", "type", "connectionDetails"});
      spec.child("type").string(true);
      if (auto d = spec.child("description").string(); d && d->size() > 1050) {
        spec.child("description").error(fmt::format("at most 1050 characters, got {}", d->size()));
      }
    }
  } else {
    root.error(fmt::format("expected an openslo/v1 SLI or DataSource, got {}", kind));
  }
  return diagnostics.errors().size() == errorsBefore;
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

std::optional<ServiceLevelObjective> parseSlo(const YAML::Node& doc, Diagnostics& diagnostics,
                                              const OpenSloCatalog* catalog) {
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
  // In a ServiceLevelObjective, metricSourceRef names an administrator's data source.
  OpenSloCatalog resourceCatalog;
  if (!openslo) {
    if (catalog != nullptr) resourceCatalog = *catalog;
    resourceCatalog.dataSourcesByName = true;
    catalog = &resourceCatalog;
  }
  const Field meta = root.child("metadata");
  if (meta.expectMap(true)) {
    slo.name = meta.child("name").string(true).value_or("");
    if (!slo.name.empty() && !isDnsLabel(slo.name)) {
      meta.child("name").error(fmt::format(
          "\"{}\" is not a DNS label: lower-case letters, digits and '-', at most 63, starting "
          "and ending with a letter or digit (OpenSLO v1 and Kubernetes names)",
          slo.name));
    }
    slo.ns = meta.child("namespace").string().value_or(openslo ? "default" : "");
    slo.uid = meta.child("uid").string().value_or("");
    const Field labels = meta.child("labels");
    if (labels.isMap()) {
      for (const auto& kv : labels.node()) {
        if (kv.second.IsScalar()) slo.labels[kv.first.as<std::string>()] = kv.second.Scalar();
      }
    }
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

  if (slo.description.size() > 1050) {
    spec.child("description")
        .error(
            fmt::format("at most 1050 characters, got {} ({})", slo.description.size(), kSpecSlo));
  }
  // A composite SLO has an indicator per objective instead of one for the SLO.
  const Field objectives = spec.child("objectives");
  bool composite = false;
  if (objectives.isSequence() && objectives.size() > 0) {
    const Field first = objectives.item(0);
    composite = first.child("indicator").present() || first.child("indicatorRef").present();
  }
  std::optional<Indicator> indicator;
  if (composite) {
    if (spec.child("indicator").present() || spec.child("indicatorRef").present()) {
      spec.error(
          fmt::format("a composite SLO (objectives with their own indicators) has no "
                      "spec.indicator ({} Composite SLO)",
                      kSpecObjectives));
    }
  } else {
    indicator = parseIndicator(spec, catalog, true);
    if (indicator) slo.indicator = *indicator;
  }
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

  if (!objectives.present()) {
    spec.missing("objectives", fmt::format("a list: budgetgate needs at least one objective to "
                                           "have a budget ({})",
                                           kSpecObjectives));
  } else if (objectives.expectSequence()) {
    if (objectives.size() == 0) {
      objectives.error(
          fmt::format("needs at least one objective: budgetgate has no budget without one ({})",
                      kSpecObjectives));
    }
    if (indicator && !indicator->isRatio() && objectives.size() > 1) {
      objectives.error(
          fmt::format("a thresholdMetric SLO has one objective ({} objectives)", kSpecSlo));
    }
    for (std::size_t i = 0; i < objectives.size(); ++i) {
      const Field o = objectives.item(i);
      if (!o.expectMap(true)) continue;
      slo.objectives.push_back(
          parseObjective(o, slo.budgetingMethod, indicator, composite, catalog));
    }
  }
  const Field policies = spec.child("alertPolicies");
  if (policies.expectSequence()) {
    for (std::size_t i = 0; i < policies.size(); ++i) {
      const Field p = policies.item(i);
      if (p.node().IsScalar()) {
        slo.alertPolicies.push_back(p.node().Scalar());
      } else if (p.isMap()) {
        // OpenSLO: a reference {alertPolicyRef: name} and nothing else, or an inline AlertPolicy
        // {kind, metadata, spec}; keep the name (budgetgate generates alerts itself).
        if (p.child("alertPolicyRef").present()) {
          if (p.node().size() != 1) {
            p.error(
                fmt::format("an alertPolicyRef item holds only alertPolicyRef, not also an "
                            "inline AlertPolicy ({} alertPolicies)",
                            kSpecSlo));
          }
          if (auto name = p.child("alertPolicyRef").string(true)) {
            slo.alertPolicies.push_back(*name);
          }
        } else if (auto name = p.child("metadata").child("name").string(true)) {
          if (p.child("kind").string().value_or("AlertPolicy") != "AlertPolicy") {
            p.child("kind").error(fmt::format(
                "an inline alert policy has kind AlertPolicy ({} alertPolicies)", kSpecSlo));
          }
          slo.alertPolicies.push_back(*name);
        }
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
  // One data source per SLO: its queries are planned and shared per data source.
  std::set<std::string> sources;
  forEachMetricSource(slo, [&](const MetricSource& m) {
    sources.insert(m.dataSource.empty() ? "(none: the default)" : m.dataSource);
  });
  if (sources.size() > 1) {
    spec.error(fmt::format(
        "every metric source of an SLO reads the same data source (metricSourceRef), got {}",
        fmt::join(sources, ", ")));
    return std::nullopt;
  }
  forEachMetricSource(slo, [&](const MetricSource& m) { slo.dataSource = m.dataSource; });
  return slo;
}

}  // namespace budgetgate::model
