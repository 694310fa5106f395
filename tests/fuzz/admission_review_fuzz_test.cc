// Deterministic property test of the webhook's request path: AdmissionReviews, valid and
// mutated, through parseReview (simdjson) and the AdmissionHandler.
//
// Properties:
// - nothing throws; the handler answers 200 with a v1 response echoing the uid, or 400 with a
//   plain-text reason (never a crash, never an empty answer);
// - simdjson and RapidJSON (which reads everything else in budgetgate) agree on what is JSON:
//   simdjson refuses only what RapidJSON refuses, plus invalid UTF-8 and numbers beyond 64-bit
//   integers or doubles, which the API server never sends;
// - on every review both accept, the fields the gate acts on (uid, operation, namespace, name,
//   user, labels, annotations, dry run, whether spec.template changed, the new template's
//   fingerprint) read the same through both parsers;
// - a review the webhook cannot read fully is never allowed: no request.kind, no namespace,
//   labels or annotations that are not maps of strings get a 400 or allowed: false.

#include <gtest/gtest.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "operator/common/json.h"
#include "tests/fuzz/fuzz_support.h"
#include "webhook/admission/admission_handler.h"
#include "webhook/admission/admission_review.h"
#include "webhook/gate/deployment_view.h"
#include "webhook/gate/pod_template.h"

namespace budgetgate {
namespace {

using namespace fuzz;
using admission::ParsedReview;
using admission::ReviewError;

std::string deployment(const std::string& image, bool reordered) {
  // Same content, members in a different order when `reordered`: the template is unchanged.
  const std::string container =
      reordered
          ? R"({"ports":[{"containerPort":8080,"protocol":"TCP"}],"image":")" + image +
                R"(","name":"web","resources":{"limits":{"cpu":"1"}}})"
          : R"({"name":"web","image":")" + image +
                R"(","ports":[{"containerPort":8080,"protocol":"TCP"}],"resources":{"limits":{"cpu":"1"}}})";
  return R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop",
    "uid":"web-uid","labels":{"app":"web","team":"storefront"},"annotations":{"budgetgate.dev/risk":"high",
    "budgetgate.dev/release-type":"security"}},"spec":{"replicas":3,"selector":{"matchLabels":
    {"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[)" +
         container + R"(],"terminationGracePeriodSeconds":30,"weight":1.5e3}}}})";
}

std::string review(const std::string& operation, const std::string& object,
                   const std::string& oldObject, const std::string& extra = "") {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
    "uid":"705ab4f5-6393-11e8-b7cc-42010a800002","kind":{"group":"apps","version":"v1",
    "kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},
    "name":"web","namespace":"shop","operation":")" +
         operation + R"(","userInfo":{"username":"alice","groups":["sre","system:authenticated"]},
    "dryRun":false)" +
         extra + (object.empty() ? "" : R"(,"object":)" + object) +
         (oldObject.empty() ? "" : R"(,"oldObject":)" + oldObject) + "}}";
}

std::vector<std::string> seeds() {
  const auto v1 = deployment("registry.example/web:1.0", false);
  const auto v2 = deployment("registry.example/web:2.0", false);
  const auto v1Reordered = deployment("registry.example/web:1.0", true);
  return {
      review("UPDATE", v2, v1),           // a rollout
      review("UPDATE", v1Reordered, v1),  // same template, members reordered
      review("CREATE", v1, ""),          review("UPDATE", v1, v1, R"(,"subResource":"scale")"),
      review("DELETE", "", v1),
  };
}

struct Counts {
  long inputs = 0;
  long bothParsed = 0;         // a ParsedReview, compared field by field with RapidJSON
  long refusedByBoth = 0;      // not JSON for either parser
  long refusedBySimdjson = 0;  // RapidJSON accepts, simdjson refuses (UTF-8, huge integers)
  long answered200 = 0;
  long answered400 = 0;
  long unreadableRefused = 0;  // answered 200 with allowed: false
};

// RapidJSON 1.1.0 refuses a zero with a huge exponent (0e999, which is 0) as "Number too big";
// simdjson reads it correctly. The one case where simdjson may accept what RapidJSON refuses.
bool zeroWithHugeExponent(const std::string& text, const std::string& rapidError) {
  const auto at = rapidError.find("offset ");
  if (rapidError.find("Number too big") == std::string::npos || at == std::string::npos) {
    return false;
  }
  std::size_t end = std::stoul(rapidError.substr(at + 7));
  auto numeric = [](char c) {
    return std::string_view("0123456789+-.eE").find(c) != std::string_view::npos;
  };
  std::size_t start = std::min(end, text.size());
  while (start > 0 && numeric(text[start - 1])) --start;
  while (end < text.size() && numeric(text[end])) ++end;
  const std::string number = text.substr(start, end - start);
  const auto e = number.find_first_of("eE");
  return e != std::string::npos &&
         number.substr(0, e).find_first_not_of("-0.") == std::string::npos;
}

// The gate's fields read with RapidJSON, independently of parseReview.
void expectSameReading(const ParsedReview& r, const json::Value& doc, const std::string& input) {
  const auto* req = json::member(&doc, "request");
  const auto& rollout = r.rollout;
  EXPECT_EQ(r.uid, json::stringOr(json::member(req, "uid"))) << printable(input);
  EXPECT_EQ(rollout.ns, json::stringOr(json::member(req, "namespace"))) << printable(input);
  EXPECT_EQ(rollout.dryRun, json::asBool(json::member(req, "dryRun")).value_or(false))
      << printable(input);
  const auto* user = json::member(req, "userInfo");
  EXPECT_EQ(rollout.user.username, json::stringOr(json::member(user, "username")))
      << printable(input);
  std::vector<std::string> groups;
  if (const auto* g = json::member(user, "groups"); g && g->IsArray()) {
    for (const auto& e : g->GetArray()) {
      if (e.IsString()) groups.emplace_back(e.GetString(), e.GetStringLength());
    }
  }
  EXPECT_EQ(rollout.user.groups, groups) << printable(input);
  const auto* object = json::member(req, "object");
  const bool gated = (rollout.operation == gate::Operation::Create ||
                      rollout.operation == gate::Operation::Update) &&
                     rollout.subResource.empty() &&
                     r.reviewed == admission::ReviewedKind::Deployment;
  if (!gated) return;
  // Read only when they are what Kubernetes allows: absent, null, or an object of strings.
  const auto wellFormed = [](const json::Value* map) {
    if (map == nullptr || map->IsNull()) return true;
    if (!map->IsObject()) return false;
    for (const auto& m : map->GetObject()) {
      if (!m.value.IsString()) return false;
    }
    return true;
  };
  EXPECT_TRUE(wellFormed(json::path(object, {"metadata", "labels"}))) << printable(input);
  EXPECT_TRUE(wellFormed(json::path(object, {"metadata", "annotations"}))) << printable(input);
  EXPECT_EQ(rollout.identity.labels,
            gate::readStringMap(json::path(object, {"metadata", "labels"})))
      << printable(input);
  EXPECT_EQ(rollout.annotations,
            gate::readStringMap(json::path(object, {"metadata", "annotations"})))
      << printable(input);
  const auto* newTemplate = json::path(object, {"spec", "template"});
  const json::Value* oldTemplate = nullptr;
  if (rollout.operation == gate::Operation::Update) {
    oldTemplate = json::path(json::member(req, "oldObject"), {"spec", "template"});
    if (oldTemplate != nullptr && !oldTemplate->IsObject()) oldTemplate = nullptr;
  }
  const bool changed = !(newTemplate && oldTemplate && *newTemplate == *oldTemplate);
  const auto change = r.change();
  const bool readAsChanged = change == gate::Change::Created || change == gate::Change::Template ||
                             change == gate::Change::RestartOnly;
  EXPECT_EQ(readAsChanged, changed) << printable(input);
  ASSERT_NE(newTemplate, nullptr);  // parseReview refuses a review without one
  EXPECT_EQ(r.newTemplateFingerprint(), gate::templateFingerprint(*newTemplate))
      << printable(input);
}

class AdmissionReviewFuzz : public ::testing::Test {
 protected:
  // Denials are logged at info: thousands of them would bury the test output.
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::warn); }
  static void TearDownTestSuite() { spdlog::set_level(spdlog::level::info); }

  AdmissionReviewFuzz() : cache_(cache::GateCacheOptions{}) {
    // An exhausted SLO selecting the Deployment, and a ReplicaSet of it: every review that
    // parses goes down the full path (template comparison, fingerprint, denial message).
    cache_.upsertSlo(*json::parse(R"({"metadata":{"namespace":"shop","name":"web-availability",
      "generation":1},"spec":{"gate":{"selector":{"matchLabels":{"app":"web"}}}},
      "status":{"lastEvaluated":"2100-01-01T00:00:00Z","tier":"exhausted","target":0.999,
      "errorBudget":{"remainingPercent":0,"consumedPercent":100}}})",
                                  nullptr));
    cache_.upsertReplicaSet(*json::parse(
        R"({"metadata":{"namespace":"shop","name":"web-1","ownerReferences":[{"kind":"Deployment",
      "apiVersion":"apps/v1","uid":"web-uid","name":"web","controller":true}]},"spec":{"template":{"metadata":{"labels":{"app":"web",
      "pod-template-hash":"1"}},"spec":{"containers":[{"name":"web","image":"registry.example/web:0.9"}]}}}})",
        nullptr));
    cache_.rebuild();
  }

  void check(const std::string& text) {
    ++counts_.inputs;
    if (verbose()) std::cerr << "review: " << printable(text) << '\n';
    noThrow("parseReview", text, [&] {
      ReviewError error;
      auto parsed = admission::parseReview(text, parsers_, &error);
      std::string rapidError;
      const auto rapid = json::parse(text, &rapidError);
      const bool notJson = !parsed && error.message.rfind("request body is not JSON", 0) == 0;
      if (!parsed) {
        EXPECT_FALSE(error.message.empty()) << printable(text);
      }
      if (!notJson) {
        EXPECT_TRUE(rapid.has_value() || zeroWithHugeExponent(text, rapidError))
            << "simdjson accepted what RapidJSON refuses (" << rapidError
            << "): " << printable(text);
      } else if (!rapid) {
        ++counts_.refusedByBoth;
      } else {
        const bool utf8 = simdjson::validate_utf8(text.data(), text.size());
        const bool hugeNumber =
            error.message.find(simdjson::error_message(simdjson::NUMBER_ERROR)) !=
            std::string::npos;
        EXPECT_TRUE(!utf8 || hugeNumber) << "simdjson refused JSON that RapidJSON reads ("
                                         << error.message << "): " << printable(text);
        ++counts_.refusedBySimdjson;
      }
      if (parsed && rapid) {
        ++counts_.bothParsed;
        expectSameReading(*parsed, *rapid, text);
      }
      unreadable_ = !parsed;
    });
    noThrow("AdmissionHandler::handle", text, [&] {
      const auto response = handler_.handle(
          server::HttpRequest{"POST", "/validate/deployments", "application/json", text});
      if (response.status == 400) {
        ++counts_.answered400;
        EXPECT_EQ(response.body.rfind("budgetgate: ", 0), 0u) << response.body;
        return;
      }
      ASSERT_EQ(response.status, 200) << response.body << "\ninput: " << printable(text);
      ++counts_.answered200;
      const auto body = json::parse(response.body, nullptr);
      ASSERT_TRUE(body.has_value()) << response.body;
      const auto* resp = json::member(&*body, "response");
      EXPECT_FALSE(json::stringOr(json::member(resp, "uid")).empty()) << response.body;
      const auto allowed = json::asBool(json::member(resp, "allowed"));
      EXPECT_TRUE(allowed.has_value()) << response.body;
      // What could not be read is never allowed.
      if (unreadable_) {
        EXPECT_EQ(allowed, false) << response.body << "\ninput: " << printable(text);
        ++counts_.unreadableRefused;
      }
    });
  }

  void report() {
    std::cout << "inputs " << counts_.inputs << ", parsed by both " << counts_.bothParsed
              << ", refused by both " << counts_.refusedByBoth << ", refused by simdjson only "
              << counts_.refusedBySimdjson << ", answered 200/400 " << counts_.answered200 << "/"
              << counts_.answered400 << '\n';
  }

  cache::GateCache cache_;
  admission::JsonParserPool parsers_;
  admission::AdmissionHandler handler_{cache_, admission::HandlerOptions{}, nullptr};
  Counts counts_;
  bool unreadable_ = false;
};

TEST_F(AdmissionReviewFuzz, SeedsTakeTheFullPath) {
  const auto all = seeds();
  for (const auto& text : all) check(text);
  ReviewError error;
  auto rollout = admission::parseReview(all[0], parsers_, &error);
  ASSERT_TRUE(rollout.has_value()) << error.message;
  EXPECT_EQ(rollout->change(), gate::Change::Template);
  auto reordered = admission::parseReview(all[1], parsers_, &error);
  ASSERT_TRUE(reordered.has_value()) << error.message;
  EXPECT_EQ(reordered->change(), gate::Change::None);
  const auto denied =
      handler_.handle({"POST", "/validate/deployments", "application/json", all[0]});
  EXPECT_NE(denied.body.find("\"allowed\":false"), std::string::npos) << denied.body;
  EXPECT_EQ(counts_.bothParsed, static_cast<long>(all.size()));
}

TEST_F(AdmissionReviewFuzz, RandomMutations) {
  Mutator m(0x5eed0005);
  const int rounds = 3000 * scale();
  for (const auto& seed : seeds()) {
    for (int i = 0; i < rounds; ++i) check(m.mutate(seed));
  }
  report();
  EXPECT_GT(counts_.bothParsed, 1000);  // the deep paths were reached
  EXPECT_GT(counts_.refusedByBoth, 1000);
  EXPECT_GT(counts_.answered400, 0);
}

TEST_F(AdmissionReviewFuzz, WrongTypeAtEveryField) {
  for (const auto& seed : seeds()) {
    for (const auto& text : wrongTypeVariants(*json::parse(seed, nullptr))) check(text);
  }
  report();
  EXPECT_GT(counts_.inputs, 5000);
  EXPECT_GT(counts_.bothParsed, 1000);
}

// The unreadable reviews that were once answered allowed: true.
TEST_F(AdmissionReviewFuzz, UnreadableReviewsAreNeverAllowed) {
  const auto v2 = deployment("registry.example/web:2.0", false);
  const auto v1 = deployment("registry.example/web:1.0", false);
  auto replace = [](std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? text : text.replace(at, from.size(), to);
  };
  const auto full = review("UPDATE", v2, v1);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no request.kind", replace(full, R"("kind":{"group":"apps","version":"v1",
    "kind":"Deployment"},)",
                                  "")},
      {"no namespace", replace(full, R"("namespace":"shop","operation")", R"("operation")")},
      {"labels as an array", review("UPDATE",
                                    replace(v2, R"("labels":{"app":"web","team":"storefront"})",
                                            R"("labels":["app","web"])"),
                                    v1)},
      {"a label that is not a string",
       review("UPDATE",
              replace(v2, R"("labels":{"app":"web","team":"storefront"})",
                      R"("labels":{"app":"web","team":7})"),
              v1)},
      {"annotations as a string",
       review("CREATE", replace(v2, R"("annotations":{)", R"("annotations":"x","a":{)"), "")},
      {"an UPDATE without oldObject", review("UPDATE", v2, "")},
  };
  for (const auto& [what, text] : cases) {
    const auto response =
        handler_.handle(server::HttpRequest{"POST", "/validate", "application/json", text});
    const auto body = json::parse(response.body, nullptr);
    if (response.status == 400) continue;  // no uid to answer: a plain 400 (the API server fails)
    ASSERT_EQ(response.status, 200) << what;
    ASSERT_TRUE(body.has_value()) << what << ": " << response.body;
    EXPECT_EQ(json::asBool(json::path(&*body, {"response", "allowed"})), false)
        << what << ": " << response.body;
    EXPECT_EQ(json::asInt(json::path(&*body, {"response", "status", "code"})), 400)
        << what << ": " << response.body;
  }
}

TEST_F(AdmissionReviewFuzz, HostileInputs) {
  const std::string seed = seeds()[0];
  const std::vector<std::string> inputs = {
      "",
      std::string(1, '\0'),
      std::string(100000, '['),
      std::string(200, '[') + std::string(200, ']'),
      std::string(201, '[') + std::string(201, ']'),
      "[]",
      "null",
      "\"AdmissionReview\"",
      seed + "x",
      seed + seed,
      seed.substr(0, seed.size() / 2),
      std::string("\xef\xbb\xbf") + seed,
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"\ud800"}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u\u0000"}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"UPDATE","object":{"spec":{"template":{}}},"oldObject":{"spec":{"template":{"a":-0}}}}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"UPDATE","object":{"spec":{"template":{"a":5}}},"oldObject":{"spec":{"template":{"a":5.0}}}}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"UPDATE","object":{"spec":{"template":{"a":1,"a":2}}},"oldObject":{"spec":{"template":{"a":1,"b":2}}}}})",
  };
  for (const auto& text : inputs) check(text);
  report();
}

}  // namespace
}  // namespace budgetgate
