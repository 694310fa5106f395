// The gate's own objects: who may loosen a gating SLO or a policy (object_guard.h), and when a
// policy is at least as strict as another (policy_strictness.h).

#include "webhook/gate/object_guard.h"

#include <gtest/gtest.h>

#include "operator/engine/policy_strictness.h"

namespace budgetgate::gate {
namespace {

using engine::ErrorBudgetPolicy;
using engine::Tier;

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

model::LabelSelector selector(model::Labels labels) {
  model::LabelSelector s;
  s.matchLabels = std::move(labels);
  return s;
}

std::shared_ptr<const ErrorBudgetPolicy> makePolicy(std::string ns, std::string name,
                                                    void (*edit)(ErrorBudgetPolicy&) = nullptr) {
  ErrorBudgetPolicy p;
  p.ns = std::move(ns);
  p.name = std::move(name);
  p.owners.groups = {"sre"};
  if (edit) edit(p);
  return std::make_shared<const ErrorBudgetPolicy>(std::move(p));
}

class GuardTest : public ::testing::Test {
 protected:
  GuardTest() {
    policies["budgetgate/default"] = makePolicy("budgetgate", "default");
    policies["budgetgate/lenient"] = makePolicy(
        "budgetgate", "lenient", [](ErrorBudgetPolicy& p) { p.mode = engine::Mode::Warn; });
    policies["budgetgate/stricter"] =
        makePolicy("budgetgate", "stricter", [](ErrorBudgetPolicy& p) {
          p.matrix.set(Tier::Healthy, engine::Risk::High, engine::Verdict::Block);
        });
    workloads.push_back({WorkloadKind::Deployment,
                         "ledger",
                         "uid-1",
                         {{{"app", "ledger"}, {"tier", "gold"}}, model::Labels{{"app", "ledger"}}},
                         selector({{"app", "ledger"}}),
                         ""});
    workloads.push_back({WorkloadKind::Deployment,
                         "ledger-eu",
                         "uid-2",
                         {{{"app", "ledger"}}, model::Labels{{"app", "ledger"}, {"region", "eu"}}},
                         selector({{"app", "ledger"}, {"region", "eu"}}),
                         ""});
    ctx.policies = &policies;
    ctx.lookup = {"budgetgate", "default"};
    ctx.fallback = std::make_shared<const ErrorBudgetPolicy>();
    ctx.workloads = &workloads;
    ctx.slos = &slos;
  }

  GuardedSlo gating(model::Labels match = {{"app", "ledger"}}, double target = 0.999) const {
    GuardedSlo g;
    g.selector = selector(std::move(match));
    g.targets = {target};
    g.fixedSpec = R"({"budgetingMethod":"Occurrences"})";
    return g;
  }

  SloWrite write(UserInfo user, std::optional<GuardedSlo> after) const {
    return {after ? Operation::Update : Operation::Delete,
            "shop",
            "ledger-availability",
            std::move(user),
            gating(),
            std::move(after)};
  }

  model::PolicyMap policies;
  std::vector<KnownWorkload> workloads;
  std::vector<GatedSlo> slos;
  GuardContext ctx;
  UserInfo bob{"bob", {"devs", "system:authenticated"}};
  UserInfo alice{"alice", {"sre"}};
  UserInfo admin{"kubernetes-admin", {"system:masters"}};
};

TEST_F(GuardTest, EditorsMayTightenAGatingSlo) {
  EXPECT_TRUE(guardSloWrite(write(bob, gating({{"app", "ledger"}}, 0.9995)), ctx).allowed);
  // A wider selector gates more.
  EXPECT_TRUE(guardSloWrite(write(bob, gating({})), ctx).allowed);
  auto stricter = gating();
  stricter.policyRef = "stricter";
  const auto d = guardSloWrite(write(bob, stricter), ctx);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.guarded);
}

TEST_F(GuardTest, EditorsMayNotLoosenAGatingSlo) {
  struct Case {
    std::optional<GuardedSlo> after;
    std::string expected;
  };
  auto lower = gating({{"app", "ledger"}}, 0.99);
  auto narrow = gating({{"app", "ledger"}, {"region", "eu"}});
  auto laxer = gating();
  laxer.policyRef = "lenient";
  auto other = gating();
  other.fixedSpec = R"({"budgetingMethod":"Timeslices"})";
  GuardedSlo none;
  const std::vector<Case> cases = {
      {std::nullopt, "it deletes a gating SLO"},
      {lower, "it lowers objectives[0] from 99.9% to 99%"},
      {narrow, "deployment shop/ledger would no longer be gated"},
      {laxer,
       "points spec.gate.policyRef at policy budgetgate/lenient, which is laxer than "
       "budgetgate/default (mode enforce -> warn)"},
      {other, "it changes the indicator, time window, budgeting method or objectives"},
      {none, "it removes spec.gate.selector"},
  };
  for (const auto& c : cases) {
    const auto d = guardSloWrite(write(bob, c.after), ctx);
    EXPECT_FALSE(d.allowed) << c.expected;
    EXPECT_TRUE(contains(d.message, c.expected)) << d.message;
    EXPECT_TRUE(contains(d.message, "group sre")) << d.message;
    // The policy's owners and cluster admins may.
    for (const auto& owner : {alice, admin}) {
      const auto o = guardSloWrite(write(owner, c.after), ctx);
      EXPECT_TRUE(o.allowed) << o.message;
      EXPECT_TRUE(o.guarded);
      EXPECT_TRUE(contains(o.message, "loosened by owner")) << o.message;
    }
  }
}

TEST_F(GuardTest, AnSloThatGatesNothingIsNotGuarded) {
  SloWrite w = write(bob, std::nullopt);
  w.before->selector.reset();
  EXPECT_TRUE(guardSloWrite(w, ctx).allowed);
  w = write(bob, gating());
  w.operation = Operation::Create;
  w.before.reset();
  EXPECT_TRUE(guardSloWrite(w, ctx).allowed);
}

TEST_F(GuardTest, RelaxingAPolicyWhileItDeniesTakesAnOwner) {
  GatedSlo slo;
  slo.ns = "shop";
  slo.name = "ledger-availability";
  slo.selector = selector({{"app", "ledger"}});
  model::SloStatus exhausted;
  exhausted.tier = Tier::Exhausted;
  slo.status = exhausted;
  slos.push_back(slo);
  PolicyWrite relax{Operation::Update, "budgetgate", "default", bob,
                    makePolicy("budgetgate", "default",
                               [](ErrorBudgetPolicy& p) { p.mode = engine::Mode::Audit; })};
  auto d = guardPolicyWrite(relax, ctx);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message,
                       "it relaxes policy budgetgate/default (mode enforce -> audit) "
                       "while it denies rollouts under SLO shop/ledger-availability"))
      << d.message;
  relax.user = alice;
  EXPECT_TRUE(guardPolicyWrite(relax, ctx).allowed);
  // Shadowing the global policy with a laxer namespace one is the same.
  PolicyWrite shadow{
      Operation::Create, "shop", "default", bob,
      makePolicy("shop", "default", [](ErrorBudgetPolicy& p) { p.mode = engine::Mode::Audit; })};
  d = guardPolicyWrite(shadow, ctx);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message,
                       "would be governed by policy shop/default instead of "
                       "budgetgate/default"))
      << d.message;
  // Deleting a stricter namespace policy hands its SLOs back to a laxer one.
  policies["shop/default"] = makePolicy("shop", "default", [](ErrorBudgetPolicy& p) {
    p.matrix.set(Tier::Healthy, engine::Risk::Low, engine::Verdict::Block);
  });
  EXPECT_FALSE(guardPolicyWrite({Operation::Delete, "shop", "default", bob, nullptr}, ctx).allowed);
  // While the SLO is healthy (the policy denies nobody), a relaxation is not held up.
  slos.front().status->tier = Tier::Healthy;
  policies.erase("shop/default");
  relax.user = bob;
  EXPECT_TRUE(guardPolicyWrite(relax, ctx).allowed);
}

TEST(PolicyStrictness, EqualPoliciesAndTighteningAreNotLoosening) {
  ErrorBudgetPolicy p;
  EXPECT_FALSE(engine::firstLoosening(p, p));
  ErrorBudgetPolicy q = p;
  q.matrix.set(Tier::Healthy, engine::Risk::High, engine::Verdict::Block);
  q.tiers.critical.remainingPercentAtMost = 20;
  q.hysteresis.maxHold = Seconds(14 * 86400);
  q.onMissingData = engine::MissingDataAction::Deny;
  q.restarts = engine::RestartAction::Gate;
  EXPECT_FALSE(engine::firstLoosening(q, p)) << *engine::firstLoosening(q, p);
  EXPECT_TRUE(engine::firstLoosening(p, q));
}

TEST(PolicyStrictness, EachFieldThatCanLoosen) {
  const ErrorBudgetPolicy base = [] {
    ErrorBudgetPolicy p;
    p.exceptions.security.groups = {"sre"};
    p.owners.groups = {"sre"};
    return p;
  }();
  const std::vector<std::pair<void (*)(ErrorBudgetPolicy&), std::string>> cases = {
      {[](ErrorBudgetPolicy& p) { p.mode = engine::Mode::Warn; }, "mode enforce -> warn"},
      {[](ErrorBudgetPolicy& p) {
         p.matrix.set(Tier::Exhausted, engine::Risk::Medium, engine::Verdict::Review);
       },
       "decisions.exhausted.medium block -> review"},
      {[](ErrorBudgetPolicy& p) { p.tiers.critical.remainingPercentAtMost = 5; },
       "tiers.critical.remainingPercent 10 -> 5"},
      {[](ErrorBudgetPolicy& p) { p.tiers.warning.burnRateAtLeast.reset(); },
       "tiers.warning.burnRate 2 -> unset"},
      {[](ErrorBudgetPolicy& p) { p.hysteresis.restorePercent = 1; },
       "hysteresis.restorePercent 10 -> 1"},
      {[](ErrorBudgetPolicy& p) { p.exceptions.security.groups.push_back("devs"); },
       "exceptions.security group sre -> group sre, group devs"},
      {[](ErrorBudgetPolicy& p) { p.onMissingData = engine::MissingDataAction::AllowWithWarning; },
       "missing-data handling last-known"},
      {[](ErrorBudgetPolicy& p) { p.owners.users.push_back("bob"); }, "owners group sre ->"},
      {[](ErrorBudgetPolicy& p) { p.exceptions.bugfix.who.groups = {"devs"}; },
       "exceptions.bugfix nobody -> group devs"},
  };
  // Widening the tiers of an existing bugfix exception loosens too; narrowing does not.
  ErrorBudgetPolicy bugfix = base;
  bugfix.exceptions.bugfix.who.groups = {"sre"};
  ErrorBudgetPolicy wider = bugfix;
  wider.exceptions.bugfix.tiers.push_back(Tier::Exhausted);
  ASSERT_TRUE(engine::firstLoosening(wider, bugfix).has_value());
  EXPECT_TRUE(
      contains(*engine::firstLoosening(wider, bugfix), "exceptions.bugfix.tiers gains exhausted"));
  ErrorBudgetPolicy narrower = bugfix;
  narrower.exceptions.bugfix.tiers = {Tier::Warning};
  EXPECT_FALSE(engine::firstLoosening(narrower, bugfix).has_value());
  for (const auto& [edit, expected] : cases) {
    ErrorBudgetPolicy p = base;
    edit(p);
    const auto l = engine::firstLoosening(p, base);
    ASSERT_TRUE(l.has_value()) << expected;
    EXPECT_TRUE(contains(*l, expected)) << *l;
  }
}

}  // namespace
}  // namespace budgetgate::gate
