#pragma once
// PrometheusApi over HTTP: POSTs form-encoded queries (long shared queries do not fit in a
// URL), retries transport failures and 5xx/429 with exponential backoff, and counts what it
// does for /metrics and the benchmark.

#include <atomic>
#include <chrono>
#include <memory>

#include "operator/http/http_client.h"
#include "operator/prometheus/prometheus_api.h"

namespace budgetgate::prometheus {

struct ClientConfig {
  http::ClientOptions http;  // baseUrl, timeout, TLS, auth
  int retries = 2;           // extra attempts after the first
  std::chrono::milliseconds backoff{250};
};

struct ClientCounters {
  std::atomic<long long> queries{0};   // logical queries (instant + range)
  std::atomic<long long> attempts{0};  // HTTP requests including retries
  std::atomic<long long> failures{0};  // queries that ended in a non-Ok/Empty state
  std::atomic<long long> bytes{0};     // response bytes
};

class PrometheusClient final : public PrometheusApi {
 public:
  explicit PrometheusClient(ClientConfig config);
  InstantResult query(const std::string& promql, TimePoint at) override;
  RangeResult queryRange(const std::string& promql, TimePoint start, TimePoint end,
                         Seconds step) override;
  void cancelAll() override;
  const ClientCounters& counters() const { return counters_; }
  const std::string& url() const { return config_.http.baseUrl; }

 private:
  template <typename Result, typename Parse>
  Result execute(const std::string& path, const std::string& form, Parse parse);

  ClientConfig config_;
  http::Client client_;
  ClientCounters counters_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace budgetgate::prometheus
