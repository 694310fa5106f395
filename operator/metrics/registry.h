#pragma once
// Prometheus text exposition (format 0.0.4) for the controller and the webhook: labelled
// gauges and counters kept in a map, plus lock-free histograms for hot paths.

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace budgetgate::metrics {

using Labels = std::map<std::string, std::string>;

// Fixed buckets, atomic counts: safe to observe from many threads without a lock.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upperBounds);
  void observe(double value);
  // Appends NAME_bucket{...,le="..."}, NAME_sum and NAME_count lines.
  void render(std::string& out, const std::string& name, const Labels& labels) const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<std::uint64_t>> buckets_;  // one per bound, plus +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sumMicros_{0};  // sum kept in millionths to stay integral
};

class Registry {
 public:
  enum class Type { Gauge, Counter, Histogram };
  void describe(const std::string& name, Type type, const std::string& help);
  void set(const std::string& name, const Labels& labels, double value);
  void add(const std::string& name, const Labels& labels, double delta = 1.0);
  // Drops every series of every metric whose labels include all of `match` (a deleted SLO).
  void removeSeriesWith(const Labels& match);
  // Extra text appended at render time (histograms, values read from elsewhere).
  void addCollector(std::function<void(std::string& out)> collector);
  std::string render() const;

 private:
  struct Family {
    Type type = Type::Gauge;
    std::string help;
    std::map<Labels, double> series;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

std::string renderLabels(const Labels& labels);
std::string formatValue(double v);

}  // namespace budgetgate::metrics
