#include "operator/model/data_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <string_view>

#include "operator/model/field.h"
#include "operator/model/slo_parser.h"

namespace budgetgate::model {
namespace {

std::optional<DataSourceDeclaration> parseOne(const Field& root) {
  if (!root.expectMap(true)) return std::nullopt;
  root.rejectUnknownKeys({"apiVersion", "kind", "metadata", "spec"});
  const auto api = root.child("apiVersion").string(true);
  const auto kind = root.child("kind").string(true);
  if (api && kind && (*api != "openslo/v1" || *kind != "DataSource")) {
    root.error(
        fmt::format("expected apiVersion openslo/v1 kind DataSource, got {} {}", *api, *kind));
    return std::nullopt;
  }
  DataSourceDeclaration d;
  const Field meta = root.child("metadata");
  if (meta.expectMap(true)) {
    d.name = meta.child("name").string(true).value_or("");
    if (!d.name.empty() && !isDnsLabel(d.name)) {
      meta.child("name").error(fmt::format(
          "\"{}\" is not a DNS label (what an SLO's metricSourceRef can name)", d.name));
    }
  }
  const Field spec = root.child("spec");
  if (!spec.expectMap(true)) return std::nullopt;
  spec.rejectUnknownKeys({"description", "type", "connectionDetails"});
  if (auto type = spec.child("type").string(true);
      type && *type != "Prometheus" && *type != "prometheus") {
    spec.child("type").error(fmt::format(
        "only Prometheus data sources (and Prometheus-compatible APIs) are supported, got \"{}\"",
        *type));
  }
  const Field c = spec.child("connectionDetails");
  if (!c.expectMap(true)) return std::nullopt;
  c.rejectUnknownKeys({"url", "headers", "timeout", "bearerTokenFile", "basicAuthFile", "caFile",
                       "insecureSkipVerify", "allowedNamespaces"});
  d.url = c.child("url").string(true).value_or("");
  if (!d.url.empty() && d.url.rfind("http://", 0) != 0 && d.url.rfind("https://", 0) != 0) {
    c.child("url").error(fmt::format("expected an http:// or https:// URL, got \"{}\"", d.url));
  }
  const Field headers = c.child("headers");
  if (headers.expectMap()) {
    for (const auto& kv : headers.node()) {
      const auto name = kv.first.as<std::string>();
      const Field value = headers.child(name);
      const auto text = value.string(true);
      if (!text) continue;
      if (!validHeader(name, *text)) {
        value.error(
            fmt::format("\"{}\" is not a valid HTTP header name, or its value holds a line "
                        "break",
                        name));
        continue;
      }
      d.headers.emplace_back(name, *text);
    }
  }
  d.timeout = c.child("timeout").string().value_or("");
  if (!d.timeout.empty()) {
    if (auto t = c.child("timeout").duration(); !t || t->count() <= 0) {
      if (t) c.child("timeout").error("must be longer than 0s");
    }
  }
  d.bearerTokenFile = c.child("bearerTokenFile").string().value_or("");
  d.basicAuthFile = c.child("basicAuthFile").string().value_or("");
  d.caFile = c.child("caFile").string().value_or("");
  d.insecureSkipVerify = c.child("insecureSkipVerify").boolean().value_or(false);
  const Field allowed = c.child("allowedNamespaces");
  if (allowed.expectSequence()) {
    for (std::size_t i = 0; i < allowed.size(); ++i) {
      auto ns = allowed.item(i).string(true);
      if (!ns) continue;
      if (!isDnsLabel(*ns)) {
        allowed.item(i).error(fmt::format("\"{}\" is not a namespace name", *ns));
        continue;
      }
      d.allowedNamespaces.push_back(*ns);
    }
    if (allowed.size() == 0) {
      allowed.error("an empty list would allow no namespace: leave it out to allow every one");
    }
  }
  return d;
}

}  // namespace

bool DataSourceDeclaration::allows(const std::string& ns) const {
  return allowedNamespaces.empty() || std::find(allowedNamespaces.begin(), allowedNamespaces.end(),
                                                ns) != allowedNamespaces.end();
}

bool validHeader(const std::string& name, const std::string& value) {
  if (name.empty()) return false;
  for (unsigned char ch : name) {
    if (!(std::isalnum(ch) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(ch)) !=
                                  std::string_view::npos)) {
      return false;
    }
  }
  return value.find_first_of("\r\n") == std::string::npos;
}

std::vector<DataSourceDeclaration> parseDataSources(const std::vector<YAML::Node>& docs,
                                                    Diagnostics& diagnostics) {
  std::vector<DataSourceDeclaration> out;
  std::set<std::string> names;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    if (!docs[i].IsDefined() || docs[i].IsNull()) continue;  // an empty document ("---\n---")
    const std::size_t errorsBefore = diagnostics.errors().size();
    const Field root(docs[i], fmt::format("[{}]", i), diagnostics);
    auto d = parseOne(root);
    if (d && !d->name.empty() && !names.insert(d->name).second) {
      root.child("metadata")
          .child("name")
          .error(fmt::format("data source \"{}\" is declared twice", d->name));
    }
    if (d && diagnostics.errors().size() == errorsBefore) out.push_back(std::move(*d));
  }
  return out;
}

}  // namespace budgetgate::model
