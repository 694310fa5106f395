#include "operator/prometheus/prometheus_client.h"

#include <fmt/format.h>

#include <thread>

#include "operator/common/backoff.h"
#include "operator/prometheus/response_parser.h"

namespace budgetgate::prometheus {
namespace {

bool retryable(const http::Response& r) {
  if (r.transport == http::Transport::Cancelled) return false;
  if (r.transport != http::Transport::Ok) return true;
  return r.status == 429 || r.status >= 500;
}

template <typename Result>
Result transportFailure(const http::Response& r) {
  Result result;
  result.state =
      r.transport == http::Transport::Timeout ? QueryState::Timeout : QueryState::Unreachable;
  result.error = fmt::format("{}: {}", http::transportName(r.transport), r.error);
  return result;
}

}  // namespace

PrometheusClient::PrometheusClient(ClientConfig config)
    : config_(std::move(config)), client_(config_.http) {}

template <typename Result, typename Parse>
Result PrometheusClient::execute(const std::string& path, const std::string& form, Parse parse) {
  ++counters_.queries;
  http::Request request;
  request.method = "POST";
  request.pathAndQuery = path;
  request.body = form;
  request.contentType = "application/x-www-form-urlencoded";
  http::Response response;
  Backoff backoff(config_.backoff, config_.backoff * 8);
  for (int attempt = 0;; ++attempt) {
    if (cancelled_) {
      response = {};
      response.transport = http::Transport::Cancelled;
      response.error = "cancelled (shutting down)";
      break;
    }
    ++counters_.attempts;
    response = client_.send(request);
    if (!retryable(response) || attempt >= config_.retries || cancelled_) break;
    sleepFor(backoff.next(), cancelled_);  // a cancel ends the wait; the loop then reports it
  }
  Result result = response.transport == http::Transport::Ok ? parse(response.status, response.body)
                                                            : transportFailure<Result>(response);
  counters_.bytes += static_cast<long long>(response.body.size());
  if (result.state != QueryState::Ok && result.state != QueryState::Empty) ++counters_.failures;
  return result;
}

void PrometheusClient::cancelAll() {
  cancelled_ = true;
  client_.cancelAll();
}

InstantResult PrometheusClient::query(const std::string& promql, TimePoint at) {
  const std::string form =
      fmt::format("query={}&time={}", http::urlEncode(promql), at.time_since_epoch().count());
  return execute<InstantResult>("/api/v1/query", form, parseInstantResponse);
}

RangeResult PrometheusClient::queryRange(const std::string& promql, TimePoint start, TimePoint end,
                                         Seconds step) {
  const std::string form =
      fmt::format("query={}&start={}&end={}&step={}", http::urlEncode(promql),
                  start.time_since_epoch().count(), end.time_since_epoch().count(), step.count());
  return execute<RangeResult>("/api/v1/query_range", form, parseRangeResponse);
}

}  // namespace budgetgate::prometheus
