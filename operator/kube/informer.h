#pragma once
// List + watch of one resource type, kept running on its own thread: resumes from the last
// resourceVersion (bookmarks keep it fresh), relists on 410 Gone, and backs off on errors.
// Handlers see every object once per change and a delete for every object that disappeared,
// also when the disappearance happened while the watch was down.

#include <rapidjson/document.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "operator/kube/kube_client.h"

namespace budgetgate::kube {

struct InformerHandlers {
  std::function<void(const rapidjson::Value& object)> onUpsert;
  std::function<void(const std::string& ns, const std::string& name)> onDelete;
  std::function<void()> onSynced;  // after every complete list
};

struct InformerStats {
  std::atomic<long long> lists{0};
  std::atomic<long long> pages{0};  // list responses (several per list when paginated)
  std::atomic<long long> watches{0};
  std::atomic<long long> events{0};
  std::atomic<long long> relistsAfterGone{0};
  std::atomic<long long> errors{0};
};

class Informer {
 public:
  // `collectionPath` lists every object (e.g. kSloResource.collectionPath()). The informer has
  // a client of its own so that stopping it cancels only its own watch.
  Informer(const KubeConfig& config, std::string name, std::string collectionPath,
           InformerHandlers handlers);

  // For a custom resource that may not be installed (Argo Rollouts' Rollout): a list answered
  // 404 counts as an empty, synced list (the kind cannot exist, so there is nothing to know),
  // and the informer lists again every 30 s until the resource appears. Call before start().
  void treatNotFoundAsEmpty() { notFoundIsEmpty_ = true; }
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void start();
  void stop();
  bool synced() const { return synced_; }
  std::chrono::steady_clock::time_point lastContact() const;
  const InformerStats& stats() const { return stats_; }

 private:
  void run(std::stop_token stop);
  bool list(std::string& resourceVersion);
  // Returns false when a relist is needed (410 Gone or an ERROR event).
  bool watchOnce(std::string& resourceVersion, std::stop_token& stop);

  // The collection path with limit (and continue) for one page.
  std::string pagePath(const std::string& continueToken) const;

  KubeClient client_;
  std::size_t pageSize_;
  std::string name_;
  std::string path_;
  InformerHandlers handlers_;
  std::atomic<bool> synced_{false};
  bool notFoundIsEmpty_ = false;
  bool reportedNotFound_ = false;
  std::atomic<long long> lastContactNs_{0};
  std::map<std::string, std::string> known_;  // "ns/name" -> resourceVersion
  InformerStats stats_;
  std::jthread thread_;
};

}  // namespace budgetgate::kube
