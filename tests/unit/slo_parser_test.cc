#include "operator/model/slo_parser.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace budgetgate::model {
namespace {

using budgetgate::testing::allErrors;
using budgetgate::testing::errorAt;
using budgetgate::testing::lineOf;
using budgetgate::testing::yaml;

constexpr Seconds kDay{86400};

// A valid ServiceLevelObjective; cases below edit one part of it.
const std::string kValid = R"(apiVersion: slo.budgetgate.dev/v1alpha1
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
    - duration: 30d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: availability
      target: 0.999
  alertPolicies: [fast-burn]
  gate:
    selector:
      matchLabels:
        app: checkout
    policyRef: strict
)";

// kValid with the first occurrence of `from` replaced by `to`.
std::string edit(const std::string& from, const std::string& to, const std::string& base = kValid) {
  std::string out = base;
  const auto pos = out.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) out.replace(pos, from.size(), to);
  return out;
}

std::optional<ServiceLevelObjective> parse(const std::string& text, Diagnostics& d) {
  return parseSlo(yaml(text), d);
}

TEST(SloParser, ValidServiceLevelObjective) {
  Diagnostics d("slo.yaml");
  const auto slo = parse(kValid, d);
  ASSERT_TRUE(slo.has_value()) << allErrors(d);
  EXPECT_EQ(slo->kind, "ServiceLevelObjective");
  EXPECT_EQ(slo->name, "checkout-availability");
  EXPECT_EQ(slo->ns, "shop");
  EXPECT_EQ(slo->key(), "shop/checkout-availability");
  EXPECT_EQ(slo->generation, 3);
  EXPECT_EQ(slo->service, "checkout");
  EXPECT_EQ(slo->description, "checkout requests succeed");
  ASSERT_TRUE(slo->indicator.isRatio());
  const auto& ratio = std::get<RatioMetric>(slo->indicator.metric);
  EXPECT_TRUE(ratio.counter);
  ASSERT_TRUE(ratio.good.has_value());
  EXPECT_FALSE(ratio.bad.has_value());
  EXPECT_EQ(ratio.good->query, R"(http_requests_total{code!~"5.."})");
  EXPECT_EQ(ratio.total.query, "http_requests_total");
  EXPECT_EQ(slo->indicator.name, "checkout-http-success");
  EXPECT_TRUE(slo->window.isRolling);
  EXPECT_EQ(slo->window.duration, 30 * kDay);
  EXPECT_EQ(slo->window.text, "30d");
  EXPECT_EQ(slo->budgetingMethod, BudgetingMethod::Occurrences);
  ASSERT_EQ(slo->objectives.size(), 1u);
  EXPECT_DOUBLE_EQ(slo->objectives[0].target, 0.999);
  EXPECT_EQ(slo->objectives[0].displayName, "availability");
  EXPECT_EQ(slo->alertPolicies, std::vector<std::string>{"fast-burn"});
  ASSERT_TRUE(slo->gate.selector.has_value());
  EXPECT_TRUE(slo->gate.selector->matches({{"app", "checkout"}}));
  EXPECT_FALSE(slo->gate.selector->matches({{"app", "cart"}}));
  EXPECT_EQ(slo->gate.policyRef, "strict");
}

TEST(SloParser, SampleFilesAreValid) {
  {
    const auto path = budgetgate::testing::sourceFile("crds/samples/slo-checkout.yaml");
    Diagnostics d(path);
    const auto slo = parse(budgetgate::testing::readFile(path), d);
    ASSERT_TRUE(slo.has_value()) << allErrors(d);
    EXPECT_EQ(slo->key(), "shop/checkout-availability");
    EXPECT_DOUBLE_EQ(slo->objectives.at(0).target, 0.999);
    EXPECT_EQ(slo->gate.policyRef, "default");
  }
  {
    const auto path = budgetgate::testing::sourceFile("crds/samples/openslo-search-latency.yaml");
    Diagnostics d(path);
    const auto slo = parse(budgetgate::testing::readFile(path), d);
    ASSERT_TRUE(slo.has_value()) << allErrors(d);
    EXPECT_EQ(slo->apiVersion, "openslo/v1");
    EXPECT_EQ(slo->kind, "SLO");
    EXPECT_EQ(slo->ns, "default");  // OpenSLO documents have no namespace
    EXPECT_FALSE(slo->indicator.isRatio());
    EXPECT_EQ(slo->window.duration, 28 * kDay);
    EXPECT_EQ(slo->budgetingMethod, BudgetingMethod::Timeslices);
    const auto& o = slo->objectives.at(0);
    EXPECT_DOUBLE_EQ(o.target, 0.95);
    EXPECT_EQ(o.op, ThresholdOp::Lt);
    EXPECT_EQ(o.value, 0.5);
    EXPECT_EQ(o.timeSliceWindow, Seconds(60));
    EXPECT_FALSE(slo->gate.selector.has_value());
  }
}

TEST(SloParser, OpenSloDocumentConvertsByChangingApiVersionAndKindOnly) {
  std::string openslo = edit("apiVersion: slo.budgetgate.dev/v1alpha1\nkind: ServiceLevelObjective",
                             "apiVersion: openslo/v1\nkind: SLO");
  openslo = openslo.substr(0, openslo.find("  gate:"));  // spec.gate is the extension
  Diagnostics d;
  const auto slo = parse(openslo, d);
  ASSERT_TRUE(slo.has_value()) << allErrors(d);
  EXPECT_EQ(slo->ns, "shop");
  EXPECT_DOUBLE_EQ(slo->objectives[0].target, 0.999);
}

TEST(SloParser, TargetPercent) {
  Diagnostics d;
  const auto slo = parse(edit("target: 0.999", "targetPercent: 99.95"), d);
  ASSERT_TRUE(slo.has_value()) << allErrors(d);
  EXPECT_NEAR(slo->objectives[0].target, 0.9995, 1e-12);
}

TEST(SloParser, BadEventsInsteadOfGood) {
  Diagnostics d;
  const auto slo = parse(edit("        good:\n", "        bad:\n"), d);
  ASSERT_TRUE(slo.has_value()) << allErrors(d);
  const auto& ratio = std::get<RatioMetric>(slo->indicator.metric);
  EXPECT_TRUE(ratio.bad.has_value());
  EXPECT_FALSE(ratio.good.has_value());
}

TEST(SloParser, GaugeQueriesWithOrWithoutTheWindowPlaceholder) {
  // counter: false without $window: gauges, summed slice by slice (OpenSLO allows it).
  std::string text = edit("counter: true", "counter: false");
  Diagnostics gauges;
  ASSERT_TRUE(parse(text, gauges).has_value()) << allErrors(gauges);
  // counter omitted means false (OpenSLO), which over counters named *_total is probably a
  // mistake: valid (as oslo says), with a warning that names the fix.
  Diagnostics omitted;
  EXPECT_TRUE(parse(edit("        counter: false\n", "", text), omitted).has_value());
  EXPECT_TRUE(omitted.ok()) << allErrors(omitted);
  ASSERT_EQ(omitted.warnings().size(), 1u);
  const auto& w = omitted.warnings().front();
  EXPECT_EQ(w.path, "spec.indicator.spec.ratioMetric.counter");
  EXPECT_NE(w.message.find("set counter: true"), std::string::npos) << w.message;
  EXPECT_NE(omitted.formatWarnings().find("warning: "), std::string::npos);
  Diagnostics explicitGauge;
  ASSERT_TRUE(parse(text, explicitGauge).has_value());
  EXPECT_TRUE(explicitGauge.warnings().empty());
  text = edit(R"(query: http_requests_total{code!~"5.."})",
              R"(query: sum(increase(http_requests_total{code!~"5.."}[$window])))", text);
  text = edit("query: http_requests_total\n",
              "query: sum(increase(http_requests_total[$window]))\n", text);
  Diagnostics ok;
  const auto slo = parse(text, ok);
  ASSERT_TRUE(slo.has_value()) << allErrors(ok);
  EXPECT_FALSE(std::get<RatioMetric>(slo->indicator.metric).counter);
}

TEST(SloParser, GateAlertOverrides) {
  Diagnostics d;
  const auto slo = parse(kValid +
                             "    alerts:\n      - {name: page-6h, disabled: true}\n"
                             "      - {name: ticket-3d, severity: page}\n",
                         d);
  ASSERT_TRUE(slo.has_value()) << allErrors(d);
  ASSERT_EQ(slo->gate.alerts.size(), 2u);
  EXPECT_TRUE(slo->gate.alerts[0].disabled);
  EXPECT_EQ(slo->gate.alerts[1].severity, "page");
}

TEST(SloParser, CalendarWindowWithTimeZone) {
  Diagnostics d;
  const auto slo = parse(edit("    - duration: 30d\n      isRolling: true\n",
                              "    - duration: 1M\n      isRolling: false\n      calendar:\n"
                              "        startTime: \"2024-01-01 00:00:00\"\n"
                              "        timeZone: Europe/Berlin\n"),
                         d);
  ASSERT_TRUE(slo.has_value()) << allErrors(d);
  EXPECT_FALSE(slo->window.isRolling);
  EXPECT_EQ(slo->window.calendarUnit, CalendarUnit::Month);
  EXPECT_EQ(slo->window.calendarCount, 1);
  EXPECT_EQ(slo->window.calendarTimeZone, "Europe/Berlin");
  EXPECT_EQ(slo->window.calendarStart, "2024-01-01 00:00:00");
}

TEST(SloParser, CalendarUnitsAndDefaults) {
  const std::pair<const char*, CalendarUnit> units[] = {{"1d", CalendarUnit::Day},
                                                        {"2w", CalendarUnit::Week},
                                                        {"1Q", CalendarUnit::Quarter},
                                                        {"1Y", CalendarUnit::Year}};
  for (const auto& [text, unit] : units) {
    Diagnostics d;
    const auto slo = parse(edit("    - duration: 30d\n      isRolling: true\n",
                                std::string("    - duration: ") + text +
                                    "\n      isRolling: false\n      calendar: {}\n"),
                           d);
    ASSERT_TRUE(slo.has_value()) << text << '\n' << allErrors(d);
    EXPECT_EQ(slo->window.calendarUnit, unit) << text;
    EXPECT_EQ(slo->window.calendarTimeZone, "UTC");
  }
}

TEST(SloParser, TimeslicesWithRatioMetric) {
  std::string text = edit("budgetingMethod: Occurrences", "budgetingMethod: Timeslices");
  text =
      edit("      target: 0.999\n",
           "      target: 0.999\n      timeSliceTarget: 0.95\n      timeSliceWindow: 5m\n", text);
  Diagnostics d;
  const auto slo = parse(text, d);
  ASSERT_TRUE(slo.has_value()) << allErrors(d);
  EXPECT_EQ(slo->objectives[0].timeSliceWindow, Seconds(300));
  EXPECT_EQ(slo->objectives[0].timeSliceTarget, 0.95);
  // A bare number is not a duration (OpenSLO's validator refuses it too).
  Diagnostics d2;
  EXPECT_FALSE(parse(edit("timeSliceWindow: 5m", "timeSliceWindow: 60", text), d2).has_value());
  const auto* e = errorAt(d2, "spec.objectives[0].timeSliceWindow");
  ASSERT_NE(e, nullptr) << allErrors(d2);
  EXPECT_NE(e->message.find("write the unit, e.g. 60m"), std::string::npos) << e->message;
  // And Timeslices needs timeSliceTarget.
  Diagnostics d3;
  EXPECT_FALSE(parse(edit("      timeSliceTarget: 0.95\n", "", text), d3).has_value());
  EXPECT_NE(errorAt(d3, "spec.objectives[0].timeSliceTarget"), nullptr) << allErrors(d3);
}

struct BadSlo {
  const char* name;
  const char* from;  // text in kValid to replace
  const char* to;
  const char* path;     // expected error path
  const char* needle;   // the error's line is the line of this text in the edited document
  const char* message;  // part of the expected message
};

class SloParserError : public ::testing::TestWithParam<BadSlo> {};

TEST_P(SloParserError, IsPreciseAndLocated) {
  const BadSlo& c = GetParam();
  const std::string text = edit(c.from, c.to);
  Diagnostics d("slo.yaml");
  EXPECT_FALSE(parse(text, d).has_value());
  const FieldError* e = errorAt(d, c.path);
  ASSERT_NE(e, nullptr) << "no error at " << c.path << "; got:\n" << allErrors(d);
  EXPECT_NE(e->message.find(c.message), std::string::npos) << e->message;
  EXPECT_EQ(e->line, lineOf(text, c.needle)) << allErrors(d);
  EXPECT_GT(e->column, 0);
  const std::string formatted = d.formatOne(*e);
  EXPECT_EQ(formatted.rfind("slo.yaml:" + std::to_string(e->line) + ":" +
                                std::to_string(e->column) + ": " + c.path + ": ",
                            0),
            0u)
      << formatted;
}

const BadSlo kBadSlos[] = {
    {"TargetAboveOne", "target: 0.999", "target: 1.5", "spec.objectives[0].target", "1.5",
     "expected a fraction in [0, 1)"},
    {"TargetOne", "target: 0.999", "target: 1", "spec.objectives[0].target", "target: 1", "[0, 1)"},
    {"TargetNegative", "target: 0.999", "target: -0.5", "spec.objectives[0].target", "-0.5",
     "[0, 1)"},
    {"TargetNotANumber", "target: 0.999", "target: high", "spec.objectives[0].target", "high",
     "expected a number"},
    {"TargetQuotedNumber", "target: 0.999", "target: \"0.999\"", "spec.objectives[0].target",
     "\"0.999\"", "expected a number"},
    {"TargetNaN", "target: 0.999", "target: .nan", "spec.objectives[0].target", ".nan",
     "expected a number"},
    {"TargetPercent150", "target: 0.999", "targetPercent: 150", "spec.objectives[0].targetPercent",
     "150", "expected a percentage in [0, 100)"},
    {"TargetAndTargetPercent", "target: 0.999", "target: 0.999\n      targetPercent: 99.9",
     "spec.objectives[0]", "displayName: availability", "not both"},
    {"MissingTarget", "      target: 0.999\n", "", "spec.objectives[0].target",
     "displayName: availability", "is required"},
    {"BadWindowDuration", "duration: 30d", "duration: 30days", "spec.timeWindow[0].duration",
     "30days", "expected a duration such as 28d or 1M"},
    {"WindowWithoutUnit", "duration: 30d", "duration: 30", "spec.timeWindow[0].duration",
     "duration: 30", "such as 28d"},
    {"ZeroWindow", "duration: 30d", "duration: 0d", "spec.timeWindow[0].duration", "0d",
     "must be positive"},
    {"WindowShorterThanAnHour", "duration: 30d", "duration: 30m", "spec.timeWindow[0].duration",
     "30m", "at least 1h"},
    {"RollingOneMonth", "duration: 30d", "duration: 1M", "spec.timeWindow[0].duration", "1M",
     "supports rolling windows of fixed length only"},
    {"RollingQuarter", "duration: 30d", "duration: 1Q", "spec.timeWindow[0].duration", "1Q",
     "rolling window"},
    {"CalendarOnRolling", "      isRolling: true\n",
     "      isRolling: true\n      calendar: {timeZone: UTC}\n", "spec.timeWindow[0].calendar",
     "calendar:", "only valid with isRolling: false"},
    {"CalendarInHours", "duration: 30d\n      isRolling: true",
     "duration: 12h\n      isRolling: false\n      calendar: {}", "spec.timeWindow[0].duration",
     "12h", "d, w, M, Q or Y"},
    {"CalendarWithoutCalendar", "duration: 30d\n      isRolling: true",
     "duration: 1M\n      isRolling: false", "spec.timeWindow[0]", "duration: 1M",
     "needs calendar"},
    {"UnknownTimeZone", "duration: 30d\n      isRolling: true",
     "duration: 1M\n      isRolling: false\n      calendar:\n        timeZone: Mars/Olympus",
     "spec.timeWindow[0].calendar", "timeZone: Mars", "unknown time zone \"Mars/Olympus\""},
    {"BadCalendarStart", "duration: 30d\n      isRolling: true",
     "duration: 1M\n      isRolling: false\n      calendar:\n        startTime: first of January",
     "spec.timeWindow[0].calendar", "startTime:", "YYYY-MM-DD HH:MM:SS"},
    {"CalendarBeyondTheCalendar", "duration: 30d\n      isRolling: true",
     "duration: 40000Y\n      isRolling: false\n      calendar:\n        timeZone: UTC",
     "spec.timeWindow[0].calendar", "timeZone: UTC", "cannot be placed"},
    {"IsRollingNotBoolean", "isRolling: true", "isRolling: perhaps", "spec.timeWindow[0].isRolling",
     "perhaps", "true or false"},
    {"TwoWindows", "    - duration: 30d\n      isRolling: true\n",
     "    - duration: 30d\n    - duration: 7d\n", "spec.timeWindow", "- duration: 30d",
     "exactly one window"},
    {"MissingIndicator", "  indicator:\n    metadata:\n      name: checkout-http-success\n",
     "  indicatorx:\n    metadata:\n      name: checkout-http-success\n", "spec.indicator",
     "description:", "is required"},
    {"IndicatorRefWithoutItsSli", "  indicator:\n", "  indicatorRef: my-sli\n  indicatorx:\n",
     "spec.indicatorRef", "my-sli", "SLI \"my-sli\" not found"},
    {"NameNotADnsLabel", "name: checkout-availability", "name: Checkout_Availability",
     "metadata.name", "Checkout_Availability", "not a DNS label"},
    {"UnknownTopLevelSpecField", "  service: checkout\n",
     "  service: checkout\n  serviceLevel: gold\n", "spec.serviceLevel", "serviceLevel",
     "unknown field"},
    {"TypoInObjective", "target: 0.999", "targt: 0.999", "spec.objectives[0].targt", "targt",
     "unknown field (expected one of: displayName, target"},
    {"WrongBudgetingMethod", "budgetingMethod: Occurrences", "budgetingMethod: Occurences",
     "spec.budgetingMethod", "Occurences", "expected Occurrences, Timeslices or RatioTimeslices"},
    {"MissingBudgetingMethod", "  budgetingMethod: Occurrences\n", "", "spec.budgetingMethod",
     "description:", "is required"},
    {"TimeslicesWithoutSliceWindow", "budgetingMethod: Occurrences",
     "budgetingMethod: RatioTimeslices", "spec.objectives[0].timeSliceWindow",
     "displayName: availability", "RatioTimeslices needs the slice length"},
    {"SliceWindowInSeconds",
     "budgetingMethod: Occurrences\n  objectives:\n    - displayName: availability\n",
     "budgetingMethod: RatioTimeslices\n  objectives:\n    - displayName: availability\n"
     "      timeSliceWindow: 30s\n",
     "spec.objectives[0].timeSliceWindow", "30s", "in m, h, d or w"},
    {"SliceWindowTooLong",
     "budgetingMethod: Occurrences\n  objectives:\n    - displayName: availability\n",
     "budgetingMethod: RatioTimeslices\n  objectives:\n    - displayName: availability\n"
     "      timeSliceWindow: 2d\n",
     "spec.objectives[0].timeSliceWindow", "2d", "between 1m and 1d"},
    {"RollingWindowInSeconds", "duration: 30d", "duration: 86400s", "spec.timeWindow[0].duration",
     "86400s", "in m, h, d, w, M, Q or Y"},
    {"SliceTargetAboveOne", "      target: 0.999\n",
     "      target: 0.999\n      timeSliceTarget: 95\n", "spec.objectives[0].timeSliceTarget", "95",
     "(0, 1]"},
    {"OpWithRatioMetric", "      target: 0.999\n", "      target: 0.999\n      op: lt\n",
     "spec.objectives[0]", "displayName: availability", "op and value are for thresholdMetric"},
    {"GoodAndBad", "        total:\n",
     "        bad:\n          metricSource:\n            type: Prometheus\n            spec:\n"
     "              query: errors_total\n        total:\n",
     "spec.indicator.spec.ratioMetric", "counter: true", "exactly one of good or bad"},
    {"NeitherRatioNorThreshold", "      ratioMetric:\n", "      rationMetric:\n",
     "spec.indicator.spec", "rationMetric", "exactly one of ratioMetric or thresholdMetric"},
    {"NotPrometheus", "            type: Prometheus\n", "            type: Datadog\n",
     "spec.indicator.spec.ratioMetric.good.metricSource.type", "Datadog",
     "only Prometheus metric sources"},
    {"EmptyQuery", R"(query: http_requests_total{code!~"5.."})", "query: \"  \"",
     "spec.indicator.spec.ratioMetric.good.metricSource.spec.query", "\"  \"", "must not be empty"},
    {"MissingQuery", R"(query: http_requests_total{code!~"5.."})", "promql_query: x",
     "spec.indicator.spec.ratioMetric.good.metricSource.spec.promql_query", "promql_query",
     "unknown field"},
    {"MissingTotal", "        total:\n", "        totals:\n",
     "spec.indicator.spec.ratioMetric.total", "counter: true", "is required"},
    {"EmptyObjectives", "  objectives:\n    - displayName: availability\n      target: 0.999\n",
     "  objectives: []\n", "spec.objectives", "objectives: []", "at least one objective"},
    {"ObjectivesNotAList", "  objectives:\n    - displayName: availability\n      target: 0.999\n",
     "  objectives: {target: 0.999}\n", "spec.objectives", "objectives: {", "expected a list"},
    {"MissingService", "  service: checkout\n", "", "spec.service", "description:", "is required"},
    {"ServiceIsAList", "service: checkout", "service: [checkout]", "spec.service", "[checkout]",
     "expected a string, got a list"},
    {"HugeGeneration", "generation: 3", "generation: 1e300", "metadata.generation", "1e300",
     "non-negative integer"},
    {"FractionalGeneration", "generation: 3", "generation: 2.5", "metadata.generation", "2.5",
     "non-negative integer"},
    {"MissingName", "  name: checkout-availability\n", "", "metadata.name", "namespace: shop",
     "is required"},
    {"UnknownAlertOverride", "    policyRef: strict\n",
     "    policyRef: strict\n    alerts:\n      - name: page-2h\n", "spec.gate.alerts[0].name",
     "page-2h", "unknown alert \"page-2h\""},
    {"BadSelectorOperator", "      matchLabels:\n        app: checkout\n",
     "      matchExpressions:\n        - {key: app, operator: Equals, values: [checkout]}\n",
     "spec.gate.selector.matchExpressions[0].operator", "Equals",
     "expected In, NotIn, Exists or DoesNotExist"},
    {"UnknownGateField", "    policyRef: strict\n", "    policyRef: strict\n    policy: x\n",
     "spec.gate.policy", "policy: x", "unknown field"},
};

INSTANTIATE_TEST_SUITE_P(Cases, SloParserError, ::testing::ValuesIn(kBadSlos),
                         [](const ::testing::TestParamInfo<BadSlo>& cell) {
                           return std::string(cell.param.name);
                         });

TEST(SloParser, ThresholdMetricNeedsOpAndValue) {
  const std::string text = R"(apiVersion: openslo/v1
kind: SLO
metadata:
  name: latency
spec:
  service: search
  indicator:
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: histogram_quantile(0.99, rate(x[$window]))
  timeWindow:
    - duration: 28d
  budgetingMethod: Timeslices
  objectives:
    - target: 0.95
      timeSliceTarget: 1
      timeSliceWindow: 1m
)";
  Diagnostics d("latency.yaml");
  EXPECT_FALSE(parse(text, d).has_value());
  const auto* op = errorAt(d, "spec.objectives[0].op");
  const auto* value = errorAt(d, "spec.objectives[0].value");
  ASSERT_NE(op, nullptr) << allErrors(d);
  ASSERT_NE(value, nullptr) << allErrors(d);
  EXPECT_NE(op->message.find("lt, lte, gt or gte"), std::string::npos);
  EXPECT_EQ(op->line, lineOf(text, "- target: 0.95"));
  // With op and value it is valid; a bad op is named.
  Diagnostics ok;
  EXPECT_TRUE(parse(text + "      op: lte\n      value: 0.3\n", ok).has_value()) << allErrors(ok);
  Diagnostics badOp;
  EXPECT_FALSE(parse(text + "      op: below\n      value: 0.3\n", badOp).has_value());
  const auto* e = errorAt(badOp, "spec.objectives[0].op");
  ASSERT_NE(e, nullptr) << allErrors(badOp);
  EXPECT_NE(e->message.find("\"below\""), std::string::npos);
}

TEST(SloParser, ThresholdMetricWithOccurrencesCountsSlicesAsOccurrences) {
  const std::string path =
      budgetgate::testing::sourceFile("crds/samples/openslo-search-latency.yaml");
  std::string text = edit("budgetingMethod: Timeslices", "budgetingMethod: Occurrences",
                          budgetgate::testing::readFile(path));
  text = edit("      timeSliceTarget: 1  # one value per slice: it must meet op/value\n", "", text);
  Diagnostics d;
  const auto slo = parse(text, d);
  ASSERT_TRUE(slo.has_value()) << allErrors(d);
  EXPECT_EQ(slo->budgetingMethod, BudgetingMethod::Occurrences);
}

TEST(SloParser, TheSamplesOldTimeslicesWithoutTimeSliceTargetIsInvalid) {
  const std::string path =
      budgetgate::testing::sourceFile("crds/samples/openslo-search-latency.yaml");
  const std::string text =
      edit("      timeSliceTarget: 1  # one value per slice: it must meet op/value\n", "",
           budgetgate::testing::readFile(path));
  Diagnostics d;
  EXPECT_FALSE(parse(text, d).has_value());
  EXPECT_NE(errorAt(d, "spec.objectives[0].timeSliceTarget"), nullptr) << allErrors(d);
}

TEST(SloParser, AResourceNamesItsDataSourceByMetricSourceRef) {
  const std::string good = "          metricSource:\n            type: Prometheus\n";
  const std::string withRef = good + "            metricSourceRef: eu-mimir\n";
  // Both metric sources name it: the SLO reads eu-mimir.
  std::string text = kValid;
  for (auto at = text.find(good); at != std::string::npos; at = text.find(good, at + 1)) {
    text.replace(at, good.size(), withRef);
  }
  Diagnostics d;
  auto slo = parse(text, d);
  ASSERT_TRUE(slo.has_value()) << allErrors(d);
  EXPECT_EQ(slo->dataSource, "eu-mimir");
  // Without one: the default (empty).
  Diagnostics d2;
  EXPECT_EQ(parse(kValid, d2)->dataSource, "");
  // Only the good metric names it: one SLO, two data sources, refused.
  Diagnostics d3;
  EXPECT_FALSE(parse(edit(good, withRef), d3).has_value());
  EXPECT_NE(allErrors(d3).find("every metric source of an SLO reads the same data source"),
            std::string::npos)
      << allErrors(d3);
  // Not a name: a URL an author might try.
  Diagnostics d4;
  EXPECT_FALSE(
      parse(edit(good, good + "            metricSourceRef: http://evil:9090\n"), d4).has_value());
  EXPECT_NE(errorAt(d4, "spec.indicator.spec.ratioMetric.good.metricSource.metricSourceRef"),
            nullptr)
      << allErrors(d4);
  // An OpenSLO SLO still needs the DataSource document in its bundle.
  Diagnostics d5;
  EXPECT_FALSE(parse(edit("apiVersion: slo.budgetgate.dev/v1alpha1\nkind: ServiceLevelObjective",
                          "apiVersion: openslo/v1\nkind: SLO",
                          edit(good, withRef,
                               edit("  gate:\n    selector:\n      matchLabels:\n        app: "
                                    "checkout\n    policyRef: strict\n",
                                    ""))),
                     d5)
                   .has_value());
  EXPECT_NE(allErrors(d5).find("DataSource \"eu-mimir\" not found"), std::string::npos)
      << allErrors(d5);
}

TEST(SloParser, OpenSloMayNotUseTheGateExtension) {
  Diagnostics d;
  EXPECT_FALSE(parse(edit("apiVersion: slo.budgetgate.dev/v1alpha1\nkind: ServiceLevelObjective",
                          "apiVersion: openslo/v1\nkind: SLO"),
                     d)
                   .has_value());
  EXPECT_NE(errorAt(d, "spec.gate"), nullptr) << allErrors(d);
}

TEST(SloParser, ReportsEveryProblemAtOnce) {
  std::string text = edit("target: 0.999", "target: 1.5");
  text = edit("budgetingMethod: Occurrences", "budgetingMethod: Sometimes", text);
  text = edit("duration: 30d", "duration: 30days", text);
  Diagnostics d;
  EXPECT_FALSE(parse(text, d).has_value());
  EXPECT_NE(errorAt(d, "spec.objectives[0].target"), nullptr);
  EXPECT_NE(errorAt(d, "spec.budgetingMethod"), nullptr);
  EXPECT_NE(errorAt(d, "spec.timeWindow[0].duration"), nullptr);
  // One line per error in the formatted output.
  const std::string formatted = d.format();
  EXPECT_EQ(static_cast<std::size_t>(std::count(formatted.begin(), formatted.end(), '\n')),
            d.errors().size());
}

TEST(SloParser, WrongKindsAndShapesAreErrorsNotCrashes) {
  for (const char* text : {"apiVersion: v1\nkind: ConfigMap\n", "[1, 2]", "text", "~",
                           "apiVersion: openslo/v1\nkind: SLO\n",
                           "apiVersion: openslo/v1\nkind: SLO\nmetadata: 7\nspec: 8\n",
                           "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x}\nspec: {}\n"}) {
    Diagnostics d;
    EXPECT_FALSE(parseSlo(yaml(text), d).has_value()) << text;
    EXPECT_FALSE(d.ok()) << text;
  }
}

TEST(SloParser, IsSloDocument) {
  EXPECT_TRUE(isSloDocument(yaml(kValid)));
  EXPECT_TRUE(isSloDocument(yaml("apiVersion: openslo/v1\nkind: SLO\n")));
  EXPECT_FALSE(isSloDocument(yaml("apiVersion: openslo/v1\nkind: ServiceLevelObjective\n")));
  EXPECT_FALSE(isSloDocument(yaml("apiVersion: slo.budgetgate.dev/v1alpha1\nkind: SLO\n")));
  EXPECT_FALSE(isSloDocument(yaml("apiVersion: [openslo/v1]\nkind: SLO\n")));
  EXPECT_FALSE(isSloDocument(yaml("- 1\n")));
}

TEST(Diagnostics, Format) {
  Diagnostics d("f.yaml");
  d.add({"spec.x", 3, 5, "is wrong"});
  d.add("metadata", "has no line");
  d.add({"", 0, 0, "no path"});
  EXPECT_EQ(d.format(),
            "f.yaml:3:5: spec.x: is wrong\nf.yaml: metadata: has no line\nf.yaml: no path\n");
  EXPECT_EQ(Diagnostics().formatOne({"a", 1, 2, "m"}), "<input>:1:2: a: m");
  EXPECT_FALSE(d.ok());
  EXPECT_TRUE(Diagnostics().ok());
}

TEST(SloNames, Enumerations) {
  EXPECT_EQ(budgetingMethodName(BudgetingMethod::RatioTimeslices), "RatioTimeslices");
  EXPECT_EQ(thresholdOpName(ThresholdOp::Gte), "gte");
  EXPECT_EQ(thresholdOpPromQL(ThresholdOp::Lte), "<=");
  EXPECT_EQ(thresholdOpPromQL(ThresholdOp::Gt), ">");
}

}  // namespace
}  // namespace budgetgate::model
