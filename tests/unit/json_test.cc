#include "operator/common/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "operator/common/yaml_json.h"

namespace budgetgate {
namespace {

json::Document parseOrDie(std::string_view text) {
  std::string error;
  auto doc = json::parse(text, &error);
  EXPECT_TRUE(doc.has_value()) << error;
  return doc ? std::move(*doc) : json::Document();
}

TEST(JsonLookup, NeverThrowsOnWrongTypes) {
  const auto doc = parseOrDie(R"({"a": {"b": {"c": 7}}, "s": "text", "n": 1.5, "arr": [1]})");
  EXPECT_EQ(json::asInt(json::path(&doc, {"a", "b", "c"})), 7);
  EXPECT_EQ(json::path(&doc, {"a", "x", "c"}), nullptr);
  EXPECT_EQ(json::path(&doc, {"s", "b"}), nullptr);  // a string has no members
  EXPECT_EQ(json::member(nullptr, "a"), nullptr);
  EXPECT_EQ(json::member(json::member(&doc, "arr"), "0"), nullptr);
  EXPECT_EQ(json::asString(json::member(&doc, "s")), "text");
  EXPECT_FALSE(json::asString(json::member(&doc, "n")).has_value());
  EXPECT_FALSE(json::asNumber(json::member(&doc, "s")).has_value());
  EXPECT_DOUBLE_EQ(*json::asNumber(json::member(&doc, "n")), 1.5);
  EXPECT_FALSE(json::asInt(json::member(&doc, "n")).has_value());  // 1.5 is not an integer
  EXPECT_FALSE(json::asBool(json::member(&doc, "n")).has_value());
  EXPECT_EQ(json::stringOr(json::member(&doc, "n"), "fallback"), "fallback");
  EXPECT_EQ(json::stringOr(json::member(&doc, "s"), "fallback"), "text");
}

TEST(JsonLookup, IntegersOutsideInt64AreRejected) {
  const auto doc = parseOrDie(R"({"big": 18446744073709551615, "max": 9223372036854775807,
                                  "neg": -9223372036854775808})");
  EXPECT_FALSE(json::asInt(json::member(&doc, "big")).has_value());
  EXPECT_EQ(json::asInt(json::member(&doc, "max")), std::numeric_limits<long long>::max());
  EXPECT_EQ(json::asInt(json::member(&doc, "neg")), std::numeric_limits<long long>::min());
}

TEST(JsonTidy, PrintsFiguresAsPeopleExpect) {
  EXPECT_EQ(json::tidy(1.0 - 0.999), 0.001);
  EXPECT_EQ(json::tidy(0.1 + 0.2), 0.3);
  EXPECT_EQ(json::tidy(43.199999999999996), 43.2);
  EXPECT_EQ(json::tidy(std::nan("")), 0.0);
  EXPECT_EQ(json::tidy(std::numeric_limits<double>::infinity()), 0.0);
  EXPECT_EQ(json::tidy(-std::numeric_limits<double>::infinity()), 0.0);
  // Small values keep their significant digits.
  EXPECT_EQ(json::tidy(1e-7), 1e-7);
}

TEST(JsonCanonical, SortsKeysAtEveryLevel) {
  const auto a = parseOrDie(R"({"b": 1, "a": {"d": [{"z": 1, "y": 2}], "c": "x"}})");
  const auto b = parseOrDie(R"({"a": {"c": "x", "d": [{"y": 2, "z": 1}]}, "b": 1})");
  EXPECT_EQ(json::canonical(a), R"({"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1})");
  EXPECT_EQ(json::canonical(a), json::canonical(b));
  // Arrays keep their order: it is meaningful.
  const auto c = parseOrDie(R"({"a": {"c": "x", "d": [{"y": 2, "z": 1}]}, "b": 2})");
  EXPECT_NE(json::canonical(a), json::canonical(c));
  EXPECT_EQ(json::toString(b), R"({"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1})");
}

TEST(JsonNestingDepth, IgnoresBracketsInStrings) {
  EXPECT_EQ(json::nestingDepth("{}"), 1u);
  EXPECT_EQ(json::nestingDepth(R"({"a": [[{}]]})"), 4u);
  EXPECT_EQ(json::nestingDepth(R"({"a": "[[[[{{{{"})"), 1u);
  EXPECT_EQ(json::nestingDepth(R"({"a": "\"[[[["})"), 1u);
  EXPECT_EQ(json::nestingDepth("]]]][["), 2u);
  EXPECT_EQ(json::nestingDepth("plain"), 0u);
}

TEST(JsonParse, RefusesDeepNesting) {
  // The parser is iterative, so even absurd depth is parsed without recursion and then refused
  // before anything recursive (comparison, serialisation) touches it.
  std::string error;
  EXPECT_FALSE(
      json::parse(std::string(100000, '[') + std::string(100000, ']'), &error).has_value());
  EXPECT_NE(error.find("nested 100000 levels deep"), std::string::npos) << error;
  EXPECT_FALSE(json::parse(std::string(100000, '['), &error).has_value());
  EXPECT_FALSE(error.empty());
  const std::string ok =
      std::string(json::kMaxNestingDepth, '[') + std::string(json::kMaxNestingDepth, ']');
  EXPECT_TRUE(json::parse(ok, &error).has_value()) << error;
  const std::string tooDeep =
      std::string(json::kMaxNestingDepth + 1, '[') + std::string(json::kMaxNestingDepth + 1, ']');
  EXPECT_FALSE(json::parse(tooDeep, &error).has_value());
}

TEST(JsonParse, ReportsOffsetsOfSyntaxErrors) {
  std::string error;
  EXPECT_FALSE(json::parse(R"({"a": 1,})", &error).has_value());
  EXPECT_NE(error.find("offset 8"), std::string::npos) << error;
  for (const char* bad :
       {"", "{", "{\"a\":}", "[1, 2", "{} {}", "{\"a\": NaN}", "{\"a\": Infinity}",
        "{\"a\": -Infinity}", "{'a': 1}", "{\"a\": 01}", "tru", "\"\\u12\""}) {
    EXPECT_FALSE(json::parse(bad, &error).has_value()) << bad;
    EXPECT_FALSE(error.empty());
  }
  EXPECT_FALSE(json::parse("{}", nullptr).value().HasParseError());
  EXPECT_FALSE(json::parse("{", nullptr).has_value());  // a null error pointer is fine
}

TEST(JsonParse, HugeNumbersStayFiniteOrAreRejected) {
  std::string error;
  auto doc = json::parse(R"({"a": 1e999})", &error);
  if (doc) {
    // RapidJSON may accept it as infinity; asNumber must then refuse it.
    EXPECT_FALSE(json::asNumber(json::member(&*doc, "a")).has_value());
  } else {
    EXPECT_FALSE(error.empty());
  }
  doc = json::parse(R"({"a": 123456789012345678901234567890})", &error);
  ASSERT_TRUE(doc.has_value()) << error;
  EXPECT_FALSE(json::asInt(json::member(&*doc, "a")).has_value());
  EXPECT_NEAR(*json::asNumber(json::member(&*doc, "a")), 1.2345678901234568e29, 1e15);
}

TEST(YamlToJson, TypesPlainScalarsByTheCoreSchema) {
  const auto docs = loadAllYaml(R"(
int: 42
neg: -7
plus: +3
float: 1.5
exp: 1e3
quoted: "42"
single: '1.5'
t: true
f: False
n: null
tilde: ~
empty:
yes_is_a_string: yes
inf_is_a_string: .inf
nan_is_a_string: .nan
huge: 1e999
hex: 0x1F
text: hello
list: [1, "a", null]
)");
  ASSERT_EQ(docs.size(), 1u);
  json::Document doc;
  yamlToJson(docs[0], doc, doc.GetAllocator());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(json::asInt(json::member(&doc, "int")), 42);
  EXPECT_EQ(json::asInt(json::member(&doc, "neg")), -7);
  EXPECT_EQ(json::asInt(json::member(&doc, "plus")), 3);
  EXPECT_DOUBLE_EQ(*json::asNumber(json::member(&doc, "float")), 1.5);
  EXPECT_DOUBLE_EQ(*json::asNumber(json::member(&doc, "exp")), 1000.0);
  EXPECT_EQ(json::asString(json::member(&doc, "quoted")), "42");
  EXPECT_EQ(json::asString(json::member(&doc, "single")), "1.5");
  EXPECT_EQ(json::asBool(json::member(&doc, "t")), true);
  EXPECT_EQ(json::asBool(json::member(&doc, "f")), false);
  EXPECT_TRUE(json::member(&doc, "n")->IsNull());
  EXPECT_TRUE(json::member(&doc, "tilde")->IsNull());
  EXPECT_TRUE(json::member(&doc, "empty")->IsNull());
  EXPECT_EQ(json::asString(json::member(&doc, "yes_is_a_string")), "yes");
  EXPECT_EQ(json::asString(json::member(&doc, "inf_is_a_string")), ".inf");
  EXPECT_EQ(json::asString(json::member(&doc, "nan_is_a_string")), ".nan");
  EXPECT_EQ(json::asString(json::member(&doc, "huge")), "1e999");  // never an infinite number
  EXPECT_EQ(json::asString(json::member(&doc, "hex")), "0x1F");
  EXPECT_EQ(json::asString(json::member(&doc, "text")), "hello");
  const auto* list = json::member(&doc, "list");
  ASSERT_TRUE(list && list->IsArray());
  ASSERT_EQ(list->Size(), 3u);
  EXPECT_EQ(json::asInt(&(*list)[0]), 1);
  EXPECT_EQ(json::asString(&(*list)[1]), "a");
  EXPECT_TRUE((*list)[2].IsNull());
}

TEST(YamlToJson, JsonRoundTripKeepsStringsThatLookLikeNumbers) {
  const auto in = parseOrDie(
      R"({"s": "42", "b": "true", "n": null, "i": 7, "d": 0.25, "t": true, "a": ["1", 1], "o": {}})");
  const YAML::Node yaml = jsonToYaml(in);
  json::Document out;
  yamlToJson(yaml, out, out.GetAllocator());
  EXPECT_EQ(json::canonical(out), json::canonical(in));
}

TEST(LoadAllYaml, SplitsDocumentsAndThrowsWithAPosition) {
  const auto docs = loadAllYaml("a: 1\n---\nb: 2\n---\n");
  ASSERT_GE(docs.size(), 2u);
  EXPECT_EQ(docs[0]["a"].as<int>(), 1);
  EXPECT_EQ(docs[1]["b"].as<int>(), 2);
  try {
    loadAllYaml("a: [1, 2\nb: 3\n");
    FAIL() << "expected a YAML::Exception";
  } catch (const YAML::Exception& e) {
    EXPECT_GE(e.mark.line, 0);
  }
  // JSON is YAML.
  const auto json = loadAllYaml(R"({"kind": "Deployment", "spec": {"replicas": 2}})");
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["spec"]["replicas"].as<int>(), 2);
}

TEST(LoadAllYaml, RefusesAliasesThatContainThemselves) {
  for (const char* text :
       {"&a [*a]", "&a {x: *a}", "a: &a\n  b: *a\n", "spec: &s {indicator: *s}\n"}) {
    try {
      loadAllYaml(text);
      FAIL() << "accepted " << text;
    } catch (const YAML::Exception& e) {
      EXPECT_NE(e.msg.find("an alias contains itself"), std::string::npos) << e.msg;
    }
  }
  // Aliases to finished nodes are fine.
  const auto docs = loadAllYaml("base: &b {app: x}\ncopy: *b\nlist: [*b, *b]\n");
  json::Document doc;
  yamlToJson(docs.at(0), doc, doc.GetAllocator());
  EXPECT_EQ(json::toString(doc),
            R"({"base":{"app":"x"},"copy":{"app":"x"},"list":[{"app":"x"},{"app":"x"}]})");
}

TEST(LoadAllYaml, RefusesExponentialAliasExpansion) {
  // "Billion laughs": 9 levels of 9 references each expand to 9^9 nodes.
  std::string text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 9; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) text += (j ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  try {
    loadAllYaml(text);
    FAIL() << "accepted a billion laughs";
  } catch (const YAML::Exception& e) {
    EXPECT_NE(e.msg.find("aliases expand to more than"), std::string::npos) << e.msg;
    EXPECT_GE(e.mark.line, 0);  // a position for "file:line:col"
  }
}

TEST(LoadAllYaml, StrayTokensAfterADocumentAreErrorsNotEndlessLoops) {
  // yaml-cpp 0.7 on its own loops forever (and exhausts memory) on these.
  for (const char* text :
       {",", "[1],", "{a: 1},", "{}, x", "[[]],", "a: [1]\n]\n", "{\n \"a\": 1},\n"}) {
    try {
      loadAllYaml(text);
      FAIL() << "accepted " << text;
    } catch (const YAML::Exception& e) {
      EXPECT_FALSE(e.msg.empty());
    }
  }
  // Several real documents, including empty ones, still load.
  EXPECT_EQ(loadAllYaml("---\n---\na: 1\n---\nb: 2\n").size(), 3u);
}

TEST(LoadAllYaml, NestingLimitMatchesJson) {
  const auto nested = [](std::size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_NO_THROW(loadAllYaml(nested(json::kMaxNestingDepth)));
  EXPECT_THROW(loadAllYaml(nested(json::kMaxNestingDepth + 1)), YAML::Exception);
  EXPECT_THROW(loadAllYaml(std::string(100000, '[')), YAML::Exception);
  EXPECT_THROW(loadAllYaml(std::string(100000, '{')), YAML::Exception);
}

}  // namespace
}  // namespace budgetgate
