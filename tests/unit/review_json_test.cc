#include "webhook/admission/review_json.h"

#include <gtest/gtest.h>

#include "webhook/admission/json_parser_pool.h"

namespace budgetgate::admission::review_json {
namespace {

TEST(RawValueAt, FindsTheExactBytesOfANestedMember) {
  const std::string text =
      R"({"a": "}{\"x", "request" : {"object":{"spec":{"replicas":3,"template" : {"k": [1, {"z": "]"}] }  }}}})";
  EXPECT_EQ(rawValueAt(text, {"request", "object", "spec", "template"}),
            R"({"k": [1, {"z": "]"}] })");
  EXPECT_EQ(rawValueAt(text, {"request", "object", "spec", "replicas"}), "3");
  EXPECT_EQ(rawValueAt(text, {"a"}), R"("}{\"x")");
}

TEST(RawValueAt, MissingMembersAndNonObjectsAreAbsent) {
  const std::string text = R"({"request":{"object":{"spec":[1,2]}}})";
  EXPECT_FALSE(rawValueAt(text, {"request", "oldObject"}).has_value());
  EXPECT_FALSE(rawValueAt(text, {"request", "object", "spec", "template"}).has_value());
  EXPECT_FALSE(rawValueAt("[]", {"request"}).has_value());
  EXPECT_FALSE(rawValueAt("", {"request"}).has_value());
  EXPECT_FALSE(rawValueAt(R"({"request":{"obj)", {"request", "object"}).has_value());
}

TEST(RawValueAt, TakesTheFirstOfDuplicateKeysAsTheParsersDo) {
  EXPECT_EQ(rawValueAt(R"({"t":1,"t":2})", {"t"}), "1");
}

TEST(RawValueAt, GivesUpOnEscapedKeysItCannotMatchUndecoded) {
  // "sp\u0065c" is "spec": the caller falls back instead of missing it.
  EXPECT_FALSE(rawValueAt(R"({"sp\u0065c":{"template":{}}})", {"spec", "template"}).has_value());
}

class SameJsonTest : public ::testing::Test {
 protected:
  bool same(const std::string& a, const std::string& b) {
    auto la = pool_.acquire();
    auto lb = pool_.acquire();
    Element ea;
    Element eb;
    EXPECT_FALSE(la.parser().parse(a).get(ea)) << a;
    EXPECT_FALSE(lb.parser().parse(b).get(eb)) << b;
    return sameJson(ea, eb);
  }
  JsonParserPool pool_;
};

TEST_F(SameJsonTest, ObjectsCompareInAnyMemberOrder) {
  EXPECT_TRUE(
      same(R"({"a":1,"b":{"c":[1,"x"],"d":null}})", R"({"b":{"d":null,"c":[1,"x"]},"a":1})"));
  EXPECT_FALSE(same(R"({"a":1,"b":2})", R"({"a":1,"c":2})"));
  EXPECT_FALSE(same(R"({"a":1})", R"({"a":1,"b":2})"));
}

TEST_F(SameJsonTest, ArraysCompareInOrder) {
  EXPECT_FALSE(same("[1,2]", "[2,1]"));
  EXPECT_FALSE(same("[1]", "[1,1]"));
  EXPECT_TRUE(same("[[],{}]", "[[],{}]"));
}

TEST_F(SameJsonTest, NumbersCompareByValueAcrossRepresentations) {
  EXPECT_TRUE(same("5", "5.0"));
  EXPECT_TRUE(same("1.5e3", "1500"));
  EXPECT_FALSE(same("5", "6"));
  EXPECT_FALSE(same("9223372036854775807", "18446744073709551615"));
  EXPECT_TRUE(same("18446744073709551615", "18446744073709551615"));
  EXPECT_FALSE(same("1", "\"1\""));
  EXPECT_FALSE(same("true", "1"));
  EXPECT_FALSE(same("null", "false"));
}

class SameJsonExceptTest : public SameJsonTest {
 protected:
  // Templates that differ at most in metadata.annotations.restartedAt.
  bool sameButRestart(const std::string& a, const std::string& b) {
    auto la = pool_.acquire();
    auto lb = pool_.acquire();
    Element ea;
    Element eb;
    EXPECT_FALSE(la.parser().parse(a).get(ea)) << a;
    EXPECT_FALSE(lb.parser().parse(b).get(eb)) << b;
    return sameJsonExcept(ea, eb, {"metadata", "annotations", "restartedAt"});
  }
};

TEST_F(SameJsonExceptTest, OnlyTheIgnoredMemberMayDiffer) {
  const std::string base = R"({"metadata":{"labels":{"app":"a"}},"spec":{"image":"x:1"}})";
  // kubectl rollout restart on a template without annotations adds the map.
  EXPECT_TRUE(sameButRestart(
      base,
      R"({"metadata":{"labels":{"app":"a"},"annotations":{"restartedAt":"t1"}},"spec":{"image":"x:1"}})"));
  EXPECT_TRUE(
      sameButRestart(R"({"metadata":{"annotations":{"restartedAt":"t1","k":"v"}},"spec":{}})",
                     R"({"spec":{},"metadata":{"annotations":{"k":"v","restartedAt":"t2"}}})"));
  // Anything else that changed alongside is a rollout.
  EXPECT_FALSE(sameButRestart(
      base,
      R"({"metadata":{"labels":{"app":"a"},"annotations":{"restartedAt":"t1"}},"spec":{"image":"x:2"}})"));
  EXPECT_FALSE(sameButRestart(
      base,
      R"({"metadata":{"labels":{"app":"a"},"annotations":{"restartedAt":"t","k":"v"}},"spec":{"image":"x:1"}})"));
  EXPECT_FALSE(sameButRestart(R"({"metadata":{"annotations":{"k":"v"}}})",
                              R"({"metadata":{"annotations":{"k":"w"}}})"));
  EXPECT_FALSE(
      sameButRestart(R"({"metadata":{"annotations":"restartedAt"}})", R"({"metadata":{}})"));
}

TEST(LabelMap, OnlyAMapOfStringsIsALabelMap) {
  JsonParserPool pool;
  auto lease = pool.acquire();
  const auto read = [&](const std::string& text, std::string* error) {
    Element e;
    EXPECT_FALSE(lease.parser().parse(text).get(e)) << text;
    return labelMap(e, error);
  };
  std::string error;
  EXPECT_EQ(read(R"({"app":"a","tier":"web"})", &error),
            (model::Labels{{"app", "a"}, {"tier", "web"}}));
  EXPECT_EQ(read("null", &error), model::Labels{});
  EXPECT_EQ(labelMap(std::nullopt, &error), model::Labels{});
  EXPECT_FALSE(read(R"(["app","a"])", &error).has_value());
  EXPECT_EQ(error, "is not a map of strings");
  EXPECT_FALSE(read(R"({"app":7})", &error).has_value());
  EXPECT_EQ(error, "value of \"app\" is not a string");
}

TEST(JsonParserPool, ReusesParsersAndDropsOnesThatGrewLarge) {
  JsonParserPool pool;
  {
    auto lease = pool.acquire();
    Element e;
    EXPECT_FALSE(lease.parser().parse(std::string("[1]")).get(e));
  }
  EXPECT_EQ(pool.idle(), 1u);
  {
    auto a = pool.acquire();
    auto b = pool.acquire();  // a second concurrent request gets its own parser
    EXPECT_NE(&a.parser(), &b.parser());
    EXPECT_EQ(pool.idle(), 0u);
    const std::string big = "[" + std::string(JsonParserPool::kMaxRetainedCapacity, ' ') + "]";
    Element e;
    EXPECT_FALSE(b.parser().parse(big).get(e));
  }
  EXPECT_EQ(pool.idle(), 1u);  // the one that parsed a big document was freed
}

}  // namespace
}  // namespace budgetgate::admission::review_json
