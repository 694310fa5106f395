#include "operator/model/label_selector.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace budgetgate::model {
namespace {

using budgetgate::testing::allErrors;
using budgetgate::testing::errorAt;
using budgetgate::testing::yaml;
using Op = LabelRequirement::Operator;

LabelSelector parse(const std::string& text, Diagnostics& d) {
  return parseLabelSelector(Field(yaml(text), "selector", d));
}

TEST(LabelSelector, EmptyMatchesEverything) {
  EXPECT_TRUE(LabelSelector{}.matches({}));
  EXPECT_TRUE(LabelSelector{}.matches({{"app", "x"}}));
  EXPECT_TRUE(LabelSelector{}.empty());
}

TEST(LabelSelector, MatchLabelsNeedEveryPair) {
  LabelSelector s;
  s.matchLabels = {{"app", "checkout"}, {"tier", "web"}};
  EXPECT_TRUE(s.matches({{"app", "checkout"}, {"tier", "web"}, {"extra", "1"}}));
  EXPECT_FALSE(s.matches({{"app", "checkout"}}));
  EXPECT_FALSE(s.matches({{"app", "checkout"}, {"tier", "api"}}));
  EXPECT_FALSE(s.matches({}));
  EXPECT_FALSE(s.empty());
}

TEST(LabelSelector, In) {
  LabelSelector s;
  s.matchExpressions = {{"env", Op::In, {"prod", "staging"}}};
  EXPECT_TRUE(s.matches({{"env", "prod"}}));
  EXPECT_TRUE(s.matches({{"env", "staging"}}));
  EXPECT_FALSE(s.matches({{"env", "dev"}}));
  EXPECT_FALSE(s.matches({}));  // a missing key is not in the set
}

TEST(LabelSelector, NotIn) {
  LabelSelector s;
  s.matchExpressions = {{"env", Op::NotIn, {"dev"}}};
  EXPECT_TRUE(s.matches({{"env", "prod"}}));
  EXPECT_FALSE(s.matches({{"env", "dev"}}));
  EXPECT_TRUE(s.matches({}));  // as in Kubernetes: a missing key is not in the set
}

TEST(LabelSelector, Exists) {
  LabelSelector s;
  s.matchExpressions = {{"canary", Op::Exists, {}}};
  EXPECT_TRUE(s.matches({{"canary", ""}}));
  EXPECT_TRUE(s.matches({{"canary", "true"}}));
  EXPECT_FALSE(s.matches({{"app", "x"}}));
}

TEST(LabelSelector, DoesNotExist) {
  LabelSelector s;
  s.matchExpressions = {{"canary", Op::DoesNotExist, {}}};
  EXPECT_FALSE(s.matches({{"canary", ""}}));
  EXPECT_TRUE(s.matches({{"app", "x"}}));
  EXPECT_TRUE(s.matches({}));
}

TEST(LabelSelector, EverythingIsAnded) {
  LabelSelector s;
  s.matchLabels = {{"app", "checkout"}};
  s.matchExpressions = {{"env", Op::In, {"prod"}}, {"canary", Op::DoesNotExist, {}}};
  EXPECT_TRUE(s.matches({{"app", "checkout"}, {"env", "prod"}}));
  EXPECT_FALSE(s.matches({{"app", "checkout"}, {"env", "prod"}, {"canary", "1"}}));
  EXPECT_FALSE(s.matches({{"app", "cart"}, {"env", "prod"}}));
  EXPECT_EQ(s.toString(), "app=checkout,env in (prod),!canary");
}

TEST(LabelSelector, ToString) {
  LabelSelector s;
  s.matchExpressions = {{"a", Op::In, {"1", "2"}}, {"b", Op::NotIn, {"3"}}, {"c", Op::Exists, {}}};
  EXPECT_EQ(s.toString(), "a in (1,2),b notin (3),c");
  EXPECT_EQ(LabelSelector{}.toString(), "");
}

TEST(LabelSelectorParser, AllFourOperators) {
  Diagnostics d;
  const auto s = parse(R"(
matchLabels: {app: checkout}
matchExpressions:
  - {key: env, operator: In, values: [prod, staging]}
  - {key: track, operator: NotIn, values: [canary]}
  - {key: team, operator: Exists}
  - {key: legacy, operator: DoesNotExist}
)",
                       d);
  ASSERT_TRUE(d.ok()) << allErrors(d);
  EXPECT_EQ(s.matchLabels.at("app"), "checkout");
  ASSERT_EQ(s.matchExpressions.size(), 4u);
  EXPECT_EQ(s.matchExpressions[0].op, Op::In);
  EXPECT_EQ(s.matchExpressions[0].values, (std::vector<std::string>{"prod", "staging"}));
  EXPECT_EQ(s.matchExpressions[1].op, Op::NotIn);
  EXPECT_EQ(s.matchExpressions[2].op, Op::Exists);
  EXPECT_EQ(s.matchExpressions[3].op, Op::DoesNotExist);
  EXPECT_TRUE(s.matches({{"app", "checkout"}, {"env", "prod"}, {"team", "pay"}}));
  EXPECT_FALSE(
      s.matches({{"app", "checkout"}, {"env", "prod"}, {"team", "pay"}, {"track", "canary"}}));
  EXPECT_FALSE(s.matches({{"app", "checkout"}, {"env", "prod"}, {"team", "pay"}, {"legacy", "y"}}));
  EXPECT_FALSE(s.matches({{"app", "checkout"}, {"env", "prod"}}));
}

TEST(LabelSelectorParser, NumericLabelValuesAreStrings) {
  Diagnostics d;
  const auto s = parse("matchLabels: {version: 2}\n", d);
  ASSERT_TRUE(d.ok()) << allErrors(d);
  EXPECT_TRUE(s.matches({{"version", "2"}}));
}

struct BadSelector {
  const char* name;
  const char* text;
  const char* path;
  const char* message;
};

class LabelSelectorParserError : public ::testing::TestWithParam<BadSelector> {};

TEST_P(LabelSelectorParserError, IsReported) {
  Diagnostics d;
  parse(GetParam().text, d);
  const auto* e = errorAt(d, GetParam().path);
  ASSERT_NE(e, nullptr) << allErrors(d);
  EXPECT_NE(e->message.find(GetParam().message), std::string::npos) << e->message;
  EXPECT_GT(e->line, 0);
}

const BadSelector kBadSelectors[] = {
    {"UnknownOperator", "matchExpressions: [{key: a, operator: Equals, values: [x]}]\n",
     "selector.matchExpressions[0].operator", "expected In, NotIn, Exists or DoesNotExist"},
    {"InWithoutValues", "matchExpressions: [{key: a, operator: In}]\n",
     "selector.matchExpressions[0].values", "needs at least one value"},
    {"NotInWithEmptyValues", "matchExpressions: [{key: a, operator: NotIn, values: []}]\n",
     "selector.matchExpressions[0].values", "needs at least one value"},
    {"ExistsWithValues", "matchExpressions: [{key: a, operator: Exists, values: [x]}]\n",
     "selector.matchExpressions[0].values", "takes no values"},
    {"MissingKey", "matchExpressions: [{operator: Exists}]\n", "selector.matchExpressions[0].key",
     "is required"},
    {"MissingOperator", "matchExpressions: [{key: a}]\n", "selector.matchExpressions[0].operator",
     "is required"},
    {"UnknownField", "matchLabel: {app: x}\n", "selector.matchLabel", "unknown field"},
    {"UnknownExpressionField", "matchExpressions: [{key: a, op: In, operator: In, values: [x]}]\n",
     "selector.matchExpressions[0].op", "unknown field"},
    {"LabelValueIsAMap", "matchLabels: {app: {name: x}}\n", "selector.matchLabels.app",
     "expected a string"},
    {"MatchLabelsIsAList", "matchLabels: [app]\n", "selector.matchLabels", "expected a map"},
    {"ExpressionsIsAMap", "matchExpressions: {key: a}\n", "selector.matchExpressions",
     "expected a list"},
    {"ExpressionIsAString", "matchExpressions: [app]\n", "selector.matchExpressions[0]",
     "expected a map"},
    {"ValueIsAList", "matchExpressions: [{key: a, operator: In, values: [[x]]}]\n",
     "selector.matchExpressions[0].values[0]", "expected a string"},
    {"SelectorIsAString", "app=checkout\n", "selector", "expected a map"},
};

INSTANTIATE_TEST_SUITE_P(Cases, LabelSelectorParserError, ::testing::ValuesIn(kBadSelectors),
                         [](const ::testing::TestParamInfo<BadSelector>& cell) {
                           return std::string(cell.param.name);
                         });

}  // namespace
}  // namespace budgetgate::model
