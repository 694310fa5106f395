#pragma once
// Prometheus text exposition (format 0.0.4) for the controller and the webhook. Every family is
// described once (name, type, help) and rendered by the Registry with exactly one # HELP and
// # TYPE line; its samples come from values set here (labelled gauges and counters kept in a
// map), from callbacks read at render time (atomics counted on hot paths elsewhere), or from
// lock-free histograms owned elsewhere.

#include <array>
#include <atomic>
#include <cstdint>
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

struct Sample {
  Labels labels;
  double value = 0;
};

class Registry;

// Keeps a callback series, callback family or histogram in its Registry; unregisters it when
// destroyed (after which the callback is never called again, not even by a render in progress).
// The Registry must outlive it.
class Registration {
 public:
  Registration() = default;
  Registration(Registration&& other) noexcept;
  Registration& operator=(Registration&& other) noexcept;
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  ~Registration();
  void reset();

 private:
  friend class Registry;
  Registration(Registry* registry, std::uint64_t id) : registry_(registry), id_(id) {}
  Registry* registry_ = nullptr;
  std::uint64_t id_ = 0;
};

class Registry {
 public:
  enum class Type { Gauge, Counter, Histogram };
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  void describe(const std::string& name, Type type, const std::string& help);
  void set(const std::string& name, const Labels& labels, double value);
  void add(const std::string& name, const Labels& labels, double delta = 1.0);
  // Drops every set series of every metric whose labels include all of `match` (a deleted SLO).
  void removeSeriesWith(const Labels& match);

  // Callbacks run at render time under the registry's lock: they must be quick and must not
  // call the registry.
  // One series whose value is read at render time (e.g. an atomic counter).
  [[nodiscard]] Registration observe(const std::string& name, Labels labels,
                                     std::function<double()> read);
  // Any number of series produced at render time (label sets that grow, optional values).
  [[nodiscard]] Registration collect(const std::string& name,
                                     std::function<void(std::vector<Sample>&)> collect);
  // A histogram owned elsewhere; describe its family with Type::Histogram.
  [[nodiscard]] Registration histogram(const std::string& name, Labels labels,
                                       const Histogram& histogram);

  std::string render() const;

 private:
  friend class Registration;
  struct Source {
    Labels labels;
    std::function<double()> read;
    std::function<void(std::vector<Sample>&)> collect;
    const Histogram* histogram = nullptr;
  };
  struct Family {
    Type type = Type::Gauge;
    std::string help;
    // By the rendered label set ({k="v",...}, canonical: sorted, escaped): one string per
    // series instead of a map of strings (200,000 series at 10,000 SLOs).
    std::map<std::string, double, std::less<>> series;
    std::map<std::uint64_t, Source> sources;  // by registration id, in registration order
  };
  Registration addSource(const std::string& name, Source source);
  void unregister(std::uint64_t id);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
  std::uint64_t nextId_ = 1;
};

// The label sets objects' series were last exported with. An object (an SLO) is identified by
// `key` labels that all its series carry (namespace, slo); its other identifying labels
// (service, team) may change, and then its series under the old labels must go rather than stay
// beside the new ones. Not thread-safe: the caller serializes (it also orders set() calls).
class SeriesLabels {
 public:
  explicit SeriesLabels(Registry& registry) : registry_(registry) {}
  // Returns `key` plus `extra`; when that differs from what the object was last exported with,
  // first removes every series carrying `key`.
  Labels update(const Labels& key, const Labels& extra);
  // The object is gone: removes its series.
  void forget(const Labels& key);

 private:
  Registry& registry_;
  std::map<Labels, Labels> last_;  // by key
};

std::string renderLabels(const Labels& labels);
std::string formatValue(double v);

}  // namespace budgetgate::metrics
