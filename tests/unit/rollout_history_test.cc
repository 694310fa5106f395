// Rollout history for the ledger: ReplicaSets controlled by a Deployment become rollouts, and
// the webhook's RolloutAdmitted Events name who asked for them.

#include "operator/kube/rollout_history.h"

#include <gtest/gtest.h>

namespace budgetgate {
namespace {

rapidjson::Document parse(const char* text) {
  rapidjson::Document d;
  d.Parse(text);
  return d;
}

TEST(RolloutHistory, OnlyReplicaSetsControlledByADeploymentAreRollouts) {
  const auto list = parse(R"({"items": [
    {"metadata": {"name": "pay-1", "creationTimestamp": "2026-12-01T10:00:05Z",
                  "labels": {"app": "pay"},
                  "annotations": {"deployment.kubernetes.io/revision": "3",
                                  "budgetgate.dev/release-type": "bugfix"},
                  "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                       "name": "pay", "controller": true}]},
     "spec": {"template": {"spec": {"containers": [{"image": "pay:3"}, {"image": "proxy:1"}]}}}},
    {"metadata": {"name": "handmade", "creationTimestamp": "2026-12-01T10:00:05Z",
                  "labels": {"app": "pay"}}}
  ]})");
  auto revisions = kube::revisionsFromList(list);
  ASSERT_EQ(revisions.size(), 1u);
  EXPECT_EQ(revisions[0].record.workload, "deployment/pay");
  EXPECT_EQ(revisions[0].record.revision, "3");
  EXPECT_EQ(revisions[0].record.images, "pay:3,proxy:1");
  EXPECT_EQ(revisions[0].record.releaseType, "bugfix");
  model::LabelSelector pay;
  pay.matchLabels = {{"app", "pay"}};
  EXPECT_EQ(kube::rolloutsMatching(revisions, pay).size(), 1u);
  model::LabelSelector other;
  other.matchLabels = {{"app", "checkout"}};
  EXPECT_TRUE(kube::rolloutsMatching(revisions, other).empty());

  // Requesters: the webhook's record closest to the ReplicaSet's creation, within 30 s, for the
  // same namespace and Deployment.
  const auto events = parse(R"({"items": [
    {"reason": "RolloutAdmitted",
     "message": "rollout of deployment/pay in shop by bob admitted: tier healthy x risk medium = approve",
     "firstTimestamp": "2026-12-01T10:00:04Z"},
    {"reason": "RolloutAdmitted", "message": "rollout of deployment/pay in other by mallory admitted: x",
     "firstTimestamp": "2026-12-01T10:00:05Z"},
    {"reason": "RolloutAdmitted", "message": "rollout of deployment/pay in shop by carol admitted: x",
     "firstTimestamp": "2026-12-01T09:00:00Z"},
    {"reason": "RolloutAdmitted", "message": "garbage", "firstTimestamp": "2026-12-01T10:00:05Z"}
  ]})");
  const auto requests = kube::requestsFromEventList(events);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].ns, "shop");
  EXPECT_EQ(requests[0].deployment, "pay");
  EXPECT_EQ(requests[0].user, "bob");
  kube::attachRequesters(revisions, "shop", requests);
  EXPECT_EQ(revisions[0].record.requester, "bob");
}

}  // namespace
}  // namespace budgetgate
