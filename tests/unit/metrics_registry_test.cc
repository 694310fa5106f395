// metrics::Registry: one # HELP and # TYPE per family whatever feeds it (set values, callbacks,
// histograms), registrations that unregister, and series replaced when an object's labels
// change. WebhookMetrics through it.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <sstream>
#include <string>

#include "operator/metrics/registry.h"
#include "webhook/admission/webhook_metrics.h"

namespace budgetgate::metrics {
namespace {

// Lines starting with `prefix`.
int countLines(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) ++n;
  }
  return n;
}

bool hasLine(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(Registry, OneHelpAndTypePerFamilyWhateverFeedsIt) {
  Registry r;
  r.describe("x_total", Registry::Type::Counter, "Things.");
  r.set("x_total", {{"kind", "a"}}, 1);
  r.add("x_total", {{"kind", "b"}}, 2);
  std::atomic<long long> c{7};
  auto reg = r.observe("x_total", {{"kind", "c"}}, [&c] { return static_cast<double>(c.load()); });
  auto reg2 = r.collect("x_total", [](std::vector<Sample>& out) {
    out.push_back({{{"kind", "d"}}, 4});
    out.push_back({{{"kind", "e"}}, 5});
  });
  r.describe("y", Registry::Type::Gauge, "");
  r.set("y", {}, 3);
  const auto text = r.render();
  EXPECT_EQ(countLines(text, "# HELP x_total "), 1) << text;
  EXPECT_EQ(countLines(text, "# TYPE x_total counter"), 1) << text;
  EXPECT_EQ(countLines(text, "# HELP y"), 1) << text;
  EXPECT_EQ(countLines(text, "# TYPE y gauge"), 1) << text;
  EXPECT_EQ(countLines(text, "# TYPE "), 2) << text;
  EXPECT_TRUE(hasLine(text, "x_total{kind=\"a\"} 1")) << text;
  EXPECT_TRUE(hasLine(text, "x_total{kind=\"b\"} 2")) << text;
  EXPECT_TRUE(hasLine(text, "x_total{kind=\"c\"} 7")) << text;
  EXPECT_TRUE(hasLine(text, "x_total{kind=\"d\"} 4")) << text;
  EXPECT_TRUE(hasLine(text, "x_total{kind=\"e\"} 5")) << text;
  EXPECT_TRUE(hasLine(text, "y 3")) << text;
  // Every sample follows its family's TYPE line.
  EXPECT_LT(text.find("# TYPE x_total"), text.find("x_total{"));
}

TEST(Registry, CallbacksAreReadAtRenderTime) {
  Registry r;
  r.describe("hits_total", Registry::Type::Counter, "Hits.");
  std::atomic<long long> hits{0};
  auto reg = r.observe("hits_total", {}, [&hits] { return static_cast<double>(hits.load()); });
  EXPECT_TRUE(hasLine(r.render(), "hits_total 0"));
  hits += 41;
  ++hits;
  EXPECT_TRUE(hasLine(r.render(), "hits_total 42"));
}

TEST(Registry, ARegistrationUnregistersWhenDestroyedOrMoved) {
  Registry r;
  r.describe("g", Registry::Type::Gauge, "G.");
  Registration kept;
  {
    auto reg = r.observe("g", {{"k", "1"}}, [] { return 1.0; });
    auto gone = r.observe("g", {{"k", "2"}}, [] { return 2.0; });
    kept = std::move(reg);
  }
  auto text = r.render();
  EXPECT_TRUE(hasLine(text, "g{k=\"1\"} 1")) << text;
  EXPECT_EQ(text.find("g{k=\"2\"}"), std::string::npos) << text;
  kept.reset();
  text = r.render();
  EXPECT_EQ(text.find("g{"), std::string::npos) << text;
  EXPECT_EQ(countLines(text, "# TYPE g gauge"), 1) << text;
}

TEST(Registry, RendersAHistogramOwnedElsewhere) {
  Registry r;
  Histogram h({0.1, 1});
  r.describe("latency_seconds", Registry::Type::Histogram, "Latency.");
  auto reg = r.histogram("latency_seconds", {{"path", "/x"}}, h);
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const auto text = r.render();
  EXPECT_EQ(countLines(text, "# HELP latency_seconds Latency."), 1) << text;
  EXPECT_EQ(countLines(text, "# TYPE latency_seconds histogram"), 1) << text;
  EXPECT_TRUE(hasLine(text, "latency_seconds_bucket{le=\"0.1\",path=\"/x\"} 1")) << text;
  EXPECT_TRUE(hasLine(text, "latency_seconds_bucket{le=\"1\",path=\"/x\"} 2")) << text;
  EXPECT_TRUE(hasLine(text, "latency_seconds_bucket{le=\"+Inf\",path=\"/x\"} 3")) << text;
  EXPECT_TRUE(hasLine(text, "latency_seconds_count{path=\"/x\"} 3")) << text;
  EXPECT_TRUE(hasLine(text, "latency_seconds_sum{path=\"/x\"} 5.55")) << text;
}

TEST(SeriesLabels, AChangedLabelReplacesTheObjectsSeries) {
  Registry r;
  r.describe("slo_sli", Registry::Type::Gauge, "SLI.");
  r.describe("slo_tier", Registry::Type::Gauge, "Tier.");
  SeriesLabels exported(r);
  const Labels key{{"namespace", "shop"}, {"slo", "web"}};
  const Labels other{{"namespace", "shop"}, {"slo", "api"}};
  auto labels = exported.update(key, {{"team", "a"}});
  r.set("slo_sli", labels, 0.99);
  r.set("slo_tier", {{"namespace", "shop"}, {"slo", "web"}, {"team", "a"}, {"tier", "healthy"}}, 1);
  r.set("slo_sli", exported.update(other, {{"team", "a"}}), 0.5);
  // Unchanged labels keep the series.
  EXPECT_EQ(exported.update(key, {{"team", "a"}}), labels);
  EXPECT_NE(r.render().find("team=\"a\",tier=\"healthy\""), std::string::npos);

  labels = exported.update(key, {{"team", "b"}});
  EXPECT_EQ(labels.at("team"), "b");
  r.set("slo_sli", labels, 0.98);
  const auto text = r.render();
  EXPECT_TRUE(hasLine(text, "slo_sli{namespace=\"shop\",slo=\"web\",team=\"b\"} 0.98")) << text;
  EXPECT_EQ(text.find("slo=\"web\",team=\"a\""), std::string::npos) << text;
  // Another SLO's series are left alone.
  EXPECT_TRUE(hasLine(text, "slo_sli{namespace=\"shop\",slo=\"api\",team=\"a\"} 0.5")) << text;

  exported.forget(key);
  EXPECT_EQ(r.render().find("slo=\"web\""), std::string::npos);
}

TEST(Registry, RemovingSeriesMatchesWholeLabelsNotText) {
  Registry r;
  r.describe("slo_sli", Registry::Type::Gauge, "SLI.");
  // Values that contain what a removal looks for, as text: escaped, they never match.
  r.set("slo_sli", {{"namespace", "shop"}, {"slo", "ab"}}, 1);
  r.set("slo_sli", {{"namespace", "shop"}, {"slo", "x\",slo=\"a"}}, 2);
  r.set("slo_sli", {{"namespace", "shop"}, {"slo", "a"}, {"team", ""}}, 3);
  r.set("slo_sli", {{"namespace", "shop2"}, {"slo", "a"}}, 4);
  r.removeSeriesWith({{"namespace", "shop"}, {"slo", "a"}});
  const auto text = r.render();
  EXPECT_EQ(countLines(text, "slo_sli{"), 3) << text;
  EXPECT_TRUE(hasLine(text, "slo_sli{namespace=\"shop\",slo=\"ab\"} 1")) << text;
  EXPECT_TRUE(hasLine(text, "slo_sli{namespace=\"shop\",slo=\"x\\\",slo=\\\"a\"} 2")) << text;
  EXPECT_TRUE(hasLine(text, "slo_sli{namespace=\"shop2\",slo=\"a\"} 4")) << text;
  // An empty value is a value too.
  r.removeSeriesWith({{"slo", "ab"}, {"team", ""}});
  EXPECT_EQ(countLines(r.render(), "slo_sli{"), 3);
  r.removeSeriesWith({{"slo", "ab"}});
  EXPECT_EQ(countLines(r.render(), "slo_sli{"), 2);
}

TEST(WebhookMetrics, DecisionsByNamespaceKindTierAndOutcome) {
  using admission::Outcome;
  using admission::WebhookMetrics;
  Registry r;
  {
    WebhookMetrics m;
    auto regs = m.registerIn(r);
    m.record("shop", 0, engine::Tier::Exhausted, Outcome::Denied, 0.001, false);
    m.record("shop", 0, engine::Tier::Exhausted, Outcome::Denied, 0.001, true);
    m.record("shop", 1, engine::Tier::Healthy, Outcome::Allowed, 0.001, false);
    m.record("", WebhookMetrics::kOtherKind, engine::Tier::Unknown, Outcome::Error, 0.001, false);
    m.record("", 99, engine::Tier::Unknown, Outcome::Error, 0.001, false);  // clamped to other
    const auto text = r.render();
    EXPECT_TRUE(hasLine(text,
                        "budgetgate_webhook_decisions_total{kind=\"Deployment\",namespace=\"shop\","
                        "outcome=\"denied\",tier=\"exhausted\"} 2"))
        << text;
    EXPECT_TRUE(
        hasLine(text,
                "budgetgate_webhook_decisions_total{kind=\"StatefulSet\",namespace=\"shop\","
                "outcome=\"allowed\",tier=\"healthy\"} 1"))
        << text;
    EXPECT_TRUE(hasLine(text,
                        "budgetgate_webhook_decisions_total{kind=\"other\",namespace=\"\","
                        "outcome=\"error\",tier=\"unknown\"} 2"))
        << text;
    EXPECT_TRUE(hasLine(text, "budgetgate_webhook_dry_run_requests_total 1")) << text;
    EXPECT_TRUE(hasLine(text, "budgetgate_webhook_decision_duration_seconds_count 5")) << text;
    EXPECT_EQ(countLines(text, "# TYPE budgetgate_webhook_decisions_total counter"), 1) << text;
    EXPECT_EQ(countLines(text, "budgetgate_webhook_decisions_total{"), 3) << text;
  }
  // The metrics are gone with their registrations (no dangling callbacks).
  EXPECT_EQ(r.render().find("budgetgate_webhook_decisions_total{"), std::string::npos);
}

}  // namespace
}  // namespace budgetgate::metrics
