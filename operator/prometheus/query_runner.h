#pragma once
// The second stage of the evaluation pipeline (plan -> fetch -> assemble): runs the planned
// queries against Prometheus, concurrently within a bound, and files every answer under the
// need and window key it belongs to — values by instant, failures as such, bucket sums into a
// BucketStore. The live evaluator fetches at one instant; the backtest fetches timelines.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "operator/prometheus/bucket_store.h"
#include "operator/prometheus/prometheus_api.h"
#include "operator/prometheus/query_planner.h"
#include "operator/status/measurement.h"

namespace budgetgate::prometheus {

// A failed query's state as a status measurement.
status::Measurement failedMeasurement(QueryState state, const std::string& error);

// Which need a sample or series of a planned query belongs to; nullopt for anything the query
// was not planned to return.
std::optional<std::size_t> needFor(const Demux& demux, const SeriesLabels& labels);

// What the queries returned, per need and window key.
class Fetched {
 public:
  explicit Fetched(std::size_t needs) : byNeed_(needs) {}

  void record(std::size_t need, const std::string& window, TimePoint at, double value);
  void fail(std::size_t need, const std::string& window, const status::Measurement& failure);
  void failBuckets(std::size_t need, const status::Measurement& failure);

  // The value at `at`: Empty when the query returned none for that instant.
  status::Measurement at(std::size_t need, const std::string& window, TimePoint at) const;
  const status::Measurement* bucketFailure(std::size_t need) const;

 private:
  struct Entry {
    std::map<TimePoint, double> values;
    std::optional<status::Measurement> failure;
  };
  std::vector<std::map<std::string, Entry, std::less<>>> byNeed_;
  std::map<std::size_t, status::Measurement> bucketFailures_;
};

// One query to run: an instant plan at one instant, or over [from, to] every step (one range
// query returning a timeline per window), or buckets for the BucketStore.
struct FetchJob {
  enum class Kind { Instant, Timeline, Buckets };
  Kind kind = Kind::Instant;
  const InstantUnit* instant = nullptr;  // Instant, Timeline
  const RangeUnit* buckets = nullptr;    // Buckets
  TimePoint from{};                      // Instant: the instant
  TimePoint to{};
  Seconds step{0};
};

struct FetchReport {
  std::size_t instantQueries = 0;
  std::size_t rangeQueries = 0;
  std::size_t failedQueries = 0;
  std::string firstFailure;  // "timeout: ..." of the first failed query, for a message
};

// Runs the jobs and files their answers. Bucket series are stored for every need a bucket
// unit covers (a need without a series gets empty buckets); `syncedAt` stamps full syncs.
FetchReport fetch(PrometheusApi& api, std::size_t concurrency, const std::vector<FetchJob>& jobs,
                  const std::vector<QuantityNeed>& needs, BucketStore& buckets, TimePoint syncedAt,
                  Fetched& out);

}  // namespace budgetgate::prometheus
