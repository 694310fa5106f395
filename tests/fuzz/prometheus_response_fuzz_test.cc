// Deterministic fuzz runs of the Prometheus HTTP API response parsers (operator/prometheus/
// response_parser): bodies of /api/v1/query and /api/v1/query_range, valid ones mutated (byte
// flips, truncation, spliced tokens, extreme numbers), every field replaced by every JSON type,
// and hand-written hostile bodies, each under the HTTP statuses Prometheus and proxies answer
// with. Properties: nothing throws, every answer is one of the defined states, a failure state
// always says why, and a state of Ok always carries data. A Prometheus that returns NaN, an
// HTML error page or half a body must become a clear state, never a crash or a silent zero.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "operator/prometheus/response_parser.h"
#include "tests/fuzz/fuzz_support.h"

namespace budgetgate::fuzz {
namespace {

using prometheus::QueryState;

constexpr const char* kInstant = R"({"status":"success","data":{"resultType":"vector","result":[
  {"metric":{"__name__":"up","bg_w":"5m","service":"checkout"},"value":[1767225600.123,"12.5"]},
  {"metric":{"bg_w":"1h"},"value":[1767225600,"NaN"]},
  {"metric":{},"value":[1767225600,"+Inf"]}]}})";
constexpr const char* kRange = R"({"status":"success","data":{"resultType":"matrix","result":[
  {"metric":{"bg_q":"0","service":"checkout"},"values":[[1767225600,"1"],[1767229200,"2.5"],
  [1767232800,"-Inf"]]},{"metric":{"bg_q":"1"},"values":[]}]}})";
constexpr const char* kError =
    R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected ']'"})";
constexpr const char* kEmpty = R"({"status":"success","data":{"resultType":"vector","result":[]}})";
constexpr const char* kWarnings =
    R"({"status":"success","warnings":["results truncated"],"data":{"resultType":"scalar",)"
    R"("result":[1767225600,"3"]}})";

constexpr int kStatuses[] = {200, 204, 400, 422, 500, 503, 301};

struct Outcomes {
  int inputs = 0;
  int ok = 0;
  int failures = 0;
};

template <typename Result>
void checkResult(const Result& r, int status, const std::string& body, const char* which,
                 Outcomes& o, bool hasData) {
  ++o.inputs;
  switch (r.state) {
    case QueryState::Ok:
      ++o.ok;
      EXPECT_TRUE(hasData) << which << ": state Ok without data\nstatus " << status
                           << "\ninput: " << printable(body);
      EXPECT_TRUE(status >= 200 && status < 300)
          << which << ": Ok from HTTP " << status << "\ninput: " << printable(body);
      break;
    case QueryState::Empty:
      EXPECT_FALSE(hasData) << which << ": Empty with data";
      EXPECT_TRUE(status >= 200 && status < 300)
          << which << ": Empty from HTTP " << status << "\ninput: " << printable(body);
      break;
    case QueryState::HttpError:
    case QueryState::QueryError:
    case QueryState::BadResponse:
      ++o.failures;
      EXPECT_FALSE(r.error.empty()) << which << ": state " << prometheus::queryStateName(r.state)
                                    << " without a reason\ninput: " << printable(body);
      break;
    case QueryState::Timeout:
    case QueryState::Unreachable:
      // Transport states come from the client, never from a body.
      ADD_FAILURE() << which << ": transport state from a body\ninput: " << printable(body);
      break;
  }
  // A server error is never read as data, whatever its body says.
  if (status >= 500) {
    EXPECT_NE(r.state, QueryState::Ok) << which << ": HTTP " << status << " read as data";
    EXPECT_NE(r.state, QueryState::Empty) << which << ": HTTP " << status << " read as no data";
  }
}

void checkBody(const std::string& body, Outcomes& o) {
  for (const int status : kStatuses) {
    noThrow("parseInstantResponse", body, [&] {
      const auto r = prometheus::parseInstantResponse(status, body);
      checkResult(r, status, body, "instant", o, !r.samples.empty());
    });
    noThrow("parseRangeResponse", body, [&] {
      const auto r = prometheus::parseRangeResponse(status, body);
      checkResult(r, status, body, "range", o, !r.series.empty());
    });
  }
}

TEST(PrometheusResponseFuzz, SeedsParseAsExpected) {
  EXPECT_EQ(prometheus::parseInstantResponse(200, kInstant).state, QueryState::Ok);
  EXPECT_EQ(prometheus::parseRangeResponse(200, kRange).state, QueryState::Ok);
  EXPECT_EQ(prometheus::parseInstantResponse(400, kError).state, QueryState::QueryError);
  EXPECT_EQ(prometheus::parseInstantResponse(200, kEmpty).state, QueryState::Empty);
  // A scalar (e.g. scalar(...) or a plain number) is one sample; warnings do not hide it.
  const auto scalar = prometheus::parseInstantResponse(200, kWarnings);
  ASSERT_EQ(scalar.state, QueryState::Ok) << scalar.error;
  ASSERT_EQ(scalar.samples.size(), 1u);
  EXPECT_EQ(scalar.samples[0].value, 3);
}

TEST(PrometheusResponseFuzz, RandomMutationsOfResponseBodies) {
  Outcomes o;
  Mutator m(0x5eed0101);
  const int rounds = 3000 * scale();
  for (const char* seed : {kInstant, kRange, kError, kEmpty, kWarnings}) {
    for (int i = 0; i < rounds; ++i) checkBody(m.mutate(seed), o);
  }
  EXPECT_GT(o.ok, 0) << "some mutations must still parse";
  EXPECT_GT(o.failures, 0);
  if (verbose()) fmt::print("{} inputs, {} ok, {} failures\n", o.inputs, o.ok, o.failures);
}

TEST(PrometheusResponseFuzz, WrongTypeAtEveryField) {
  Outcomes o;
  for (const char* seed : {kInstant, kRange, kError}) {
    for (const auto& text : wrongTypeVariants(*json::parse(seed, nullptr))) checkBody(text, o);
  }
  EXPECT_GT(o.inputs, 1000);
  EXPECT_GT(o.failures, 0);
}

TEST(PrometheusResponseFuzz, HostileHandWrittenBodies) {
  const std::vector<std::string> bodies = {
      "",
      "<html><body>502 Bad Gateway</body></html>",
      "{",
      std::string(kInstant).substr(0, 90),
      R"({"status":"success"})",
      R"({"status":"success","data":null})",
      R"({"status":"success","data":{"resultType":"vector","result":{}}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["x","1"]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1e999,"1"]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[-1e300,"1"]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1]]}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":"x"}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1e999,"1"]]}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":null},"values":[[1,"1"]]}]}})",
      R"({"status":"error"})",
      R"({"status":"error","error":""})",
      R"({"status":"maybe","data":{"resultType":"vector","result":[]}})",
      std::string(200000, '['),
      "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[" +
          std::string(1, '\0') + "]}}",
  };
  Outcomes o;
  for (const auto& body : bodies) {
    const int before = o.ok;
    checkBody(body, o);
    EXPECT_EQ(o.ok, before) << "read as data: " << printable(body);
  }
}

TEST(PrometheusResponseFuzz, OdditiesAreReadAsPrometheusMeansThem) {
  // No "metric": a series without labels.
  const auto unlabelled = prometheus::parseInstantResponse(
      200, R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"2"]}]}})");
  ASSERT_EQ(unlabelled.state, QueryState::Ok) << unlabelled.error;
  EXPECT_TRUE(unlabelled.samples[0].labels.empty());
  // A value beyond double's range is infinite, as Prometheus would print +Inf.
  const auto huge = prometheus::parseInstantResponse(
      200,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1e999"]}]}})");
  ASSERT_EQ(huge.state, QueryState::Ok) << huge.error;
  EXPECT_TRUE(std::isinf(huge.samples[0].value));
}

}  // namespace
}  // namespace budgetgate::fuzz
