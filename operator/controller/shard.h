#pragma once
// Which SLOs this controller evaluates when several share the work: shard K of N owns the
// namespaces whose FNV-1a 64-bit hash is K modulo N. A namespace's SLOs stay together (their
// ReplicaSets are listed once, their gate shares one policy lookup) and every replica computes
// the same split without talking to the others. Each shard elects its own leader (one Lease per
// shard), so two replicas per shard fail over as one replica did.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace budgetgate::controller {

struct ShardAssignment {
  int index = 0;
  int count = 1;

  bool owns(std::string_view ns) const {
    return count <= 1 ||
           static_cast<int>(namespaceHash(ns) % static_cast<std::uint64_t>(count)) == index;
  }
  bool sharded() const { return count > 1; }
  // "1/2"
  std::string describe() const { return std::to_string(index) + "/" + std::to_string(count); }

  static std::uint64_t namespaceHash(std::string_view ns) {
    std::uint64_t h = 14695981039346656037ULL;  // FNV-1a offset basis
    for (const unsigned char c : ns) {
      h ^= c;
      h *= 1099511628211ULL;  // FNV prime
    }
    return h;
  }

  // "K/N" with 0 <= K < N <= 1024; nullopt (and *error) otherwise.
  static std::optional<ShardAssignment> parse(std::string_view text, std::string* error) {
    const auto slash = text.find('/');
    auto number = [](std::string_view s) -> std::optional<int> {
      if (s.empty() || s.size() > 4) return std::nullopt;
      int v = 0;
      for (const char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
      }
      return v;
    };
    if (slash != std::string_view::npos) {
      const auto k = number(text.substr(0, slash));
      const auto n = number(text.substr(slash + 1));
      if (k && n && *n >= 1 && *n <= 1024 && *k < *n) return ShardAssignment{*k, *n};
    }
    // append(), not "\"" + std::string: GCC 12 at -O3 reports a false -Werror=restrict there.
    if (error) error->assign("\"").append(text).append("\" is not K/N with 0 <= K < N <= 1024");
    return std::nullopt;
  }
};

}  // namespace budgetgate::controller
