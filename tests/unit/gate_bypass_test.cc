// The gate against an editor who tries to get around it (issue 11): what identifies a workload,
// relabelling out of a selector, Pods and ReplicaSets made by hand, exceptions that outlive
// their rollout, restarts, and a monitoring outage (onMissingData: last-known).

#include <gtest/gtest.h>

#include <algorithm>

#include "webhook/gate/gate_decision.h"

namespace budgetgate::gate {
namespace {

using engine::Tier;

const TimePoint kNow = TimePoint(Seconds(1'769'817'600));  // 2026-01-31T00:00:00Z

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

bool anyContains(const std::vector<std::string>& lines, std::string_view part) {
  return std::any_of(lines.begin(), lines.end(), [&](const auto& l) { return contains(l, part); });
}

model::SloStatus status(Tier tier, Seconds age = Seconds(60)) {
  model::SloStatus s;
  s.lastEvaluated = kNow - age;
  s.tier = tier;
  engine::ErrorBudget b;
  b.total = 1000;
  b.consumed = tier == Tier::Exhausted ? 1500 : 100;
  b.consumedPercent = tier == Tier::Exhausted ? 150 : 10;
  s.errorBudget = b;
  return s;
}

model::LabelSelector selector(model::Labels labels) {
  model::LabelSelector s;
  s.matchLabels = std::move(labels);
  return s;
}

class BypassTest : public ::testing::Test {
 protected:
  GatedSlo slo(model::Labels match, Tier tier, Seconds age = Seconds(60)) const {
    GatedSlo s;
    s.ns = "shop";
    s.name = "ledger-availability";
    s.selector = selector(std::move(match));
    s.policy = &policy;
    s.status = status(tier, age);
    return s;
  }

  // An UPDATE of Deployment shop/ledger by bob (group devs).
  RolloutRequest update(Change change) const {
    RolloutRequest r;
    r.operation = Operation::Update;
    r.ns = "shop";
    r.name = "ledger";
    r.identity = {{{"app", "ledger"}, {"team", "payments"}}, model::Labels{{"app", "ledger"}}};
    r.oldIdentity = r.identity;
    r.change = change;
    r.user = {"bob", {"devs", "system:authenticated"}};
    return r;
  }

  engine::ErrorBudgetPolicy policy = [] {
    engine::ErrorBudgetPolicy p;
    p.exceptions.security.groups = {"sre"};
    return p;
  }();
  GateContext context{kNow, {"kube-system", "budgetgate"}};
};

// --- what identifies a workload -------------------------------------------------------------

TEST_F(BypassTest, PodTemplateLabelsIdentifyAWorkloadWithoutLabelsOfItsOwn) {
  auto r = update(Change::Created);
  r.operation = Operation::Create;
  r.oldIdentity.reset();
  r.identity = {{}, model::Labels{{"app", "ledger"}, {"role", "shadow"}}};
  const auto d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_TRUE(d.gated);
  EXPECT_FALSE(d.allowed) << d.message;
  EXPECT_TRUE(contains(d.message, "the rollout of deployment shop/ledger")) << d.message;
}

TEST_F(BypassTest, TheOldLabelsCountToo) {
  // Relabel and change the image in one edit: the old labels were under the SLO.
  auto r = update(Change::Template);
  r.identity = {{{"app", "other"}}, model::Labels{{"app", "other"}}};
  const auto d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_TRUE(d.gated);
  EXPECT_FALSE(d.allowed);
}

// --- relabelling ----------------------------------------------------------------------------

TEST_F(BypassTest, LeavingASelectorIsGatedByTheSloLeft) {
  auto r = update(Change::Labels);
  r.identity.labels = {{"app", "ledger"}};  // team=payments removed
  auto d = decide(r, {slo({{"team", "payments"}}, Tier::Exhausted)}, context);
  EXPECT_TRUE(d.gated);
  EXPECT_EQ(d.action, GateAction::Unselect);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "the label change of deployment shop/ledger")) << d.message;
  EXPECT_TRUE(contains(d.message, "it would leave the selector of SLO shop/ledger-availability"))
      << d.message;
  // The same edit under a healthy SLO is an ordinary edit.
  d = decide(r, {slo({{"team", "payments"}}, Tier::Healthy)}, context);
  EXPECT_TRUE(d.allowed);
}

TEST_F(BypassTest, LabelEditsThatKeepOrAddSelectorsAreNotGated) {
  auto r = update(Change::Labels);
  r.identity.labels["owner"] = "bob";  // still team=payments
  auto d = decide(r, {slo({{"team", "payments"}}, Tier::Exhausted)}, context);
  EXPECT_FALSE(d.gated) << d.reason;
  // Coming under an SLO is tightening.
  r = update(Change::Labels);
  r.oldIdentity->labels = {{"app", "ledger"}};
  d = decide(r, {slo({{"team", "payments"}}, Tier::Exhausted)}, context);
  EXPECT_FALSE(d.gated) << d.reason;
  // Dropping a metadata label that the template labels still carry leaves nothing.
  r = update(Change::Labels);
  r.identity.labels = {{"team", "payments"}};
  d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_FALSE(d.gated) << d.reason;
}

// --- Pods and ReplicaSets made by hand -------------------------------------------------------

TEST_F(BypassTest, AHandMadePodWithProtectedLabelsIsARollout) {
  RolloutRequest r;
  r.operation = Operation::Create;
  r.kind = WorkloadKind::Pod;
  r.ns = "shop";
  r.name = "ledger-debug";
  r.identity = {{{"app", "ledger"}}, std::nullopt};
  r.change = Change::Created;
  r.user = {"bob", {"devs"}};
  auto d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "the creation of pod shop/ledger-debug")) << d.message;
  // Made by the replicaset controller: the consequence of a rollout already judged.
  r.user = {"system:serviceaccount:kube-system:replicaset-controller", {}};
  r.byWorkloadController = true;
  d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.gated);
  EXPECT_TRUE(contains(d.reason, "written by its workload controller")) << d.reason;
}

TEST_F(BypassTest, APodJoiningAServiceIsGatedLeavingIsNot) {
  RolloutRequest r;
  r.operation = Operation::Update;
  r.kind = WorkloadKind::Pod;
  r.ns = "shop";
  r.name = "plain";
  r.oldIdentity = WorkloadLabels{{{"run", "plain"}}, std::nullopt};
  r.identity = {{{"run", "plain"}, {"app", "ledger"}}, std::nullopt};
  r.change = Change::Labels;
  r.user = {"bob", {"devs"}};
  auto d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_EQ(d.action, GateAction::Join);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "it would come under SLO shop/ledger-availability")) << d.message;
  std::swap(*r.oldIdentity, r.identity);
  d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_FALSE(d.gated) << d.reason;
}

TEST_F(BypassTest, APodPickedUpByAGatedDeploymentIsGatedThroughIt) {
  // The SLO selects the Deployment by a label its pods do not carry; the Pod would still serve
  // as one of its pods.
  RolloutRequest r;
  r.operation = Operation::Create;
  r.kind = WorkloadKind::Pod;
  r.ns = "shop";
  r.name = "impostor";
  r.identity = {{{"app", "payments"}}, std::nullopt};
  r.change = Change::Created;
  r.related = {{WorkloadKind::Deployment,
                "payments",
                {{{"app", "payments"}, {"team", "payments"}}, model::Labels{{"app", "payments"}}},
                false}};
  const auto d = decide(r, {slo({{"team", "payments"}}, Tier::Exhausted)}, context);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.gated);
}

TEST_F(BypassTest, AHandMadeReplicaSetOfAGatedDeploymentIsRefusedWhateverTheTier) {
  RolloutRequest r;
  r.operation = Operation::Create;
  r.kind = WorkloadKind::ReplicaSet;
  r.ns = "shop";
  r.name = "ledger-forged";
  r.identity = {{{"app", "ledger"}, {"pod-template-hash", "x"}},
                model::Labels{{"app", "ledger"}, {"pod-template-hash", "x"}}};
  r.change = Change::Created;
  r.user = {"bob", {"devs"}};
  r.related = {{WorkloadKind::Deployment,
                "ledger",
                {{{"app", "ledger"}}, model::Labels{{"app", "ledger"}}},
                false}};
  for (Tier tier : {Tier::Healthy, Tier::Exhausted}) {
    const auto d = decide(r, {slo({{"app", "ledger"}}, tier)}, context);
    EXPECT_EQ(d.action, GateAction::RevisionGuard);
    EXPECT_FALSE(d.allowed);
    EXPECT_TRUE(contains(d.message, "it belongs to deployment shop/ledger")) << d.message;
    EXPECT_TRUE(contains(d.message, "only the workload's controller")) << d.message;
  }
  // Warn mode turns it into a warning, like every denial.
  policy.mode = engine::Mode::Warn;
  const auto d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(anyContains(d.warnings, "would be denied in enforce mode"));
  // The deployment controller writes its own revisions.
  policy.mode = engine::Mode::Enforce;
  r.byWorkloadController = true;
  EXPECT_TRUE(decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context).allowed);
}

TEST_F(BypassTest, AHandMadeReplicaSetOfNoDeploymentIsARollout) {
  RolloutRequest r;
  r.operation = Operation::Create;
  r.kind = WorkloadKind::ReplicaSet;
  r.ns = "shop";
  r.name = "ledger-rs";
  r.identity = {{{"app", "ledger"}}, model::Labels{{"app", "ledger"}}};
  r.change = Change::Created;
  r.user = {"bob", {"devs"}};
  auto d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_EQ(d.action, GateAction::Rollout);
  EXPECT_FALSE(d.allowed);
  d = decide(r, {slo({{"app", "ledger"}}, Tier::Healthy)}, context);
  EXPECT_TRUE(d.allowed);
}

// --- exceptions and restarts ---------------------------------------------------------------

TEST_F(BypassTest, AnExceptionAppliesOnlyToTheRequestThatClaimsIt) {
  auto r = update(Change::Template);
  r.user = {"alice", {"sre"}};
  r.annotations[std::string(kReleaseTypeAnnotation)] = "security";
  EXPECT_TRUE(claimsReleaseType(r));
  auto d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.exception, "security");
  // Left on the Deployment, the annotation is no claim for the next rollout, by anyone.
  r.oldAnnotations = r.annotations;
  EXPECT_FALSE(claimsReleaseType(r));
  d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.releaseType, "feature");
  EXPECT_TRUE(anyContains(d.warnings, "claimed by an earlier change")) << d.message;
  // Changing the release reference claims it again.
  r.annotations[std::string(kReleaseRefAnnotation)] = "CVE-2026-0002";
  EXPECT_TRUE(claimsReleaseType(r));
  EXPECT_TRUE(decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context).allowed);
  // And a CREATE carries its own claim.
  auto create = update(Change::Created);
  create.operation = Operation::Create;
  create.oldIdentity.reset();
  EXPECT_TRUE(claimsReleaseType(create));
}

TEST_F(BypassTest, ARestartIsNotARolloutUnlessThePolicyGatesRestarts) {
  auto r = update(Change::RestartOnly);
  auto d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.gated);
  EXPECT_TRUE(contains(d.reason, "restart")) << d.reason;
  policy.restarts = engine::RestartAction::Gate;
  d = decide(r, {slo({{"app", "ledger"}}, Tier::Exhausted)}, context);
  EXPECT_EQ(d.action, GateAction::Restart);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "the restart of deployment shop/ledger")) << d.message;
}

// --- a monitoring outage ------------------------------------------------------------------

TEST_F(BypassTest, AStaleExhaustedStatusStillDeniesWithinLastKnownFor) {
  // Prometheus has been down for 2 hours: the last known tier still decides...
  auto d = decide(update(Change::Template),
                  {slo({{"app", "ledger"}}, Tier::Exhausted, Seconds(2 * 3600))}, context);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.tier, Tier::Exhausted);
  EXPECT_TRUE(contains(d.message, "last known status (2.0h ago")) << d.message;
  // ...for lastKnownFor, then the fallback applies.
  d = decide(update(Change::Template),
             {slo({{"app", "ledger"}}, Tier::Exhausted, Seconds(25 * 3600))}, context);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(anyContains(d.warnings, "last-known for 1d")) << ::testing::PrintToString(d.warnings);
  policy.missingDataFallback = engine::MissingDataAction::Deny;
  d = decide(update(Change::Template),
             {slo({{"app", "ledger"}}, Tier::Exhausted, Seconds(25 * 3600))}, context);
  EXPECT_FALSE(d.allowed);
  // The old behaviour, for a policy that asks for it.
  policy.onMissingData = engine::MissingDataAction::AllowWithWarning;
  d = decide(update(Change::Template),
             {slo({{"app", "ledger"}}, Tier::Exhausted, Seconds(2 * 3600))}, context);
  EXPECT_TRUE(d.allowed);
}

}  // namespace
}  // namespace budgetgate::gate
