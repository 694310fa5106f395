// The webhook's cache: which ReplicaSets count as a Deployment's revisions (by its UID, from the
// controller owner reference only) and what it knows of Deployments.

#include "webhook/cache/gate_cache.h"

#include <gtest/gtest.h>

#include "operator/common/json.h"

namespace budgetgate::cache {
namespace {

rapidjson::Document parse(const std::string& text) {
  std::string error;
  auto doc = json::parse(text, &error);
  EXPECT_TRUE(doc.has_value()) << error;
  return std::move(*doc);
}

std::string replicaSet(const std::string& name, const std::string& ownerRef,
                       const std::string& image) {
  return R"({"metadata":{"namespace":"shop","name":")" + name + R"(","ownerReferences":[)" +
         ownerRef + R"(]},"spec":{"template":{"metadata":{"labels":{"app":"ledger",
         "pod-template-hash":"h"}},"spec":{"containers":[{"name":"app","image":")" +
         image + R"("}]}}}})";
}

// An SLO in shop gating the workloads labelled app=NAME.
rapidjson::Document gatingSlo(const std::string& name, const std::string& app) {
  return parse(R"({"metadata":{"namespace":"shop","name":")" + name + R"(","uid":"slo-)" + name +
               R"("},"spec":{"gate":{"selector":{"matchLabels":{"app":")" + app + R"("}}}}})");
}

TEST(GateCache, OnlyTheControllerOwnerByUidMakesARevision) {
  GateCache cache{GateCacheOptions{}};
  cache.upsertSlo(gatingSlo("ledger", "ledger"));
  // A workload with that UID, gated too, so that its (forged) revision would be served.
  cache.upsertDeployment(parse(R"({"metadata":{"namespace":"shop","name":"old-ledger",
      "uid":"uid-0"},"spec":{"template":{"metadata":{"labels":{"app":"ledger"}}}}})"));
  cache.upsertDeployment(parse(R"({"metadata":{"namespace":"shop","name":"ledger","uid":"uid-1",
      "labels":{"team":"payments"}},"spec":{"selector":{"matchLabels":{"app":"ledger"}},
      "template":{"metadata":{"labels":{"app":"ledger"}}}}})"));
  const std::string owner =
      R"({"apiVersion":"apps/v1","kind":"Deployment","name":"ledger","uid":"uid-1","controller":true})";
  cache.upsertReplicaSet(parse(replicaSet("ledger-a", owner, "ledger:1")));
  // Same name, another object's UID (a predecessor, or a forgery).
  cache.upsertReplicaSet(parse(replicaSet(
      "ledger-b",
      R"({"apiVersion":"apps/v1","kind":"Deployment","name":"ledger","uid":"uid-0","controller":true})",
      "ledger:2")));
  // Owned, but not as its controller.
  cache.upsertReplicaSet(parse(replicaSet(
      "ledger-c", R"({"apiVersion":"apps/v1","kind":"Deployment","name":"ledger","uid":"uid-1"})",
      "ledger:3")));
  // No UID at all.
  cache.upsertReplicaSet(parse(replicaSet(
      "ledger-d",
      R"({"apiVersion":"apps/v1","kind":"Deployment","name":"ledger","controller":true})",
      "ledger:4")));
  cache.rebuild();
  const auto snap = cache.snapshot();
  ASSERT_EQ(snap->revisionsByOwnerUid.count("uid-1"), 1u);
  EXPECT_EQ(snap->revisionsByOwnerUid.at("uid-1").size(), 1u);
  EXPECT_EQ(snap->revisionsByOwnerUid.count("uid-0"), 1u);  // kept, but only for that UID
  EXPECT_EQ(snap->revisionsByOwnerUid.size(), 2u);
  ASSERT_EQ(snap->workloadsByNamespace.at("shop").size(), 2u);
  const auto& w = snap->workloadsByNamespace.at("shop").front();  // "ledger" before "old-ledger"
  EXPECT_EQ(w.uid, "uid-1");
  EXPECT_EQ(w.identity.labels.at("team"), "payments");
  EXPECT_EQ(w.identity.templateLabels->at("app"), "ledger");
  ASSERT_TRUE(w.selector.has_value());
  EXPECT_TRUE(w.selector->matches({{"app", "ledger"}, {"pod-template-hash", "x"}}));
  cache.deleteDeployment("shop", "ledger");
  cache.rebuild();
  EXPECT_EQ(cache.snapshot()->workloadCount, 1u);
  // An owner the workload watch does not know (deleted, or not listed yet) keeps its revisions.
  EXPECT_EQ(cache.snapshot()->revisionsByOwnerUid.count("uid-1"), 1u);
}

TEST(GateCache, OnlyWorkloadsAnSloSelectsCarryTheirRevisionsIntoTheSnapshot) {
  GateCache cache{GateCacheOptions{}};
  const auto deployment = [](const std::string& name, const std::string& uid) {
    return parse(R"({"metadata":{"namespace":"shop","name":")" + name + R"(","uid":")" + uid +
                 R"("},"spec":{"template":{"metadata":{"labels":{"app":")" + name + R"("}}}}})");
  };
  const auto owner = [](const std::string& name, const std::string& uid) {
    return R"({"apiVersion":"apps/v1","kind":"Deployment","name":")" + name + R"(","uid":")" + uid +
           R"(","controller":true})";
  };
  cache.upsertDeployment(deployment("ledger", "uid-l"));
  cache.upsertDeployment(deployment("search", "uid-s"));
  for (int i = 0; i < 3; ++i) {
    cache.upsertReplicaSet(parse(replicaSet("ledger-" + std::to_string(i), owner("ledger", "uid-l"),
                                            "ledger:" + std::to_string(i))));
    cache.upsertReplicaSet(parse(replicaSet("search-" + std::to_string(i), owner("search", "uid-s"),
                                            "search:" + std::to_string(i))));
  }
  cache.rebuild();
  auto snap = cache.snapshot();
  EXPECT_EQ(snap->replicaSetCount, 6u);  // all watched
  EXPECT_EQ(snap->gatedRevisionCount, 0u);
  EXPECT_TRUE(snap->revisionsByOwnerUid.empty());
  // An SLO starts gating search: its revisions are there at the next snapshot, no relist.
  cache.upsertSlo(gatingSlo("search", "search"));
  cache.rebuild();
  snap = cache.snapshot();
  ASSERT_EQ(snap->revisionsByOwnerUid.count("uid-s"), 1u);
  EXPECT_EQ(snap->revisionsByOwnerUid.at("uid-s").size(), 3u);
  EXPECT_EQ(snap->revisionsByOwnerUid.count("uid-l"), 0u);
  EXPECT_EQ(snap->gatedRevisionCount, 3u);
  cache.deleteSlo("shop", "search");
  cache.rebuild();
  EXPECT_TRUE(cache.snapshot()->revisionsByOwnerUid.empty());
  // Revisions whose owner the Deployment watch has not seen (yet) are kept: rollback
  // recognition must not depend on one informer being ahead of another.
  cache.upsertReplicaSet(parse(replicaSet("later-0", owner("later", "uid-later"), "later:0")));
  cache.rebuild();
  EXPECT_EQ(cache.snapshot()->revisionsByOwnerUid.count("uid-later"), 1u);
  cache.upsertDeployment(deployment("later", "uid-later"));  // known now, and not gated
  cache.rebuild();
  EXPECT_EQ(cache.snapshot()->revisionsByOwnerUid.count("uid-later"), 0u);
}

}  // namespace
}  // namespace budgetgate::cache
