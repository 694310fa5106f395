#include "operator/metrics/registry.h"

#include <fmt/format.h>

#include <cmath>
#include <string_view>
#include <utility>

namespace budgetgate::metrics {
namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

const char* typeName(Registry::Type t) {
  switch (t) {
    case Registry::Type::Gauge:
      return "gauge";
    case Registry::Type::Counter:
      return "counter";
    case Registry::Type::Histogram:
      return "histogram";
  }
  return "untyped";
}

// Whether a rendered label set holds k="v". Inside a rendered value every quote is escaped,
// so `k="` preceded by `{` or `,` only ever starts a label.
bool hasLabel(std::string_view rendered, const std::string& k, const std::string& v) {
  const std::string wanted = k + "=\"" + escape(v) + "\"";
  for (auto at = rendered.find(wanted); at != std::string_view::npos;
       at = rendered.find(wanted, at + 1)) {
    const auto end = at + wanted.size();
    if (at > 0 && (rendered[at - 1] == '{' || rendered[at - 1] == ',') && end < rendered.size() &&
        (rendered[end] == ',' || rendered[end] == '}')) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string renderLabels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + escape(v) + "\"";
  }
  return out + "}";
}

std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

Histogram::Histogram(std::vector<double> upperBounds)
    : bounds_(std::move(upperBounds)), buckets_(bounds_.size() + 1) {}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (value > 0 && std::isfinite(value)) {
    sumMicros_.fetch_add(static_cast<std::uint64_t>(value * 1e6), std::memory_order_relaxed);
  }
}

void Histogram::render(std::string& out, const std::string& name, const Labels& labels) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    Labels l = labels;
    l["le"] = i < bounds_.size() ? formatValue(bounds_[i]) : "+Inf";
    out += fmt::format("{}_bucket{} {}\n", name, renderLabels(l), cumulative);
  }
  out += fmt::format("{}_sum{} {}\n", name, renderLabels(labels),
                     formatValue(static_cast<double>(sumMicros_.load()) / 1e6));
  out += fmt::format("{}_count{} {}\n", name, renderLabels(labels), cumulative);
}

void Registry::describe(const std::string& name, Type type, const std::string& help) {
  std::lock_guard lock(mutex_);
  auto& f = families_[name];
  f.type = type;
  f.help = help;
}

void Registry::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  families_[name].series[renderLabels(labels)] = value;
}

void Registry::add(const std::string& name, const Labels& labels, double delta) {
  std::lock_guard lock(mutex_);
  families_[name].series[renderLabels(labels)] += delta;
}

void Registry::removeSeriesWith(const Labels& match) {
  std::lock_guard lock(mutex_);
  for (auto& [name, family] : families_) {
    std::erase_if(family.series, [&](const auto& entry) {
      for (const auto& [k, v] : match) {
        if (!hasLabel(entry.first, k, v)) return false;
      }
      return true;
    });
  }
}

Registration::Registration(Registration&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), id_(std::exchange(other.id_, 0)) {}

Registration& Registration::operator=(Registration&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

Registration::~Registration() {
  reset();
}

void Registration::reset() {
  if (registry_ != nullptr) registry_->unregister(id_);
  registry_ = nullptr;
  id_ = 0;
}

Registration Registry::addSource(const std::string& name, Source source) {
  std::lock_guard lock(mutex_);
  const auto id = nextId_++;
  families_[name].sources.emplace(id, std::move(source));
  return Registration(this, id);
}

void Registry::unregister(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  for (auto& [name, family] : families_) {
    if (family.sources.erase(id) != 0) return;
  }
}

Registration Registry::observe(const std::string& name, Labels labels,
                               std::function<double()> read) {
  Source s;
  s.labels = std::move(labels);
  s.read = std::move(read);
  return addSource(name, std::move(s));
}

Registration Registry::collect(const std::string& name,
                               std::function<void(std::vector<Sample>&)> collect) {
  Source s;
  s.collect = std::move(collect);
  return addSource(name, std::move(s));
}

Registration Registry::histogram(const std::string& name, Labels labels,
                                 const Histogram& histogram) {
  Source s;
  s.labels = std::move(labels);
  s.histogram = &histogram;
  return addSource(name, std::move(s));
}

std::string Registry::render() const {
  std::string out;
  std::vector<Sample> samples;
  // Under the lock, callbacks included: a Registration destroyed meanwhile waits for this render
  // to finish, so a callback never outlives what it reads.
  std::lock_guard lock(mutex_);
  for (const auto& [name, f] : families_) {
    out += f.help.empty() ? fmt::format("# HELP {}\n", name)
                          : fmt::format("# HELP {} {}\n", name, f.help);
    out += fmt::format("# TYPE {} {}\n", name, typeName(f.type));
    for (const auto& [labels, value] : f.series) {
      out += fmt::format("{}{} {}\n", name, labels, formatValue(value));
    }
    for (const auto& [id, source] : f.sources) {
      if (source.histogram != nullptr) {
        source.histogram->render(out, name, source.labels);
      } else if (source.read) {
        out +=
            fmt::format("{}{} {}\n", name, renderLabels(source.labels), formatValue(source.read()));
      } else if (source.collect) {
        samples.clear();
        source.collect(samples);
        for (const auto& s : samples) {
          out += fmt::format("{}{} {}\n", name, renderLabels(s.labels), formatValue(s.value));
        }
      }
    }
  }
  return out;
}

Labels SeriesLabels::update(const Labels& key, const Labels& extra) {
  Labels labels = key;
  for (const auto& [k, v] : extra) labels[k] = v;
  auto [it, inserted] = last_.try_emplace(key, labels);
  if (!inserted && it->second != labels) {
    registry_.removeSeriesWith(key);
    it->second = labels;
  }
  return labels;
}

void SeriesLabels::forget(const Labels& key) {
  last_.erase(key);
  registry_.removeSeriesWith(key);
}

}  // namespace budgetgate::metrics
