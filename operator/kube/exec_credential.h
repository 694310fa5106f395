#pragma once
// kubeconfig `exec` credential plugins (client.authentication.k8s.io), as EKS, GKE and AKS use
// them: the command is run with the user's args and env (plus KUBERNETES_EXEC_INFO), its
// stdout is an ExecCredential whose status.token authenticates requests. The token is kept
// until its expirationTimestamp (less a margin) or, without one, for five minutes, so the
// plugin runs once per token, not once per request. Plugins that return only a client
// certificate are refused with a clear error.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operator/common/time.h"

namespace budgetgate::kube {

struct ExecPlugin {
  std::string apiVersion = "client.authentication.k8s.io/v1";
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string workingDir;  // the kubeconfig's directory: relative commands resolve there
  std::chrono::seconds timeout{30};
};

struct ExecCredential {
  std::string token;
  std::optional<TimePoint> expires;
};

// Parses the plugin's stdout. nullopt with *error when it is not an ExecCredential with a token
// (pure; tested on its own).
std::optional<ExecCredential> parseExecCredential(std::string_view text,
                                                  std::string_view expectedApiVersion,
                                                  std::string* error);

class ExecCredentialSource {
 public:
  explicit ExecCredentialSource(ExecPlugin plugin) : plugin_(std::move(plugin)) {}

  // The current token, running the plugin when there is none or it is about to expire. An
  // empty string when the plugin failed (logged); the request then goes without credentials
  // and the API server answers 401, which the caller reports.
  std::string token();
  long long runs() const;

 private:
  // Runs the command; its stdout, or nullopt with *error.
  std::optional<std::string> run(std::string* error) const;

  ExecPlugin plugin_;
  mutable std::mutex mutex_;
  std::string token_;
  std::chrono::system_clock::time_point validUntil_{};
  long long runs_ = 0;
};

}  // namespace budgetgate::kube
