// StatefulSets and DaemonSets are gated like Deployments: messages name their kind, rollbacks are
// recognised from ControllerRevisions (by the owner's UID), approvals name the kind, and the
// policy's strategy requirements read spec.updateStrategy.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "operator/common/json.h"
#include "webhook/cache/gate_cache.h"
#include "webhook/gate/approval_match.h"
#include "webhook/gate/deployment_view.h"
#include "webhook/gate/gate_decision.h"
#include "webhook/gate/pod_template.h"
#include "webhook/gate/rollout_requirements.h"

namespace budgetgate::gate {
namespace {

using engine::Tier;

const TimePoint kNow = TimePoint(Seconds(1'769'817'600));  // 2026-01-31T00:00:00Z

rapidjson::Document parse(const std::string& text) {
  std::string error;
  auto doc = json::parse(text, &error);
  EXPECT_TRUE(doc.has_value()) << error;
  return std::move(*doc);
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// shop/NAME selecting app=APP, evaluated a minute ago at `tier` with `consumedPercent` spent.
GatedSlo gatedSlo(const std::string& name, const std::string& app, Tier tier,
                  double consumedPercent, const engine::ErrorBudgetPolicy* policy) {
  GatedSlo s;
  s.ns = "shop";
  s.name = name;
  model::LabelSelector sel;
  sel.matchLabels = {{"app", app}};
  s.selector = sel;
  s.policy = policy;
  model::SloStatus st;
  st.lastEvaluated = kNow - Seconds(60);
  st.tier = tier;
  engine::ErrorBudget b;
  b.total = 1000;
  b.consumed = consumedPercent * 10;
  b.consumedPercent = consumedPercent;
  st.errorBudget = b;
  s.status = st;
  return s;
}

class WorkloadKindsTest : public ::testing::Test {
 protected:
  GatedSlo slo(Tier tier) const {
    return gatedSlo("db-availability", "db", tier, tier == Tier::Exhausted ? 120 : 10, &policy);
  }
  RolloutRequest rollout(WorkloadKind kind) const {
    RolloutRequest r;
    r.kind = kind;
    r.operation = Operation::Update;
    r.ns = "shop";
    r.name = "db";
    r.identity.labels = {{"app", "db"}};
    r.identity.templateLabels = model::Labels{{"app", "db"}};
    r.oldIdentity = r.identity;
    r.change = Change::Template;
    r.newTemplate = "template-v2";
    r.previousTemplates = {"template-v1"};
    r.user = {"bob", {"devs"}};
    return r;
  }
  engine::ErrorBudgetPolicy policy;
  GateContext context{kNow, {"kube-system"}};
};

TEST_F(WorkloadKindsTest, StatefulSetsAndDaemonSetsAreGatedAndNamedByKind) {
  for (auto [kind, name] : {std::pair{WorkloadKind::StatefulSet, "statefulset"},
                            std::pair{WorkloadKind::DaemonSet, "daemonset"}}) {
    const auto denied = decide(rollout(kind), {slo(Tier::Exhausted)}, context);
    EXPECT_TRUE(denied.gated);
    EXPECT_FALSE(denied.allowed);
    EXPECT_TRUE(contains(denied.message, fmt::format("the rollout of {} shop/db", name)))
        << denied.message;
    // The way out names the rollback, as for a Deployment (not "ship it through its Deployment").
    EXPECT_TRUE(contains(denied.message, "kubectl rollout undo")) << denied.message;
    EXPECT_FALSE(contains(denied.message, "ship it through")) << denied.message;
    EXPECT_TRUE(decide(rollout(kind), {slo(Tier::Healthy)}, context).allowed);
  }
}

TEST_F(WorkloadKindsTest, ARollbackToARevisionOfTheSameObjectIsAdmitted) {
  auto r = rollout(WorkloadKind::StatefulSet);
  r.newTemplate = "template-v1";
  const auto d = decide(r, {slo(Tier::Exhausted)}, context);
  EXPECT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.exception, "rollback");
  // release-type: rollback claimed for a template that is no revision: named by kind.
  auto claimed = rollout(WorkloadKind::DaemonSet);
  claimed.annotations[std::string(kReleaseTypeAnnotation)] = "rollback";
  const auto refused = decide(claimed, {slo(Tier::Exhausted)}, context);
  EXPECT_FALSE(refused.allowed);
  ASSERT_FALSE(refused.warnings.empty());
  EXPECT_TRUE(contains(refused.warnings.front(), "this DaemonSet's controller created"))
      << refused.warnings.front();
}

TEST_F(WorkloadKindsTest, ControllerWrittenStatefulSetsAreStillJudged) {
  // Unlike Pods and ReplicaSets, a workload written by a controller's account is a rollout
  // (a GitOps tool runs as a ServiceAccount too).
  auto r = rollout(WorkloadKind::StatefulSet);
  r.byWorkloadController = true;
  EXPECT_FALSE(decide(r, {slo(Tier::Exhausted)}, context).allowed);
}

TEST_F(WorkloadKindsTest, ApprovalsNameTheKind) {
  model::RolloutApproval a;
  a.ns = "shop";
  a.workloadName = "db";
  a.workloadKind = "StatefulSet";
  EXPECT_TRUE(approvalNamesWorkload(a, rollout(WorkloadKind::StatefulSet)));
  EXPECT_FALSE(approvalNamesWorkload(a, rollout(WorkloadKind::Deployment)));
  EXPECT_FALSE(approvalNamesWorkload(a, rollout(WorkloadKind::DaemonSet)));
  a.workloadKind = "Deployment";
  EXPECT_FALSE(approvalNamesWorkload(a, rollout(WorkloadKind::StatefulSet)));
}

TEST_F(WorkloadKindsTest, UpdateStrategyRequirements) {
  engine::RolloutRequirements req;
  req.maxUnavailable = "1";
  auto r = rollout(WorkloadKind::StatefulSet);
  r.strategy = RolloutStrategy{"spec.updateStrategy", "RollingUpdate", "2", "0", 5};
  auto unmet = unmetRequirements(req, r);
  ASSERT_EQ(unmet.size(), 1u);
  EXPECT_EQ(unmet.front(),
            "spec.updateStrategy.rollingUpdate.maxUnavailable at most 1 (is 2: 2 of 5 replicas)");
  r.strategy->maxUnavailable = "1";
  EXPECT_TRUE(unmetRequirements(req, r).empty());
  // A DaemonSet's Pod count is unknown: same units compare, mixed ones are unmet and say why.
  auto ds = rollout(WorkloadKind::DaemonSet);
  ds.strategy = RolloutStrategy{"spec.updateStrategy", "RollingUpdate", "1", "0", 0};
  EXPECT_TRUE(unmetRequirements(req, ds).empty());
  ds.strategy->maxUnavailable = "3";
  EXPECT_EQ(unmetRequirements(req, ds).size(), 1u);
  ds.strategy->maxUnavailable = "10%";
  unmet = unmetRequirements(req, ds);
  ASSERT_EQ(unmet.size(), 1u);
  EXPECT_TRUE(contains(unmet.front(), "a count and a percentage cannot be compared"))
      << unmet.front();
  req.maxUnavailable = "20%";
  EXPECT_TRUE(unmetRequirements(req, ds).empty());
}

TEST_F(WorkloadKindsTest, ProgressiveRequirement) {
  engine::RolloutRequirements req;
  req.progressive = true;
  auto argo = rollout(WorkloadKind::ArgoRollout);
  argo.strategy = RolloutStrategy{"spec.strategy", "Canary", "25%", "25%", 4};
  auto unmet = unmetRequirements(req, argo);
  ASSERT_EQ(unmet.size(), 1u);
  EXPECT_EQ(unmet.front(),
            "a progressive rollout: spec.strategy.canary with steps (is a canary without steps)");
  argo.strategy->canarySteps = 2;
  EXPECT_TRUE(unmetRequirements(req, argo).empty());
  argo.strategy->type = "BlueGreen";
  EXPECT_EQ(unmetRequirements(req, argo).size(), 1u);
  auto dep = rollout(WorkloadKind::Deployment);
  dep.strategy = RolloutStrategy{"spec.strategy", "Recreate", "25%", "25%", 4};
  unmet = unmetRequirements(req, dep);
  ASSERT_EQ(unmet.size(), 1u);
  EXPECT_EQ(unmet.front(), "a progressive rollout: spec.strategy.type RollingUpdate (is Recreate)");
  dep.strategy->type = "RollingUpdate";
  EXPECT_TRUE(unmetRequirements(req, dep).empty());
  // A canary's own bounds count like a rolling update's.
  req.maxSurge = "1";
  argo.strategy->type = "Canary";
  EXPECT_TRUE(unmetRequirements(req, argo).empty());  // 25% of 4 rounds up to 1
  argo.strategy->maxSurge = "50%";
  unmet = unmetRequirements(req, argo);
  ASSERT_EQ(unmet.size(), 1u);
  EXPECT_EQ(unmet.front(), "spec.strategy.canary.maxSurge at most 1 (is 50%: 2 of 4 replicas)");
}

TEST(ControllerRevisionTemplate, EqualsTheWorkloadTemplatesFingerprint) {
  const std::string tpl =
      R"({"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"db","image":"db:1"}]}})";
  const auto revision =
      parse(R"({"data":{"spec":{"template":{"$patch":"replace",)" + tpl.substr(1) + "}}}");
  const auto fp = controllerRevisionTemplate(revision);
  ASSERT_TRUE(fp);
  EXPECT_EQ(*fp, *templateFingerprint(parse(tpl)));
  EXPECT_FALSE(controllerRevisionTemplate(parse(R"({"data":{"spec":{}}})")));
  EXPECT_FALSE(controllerRevisionTemplate(parse(R"({"data":"x"})")));
}

// An SLO in shop gating app=APP (the snapshot carries only gated workloads' revisions).
void gateApp(cache::GateCache& cache, const std::string& app) {
  cache.upsertSlo(parse(R"({"metadata":{"namespace":"shop","name":")" + app +
                        R"("},"spec":{"gate":{"selector":{"matchLabels":{"app":")" + app +
                        R"("}}}}})"));
}

TEST(GateCacheRevisions, ControllerRevisionsCountOnlyForTheirControllerByUid) {
  cache::GateCache cache{cache::GateCacheOptions{}};
  gateApp(cache, "db");
  cache.upsertWorkload(WorkloadKind::StatefulSet, parse(R"({"metadata":{"namespace":"shop",
      "name":"db","uid":"sts-1"},"spec":{"selector":{"matchLabels":{"app":"db"}},
      "template":{"metadata":{"labels":{"app":"db"}}}}})"));
  // A Deployment of the same name is another workload, not a replacement.
  cache.upsertDeployment(parse(R"({"metadata":{"namespace":"shop","name":"db","uid":"dep-1"},
      "spec":{"template":{"metadata":{"labels":{"app":"db"}}}}})"));
  const auto revision = [](const std::string& name, const std::string& owner) {
    return R"({"metadata":{"namespace":"shop","name":")" + name + R"(","ownerReferences":[)" +
           owner +
           R"(]},"data":{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"db"}},
           "spec":{"containers":[{"name":"db","image":"db:1"}]}}}},"revision":1})";
  };
  cache.upsertControllerRevision(parse(revision(
      "db-1",
      R"({"apiVersion":"apps/v1","kind":"StatefulSet","name":"db","uid":"sts-1","controller":true})")));
  cache.upsertControllerRevision(parse(revision(
      "db-2", R"({"apiVersion":"apps/v1","kind":"StatefulSet","name":"db","uid":"sts-1"})")));
  cache.upsertControllerRevision(parse(revision(
      "db-3",
      R"({"apiVersion":"apps/v1","kind":"Deployment","name":"db","uid":"dep-1","controller":true})")));
  cache.rebuild();
  auto snap = cache.snapshot();
  ASSERT_EQ(snap->revisionsByOwnerUid.count("sts-1"), 1u);
  EXPECT_EQ(snap->revisionsByOwnerUid.at("sts-1").size(), 1u);
  EXPECT_EQ(snap->revisionsByOwnerUid.count("dep-1"), 0u);
  EXPECT_EQ(snap->controllerRevisionCount, 1u);
  EXPECT_EQ(snap->workloadsByNamespace.at("shop").size(), 2u);
  cache.deleteWorkload(WorkloadKind::StatefulSet, "shop", "db");
  cache.deleteControllerRevision("shop", "db-1");
  cache.rebuild();
  snap = cache.snapshot();
  EXPECT_EQ(snap->revisionsByOwnerUid.count("sts-1"), 0u);
  ASSERT_EQ(snap->workloadsByNamespace.at("shop").size(), 1u);
  EXPECT_EQ(snap->workloadsByNamespace.at("shop").front().kind, WorkloadKind::Deployment);
}

TEST(PodDefaults, ARolloutTemplateEqualsItsDefaultedReplicaSetTemplate) {
  // As written in a Rollout, and as the API server stores it in the ReplicaSet Argo creates.
  const auto written = parse(R"({"metadata":{"labels":{"app":"web"}},"spec":{"containers":[
      {"name":"app","image":"registry.example/web:1.0","ports":[{"containerPort":8080}],
       "readinessProbe":{"httpGet":{"path":"/","port":8080}}},
      {"name":"sidecar","image":"registry.example/proxy"}],
      "volumes":[{"name":"cfg","configMap":{"name":"web"}}]}})");
  const auto defaulted = parse(R"({"metadata":{"creationTimestamp":null,"labels":{"app":"web",
      "rollouts-pod-template-hash":"6d4b8c"}},"spec":{"containers":[
      {"name":"app","image":"registry.example/web:1.0","imagePullPolicy":"IfNotPresent",
       "ports":[{"containerPort":8080,"protocol":"TCP"}],"resources":{},
       "readinessProbe":{"httpGet":{"path":"/","port":8080,"scheme":"HTTP"},"timeoutSeconds":1,
         "periodSeconds":10,"successThreshold":1,"failureThreshold":3},
       "terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"},
      {"name":"sidecar","image":"registry.example/proxy","imagePullPolicy":"Always",
       "resources":{},"terminationMessagePath":"/dev/termination-log",
       "terminationMessagePolicy":"File"}],
      "volumes":[{"name":"cfg","configMap":{"name":"web","defaultMode":420}}],
      "restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst",
      "securityContext":{},"schedulerName":"default-scheduler"}})");
  EXPECT_NE(templateFingerprint(written), templateFingerprint(defaulted));
  EXPECT_EQ(templateFingerprintWithoutDefaults(written),
            templateFingerprintWithoutDefaults(defaulted));
  // Only defaults go: a value other than the default still counts.
  auto changed = parse(R"({"metadata":{"labels":{"app":"web"}},"spec":{"containers":[
      {"name":"app","image":"registry.example/web:1.0","ports":[{"containerPort":8080}],
       "readinessProbe":{"httpGet":{"path":"/","port":8080}}},
      {"name":"sidecar","image":"registry.example/proxy","imagePullPolicy":"IfNotPresent"}],
      "volumes":[{"name":"cfg","configMap":{"name":"web"}}]}})");
  EXPECT_NE(templateFingerprintWithoutDefaults(changed),
            templateFingerprintWithoutDefaults(written));
  changed = parse(R"({"metadata":{"labels":{"app":"web"}},"spec":{"terminationGracePeriodSeconds":5,
      "containers":[{"name":"app","image":"registry.example/web:1.0","ports":[{"containerPort":8080}],
       "readinessProbe":{"httpGet":{"path":"/","port":8080}}},
      {"name":"sidecar","image":"registry.example/proxy"}],
      "volumes":[{"name":"cfg","configMap":{"name":"web"}}]}})");
  EXPECT_NE(templateFingerprintWithoutDefaults(changed),
            templateFingerprintWithoutDefaults(written));
}

TEST_F(WorkloadKindsTest, ArgoRolloutsAreGatedByKind) {
  const auto d = decide(rollout(WorkloadKind::ArgoRollout), {slo(Tier::Exhausted)}, context);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(contains(d.message, "the rollout of rollout shop/db")) << d.message;
  EXPECT_EQ(workloadApiVersion(WorkloadKind::ArgoRollout), "argoproj.io/v1alpha1");
  EXPECT_EQ(rolledWorkloadKind("Rollout"), WorkloadKind::ArgoRollout);
  EXPECT_FALSE(rolledWorkloadKind("ReplicaSet"));
}

TEST(GateCacheRevisions, ARolloutsWorkloadRefLendsItTheDeploymentsTemplateLabels) {
  cache::GateCache cache{cache::GateCacheOptions{}};
  gateApp(cache, "web");  // selects the Rollout only through the template labels it borrows
  cache.upsertDeployment(parse(R"({"metadata":{"namespace":"shop","name":"web-template",
      "uid":"dep-1"},"spec":{"replicas":0,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}}}}})"));
  cache.upsertWorkload(WorkloadKind::ArgoRollout, parse(R"({"metadata":{"namespace":"shop",
      "name":"web","uid":"ro-1"},"spec":{"workloadRef":{"apiVersion":"apps/v1",
      "kind":"Deployment","name":"web-template"}}})"));
  // A ReplicaSet Argo created (controller: the Rollout, by UID), defaulted by the API server.
  cache.upsertReplicaSet(parse(R"({"metadata":{"namespace":"shop","name":"web-1",
      "ownerReferences":[{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":"web",
      "uid":"ro-1","controller":true}]},"spec":{"template":{"metadata":{"labels":{"app":"web",
      "rollouts-pod-template-hash":"abc"}},"spec":{"containers":[{"name":"app","image":"w:1",
      "imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always"}}}})"));
  cache.rebuild();
  const auto snap = cache.snapshot();
  const auto& list = snap->workloadsByNamespace.at("shop");
  const auto rollout = std::find_if(list.begin(), list.end(), [](const KnownWorkload& w) {
    return w.kind == WorkloadKind::ArgoRollout;
  });
  ASSERT_NE(rollout, list.end());
  ASSERT_TRUE(rollout->identity.templateLabels);
  EXPECT_EQ(rollout->identity.templateLabels->at("app"), "web");
  ASSERT_TRUE(rollout->selector);  // the Deployment's, for the Pods it would adopt
  ASSERT_EQ(snap->revisionsByOwnerUid.count("ro-1"), 1u);
  EXPECT_EQ(
      snap->revisionsByOwnerUid.at("ro-1").front(),
      *templateFingerprintWithoutDefaults(parse(
          R"({"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"w:1"}]}})")));
}

}  // namespace
}  // namespace budgetgate::gate

#include "webhook/gate/decision_query.h"

namespace budgetgate::gate {
namespace {

TEST(DecisionQuery, DecidesEachRiskAndProjectsACanarysSpend) {
  engine::ErrorBudgetPolicy policy;
  GatedSlo slo = gatedSlo("web-availability", "web", Tier::Healthy, 40, &policy);
  slo.status->window = "30d";
  slo.status->burnRates.set(engine::BurnRateWindow::H1, 2.0);
  KnownWorkload web;
  web.kind = WorkloadKind::Deployment;
  web.name = "web";
  web.identity.labels = {{"app", "web"}};
  web.identity.templateLabels = model::Labels{{"app", "web"}};
  DecisionQuery q;
  q.ns = "shop";
  q.name = "web";
  q.trafficShare = 0.1;
  q.duration = Seconds(3 * 3600);
  GateContext ctx{kNow, {"kube-system"}};
  auto a = answerDecision(q, {web}, {slo}, ctx);
  ASSERT_TRUE(a.found);
  EXPECT_TRUE(a.decision.gated);
  EXPECT_TRUE(a.decision.allowed);
  ASSERT_EQ(a.byRisk.size(), 3u);
  ASSERT_EQ(a.slos.size(), 1u);
  ASSERT_EQ(a.projected.size(), 1u);
  // By hand: 100 x burn 2 x share 0.1 x 3h / 720h = 0.08333 % of the budget; 60 % remain before.
  EXPECT_NEAR(a.projected[0].percentOfBudget, 100.0 * 2 * 0.1 * 3 / 720, 1e-9);
  EXPECT_NEAR(a.projected[0].remainingAfterPercent, 60 - 100.0 * 2 * 0.1 * 3 / 720, 1e-9);
  // Exhausted: every risk refused under the default matrix, with the rule as the reason.
  slo.status->tier = Tier::Exhausted;
  a = answerDecision(q, {web}, {slo}, ctx);
  for (const auto& r : a.byRisk) {
    EXPECT_FALSE(r.allowed) << engine::riskName(r.risk);
    EXPECT_NE(r.reason.find("tier exhausted"), std::string::npos) << r.reason;
  }
  // Unknown workload, or one of another kind with the same name.
  q.kind = WorkloadKind::StatefulSet;
  EXPECT_FALSE(answerDecision(q, {web}, {slo}, ctx).found);
  // A calendar window has no fixed length to project over.
  q.kind = WorkloadKind::Deployment;
  slo.status->window = "1M";
  a = answerDecision(q, {web}, {slo}, ctx);
  ASSERT_EQ(a.projected.size(), 1u);
  EXPECT_FALSE(a.projected[0].note.empty());
}

}  // namespace
}  // namespace budgetgate::gate
