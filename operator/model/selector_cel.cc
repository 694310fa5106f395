#include "operator/model/selector_cel.h"

#include <fmt/format.h>

namespace budgetgate::model {
namespace {

// A CEL single-quoted string literal. (Label keys and values are restricted to
// [A-Za-z0-9._/-] by Kubernetes; escaping keeps any other text harmless anyway.)
std::string literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string list(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + literal(v);
  return "[" + out + "]";
}

// The label maps a Deployment is identified by, each total.
const char* const kLabelMaps[] = {
    "(has({o}.metadata) && has({o}.metadata.labels) ? {o}.metadata.labels : {{}})",
    "(has({o}.spec) && has({o}.spec.template) && has({o}.spec.template.metadata) && "
    "has({o}.spec.template.metadata.labels) ? {o}.spec.template.metadata.labels : {{}})",
};

}  // namespace

std::string selectorCel(const LabelSelector& s, const std::string& labels) {
  std::vector<std::string> terms;
  for (const auto& [k, v] : s.matchLabels) {
    terms.push_back(fmt::format("({key} in {m} && {m}[{key}] == {value})",
                                fmt::arg("key", literal(k)), fmt::arg("m", labels),
                                fmt::arg("value", literal(v))));
  }
  for (const auto& r : s.matchExpressions) {
    const auto key = literal(r.key);
    switch (r.op) {
      case LabelRequirement::Operator::In:
        terms.push_back(fmt::format("({k} in {m} && {m}[{k}] in {v})", fmt::arg("k", key),
                                    fmt::arg("m", labels), fmt::arg("v", list(r.values))));
        break;
      case LabelRequirement::Operator::NotIn:
        terms.push_back(fmt::format("(!({k} in {m}) || !({m}[{k}] in {v}))", fmt::arg("k", key),
                                    fmt::arg("m", labels), fmt::arg("v", list(r.values))));
        break;
      case LabelRequirement::Operator::Exists:
        terms.push_back(fmt::format("({} in {})", key, labels));
        break;
      case LabelRequirement::Operator::DoesNotExist:
        terms.push_back(fmt::format("!({} in {})", key, labels));
        break;
    }
  }
  if (terms.empty()) return "true";  // an empty selector matches everything
  std::string out;
  for (const auto& t : terms) out += (out.empty() ? "" : " && ") + t;
  return terms.size() == 1 ? out : "(" + out + ")";
}

std::string gatedWorkloadsCel(
    const std::map<std::string, std::vector<LabelSelector>>& byNamespace) {
  std::vector<std::string> namespaces;
  for (const auto& [ns, selectors] : byNamespace) {
    if (selectors.empty()) continue;
    std::vector<std::string> objects;
    for (const char* o : {"object", "oldObject"}) {
      std::vector<std::string> alternatives;
      for (const char* map : kLabelMaps) {
        const std::string labels = fmt::format(fmt::runtime(map), fmt::arg("o", o));
        for (const auto& s : selectors) alternatives.push_back(selectorCel(s, labels));
      }
      std::string any;
      for (const auto& a : alternatives) any += (any.empty() ? "" : " || ") + a;
      objects.push_back(fmt::format("({} != null && ({}))", o, any));
    }
    namespaces.push_back(fmt::format("(request.namespace == {} && ({} || {}))", literal(ns),
                                     objects[0], objects[1]));
  }
  if (namespaces.empty()) return "false";
  std::string out;
  for (const auto& n : namespaces) out += (out.empty() ? "" : " || ") + n;
  return out;
}

}  // namespace budgetgate::model
