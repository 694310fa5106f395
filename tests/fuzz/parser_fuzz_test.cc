// Deterministic property test of every parser that reads untrusted text: JSON (status, Deployment,
// ReplicaSet) and YAML (SLO, OpenSLO SLO, ErrorBudgetPolicy). Valid documents are mutated (byte
// flips, truncation, token splicing, deep nesting, huge and non-finite numbers, wrong types at
// every field) and fed through the same paths the CLI, controller and webhook use.
//
// The properties: nothing crashes, nothing but YAML::Exception (from loading YAML text, which the
// CLI reports as "file:line:col: malformed YAML") escapes, a status is always written back as
// strict JSON, and parseSlo / parsePolicy on a loaded node never throw.
//
// Seeded PRNG and fixed iteration counts: the same inputs on every run. Set
// BUDGETGATE_FUZZ_SCALE=10 for a longer run, BUDGETGATE_FUZZ_VERBOSE=1 to print every input
// before it is tried (to find the one that crashed).

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "operator/common/json.h"
#include "operator/common/yaml_json.h"
#include "operator/model/policy_parser.h"
#include "operator/model/slo_parser.h"
#include "operator/model/slo_status.h"
#include "tests/fuzz/fuzz_support.h"
#include "webhook/gate/deployment_view.h"
#include "webhook/gate/gate_decision.h"
#include "webhook/gate/pod_template.h"

namespace budgetgate {
namespace {

using namespace fuzz;

// --- seeds
// ----------------------------------------------------------------------------------------

const char* kSlo = R"(apiVersion: slo.budgetgate.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: checkout-availability
  namespace: shop
  generation: 3
spec:
  description: checkout requests succeed
  service: checkout
  indicator:
    metadata:
      name: checkout-http-success
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{code!~"5.."}
        total:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar:
        startTime: "2024-01-31 00:00:00"
        timeZone: Europe/Berlin
  budgetingMethod: RatioTimeslices
  objectives:
    - displayName: availability
      targetPercent: 99.9
      timeSliceWindow: 1m
  alertPolicies: [fast-burn, {metadata: {name: slow}}]
  gate:
    selector:
      matchLabels:
        app: checkout
      matchExpressions:
        - {key: env, operator: In, values: [prod]}
        - {key: canary, operator: DoesNotExist}
    policyRef: strict
    alerts:
      - {name: page-6h, disabled: true}
      - {name: ticket-3d, severity: page}
)";

const char* kOpenSlo = R"(apiVersion: openslo/v1
kind: SLO
metadata:
  name: search-latency
spec:
  service: search
  indicator:
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: histogram_quantile(0.99, sum by (le) (rate(x[$window])))
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Timeslices
  objectives:
    - op: lt
      value: 0.5
      target: 0.95
      timeSliceTarget: 0.9
      timeSliceWindow: 1m
)";

const char* kPolicy = R"(apiVersion: slo.budgetgate.dev/v1alpha1
kind: ErrorBudgetPolicy
metadata:
  name: default
  namespace: budgetgate
spec:
  mode: enforce
  onMissingData: allow-with-warning
  staleAfter: 10m
  tiers:
    critical:  {remainingPercent: 10, burnRate: 5,   exhaustionWithin: 3d}
    warning:   {remainingPercent: 25, burnRate: 2,   exhaustionWithin: 7d}
    attention: {remainingPercent: 50, burnRate: 1.5, exhaustionWithin: 15d}
  hysteresis:
    restorePercent: 10
    maxHold: 7d
  decisions:
    healthy:   {low: approve, medium: approve, high: review}
    exhausted: {low: block,   medium: block,   high: block}
  review:
    action: require-approval
    approvers: {users: [alice], groups: [release-managers]}
  exceptions:
    rollback: true
    security:
      groups: [sre]
    sloImprovement:
      users: [bot]
)";

const char* kStatus = R"({
  "observedGeneration": 1,
  "lastEvaluated": "2026-01-31T00:00:00Z",
  "objective": "availability",
  "target": 0.999,
  "window": "30d",
  "windowStart": "2026-01-01T00:00:00.5+01:00",
  "budgetingMethod": "Occurrences",
  "sli": 0.99854,
  "errorBudget": {"total": 259200, "consumed": 378432, "remaining": -119232,
                  "remainingPercent": 0, "consumedPercent": 146, "unit": "requests"},
  "burnRates": {"5m": 0, "30m": 0, "1h": 0.2, "2h": 0.3, "6h": 2.1, "1d": 4.8, "3d": 1.7},
  "noDataWindows": ["30m"],
  "alerts": [{"name": "page-1h", "severity": "page", "shortWindow": "5m", "longWindow": "1h",
              "threshold": 14.4, "firing": false}],
  "projectedExhaustion": "2026-01-31T00:00:00Z",
  "tier": "exhausted",
  "tierHold": {"tier": "exhausted", "since": "2026-01-30T04:00:00Z", "lowestRemainingPercent": -46},
  "gate": {"policy": "default", "decisionsByRisk": {"low": "block", "medium": "block", "high": "block"}},
  "objectives": [{"displayName": "availability", "target": 0.999, "remainingPercent": 0, "tier": "exhausted"}],
  "conditions": [{"type": "Ready", "status": "True", "reason": "Evaluated", "message": "",
                  "lastTransitionTime": "2026-01-30T00:00:00Z", "observedGeneration": 1}],
  "message": "46% over budget"
})";

const char* kDeployment = R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "checkout", "namespace": "shop",
               "labels": {"app": "checkout", "env": "prod"},
               "annotations": {"budgetgate.dev/risk": "low", "budgetgate.dev/release-type": "security"}},
  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "checkout"}},
           "template": {"metadata": {"labels": {"app": "checkout", "pod-template-hash": "abc"}},
                        "spec": {"containers": [{"name": "c", "image": "checkout:1.5.0",
                                                 "ports": [{"containerPort": 8080}]}]}}}
})";

const char* kDeploymentYaml = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: shop
  labels: {app: checkout}
  annotations:
    budgetgate.dev/risk: medium
spec:
  replicas: 2
  template:
    metadata:
      labels:
        app: checkout
    spec:
      containers:
        - name: checkout
          image: registry.example/checkout:1.5.0
          args: ["--port", 8080, true, ~, 1.5e3]
)";

// --- properties
// -----------------------------------------------------------------------------------

struct Stats {
  long inputs = 0;
  long jsonParsed = 0;
  long yamlLoaded = 0;
  long yamlRejected = 0;
  long slosParsed = 0;
  long policiesParsed = 0;
};

const TimePoint kNow = TimePoint(Seconds(1'769'817'600));

// The JSON consumers: status codec (and writing it back), Deployment and ReplicaSet readers, the
// gate decision with whatever was read, and the YAML <-> JSON bridge.
void checkJsonValue(const rapidjson::Value& value, const std::string& input) {
  noThrow("statusFromJson/statusToJson", input, [&] {
    std::vector<std::string> problems;
    const model::SloStatus status = model::statusFromJson(value, &problems);
    const std::string written = model::statusToJson(status);
    std::string error;
    const auto reread = json::parse(written, &error);
    ASSERT_TRUE(reread.has_value()) << "status written as invalid JSON: " << error << "\n"
                                    << written << "\ninput: " << printable(input);
    // What the gate acts on survives a write and a read. (Figures may be re-rounded.)
    const model::SloStatus again = model::statusFromJson(*reread, nullptr);
    EXPECT_EQ(again.tier, status.tier) << printable(input);
    EXPECT_EQ(again.lastEvaluated, status.lastEvaluated) << printable(input);
    EXPECT_EQ(again.tierHold.has_value(), status.tierHold.has_value()) << printable(input);
    EXPECT_EQ(again.decisionsByRisk, status.decisionsByRisk) << printable(input);

    gate::RolloutRequest request;
    request.operation = gate::Operation::Update;
    request.ns = "shop";
    request.name = "checkout";
    std::string why;
    if (auto view = gate::readDeployment(value, &why)) {
      request.identity = {view->labels, view->templateLabels};
      request.annotations = view->annotations;
      request.newTemplate = view->templateFingerprint;
    } else {
      EXPECT_FALSE(why.empty());
    }
    if (auto rs = gate::replicaSetTemplate(value)) request.previousTemplates.push_back(*rs);
    request.change = gate::Change::Template;
    engine::ErrorBudgetPolicy policy;
    policy.exceptions.security.groups = {"sre"};
    gate::GatedSlo slo;
    slo.ns = "shop";
    slo.name = "fuzzed";
    slo.selector = model::LabelSelector{};
    slo.policy = &policy;
    slo.status = status;
    gate::GatedSlo missing = slo;
    missing.status.reset();
    TimePoint now = status.lastEvaluated.value_or(kNow);
    const auto decision = gate::decide(request, {slo, missing}, gate::GateContext{now});
    EXPECT_FALSE(decision.message.empty());
  });
  noThrow("jsonToYaml/yamlToJson", input, [&] {
    // Not an identity: YAML maps drop duplicate keys and integers beyond int64 become floats.
    const YAML::Node node = jsonToYaml(value);
    json::Document back;
    yamlToJson(node, back, back.GetAllocator());
    EXPECT_EQ(back.GetType(), value.GetType()) << printable(input);
    EXPECT_TRUE(json::parse(json::toString(back), nullptr).has_value()) << printable(input);
  });
}

void checkJsonText(const std::string& text, Stats& stats) {
  ++stats.inputs;
  if (verbose()) std::cerr << "json: " << printable(text) << '\n';
  noThrow("json::parse", text, [&] {
    std::string error;
    auto doc = json::parse(text, &error);
    if (!doc) {
      EXPECT_FALSE(error.empty());
      return;
    }
    ++stats.jsonParsed;
    checkJsonValue(*doc, text);
  });
}

void checkYamlText(const std::string& text, Stats& stats) {
  ++stats.inputs;
  if (verbose()) std::cerr << "yaml: " << printable(text) << '\n';
  std::vector<YAML::Node> docs;
  try {
    docs = loadAllYaml(text);
  } catch (const YAML::Exception& e) {
    // The CLI turns this into "file:line:col: malformed YAML: msg".
    ++stats.yamlRejected;
    EXPECT_FALSE(e.msg.empty());
    return;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "loadAllYaml threw a non-YAML exception: " << e.what()
                  << "\ninput: " << printable(text);
    return;
  }
  ++stats.yamlLoaded;
  for (const auto& doc : docs) {
    noThrow("parseSlo", text, [&] {
      model::Diagnostics d("fuzz.yaml");
      const auto slo = model::parseSlo(doc, d);
      EXPECT_EQ(slo.has_value(), d.ok()) << d.format();
      if (slo) {
        ++stats.slosParsed;
        EXPECT_FALSE(slo->objectives.empty());
      }
      (void)d.format();
      (void)model::isSloDocument(doc);
    });
    noThrow("parsePolicy", text, [&] {
      model::Diagnostics d("fuzz.yaml");
      const auto policy = model::parsePolicy(doc, d);
      EXPECT_EQ(policy.has_value(), d.ok()) << d.format();
      if (policy) ++stats.policiesParsed;
      (void)d.format();
      (void)model::isPolicyDocument(doc);
    });
    // The CLI's gate command converts YAML files (Deployment, status, ReplicaSets) to JSON.
    noThrow("yamlToJson", text, [&] {
      json::Document converted;
      yamlToJson(doc, converted, converted.GetAllocator());
      checkJsonValue(converted, text);
    });
  }
}

json::Document yamlAsJson(const char* text) {
  json::Document doc;
  yamlToJson(loadAllYaml(text).at(0), doc, doc.GetAllocator());
  return doc;
}

void expectSomeOfEach(const Stats& stats) {
  EXPECT_GT(stats.inputs, 0);
  ::testing::Test::RecordProperty("inputs", static_cast<int>(stats.inputs));
  std::cout << "inputs " << stats.inputs << ", JSON parsed " << stats.jsonParsed << ", YAML loaded "
            << stats.yamlLoaded << " / rejected " << stats.yamlRejected << ", SLOs valid "
            << stats.slosParsed << ", policies valid " << stats.policiesParsed << '\n';
}

// --- tests
// ----------------------------------------------------------------------------------------

TEST(ParserFuzz, SeedsAreValid) {
  // The mutations start from documents that parse cleanly, so that they probe deep paths.
  for (const char* text : {kSlo, kOpenSlo}) {
    model::Diagnostics d;
    EXPECT_TRUE(model::parseSlo(loadAllYaml(text).at(0), d).has_value()) << d.format();
  }
  model::Diagnostics d;
  EXPECT_TRUE(model::parsePolicy(loadAllYaml(kPolicy).at(0), d).has_value()) << d.format();
  std::vector<std::string> problems;
  const auto status = model::statusFromJson(*json::parse(kStatus, nullptr), &problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(status.tier, engine::Tier::Exhausted);
  EXPECT_TRUE(
      gate::readDeployment(*json::parse(kDeployment, nullptr), nullptr)->templateFingerprint);
}

TEST(ParserFuzz, RandomMutationsOfYamlDocuments) {
  Stats stats;
  Mutator m(0x5eed0001);
  const int rounds = 4000 * scale();
  for (const char* seed : {kSlo, kOpenSlo, kPolicy, kDeploymentYaml}) {
    for (int i = 0; i < rounds; ++i) checkYamlText(m.mutate(seed), stats);
  }
  expectSomeOfEach(stats);
  EXPECT_GT(stats.yamlRejected, 0);
  EXPECT_GT(stats.slosParsed, 0);  // some mutations keep a valid SLO: the deep paths were reached
  EXPECT_GT(stats.policiesParsed, 0);
}

TEST(ParserFuzz, RandomMutationsOfJsonDocuments) {
  Stats stats;
  Mutator m(0x5eed0002);
  const int rounds = 6000 * scale();
  for (const char* seed : {kStatus, kDeployment}) {
    for (int i = 0; i < rounds; ++i) {
      const std::string text = m.mutate(seed);
      checkJsonText(text, stats);
      if (i % 4 == 0) checkYamlText(text, stats);  // JSON files go through the YAML loader too
    }
  }
  expectSomeOfEach(stats);
  EXPECT_GT(stats.jsonParsed, 0);
}

TEST(ParserFuzz, WrongTypeAtEveryField) {
  Stats stats;
  for (const char* yamlSeed : {kSlo, kOpenSlo, kPolicy}) {
    for (const auto& text : wrongTypeVariants(yamlAsJson(yamlSeed))) checkYamlText(text, stats);
  }
  for (const char* jsonSeed : {kStatus, kDeployment}) {
    for (const auto& text : wrongTypeVariants(*json::parse(jsonSeed, nullptr))) {
      checkJsonText(text, stats);
    }
  }
  expectSomeOfEach(stats);
  EXPECT_GT(stats.inputs, 3000);
}

TEST(ParserFuzz, HostileHandWrittenInputs) {
  Stats stats;
  const std::string deep(100000, '[');
  const std::string deepObjects = [] {
    std::string s;
    for (int i = 0; i < 50000; ++i) s += "{\"a\":";
    return s;
  }();
  const std::string laughs = [] {
    // Exponential alias expansion ("billion laughs"): 9 levels of 9 references.
    std::string s = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (int i = 1; i <= 9; ++i) {
      s += fmt::format("a{}: &a{} [", i, i);
      for (int j = 0; j < 9; ++j) s += fmt::format("{}*a{}", j ? ", " : "", i - 1);
      s += "]\n";
    }
    return s;
  }();
  const std::vector<std::string> inputs = {
      "",
      " ",
      "\n\n",
      std::string(1, '\0'),
      deep,
      deep + std::string(100000, ']'),
      std::string(100000, '{'),
      deepObjects,
      std::string(1999, '[') + std::string(1999, ']'),
      std::string(300, '[') + std::string(300, ']'),
      std::string(100000, '-') + " x",
      "- " + std::string(5000, '-'),
      "&a [*a]",
      "&a {x: *a}",
      "spec: &s {indicator: *s, timeWindow: *s, objectives: [*s], gate: *s}\n"
      "apiVersion: slo.budgetgate.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: x}\n",
      "metadata: &m {name: *m, labels: *m}\nspec: {template: *m}\n",
      "*undefined",
      laughs,
      "{\"a\": NaN, \"b\": Infinity, \"c\": -Infinity}",
      "{\"target\": 1e999, \"sli\": -1e999, \"observedGeneration\": 1e400}",
      "{\"lastEvaluated\": \"9999999999999999999\"}",
      "{\"lastEvaluated\": \"253402300799\", \"tierHold\": {\"tier\": \"critical\", "
      "\"since\": \"253402300799\", \"lowestRemainingPercent\": 5}, \"tier\": \"critical\"}",
      "{\"lastEvaluated\": \"0000-01-01T00:00:00+23:59\", \"projectedExhaustion\": "
      "\"0000-01-01T00:00:00+23:59\", \"tier\": \"warning\", \"errorBudget\": "
      "{\"consumedPercent\": "
      "1e308, \"total\": -1e308, \"consumed\": 1e308}}",
      "{\"tierHold\": {\"tier\": \"unknown\", \"since\": \"2026-01-01T00:00:00Z\", "
      "\"lowestRemainingPercent\": -1e308}, \"tier\": \"exhausted\", \"lastEvaluated\": "
      "\"2026-01-01T00:00:00Z\"}",
      "{\"metadata\": {\"labels\": {\"pod-template-hash\": 1}}, \"spec\": {\"template\": "
      "{\"metadata\": {\"labels\": {\"pod-template-hash\": {}}}}}}",
      "{\"spec\": {\"template\": {\"metadata\": {\"labels\": {\"pod-template-hash\": \"x\"}}}}}",
      "{\"spec\": {\"template\": {\"metadata\": []}}}",
      "\"\\ud800\"",
      "\xef\xbb\xbf{}",
      "apiVersion: openslo/v1\nkind: SLO\nspec:\n  timeWindow:\n    - duration: 999999Y\n"
      "      isRolling: false\n",
      "apiVersion: openslo/v1\nkind: SLO\nspec:\n  timeWindow:\n    - duration: 999999M\n"
      "      isRolling: false\n      calendar: {startTime: '9999-12-31 23:59:59', timeZone: "
      "Pacific/Kiritimati}\n",
      "apiVersion: openslo/v1\nkind: SLO\nspec:\n  timeWindow:\n    - duration: 999999d\n"
      "      isRolling: false\n      calendar: {startTime: '0000-01-01 00:00:00'}\n",
      "apiVersion: openslo/v1\nkind: SLO\nspec:\n  timeWindow:\n    - duration: 106751991167300d\n",
      "apiVersion: openslo/v1\nkind: SLO\nspec:\n  objectives:\n    - timeSliceWindow: "
      "99999999999999999999\n      target: 1e-320\n      targetPercent: -0\n",
      "apiVersion: openslo/v1\nkind: SLO\nmetadata: {generation: 1e300}\n",
      "apiVersion: openslo/v1\nkind: SLO\nmetadata: {generation: -1e300}\n",
      "apiVersion: openslo/v1\nkind: SLO\nmetadata: {generation: .nan}\n",
      "? [a, b]\n: c\n[x]: y\n{z: 1}: w\n",
      "kind: ErrorBudgetPolicy\napiVersion: slo.budgetgate.dev/v1alpha1\nmetadata: {name: p}\n"
      "spec:\n  decisions: {healthy: {low: [block]}}\n  staleAfter: 9223372036854775807s\n"
      "  hysteresis: {maxHold: 106751991167300d, restorePercent: .nan}\n",
      "!!binary aGVsbG8=",
      "key: !!int not-a-number",
      "a: 1\na: 2\n",
      "---\n---\n---\n",
      "%YAML 9.9\n---\nx: 1\n",
      "x: |\n  \xff\xfe\n",
  };
  for (const auto& text : inputs) {
    checkJsonText(text, stats);
    checkYamlText(text, stats);
  }
  expectSomeOfEach(stats);
}

}  // namespace
}  // namespace budgetgate
