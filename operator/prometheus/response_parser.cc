#include "operator/prometheus/response_parser.h"

#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

#include "operator/common/json.h"

namespace budgetgate::prometheus {
namespace {

using json::Value;

std::string_view queryStateNames[] = {"ok",      "empty",       "http-error",  "query-error",
                                      "timeout", "unreachable", "bad-response"};

// Sample values are strings: "1.5", "NaN", "+Inf", "-Inf".
bool parseSampleValue(const Value& v, double& out) {
  if (!v.IsString()) return false;
  const std::string_view s(v.GetString(), v.GetStringLength());
  if (s == "NaN") {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (s == "+Inf" || s == "Inf") {
    out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == "-Inf") {
    out = -std::numeric_limits<double>::infinity();
    return true;
  }
  char* end = nullptr;
  const std::string copy(s);
  out = std::strtod(copy.c_str(), &end);
  return !copy.empty() && end == copy.c_str() + copy.size();
}

// [ <unix seconds as number>, "<value>" ]
// A sample's Unix time in seconds; nothing outside +-3,000 years (an infinite or absurd time
// would otherwise be rounded to an arbitrary instant).
std::optional<TimePoint> timestampOf(double seconds) {
  constexpr double kLimit = 1e11;
  if (!std::isfinite(seconds) || seconds > kLimit || seconds < -kLimit) return std::nullopt;
  return TimePoint(Seconds(static_cast<long long>(std::llround(seconds))));
}

bool parsePoint(const Value& p, TimePoint& t, double& value) {
  if (!p.IsArray() || p.Size() != 2 || !p[0].IsNumber()) return false;
  const auto time = timestampOf(p[0].GetDouble());
  if (!time) return false;
  t = *time;
  return parseSampleValue(p[1], value);
}

// Label values are strings; anything else is not Prometheus talking (and dropping such a label
// could make two series look like one). A missing "metric" is a series without labels.
std::optional<SeriesLabels> parseLabels(const Value* metric) {
  SeriesLabels labels;
  if (metric == nullptr) return labels;
  if (!metric->IsObject()) return std::nullopt;
  for (const auto& m : metric->GetObject()) {
    if (!m.value.IsString()) return std::nullopt;
    labels.emplace(m.name.GetString(), m.value.GetString());
  }
  return labels;
}

struct Envelope {
  QueryState state = QueryState::Ok;
  std::string error;
  const Value* data = nullptr;
};

// Checks HTTP status and the {"status": ..., "data": ...} envelope.
Envelope readEnvelope(int httpStatus, const json::Document& doc, bool parsed,
                      const std::string& parseError) {
  Envelope e;
  if (!parsed || !doc.IsObject()) {
    if (httpStatus < 200 || httpStatus >= 300) {
      e.state = QueryState::HttpError;
      e.error = fmt::format("HTTP {}", httpStatus);
    } else {
      e.state = QueryState::BadResponse;
      e.error = parsed ? std::string("response is not a JSON object") : parseError;
    }
    return e;
  }
  const auto status = json::asString(json::member(&doc, "status"));
  if (status == "error" || httpStatus == 400 || httpStatus == 422) {
    e.state = (httpStatus == 400 || httpStatus == 422 || httpStatus < 300) ? QueryState::QueryError
                                                                           : QueryState::HttpError;
    e.error = fmt::format("{}: {}", json::stringOr(json::member(&doc, "errorType"), "error"),
                          json::stringOr(json::member(&doc, "error"), "unknown"));
    if (e.state == QueryState::HttpError) e.error = fmt::format("HTTP {}: {}", httpStatus, e.error);
    return e;
  }
  if (httpStatus < 200 || httpStatus >= 300) {
    e.state = QueryState::HttpError;
    e.error = fmt::format("HTTP {}", httpStatus);
    return e;
  }
  if (status != "success") {
    e.state = QueryState::BadResponse;
    e.error = "response has no \"status\": \"success\"";
    return e;
  }
  e.data = json::member(&doc, "data");
  if (e.data == nullptr || !e.data->IsObject()) {
    e.state = QueryState::BadResponse;
    e.error = "response has no data object";
  }
  return e;
}

}  // namespace

std::string_view queryStateName(QueryState s) {
  return queryStateNames[static_cast<int>(s)];
}

bool isTransportFailure(QueryState s) {
  return s != QueryState::Ok && s != QueryState::Empty && s != QueryState::QueryError;
}

InstantResult parseInstantResponse(int httpStatus, std::string_view body) {
  InstantResult r;
  std::string parseError;
  auto doc = json::parse(body, &parseError);
  const json::Document empty;
  const auto env = readEnvelope(httpStatus, doc ? *doc : empty, doc.has_value(), parseError);
  if (env.state != QueryState::Ok) {
    r.state = env.state;
    r.error = env.error;
    return r;
  }
  const auto type = json::stringOr(json::member(env.data, "resultType"));
  const auto* result = json::member(env.data, "result");
  if (type == "scalar") {
    Sample s;
    TimePoint t;
    if (result == nullptr || !parsePoint(*result, t, s.value)) {
      r.state = QueryState::BadResponse;
      r.error = "malformed scalar result";
      return r;
    }
    r.samples.push_back(std::move(s));
    return r;
  }
  if (type != "vector" || result == nullptr || !result->IsArray()) {
    r.state = QueryState::BadResponse;
    r.error = fmt::format("expected a vector result, got \"{}\"", type);
    return r;
  }
  for (const auto& item : result->GetArray()) {
    Sample s;
    TimePoint t;
    const auto* value = json::member(&item, "value");
    if (value == nullptr || !parsePoint(*value, t, s.value)) {
      r.state = QueryState::BadResponse;
      r.error = "malformed sample in vector result";
      r.samples.clear();
      return r;
    }
    auto labels = parseLabels(json::member(&item, "metric"));
    if (!labels) {
      r.state = QueryState::BadResponse;
      r.error = "malformed labels in vector result";
      r.samples.clear();
      return r;
    }
    s.labels = std::move(*labels);
    r.samples.push_back(std::move(s));
  }
  if (r.samples.empty()) r.state = QueryState::Empty;
  return r;
}

namespace {

// Streaming reader for matrix results. A 30-day range for 1,000 series is tens of megabytes of
// JSON; building a DOM for it would need several times that, so points go straight into the
// result as they are read.
class MatrixHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, MatrixHandler> {
 public:
  RangeResult result;
  std::string status, errorType, error, resultType;

  bool StartObject() {
    push(Frame::Object);
    if (inResultItem()) result.series.emplace_back();
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return pop(); }
  bool StartArray() {
    push(Frame::Array);
    if (inValuesPoint()) {
      pointTime_.reset();
      pointValue_.reset();
    }
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    if (inValuesPoint()) {
      if (!pointTime_ || !pointValue_ || result.series.empty())
        return fail("malformed point in matrix result");
      result.series.back().points.emplace_back(*pointTime_, *pointValue_);
    }
    return pop();
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    stack_.back().key.assign(s, n);
    return true;
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    const std::string_view v(s, n);
    if (misplacedScalar()) return fail("malformed series in matrix result");
    if (depth() == 1) {
      const auto& k = stack_.back().key;
      if (k == "status") status = v;
      if (k == "errorType") errorType = v;
      if (k == "error") error = v;
    } else if (depth() == 2 && parentKey(0) == "data" && stack_.back().key == "resultType") {
      resultType = v;
    } else if (inMetric()) {
      if (!result.series.empty()) result.series.back().labels.emplace(stack_.back().key, v);
    } else if (inValuesPoint() && stack_.back().index == 1) {
      double value = 0;
      rapidjson::Value tmp(s, n);
      if (!parseSampleValue(tmp, value)) return fail("malformed sample value in matrix result");
      pointValue_ = value;
    }
    advance();
    return true;
  }
  bool Double(double d) { return number(d); }
  bool Int(int i) { return number(i); }
  bool Uint(unsigned u) { return number(u); }
  bool Int64(std::int64_t i) { return number(static_cast<double>(i)); }
  bool Uint64(std::uint64_t u) { return number(static_cast<double>(u)); }
  bool Null() { return scalar(); }
  bool Bool(bool) { return scalar(); }

  const std::string& failure() const { return failure_; }

 private:
  struct Frame {
    enum Kind { Object, Array } kind;
    std::string key;        // objects: the current key
    std::size_t index = 0;  // arrays: the current element
  };
  void push(Frame::Kind k) {
    if (!stack_.empty() && stack_.back().kind == Frame::Array) {
      // The new container is an element of the enclosing array; its index is already set.
    }
    stack_.push_back({k, {}, 0});
  }
  bool pop() {
    stack_.pop_back();
    advance();
    return true;
  }
  void advance() {
    if (!stack_.empty() && stack_.back().kind == Frame::Array) ++stack_.back().index;
  }
  std::size_t depth() const { return stack_.size(); }
  const std::string& parentKey(std::size_t i) const { return stack_[i].key; }
  // {"data": {"result": [ {...} ]}}: stack = obj(data) obj(result) arr item
  bool inResultItem() const {
    return depth() == 4 && stack_[0].key == "data" && stack_[1].key == "result" &&
           stack_[2].kind == Frame::Array;
  }
  bool inMetric() const {
    return depth() == 5 && stack_[0].key == "data" && stack_[1].key == "result" &&
           stack_[3].key == "metric" && stack_[4].kind == Frame::Object;
  }
  // A series' "metric" must be an object and its "values" an array.
  bool misplacedScalar() const {
    return inResultItem() && (stack_.back().key == "metric" || stack_.back().key == "values");
  }
  bool inValuesPoint() const {
    return depth() == 6 && stack_[0].key == "data" && stack_[1].key == "result" &&
           stack_[3].key == "values" && stack_[4].kind == Frame::Array &&
           stack_[5].kind == Frame::Array;
  }
  bool number(double d) {
    if (inValuesPoint() && stack_.back().index == 0) {
      pointTime_ = timestampOf(d);
      if (!pointTime_) return fail("malformed timestamp in matrix result");
    }
    return scalar();
  }
  bool scalar() {
    if (inMetric()) return fail("malformed labels in matrix result");
    if (misplacedScalar()) return fail("malformed series in matrix result");
    advance();
    return true;
  }
  bool fail(std::string why) {
    failure_ = std::move(why);
    return false;
  }

  std::vector<Frame> stack_;
  std::optional<TimePoint> pointTime_;
  std::optional<double> pointValue_;
  std::string failure_;
};

}  // namespace

RangeResult parseRangeResponse(int httpStatus, std::string_view body) {
  if (json::nestingDepth(body) > json::kMaxNestingDepth) {
    return {QueryState::BadResponse, "response nested too deeply", {}};
  }
  MatrixHandler handler;
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(body.data(), body.size());
  const auto ok = reader.Parse<rapidjson::kParseIterativeFlag>(stream, handler);
  RangeResult r;
  if (!ok) {
    if (httpStatus < 200 || httpStatus >= 300) {
      return {QueryState::HttpError, fmt::format("HTTP {}", httpStatus), {}};
    }
    return {QueryState::BadResponse,
            handler.failure().empty() ? fmt::format("invalid JSON at offset {}: {}", ok.Offset(),
                                                    rapidjson::GetParseError_En(ok.Code()))
                                      : handler.failure(),
            {}};
  }
  if (handler.status == "error" || httpStatus == 400 || httpStatus == 422) {
    const bool query = httpStatus == 400 || httpStatus == 422 || httpStatus < 300;
    r.state = query ? QueryState::QueryError : QueryState::HttpError;
    r.error = fmt::format("{}: {}", handler.errorType.empty() ? "error" : handler.errorType,
                          handler.error.empty() ? "unknown" : handler.error);
    if (!query) r.error = fmt::format("HTTP {}: {}", httpStatus, r.error);
    return r;
  }
  if (httpStatus < 200 || httpStatus >= 300)
    return {QueryState::HttpError, fmt::format("HTTP {}", httpStatus), {}};
  if (handler.status != "success")
    return {QueryState::BadResponse, "response has no \"status\": \"success\"", {}};
  if (handler.resultType != "matrix") {
    return {QueryState::BadResponse,
            fmt::format("expected a matrix result, got \"{}\"", handler.resultType),
            {}};
  }
  r.series = std::move(handler.result.series);
  if (r.series.empty()) r.state = QueryState::Empty;
  return r;
}

}  // namespace budgetgate::prometheus
