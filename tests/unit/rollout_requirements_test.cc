// Requirements per tier (seed 002: a rollback plan, a postmortem, a careful strategy): parsed
// from the policy, checked against the Deployment, enforced by the gate with what to add, never
// on a rollback, and dropping one counts as loosening the policy.

#include "webhook/gate/rollout_requirements.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "operator/engine/policy_strictness.h"
#include "operator/model/policy_parser.h"
#include "webhook/gate/gate_decision.h"

namespace budgetgate {
namespace {

using engine::Tier;

const TimePoint kNow = TimePoint(Seconds(1'769'817'600));

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

std::optional<engine::ErrorBudgetPolicy> parse(const std::string& requirements,
                                               std::string* errors) {
  model::Diagnostics diag("policy.yaml");
  auto p = model::parsePolicy(YAML::Load(R"(apiVersion: slo.budgetgate.dev/v1alpha1
kind: ErrorBudgetPolicy
metadata: {name: careful, namespace: shop}
spec:
  requirements:
)" + requirements),
                              diag);
  *errors = diag.format();
  return p;
}

const char* kSeed002 = R"(    warning:
      annotations:
        - name: budgetgate.dev/rollback-plan
      strategy: {maxUnavailable: 0, maxSurge: 1}
    critical:
      annotations:
        - name: budgetgate.dev/rollback-plan
        - {name: budgetgate.dev/postmortem, url: true}
      strategy: {type: RollingUpdate, maxUnavailable: 0, maxSurge: 10%}
)";

TEST(RolloutRequirements, ParsesPerTierAndRefusesNonsense) {
  std::string errors;
  auto p = parse(kSeed002, &errors);
  ASSERT_TRUE(p) << errors;
  const auto& critical = p->requirements[static_cast<std::size_t>(Tier::Critical)];
  ASSERT_EQ(critical.annotations.size(), 2u);
  EXPECT_TRUE(critical.annotations[1].url);
  EXPECT_EQ(critical.maxSurge, "10%");
  EXPECT_EQ(critical.maxUnavailable, "0");
  EXPECT_TRUE(p->requirements[static_cast<std::size_t>(Tier::Healthy)].empty());
  EXPECT_FALSE(parse("    warning: {strategy: {maxSurge: lots}}\n", &errors));
  EXPECT_TRUE(contains(errors, "an integer or a percentage")) << errors;
  EXPECT_FALSE(parse("    warning: {strategy: {type: BlueGreen}}\n", &errors));
  EXPECT_FALSE(parse("    warning: {annotations: [{url: true}]}\n", &errors));
  EXPECT_FALSE(parse("    sometimes: {}\n", &errors));
}

TEST(RolloutRequirements, ScalesBoundsLikeTheDeploymentController) {
  EXPECT_EQ(gate::scaledCount("25%", 4, false), 1);
  EXPECT_EQ(gate::scaledCount("25%", 3, false), 0);  // maxUnavailable rounds down
  EXPECT_EQ(gate::scaledCount("25%", 3, true), 1);   // maxSurge rounds up
  EXPECT_EQ(gate::scaledCount("2", 10, true), 2);
  EXPECT_FALSE(gate::scaledCount("x%", 10, true));
  EXPECT_FALSE(gate::scaledCount("-1", 10, true));
}

TEST(RolloutRequirements, SaysExactlyWhatIsMissing) {
  std::string errors;
  auto p = parse(kSeed002, &errors);
  ASSERT_TRUE(p) << errors;
  const auto& critical = p->requirements[static_cast<std::size_t>(Tier::Critical)];
  gate::RolloutRequest r;
  r.strategy = gate::RolloutStrategy{};  // defaults: 25 % / 25 %
  r.strategy->replicas = 8;
  auto unmet = gate::unmetRequirements(critical, r);
  ASSERT_EQ(unmet.size(), 4u);
  EXPECT_EQ(unmet[0], "annotation budgetgate.dev/rollback-plan");
  EXPECT_EQ(unmet[1], "annotation budgetgate.dev/postmortem (an http(s) URL)");
  EXPECT_EQ(unmet[2],
            "spec.strategy.rollingUpdate.maxUnavailable at most 0 (is 25%: 2 of 8 replicas)");
  EXPECT_EQ(unmet[3], "spec.strategy.rollingUpdate.maxSurge at most 10% (is 25%: 2 of 8 replicas)");
  r.annotations = {{"budgetgate.dev/rollback-plan", "https://wiki/rb"},
                   {"budgetgate.dev/postmortem", "INC-12"}};
  r.strategy->maxUnavailable = "0";
  r.strategy->maxSurge = "1";
  unmet = gate::unmetRequirements(critical, r);
  ASSERT_EQ(unmet.size(), 1u);
  EXPECT_EQ(unmet[0], "annotation budgetgate.dev/postmortem as an http(s) URL (is \"INC-12\")");
  r.annotations["budgetgate.dev/postmortem"] = "https://incidents/12";
  EXPECT_TRUE(gate::unmetRequirements(critical, r).empty());
  r.annotations["budgetgate.dev/rollback-plan"] = "  ";  // blank is absent
  EXPECT_EQ(gate::unmetRequirements(critical, r).size(), 1u);
  r.annotations["budgetgate.dev/rollback-plan"] = "revert";
  r.strategy->type = "Recreate";
  unmet = gate::unmetRequirements(critical, r);
  ASSERT_EQ(unmet.size(), 1u);
  EXPECT_EQ(unmet[0], "spec.strategy.type RollingUpdate (is Recreate)");
}

class RequirementsGateTest : public ::testing::Test {
 protected:
  RequirementsGateTest() {
    std::string errors;
    policy = *parse(kSeed002, &errors);
  }

  gate::GateDecision decideAt(Tier tier, const std::string& risk,
                              const model::Labels& annotations = {}, bool rollback = false) {
    gate::GatedSlo slo;
    slo.ns = "shop";
    slo.name = "checkout";
    model::LabelSelector sel;
    sel.matchLabels = {{"app", "checkout"}};
    slo.selector = sel;
    slo.policy = &policy;
    model::SloStatus s;
    s.lastEvaluated = kNow;
    s.tier = tier;
    engine::ErrorBudget b;
    b.total = 100;
    b.consumedPercent = 80;
    s.errorBudget = b;
    slo.status = s;
    gate::RolloutRequest r;
    r.operation = gate::Operation::Update;
    r.ns = "shop";
    r.name = "checkout";
    r.identity.labels = {{"app", "checkout"}};
    r.oldIdentity = r.identity;
    r.change = gate::Change::Template;
    r.annotations = annotations;
    r.annotations[std::string(gate::kRiskAnnotation)] = risk;
    r.strategy = gate::RolloutStrategy{"spec.strategy", "RollingUpdate", "0", "1", 4};
    r.newTemplate = "v2";
    r.previousTemplates = {"v1"};
    if (rollback) r.newTemplate = "v1";
    gate::GateContext ctx;
    ctx.now = kNow;
    return gate::decide(r, {slo}, ctx);
  }

  engine::ErrorBudgetPolicy policy;
};

TEST_F(RequirementsGateTest, ARolloutTheTierAdmitsIsDeniedUntilItCarriesWhatIsRequired) {
  auto d = decideAt(Tier::Warning, "low");  // warning x low = review (warn)
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message,
                       "but at tier warning a rollout needs annotation "
                       "budgetgate.dev/rollback-plan"))
      << d.message;
  EXPECT_TRUE(contains(d.message,
                       "To proceed: add annotation budgetgate.dev/rollback-plan to the "
                       "Deployment (policy shop/careful, requirements.warning)"))
      << d.message;
  d = decideAt(Tier::Warning, "low", {{"budgetgate.dev/rollback-plan", "revert to v1"}});
  EXPECT_TRUE(d.allowed) << d.message;
  // Healthy has no requirements.
  EXPECT_TRUE(decideAt(Tier::Healthy, "low").allowed);
}

TEST_F(RequirementsGateTest, RollbacksAreExemptAndWarnModeWarns) {
  EXPECT_TRUE(decideAt(Tier::Critical, "medium", {}, /*rollback=*/true).allowed);
  policy.mode = engine::Mode::Warn;
  const auto d = decideAt(Tier::Warning, "low");
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(std::any_of(d.warnings.begin(), d.warnings.end(), [](const std::string& w) {
    return contains(w, "would be denied in enforce mode") && contains(w, "rollback-plan");
  }));
}

TEST_F(RequirementsGateTest, ADeniedRolloutSaysTheVerdictNotTheRequirements) {
  // warning x medium = defer: requirements are not what stands in the way.
  const auto d = decideAt(Tier::Warning, "medium");
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(contains(d.message, "a rollout needs")) << d.message;
}

TEST(RolloutRequirements, DroppingOrWideningOneLoosensThePolicy) {
  std::string errors;
  auto strict = *parse(kSeed002, &errors);
  auto lax = strict;
  lax.requirements[static_cast<std::size_t>(Tier::Critical)].annotations.pop_back();
  EXPECT_TRUE(engine::firstLoosening(lax, strict).has_value());
  lax = strict;
  lax.requirements[static_cast<std::size_t>(Tier::Critical)].annotations[1].url = false;
  EXPECT_TRUE(engine::firstLoosening(lax, strict).has_value());
  lax = strict;
  lax.requirements[static_cast<std::size_t>(Tier::Critical)].maxSurge = "25%";
  EXPECT_EQ(engine::firstLoosening(lax, strict),
            "requirements.critical.strategy.maxSurge 10% -> 25%");
  lax = strict;
  lax.requirements[static_cast<std::size_t>(Tier::Warning)].maxSurge = "10%";  // unit change
  EXPECT_TRUE(engine::firstLoosening(lax, strict).has_value());
  auto stricter = strict;
  stricter.requirements[static_cast<std::size_t>(Tier::Attention)].annotations.push_back(
      {"budgetgate.dev/tests", false});
  EXPECT_FALSE(engine::firstLoosening(stricter, strict).has_value());
}

}  // namespace
}  // namespace budgetgate
