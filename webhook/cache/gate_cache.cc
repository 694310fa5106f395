#include "webhook/cache/gate_cache.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <spdlog/spdlog.h>

#include "operator/common/json.h"
#include "operator/common/object_key.h"
#include "operator/common/yaml_json.h"
#include "operator/model/policy_parser.h"
#include "webhook/gate/deployment_view.h"

namespace budgetgate::cache {
namespace {

// What the gate reads of a workload is the same (its status may differ: not read).
bool sameWorkload(const gate::KnownWorkload& a, const gate::KnownWorkload& b) {
  const auto selector = [](const std::optional<model::LabelSelector>& s) {
    return s ? s->toString() : std::string("<none>");
  };
  return a.kind == b.kind && a.name == b.name && a.uid == b.uid && a.workloadRef == b.workloadRef &&
         a.identity.labels == b.identity.labels &&
         a.identity.templateLabels == b.identity.templateLabels &&
         selector(a.selector) == selector(b.selector);
}

std::pair<std::string, std::string> identity(const rapidjson::Value& object) {
  const auto* meta = json::member(&object, "metadata");
  return {json::stringOr(json::member(meta, "namespace")),
          json::stringOr(json::member(meta, "name"))};
}

}  // namespace

GateCache::GateCache(GateCacheOptions options)
    : options_(std::move(options)),
      fallback_(std::make_shared<engine::ErrorBudgetPolicy>(options_.fallbackPolicy)),
      snapshot_(std::make_shared<GateSnapshot>()) {}

GateCache::~GateCache() {
  stop();
}

void GateCache::start(const kube::KubeConfig& config) {
  auto sloHandlers = kube::InformerHandlers{
      [this](const rapidjson::Value& o) { upsertSlo(o); },
      [this](const std::string& ns, const std::string& n) { deleteSlo(ns, n); },
      [this] { markDirty(); }};
  informers_.push_back(std::make_unique<kube::Informer>(
      config, "webhook-slos", kube::kSloResource.collectionPath(), sloHandlers));
  informers_.push_back(std::make_unique<kube::Informer>(
      config, "webhook-policies", kube::kPolicyResource.collectionPath(),
      kube::InformerHandlers{
          [this](const rapidjson::Value& o) { upsertPolicy(o); },
          [this](const std::string& ns, const std::string& n) { deletePolicy(ns, n); },
          [this] { markDirty(); }}));
  if (options_.watchDeployments) {
    addWorkloadInformer(config, gate::WorkloadKind::Deployment, kube::kDeploymentResource);
  }
  if (options_.watchStatefulSetsAndDaemonSets) {
    addWorkloadInformer(config, gate::WorkloadKind::StatefulSet, kube::kStatefulSetResource);
    addWorkloadInformer(config, gate::WorkloadKind::DaemonSet, kube::kDaemonSetResource);
    informers_.push_back(std::make_unique<kube::Informer>(
        config, "webhook-controllerrevisions", kube::kControllerRevisionResource.collectionPath(),
        kube::InformerHandlers{[this](const rapidjson::Value& o) { upsertControllerRevision(o); },
                               [this](const std::string& ns, const std::string& n) {
                                 deleteControllerRevision(ns, n);
                               },
                               [this] { markDirty(); }}));
  }
  if (options_.watchArgoRollouts) {
    addWorkloadInformer(config, gate::WorkloadKind::ArgoRollout, kube::kArgoRolloutResource);
    informers_.back()->treatNotFoundAsEmpty();
  }
  if (options_.watchApprovals) {
    informers_.push_back(std::make_unique<kube::Informer>(
        config, "webhook-approvals", kube::kApprovalResource.collectionPath(),
        kube::InformerHandlers{
            [this](const rapidjson::Value& o) { upsertApproval(o); },
            [this](const std::string& ns, const std::string& n) { deleteApproval(ns, n); },
            [this] { markDirty(); }}));
  }
  if (options_.watchReplicaSets) {
    informers_.push_back(std::make_unique<kube::Informer>(
        config, "webhook-replicasets", kube::kReplicaSetResource.collectionPath(),
        kube::InformerHandlers{
            [this](const rapidjson::Value& o) { upsertReplicaSet(o); },
            [this](const std::string& ns, const std::string& n) { deleteReplicaSet(ns, n); },
            [this] { markDirty(); }}));
  }
  for (auto& i : informers_) i->start();
  publisherThread_ = std::jthread([this](std::stop_token stop) { publisher(stop); });
}

void GateCache::addWorkloadInformer(const kube::KubeConfig& config, gate::WorkloadKind kind,
                                    const kube::Resource& resource) {
  informers_.push_back(std::make_unique<kube::Informer>(
      config, "webhook-" + resource.plural, resource.collectionPath(),
      kube::InformerHandlers{[this, kind](const rapidjson::Value& o) { upsertWorkload(kind, o); },
                             [this, kind](const std::string& ns, const std::string& n) {
                               deleteWorkload(kind, ns, n);
                             },
                             [this] { markDirty(); }}));
}

void GateCache::stop() {
  for (auto& i : informers_) i->stop();
  if (publisherThread_.joinable()) {
    publisherThread_.request_stop();
    wake_.notify_all();
    publisherThread_.join();
  }
}

bool GateCache::ready() const {
  if (informers_.empty()) return builtAfterSync_;
  for (const auto& i : informers_) {
    if (!i->synced()) return false;
  }
  return builtAfterSync_;
}

std::shared_ptr<const GateSnapshot> GateCache::snapshot() const {
  std::lock_guard lock(snapshotMutex_);
  return snapshot_;
}

double GateCache::secondsSinceContact() const {
  auto latest = std::chrono::steady_clock::time_point{};
  for (const auto& i : informers_) latest = std::max(latest, i->lastContact());
  if (latest == std::chrono::steady_clock::time_point{}) return -1;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - latest).count();
}

void GateCache::markDirty() {
  dirty_ = true;
  wake_.notify_all();
}

void GateCache::upsertSlo(const rapidjson::Value& object) {
  auto [ns, name] = identity(object);
  SloEntry e;
  e.ns = ns;
  e.name = name;
  e.generation = json::asInt(json::path(&object, {"metadata", "generation"})).value_or(0);
  e.uid = json::stringOr(json::path(&object, {"metadata", "uid"}));
  if (const auto* gateSpec = json::path(&object, {"spec", "gate"})) {
    e.policyRef = json::stringOr(json::member(gateSpec, "policyRef"));
    if (const auto* selector = json::member(gateSpec, "selector");
        selector && selector->IsObject()) {
      model::Diagnostics diag(objectKey(ns, name));
      auto parsed = model::parseLabelSelector(
          model::Field(jsonToYaml(*selector), "spec.gate.selector", diag));
      if (diag.ok()) {
        e.selector = std::move(parsed);
      } else {
        // An unreadable selector must not silently stop gating: match nothing would do that,
        // so log loudly; the CRD schema rejects such selectors before they get here.
        spdlog::error("SLO {}: {}", objectKey(ns, name), diag.format());
      }
    }
  }
  if (const auto* status = json::member(&object, "status"); status && status->IsObject()) {
    std::vector<std::string> problems;
    e.status = model::statusFromJson(*status, &problems);
    for (const auto& p : problems) spdlog::debug("SLO {} status: {}", objectKey(ns, name), p);
  }
  {
    std::lock_guard lock(mutex_);
    slos_[objectKey(ns, name)] = std::move(e);
  }
  markDirty();
}

void GateCache::deleteSlo(const std::string& ns, const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    slos_.erase(objectKey(ns, name));
  }
  markDirty();
}

void GateCache::upsertPolicy(const rapidjson::Value& object) {
  auto [ns, name] = identity(object);
  model::Diagnostics diag(objectKey(ns, name));
  auto policy = model::parsePolicy(jsonToYaml(object), diag);
  if (!policy) {
    spdlog::error("ErrorBudgetPolicy {} is invalid and ignored:\n{}", objectKey(ns, name),
                  diag.format());
    std::lock_guard lock(mutex_);
    policies_.erase(objectKey(ns, name));
  } else {
    policy->ns = ns;
    std::lock_guard lock(mutex_);
    policies_[objectKey(ns, name)] =
        std::make_shared<const engine::ErrorBudgetPolicy>(std::move(*policy));
  }
  markDirty();
}

void GateCache::deletePolicy(const std::string& ns, const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    policies_.erase(objectKey(ns, name));
  }
  markDirty();
}

bool GateCache::storeRevision(std::map<std::string, RevisionEntry>& revisions,
                              const std::string& key, const std::string& ownerUid,
                              const std::optional<std::string>& fingerprint) {
  std::lock_guard lock(mutex_);
  if (!fingerprint) return revisions.erase(key) != 0;
  auto [it, inserted] = revisions.try_emplace(key, RevisionEntry{ownerUid, *fingerprint});
  if (inserted) return true;
  // A ReplicaSet's status changes with every Pod it starts; its template and owner do not.
  if (it->second.ownerUid == ownerUid && it->second.fingerprint == *fingerprint) return false;
  it->second = {ownerUid, *fingerprint};
  return true;
}

void GateCache::upsertReplicaSet(const rapidjson::Value& object) {
  auto [ns, name] = identity(object);
  // Only the controller owner counts, and only by UID: a name can be reused by a new object.
  std::string ownerKind;
  std::string ownerUid = gate::revisionOwnerUid(object, &ownerKind);
  if (ownerKind != "Deployment" && ownerKind != "Rollout") ownerUid.clear();
  const auto fingerprint =
      ownerUid.empty() ? std::nullopt : gate::replicaSetTemplate(object, ownerKind == "Rollout");
  if (!storeRevision(replicaSets_, objectKey(ns, name), ownerUid, fingerprint)) return;
  markDirty();
}

void GateCache::deleteReplicaSet(const std::string& ns, const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    replicaSets_.erase(objectKey(ns, name));
  }
  markDirty();
}

void GateCache::upsertControllerRevision(const rapidjson::Value& object) {
  auto [ns, name] = identity(object);
  // As for ReplicaSets: only the controller owner, by UID, and only the workload kinds whose
  // revisions these are.
  std::string ownerKind;
  std::string ownerUid = gate::revisionOwnerUid(object, &ownerKind);
  if (ownerKind != "StatefulSet" && ownerKind != "DaemonSet") ownerUid.clear();
  auto fingerprint = ownerUid.empty() ? std::nullopt : gate::controllerRevisionTemplate(object);
  if (!storeRevision(controllerRevisions_, objectKey(ns, name), ownerUid, fingerprint)) return;
  markDirty();
}

void GateCache::deleteControllerRevision(const std::string& ns, const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    controllerRevisions_.erase(objectKey(ns, name));
  }
  markDirty();
}

void GateCache::upsertWorkload(gate::WorkloadKind kind, const rapidjson::Value& object) {
  auto [ns, name] = identity(object);
  gate::KnownWorkload w;
  w.kind = kind;
  w.name = name;
  w.uid = json::stringOr(json::path(&object, {"metadata", "uid"}));
  w.identity.labels = gate::readStringMap(json::path(&object, {"metadata", "labels"}));
  if (const auto* ref = json::path(&object, {"spec", "workloadRef"});
      kind == gate::WorkloadKind::ArgoRollout && ref &&
      !json::path(&object, {"spec", "template"})) {
    w.workloadRef = json::stringOr(json::member(ref, "name"));  // resolved in rebuild()
  } else {
    w.identity.templateLabels =
        gate::readStringMap(json::path(&object, {"spec", "template", "metadata", "labels"}));
  }
  if (const auto* selector = json::path(&object, {"spec", "selector"});
      selector && selector->IsObject()) {
    model::Diagnostics diag(objectKey(ns, name));
    auto parsed =
        model::parseLabelSelector(model::Field(jsonToYaml(*selector), "spec.selector", diag));
    if (diag.ok()) w.selector = std::move(parsed);
  }
  {
    std::lock_guard lock(mutex_);
    auto& entry = workloads_[objectKey(gate::workloadKindName(kind), ns, name)];
    // Most updates are status (replicas ready, conditions): nothing the gate reads.
    if (entry.first == ns && sameWorkload(entry.second, w)) return;
    entry = {ns, std::move(w)};
  }
  markDirty();
}

void GateCache::deleteWorkload(gate::WorkloadKind kind, const std::string& ns,
                               const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    workloads_.erase(objectKey(gate::workloadKindName(kind), ns, name));
  }
  markDirty();
}

void GateCache::upsertApproval(const rapidjson::Value& object) {
  auto [ns, name] = identity(object);
  model::Diagnostics diag(objectKey(ns, name));
  auto approval = model::parseRolloutApproval(jsonToYaml(object), diag);
  {
    std::lock_guard lock(mutex_);
    if (approval) {
      approvals_[objectKey(ns, name)] = std::move(*approval);
    } else {
      // The webhook validates approvals on the way in; one written while it was away (by a
      // cluster admin) and unreadable approves nothing.
      spdlog::error("RolloutApproval {} is invalid and ignored:\n{}", objectKey(ns, name),
                    diag.format());
      approvals_.erase(objectKey(ns, name));
    }
  }
  markDirty();
}

void GateCache::deleteApproval(const std::string& ns, const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    approvals_.erase(objectKey(ns, name));
  }
  markDirty();
}

void GateCache::rebuild() {
  // Read "synced" before copying: everything an informer listed before it reported synced is
  // then in the copy, so readiness never covers a partial list.
  bool synced = true;
  for (const auto& i : informers_) synced = synced && i->synced();
  auto next = std::make_shared<GateSnapshot>();
  {
    std::lock_guard lock(mutex_);
    next->policies = policies_;
    next->fallback = fallback_;
    for (const auto& [key, e] : slos_) {
      gate::GatedSlo g;
      g.ns = e.ns;
      g.name = e.name;
      g.uid = e.uid;
      g.selector = e.selector;
      g.status = e.status;
      g.generation = e.generation;
      g.policyRef = e.policyRef;
      g.policy = model::resolvePolicy(policies_, lookup(), e.ns, e.policyRef, fallback_).get();
      next->slosByNamespace[e.ns].push_back(g);
      next->allSlos.push_back(std::move(g));
    }
    for (const auto& [key, entry] : workloads_) {
      next->workloadsByNamespace[entry.first].push_back(entry.second);
    }
    // An Argo Rollout with a workloadRef runs the Deployment's template (and its labels).
    for (auto& [ns, list] : next->workloadsByNamespace) {
      for (auto& w : list) {
        if (w.workloadRef.empty()) continue;
        for (const auto& d : list) {
          if (d.kind == gate::WorkloadKind::Deployment && d.name == w.workloadRef) {
            w.identity.templateLabels = d.identity.templateLabels;
            if (!w.selector) w.selector = d.selector;
          }
        }
      }
    }
    // Rollback recognition only ever looks up workloads an SLO selects: the snapshot carries
    // only their revisions (a cluster's tens of thousands of ReplicaSets are mostly not), and
    // those of owners the workload watches have not seen (yet: an Argo Rollout whose CRD came
    // after the webhook started is listed again only every 30 s), so that a rollback is never
    // missed because one informer is behind another.
    std::set<std::string, std::less<>> ungatedOwners;
    for (const auto& [ns, list] : next->workloadsByNamespace) {
      const auto slos = next->slosByNamespace.find(ns);
      for (const auto& w : list) {
        if (slos == next->slosByNamespace.end() ||
            std::none_of(slos->second.begin(), slos->second.end(), [&](const gate::GatedSlo& s) {
              return gate::selectsAny(s, w.identity);
            })) {
          ungatedOwners.insert(w.uid);
        }
      }
    }
    for (const auto* revisions : {&replicaSets_, &controllerRevisions_}) {
      for (const auto& [key, r] : *revisions) {
        if (ungatedOwners.count(r.ownerUid) == 0) {
          next->revisionsByOwnerUid[r.ownerUid].push_back(r.fingerprint);
          ++next->gatedRevisionCount;
        }
      }
    }
    for (const auto& [key, a] : approvals_) next->approvalsByNamespace[a.ns].push_back(a);
    next->approvalCount = approvals_.size();
    next->sloCount = slos_.size();
    next->policyCount = policies_.size();
    next->replicaSetCount = replicaSets_.size();
    next->controllerRevisionCount = controllerRevisions_.size();
    next->workloadCount = workloads_.size();
  }
  {
    std::lock_guard lock(snapshotMutex_);
    snapshot_ = std::move(next);
  }
  if (synced) builtAfterSync_ = true;
}

void GateCache::publisher(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(wakeMutex_);
      wake_.wait_for(lock, stop, std::chrono::seconds(1), [this] { return dirty_.load(); });
    }
    if (stop.stop_requested()) break;
    if (dirty_.exchange(false)) {
      const bool wasReady = builtAfterSync_;
      rebuild();
#if defined(__GLIBC__)
      // The first full list (every ReplicaSet of the cluster, page by page) leaves its pages'
      // memory free but held by the allocator: give it back once the cache is complete.
      if (!wasReady && builtAfterSync_) malloc_trim(0);
#endif
    }
    // Coalesce bursts (a relist, a controller cycle writing many statuses).
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace budgetgate::cache
