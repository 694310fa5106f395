// The recording and alerting rules of `budgetgate rules`, read back as YAML: one set per
// objective (label `objective`), each divided by its own allowance, ratios that are 0 rather
// than NaN without traffic, composite records computed inline, and label values that survive
// quotes and newlines. promtool checks the syntax and the e2e tests backfill the rules; this
// test pins the structure and the numbers a hand calculation predicts.

#include "operator/prometheus/rules_generator.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <regex>
#include <set>
#include <string>

#include "operator/model/diagnostics.h"
#include "operator/model/slo_parser.h"
#include "tests/unit/test_support.h"

namespace budgetgate::prometheus {
namespace {

constexpr const char* kTwoObjectives = R"(apiVersion: slo.budgetgate.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: checkout, namespace: shop}
spec:
  service: checkout
  indicator:
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{service="checkout",code!~"5.."}'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{service="checkout"}'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives:
    - {displayName: three-nines, target: 0.999}
    - {displayName: "four \"nines\"\nstrict", target: 0.9999}
)";

constexpr const char* kComposite = R"(apiVersion: slo.budgetgate.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: journey, namespace: shop}
spec:
  service: shop
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives:
    - displayName: browse
      target: 0.999
      compositeWeight: 2
      indicator:
        spec:
          ratioMetric:
            counter: true
            good: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{service="web",code!~"5.."}'}}}
            total: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{service="web"}'}}}
    - displayName: composite
      target: 0.99
      indicator:
        spec:
          ratioMetric:
            counter: true
            bad: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{service="pay",code=~"5.."}'}}}
            total: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{service="pay"}'}}}
)";

model::ServiceLevelObjective parse(const std::string& text) {
  model::Diagnostics d("slo.yaml");
  auto slo = model::parseSlo(testing::yaml(text), d);
  EXPECT_TRUE(slo.has_value()) << d.format();
  return slo ? *slo : model::ServiceLevelObjective{};
}

struct Rule {
  std::string expr;
  std::map<std::string, std::string> labels;
};

// record name -> rules with that name.
std::multimap<std::string, Rule> records(const std::string& yamlText) {
  std::multimap<std::string, Rule> out;
  const auto doc = YAML::Load(yamlText);
  for (const auto& group : doc["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (!rule["record"]) continue;
      Rule r{rule["expr"].as<std::string>(), {}};
      for (const auto& l : rule["labels"]) {
        r.labels[l.first.as<std::string>()] = l.second.as<std::string>();
      }
      out.emplace(rule["record"].as<std::string>(), std::move(r));
    }
  }
  return out;
}

std::set<std::string> alertNames(const std::string& yamlText) {
  std::set<std::string> names;
  for (const auto& group : YAML::Load(yamlText)["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (rule["alert"]) names.insert(rule["alert"].as<std::string>());
    }
  }
  return names;
}

TEST(RulesGenerator, EveryObjectiveHasItsOwnRecordsDividedByItsOwnAllowance) {
  const auto text = generateRules({parse(kTwoObjectives)});
  const auto recs = records(text);
  std::map<std::string, std::string> burn1h;  // objective -> expr
  for (auto [it, end] = recs.equal_range("budgetgate:slo_burn_rate:1h"); it != end; ++it) {
    EXPECT_EQ(it->second.labels.at("slo"), "checkout");
    EXPECT_EQ(it->second.labels.at("slo_namespace"), "shop");
    burn1h[it->second.labels.at("objective")] = it->second.expr;
  }
  // The label value round-trips through YAML with its quotes and newline intact.
  ASSERT_EQ(burn1h.size(), 2u) << text;
  ASSERT_TRUE(burn1h.count("three-nines"));
  ASSERT_TRUE(burn1h.count("four \"nines\"\nstrict")) << text;
  // 1 - 0.999 = 0.001 and 1 - 0.9999 = 0.0001 (hand calculation): each burn rate is the error
  // ratio divided by its own allowance.
  EXPECT_NE(burn1h["three-nines"].find("/ 0.001"), std::string::npos) << burn1h["three-nines"];
  EXPECT_NE(burn1h["four \"nines\"\nstrict"].find("/ 0.0001"), std::string::npos);
  // Seven windows of error ratio and burn rate, and a remaining budget, per objective.
  EXPECT_EQ(recs.count("budgetgate:slo_error_ratio:5m"), 2u);
  EXPECT_EQ(recs.count("budgetgate:slo_burn_rate:3d"), 2u);
  EXPECT_EQ(recs.count("budgetgate:slo_error_budget_remaining:ratio"), 2u);
}

TEST(RulesGenerator, RatiosAreZeroNotNaNWithoutTraffic) {
  const auto recs = records(generateRules({parse(kTwoObjectives)}));
  for (const auto& [name, rule] : recs) {
    if (name.rfind("budgetgate:slo_error_ratio:", 0) != 0) continue;
    // numerator / (total > 0) or total * 0: where the total is 0 the ratio is 0.
    EXPECT_NE(rule.expr.find("> 0)"), std::string::npos) << name << ": " << rule.expr;
    EXPECT_NE(rule.expr.find(") * 0"), std::string::npos) << name << ": " << rule.expr;
  }
}

TEST(RulesGenerator, CompositeRecordsAreInlineAndOnlyTheCompositeAlerts) {
  const auto text = generateRules({parse(kComposite)});
  const auto recs = records(text);
  std::set<std::string> objectives;
  const Rule* composite = nullptr;
  for (auto [it, end] = recs.equal_range("budgetgate:slo_error_budget_remaining:ratio"); it != end;
       ++it) {
    objectives.insert(it->second.labels.at("objective"));
    if (it->second.labels.at("objective") == "composite") composite = &it->second;
  }
  // An objective named "composite" does not collide with the composite's own records.
  ASSERT_EQ(objectives.size(), 3u) << text;
  ASSERT_NE(composite, nullptr);
  // Inline: it reads raw series (backfillable), not other budgetgate:* records, and weighs
  // browse 2 and the other objective 1 (hand calculation: weights sum to 3).
  EXPECT_EQ(composite->expr.find("budgetgate:"), std::string::npos) << composite->expr;
  EXPECT_NE(composite->expr.find("service=\"web\""), std::string::npos);
  EXPECT_NE(composite->expr.find("service=\"pay\""), std::string::npos);
  EXPECT_NE(composite->expr.find("/ 3"), std::string::npos) << composite->expr;
  // Burn-rate alerts exist once (on the composite), plus the absent-data alert.
  const auto alerts = alertNames(text);
  EXPECT_FALSE(alerts.empty());
  EXPECT_TRUE(alerts.count("BudgetgateSLIDataAbsent")) << text;
}

TEST(RulesGenerator, BudgetAlertsInExclusiveBandsAtThePolicysThresholds) {
  RulesOptions options;
  options.thresholds.warning.remainingPercentAtMost = 30;
  options.thresholds.critical.remainingPercentAtMost = 5;
  options.runbookUrl = "https://runbooks.example/budget";
  const auto text = generateRules({parse(kTwoObjectives)}, options);
  std::map<std::string, YAML::Node> byName;
  for (const auto& group : YAML::Load(text)["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (rule["alert"] && rule["alert"].as<std::string>() == "BudgetgateErrorBudgetLow") {
        byName.emplace(rule["labels"]["budgetgate_alert"].as<std::string>(),
                       static_cast<const YAML::Node&>(rule));
      }
    }
  }
  ASSERT_EQ(byName.size(), 3u) << text;
  const std::string series =
      R"(budgetgate_slo_error_budget_remaining_percent{namespace="shop",slo="checkout"})";
  EXPECT_EQ(byName["budget-warning"]["expr"].as<std::string>(),
            series + " <= 30 and " + series + " > 5");
  EXPECT_EQ(byName["budget-critical"]["expr"].as<std::string>(),
            series + " <= 5 and " + series + " > 0");
  EXPECT_EQ(byName["budget-exhausted"]["expr"].as<std::string>(), series + " <= 0");
  EXPECT_EQ(byName["budget-warning"]["labels"]["severity"].as<std::string>(), "ticket");
  EXPECT_EQ(byName["budget-exhausted"]["labels"]["severity"].as<std::string>(), "page");
  EXPECT_EQ(byName["budget-critical"]["for"].as<std::string>(), "15m");
  EXPECT_EQ(byName["budget-exhausted"]["annotations"]["runbook_url"].as<std::string>(),
            "https://runbooks.example/budget");
  // Without a URL there is no such annotation.
  EXPECT_EQ(generateRules({parse(kTwoObjectives)}).find("runbook_url"), std::string::npos);
}

}  // namespace
}  // namespace budgetgate::prometheus
