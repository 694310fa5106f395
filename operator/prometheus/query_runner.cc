#include "operator/prometheus/query_runner.h"

#include <algorithm>
#include <mutex>
#include <variant>

#include "operator/common/bounded_parallel.h"

namespace budgetgate::prometheus {

status::Measurement failedMeasurement(QueryState state, const std::string& error) {
  return status::Measurement::failed(std::string(queryStateName(state)), isTransportFailure(state),
                                     error);
}

std::optional<std::size_t> needFor(const Demux& demux, const SeriesLabels& labels) {
  std::optional<std::size_t> need;
  if (!demux.pivotLabel.empty()) {
    auto it = labels.find(demux.pivotLabel);
    if (it == labels.end()) return std::nullopt;
    auto found = demux.byPivot.find(it->second);
    if (found == demux.byPivot.end()) return std::nullopt;
    need = found->second;
  } else {
    auto it = labels.find(kQuantityLabel);
    if (it == labels.end() || it->second.empty() ||
        !std::all_of(it->second.begin(), it->second.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) ||
        it->second.size() > 9) {
      return std::nullopt;
    }
    need = static_cast<std::size_t>(std::stoul(it->second));
  }
  // Only needs this query was planned for: anything else in an answer is ignored.
  if (std::find(demux.needs.begin(), demux.needs.end(), *need) == demux.needs.end()) {
    return std::nullopt;
  }
  return need;
}

void Fetched::record(std::size_t need, const std::string& window, TimePoint at, double value) {
  if (need < byNeed_.size()) byNeed_[need][window].values[at] = value;
}

void Fetched::fail(std::size_t need, const std::string& window,
                   const status::Measurement& failure) {
  if (need < byNeed_.size()) byNeed_[need][window].failure = failure;
}

void Fetched::failBuckets(std::size_t need, const status::Measurement& failure) {
  bucketFailures_[need] = failure;
}

status::Measurement Fetched::at(std::size_t need, const std::string& window, TimePoint at) const {
  if (need >= byNeed_.size()) return {};
  const auto& m = byNeed_[need];
  auto it = m.find(window);
  if (it == m.end()) return {};
  if (it->second.failure) return *it->second.failure;
  auto v = it->second.values.find(at);
  return v == it->second.values.end() ? status::Measurement{} : status::Measurement::of(v->second);
}

const status::Measurement* Fetched::bucketFailure(std::size_t need) const {
  auto it = bucketFailures_.find(need);
  return it == bucketFailures_.end() ? nullptr : &it->second;
}

FetchReport fetch(PrometheusApi& api, std::size_t concurrency, const std::vector<FetchJob>& jobs,
                  const std::vector<QuantityNeed>& needs, BucketStore& buckets, TimePoint syncedAt,
                  Fetched& out) {
  FetchReport report;
  std::vector<std::variant<InstantResult, RangeResult>> results(jobs.size());
  runBounded(jobs.size(), concurrency, [&](std::size_t i) {
    const auto& job = jobs[i];
    switch (job.kind) {
      case FetchJob::Kind::Instant:
        results[i] = api.query(job.instant->promql, job.from);
        break;
      case FetchJob::Kind::Timeline:
        results[i] = api.queryRange(job.instant->promql, job.from, job.to, job.step);
        break;
      case FetchJob::Kind::Buckets:
        results[i] = api.queryRange(job.buckets->promql, job.buckets->from, job.buckets->to,
                                    buckets.bucket());
        break;
    }
  });
  const auto failedState = [&](const auto& r) {
    const bool failed = r.state != QueryState::Ok && r.state != QueryState::Empty;
    if (failed && report.firstFailure.empty()) {
      report.firstFailure = std::string(queryStateName(r.state)) + ": " + r.error;
    }
    return failed;
  };
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& job = jobs[i];
    if (job.kind == FetchJob::Kind::Instant) {
      ++report.instantQueries;
      const auto& r = std::get<InstantResult>(results[i]);
      const auto& unit = *job.instant;
      if (failedState(r)) {
        ++report.failedQueries;
        for (auto need : unit.demux.needs) {
          for (const auto& w : unit.windows) {
            if (needs[need].windows.count(w))
              out.fail(need, w, failedMeasurement(r.state, r.error));
          }
        }
        continue;
      }
      for (const auto& sample : r.samples) {
        auto need = needFor(unit.demux, sample.labels);
        auto w = sample.labels.find(kWindowLabel);
        if (!need || w == sample.labels.end()) continue;
        out.record(*need, w->second, job.from, sample.value);
      }
    } else if (job.kind == FetchJob::Kind::Timeline) {
      ++report.rangeQueries;
      const auto& r = std::get<RangeResult>(results[i]);
      const auto& unit = *job.instant;
      if (failedState(r)) {
        ++report.failedQueries;
        for (auto need : unit.demux.needs) {
          for (const auto& w : unit.windows) out.fail(need, w, failedMeasurement(r.state, r.error));
        }
        continue;
      }
      for (const auto& series : r.series) {
        auto need = needFor(unit.demux, series.labels);
        auto w = series.labels.find(kWindowLabel);
        if (!need || w == series.labels.end()) continue;
        for (const auto& [t, v] : series.points) out.record(*need, w->second, t, v);
      }
    } else {
      ++report.rangeQueries;
      const auto& r = std::get<RangeResult>(results[i]);
      const auto& unit = *job.buckets;
      if (failedState(r)) {
        ++report.failedQueries;
        for (auto need : unit.demux.needs)
          out.failBuckets(need, failedMeasurement(r.state, r.error));
        continue;
      }
      std::map<std::size_t, const Series*> seriesFor;
      for (const auto& series : r.series) {
        if (auto need = needFor(unit.demux, series.labels)) seriesFor[*need] = &series;
      }
      for (auto need : unit.demux.needs) {
        static const std::vector<std::pair<TimePoint, double>> kNone;
        auto it = seriesFor.find(need);
        buckets.store(needs[need].quantity.key(), unit.from, unit.to,
                      it == seriesFor.end() ? kNone : it->second->points, unit.fullSync, syncedAt);
      }
    }
  }
  return report;
}

}  // namespace budgetgate::prometheus
