#pragma once
// Per-quantity sums over fixed, aligned buckets (an hour by default), so that a 30-day window
// costs one range query once and then one small query per new bucket — the evaluation cost of
// a cycle does not grow with the SLO window.

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "operator/common/duration.h"
#include "operator/common/time.h"

namespace budgetgate::prometheus {

class BucketStore {
 public:
  explicit BucketStore(Seconds bucket = Seconds(3600)) : bucket_(bucket) {}

  Seconds bucket() const { return bucket_; }
  // Bucket boundaries: multiples of the bucket length since the epoch.
  TimePoint floorToBucket(TimePoint t) const;
  TimePoint roundToBucket(TimePoint t) const;

  struct Coverage {
    TimePoint firstEnd;  // end of the oldest stored bucket
    TimePoint lastEnd;   // end of the newest stored bucket
    TimePoint lastFullSync;
  };
  std::optional<Coverage> coverage(const std::string& key) const;

  // Records buckets ending at from, from+bucket, ..., to. Points missing from `points` are
  // buckets without data. A full sync replaces what was stored; otherwise the range must
  // extend the stored one contiguously (older data is kept, overlaps are overwritten).
  void store(const std::string& key, TimePoint from, TimePoint to,
             const std::vector<std::pair<TimePoint, double>>& points, bool fullSync,
             TimePoint syncedAt);

  struct Sum {
    double value = 0;
    bool anyData = false;  // at least one bucket had a sample
  };
  // Sum of the buckets ending in (fromEnd, toEnd]; nullopt when that range is not covered.
  std::optional<Sum> sum(const std::string& key, TimePoint fromEnd, TimePoint toEnd) const;

  // The buckets ending in (fromEnd, toEnd], oldest first (NaN: no sample); nullopt when that
  // range is not covered. Valid until the store is next modified.
  std::optional<std::span<const double>> range(const std::string& key, TimePoint fromEnd,
                                               TimePoint toEnd) const;

  // Forgets every key not in `keep` and buckets ending before `oldestNeeded`.
  void retain(const std::set<std::string>& keep, TimePoint oldestNeeded);

  std::size_t keyCount() const { return series_.size(); }
  std::size_t bucketCount() const;
  // What the stored buckets take in memory: values, keys and per-series bookkeeping.
  std::size_t memoryBytes() const;

 private:
  struct BucketSeries {
    TimePoint firstEnd{};
    std::vector<double> values;  // NaN: no sample in that bucket
    TimePoint lastFullSync{};
  };
  Seconds bucket_;
  std::map<std::string, BucketSeries, std::less<>> series_;
};

}  // namespace budgetgate::prometheus
