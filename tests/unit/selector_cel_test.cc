// Label selectors as CEL for the webhook's matchConditions. The expressions are evaluated by the
// real API server in the e2e tests; here their shape: every requirement, totality guards, and
// the per-namespace structure.

#include "operator/model/selector_cel.h"

#include <gtest/gtest.h>

namespace budgetgate::model {
namespace {

LabelSelector make(Labels match, std::vector<LabelRequirement> expressions = {}) {
  LabelSelector s;
  s.matchLabels = std::move(match);
  s.matchExpressions = std::move(expressions);
  return s;
}

TEST(SelectorCel, EveryOperator) {
  using Op = LabelRequirement::Operator;
  EXPECT_EQ(selectorCel(make({{"app", "ledger"}}), "L"), "('app' in L && L['app'] == 'ledger')");
  EXPECT_EQ(selectorCel(make({}, {{"tier", Op::In, {"gold", "silver"}}}), "L"),
            "('tier' in L && L['tier'] in ['gold', 'silver'])");
  EXPECT_EQ(selectorCel(make({}, {{"tier", Op::NotIn, {"test"}}}), "L"),
            "(!('tier' in L) || !(L['tier'] in ['test']))");
  EXPECT_EQ(selectorCel(make({}, {{"canary", Op::Exists, {}}}), "L"), "('canary' in L)");
  EXPECT_EQ(selectorCel(make({}, {{"canary", Op::DoesNotExist, {}}}), "L"), "!('canary' in L)");
  EXPECT_EQ(selectorCel(make({{"a", "1"}}, {{"b", Op::Exists, {}}}), "L"),
            "(('a' in L && L['a'] == '1') && ('b' in L))");
  // An empty selector selects everything, as in Kubernetes.
  EXPECT_EQ(selectorCel(LabelSelector{}, "L"), "true");
}

TEST(SelectorCel, QuotesAreEscaped) {
  EXPECT_EQ(selectorCel(make({{"k", "it's"}}), "L"), R"(('k' in L && L['k'] == 'it\'s'))");
}

TEST(GatedWorkloadsCel, OneClausePerNamespaceOverLabelsAndTemplateLabelsOldAndNew) {
  EXPECT_EQ(gatedWorkloadsCel({}), "false");
  EXPECT_EQ(gatedWorkloadsCel({{"empty", {}}}), "false");
  const auto cel = gatedWorkloadsCel({{"shop", {make({{"app", "ledger"}})}}, {"pay", {make({})}}});
  EXPECT_EQ(cel.find("(request.namespace == 'pay' && "), 0u) << cel;
  EXPECT_NE(cel.find(" || (request.namespace == 'shop' && "), std::string::npos) << cel;
  // Both objects, both label maps, every access guarded.
  EXPECT_NE(cel.find("(object != null && "), std::string::npos);
  EXPECT_NE(cel.find("(oldObject != null && "), std::string::npos);
  EXPECT_NE(cel.find("has(object.metadata) && has(object.metadata.labels) ? object.metadata.labels "
                     ": {}"),
            std::string::npos)
      << cel;
  EXPECT_NE(cel.find("has(oldObject.spec.template.metadata.labels) ? "
                     "oldObject.spec.template.metadata.labels : {}"),
            std::string::npos)
      << cel;
}

}  // namespace
}  // namespace budgetgate::model
