#pragma once
// Turns the quantities a cycle needs into as few Prometheus queries as possible. Pure.
//
// Two kinds of sharing:
//  * across windows: one query returns a quantity over every window at once
//    (label_replace(EXPR[5m], "bg_w", "5m") or label_replace(EXPR[30m], ...) ...);
//  * across SLOs: counter selectors that differ only in one equality matcher (typically
//    service="...") are asked for together, `sum by (service) (increase(metric{service=~
//    "a|b|c", ...}[w]))`, and the answer is split by that label.
// Quantities that cannot be shared are batched a few per query, tagged with "bg_q".

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "operator/common/time.h"
#include "operator/prometheus/slo_signals.h"

namespace budgetgate::prometheus {

inline constexpr std::string_view kWindowLabel = "bg_w";
inline constexpr std::string_view kQuantityLabel = "bg_q";

// A range ending at the evaluation instant. `summed` ranges are added to stored buckets and
// use the quantity's exactly additive form.
struct WindowRange {
  Seconds length{0};
  bool summed = false;
  bool operator<(const WindowRange& o) const {
    return std::tie(length, summed) < std::tie(o.length, o.summed);
  }
};

// One quantity and the ranges (window key -> range) to evaluate it over at the cycle instant.
struct QuantityNeed {
  Quantity quantity;
  std::map<std::string, WindowRange> windows;
};

// How to map the samples of one query back to needs.
struct Demux {
  std::string pivotLabel;  // non-empty: the sample's value of this label names the need
  std::map<std::string, std::size_t, std::less<>> byPivot;
  std::vector<std::size_t> needs;  // every need the query covers
};

struct InstantUnit {
  std::string promql;
  Demux demux;
  std::vector<std::string> windows;  // window keys covered
};

// A range query filling buckets [from, to] (bucket ends) for some needs.
struct RangeUnit {
  std::string promql;
  Demux demux;
  TimePoint from{};
  TimePoint to{};
  bool fullSync = false;
};

struct BucketRequest {
  std::size_t need;
  TimePoint from{};  // first bucket end to fetch
  TimePoint to{};    // last bucket end to fetch
  bool fullSync = false;
};

struct PlannerOptions {
  bool shareAcrossSlos = true;
  std::size_t batchSize = 6;  // unshared quantities per query
  // Shared queries are split so that no answer grows with the number of SLOs: at most this
  // many series per instant query, and at most this many points (series x buckets) per bucket
  // range query (a 30-day range of hourly buckets is 721 points a series). The answers of the
  // queries in flight are what the evaluator's memory peaks at.
  std::size_t maxSeriesPerQuery = 500;
  std::size_t maxPointsPerQuery = 100'000;
};

// Plans every need, or only those in `subset` (indices into `needs`; the units' demux refers to
// them by those indices).
std::vector<InstantUnit> planInstantQueries(const std::vector<QuantityNeed>& needs,
                                            const PlannerOptions& options,
                                            const std::vector<std::size_t>* subset = nullptr);

std::vector<RangeUnit> planBucketQueries(const std::vector<QuantityNeed>& needs,
                                         const std::vector<BucketRequest>& requests, Seconds bucket,
                                         const PlannerOptions& options);

}  // namespace budgetgate::prometheus
