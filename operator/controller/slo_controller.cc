#include "operator/controller/slo_controller.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <set>
#include <tuple>

#include "operator/common/backoff.h"
#include "operator/common/bounded_parallel.h"
#include "operator/common/json.h"
#include "operator/common/object_key.h"
#include "operator/common/sha256.h"
#include "operator/common/yaml_json.h"
#include "operator/model/policy_parser.h"
#include "operator/model/selector_cel.h"
#include "operator/model/slo_parser.h"
#include "operator/prometheus/slo_signals.h"

namespace budgetgate::controller {
namespace {

std::pair<std::string, std::string> identity(const rapidjson::Value& object) {
  const auto* meta = json::member(&object, "metadata");
  return {json::stringOr(json::member(meta, "namespace")),
          json::stringOr(json::member(meta, "name"))};
}

// What changed between two statuses, ignoring the evaluation instant itself.
std::string digest(model::SloStatus s) {
  s.lastEvaluated.reset();
  s.windowStart.reset();
  s.projectedExhaustion.reset();
  s.projectedRecovery.reset();
  for (auto& c : s.conditions) c.lastTransitionTime = TimePoint{};
  // Hashed: one is kept per SLO (the JSON is 2-3 KB).
  return sha256Hex(model::statusToJson(s));
}

// A JSON merge patch replaces the whole status: optional fields that are absent now must be
// sent as null, or the API server would keep their old values.
std::string statusPatch(const model::SloStatus& status) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value s;
  model::statusToValue(status, s, a);
  for (const char* key : {"objective", "windowStart", "errorBudget", "tierHold", "objectives",
                          "sli", "projectedExhaustion", "projectedRecovery", "recoveryByTier",
                          "lastEvaluated", "ledger", "adjustments"}) {
    if (!s.HasMember(key))
      s.AddMember(rapidjson::StringRef(key), rapidjson::Value(rapidjson::kNullType), a);
  }
  doc.AddMember("status", s, a);
  return json::toString(doc);
}

}  // namespace

SloController::SloController(const kube::KubeConfig& config, prometheus::PrometheusApi& prometheus,
                             metrics::Registry& registry, ControllerOptions options)
    : config_(config),
      client_(config),
      registry_(registry),
      options_(std::move(options)),
      writeLimiter_(options_.statusWriteQps, options_.statusWriteBurst),
      evaluator_(prometheus, options_.dataSources, options_.evaluator),
      events_(config, "budgetgate-controller"),
      namespaceLabeler_(config),
      conditionSync_(
          options_.webhookConfiguration.empty()
              ? nullptr
              : std::make_unique<WebhookConditionSync>(config, options_.webhookConfiguration)),
      fallback_(std::make_shared<engine::ErrorBudgetPolicy>(options_.fallbackPolicy)) {
  using T = metrics::Registry::Type;
  registry_.describe("budgetgate_slo_error_budget_remaining_percent", T::Gauge,
                     "Remaining error budget in percent (clamped at 0).");
  registry_.describe("budgetgate_slo_error_budget_consumed_percent", T::Gauge,
                     "Consumed error budget in percent (may exceed 100).");
  registry_.describe("budgetgate_slo_sli", T::Gauge, "Good/total ratio over the SLO window.");
  registry_.describe("budgetgate_slo_burn_rate", T::Gauge,
                     "Burn rate per window (0 when no data).");
  registry_.describe("budgetgate_slo_tier", T::Gauge,
                     "1 for the SLO's current tier, 0 for the others.");
  registry_.describe("budgetgate_slo_alert_firing", T::Gauge, "1 while a burn-rate alert fires.");
  registry_.describe("budgetgate_slo_data_available", T::Gauge,
                     "1 when the last evaluation had data.");
  registry_.describe("budgetgate_evaluation_cycles_total", T::Counter, "Evaluation cycles run.");
  registry_.describe("budgetgate_evaluation_duration_seconds", T::Gauge,
                     "Duration of the last evaluation cycle.");
  registry_.describe("budgetgate_evaluation_errors_total", T::Counter,
                     "SLO evaluations that failed (Prometheus unavailable or query rejected).");
  registry_.describe("budgetgate_prometheus_queries", T::Gauge,
                     "Queries issued by the last cycle, by kind.");
  registry_.describe("budgetgate_status_writes_total", T::Counter,
                     "Status writes by result (ok, gone, error; throttled: answers 429).");
  registry_.describe("budgetgate_evaluation_bucket_series", T::Gauge,
                     "Quantities kept as hourly bucket sums (one per distinct query, shared by "
                     "the SLOs that ask it).");
  registry_.describe("budgetgate_evaluation_bucket_bytes", T::Gauge,
                     "Memory the hourly bucket sums take.");
  registry_.describe("budgetgate_status_writes_deferred_total", T::Counter,
                     "Heartbeat status writes left to the next cycle by --status-write-qps.");
  registry_.describe("budgetgate_events_total", T::Counter, "Events recorded by reason.");
  registry_.describe("budgetgate_leader", T::Gauge, "1 while this replica holds the lease.");
  registry_.describe("budgetgate_controller_shard", T::Gauge,
                     "1, labelled with the shard this controller evaluates and the shard count.");
  registry_.describe("budgetgate_slos", T::Gauge, "SLOs known to the controller.");
}

SloController::~SloController() {
  stop();
}

void SloController::start() {
  sloInformer_ = std::make_unique<kube::Informer>(
      config_, "controller-slos", kube::kSloResource.collectionPath(),
      kube::InformerHandlers{
          [this](const rapidjson::Value& o) { onSloUpsert(o); },
          [this](const std::string& ns, const std::string& n) { onSloDelete(ns, n); },
          [this] { wake(); }});
  policyInformer_ = std::make_unique<kube::Informer>(
      config_, "controller-policies", kube::kPolicyResource.collectionPath(),
      kube::InformerHandlers{
          [this](const rapidjson::Value& o) { onPolicyUpsert(o); },
          [this](const std::string& ns, const std::string& n) { onPolicyDelete(ns, n); },
          [this] { wake(); }});
  adjustmentInformer_ = std::make_unique<kube::Informer>(
      config_, "controller-adjustments", kube::kAdjustmentResource.collectionPath(),
      kube::InformerHandlers{
          [this](const rapidjson::Value& o) { onAdjustmentUpsert(o); },
          [this](const std::string& ns, const std::string& n) { onAdjustmentDelete(ns, n); },
          [this] { wake(); }});
  sloInformer_->start();
  policyInformer_->start();
  adjustmentInformer_->start();
  if (options_.shard.sharded()) {
    options_.election.name.append("-shard-").append(std::to_string(options_.shard.index));
    spdlog::info(
        "controller shard {}: evaluating the SLOs of the namespaces it owns, leader "
        "election on Lease {}",
        options_.shard.describe(), options_.election.name);
  }
  registry_.set("budgetgate_controller_shard",
                {{"shard", std::to_string(options_.shard.index)},
                 {"shards", std::to_string(options_.shard.count)}},
                1);
  if (options_.leaderElection) {
    elector_ =
        std::make_unique<kube::LeaderElector>(config_, options_.election, [this](bool leading) {
          leading_ = leading;
          registry_.set("budgetgate_leader", {}, leading ? 1 : 0);
          if (leading) wake();
        });
    elector_->start();
  } else {
    leading_ = true;
  }
  registry_.set("budgetgate_leader", {}, leading_ ? 1 : 0);
  thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

void SloController::stop() {
  // A cycle waiting on a slow Prometheus must not hold the process past its grace period (the
  // Lease is released only after the loop ends): cut its queries short, and write nothing
  // from what they return.
  stopping_ = true;
  evaluator_.cancelAll();
  if (thread_.joinable()) {
    thread_.request_stop();
    wakeCv_.notify_all();
    thread_.join();
  }
  if (elector_) elector_->stop();
  if (sloInformer_) sloInformer_->stop();
  if (policyInformer_) policyInformer_->stop();
  if (adjustmentInformer_) adjustmentInformer_->stop();
}

bool SloController::ready() const {
  return sloInformer_ && sloInformer_->synced() && policyInformer_ && policyInformer_->synced() &&
         adjustmentInformer_ && adjustmentInformer_->synced();
}

bool SloController::healthy() const {
  const auto last =
      std::chrono::steady_clock::time_point(std::chrono::nanoseconds(lastLoopNs_.load()));
  return std::chrono::steady_clock::now() - last < options_.interval * 5 + std::chrono::minutes(5);
}

bool SloController::leading() const {
  return leading_;
}

void SloController::wake() {
  wakeRequested_ = true;
  wakeCv_.notify_all();
}

void SloController::onSloUpsert(const rapidjson::Value& object) {
  auto [ns, name] = identity(object);
  SloState incoming;
  incoming.ns = ns;
  incoming.name = name;
  incoming.uid = json::stringOr(json::path(&object, {"metadata", "uid"}));
  incoming.generation = json::asInt(json::path(&object, {"metadata", "generation"})).value_or(0);
  // Most updates are the status this controller just wrote: the same spec and metadata need no
  // parsing again (at 10,000 SLOs a pass writes 10,000 statuses and hears each one back).
  const auto canonical = [](const rapidjson::Value* v) {
    return v == nullptr ? std::string("-") : json::canonical(*v);
  };
  incoming.specFingerprint =
      sha256Hex(canonical(json::member(&object, "spec")) + '\n' +
                canonical(json::path(&object, {"metadata", "labels"})) + '\n' +
                canonical(json::path(&object, {"metadata", "annotations"})));
  {
    std::lock_guard lock(mutex_);
    if (auto it = slos_.find(objectKey(ns, name));
        it != slos_.end() && it->second.uid == incoming.uid &&
        it->second.generation == incoming.generation &&
        it->second.specFingerprint == incoming.specFingerprint) {
      if (const auto* status = json::member(&object, "status"); status && status->IsObject()) {
        it->second.serverStatus = model::statusFromJson(*status, nullptr);
      }
      return;
    }
  }
  model::Diagnostics diag(objectKey(ns, name));
  auto spec = model::parseSlo(jsonToYaml(object), diag);
  if (spec) {
    std::string problems;
    for (std::size_t i = 0; i < spec->objectives.size(); ++i) {
      std::string error;
      if (!prometheus::signalsFor(*spec, spec->objectives[i], &error)) {
        problems += fmt::format("spec.objectives[{}]: {}; ", i, error);
      }
    }
    if (!problems.empty()) {
      incoming.specError = problems;
      spec.reset();
    }
  } else {
    incoming.specError = diag.format();
  }
  incoming.spec = std::move(spec);
  if (const auto* status = json::member(&object, "status"); status && status->IsObject()) {
    incoming.serverStatus = model::statusFromJson(*status, nullptr);
  }
  bool specChanged = false;
  {
    std::lock_guard lock(mutex_);
    auto& state = slos_[objectKey(ns, name)];
    specChanged = state.generation != incoming.generation || state.uid != incoming.uid;
    incoming.writtenDigest = state.uid == incoming.uid ? state.writtenDigest : std::string();
    incoming.writtenAt =
        state.uid == incoming.uid ? state.writtenAt : std::chrono::steady_clock::time_point{};
    incoming.evaluatedGeneration = state.uid == incoming.uid ? state.evaluatedGeneration : -1;
    state = std::move(incoming);
    registry_.set("budgetgate_slos", {}, static_cast<double>(slos_.size()));
  }
  if (specChanged) wake();
}

void SloController::onSloDelete(const std::string& ns, const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    slos_.erase(objectKey(ns, name));
    registry_.set("budgetgate_slos", {}, static_cast<double>(slos_.size()));
    // No residue: its metric series go with it (its buckets go at the next cycle). Under the
    // lock, so that a cycle in flight cannot export them again afterwards.
    exportedLabels_.forget({{"namespace", ns}, {"slo", name}});
  }
  spdlog::info("SLO {}/{} deleted", ns, name);
}

void SloController::onPolicyUpsert(const rapidjson::Value& object) {
  auto [ns, name] = identity(object);
  model::Diagnostics diag(objectKey(ns, name));
  auto policy = model::parsePolicy(jsonToYaml(object), diag);
  std::lock_guard lock(mutex_);
  if (!policy) {
    spdlog::error("ErrorBudgetPolicy {}/{} is invalid and ignored:\n{}", ns, name, diag.format());
    policies_.erase(objectKey(ns, name));
    return;
  }
  policy->ns = ns;
  policies_[objectKey(ns, name)] =
      std::make_shared<const engine::ErrorBudgetPolicy>(std::move(*policy));
  wake();
}

void SloController::onPolicyDelete(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  policies_.erase(objectKey(ns, name));
}

void SloController::onAdjustmentUpsert(const rapidjson::Value& object) {
  auto [ns, name] = identity(object);
  model::Diagnostics diag(objectKey(ns, name));
  auto adjustment = model::parseBudgetAdjustment(jsonToYaml(object), diag);
  {
    std::lock_guard lock(mutex_);
    if (!adjustment) {
      adjustments_.erase(objectKey(ns, name));
    } else {
      adjustments_[objectKey(ns, name)] =
          std::make_shared<const model::BudgetAdjustment>(std::move(*adjustment));
    }
  }
  if (!diag.ok()) {
    // The CRD's schema catches most mistakes at apply time; what it cannot (a cron schedule,
    // a time zone) is reported on the object itself.
    spdlog::error("BudgetAdjustment {}/{} is invalid and ignored:\n{}", ns, name, diag.format());
    events_.record({std::string(model::kApiVersion), "BudgetAdjustment", ns, name,
                    json::stringOr(json::path(&object, {"metadata", "uid"}))},
                   "Warning", "InvalidAdjustment", "ignored: " + diag.format());
    registry_.add("budgetgate_events_total", {{"reason", "InvalidAdjustment"}});
  }
  wake();
}

void SloController::onAdjustmentDelete(const std::string& ns, const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    adjustments_.erase(objectKey(ns, name));
  }
  wake();
}

std::vector<model::SloView> SloController::views(const std::string& ns,
                                                 const std::string& name) const {
  std::vector<model::SloView> out;
  std::lock_guard lock(mutex_);
  for (const auto& [key, s] : slos_) {
    if (!ns.empty() && s.ns != ns) continue;
    if (!name.empty() && s.name != name) continue;
    model::SloView v{s.ns, s.name, s.spec, s.specError, s.serverStatus, nullptr, {}};
    if (s.spec) {
      v.policy = model::resolvePolicy(policies_, options_.policyLookup, s.ns,
                                      s.spec->gate.policyRef, fallback_);
      for (const auto& [akey, a] : adjustments_) {
        if (a->appliesTo(s.ns, s.spec->name, s.spec->labels)) v.adjustments.push_back(a);
      }
    } else {
      v.policy = fallback_;
    }
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const model::SloView& a, const model::SloView& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });
  return out;
}

std::map<std::string, std::vector<kube::WorkloadRevision>> SloController::revisionsByNamespace(
    const std::set<std::string>& namespaces) {
  std::map<std::string, std::vector<kube::WorkloadRevision>> out;
  if (namespaces.empty()) return out;
  const auto requests = kube::listRequests(client_, options_.policyLookup.gateNamespace);
  for (const auto& ns : namespaces) {
    std::string error;
    if (auto revisions = kube::listRevisions(client_, ns, &error)) {
      kube::attachRequesters(*revisions, ns, requests);
      out[ns] = std::move(*revisions);
    } else {
      // The ledger then attributes nothing to rollouts in this namespace this cycle.
      spdlog::warn("ledger: {}", error);
    }
  }
  return out;
}

void SloController::loop(std::stop_token stop) {
  auto next = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    lastLoopNs_ = std::chrono::steady_clock::now().time_since_epoch().count();
    {
      std::unique_lock lock(wakeMutex_);
      wakeCv_.wait_until(lock, stop, next, [this] { return wakeRequested_.load(); });
    }
    if (stop.stop_requested()) break;
    if (wakeRequested_.exchange(false)) {
      // Let a burst of changes (kubectl apply -f dir/) settle into one cycle.
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    lastLoopNs_ = std::chrono::steady_clock::now().time_since_epoch().count();
    if (leading_ && ready()) {
      try {
        cycle();
      } catch (const std::exception& e) {
        spdlog::error("evaluation cycle failed: {}", e.what());
      }
#if defined(__GLIBC__)
      // A cycle's transient memory (query answers, statuses, JSON) is freed across the
      // allocator's per-thread arenas, which keep it: hand the free pages back, or the
      // resident size stays at the first pass's peak (240 MB of 700 at 10,000 SLOs).
      malloc_trim(0);
#endif
    }
    next = std::chrono::steady_clock::now() + options_.interval;
  }
}

void SloController::cycle() {
  struct Item {
    std::string key;
    model::ServiceLevelObjective spec;
    std::shared_ptr<const engine::ErrorBudgetPolicy> policy;
    std::optional<model::SloStatus> previous;
    std::vector<std::shared_ptr<const model::BudgetAdjustment>> adjustments;
  };
  std::vector<Item> items;
  std::vector<std::pair<std::string, SloState>> invalid;
  std::set<std::string> gatedNamespaces;
  std::map<std::string, std::vector<model::LabelSelector>> gatingSelectors;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, s] : slos_) {
      if (s.spec && s.spec->gate.selector) {
        gatedNamespaces.insert(s.ns);
        auto& list = gatingSelectors[s.ns];
        const auto text = s.spec->gate.selector->toString();
        if (std::none_of(list.begin(), list.end(),
                         [&](const model::LabelSelector& x) { return x.toString() == text; })) {
          list.push_back(*s.spec->gate.selector);
        }
      }
      if (!options_.shard.owns(s.ns)) continue;  // another shard's
      if (!s.spec) {
        if (s.evaluatedGeneration != s.generation) invalid.emplace_back(key, s);
        continue;
      }
      Item item{key,
                *s.spec,
                model::resolvePolicy(policies_, options_.policyLookup, s.ns, s.spec->gate.policyRef,
                                     fallback_),
                s.serverStatus,
                {}};
      for (const auto& [akey, a] : adjustments_) {
        if (a->appliesTo(s.ns, s.spec->name, s.spec->labels)) item.adjustments.push_back(a);
      }
      items.push_back(std::move(item));
    }
  }
  // Cluster-wide, from every SLO: one shard does it, or the shards would take turns.
  if (options_.shard.index == 0) {
    if (options_.manageNamespaceLabels) namespaceLabeler_.reconcile(gatedNamespaces);
    if (conditionSync_) conditionSync_->reconcile(model::gatedWorkloadsCel(gatingSelectors));
  }
  const TimePoint now = nowSeconds();
  for (auto& [key, s] : invalid) {
    model::SloStatus status = s.serverStatus.value_or(model::SloStatus{});
    status.observedGeneration = s.generation;
    status.tier = engine::Tier::Unknown;
    status.message = "invalid spec: " + s.specError;
    status.setCondition({"Ready", "False", "InvalidSpec", status.message, now, s.generation});
    if (writeLimiter_.acquire(stopping_) && writeStatus(s.ns, s.name, status)) {
      std::lock_guard lock(mutex_);
      if (auto it = slos_.find(key); it != slos_.end())
        it->second.evaluatedGeneration = s.generation;
    }
  }
  if (items.empty()) return;

  std::set<std::string> ownedGated;  // this shard's: their ReplicaSets feed the ledgers
  for (const auto& ns : gatedNamespaces) {
    if (options_.shard.owns(ns)) ownedGated.insert(ns);
  }
  const auto revisions = revisionsByNamespace(ownedGated);
  std::vector<prometheus::EvaluationTarget> targets;
  targets.reserve(items.size());
  for (const auto& item : items) {
    prometheus::EvaluationTarget t{
        &item.spec, item.policy.get(), item.previous ? &*item.previous : nullptr, {}, {}};
    for (const auto& a : item.adjustments) t.adjustments.push_back(a.get());
    if (item.spec.gate.selector) {
      if (auto it = revisions.find(item.spec.ns); it != revisions.end()) {
        t.rollouts = kube::rolloutsMatching(it->second, *item.spec.gate.selector);
      }
      // Requesters come from Events that expire: keep those the status already recorded.
      if (item.previous && item.previous->ledger) {
        for (auto& r : t.rollouts) {
          if (!r.requester.empty()) continue;
          for (const auto& e : item.previous->ledger->entries) {
            if (e.rollout && e.rollout->workload == r.workload &&
                e.rollout->revision == r.revision && e.rollout->at == r.at) {
              r.requester = e.rollout->requester;
            }
          }
        }
      }
    }
    targets.push_back(std::move(t));
  }
  auto statuses = evaluator_.evaluate(targets, now);
  if (stopping_) return;  // queries were cancelled: their "failures" are not news
  {
    // A namespace policy named like one in budgetgate's namespace takes over silently
    // otherwise: say so in the status.
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto& p = *items[i].policy;
      const auto global = objectKey(options_.policyLookup.gateNamespace, p.name);
      if (!p.ns.empty() && p.ns != options_.policyLookup.gateNamespace &&
          policies_.count(global) != 0) {
        statuses[i].policyShadows = global;
      }
    }
  }
  const auto& report = evaluator_.lastCycle();
  ++cycles_;
  registry_.add("budgetgate_evaluation_cycles_total", {});
  registry_.set("budgetgate_evaluation_duration_seconds", {},
                static_cast<double>(report.duration.count()) / 1000.0);
  registry_.set("budgetgate_prometheus_queries", {{"kind", "instant"}},
                static_cast<double>(report.instantQueries));
  registry_.set("budgetgate_prometheus_queries", {{"kind", "range"}},
                static_cast<double>(report.rangeQueries));
  registry_.set("budgetgate_prometheus_queries", {{"kind", "failed"}},
                static_cast<double>(report.failedQueries));
  registry_.set("budgetgate_evaluation_bucket_series", {},
                static_cast<double>(report.bucketSeries));
  registry_.set("budgetgate_evaluation_bucket_bytes", {},
                static_cast<double>(report.bucketMemoryBytes));

  // Which statuses to write, and how urgently (decided per SLO, written below by priority).
  enum class WritePriority { TierOrSpec, Changed, Heartbeat, None };
  struct PendingWrite {
    WritePriority priority = WritePriority::None;
    std::string digest;
  };
  std::vector<PendingWrite> pending(items.size());
  runBounded(items.size(), options_.writeConcurrency, [&](std::size_t i) {
    const auto& item = items[i];
    const auto& status = statuses[i];
    {
      // An SLO deleted during the cycle must not get its metrics back.
      std::lock_guard lock(mutex_);
      if (slos_.count(item.key) == 0) return;
      exportMetrics(item.spec, status);
    }
    if (prometheus::evaluationFailed(status)) {
      registry_.add("budgetgate_evaluation_errors_total", {});
      // Loud when an SLO starts failing or its cause changes; quieter while it stays the same.
      const bool news = !item.previous || item.previous->message != status.message ||
                        item.previous->tier != status.tier;
      spdlog::log(news ? spdlog::level::warn : spdlog::level::debug, "evaluating SLO {} failed: {}",
                  item.key, status.message);
    }
    // Events on tier changes (known -> known; unknown transitions show in conditions).
    if (item.previous && item.previous->tier != status.tier) {
      const bool worse =
          engine::tierSeverity(status.tier) > engine::tierSeverity(item.previous->tier);
      const std::string reason =
          status.tier == engine::Tier::Unknown ? "DataUnavailable" : "TierChanged";
      events_.record({std::string(model::kApiVersion), "ServiceLevelObjective", item.spec.ns,
                      item.spec.name, item.spec.uid},
                     worse ? "Warning" : "Normal", reason,
                     fmt::format("tier {} -> {}: {}", engine::tierName(item.previous->tier),
                                 engine::tierName(status.tier), status.message));
      registry_.add("budgetgate_events_total", {{"reason", reason}});
    }
    // An Event for each adjustment that starts to count against (for) this SLO.
    if (status.adjustments) {
      for (const auto& x : status.adjustments->applied) {
        const bool known = item.previous && item.previous->adjustments &&
                           std::any_of(item.previous->adjustments->applied.begin(),
                                       item.previous->adjustments->applied.end(),
                                       [&](const auto& p) { return p.name == x.name; });
        if (known) continue;
        events_.record({std::string(model::kApiVersion), "ServiceLevelObjective", item.spec.ns,
                        item.spec.name, item.spec.uid},
                       "Normal", "BudgetAdjusted",
                       fmt::format("BudgetAdjustment {} ({}{}) excludes {:.0f} bad events: {:.2f}% "
                                   "of the error budget refunded",
                                   x.name, x.reason, x.reference.empty() ? "" : ", " + x.reference,
                                   x.excludedBadEvents, x.refundedPercent));
        registry_.add("budgetgate_events_total", {{"reason", "BudgetAdjusted"}});
      }
    }
    auto d = digest(status);
    std::lock_guard lock(mutex_);
    auto it = slos_.find(item.key);
    if (it == slos_.end()) return;  // deleted meanwhile
    const auto& state = it->second;
    if (state.evaluatedGeneration != item.spec.generation || !item.previous ||
        item.previous->tier != status.tier) {
      pending[i] = {WritePriority::TierOrSpec, std::move(d)};
    } else if (state.writtenDigest != d) {
      pending[i] = {WritePriority::Changed, std::move(d)};
    } else if (std::chrono::steady_clock::now() - state.writtenAt >= options_.heartbeat) {
      pending[i] = {WritePriority::Heartbeat, std::move(d)};
    }
  });

  // Writes in order of importance: a changed tier (what the gate and people act on) or a new
  // spec first, then changed figures, then heartbeats. Heartbeats only take a free token: when
  // the API server's share (statusWriteQps) is used up they wait for the next cycle.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (pending[i].priority != WritePriority::None) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return pending[a].priority < pending[b].priority;
  });
  const long long unchanged = static_cast<long long>(items.size() - order.size());
  std::atomic<long long> writes{0}, deferred{0};
  runBounded(order.size(), options_.writeConcurrency, [&](std::size_t k) {
    const auto i = order[k];
    const auto& item = items[i];
    if (pending[i].priority == WritePriority::Heartbeat ? !writeLimiter_.tryAcquire()
                                                        : !writeLimiter_.acquire(stopping_)) {
      if (!stopping_) {
        ++deferred;
        registry_.add("budgetgate_status_writes_deferred_total", {});
      }
      return;
    }
    if (writeStatus(item.spec.ns, item.spec.name, statuses[i])) {
      ++writes;
      std::lock_guard lock(mutex_);
      if (auto it = slos_.find(item.key); it != slos_.end()) {
        it->second.writtenDigest = pending[i].digest;
        it->second.writtenAt = std::chrono::steady_clock::now();
        it->second.evaluatedGeneration = item.spec.generation;
        it->second.serverStatus = statuses[i];
      }
    }
  });
  spdlog::info(
      "cycle {}: {} SLOs evaluated in {} ms ({} instant + {} range queries, {} failed); "
      "{} statuses written, {} unchanged, {} heartbeats deferred",
      cycles_.load(), items.size(), report.duration.count(), report.instantQueries,
      report.rangeQueries, report.failedQueries, writes.load(), unchanged, deferred.load());
}

bool SloController::writeStatus(const std::string& ns, const std::string& name,
                                const model::SloStatus& status) {
  const auto path = kube::kSloResource.objectPath(ns, name) + "/status";
  const auto body = statusPatch(status);
  Backoff backoff(std::chrono::milliseconds(200), std::chrono::seconds(2));
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto r = client_.patch(path, body, kube::PatchType::Merge);
    if (r.ok()) {
      registry_.add("budgetgate_status_writes_total", {{"result", "ok"}});
      return true;
    }
    if (r.notFound()) {
      registry_.add("budgetgate_status_writes_total", {{"result", "gone"}});
      return false;
    }
    if (r.transport == http::Transport::Ok && r.status == 429) {
      // The API server's priority and fairness turned the write away: counted, retried later.
      registry_.add("budgetgate_status_writes_total", {{"result", "throttled"}});
    }
    if (!r.retryable() || attempt == 3) {
      registry_.add("budgetgate_status_writes_total", {{"result", "error"}});
      spdlog::warn("writing status of SLO {}/{}: {}", ns, name, r.describe());
      return false;
    }
    // A shutdown ends the wait; the next attempt is then the last chance to save the status.
    sleepFor(backoff.next(), stopping_);
  }
  return false;
}

void SloController::exportMetrics(const model::ServiceLevelObjective& slo,
                                  const model::SloStatus& status) {
  const auto team = slo.labels.find(options_.teamLabel);
  // A changed service or team (an edited label) removes the series under the old labels first.
  const auto base =
      exportedLabels_.update({{"namespace", slo.ns}, {"slo", slo.name}},
                             {{"service", slo.service},
                              {"team", team == slo.labels.end() ? std::string() : team->second}});
  auto with = [&](const char* k, std::string_view v) {
    auto l = base;
    l[k] = std::string(v);
    return l;
  };
  const auto* data = status.condition("DataAvailable");
  registry_.set("budgetgate_slo_data_available", base, data && data->status == "True" ? 1 : 0);
  if (status.errorBudget) {
    registry_.set("budgetgate_slo_error_budget_remaining_percent", base,
                  status.errorBudget->remainingPercent());
    registry_.set("budgetgate_slo_error_budget_consumed_percent", base,
                  status.errorBudget->consumedPercent);
  }
  if (status.sli) registry_.set("budgetgate_slo_sli", base, *status.sli);
  for (auto w : engine::kBurnRateWindows) {
    registry_.set("budgetgate_slo_burn_rate", with("window", engine::windowName(w)),
                  status.burnRates.orZero(w));
  }
  for (int t = 0; t <= static_cast<int>(engine::Tier::Unknown); ++t) {
    const auto tier = static_cast<engine::Tier>(t);
    registry_.set("budgetgate_slo_tier", with("tier", engine::tierName(tier)),
                  status.tier == tier ? 1 : 0);
  }
  for (const auto& a : status.alerts) {
    auto l = with("alert", a.rule.name);
    l["severity"] = a.rule.severity;
    registry_.set("budgetgate_slo_alert_firing", l, a.firing ? 1 : 0);
  }
}

}  // namespace budgetgate::controller
