#include <gtest/gtest.h>

#include "operator/engine/error_budget_policy.h"

namespace budgetgate::engine {
namespace {

struct Cell {
  Tier tier;
  Risk risk;
  Verdict verdict;
};

// The design's default matrix, written out independently of the implementation.
constexpr Cell kDesignMatrix[] = {
    {Tier::Healthy, Risk::Low, Verdict::Approve},
    {Tier::Healthy, Risk::Medium, Verdict::Approve},
    {Tier::Healthy, Risk::High, Verdict::Review},
    {Tier::Attention, Risk::Low, Verdict::Approve},
    {Tier::Attention, Risk::Medium, Verdict::Review},
    {Tier::Attention, Risk::High, Verdict::Defer},
    {Tier::Warning, Risk::Low, Verdict::Review},
    {Tier::Warning, Risk::Medium, Verdict::Defer},
    {Tier::Warning, Risk::High, Verdict::Block},
    {Tier::Critical, Risk::Low, Verdict::Defer},
    {Tier::Critical, Risk::Medium, Verdict::Block},
    {Tier::Critical, Risk::High, Verdict::Block},
    {Tier::Exhausted, Risk::Low, Verdict::Block},
    {Tier::Exhausted, Risk::Medium, Verdict::Block},
    {Tier::Exhausted, Risk::High, Verdict::Block},
};

class DefaultMatrixCell : public ::testing::TestWithParam<Cell> {};

TEST_P(DefaultMatrixCell, MatchesTheDesign) {
  const Cell c = GetParam();
  EXPECT_EQ(DecisionMatrix{}.at(c.tier, c.risk), c.verdict)
      << tierName(c.tier) << " x " << riskName(c.risk);
}

INSTANTIATE_TEST_SUITE_P(AllFifteen, DefaultMatrixCell, ::testing::ValuesIn(kDesignMatrix),
                         [](const ::testing::TestParamInfo<Cell>& cell) {
                           return std::string(tierName(cell.param.tier)) + "_" +
                                  std::string(riskName(cell.param.risk));
                         });

TEST(DecisionMatrix, CoversEveryRankedTierAndRisk) {
  EXPECT_EQ(std::size(kDesignMatrix), static_cast<std::size_t>(kRankedTierCount) * kRisks.size());
}

TEST(DecisionMatrix, UnknownIsTreatedAsTheWorstRow) {
  for (Risk r : kRisks) EXPECT_EQ(DecisionMatrix{}.at(Tier::Unknown, r), Verdict::Block);
}

TEST(DecisionMatrix, SetChangesOneCell) {
  DecisionMatrix m;
  m.set(Tier::Warning, Risk::Low, Verdict::Approve);
  EXPECT_EQ(m.at(Tier::Warning, Risk::Low), Verdict::Approve);
  EXPECT_EQ(m.at(Tier::Warning, Risk::Medium), Verdict::Defer);
  EXPECT_EQ(m.at(Tier::Attention, Risk::Low), Verdict::Approve);
  m.set(Tier::Unknown, Risk::Low, Verdict::Approve);  // ignored: no such row
  EXPECT_EQ(m.at(Tier::Unknown, Risk::Low), Verdict::Block);
}

TEST(PolicyNames, RoundTrip) {
  for (Risk r : kRisks) EXPECT_EQ(riskFromName(riskName(r)), r);
  for (Verdict v : {Verdict::Approve, Verdict::Review, Verdict::Defer, Verdict::Block}) {
    EXPECT_EQ(verdictFromName(verdictName(v)), v);
  }
  for (Mode m : {Mode::Enforce, Mode::Warn, Mode::Audit}) EXPECT_EQ(modeFromName(modeName(m)), m);
  for (auto a : {MissingDataAction::AllowWithWarning, MissingDataAction::Deny,
                 MissingDataAction::LastKnown}) {
    EXPECT_EQ(missingDataActionFromName(missingDataActionName(a)), a);
  }
  for (auto a : {ReviewAction::Warn, ReviewAction::RequireApproval}) {
    EXPECT_EQ(reviewActionFromName(reviewActionName(a)), a);
  }
  EXPECT_EQ(riskName(Risk::Medium), "medium");
  EXPECT_EQ(missingDataActionName(MissingDataAction::AllowWithWarning), "allow-with-warning");
  EXPECT_EQ(reviewActionName(ReviewAction::RequireApproval), "require-approval");
  EXPECT_FALSE(riskFromName("HIGH").has_value());
  EXPECT_FALSE(verdictFromName("allow").has_value());
  EXPECT_FALSE(modeFromName("dry-run").has_value());
  EXPECT_FALSE(missingDataActionFromName("allow").has_value());
  EXPECT_FALSE(reviewActionFromName("").has_value());
}

TEST(PolicyDefaults, MatchTheDesign) {
  const ErrorBudgetPolicy p;
  EXPECT_EQ(p.name, "default");
  EXPECT_EQ(p.mode, Mode::Enforce);
  // A monitoring outage must not open the gate: decide on the last known tier for a day.
  EXPECT_EQ(p.onMissingData, MissingDataAction::LastKnown);
  EXPECT_EQ(p.lastKnownFor, Seconds(24 * 3600));
  EXPECT_EQ(p.missingDataFallback, MissingDataAction::AllowWithWarning);
  EXPECT_EQ(p.restarts, RestartAction::Allow);
  EXPECT_TRUE(p.owners.empty());
  EXPECT_TRUE(p.isOwner("root", {"system:masters"}));
  EXPECT_FALSE(p.isOwner("bob", {"devs", "system:authenticated"}));
  EXPECT_EQ(p.review, ReviewAction::Warn);
  EXPECT_TRUE(p.exceptions.rollback);
  EXPECT_TRUE(p.exceptions.security.empty());
  EXPECT_TRUE(p.exceptions.sloImprovement.empty());
  EXPECT_EQ(p.staleAfter, Seconds(600));
  EXPECT_EQ(p.hysteresis.restorePercent, 10.0);
  EXPECT_EQ(p.hysteresis.maxHold, Seconds(7 * 86400));
}

TEST(Subjects, AdmitsListedUsersAndGroups) {
  Subjects s{{"alice"}, {"sre", "oncall"}};
  EXPECT_TRUE(s.admits("alice", {}));
  EXPECT_TRUE(s.admits("bob", {"developers", "oncall"}));
  EXPECT_FALSE(s.admits("bob", {"developers"}));
  EXPECT_FALSE(s.admits("", {}));
  EXPECT_FALSE(s.admits("Alice", {"SRE"}));  // case-sensitive, like Kubernetes
  EXPECT_FALSE(Subjects{}.admits("alice", {"sre"}));
  EXPECT_TRUE(Subjects{}.empty());
  EXPECT_FALSE(s.empty());
}

}  // namespace
}  // namespace budgetgate::engine
