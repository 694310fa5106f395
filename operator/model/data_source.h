#pragma once
// The data sources an administrator declares to the controller (--datasources): OpenSLO v1
// DataSource documents of type Prometheus whose connectionDetails say how to reach each one.
// SLOs pick one by name (metricSourceRef); they never carry a URL, so an SLO author cannot make
// the controller call an address of their choosing.

#include <yaml-cpp/yaml.h>

#include <string>
#include <utility>
#include <vector>

#include "operator/model/diagnostics.h"

namespace budgetgate::model {

struct DataSourceDeclaration {
  std::string name;  // metadata.name: what metricSourceRef says
  std::string url;   // connectionDetails.url
  // connectionDetails.headers, e.g. X-Scope-OrgID for a Mimir, Cortex or Thanos tenant.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string timeout;  // connectionDetails.timeout; empty: the --prometheus-timeout
  std::string bearerTokenFile;
  std::string basicAuthFile;
  std::string caFile;
  bool insecureSkipVerify = false;
  // connectionDetails.allowedNamespaces: the namespaces whose SLOs may read it; empty: all.
  std::vector<std::string> allowedNamespaces;

  bool allows(const std::string& ns) const;
};

// Every DataSource of `docs` (documents of other kinds are errors: the file holds data sources
// only). Problems go to `diagnostics` with their field paths; the result holds the valid ones.
std::vector<DataSourceDeclaration> parseDataSources(const std::vector<YAML::Node>& docs,
                                                    Diagnostics& diagnostics);

// An HTTP header name (RFC 9110 token) and a value without CR or LF.
bool validHeader(const std::string& name, const std::string& value);

}  // namespace budgetgate::model
