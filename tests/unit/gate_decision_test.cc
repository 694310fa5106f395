#include "webhook/gate/gate_decision.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "webhook/gate/denial_message.h"

namespace budgetgate::gate {
namespace {

using engine::Mode;
using engine::Risk;
using engine::Tier;
using engine::Verdict;

const TimePoint kNow = TimePoint(Seconds(1'769'817'600));  // 2026-01-31T00:00:00Z

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

bool anyContains(const std::vector<std::string>& lines, std::string_view part) {
  return std::any_of(lines.begin(), lines.end(), [&](const auto& l) { return contains(l, part); });
}

std::string audit(const GateDecision& d, std::string_view key) {
  for (const auto& [k, v] : d.auditAnnotations) {
    if (k == key) return v;
  }
  return "<absent>";
}

engine::ErrorBudget budgetWithRemaining(double percent) {
  engine::ErrorBudget b;
  b.total = 1000;
  b.consumed = (100.0 - percent) * 10.0;
  b.consumedPercent = 100.0 - percent;
  return b;
}

model::SloStatus status(Tier tier, double remaining, double burn1h) {
  model::SloStatus s;
  s.lastEvaluated = kNow - Seconds(60);
  s.tier = tier;
  s.errorBudget = budgetWithRemaining(remaining);
  s.burnRates.set(engine::BurnRateWindow::H1, burn1h);
  s.burnRates.set(engine::BurnRateWindow::M5, burn1h);
  return s;
}

model::SloStatus status(Tier tier) {
  switch (tier) {
    case Tier::Healthy:
      return status(tier, 80, 0.3);
    case Tier::Attention:
      return status(tier, 45, 1.2);
    case Tier::Warning:
      return status(tier, 20, 2.5);
    case Tier::Critical:
      return status(tier, 8.2, 6.1);
    default:
      return status(tier, 0, 0.2);
  }
}

model::LabelSelector selectApp(std::string app) {
  model::LabelSelector s;
  s.matchLabels = {{"app", std::move(app)}};
  return s;
}

class GateTest : public ::testing::Test {
 protected:
  GatedSlo slo(std::string name, std::optional<model::SloStatus> st,
               const engine::ErrorBudgetPolicy* p = nullptr) const {
    GatedSlo s;
    s.ns = "shop";
    s.name = std::move(name);
    s.selector = selectApp("checkout");
    s.policy = p ? p : &policy;
    s.status = std::move(st);
    return s;
  }

  RolloutRequest rollout(std::string risk = {}, std::string releaseType = {}) const {
    RolloutRequest r;
    r.operation = Operation::Update;
    r.ns = "shop";
    r.name = "checkout";
    r.identity.labels = {{"app", "checkout"}};
    r.identity.templateLabels = model::Labels{{"app", "checkout"}};
    r.oldIdentity = r.identity;
    r.change = Change::Template;
    if (!risk.empty()) r.annotations[std::string(kRiskAnnotation)] = risk;
    if (!releaseType.empty()) r.annotations[std::string(kReleaseTypeAnnotation)] = releaseType;
    r.newTemplate = "template-v2";  // changed from template-v1
    r.previousTemplates = {"template-v1", "template-v0"};
    r.user = {"dev@example.com", {"developers", "system:authenticated"}};
    return r;
  }

  GateDecision decideOne(const RolloutRequest& r, Tier tier) const {
    return decide(r, {slo("checkout-availability", status(tier))}, context);
  }

  engine::ErrorBudgetPolicy policy = [] {
    engine::ErrorBudgetPolicy p;
    p.exceptions.security.groups = {"sre"};
    p.exceptions.sloImprovement.groups = {"sre"};
    p.exceptions.sloImprovement.users = {"reliability-bot"};
    return p;
  }();
  GateContext context{kNow, {"kube-system", "budgetgate"}};
};

// --- what is gated ------------------------------------------------------------------------------

TEST_F(GateTest, DeletesAndConnectsAreNeverGated) {
  for (Operation op : {Operation::Delete, Operation::Connect}) {
    auto r = rollout();
    r.operation = op;
    const auto d = decideOne(r, Tier::Exhausted);
    EXPECT_TRUE(d.allowed);
    EXPECT_FALSE(d.gated);
    EXPECT_TRUE(contains(d.reason, "never gated")) << d.reason;
  }
}

TEST_F(GateTest, ScaleAndStatusSubresourcesAreNeverGated) {
  for (const char* sub : {"scale", "status"}) {
    auto r = rollout();
    r.subResource = sub;
    const auto d = decideOne(r, Tier::Exhausted);
    EXPECT_TRUE(d.allowed);
    EXPECT_FALSE(d.gated);
    EXPECT_TRUE(contains(d.reason, sub));
  }
}

TEST_F(GateTest, ExemptNamespacesAreNeverGated) {
  for (const char* ns : {"kube-system", "budgetgate"}) {
    auto r = rollout();
    r.ns = ns;
    auto s = slo("x", status(Tier::Exhausted));
    s.ns = ns;
    const auto d = decide(r, {s}, context);
    EXPECT_TRUE(d.allowed) << ns;
    EXPECT_FALSE(d.gated) << ns;
    EXPECT_TRUE(contains(d.reason, "exempt"));
  }
  // kube-system is exempt by default.
  auto r = rollout();
  r.ns = "kube-system";
  auto s = slo("x", status(Tier::Exhausted));
  s.ns = "kube-system";
  EXPECT_TRUE(decide(r, {s}, GateContext{kNow, {}}).gated);  // unless the caller drops it
  EXPECT_EQ(GateContext{}.exemptNamespaces.count("kube-system"), 1u);
  EXPECT_FALSE(decide(r, {s}, GateContext{kNow}).gated);
}

TEST_F(GateTest, UpdateWithAnUnchangedTemplateIsNotARollout) {
  auto r = rollout();
  r.change = Change::None;  // replicas or annotations edited
  const auto d = decideOne(r, Tier::Exhausted);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.gated);
  EXPECT_TRUE(contains(d.reason, "nothing the gate looks at changed")) << d.reason;
}

TEST_F(GateTest, UpdateWithAChangedTemplateAndCreateAreGated) {
  EXPECT_TRUE(decideOne(rollout(), Tier::Exhausted).gated);
  EXPECT_FALSE(decideOne(rollout(), Tier::Exhausted).allowed);
  auto create = rollout();
  create.operation = Operation::Create;
  create.previousTemplates.clear();
  const auto d = decideOne(create, Tier::Exhausted);
  EXPECT_TRUE(d.gated);
  EXPECT_FALSE(d.allowed);
}

TEST_F(GateTest, OnlySlosWhoseSelectorMatchesInTheSameNamespace) {
  auto other = slo("cart", status(Tier::Exhausted));
  other.selector = selectApp("cart");
  auto elsewhere = slo("checkout-eu", status(Tier::Exhausted));
  elsewhere.ns = "shop-eu";
  auto noSelector = slo("informational", status(Tier::Exhausted));
  noSelector.selector.reset();
  const auto d = decide(rollout(), {other, elsewhere, noSelector}, context);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.gated);
  EXPECT_TRUE(contains(d.reason, "no SLO selects"));
}

// --- the decision matrix, end to end
// --------------------------------------------------------------

struct MatrixCase {
  Tier tier;
  Risk risk;
  Verdict verdict;
  bool allowed;
  bool warned;
};

const MatrixCase kMatrix[] = {
    {Tier::Healthy, Risk::Low, Verdict::Approve, true, false},
    {Tier::Healthy, Risk::Medium, Verdict::Approve, true, false},
    {Tier::Healthy, Risk::High, Verdict::Review, true, true},
    {Tier::Attention, Risk::Low, Verdict::Approve, true, false},
    {Tier::Attention, Risk::Medium, Verdict::Review, true, true},
    {Tier::Attention, Risk::High, Verdict::Defer, false, false},
    {Tier::Warning, Risk::Low, Verdict::Review, true, true},
    {Tier::Warning, Risk::Medium, Verdict::Defer, false, false},
    {Tier::Warning, Risk::High, Verdict::Block, false, false},
    {Tier::Critical, Risk::Low, Verdict::Defer, false, false},
    {Tier::Critical, Risk::Medium, Verdict::Block, false, false},
    {Tier::Critical, Risk::High, Verdict::Block, false, false},
    {Tier::Exhausted, Risk::Low, Verdict::Block, false, false},
    {Tier::Exhausted, Risk::Medium, Verdict::Block, false, false},
    {Tier::Exhausted, Risk::High, Verdict::Block, false, false},
};

class GateMatrix : public GateTest, public ::testing::WithParamInterface<MatrixCase> {};

TEST_P(GateMatrix, CellDecidesTheRollout) {
  const MatrixCase& c = GetParam();
  const auto d = decideOne(rollout(std::string(engine::riskName(c.risk))), c.tier);
  EXPECT_TRUE(d.gated);
  EXPECT_EQ(d.tier, c.tier);
  EXPECT_EQ(d.risk, c.risk);
  ASSERT_TRUE(d.verdict.has_value());
  EXPECT_EQ(*d.verdict, c.verdict);
  EXPECT_EQ(d.allowed, c.allowed);
  EXPECT_EQ(anyContains(d.warnings, "review required"), c.warned)
      << ::testing::PrintToString(d.warnings);
  const std::string rule = fmt::format("tier {} x risk {} = {}", engine::tierName(c.tier),
                                       engine::riskName(c.risk), engine::verdictName(c.verdict));
  EXPECT_TRUE(contains(d.rule, rule)) << d.rule;
  EXPECT_EQ(audit(d, "decision"), c.allowed ? "allowed" : "denied");
  EXPECT_EQ(audit(d, "verdict"), engine::verdictName(c.verdict));
  if (c.allowed) {
    EXPECT_TRUE(contains(d.message, "admitted")) << d.message;
  } else {
    EXPECT_TRUE(contains(d.message, "denied")) << d.message;
    EXPECT_TRUE(contains(d.message, rule)) << d.message;
  }
}

INSTANTIATE_TEST_SUITE_P(AllFifteen, GateMatrix, ::testing::ValuesIn(kMatrix),
                         [](const ::testing::TestParamInfo<MatrixCase>& cell) {
                           return std::string(engine::tierName(cell.param.tier)) + "_" +
                                  std::string(engine::riskName(cell.param.risk));
                         });

TEST_F(GateTest, PolicyMatrixOverridesApply) {
  policy.matrix.set(Tier::Critical, Risk::Low, Verdict::Approve);
  const auto d = decideOne(rollout("low"), Tier::Critical);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.verdict, Verdict::Approve);
}

// --- risk and release-type annotations ----------------------------------------------------------

TEST_F(GateTest, RiskDefaultsToMedium) {
  const auto d = decideOne(rollout(), Tier::Attention);
  EXPECT_EQ(d.risk, Risk::Medium);
  EXPECT_EQ(d.verdict, Verdict::Review);
}

TEST_F(GateTest, UnknownRiskIsTreatedAsHighWithAWarning) {
  const auto d = decideOne(rollout("tiny"), Tier::Attention);
  EXPECT_EQ(d.risk, Risk::High);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(anyContains(d.warnings, "\"tiny\" is not low, medium or high"));
}

TEST_F(GateTest, UnknownReleaseTypeIsRefusedWithTheValidOnesEvenWhenHealthy) {
  const auto d = decideOne(rollout("", "hotfix"), Tier::Healthy);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message,
                       "\"hotfix\" is not one of feature, bugfix, security, "
                       "slo-improvement, rollback"))
      << d.message;
  EXPECT_TRUE(contains(d.message, "To proceed: set budgetgate.dev/release-type")) << d.message;
  EXPECT_EQ(audit(d, "decision"), "denied");
  EXPECT_EQ(decideOne(rollout("", "bugfix"), Tier::Healthy).releaseType, "bugfix");
  // A recognised rollback is still admitted (the annotation may be left on the object).
  auto back = rollout("", "hotfix");
  back.newTemplate = "template-v1";
  const auto b = decideOne(back, Tier::Exhausted);
  EXPECT_TRUE(b.allowed) << b.message;
  EXPECT_TRUE(anyContains(b.warnings, "admitted as a rollback"));
  // A policy in warn mode warns instead.
  policy.mode = Mode::Warn;
  const auto w = decideOne(rollout("", "hotfix"), Tier::Healthy);
  EXPECT_TRUE(w.allowed);
  EXPECT_TRUE(
      anyContains(w.warnings, "would be denied in enforce mode: budgetgate.dev/release-type"));
}

TEST_F(GateTest, BugfixPassesAtTheTiersThePolicyNamesForThePeopleItNames) {
  policy.exceptions.bugfix.who.groups = {"sre"};  // tiers: warning, critical by default
  auto r = rollout("", "bugfix");
  r.user.groups.push_back("sre");
  for (Tier t : {Tier::Warning, Tier::Critical}) {
    const auto d = decideOne(r, t);
    EXPECT_TRUE(d.allowed) << engine::tierName(t) << ": " << d.message;
    EXPECT_EQ(d.exception, "bugfix");
    EXPECT_EQ(audit(d, "exception"), "bugfix by dev@example.com");
  }
  // Never once the budget is exhausted (seed 002), and the warning says why.
  const auto exhausted = decideOne(r, Tier::Exhausted);
  EXPECT_FALSE(exhausted.allowed);
  EXPECT_TRUE(anyContains(exhausted.warnings, "admits bug fixes at tiers warning, critical only"))
      << exhausted.message;
  // Someone the policy does not name: a feature, and told so.
  const auto other = decideOne(rollout("", "bugfix"), Tier::Critical);
  EXPECT_FALSE(other.allowed);
  EXPECT_TRUE(
      anyContains(other.warnings, "release-type bugfix not honoured: user dev@example.com"));
  EXPECT_TRUE(contains(other.message, "bugfix by group sre (at tier critical)")) << other.message;
  // Tiers the policy lists explicitly replace the default.
  policy.exceptions.bugfix.tiers = {Tier::Exhausted};
  EXPECT_TRUE(decideOne(r, Tier::Exhausted).allowed);
  EXPECT_FALSE(decideOne(r, Tier::Critical).allowed);
}

// --- modes
// ----------------------------------------------------------------------------------------

TEST_F(GateTest, WarnModeTurnsDenialsIntoWarnings) {
  policy.mode = Mode::Warn;
  const auto d = decideOne(rollout(), Tier::Exhausted);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.gated);
  EXPECT_EQ(d.verdict, Verdict::Block);
  EXPECT_TRUE(anyContains(d.warnings, "would be denied in enforce mode"));
  EXPECT_EQ(audit(d, "decision"), "allowed-by-mode");
  ASSERT_EQ(d.findings.size(), 1u);
  EXPECT_TRUE(d.findings[0].downgraded);
}

TEST_F(GateTest, AuditModeOnlyRecords) {
  policy.mode = Mode::Audit;
  const auto d = decideOne(rollout(), Tier::Exhausted);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.warnings.empty()) << ::testing::PrintToString(d.warnings);
  EXPECT_EQ(audit(d, "decision"), "allowed-by-mode");
  EXPECT_EQ(audit(d, "verdict"), "block");
}

TEST_F(GateTest, ModesDoNotChangeAdmittedRollouts) {
  for (Mode m : {Mode::Enforce, Mode::Warn, Mode::Audit}) {
    policy.mode = m;
    const auto d = decideOne(rollout(), Tier::Healthy);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(audit(d, "decision"), "allowed");
  }
}

// --- review with approval -----------------------------------------------------------------------

TEST_F(GateTest, RequireApprovalDeniesReviewsFromOthers) {
  policy.review = engine::ReviewAction::RequireApproval;
  policy.approvers.groups = {"release-managers"};
  auto r = rollout();  // attention x medium = review
  auto d = decideOne(r, Tier::Attention);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.verdict, Verdict::Review);
  r.user.groups.push_back("release-managers");
  d = decideOne(r, Tier::Attention);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(anyContains(d.warnings, "review required"));
}

// --- exceptions ---------------------------------------------------------------------------------

TEST_F(GateTest, RollbackToAPreviousReplicaSetIsAdmitted) {
  auto r = rollout("high");
  r.newTemplate = "template-v0";  // what an older ReplicaSet ran
  const auto d = decideOne(r, Tier::Exhausted);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.exception, "rollback");
  EXPECT_EQ(audit(d, "exception"), "rollback by dev@example.com");
  EXPECT_TRUE(anyContains(d.warnings, "admitted as a rollback exception"));
  EXPECT_TRUE(contains(d.message, "rollback exception")) << d.message;
  // No annotation is needed, and the verdict is still recorded.
  EXPECT_EQ(d.verdict, Verdict::Block);
}

TEST_F(GateTest, RollbackAnnotationWithoutAMatchingReplicaSetIsNotHonoured) {
  const auto d = decideOne(rollout("", "rollback"), Tier::Exhausted);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.exception.empty());
  EXPECT_TRUE(anyContains(d.warnings, "release-type rollback not honoured"));
  EXPECT_EQ(audit(d, "exception"), "<absent>");
}

TEST_F(GateTest, RollbackExceptionCanBeDisabled) {
  policy.exceptions.rollback = false;
  auto r = rollout();
  r.newTemplate = "template-v0";
  const auto d = decideOne(r, Tier::Exhausted);
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(contains(d.message, "rollbacks are always admitted")) << d.message;
}

TEST_F(GateTest, RollbackWithoutATemplateIsNotRecognised) {
  auto r = rollout();
  r.newTemplate.reset();
  r.previousTemplates = {"template-v0"};
  EXPECT_FALSE(decideOne(r, Tier::Exhausted).allowed);
}

TEST_F(GateTest, SecurityReleaseByAnAllowedGroupIsAdmitted) {
  auto r = rollout("", "security");
  r.user.groups.push_back("sre");
  const auto d = decideOne(r, Tier::Exhausted);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.exception, "security");
  EXPECT_EQ(audit(d, "exception"), "security by dev@example.com");
  EXPECT_EQ(audit(d, "release-type"), "security");
}

TEST_F(GateTest, SecurityReleaseByAnyoneElseIsDenied) {
  const auto d = decideOne(rollout("", "security"), Tier::Exhausted);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.exception.empty());
  EXPECT_TRUE(anyContains(d.warnings, "release-type security not honoured: user dev@example.com"));
  EXPECT_TRUE(contains(d.message, "security by group sre")) << d.message;
}

TEST_F(GateTest, SloImprovementByAnAllowedUserIsAdmitted) {
  auto r = rollout("", "slo-improvement");
  r.user = {"reliability-bot", {}};
  const auto d = decideOne(r, Tier::Critical);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.exception, "slo-improvement");
  // A security annotation does not borrow the slo-improvement list.
  r.annotations[std::string(kReleaseTypeAnnotation)] = "security";
  EXPECT_FALSE(decideOne(r, Tier::Critical).allowed);
}

TEST_F(GateTest, ExceptionsNeedAPolicyThatListsSomeone) {
  policy.exceptions.security = {};
  auto r = rollout("", "security");
  r.user.groups.push_back("sre");
  EXPECT_FALSE(decideOne(r, Tier::Exhausted).allowed);
}

TEST_F(GateTest, AnExceptionIsOnlyRecordedWhenItWasNeeded) {
  auto r = rollout("", "security");
  r.user.groups.push_back("sre");
  const auto d = decideOne(r, Tier::Healthy);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.exception.empty());
  EXPECT_EQ(audit(d, "exception"), "<absent>");
}

// --- missing or stale data ----------------------------------------------------------------------

TEST_F(GateTest, MissingStatusAllowsWithAWarningByDefault) {
  const auto d = decide(rollout(), {slo("checkout-availability", std::nullopt)}, context);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.gated);
  EXPECT_FALSE(d.verdict.has_value());
  EXPECT_EQ(d.tier, Tier::Unknown);
  EXPECT_TRUE(anyContains(d.warnings, "has no current budget status (not evaluated yet)"))
      << ::testing::PrintToString(d.warnings);
  EXPECT_TRUE(anyContains(d.warnings, "onMissingData = allow-with-warning"));
  EXPECT_EQ(audit(d, "slos"), "shop/checkout-availability=no-data");
  EXPECT_TRUE(contains(d.message, "no current budget status")) << d.message;
}

TEST_F(GateTest, MissingStatusDeniesWhenThePolicySaysSo) {
  policy.onMissingData = engine::MissingDataAction::Deny;
  const auto d = decide(rollout(), {slo("checkout-availability", std::nullopt)}, context);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "no current budget status")) << d.message;
  EXPECT_TRUE(contains(d.message, "onMissingData = deny")) << d.message;
  EXPECT_TRUE(contains(d.message, "kubectl describe slo -n shop checkout-availability"));
}

TEST_F(GateTest, StaleStatusCountsAsMissing) {
  policy.onMissingData = engine::MissingDataAction::Deny;
  auto st = status(Tier::Healthy);
  st.lastEvaluated = kNow - policy.staleAfter - Seconds(1);
  auto d = decide(rollout(), {slo("checkout-availability", st)}, context);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "staleAfter 10m")) << d.message;
  st.lastEvaluated = kNow - policy.staleAfter;  // exactly at the limit: still fresh
  d = decide(rollout(), {slo("checkout-availability", st)}, context);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.tier, Tier::Healthy);
}

TEST_F(GateTest, StaleHealthyStatusIsNeverASilentAllow) {
  auto st = status(Tier::Healthy);
  st.lastEvaluated = kNow - Seconds(3600);
  auto d = decide(rollout(), {slo("checkout-availability", st)}, context);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.warnings.empty());
  EXPECT_TRUE(anyContains(d.warnings, "last known status from 1.0h ago"))
      << ::testing::PrintToString(d.warnings);
  policy.onMissingData = engine::MissingDataAction::AllowWithWarning;
  d = decide(rollout(), {slo("checkout-availability", st)}, context);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(anyContains(d.warnings, "last evaluated 1.0h ago"));
}

TEST_F(GateTest, UnknownTierOrNoTimestampIsMissingData) {
  policy.onMissingData = engine::MissingDataAction::Deny;
  auto unknown = status(Tier::Unknown);
  unknown.message = "Prometheus unreachable";
  auto d = decide(rollout(), {slo("checkout-availability", unknown)}, context);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "Prometheus unreachable")) << d.message;
  auto undated = status(Tier::Healthy);
  undated.lastEvaluated.reset();
  d = decide(rollout(), {slo("checkout-availability", undated)}, context);
  EXPECT_FALSE(d.allowed);
}

TEST_F(GateTest, MissingDataDenialCanBeExcepted) {
  policy.onMissingData = engine::MissingDataAction::Deny;
  auto r = rollout();
  r.newTemplate = "template-v0";
  const auto d = decide(r, {slo("checkout-availability", std::nullopt)}, context);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.exception, "rollback");
}

// --- several SLOs
// ---------------------------------------------------------------------------------

TEST_F(GateTest, WorstTierOfSeveralSlosDecides) {
  const auto d = decide(rollout(),
                        {slo("checkout-latency", status(Tier::Healthy)),
                         slo("checkout-availability", status(Tier::Critical)),
                         slo("checkout-errors", status(Tier::Attention))},
                        context);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.tier, Tier::Critical);
  EXPECT_EQ(d.verdict, Verdict::Block);
  EXPECT_TRUE(contains(d.rule, "tier critical x risk medium = block")) << d.rule;
  EXPECT_TRUE(contains(d.message, "SLO shop/checkout-availability is critical")) << d.message;
  EXPECT_EQ(audit(d, "slos"),
            "shop/checkout-latency=healthy,shop/checkout-availability=critical,"
            "shop/checkout-errors=attention");
  ASSERT_EQ(d.findings.size(), 3u);
  EXPECT_FALSE(d.findings[0].denies);
  EXPECT_TRUE(d.findings[1].denies);
  // The review of the attention SLO is still reported.
  EXPECT_TRUE(anyContains(d.warnings, "shop/checkout-errors"));
  // The message names every matching SLO, the ones that did not deny too.
  EXPECT_TRUE(contains(
      d.message, "(also matching: shop/checkout-latency healthy, shop/checkout-errors attention)"))
      << d.message;
}

TEST_F(GateTest, AdmittedMessageNamesEverySlo) {
  const auto d = decide(
      rollout("low"),
      {slo("checkout-latency", status(Tier::Healthy)),
       slo("checkout-availability", status(Tier::Attention)), slo("checkout-errors", std::nullopt)},
      context);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.tier, Tier::Attention);  // the worst tier with data
  EXPECT_TRUE(contains(d.message, "tier attention")) << d.message;
  EXPECT_TRUE(contains(d.message,
                       "(matching SLOs: shop/checkout-latency healthy, "
                       "shop/checkout-availability attention, shop/checkout-errors no data)"))
      << d.message;
  // One SLO: its name is in the audit annotation, the message stays short.
  const auto one = decideOne(rollout(), Tier::Healthy);
  EXPECT_FALSE(contains(one.message, "matching SLOs")) << one.message;
}

TEST_F(GateTest, EveryDenyingSloIsNamed) {
  const auto d = decide(rollout(),
                        {slo("checkout-availability", status(Tier::Warning)),
                         slo("checkout-latency", status(Tier::Exhausted))},
                        context);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.tier, Tier::Exhausted);
  EXPECT_TRUE(contains(d.message, "SLO shop/checkout-availability is warning")) << d.message;
  EXPECT_TRUE(contains(d.message, "SLO shop/checkout-latency is exhausted")) << d.message;
  EXPECT_TRUE(contains(d.message, "tier warning x risk medium = defer")) << d.message;
  EXPECT_TRUE(contains(d.message, "tier exhausted x risk medium = block")) << d.message;
  // The rule that decided is the worst one.
  EXPECT_TRUE(contains(d.rule, "tier exhausted")) << d.rule;
}

TEST_F(GateTest, EachSloUsesItsOwnPolicy) {
  engine::ErrorBudgetPolicy lenient;
  lenient.name = "lenient";
  lenient.ns = "shop";
  lenient.mode = Mode::Warn;
  const auto d = decide(rollout(),
                        {slo("checkout-availability", status(Tier::Exhausted), &lenient),
                         slo("checkout-latency", status(Tier::Healthy))},
                        context);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(anyContains(d.warnings, "policy shop/lenient"));
  EXPECT_EQ(audit(d, "decision"), "allowed-by-mode");
}

TEST_F(GateTest, DataFromOneSloAndNoDataFromAnother) {
  const auto d = decide(
      rollout(),
      {slo("checkout-availability", std::nullopt), slo("checkout-latency", status(Tier::Warning))},
      context);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.tier, Tier::Warning);
  EXPECT_EQ(audit(d, "slos"), "shop/checkout-availability=no-data,shop/checkout-latency=warning");
}

// --- the denial message -------------------------------------------------------------------------

TEST_F(GateTest, DenialMessageSaysWhyAndWhatToDo) {
  auto st = status(Tier::Warning, 20.4, 2.5);
  st.projectedExhaustion = kNow + Seconds(7 * 86400);
  const auto d = decide(rollout(), {slo("checkout-availability", st)}, context);
  ASSERT_FALSE(d.allowed);
  const std::string& m = d.message;
  EXPECT_TRUE(contains(m, "deployment shop/checkout")) << m;
  EXPECT_TRUE(contains(m, "SLO shop/checkout-availability")) << m;                      // the SLO
  EXPECT_TRUE(contains(m, "is warning")) << m;                                          // the tier
  EXPECT_TRUE(contains(m, "20.4% of the error budget left")) << m;                      // remaining
  EXPECT_TRUE(contains(m, "1h burn rate 2.50x")) << m;                                  // burn rate
  EXPECT_TRUE(contains(m, "risk medium")) << m;                                         // risk
  EXPECT_TRUE(contains(m, "policy default: tier warning x risk medium = defer")) << m;  // rule
  EXPECT_TRUE(contains(m, "projected exhaustion 2026-02-07T00:00:00Z")) << m;
  // How to proceed: a lower risk that would pass, the exceptions, and when it would pass.
  EXPECT_TRUE(contains(m, "To proceed:")) << m;
  EXPECT_TRUE(contains(m, "annotate budgetgate.dev/risk: low (review at tier warning)")) << m;
  EXPECT_TRUE(contains(m, "kubectl rollout undo")) << m;
  EXPECT_TRUE(contains(m, "budgetgate.dev/release-type: security by group sre")) << m;
  EXPECT_TRUE(contains(m, "slo-improvement by group sre, user reliability-bot")) << m;
  EXPECT_TRUE(contains(m, "wait until the SLO is attention or better")) << m;
  EXPECT_TRUE(
      contains(m, "more than 25% budget left, 1h burn below 2x, exhaustion further than 7d"))
      << m;
}

TEST_F(GateTest, DenialMessageForAnOverspentBudget) {
  auto st = status(Tier::Exhausted, -46, 0.2);
  st.errorBudget->consumedPercent = 146;
  st.projectedExhaustion = kNow;
  st.tierHold = engine::TierHold{Tier::Exhausted, kNow - Seconds(20 * 3600), -46};
  st.projectedRecovery = kNow + Seconds(30 * 86400);
  const auto d = decide(rollout("low"), {slo("checkout-availability", st)}, context);
  ASSERT_FALSE(d.allowed);
  const std::string& m = d.message;
  EXPECT_TRUE(contains(m, "0.0% of the error budget left (146.0% consumed)")) << m;
  EXPECT_FALSE(contains(m, "projected exhaustion")) << m;          // it is already exhausted
  EXPECT_FALSE(contains(m, "annotate budgetgate.dev/risk")) << m;  // no lower risk passes
  // Low risk is admitted from "warning" up: say what that takes and when the budget is back.
  EXPECT_TRUE(contains(m, "wait until the SLO is warning or better (more than 10% budget left"))
      << m;
  // The hold ends on 2026-02-06 (since + 7 d), but a spent budget is exhausted whatever the
  // hold: promising "until 2026-02-06" would be a promise the gate does not keep (issue 15).
  EXPECT_FALSE(contains(m, "held at exhausted")) << m;
  EXPECT_FALSE(contains(m, "2026-02-06T04:00:00Z")) << m;
  EXPECT_TRUE(contains(m,
                       "the budget is spent, so the SLO stays exhausted until it is back above "
                       "0% (policy default sets no freeze limit)"))
      << m;
  EXPECT_TRUE(contains(m, "fully restored by 2026-03-02T00:00:00Z")) << m;
}

TEST_F(GateTest, DenialSaysWhenTheBudgetIsBackAtTheAdmittingTier) {
  auto st = status(Tier::Critical, 5, 0.1);
  st.projectedRecovery = kNow + Seconds(30 * 86400);
  st.recoveryByTier = {{Tier::Warning, kNow + Seconds(3 * 86400)},
                       {Tier::Attention, kNow + Seconds(20 * 86400)},
                       {Tier::Healthy, kNow + Seconds(25 * 86400)}};
  // Medium risk is admitted from "attention" up (review), so that is the date that matters.
  const auto d = decide(rollout("medium"), {slo("checkout-availability", st)}, context);
  ASSERT_FALSE(d.allowed);
  EXPECT_TRUE(
      contains(d.message, "projected to be back at attention levels by 2026-02-20T00:00:00Z"))
      << d.message;
  EXPECT_FALSE(contains(d.message, "fully restored")) << d.message;
}

TEST_F(GateTest, DryRunGetsTheSameVerdict) {
  auto r = rollout();
  r.dryRun = true;
  const auto dry = decideOne(r, Tier::Critical);
  const auto real = decideOne(rollout(), Tier::Critical);
  EXPECT_EQ(dry.allowed, real.allowed);
  EXPECT_EQ(dry.message, real.message);
}

TEST_F(GateTest, AuditAnnotationsRecordTheDecision) {
  const auto d = decideOne(rollout("high"), Tier::Warning);
  EXPECT_EQ(audit(d, "decision"), "denied");
  EXPECT_EQ(audit(d, "risk"), "high");
  EXPECT_EQ(audit(d, "release-type"), "feature");
  EXPECT_EQ(audit(d, "rule"), d.rule);
  EXPECT_EQ(audit(d, "slos"), "shop/checkout-availability=warning");
}

TEST(DescribeRule, MissingData) {
  engine::ErrorBudgetPolicy p;
  SloFinding f;
  f.policy = "default";
  f.missingData = true;
  EXPECT_EQ(describeRule(f, Risk::Low), "policy default: onMissingData = allow-with-warning");
  f.denies = true;
  EXPECT_EQ(describeRule(f, Risk::Low), "policy default: onMissingData = deny");
}

}  // namespace
}  // namespace budgetgate::gate
