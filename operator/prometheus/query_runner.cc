#include "operator/prometheus/query_runner.h"

#include <algorithm>
#include <mutex>

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

namespace {

// Files one job's answer. Called under the fetch's lock, as each answer arrives, so that only
// the answers in flight are ever held (a 30-day bucket range for thousands of series is tens
// of megabytes parsed).
class AnswerFiler {
 public:
  AnswerFiler(const std::vector<QuantityNeed>& needs, BucketStore& buckets, TimePoint syncedAt,
              Fetched& out, FetchReport& report)
      : needs_(needs), buckets_(buckets), syncedAt_(syncedAt), out_(out), report_(report) {}

  void instant(const FetchJob& job, const InstantResult& r, std::size_t index) {
    ++report_.instantQueries;
    const auto& unit = *job.instant;
    if (failed(r, index)) {
      for (auto need : unit.demux.needs) {
        for (const auto& w : unit.windows) {
          if (needs_[need].windows.count(w))
            out_.fail(need, w, failedMeasurement(r.state, r.error));
        }
      }
      return;
    }
    for (const auto& sample : r.samples) {
      auto need = needFor(unit.demux, sample.labels);
      auto w = sample.labels.find(kWindowLabel);
      if (!need || w == sample.labels.end()) continue;
      out_.record(*need, w->second, job.from, sample.value);
    }
  }

  void timeline(const FetchJob& job, const RangeResult& r, std::size_t index) {
    ++report_.rangeQueries;
    const auto& unit = *job.instant;
    if (failed(r, index)) {
      for (auto need : unit.demux.needs) {
        for (const auto& w : unit.windows) out_.fail(need, w, failedMeasurement(r.state, r.error));
      }
      return;
    }
    for (const auto& series : r.series) {
      auto need = needFor(unit.demux, series.labels);
      auto w = series.labels.find(kWindowLabel);
      if (!need || w == series.labels.end()) continue;
      for (const auto& [t, v] : series.points) out_.record(*need, w->second, t, v);
    }
  }

  void buckets(const FetchJob& job, const RangeResult& r, std::size_t index) {
    ++report_.rangeQueries;
    const auto& unit = *job.buckets;
    if (failed(r, index)) {
      for (auto need : unit.demux.needs)
        out_.failBuckets(need, failedMeasurement(r.state, r.error));
      return;
    }
    std::map<std::size_t, const Series*> seriesFor;
    for (const auto& series : r.series) {
      if (auto need = needFor(unit.demux, series.labels)) seriesFor[*need] = &series;
    }
    static const std::vector<std::pair<TimePoint, double>> kNone;
    for (auto need : unit.demux.needs) {
      auto it = seriesFor.find(need);
      buckets_.store(needs_[need].quantity.key(), unit.from, unit.to,
                     it == seriesFor.end() ? kNone : it->second->points, unit.fullSync, syncedAt_);
    }
  }

 private:
  // The report names the failure of the first job (in plan order), whatever order they end in.
  template <typename Result>
  bool failed(const Result& r, std::size_t index) {
    if (r.state == QueryState::Ok || r.state == QueryState::Empty) return false;
    ++report_.failedQueries;
    if (index < firstFailureIndex_) {
      firstFailureIndex_ = index;
      report_.firstFailure = std::string(queryStateName(r.state)) + ": " + r.error;
    }
    return true;
  }

  const std::vector<QuantityNeed>& needs_;
  BucketStore& buckets_;
  TimePoint syncedAt_;
  Fetched& out_;
  FetchReport& report_;
  std::size_t firstFailureIndex_ = static_cast<std::size_t>(-1);
};

}  // namespace

FetchReport fetch(PrometheusApi& api, std::size_t concurrency, const std::vector<FetchJob>& jobs,
                  const std::vector<QuantityNeed>& needs, BucketStore& buckets, TimePoint syncedAt,
                  Fetched& out) {
  FetchReport report;
  AnswerFiler filer(needs, buckets, syncedAt, out, report);
  std::mutex filing;
  runBounded(jobs.size(), concurrency, [&](std::size_t i) {
    const auto& job = jobs[i];
    switch (job.kind) {
      case FetchJob::Kind::Instant: {
        const auto r = api.query(job.instant->promql, job.from);
        std::lock_guard lock(filing);
        filer.instant(job, r, i);
        break;
      }
      case FetchJob::Kind::Timeline: {
        const auto r = api.queryRange(job.instant->promql, job.from, job.to, job.step);
        std::lock_guard lock(filing);
        filer.timeline(job, r, i);
        break;
      }
      case FetchJob::Kind::Buckets: {
        const auto r = api.queryRange(job.buckets->promql, job.buckets->from, job.buckets->to,
                                      buckets.bucket());
        std::lock_guard lock(filing);
        filer.buckets(job, r, i);
        break;
      }
    }
  });
  return report;
}

}  // namespace budgetgate::prometheus
