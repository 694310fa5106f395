#include "operator/kube/leader_election.h"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include "operator/common/backoff.h"
#include "operator/common/json.h"
#include "operator/common/time.h"

namespace budgetgate::kube {
namespace {

std::string microTime() {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::floor<std::chrono::seconds>(now);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now - secs).count();
  auto text = formatTime(TimePoint(secs.time_since_epoch()));
  text.pop_back();  // 'Z'
  return fmt::format("{}.{:06d}Z", text, micros);
}

}  // namespace

LeaderElector::LeaderElector(const KubeConfig& config, LeaderElectionConfig election,
                             std::function<void(bool)> onChange)
    : client_(config), election_(std::move(election)), onChange_(std::move(onChange)) {}

LeaderElector::~LeaderElector() {
  stop();
}

void LeaderElector::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void LeaderElector::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
  if (leading_) {
    release();
    setLeading(false);
  }
}

void LeaderElector::setLeading(bool leading) {
  if (leading_.exchange(leading) != leading) {
    spdlog::info("leader election: {} {} lease {}/{}", election_.identity,
                 leading ? "acquired" : "lost", election_.ns, election_.name);
    if (onChange_) onChange_(leading);
  }
}

void LeaderElector::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    const bool ok = tryAcquireOrRenew();
    const auto now = std::chrono::steady_clock::now();
    if (ok) {
      lastRenew_ = now;
      setLeading(true);
    } else if (leading_ && now - lastRenew_ > election_.renewDeadline) {
      // Could not renew in time: stop acting as leader before someone else may start.
      setLeading(false);
    }
    sleepFor(std::chrono::duration_cast<std::chrono::milliseconds>(election_.retryPeriod), stop);
  }
}

bool LeaderElector::tryAcquireOrRenew() {
  const auto path = kLeaseResource.objectPath(election_.ns, election_.name);
  auto current = client_.get(path);
  const auto now = microTime();
  if (current.notFound()) {
    const auto body = fmt::format(
        R"({{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{{"name":"{}","namespace":"{}"}},"spec":{{"holderIdentity":"{}","leaseDurationSeconds":{},"acquireTime":"{}","renewTime":"{}","leaseTransitions":0}}}})",
        election_.name, election_.ns, election_.identity, election_.leaseDuration.count(), now,
        now);
    auto r = client_.create(kLeaseResource.collectionPath(election_.ns), body);
    if (!r.ok() && !r.conflict()) spdlog::warn("leader election: creating lease: {}", r.describe());
    return r.ok();
  }
  if (!current.ok()) {
    spdlog::warn("leader election: reading lease: {}", current.describe());
    return false;
  }
  std::string error;
  auto lease = json::parse(current.body, &error);
  if (!lease || !lease->IsObject() || !lease->HasMember("spec")) {
    spdlog::warn("leader election: malformed lease: {}", error);
    return false;
  }
  auto& a = lease->GetAllocator();
  if (!(*lease)["spec"].IsObject()) (*lease)["spec"].SetObject();
  auto& spec = (*lease)["spec"];
  const auto holder = json::stringOr(json::member(&spec, "holderIdentity"));
  const auto renewTime = json::stringOr(json::member(&spec, "renewTime"));
  const auto duration = json::asInt(json::member(&spec, "leaseDurationSeconds")).value_or(15);
  const auto transitions = json::asInt(json::member(&spec, "leaseTransitions")).value_or(0);
  const auto steadyNow = std::chrono::steady_clock::now();
  const bool mine = holder == election_.identity;
  if (!mine && !holder.empty()) {
    const std::string record = holder + "|" + renewTime;
    if (record != observedRecord_) {
      observedRecord_ = record;
      observedAt_ = steadyNow;
      return false;
    }
    if (steadyNow - observedAt_ < std::chrono::seconds(duration)) return false;
    spdlog::info("leader election: lease held by {} expired, taking over", holder);
  }
  auto set = [&](const char* key, rapidjson::Value v) {
    if (spec.HasMember(key)) spec.RemoveMember(key);
    spec.AddMember(rapidjson::StringRef(key), v, a);
  };
  set("holderIdentity", json::str(election_.identity, a));
  set("leaseDurationSeconds", rapidjson::Value(static_cast<int>(election_.leaseDuration.count())));
  set("renewTime", json::str(now, a));
  if (!mine) {
    set("acquireTime", json::str(now, a));
    set("leaseTransitions", rapidjson::Value(static_cast<std::int64_t>(transitions + 1)));
  }
  // PUT carries metadata.resourceVersion: a concurrent change makes it fail with 409.
  auto r = client_.replace(path, json::toString(*lease));
  if (!r.ok() && !r.conflict()) spdlog::warn("leader election: updating lease: {}", r.describe());
  return r.ok();
}

void LeaderElector::release() {
  const auto path = kLeaseResource.objectPath(election_.ns, election_.name);
  auto current = client_.get(path);
  if (!current.ok()) return;
  std::string error;
  auto lease = json::parse(current.body, &error);
  if (!lease || !lease->IsObject() || !lease->HasMember("spec") || !(*lease)["spec"].IsObject())
    return;
  auto& spec = (*lease)["spec"];
  if (json::stringOr(json::member(&spec, "holderIdentity")) != election_.identity) return;
  spec.RemoveMember("holderIdentity");
  // A one-second lease lets the next candidate take over immediately.
  spec["leaseDurationSeconds"] = 1;
  auto r = client_.replace(path, json::toString(*lease));
  if (r.ok()) spdlog::info("leader election: released lease {}/{}", election_.ns, election_.name);
}

}  // namespace budgetgate::kube
