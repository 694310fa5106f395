#include "operator/engine/error_budget_policy.h"

#include <algorithm>

namespace budgetgate::engine {
namespace {

template <typename Enum, std::size_t N>
std::optional<Enum> lookup(const std::array<std::string_view, N>& names, std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 3> kRiskNames = {"low", "medium", "high"};
constexpr std::array<std::string_view, 4> kVerdictNames = {"approve", "review", "defer", "block"};
constexpr std::array<std::string_view, 3> kModeNames = {"enforce", "warn", "audit"};
constexpr std::array<std::string_view, 3> kMissingNames = {"allow-with-warning", "deny",
                                                           "last-known"};
constexpr std::array<std::string_view, 2> kReviewNames = {"warn", "require-approval"};
constexpr std::array<std::string_view, 2> kRestartNames = {"allow", "gate"};

}  // namespace

std::string_view riskName(Risk r) {
  return kRiskNames[static_cast<std::size_t>(r)];
}
std::optional<Risk> riskFromName(std::string_view n) {
  return lookup<Risk>(kRiskNames, n);
}
std::string_view verdictName(Verdict v) {
  return kVerdictNames[static_cast<std::size_t>(v)];
}
std::optional<Verdict> verdictFromName(std::string_view n) {
  return lookup<Verdict>(kVerdictNames, n);
}
std::string_view modeName(Mode m) {
  return kModeNames[static_cast<std::size_t>(m)];
}
std::optional<Mode> modeFromName(std::string_view n) {
  return lookup<Mode>(kModeNames, n);
}
std::string_view missingDataActionName(MissingDataAction a) {
  return kMissingNames[static_cast<std::size_t>(a)];
}
std::optional<MissingDataAction> missingDataActionFromName(std::string_view n) {
  return lookup<MissingDataAction>(kMissingNames, n);
}
std::string_view reviewActionName(ReviewAction a) {
  return kReviewNames[static_cast<std::size_t>(a)];
}
std::optional<ReviewAction> reviewActionFromName(std::string_view n) {
  return lookup<ReviewAction>(kReviewNames, n);
}

std::string_view restartActionName(RestartAction a) {
  return kRestartNames[static_cast<std::size_t>(a)];
}
std::optional<RestartAction> restartActionFromName(std::string_view n) {
  return lookup<RestartAction>(kRestartNames, n);
}

bool ErrorBudgetPolicy::isOwner(std::string_view user,
                                const std::vector<std::string>& groups) const {
  if (std::find(groups.begin(), groups.end(), kClusterAdminGroup) != groups.end()) return true;
  return owners.admits(user, groups);
}

bool TieredException::appliesAt(Tier tier) const {
  return std::find(tiers.begin(), tiers.end(), tier) != tiers.end();
}

bool Subjects::admits(std::string_view user, const std::vector<std::string>& userGroups) const {
  if (std::find(users.begin(), users.end(), user) != users.end()) return true;
  return std::any_of(userGroups.begin(), userGroups.end(), [&](const std::string& g) {
    return std::find(groups.begin(), groups.end(), g) != groups.end();
  });
}

Verdict DecisionMatrix::at(Tier tier, Risk risk) const {
  // Unknown is clamped to the worst row so that a caller's mistake can never admit.
  const auto row = std::min(static_cast<std::size_t>(tier), std::size_t{kRankedTierCount - 1});
  return cells[row][static_cast<std::size_t>(risk)];
}

void DecisionMatrix::set(Tier tier, Risk risk, Verdict v) {
  if (tier == Tier::Unknown) return;
  cells[static_cast<std::size_t>(tier)][static_cast<std::size_t>(risk)] = v;
}

}  // namespace budgetgate::engine
