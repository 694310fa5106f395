#pragma once
// The narrow interface the evaluator needs from Prometheus: instant and range queries whose
// outcome is always one of a few distinct, reportable states — never an exception.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operator/common/time.h"

namespace budgetgate::prometheus {

enum class QueryState {
  Ok,           // success with at least one sample
  Empty,        // success, empty vector: no such series (or none in range)
  HttpError,    // a non-2xx status other than a query error
  QueryError,   // Prometheus rejected the query (HTTP 400/422, "status":"error")
  Timeout,      // no answer within the timeout (after retries)
  Unreachable,  // connection refused, DNS failure, TLS failure (after retries)
  BadResponse,  // 2xx but not the JSON Prometheus returns
};
std::string_view queryStateName(QueryState s);
// True for states where Prometheus itself (not the data) is the problem.
bool isTransportFailure(QueryState s);

using SeriesLabels = std::map<std::string, std::string, std::less<>>;

struct Sample {
  SeriesLabels labels;
  double value = 0;  // may be NaN or infinite: callers decide what that means
};

struct InstantResult {
  QueryState state = QueryState::Ok;
  std::string error;
  std::vector<Sample> samples;
};

struct Series {
  SeriesLabels labels;
  std::vector<std::pair<TimePoint, double>> points;
};

struct RangeResult {
  QueryState state = QueryState::Ok;
  std::string error;
  std::vector<Series> series;
};

class PrometheusApi {
 public:
  virtual ~PrometheusApi() = default;
  // /api/v1/query evaluated at `at`.
  virtual InstantResult query(const std::string& promql, TimePoint at) = 0;
  // /api/v1/query_range over [start, end] every `step`.
  virtual RangeResult queryRange(const std::string& promql, TimePoint start, TimePoint end,
                                 Seconds step) = 0;
  // Ends the queries in flight and refuses new ones (at shutdown: a slow Prometheus must not
  // hold the process past its grace period). Irreversible.
  virtual void cancelAll() {}
};

}  // namespace budgetgate::prometheus
