#include "operator/model/data_source.h"

#include <gtest/gtest.h>

#include "operator/common/yaml_json.h"
#include "test_support.h"

namespace budgetgate::model {
namespace {

using budgetgate::testing::allErrors;
using budgetgate::testing::errorAt;

std::vector<DataSourceDeclaration> parse(const std::string& text, Diagnostics& d) {
  return parseDataSources(loadAllYaml(text), d);
}

TEST(DataSources, OpenSloDataSourcesWithConnectionDetails) {
  Diagnostics d;
  const auto sources = parse(R"(apiVersion: openslo/v1
kind: DataSource
metadata: {name: eu-mimir}
spec:
  type: Prometheus
  description: the EU tenant
  connectionDetails:
    url: https://mimir.eu.example/prometheus
    headers: {X-Scope-OrgID: team-a}
    timeout: 10s
    caFile: /etc/ca.pem
    allowedNamespaces: [shop, pay]
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: us}
spec:
  type: prometheus
  connectionDetails: {url: "http://prometheus.us:9090"}
)",
                             d);
  ASSERT_TRUE(d.ok()) << allErrors(d);
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0].name, "eu-mimir");
  EXPECT_EQ(sources[0].url, "https://mimir.eu.example/prometheus");
  ASSERT_EQ(sources[0].headers.size(), 1u);
  EXPECT_EQ(sources[0].headers[0].first, "X-Scope-OrgID");
  EXPECT_EQ(sources[0].headers[0].second, "team-a");
  EXPECT_EQ(sources[0].timeout, "10s");
  EXPECT_EQ(sources[0].caFile, "/etc/ca.pem");
  EXPECT_TRUE(sources[0].allows("pay"));
  EXPECT_FALSE(sources[0].allows("payments"));
  EXPECT_TRUE(sources[1].allows("anything"));
}

TEST(DataSources, EveryProblemIsReportedWhereItIs) {
  Diagnostics d;
  const auto sources = parse(R"(apiVersion: openslo/v1
kind: DataSource
metadata: {name: a}
spec:
  type: Datadog
  connectionDetails: {url: "http://a"}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: Bad_Name}
spec:
  type: Prometheus
  connectionDetails: {url: "ftp://b", headers: {"Bad Header": x}, allowedNamespaces: []}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: c}
spec:
  type: Prometheus
  connectionDetails: {url: "http://c", timeout: 0s, urll: typo}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: d}
spec: {type: Prometheus, connectionDetails: {url: "http://d"}}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: d}
spec: {type: Prometheus, connectionDetails: {url: "http://d2"}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: e}
spec: {}
)",
                             d);
  EXPECT_NE(errorAt(d, "[0].spec.type"), nullptr) << allErrors(d);
  EXPECT_NE(errorAt(d, "[1].metadata.name"), nullptr) << allErrors(d);
  EXPECT_NE(errorAt(d, "[1].spec.connectionDetails.url"), nullptr) << allErrors(d);
  EXPECT_NE(errorAt(d, "[1].spec.connectionDetails.headers.Bad Header"), nullptr) << allErrors(d);
  EXPECT_NE(errorAt(d, "[1].spec.connectionDetails.allowedNamespaces"), nullptr) << allErrors(d);
  EXPECT_NE(errorAt(d, "[2].spec.connectionDetails.timeout"), nullptr) << allErrors(d);
  EXPECT_NE(errorAt(d, "[2].spec.connectionDetails.urll"), nullptr) << allErrors(d);
  EXPECT_NE(errorAt(d, "[4].metadata.name"), nullptr) << allErrors(d);
  EXPECT_NE(errorAt(d, "[5]"), nullptr) << allErrors(d);
  // Only the first "d" is valid.
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].url, "http://d");
}

TEST(DataSources, HeaderNamesAreTokensAndValuesHaveNoLineBreaks) {
  EXPECT_TRUE(validHeader("X-Scope-OrgID", "team-a|team-b"));
  EXPECT_FALSE(validHeader("", "x"));
  EXPECT_FALSE(validHeader("X Scope", "x"));
  EXPECT_FALSE(validHeader("X-Scope-OrgID", "a\r\nInjected: yes"));
}

}  // namespace
}  // namespace budgetgate::model
