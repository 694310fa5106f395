#include "operator/model/policy_parser.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace budgetgate::model {
namespace {

using budgetgate::testing::allErrors;
using budgetgate::testing::errorAt;
using budgetgate::testing::lineOf;
using budgetgate::testing::yaml;
using engine::Mode;
using engine::Risk;
using engine::Tier;
using engine::Verdict;

constexpr Seconds kDay{86400};

const char* kHeader = R"(apiVersion: slo.budgetgate.dev/v1alpha1
kind: ErrorBudgetPolicy
metadata:
  name: strict
  namespace: shop
)";

std::optional<engine::ErrorBudgetPolicy> parse(const std::string& text, Diagnostics& d) {
  return parsePolicy(yaml(text), d);
}

void expectDefaults(const engine::ErrorBudgetPolicy& p) {
  const engine::ErrorBudgetPolicy defaults;
  EXPECT_EQ(p.mode, defaults.mode);
  EXPECT_EQ(p.onMissingData, defaults.onMissingData);
  EXPECT_EQ(p.staleAfter, defaults.staleAfter);
  EXPECT_EQ(p.review, defaults.review);
  EXPECT_EQ(p.hysteresis.restorePercent, defaults.hysteresis.restorePercent);
  EXPECT_EQ(p.hysteresis.maxHold, defaults.hysteresis.maxHold);
  for (Tier t : {Tier::Healthy, Tier::Attention, Tier::Warning, Tier::Critical, Tier::Exhausted}) {
    for (Risk r : engine::kRisks) EXPECT_EQ(p.matrix.at(t, r), defaults.matrix.at(t, r));
  }
  const auto same = [](const engine::TierThreshold& a, const engine::TierThreshold& b) {
    return a.remainingPercentAtMost == b.remainingPercentAtMost &&
           a.burnRateAtLeast == b.burnRateAtLeast && a.exhaustionWithin == b.exhaustionWithin;
  };
  EXPECT_TRUE(same(p.tiers.critical, defaults.tiers.critical));
  EXPECT_TRUE(same(p.tiers.warning, defaults.tiers.warning));
  EXPECT_TRUE(same(p.tiers.attention, defaults.tiers.attention));
  EXPECT_EQ(p.exceptions.rollback, defaults.exceptions.rollback);
}

TEST(PolicyParser, MinimalPolicyKeepsEveryDefault) {
  Diagnostics d("p.yaml");
  const auto p = parse(kHeader, d);
  ASSERT_TRUE(p.has_value()) << allErrors(d);
  EXPECT_EQ(p->name, "strict");
  EXPECT_EQ(p->ns, "shop");
  expectDefaults(*p);
  EXPECT_TRUE(p->exceptions.security.empty());
}

TEST(PolicyParser, EmptySpecKeepsEveryDefault) {
  Diagnostics d;
  const auto p = parse(std::string(kHeader) + "spec: {}\n", d);
  ASSERT_TRUE(p.has_value()) << allErrors(d);
  expectDefaults(*p);
}

TEST(PolicyParser, TheSampleSpellsOutTheDefaults) {
  const std::string path = budgetgate::testing::sourceFile("crds/samples/policy-default.yaml");
  Diagnostics d(path);
  const auto p = parse(budgetgate::testing::readFile(path), d);
  ASSERT_TRUE(p.has_value()) << allErrors(d);
  EXPECT_EQ(p->name, "default");
  EXPECT_EQ(p->ns, "budgetgate");
  expectDefaults(*p);
  EXPECT_EQ(p->exceptions.security.groups, std::vector<std::string>{"sre"});
  EXPECT_EQ(p->exceptions.sloImprovement.groups, std::vector<std::string>{"sre"});
  EXPECT_EQ(p->exceptions.bugfix.who.groups, std::vector<std::string>{"sre"});
  EXPECT_EQ(p->exceptions.bugfix.tiers, (std::vector<Tier>{Tier::Warning, Tier::Critical}));
}

TEST(PolicyParser, EveryFieldCanBeSet) {
  Diagnostics d;
  const auto p = parse(std::string(kHeader) + R"(spec:
  mode: warn
  onMissingData: deny
  staleAfter: 5m
  tiers:
    critical: {remainingPercent: 5, burnRate: 10, exhaustionWithin: 1d}
    warning: {burnRate: 3}
    attention: {exhaustionWithin: 20d}
  hysteresis: {restorePercent: 20, maxHold: 3d}
  decisions:
    healthy: {high: approve}
    critical: {low: block}
  review:
    action: require-approval
    approvers: {users: [alice], groups: [release-managers]}
  exceptions:
    rollback: false
    security: {users: [sec-bot], groups: [security]}
    sloImprovement: {groups: [sre, oncall]}
    bugfix: {groups: [oncall], tiers: [attention, warning]}
)",
                       d);
  ASSERT_TRUE(p.has_value()) << allErrors(d);
  EXPECT_EQ(p->mode, Mode::Warn);
  EXPECT_EQ(p->onMissingData, engine::MissingDataAction::Deny);
  EXPECT_EQ(p->staleAfter, Seconds(300));
  EXPECT_EQ(p->tiers.critical.remainingPercentAtMost, 5.0);
  EXPECT_EQ(p->tiers.critical.burnRateAtLeast, 10.0);
  EXPECT_EQ(p->tiers.critical.exhaustionWithin, kDay);
  EXPECT_EQ(p->tiers.warning.burnRateAtLeast, 3.0);
  EXPECT_EQ(p->tiers.warning.remainingPercentAtMost, 25.0);  // unspecified: default kept
  EXPECT_EQ(p->tiers.attention.exhaustionWithin, 20 * kDay);
  EXPECT_EQ(p->hysteresis.restorePercent, 20.0);
  EXPECT_EQ(p->hysteresis.maxHold, 3 * kDay);
  EXPECT_EQ(p->matrix.at(Tier::Healthy, Risk::High), Verdict::Approve);
  EXPECT_EQ(p->matrix.at(Tier::Healthy, Risk::Low), Verdict::Approve);
  EXPECT_EQ(p->matrix.at(Tier::Critical, Risk::Low), Verdict::Block);
  EXPECT_EQ(p->matrix.at(Tier::Warning, Risk::Low), Verdict::Review);  // untouched row
  EXPECT_EQ(p->review, engine::ReviewAction::RequireApproval);
  EXPECT_EQ(p->approvers.users, std::vector<std::string>{"alice"});
  EXPECT_EQ(p->approvers.groups, std::vector<std::string>{"release-managers"});
  EXPECT_FALSE(p->exceptions.rollback);
  EXPECT_TRUE(p->exceptions.security.admits("sec-bot", {}));
  EXPECT_TRUE(p->exceptions.security.admits("x", {"security"}));
  EXPECT_FALSE(p->exceptions.security.admits("x", {"sre"}));
  EXPECT_TRUE(p->exceptions.sloImprovement.admits("x", {"oncall"}));
  EXPECT_TRUE(p->exceptions.bugfix.who.admits("x", {"oncall"}));
  EXPECT_TRUE(p->exceptions.bugfix.appliesAt(Tier::Attention));
  EXPECT_FALSE(p->exceptions.bugfix.appliesAt(Tier::Critical));  // the list replaces the default
}

struct BadPolicy {
  const char* name;
  const char* spec;     // appended to the header
  const char* path;     // field path of the expected error
  const char* needle;   // text whose line the error must point at
  const char* message;  // part of the message
};

class PolicyParserError : public ::testing::TestWithParam<BadPolicy> {};

TEST_P(PolicyParserError, IsPreciseAndLocated) {
  const BadPolicy& c = GetParam();
  const std::string text = std::string(kHeader) + c.spec;
  Diagnostics d("policy.yaml");
  EXPECT_FALSE(parse(text, d).has_value());
  const FieldError* e = errorAt(d, c.path);
  ASSERT_NE(e, nullptr) << "no error at " << c.path << "; got:\n" << allErrors(d);
  EXPECT_NE(e->message.find(c.message), std::string::npos) << e->message;
  EXPECT_EQ(e->line, lineOf(text, c.needle)) << allErrors(d);
  EXPECT_GT(e->column, 0);
  const std::string formatted = d.formatOne(*e);
  EXPECT_EQ(formatted.rfind("policy.yaml:" + std::to_string(e->line) + ":", 0), 0u) << formatted;
  EXPECT_NE(formatted.find(c.path), std::string::npos) << formatted;
}

const BadPolicy kBadPolicies[] = {
    {"UnknownMode", "spec:\n  mode: strict\n", "spec.mode", "mode: strict",
     "enforce, warn or audit"},
    {"UnknownMissingData", "spec:\n  onMissingData: allow\n", "spec.onMissingData", "allow",
     "allow-with-warning or deny"},
    {"BareNumberStaleAfter", "spec:\n  staleAfter: 10\n", "spec.staleAfter", "10",
     "positive duration"},
    {"ZeroStaleAfter", "spec:\n  staleAfter: 0s\n", "spec.staleAfter", "0s", "positive duration"},
    {"UnknownSpecField", "spec:\n  modes: warn\n", "spec.modes", "modes", "unknown field"},
    {"UnknownTier", "spec:\n  tiers:\n    severe: {burnRate: 3}\n", "spec.tiers.severe", "severe",
     "unknown field"},
    {"RemainingOver100", "spec:\n  tiers:\n    critical: {remainingPercent: 150}\n",
     "spec.tiers.critical.remainingPercent", "150", "[0, 100]"},
    {"ZeroBurn", "spec:\n  tiers:\n    warning: {burnRate: 0}\n", "spec.tiers.warning.burnRate",
     "burnRate: 0", "above 0"},
    {"TextBurn", "spec:\n  tiers:\n    warning: {burnRate: fast}\n", "spec.tiers.warning.burnRate",
     "fast", "expected a number"},
    {"BadExhaustion", "spec:\n  tiers:\n    attention: {exhaustionWithin: two weeks}\n",
     "spec.tiers.attention.exhaustionWithin", "two weeks", "positive duration"},
    {"BadVerdict", "spec:\n  decisions:\n    healthy: {low: maybe}\n", "spec.decisions.healthy.low",
     "maybe", "approve, review, defer or block"},
    {"UnknownRisk", "spec:\n  decisions:\n    healthy: {critical: block}\n",
     "spec.decisions.healthy.critical", "critical: block", "unknown field"},
    {"UnknownDecisionRow", "spec:\n  decisions:\n    unknown: {low: block}\n",
     "spec.decisions.unknown", "unknown:", "unknown field"},
    {"RestoreOver100", "spec:\n  hysteresis:\n    restorePercent: 200\n",
     "spec.hysteresis.restorePercent", "200", "[0, 100]"},
    {"ApprovalWithoutApprovers", "spec:\n  review:\n    action: require-approval\n",
     "spec.review.approvers", "action: require-approval", "at least one user or group"},
    {"BadReviewAction", "spec:\n  review:\n    action: ask\n", "spec.review.action", "ask",
     "warn or require-approval"},
    {"RollbackNotBoolean", "spec:\n  exceptions:\n    rollback: sometimes\n",
     "spec.exceptions.rollback", "sometimes", "true or false"},
    {"GroupsNotAList", "spec:\n  exceptions:\n    security:\n      groups: sre\n",
     "spec.exceptions.security.groups", "groups: sre", "expected a list"},
    {"GroupNotAString", "spec:\n  exceptions:\n    security:\n      groups: [{name: sre}]\n",
     "spec.exceptions.security.groups[0]", "{name: sre}", "expected a string"},
    {"SpecNotAMap", "spec: [1, 2]\n", "spec", "[1, 2]", "expected a map"},
    {"BugfixUnknownTier", "spec:\n  exceptions:\n    bugfix:\n      tiers: [warning, red]\n",
     "spec.exceptions.bugfix.tiers[1]", "red", "expected healthy, attention, warning"},
    {"BugfixUnknownKey", "spec:\n  exceptions:\n    bugfix:\n      team: [sre]\n",
     "spec.exceptions.bugfix.team", "team:", "unknown field"},
};

INSTANTIATE_TEST_SUITE_P(Cases, PolicyParserError, ::testing::ValuesIn(kBadPolicies),
                         [](const ::testing::TestParamInfo<BadPolicy>& cell) {
                           return std::string(cell.param.name);
                         });

TEST(PolicyParser, WrongApiVersionOrKind) {
  Diagnostics d;
  EXPECT_FALSE(
      parsePolicy(yaml("apiVersion: v1\nkind: ErrorBudgetPolicy\nmetadata: {name: x}\n"), d)
          .has_value());
  EXPECT_FALSE(d.ok());
  Diagnostics d2;
  EXPECT_FALSE(parsePolicy(yaml("apiVersion: slo.budgetgate.dev/v1alpha1\nkind: Policy\n"
                                "metadata: {name: x}\n"),
                           d2)
                   .has_value());
  EXPECT_NE(allErrors(d2).find("ErrorBudgetPolicy"), std::string::npos);
}

TEST(PolicyParser, MissingMetadataAndName) {
  Diagnostics d;
  EXPECT_FALSE(
      parsePolicy(yaml("apiVersion: slo.budgetgate.dev/v1alpha1\nkind: ErrorBudgetPolicy\n"), d)
          .has_value());
  EXPECT_NE(errorAt(d, "metadata"), nullptr) << allErrors(d);
  Diagnostics d2;
  EXPECT_FALSE(parsePolicy(yaml("apiVersion: slo.budgetgate.dev/v1alpha1\nkind: ErrorBudgetPolicy\n"
                                "metadata: {namespace: x}\n"),
                           d2)
                   .has_value());
  EXPECT_NE(errorAt(d2, "metadata.name"), nullptr) << allErrors(d2);
}

TEST(PolicyParser, ReportsEveryErrorAtOnce) {
  Diagnostics d;
  EXPECT_FALSE(
      parse(std::string(kHeader) + "spec:\n  mode: x\n  onMissingData: y\n  staleAfter: z\n", d)
          .has_value());
  EXPECT_EQ(d.errors().size(), 3u) << allErrors(d);
}

TEST(PolicyParser, NonMapDocumentsAreErrorsNotCrashes) {
  for (const char* text : {"just a string", "[1, 2, 3]", "~", "42"}) {
    Diagnostics d;
    EXPECT_FALSE(parsePolicy(yaml(text), d).has_value()) << text;
    EXPECT_FALSE(d.ok()) << text;
  }
}

TEST(PolicyParser, IsPolicyDocument) {
  EXPECT_TRUE(isPolicyDocument(yaml(kHeader)));
  EXPECT_FALSE(isPolicyDocument(yaml("kind: ServiceLevelObjective\n")));
  EXPECT_FALSE(isPolicyDocument(yaml("kind: [ErrorBudgetPolicy]\n")));
  EXPECT_FALSE(isPolicyDocument(yaml("- kind\n")));
}

}  // namespace
}  // namespace budgetgate::model
