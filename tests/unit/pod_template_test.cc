#include "webhook/gate/pod_template.h"

#include <gtest/gtest.h>

#include "operator/common/json.h"
#include "webhook/gate/deployment_view.h"

namespace budgetgate::gate {
namespace {

json::Document parseJson(const std::string& text) {
  std::string error;
  auto doc = json::parse(text, &error);
  EXPECT_TRUE(doc.has_value()) << error;
  return doc ? std::move(*doc) : json::Document();
}

const char* kDeployment = R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "checkout", "namespace": "shop",
               "labels": {"app": "checkout", "replicas": 3},
               "annotations": {"budgetgate.dev/risk": "low", "nested": {"x": 1}}},
  "spec": {"replicas": 2,
           "template": {"metadata": {"labels": {"app": "checkout", "tier": "web"}},
                        "spec": {"containers": [{"name": "c", "image": "checkout:1.4.0"}]}}}
})";

// The ReplicaSet the Deployment controller made for that template: same template plus the
// pod-template-hash label, keys in another order.
const char* kReplicaSet = R"({
  "apiVersion": "apps/v1", "kind": "ReplicaSet",
  "metadata": {"name": "checkout-5d8f7c", "labels": {"pod-template-hash": "5d8f7c"}},
  "spec": {"template": {"spec": {"containers": [{"image": "checkout:1.4.0", "name": "c"}]},
                        "metadata": {"labels": {"tier": "web", "pod-template-hash": "5d8f7c",
                                                "app": "checkout"}}}}
})";

TEST(ReadDeployment, ReadsWhatTheGateNeeds) {
  const auto doc = parseJson(kDeployment);
  std::string error;
  const auto v = readDeployment(doc, &error);
  ASSERT_TRUE(v.has_value()) << error;
  EXPECT_EQ(v->ns, "shop");
  EXPECT_EQ(v->name, "checkout");
  EXPECT_EQ(v->labels.size(), 1u);  // the non-string label is skipped
  EXPECT_EQ(v->labels.at("app"), "checkout");
  EXPECT_EQ(v->annotations.size(), 1u);
  EXPECT_EQ(v->annotations.at("budgetgate.dev/risk"), "low");
  ASSERT_TRUE(v->templateFingerprint.has_value());
  EXPECT_EQ(v->templateFingerprint->size(), 64u);  // SHA-256 hex
}

TEST(ReadDeployment, RejectsNonObjectsAndMissingMetadata) {
  std::string error;
  EXPECT_FALSE(readDeployment(parseJson("[1]"), &error).has_value());
  EXPECT_NE(error.find("not a JSON object"), std::string::npos);
  EXPECT_FALSE(readDeployment(parseJson(R"({"spec": {}})"), &error).has_value());
  EXPECT_NE(error.find("no metadata"), std::string::npos);
  EXPECT_FALSE(readDeployment(parseJson(R"({"metadata": "x"})"), nullptr).has_value());
}

TEST(ReadDeployment, NoTemplateMeansNoFingerprint) {
  const auto v = readDeployment(parseJson(R"({"metadata": {"name": "x"}, "spec": {}})"), nullptr);
  ASSERT_TRUE(v.has_value());
  EXPECT_FALSE(v->templateFingerprint.has_value());
  EXPECT_EQ(v->ns, "");
  const auto w =
      readDeployment(parseJson(R"({"metadata": {}, "spec": {"template": []}})"), nullptr);
  ASSERT_TRUE(w.has_value());
  EXPECT_FALSE(w->templateFingerprint.has_value());
}

TEST(TemplateFingerprint, ReplicaSetOfTheSameTemplateMatchesIgnoringPodTemplateHash) {
  const auto deployment = readDeployment(parseJson(kDeployment), nullptr);
  const auto rs = replicaSetTemplate(parseJson(kReplicaSet));
  ASSERT_TRUE(rs.has_value());
  EXPECT_EQ(*rs, deployment->templateFingerprint);
}

TEST(TemplateFingerprint, AnyRealChangeDiffers) {
  const auto base = *templateFingerprint(parseJson(
      R"({"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"image": "x:1"}]}})"));
  for (
      const char* changed : {
          R"({"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"image": "x:2"}]}})",
          R"({"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"image": "x:1"}]}})",
          R"({"metadata": {"labels": {"app": "a", "v": "2"}}, "spec": {"containers": [{"image": "x:1"}]}})",
          R"({"metadata": {"labels": {"app": "a"}, "annotations": {"restartedAt": "now"}},
               "spec": {"containers": [{"image": "x:1"}]}})",
          R"({"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"image": "x:1"}, {"image": "y"}]}})",
      }) {
    EXPECT_NE(*templateFingerprint(parseJson(changed)), base) << changed;
  }
  // Key order and a pod-template-hash label do not count as changes.
  EXPECT_EQ(
      *templateFingerprint(parseJson(
          R"({"spec": {"containers": [{"image": "x:1"}]}, "metadata": {"labels": {"pod-template-hash": "abc", "app": "a"}}})")),
      base);
}

TEST(TemplateFingerprint, OnlyHashLabelIsRemovedTogetherWithTheEmptyMap) {
  const auto withHashOnly = templateFingerprint(
      parseJson(R"({"metadata": {"labels": {"pod-template-hash": "abc"}}, "spec": {}})"));
  const auto withoutLabels = templateFingerprint(parseJson(R"({"metadata": {}, "spec": {}})"));
  ASSERT_TRUE(withHashOnly.has_value());
  EXPECT_EQ(withHashOnly, withoutLabels);
}

TEST(TemplateFingerprint, NonObjects) {
  EXPECT_FALSE(templateFingerprint(parseJson("[]")).has_value());
  EXPECT_FALSE(templateFingerprint(parseJson("\"x\"")).has_value());
  EXPECT_FALSE(replicaSetTemplate(parseJson(R"({"spec": {}})")).has_value());
  // Labels of the wrong type do not trip the hash removal.
  EXPECT_TRUE(templateFingerprint(parseJson(R"({"metadata": {"labels": ["pod-template-hash"]}})"))
                  .has_value());
  EXPECT_TRUE(templateFingerprint(parseJson(R"({"metadata": "x"})")).has_value());
}

TEST(ReadStringMap, SkipsNonStrings) {
  const auto doc = parseJson(R"({"a": "1", "b": 2, "c": null, "d": "x"})");
  const auto m = readStringMap(&doc);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.at("d"), "x");
  EXPECT_TRUE(readStringMap(nullptr).empty());
  const auto arr = parseJson("[1]");
  EXPECT_TRUE(readStringMap(&arr).empty());
}

}  // namespace
}  // namespace budgetgate::gate
