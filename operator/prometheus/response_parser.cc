#include "operator/prometheus/response_parser.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "operator/common/json.h"

namespace budgetgate::prometheus {
namespace {

using json::Value;

std::string_view queryStateNames[] = {"ok",      "empty",       "http-error", "query-error",
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
bool parsePoint(const Value& p, TimePoint& t, double& value) {
  if (!p.IsArray() || p.Size() != 2 || !p[0].IsNumber()) return false;
  t = TimePoint(Seconds(static_cast<long long>(std::llround(p[0].GetDouble()))));
  return parseSampleValue(p[1], value);
}

SeriesLabels parseLabels(const Value* metric) {
  SeriesLabels labels;
  if (metric == nullptr || !metric->IsObject()) return labels;
  for (const auto& m : metric->GetObject()) {
    if (m.value.IsString()) labels.emplace(m.name.GetString(), m.value.GetString());
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

std::string_view queryStateName(QueryState s) { return queryStateNames[static_cast<int>(s)]; }

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
    s.labels = parseLabels(json::member(&item, "metric"));
    r.samples.push_back(std::move(s));
  }
  if (r.samples.empty()) r.state = QueryState::Empty;
  return r;
}

RangeResult parseRangeResponse(int httpStatus, std::string_view body) {
  RangeResult r;
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
  if (type != "matrix" || result == nullptr || !result->IsArray()) {
    r.state = QueryState::BadResponse;
    r.error = fmt::format("expected a matrix result, got \"{}\"", type);
    return r;
  }
  for (const auto& item : result->GetArray()) {
    Series series;
    series.labels = parseLabels(json::member(&item, "metric"));
    const auto* values = json::member(&item, "values");
    if (values == nullptr || !values->IsArray()) {
      r.state = QueryState::BadResponse;
      r.error = "malformed series in matrix result";
      r.series.clear();
      return r;
    }
    series.points.reserve(values->Size());
    for (const auto& p : values->GetArray()) {
      TimePoint t;
      double v = 0;
      if (!parsePoint(p, t, v)) {
        r.state = QueryState::BadResponse;
        r.error = "malformed point in matrix result";
        r.series.clear();
        return r;
      }
      series.points.emplace_back(t, v);
    }
    r.series.push_back(std::move(series));
  }
  if (r.series.empty()) r.state = QueryState::Empty;
  return r;
}

}  // namespace budgetgate::prometheus
