#include "operator/kube/informer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <set>

#include "operator/common/backoff.h"
#include "operator/common/json.h"
#include "operator/common/object_key.h"
#include "operator/http/http_client.h"

namespace budgetgate::kube {
namespace {

std::pair<std::string, std::string> identity(const rapidjson::Value& object) {
  const auto* meta = json::member(&object, "metadata");
  return {json::stringOr(json::member(meta, "namespace")),
          json::stringOr(json::member(meta, "name"))};
}

std::string resourceVersionOf(const rapidjson::Value& object) {
  return json::stringOr(json::path(&object, {"metadata", "resourceVersion"}));
}

// Short enough that a restarted API server is noticed within seconds.
constexpr auto kMaxBackoff = std::chrono::milliseconds(8000);

}  // namespace

Informer::Informer(const KubeConfig& config, std::string name, std::string collectionPath,
                   InformerHandlers handlers)
    : client_(config),
      pageSize_(config.listPageSize),
      name_(std::move(name)),
      path_(std::move(collectionPath)),
      handlers_(std::move(handlers)) {}

Informer::~Informer() {
  stop();
}

void Informer::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void Informer::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  client_.cancelAll();
  thread_.join();
}

std::chrono::steady_clock::time_point Informer::lastContact() const {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(lastContactNs_.load()));
}

std::string Informer::pagePath(const std::string& continueToken) const {
  if (pageSize_ == 0) return path_;
  std::string p = path_ + (path_.find('?') == std::string::npos ? '?' : '&');
  p += "limit=" + std::to_string(pageSize_);
  if (!continueToken.empty()) p += "&continue=" + http::urlEncode(continueToken);
  return p;
}

bool Informer::list(std::string& resourceVersion) {
  ++stats_.lists;
  std::set<std::string> seen;
  std::string continueToken;
  std::string listVersion;
  int restarts = 0;
  for (;;) {
    ++stats_.pages;
    auto r = client_.get(pagePath(continueToken));
    if (r.status == 404 && notFoundIsEmpty_ && continueToken.empty()) {
      if (!reportedNotFound_) {
        spdlog::info(
            "{}: {} is not served (its CRD is not installed): nothing to watch; "
            "looking again every 30 s",
            name_, path_);
        reportedNotFound_ = true;
      }
      lastContactNs_ = std::chrono::steady_clock::now().time_since_epoch().count();
      for (const auto& [key, rv] : known_) {
        const auto slash = key.find('/');
        handlers_.onDelete(key.substr(0, slash), key.substr(slash + 1));
      }
      known_.clear();
      synced_ = true;
      if (handlers_.onSynced) handlers_.onSynced();
      return false;  // run() waits and lists again
    }
    reportedNotFound_ = false;
    if (r.status == 410 && !continueToken.empty() && restarts < 3) {
      // The continue token expired (the list took longer than etcd keeps its snapshot): begin
      // again. Objects already handed over were current; `seen` starts over so that deletions
      // are judged on one complete list.
      ++restarts;
      ++stats_.relistsAfterGone;
      spdlog::info("{}: list continuation expired; listing from the start again", name_);
      continueToken.clear();
      seen.clear();
      continue;
    }
    if (!r.ok()) {
      ++stats_.errors;
      spdlog::warn("{}: list failed: {}", name_, r.describe());
      return false;
    }
    std::string error;
    auto doc = json::parse(r.body, &error);
    const auto* items = doc ? json::member(&*doc, "items") : nullptr;
    if (items == nullptr || !items->IsArray()) {
      ++stats_.errors;
      spdlog::warn("{}: list returned no items: {}", name_, error);
      return false;
    }
    lastContactNs_ = std::chrono::steady_clock::now().time_since_epoch().count();
    for (const auto& item : items->GetArray()) {
      auto [ns, name] = identity(item);
      const std::string key = objectKey(ns, name);
      seen.insert(key);
      const auto rv = resourceVersionOf(item);
      auto it = known_.find(key);
      if (it == known_.end() || it->second != rv) {
        known_[key] = rv;
        handlers_.onUpsert(item);
      }
    }
    // Every page of one list carries the snapshot's resourceVersion; the watch resumes there.
    listVersion = json::stringOr(json::path(&*doc, {"metadata", "resourceVersion"}));
    continueToken = json::stringOr(json::path(&*doc, {"metadata", "continue"}));
    if (continueToken.empty()) break;
  }
  // Objects deleted while we were not watching.
  for (auto it = known_.begin(); it != known_.end();) {
    if (seen.count(it->first) == 0) {
      const auto slash = it->first.find('/');
      handlers_.onDelete(it->first.substr(0, slash), it->first.substr(slash + 1));
      it = known_.erase(it);
    } else {
      ++it;
    }
  }
  resourceVersion = listVersion;
  synced_ = true;
  if (handlers_.onSynced) handlers_.onSynced();
  spdlog::debug("{}: listed {} objects at resourceVersion {}", name_, known_.size(),
                resourceVersion);
  return true;
}

bool Informer::watchOnce(std::string& resourceVersion, std::stop_token& stop) {
  ++stats_.watches;
  // The server ends the watch after timeoutSeconds; bookmarks keep resourceVersion current so
  // that resuming rarely needs a relist.
  const std::string path =
      fmt::format("{}?watch=true&allowWatchBookmarks=true&timeoutSeconds=240&resourceVersion={}",
                  path_, resourceVersion);
  bool relist = false;
  auto r = client_.watch(path, std::chrono::seconds(300), [&](WatchEvent& e) {
    lastContactNs_ = std::chrono::steady_clock::now().time_since_epoch().count();
    ++stats_.events;
    if (e.type == "ERROR") {
      const auto code = json::asInt(json::member(&e.object, "code")).value_or(0);
      if (code == 410) ++stats_.relistsAfterGone;
      spdlog::info("{}: watch error {} ({}), relisting", name_, code,
                   json::stringOr(json::member(&e.object, "message")));
      relist = true;
      return false;
    }
    const auto rv = resourceVersionOf(e.object);
    if (!rv.empty()) resourceVersion = rv;
    if (e.type == "BOOKMARK") return !stop.stop_requested();
    auto [ns, name] = identity(e.object);
    const std::string key = objectKey(ns, name);
    if (e.type == "DELETED") {
      if (known_.erase(key) != 0) handlers_.onDelete(ns, name);
    } else if (e.type == "ADDED" || e.type == "MODIFIED") {
      known_[key] = rv;
      handlers_.onUpsert(e.object);
    }
    return !stop.stop_requested();
  });
  if (r.status == 410) {
    ++stats_.relistsAfterGone;
    return false;
  }
  if (!r.ok() && r.transport != http::Transport::Cancelled && !stop.stop_requested()) {
    ++stats_.errors;
    spdlog::warn("{}: watch ended: {}", name_, r.describe());
    return false;
  }
  return !relist;
}

void Informer::run(std::stop_token stop) {
  Backoff backoff(std::chrono::milliseconds(500), kMaxBackoff);
  std::string resourceVersion;
  bool needList = true;
  while (!stop.stop_requested()) {
    if (needList) {
      if (!list(resourceVersion)) {
        if (reportedNotFound_) {
          sleepFor(std::chrono::seconds(30), stop);
          continue;
        }
        sleepFor(backoff.next(), stop);
        continue;
      }
      needList = false;
    }
    const auto started = std::chrono::steady_clock::now();
    const bool ok = watchOnce(resourceVersion, stop);
    if (stop.stop_requested()) break;
    if (!ok) {
      needList = true;
      // A watch that failed straight away (API server down): back off before relisting.
      if (std::chrono::steady_clock::now() - started < std::chrono::seconds(5)) {
        sleepFor(backoff.next(), stop);
      }
      continue;
    }
    backoff.reset();
  }
}

}  // namespace budgetgate::kube
