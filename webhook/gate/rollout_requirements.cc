#include "webhook/gate/rollout_requirements.h"

#include <fmt/format.h>

#include <charconv>

namespace budgetgate::gate {

std::optional<long long> scaledCount(const std::string& value, long long replicas, bool roundUp) {
  if (value.empty()) return std::nullopt;
  const bool percent = value.back() == '%';
  const std::string_view digits(value.data(), value.size() - (percent ? 1 : 0));
  long long n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n < 0) return std::nullopt;
  if (!percent) return n;
  const long long scaled = n * replicas;
  return roundUp ? (scaled + 99) / 100 : scaled / 100;
}

std::vector<std::string> unmetRequirements(const engine::RolloutRequirements& req,
                                           const RolloutRequest& r) {
  std::vector<std::string> out;
  for (const auto& a : req.annotations) {
    auto it = r.annotations.find(a.name);
    const bool present =
        it != r.annotations.end() && it->second.find_first_not_of(" \t\n") != std::string::npos;
    if (!present) {
      out.push_back(fmt::format("annotation {}{}", a.name, a.url ? " (an http(s) URL)" : ""));
    } else if (a.url && it->second.rfind("https://", 0) != 0 &&
               it->second.rfind("http://", 0) != 0) {
      out.push_back(fmt::format("annotation {} as an http(s) URL (is \"{}\")", a.name, it->second));
    }
  }
  if (!r.strategy) return out;
  const auto& st = *r.strategy;
  const bool argo = r.kind == WorkloadKind::ArgoRollout;
  if (req.progressive) {
    if (argo && (st.type != "Canary" || st.canarySteps == 0)) {
      out.push_back(fmt::format("a progressive rollout: spec.strategy.canary with steps (is {})",
                                st.type == "Canary" ? "a canary without steps" : st.type));
    } else if (!argo && st.type != "RollingUpdate") {
      out.push_back(
          fmt::format("a progressive rollout: {}.type RollingUpdate (is {})", st.field, st.type));
    }
  }
  // strategy.type names the built-in kinds' strategies; an Argo Rollout is judged by
  // `progressive` (its canary's surge and unavailability bounds below apply as usual).
  if (req.strategyType && !argo && st.type != *req.strategyType) {
    out.push_back(fmt::format("{}.type {} (is {})", st.field, *req.strategyType, st.type));
  }
  // Where the bounds live: spec.strategy.rollingUpdate, spec.updateStrategy.rollingUpdate, or
  // an Argo Rollout's spec.strategy.canary.
  const std::string boundsField = st.field + (st.type == "Canary" ? ".canary" : ".rollingUpdate");
  const auto bound = [&](const char* field, const std::optional<std::string>& limit,
                         const std::string& actual, bool roundUp) {
    if (!limit || (st.type != "RollingUpdate" && st.type != "Canary")) return;
    if (st.replicas <= 0) {
      // Pods unknown (a DaemonSet): a count and a percentage cannot be compared; two of a
      // kind can.
      const bool limitPercent = !limit->empty() && limit->back() == '%';
      const bool actualPercent = !actual.empty() && actual.back() == '%';
      const auto want = scaledCount(*limit, 100, roundUp);
      const auto have = scaledCount(actual, 100, roundUp);
      if (limitPercent == actualPercent && want && have && *have <= *want) return;
      out.push_back(fmt::format("{}.{} at most {} (is {}{})", boundsField, field, *limit, actual,
                                limitPercent == actualPercent
                                    ? ""
                                    : "; a count and a percentage cannot be compared without "
                                      "the number of Pods: use the policy's unit"));
      return;
    }
    const auto want = scaledCount(*limit, st.replicas, roundUp);
    const auto have = scaledCount(actual, st.replicas, roundUp);
    if (!want || (have && *have <= *want)) return;
    out.push_back(fmt::format("{}.{} at most {} (is {}: {} of {} replicas)", boundsField, field,
                              *limit, actual, have ? std::to_string(*have) : "?", st.replicas));
  };
  bound("maxUnavailable", req.maxUnavailable, st.maxUnavailable, false);
  bound("maxSurge", req.maxSurge, st.maxSurge, true);
  return out;
}

}  // namespace budgetgate::gate
