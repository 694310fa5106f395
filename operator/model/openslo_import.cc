#include "operator/model/openslo_import.h"

#include <fmt/format.h>

#include <cctype>

namespace budgetgate::model {
namespace {

inline constexpr std::string_view kLabelsAnnotation = "budgetgate.dev/openslo-labels";

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63: a Kubernetes label value or key name.
bool labelName(std::string_view v, bool allowEmpty) {
  if (v.empty()) return allowEmpty;
  if (v.size() > 63 || !std::isalnum(static_cast<unsigned char>(v.front())) ||
      !std::isalnum(static_cast<unsigned char>(v.back()))) {
    return false;
  }
  for (unsigned char c : v) {
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// A Kubernetes label key: [prefix/]name, the prefix a DNS subdomain.
bool labelKey(std::string_view k) {
  const auto slash = k.rfind('/');
  if (slash == std::string_view::npos) return labelName(k, false);
  const auto prefix = k.substr(0, slash);
  if (prefix.empty() || prefix.size() > 253) return false;
  for (unsigned char c : prefix) {
    if (!(std::islower(c) || std::isdigit(c) || c == '-' || c == '.')) return false;
  }
  return labelName(k.substr(slash + 1), false);
}

std::string scalar(const YAML::Node& n, const char* key) {
  return n && n[key] && n[key].IsScalar() ? n[key].Scalar() : std::string();
}

// {metricSource: {metricSourceRef?, type?, spec}} with the DataSource's type filled in.
YAML::Node metric(const YAML::Node& holder, const OpenSloCatalog& catalog) {
  YAML::Node out;
  const YAML::Node source = holder["metricSource"];
  YAML::Node ms;
  std::string type = scalar(source, "type");
  const std::string ref = scalar(source, "metricSourceRef");
  if (type.empty() && !ref.empty()) {
    if (auto it = catalog.dataSources.find(ref); it != catalog.dataSources.end()) {
      type = scalar(it->second["spec"], "type");
    }
  }
  ms["type"] = type.empty() ? std::string("Prometheus") : type;
  // Kept: the controller reads it from the data source of that name its administrator declares.
  if (!ref.empty()) ms["metricSourceRef"] = ref;
  YAML::Node spec;
  const std::string query = !scalar(source["spec"], "query").empty()
                                ? scalar(source["spec"], "query")
                                : scalar(source["spec"], "promql");
  spec["query"] = query;
  ms["spec"] = spec;
  out["metricSource"] = ms;
  return out;
}

// An SLI's spec (ratioMetric or thresholdMetric) as the CRD holds it.
YAML::Node indicatorSpec(const YAML::Node& spec, const OpenSloCatalog& catalog) {
  YAML::Node out;
  if (const YAML::Node ratio = spec["ratioMetric"]) {
    YAML::Node r;
    if (ratio["counter"]) r["counter"] = ratio["counter"].as<bool>();
    for (const char* key : {"good", "bad", "total", "raw"}) {
      if (ratio[key]) r[key] = metric(ratio[key], catalog);
    }
    if (ratio["rawType"]) r["rawType"] = scalar(ratio, "rawType");
    out["ratioMetric"] = r;
  } else if (const YAML::Node threshold = spec["thresholdMetric"]) {
    out["thresholdMetric"] = metric(threshold, catalog);
  }
  return out;
}

// `holder` has indicator (inline) or indicatorRef; the result is an inline indicator.
YAML::Node indicator(const YAML::Node& holder, const OpenSloCatalog& catalog) {
  YAML::Node out;
  std::string name;
  YAML::Node spec;
  if (const std::string ref = scalar(holder, "indicatorRef"); !ref.empty()) {
    const YAML::Node& sli = catalog.slis.at(ref);
    name = scalar(sli["metadata"], "name");
    spec = sli["spec"];
  } else {
    name = scalar(holder["indicator"]["metadata"], "name");
    spec = holder["indicator"]["spec"];
  }
  if (!name.empty()) out["metadata"]["name"] = name;
  out["spec"] = indicatorSpec(spec, catalog);
  return out;
}

}  // namespace

std::optional<ImportResult> importOpenSloSlo(const YAML::Node& doc, const OpenSloCatalog& catalog,
                                             const std::string& ns, Diagnostics& diagnostics) {
  const auto parsed = parseSlo(doc, diagnostics, &catalog);
  if (!parsed) return std::nullopt;
  ImportResult r;
  if (!parsed->dataSource.empty()) {
    r.notes.push_back(fmt::format(
        "SLO {}: reads data source \"{}\" (metricSourceRef, kept): the controller evaluates it "
        "only if its administrators declare a data source of that name (--datasources; chart "
        "prometheus.dataSources), else its tier is unknown",
        parsed->name, parsed->dataSource));
  }
  YAML::Node m;
  m["apiVersion"] = std::string(kApiVersion);
  m["kind"] = "ServiceLevelObjective";
  const YAML::Node meta = doc["metadata"];
  const std::string name = scalar(meta, "name");
  m["metadata"]["name"] = name;
  m["metadata"]["namespace"] =
      !ns.empty() ? ns
                  : (!scalar(meta, "namespace").empty() ? scalar(meta, "namespace") : "default");
  if (const std::string display = scalar(meta, "displayName"); !display.empty()) {
    // Kubernetes objects have no displayName.
    m["metadata"]["annotations"][std::string(kDisplayNameAnnotation)] = display;
  }
  // OpenSLO labels may hold lists and free text; Kubernetes labels may not. Those that fit are
  // kept as labels, the others (all of them, as YAML flow text) in an annotation.
  if (meta && meta["labels"] && meta["labels"].IsMap()) {
    YAML::Node rest;
    for (const auto& kv : meta["labels"]) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      if (labelKey(key) && kv.second.IsScalar() && labelName(kv.second.Scalar(), true)) {
        m["metadata"]["labels"][key] = kv.second.Scalar();
      } else {
        rest[kv.first] = kv.second;
      }
    }
    if (rest.size() > 0) {
      YAML::Emitter flow;
      flow << YAML::Flow << rest;
      m["metadata"]["annotations"][std::string(kLabelsAnnotation)] = std::string(flow.c_str());
      r.notes.push_back(
          fmt::format("SLO {}: labels that are not Kubernetes labels kept in annotation {}",
                      scalar(meta, "name"), kLabelsAnnotation));
    }
  }
  if (meta && meta["annotations"] && meta["annotations"].IsMap()) {
    for (const auto& kv : meta["annotations"]) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      if (labelKey(key) && kv.second.IsScalar()) {
        m["metadata"]["annotations"][key] = kv.second.Scalar();
      } else {
        r.notes.push_back(
            fmt::format("SLO {}: annotation \"{}\" dropped (not a Kubernetes "
                        "annotation key, or not a string)",
                        scalar(meta, "name"), key));
      }
    }
  }
  const YAML::Node spec = doc["spec"];
  YAML::Node out;
  if (spec["description"]) out["description"] = scalar(spec, "description");
  out["service"] = scalar(spec, "service");
  if (spec["indicator"] || spec["indicatorRef"]) out["indicator"] = indicator(spec, catalog);
  YAML::Node windows;
  for (const auto& w : spec["timeWindow"]) {
    YAML::Node window;
    window["duration"] = scalar(w, "duration");
    const bool calendar = static_cast<bool>(w["calendar"]);
    window["isRolling"] = w["isRolling"] ? w["isRolling"].as<bool>() : !calendar;
    if (calendar) window["calendar"] = w["calendar"];
    windows.push_back(window);
  }
  out["timeWindow"] = windows;
  out["budgetingMethod"] = scalar(spec, "budgetingMethod");
  YAML::Node objectives;
  for (const auto& o : spec["objectives"]) {
    YAML::Node obj;
    for (const char* key : {"displayName", "target", "targetPercent", "op", "value",
                            "timeSliceTarget", "timeSliceWindow", "compositeWeight"}) {
      if (o[key]) obj[key] = o[key];
    }
    if (o["indicator"] || o["indicatorRef"]) obj["indicator"] = indicator(o, catalog);
    objectives.push_back(obj);
  }
  out["objectives"] = objectives;
  if (const YAML::Node policies = spec["alertPolicies"]; policies && policies.IsSequence()) {
    YAML::Node names;
    for (const auto& p : policies) {
      if (p.IsScalar()) {
        names.push_back(p.Scalar());
      } else if (!scalar(p, "alertPolicyRef").empty()) {
        names.push_back(scalar(p, "alertPolicyRef"));
      } else if (!scalar(p["metadata"], "name").empty()) {
        names.push_back(scalar(p["metadata"], "name"));
        r.notes.push_back(fmt::format(
            "SLO {}: inline AlertPolicy \"{}\" kept by name only (budgetgate generates its own "
            "alerts: budgetgate rules)",
            name, scalar(p["metadata"], "name")));
      }
    }
    if (names.size() > 0) out["alertPolicies"] = names;
  }
  m["spec"] = out;
  r.manifest = m;
  return r;
}

}  // namespace budgetgate::model
