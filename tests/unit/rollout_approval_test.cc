// RolloutApprovals: the parser, who may write one (approval_guard), and when one admits a
// rollout (gate_decision + approval_match): review under require-approval, defer under
// approveDefer, never block; the denial message says how to get one, or that none helps.

#include "operator/model/rollout_approval.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "operator/engine/policy_strictness.h"
#include "operator/model/policy_parser.h"
#include "webhook/gate/approval_guard.h"
#include "webhook/gate/gate_decision.h"

namespace budgetgate {
namespace {

using engine::Tier;
using engine::Verdict;

const TimePoint kNow = TimePoint(Seconds(1'769'817'600));  // 2026-01-31T00:00:00Z
const std::string kHashV2(64, 'b');
const std::string kHashV3(64, 'c');

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

std::optional<model::RolloutApproval> parse(const std::string& yaml, std::string* errors) {
  model::Diagnostics diag("approval.yaml");
  auto a = model::parseRolloutApproval(YAML::Load(yaml), diag);
  *errors = diag.format();
  return a;
}

std::string approvalYaml(const std::string& specExtra) {
  return R"(apiVersion: slo.budgetgate.dev/v1alpha1
kind: RolloutApproval
metadata: {name: checkout-v2, namespace: shop, creationTimestamp: "2026-01-30T22:00:00Z"}
spec:
  workload: {kind: Deployment, name: checkout}
  expires: "2026-01-31T02:00:00Z"
  reason: INC-1234 hotfix reviewed by SRE
  approvedBy: {user: alice, groups: [sre]}
)" + specExtra;
}

TEST(RolloutApprovalParser, ReadsAnApprovalByTemplateHash) {
  std::string errors;
  auto a = parse(approvalYaml("  podTemplateHash: " + kHashV2 + "\n"), &errors);
  ASSERT_TRUE(a) << errors;
  EXPECT_EQ(a->ns, "shop");
  EXPECT_EQ(a->workloadName, "checkout");
  EXPECT_EQ(a->podTemplateHash, kHashV2);
  EXPECT_EQ(formatTime(a->expires), "2026-01-31T02:00:00Z");
  EXPECT_EQ(formatTime(*a->created), "2026-01-30T22:00:00Z");
  EXPECT_EQ(a->approvedByUser, "alice");
  EXPECT_EQ(a->approvedByGroups, std::vector<std::string>{"sre"});
}

TEST(RolloutApprovalParser, RefusesWhatWouldApproveTooMuchOrNothing) {
  std::string errors;
  EXPECT_FALSE(
      parse(approvalYaml("  podTemplateHash: " + kHashV2 + "\n  images: [a:1]\n"), &errors));
  EXPECT_TRUE(contains(errors, "exactly one of podTemplateHash")) << errors;
  EXPECT_FALSE(parse(approvalYaml(""), &errors));
  EXPECT_TRUE(contains(errors, "exactly one of podTemplateHash")) << errors;
  EXPECT_FALSE(parse(approvalYaml("  podTemplateHash: ABC\n"), &errors));
  EXPECT_TRUE(contains(errors, "64 lowercase hex digits")) << errors;
  EXPECT_FALSE(parse(approvalYaml("  images: [\"\"]\n"), &errors));
  EXPECT_FALSE(parse(approvalYaml("  images: [a:1]\n  lifetime: forever\n"), &errors));
  EXPECT_TRUE(contains(errors, "lifetime")) << errors;
  std::string yaml = approvalYaml("  images: [a:1]\n");
  yaml.replace(yaml.find("INC-1234 hotfix reviewed by SRE"), 31, "\"  \"");
  EXPECT_FALSE(parse(yaml, &errors));
  EXPECT_TRUE(contains(errors, "say why")) << errors;
  yaml = approvalYaml("  images: [a:1]\n");
  yaml.replace(yaml.find("2026-01-31T02:00:00Z"), 20, "2026-01-30T21:00:00Z");
  EXPECT_FALSE(parse(yaml, &errors));
  EXPECT_TRUE(contains(errors, "after the approval's creation")) << errors;
  yaml = approvalYaml("  images: [a:1]\n");
  yaml.replace(yaml.find("kind: Deployment"), 16, "kind: ReplicaSet");
  EXPECT_FALSE(parse(yaml, &errors));
  EXPECT_TRUE(contains(errors, "expected Deployment, StatefulSet, DaemonSet or Rollout")) << errors;
  // The kinds the gate rolls out are named as such.
  for (const std::string kind : {"StatefulSet", "DaemonSet", "Rollout"}) {
    yaml = approvalYaml("  images: [a:1]\n");
    yaml.replace(yaml.find("kind: Deployment"), 16, "kind: " + kind);
    const auto a = parse(yaml, &errors);
    ASSERT_TRUE(a) << errors;
    EXPECT_EQ(a->workloadKind, kind);
  }
}

engine::ErrorBudgetPolicy policyFromYaml(const std::string& review, std::string* errors) {
  model::Diagnostics diag("policy.yaml");
  auto p = model::parsePolicy(YAML::Load(R"(apiVersion: slo.budgetgate.dev/v1alpha1
kind: ErrorBudgetPolicy
metadata: {name: strict, namespace: shop}
spec:
  review:
)" + review),
                              diag);
  *errors = diag.format();
  return p.value_or(engine::ErrorBudgetPolicy{});
}

TEST(RolloutApprovalPolicy, ParsesApprovalRulesAndTheirLimits) {
  std::string errors;
  auto p = policyFromYaml(
      "    action: require-approval\n    approvers: {groups: [sre]}\n"
      "    approveDefer: true\n    maxApprovalDuration: 8h\n",
      &errors);
  EXPECT_TRUE(errors.empty()) << errors;
  EXPECT_TRUE(p.approvals.approveDefer);
  EXPECT_EQ(p.approvals.maxDuration, Seconds(8 * 3600));
  policyFromYaml("    approveDefer: true\n", &errors);
  EXPECT_TRUE(contains(errors, "approveDefer needs at least one approver")) << errors;
  policyFromYaml("    approvers: {groups: [sre]}\n    maxApprovalDuration: 0s\n", &errors);
  EXPECT_TRUE(contains(errors, "positive duration")) << errors;
  // Defaults: approvals admit review only, for at most a day.
  engine::ErrorBudgetPolicy d;
  EXPECT_FALSE(d.approvals.approveDefer);
  EXPECT_EQ(d.approvals.maxDuration, Seconds(24 * 3600));
}

TEST(RolloutApprovalPolicy, WideningApprovalsIsLoosening) {
  engine::ErrorBudgetPolicy before;
  before.approvers.groups = {"sre"};
  auto after = before;
  after.approvals.approveDefer = true;
  EXPECT_TRUE(engine::firstLoosening(after, before).has_value());
  after = before;
  after.approvals.maxDuration = Seconds(7 * 24 * 3600);
  EXPECT_TRUE(engine::firstLoosening(after, before).has_value());
  after = before;
  after.approvals.approveDefer = true;
  before.approvals.approveDefer = true;
  after.approvers.groups = {"sre", "devs"};
  EXPECT_TRUE(engine::firstLoosening(after, before).has_value());
  after = before;
  after.approvals.maxDuration = Seconds(3600);
  EXPECT_FALSE(engine::firstLoosening(after, before).has_value());
}

class ApprovalGateTest : public ::testing::Test {
 protected:
  ApprovalGateTest() {
    policy.name = "strict";
    policy.ns = "shop";
    policy.review = engine::ReviewAction::RequireApproval;
    policy.approvers.groups = {"sre"};
    approval.ns = "shop";
    approval.name = "checkout-v2";
    approval.workloadName = "checkout";
    approval.podTemplateHash = kHashV2;
    approval.created = kNow - Seconds(3600);
    approval.expires = kNow + Seconds(3 * 3600);
    approval.reason = "INC-1234";
    approval.approvedByUser = "alice";
    approval.approvedByGroups = {"sre"};
    context.now = kNow;
    context.approvals = &approvals;
  }

  gate::GateDecision decideAt(Tier tier, const std::string& risk = "medium") {
    gate::GatedSlo slo;
    slo.ns = "shop";
    slo.name = "checkout-availability";
    model::LabelSelector selector;
    selector.matchLabels = {{"app", "checkout"}};
    slo.selector = selector;
    slo.policy = &policy;
    model::SloStatus s;
    s.lastEvaluated = kNow - Seconds(60);
    s.tier = tier;
    engine::ErrorBudget b;
    b.total = 1000;
    b.consumed = 800;
    b.consumedPercent = 80;
    s.errorBudget = b;
    s.recoveryByTier = {{Tier::Attention, kNow + Seconds(2 * 86400)},
                        {Tier::Healthy, kNow + Seconds(5 * 86400)}};
    slo.status = s;
    gate::RolloutRequest r;
    r.operation = gate::Operation::Update;
    r.ns = "shop";
    r.name = "checkout";
    r.identity.labels = {{"app", "checkout"}};
    r.identity.templateLabels = model::Labels{{"app", "checkout"}};
    r.oldIdentity = r.identity;
    r.change = gate::Change::Template;
    r.annotations[std::string(gate::kRiskAnnotation)] = risk;
    r.newTemplate = newTemplate;
    r.templateImages = images;
    r.user = {"bob", {"devs", "system:authenticated"}};
    approvals.clear();
    for (const auto& a : present) approvals.push_back(a);
    return gate::decide(r, {slo}, context);
  }

  static std::string audit(const gate::GateDecision& d, std::string_view key) {
    for (const auto& [k, v] : d.auditAnnotations) {
      if (k == key) return v;
    }
    return "<absent>";
  }

  engine::ErrorBudgetPolicy policy;
  model::RolloutApproval approval;
  std::vector<model::RolloutApproval> present;
  std::vector<model::RolloutApproval> approvals;
  gate::GateContext context;
  std::string newTemplate = kHashV2;
  std::vector<std::string> images = {"registry.local/checkout:2.0"};
};

TEST_F(ApprovalGateTest, ReviewWithoutApprovalIsDeniedAndSaysHowToGetOne) {
  const auto d = decideAt(Tier::Attention);  // attention x medium = review
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.verdict, Verdict::Review);
  EXPECT_TRUE(contains(d.message, "ask an approver (group sre) for a RolloutApproval"))
      << d.message;
  EXPECT_TRUE(contains(d.message,
                       "budgetgate approve --deployment shop/checkout --template-hash " + kHashV2))
      << d.message;
}

TEST_F(ApprovalGateTest, AMatchingApprovalAdmitsReviewWithAuditAndWarning) {
  present = {approval};
  const auto d = decideAt(Tier::Attention);
  EXPECT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.approval, "shop/checkout-v2 by alice");
  EXPECT_EQ(audit(d, "approval"), "shop/checkout-v2 by alice");
  EXPECT_TRUE(contains(d.message, "approved by RolloutApproval shop/checkout-v2 by alice"))
      << d.message;
  EXPECT_TRUE(std::any_of(d.warnings.begin(), d.warnings.end(), [](const std::string& w) {
    return contains(w, "admitted with RolloutApproval shop/checkout-v2 by alice");
  }));
}

TEST_F(ApprovalGateTest, ApprovalsThatDoNotMatchAreNamedWithTheReason) {
  struct Case {
    std::string what;
    std::function<void(model::RolloutApproval&)> change;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"expired", [](auto& a) { a.expires = kNow - Seconds(1); }, "it expired at"},
      {"expires now", [](auto& a) { a.expires = kNow; }, "it expired at"},
      {"other template", [](auto& a) { a.podTemplateHash = kHashV3; },
       "it approves pod template cccccccccccc"},
      {"not an approver", [](auto& a) { a.approvedByGroups = {"devs"}; },
       "alice is not an approver under policy shop/strict"},
      {"too long", [](auto& a) { a.expires = *a.created + Seconds(25 * 3600); },
       "it lasts 25h, longer than policy shop/strict's maxApprovalDuration 1d"},
      {"other image",
       [](auto& a) {
         a.podTemplateHash.clear();
         a.images = {"registry.local/checkout:1.0"};
       },
       "it does not approve image registry.local/checkout:2.0"},
  };
  for (const auto& c : cases) {
    auto a = approval;
    c.change(a);
    present = {a};
    const auto d = decideAt(Tier::Attention);
    EXPECT_FALSE(d.allowed) << c.what;
    EXPECT_TRUE(contains(d.message, "RolloutApproval shop/checkout-v2 by alice not used: " + c.why))
        << c.what << ": " << d.message << "\n";
    EXPECT_TRUE(std::any_of(d.warnings.begin(), d.warnings.end(), [&](const std::string& w) {
      return contains(w, c.why);
    })) << c.what;
  }
  // An approval of another Deployment is not this one's business.
  auto other = approval;
  other.workloadName = "ledger";
  present = {other};
  EXPECT_FALSE(contains(decideAt(Tier::Attention).message, "not used"));
}

TEST_F(ApprovalGateTest, ApprovalByImagesCoversEveryImageOrNothing) {
  auto a = approval;
  a.podTemplateHash.clear();
  a.images = {"registry.local/checkout:2.0", "registry.local/sidecar:1"};
  present = {a};
  images = {"registry.local/checkout:2.0", "registry.local/sidecar:1"};
  EXPECT_TRUE(decideAt(Tier::Attention).allowed);
  images = {"registry.local/checkout:2.0", "registry.local/miner:1"};
  const auto d = decideAt(Tier::Attention);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "does not approve image registry.local/miner:1")) << d.message;
}

TEST_F(ApprovalGateTest, DeferIsApprovableOnlyWhenThePolicySaysSo) {
  present = {approval};
  auto d = decideAt(Tier::Warning);  // warning x medium = defer
  EXPECT_EQ(d.verdict, Verdict::Defer);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "a defer is not approvable under policy shop/strict"))
      << d.message;
  // Defer says what it waits for and when that is projected. Under require-approval a review
  // does not admit an ordinary requester, so medium risk waits for healthy.
  EXPECT_TRUE(contains(d.message, "deferred, so wait until the SLO is healthy or better"))
      << d.message;
  EXPECT_TRUE(contains(d.message, "back at healthy levels by 2026-02-05T00:00:00Z")) << d.message;
  policy.review = engine::ReviewAction::Warn;
  d = decideAt(Tier::Warning);
  EXPECT_TRUE(contains(d.message, "deferred, so wait until the SLO is attention or better"))
      << d.message;
  EXPECT_TRUE(contains(d.message, "back at attention levels by 2026-02-02T00:00:00Z")) << d.message;
  policy.review = engine::ReviewAction::RequireApproval;

  policy.approvals.approveDefer = true;
  d = decideAt(Tier::Warning);
  EXPECT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.approval, "shop/checkout-v2 by alice");
  present.clear();
  d = decideAt(Tier::Warning);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "ask an approver (group sre) for a RolloutApproval"))
      << d.message;
}

TEST_F(ApprovalGateTest, BlockIsNeverOverriddenByAnApproval) {
  policy.approvals.approveDefer = true;
  present = {approval};
  for (Tier tier : {Tier::Critical, Tier::Exhausted}) {
    const auto d = decideAt(tier, "high");
    EXPECT_EQ(d.verdict, Verdict::Block);
    EXPECT_FALSE(d.allowed);
    EXPECT_TRUE(d.approval.empty());
    EXPECT_TRUE(contains(d.message, "a block is not overridden by a RolloutApproval")) << d.message;
    EXPECT_FALSE(contains(d.message, "ask an approver")) << d.message;
  }
}

TEST_F(ApprovalGateTest, UnderWarnReviewAnApprovalIsNotNeeded) {
  policy.review = engine::ReviewAction::Warn;
  const auto d = decideAt(Tier::Attention);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.approval.empty());
}

TEST(ApprovalGuard, OnlyAnApproverRecordingThemselvesMayWriteOne) {
  engine::ErrorBudgetPolicy strict;
  strict.name = "strict";
  strict.ns = "shop";
  strict.approvers.groups = {"sre"};
  strict.approvals.maxDuration = Seconds(8 * 3600);
  engine::ErrorBudgetPolicy other;
  other.name = "default";
  other.ns = "budgetgate";
  const std::vector<const engine::ErrorBudgetPolicy*> policies = {&other, &strict};
  model::RolloutApproval a;
  a.ns = "shop";
  a.name = "checkout-v2";
  a.workloadName = "checkout";
  a.podTemplateHash = kHashV2;
  a.expires = kNow + Seconds(4 * 3600);
  a.reason = "INC-1";
  a.approvedByUser = "alice";
  a.approvedByGroups = {"sre"};
  const gate::UserInfo alice{"alice", {"sre", "system:authenticated"}};
  const gate::UserInfo bob{"bob", {"devs", "system:authenticated"}};

  auto d = gate::guardApprovalWrite(a, alice, policies, kNow);
  EXPECT_TRUE(d.allowed) << d.message;
  EXPECT_TRUE(contains(d.message, "approves pod template bbbbbbbbbbbb of deployment shop/checkout"))
      << d.message;

  // bob in alice's name
  d = gate::guardApprovalWrite(a, bob, policies, kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 403);
  EXPECT_TRUE(contains(d.message, "must be the requester (bob), not \"alice\"")) << d.message;
  // bob as himself, claiming sre
  auto forged = a;
  forged.approvedByUser = "bob";
  d = gate::guardApprovalWrite(forged, bob, policies, kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "lists \"sre\", a group bob is not in")) << d.message;
  // bob as himself, honestly: not an approver
  forged.approvedByGroups = {"devs"};
  d = gate::guardApprovalWrite(forged, bob, policies, kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 403);
  EXPECT_TRUE(contains(d.message, "is not an approver")) << d.message;
  EXPECT_TRUE(contains(d.message, "shop/strict: group sre")) << d.message;
  // Too long, or already over.
  auto longer = a;
  longer.expires = kNow + Seconds(9 * 3600);
  d = gate::guardApprovalWrite(longer, alice, policies, kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 422);
  EXPECT_TRUE(contains(d.message, "maxApprovalDuration 8h")) << d.message;
  auto expired = a;
  expired.expires = kNow;
  d = gate::guardApprovalWrite(expired, alice, policies, kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "not in the future")) << d.message;
  // No policy names alice: nobody may approve.
  d = gate::guardApprovalWrite(a, alice, {&other}, kNow);
  EXPECT_FALSE(d.allowed);
}

TEST(ApprovalGuard, PoliciesForAnApprovalAreThoseOfTheSlosGatingTheWorkload) {
  engine::ErrorBudgetPolicy strict, lax, fallback;
  strict.name = "strict";
  lax.name = "lax";
  fallback.name = "default";
  gate::GatedSlo a, b;
  a.ns = b.ns = "shop";
  model::LabelSelector checkout, ledger;
  checkout.matchLabels = {{"app", "checkout"}};
  ledger.matchLabels = {{"app", "ledger"}};
  a.selector = checkout;
  a.policy = &strict;
  b.selector = ledger;
  b.policy = &lax;
  gate::KnownWorkload w;
  w.name = "checkout";
  w.identity.labels = {{"app", "checkout"}};
  model::RolloutApproval approval;
  approval.ns = "shop";
  approval.workloadName = "checkout";
  auto p = gate::policiesForApproval(approval, {a, b}, {w}, &fallback);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], &strict);
  // An unknown Deployment (not created yet): every SLO of the namespace.
  EXPECT_EQ(gate::policiesForApproval(approval, {a, b}, {}, &fallback).size(), 2u);
  // No SLO at all: the default policy.
  p = gate::policiesForApproval(approval, {}, {}, &fallback);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], &fallback);
}

}  // namespace
}  // namespace budgetgate
