#include "operator/prometheus/bucket_store.h"

#include <cmath>
#include <limits>

namespace budgetgate::prometheus {
namespace {
constexpr double kNoData = std::numeric_limits<double>::quiet_NaN();
}

TimePoint BucketStore::floorToBucket(TimePoint t) const {
  const auto s = t.time_since_epoch().count();
  const auto b = bucket_.count();
  auto floored = s / b * b;
  if (s < 0 && s % b != 0) floored -= b;
  return TimePoint(Seconds(floored));
}

TimePoint BucketStore::roundToBucket(TimePoint t) const {
  return floorToBucket(t + bucket_ / 2);
}

std::optional<BucketStore::Coverage> BucketStore::coverage(const std::string& key) const {
  auto it = series_.find(key);
  if (it == series_.end() || it->second.values.empty()) return std::nullopt;
  const auto& s = it->second;
  const TimePoint last = s.firstEnd + bucket_ * static_cast<long long>(s.values.size() - 1);
  return Coverage{s.firstEnd, last, s.lastFullSync};
}

void BucketStore::store(const std::string& key, TimePoint from, TimePoint to,
                        const std::vector<std::pair<TimePoint, double>>& points, bool fullSync,
                        TimePoint syncedAt) {
  if (to < from) return;
  const auto count = static_cast<std::size_t>((to - from) / bucket_) + 1;
  std::vector<double> fresh(count, kNoData);
  for (const auto& [t, v] : points) {
    if (t < from || t > to || !std::isfinite(v)) continue;
    const auto offset = (t - from) / bucket_;
    if ((t - from) % bucket_ != Seconds(0)) continue;  // not on a boundary
    fresh[static_cast<std::size_t>(offset)] = v;
  }
  auto& s = series_[key];
  if (fullSync || s.values.empty()) {
    s.firstEnd = from;
    s.values = std::move(fresh);
    s.lastFullSync = syncedAt;
    return;
  }
  const TimePoint lastEnd = s.firstEnd + bucket_ * static_cast<long long>(s.values.size() - 1);
  if (from > lastEnd + bucket_ || from < s.firstEnd) {
    // Not contiguous: start over from this range (the caller will schedule a full sync).
    s.firstEnd = from;
    s.values = std::move(fresh);
    return;
  }
  const auto start = static_cast<std::size_t>((from - s.firstEnd) / bucket_);
  if (s.values.size() < start + count) {
    // Grow by a day of hourly buckets at a time, not by doubling: retain() drops as many from
    // the front, so the capacity stays within a day of the window (doubling kept up to 2x).
    if (s.values.capacity() < start + count) s.values.reserve(start + count + 24);
    s.values.resize(start + count, kNoData);
  }
  for (std::size_t i = 0; i < count; ++i) s.values[start + i] = fresh[i];
}

std::optional<std::span<const double>> BucketStore::range(const std::string& key, TimePoint fromEnd,
                                                          TimePoint toEnd) const {
  auto it = series_.find(key);
  if (it == series_.end() || it->second.values.empty()) return std::nullopt;
  const auto& s = it->second;
  if (toEnd <= fromEnd) return std::span<const double>{};
  const TimePoint firstWanted = fromEnd + bucket_;
  const TimePoint lastEnd = s.firstEnd + bucket_ * static_cast<long long>(s.values.size() - 1);
  if (firstWanted < s.firstEnd || toEnd > lastEnd) return std::nullopt;
  const auto begin = static_cast<std::size_t>((firstWanted - s.firstEnd) / bucket_);
  const auto end = static_cast<std::size_t>((toEnd - s.firstEnd) / bucket_);
  return std::span<const double>(s.values).subspan(begin, end - begin + 1);
}

std::optional<BucketStore::Sum> BucketStore::sum(const std::string& key, TimePoint fromEnd,
                                                 TimePoint toEnd) const {
  const auto buckets = range(key, fromEnd, toEnd);
  if (!buckets) return std::nullopt;
  Sum result;
  for (const double v : *buckets) {
    if (std::isnan(v)) continue;
    result.value += v;
    result.anyData = true;
  }
  return result;
}

void BucketStore::retain(const std::set<std::string>& keep, TimePoint oldestNeeded) {
  for (auto it = series_.begin(); it != series_.end();) {
    if (keep.count(it->first) == 0) {
      it = series_.erase(it);
      continue;
    }
    auto& s = it->second;
    if (s.firstEnd < oldestNeeded && !s.values.empty()) {
      const auto drop = std::min(static_cast<std::size_t>((oldestNeeded - s.firstEnd) / bucket_),
                                 s.values.size() - 1);
      s.values.erase(s.values.begin(), s.values.begin() + static_cast<std::ptrdiff_t>(drop));
      s.firstEnd += bucket_ * static_cast<long long>(drop);
    }
    ++it;
  }
}

std::size_t BucketStore::bucketCount() const {
  std::size_t n = 0;
  for (const auto& [k, s] : series_) n += s.values.size();
  return n;
}

std::size_t BucketStore::memoryBytes() const {
  // A map node: three pointers and a colour, then the key and the value.
  constexpr std::size_t kNode = 4 * sizeof(void*);
  std::size_t n = 0;
  for (const auto& [k, s] : series_) {
    n += kNode + sizeof(k) + sizeof(s) + s.values.capacity() * sizeof(double);
    if (k.capacity() > 15) n += k.capacity() + 1;  // beyond the short-string buffer
  }
  return n;
}

}  // namespace budgetgate::prometheus
