#include "operator/kube/exec_credential.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "operator/common/json.h"

extern char** environ;

namespace budgetgate::kube {
namespace {

constexpr std::size_t kMaxOutput = 1 << 20;
// A token is renewed this long before it expires, so no request carries one that expires on
// the way.
constexpr auto kRenewBefore = std::chrono::seconds(30);
constexpr auto kWithoutExpiry = std::chrono::minutes(5);

}  // namespace

std::optional<ExecCredential> parseExecCredential(std::string_view text,
                                                  std::string_view expectedApiVersion,
                                                  std::string* error) {
  auto doc = json::parse(text, error);
  if (!doc) {
    *error = "its output is not JSON: " + *error;
    return std::nullopt;
  }
  if (json::stringOr(json::member(&*doc, "kind")) != "ExecCredential") {
    *error = "its output is not an ExecCredential";
    return std::nullopt;
  }
  const auto version = json::stringOr(json::member(&*doc, "apiVersion"));
  if (version != expectedApiVersion) {
    *error = "it answered apiVersion \"" + version + "\", the kubeconfig asks for \"" +
             std::string(expectedApiVersion) + "\"";
    return std::nullopt;
  }
  const auto* status = json::member(&*doc, "status");
  ExecCredential c;
  c.token = json::stringOr(json::member(status, "token"));
  if (c.token.empty()) {
    *error = json::member(status, "clientCertificateData") != nullptr
                 ? "it returned a client certificate; budgetgate supports exec plugins that "
                   "return a token (status.token)"
                 : "its ExecCredential has no status.token";
    return std::nullopt;
  }
  if (const auto expiry = json::stringOr(json::member(status, "expirationTimestamp"));
      !expiry.empty()) {
    c.expires = parseTime(expiry);
    if (!c.expires) {
      *error = "status.expirationTimestamp \"" + expiry + "\" is not RFC 3339";
      return std::nullopt;
    }
  }
  return c;
}

std::string ExecCredentialSource::token() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::system_clock::now();
  if (!token_.empty() && now < validUntil_) return token_;
  std::string error;
  ++runs_;
  const auto out = run(&error);
  std::optional<ExecCredential> credential;
  if (out) credential = parseExecCredential(*out, plugin_.apiVersion, &error);
  if (!credential) {
    spdlog::error("kubeconfig exec plugin {}: {}", plugin_.command, error);
    token_.clear();
    return {};
  }
  token_ = credential->token;
  // Compared in seconds, and at most a day ahead: a far-future expiry must not overflow the
  // clock's nanoseconds (year 2262), and a token is worth re-asking for daily anyway.
  const auto nowSeconds = std::chrono::time_point_cast<std::chrono::seconds>(now);
  const auto limit = nowSeconds + std::chrono::hours(24);
  const auto until = credential->expires
                         ? std::min<TimePoint>(*credential->expires - kRenewBefore, limit)
                         : nowSeconds + kWithoutExpiry;
  validUntil_ = std::chrono::time_point_cast<std::chrono::system_clock::duration>(until);
  return token_;
}

long long ExecCredentialSource::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

std::optional<std::string> ExecCredentialSource::run(std::string* error) const {
  namespace fs = std::filesystem;
  std::string command = plugin_.command;
  // A command with a slash is a path (relative ones to the kubeconfig's directory, as kubectl
  // does); a bare name is looked up in PATH.
  if (command.find('/') != std::string::npos && fs::path(command).is_relative() &&
      !plugin_.workingDir.empty()) {
    command = (fs::path(plugin_.workingDir) / command).string();
  }
  std::vector<std::string> envText;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) envText.emplace_back(*e);
  for (const auto& [k, v] : plugin_.env) envText.push_back(k + "=" + v);
  envText.push_back("KUBERNETES_EXEC_INFO={\"apiVersion\":\"" + plugin_.apiVersion +
                    "\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false}}");
  std::vector<char*> envp;
  for (auto& e : envText) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argText{command};
  argText.insert(argText.end(), plugin_.args.begin(), plugin_.args.end());
  std::vector<char*> argv;
  for (auto& a : argText) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, command.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    *error = "cannot run \"" + command + "\": " + std::strerror(rc);
    return std::nullopt;
  }
  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + plugin_.timeout;
  bool timedOut = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timedOut = true;
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const auto n = read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
    if (output.size() > kMaxOutput) break;
  }
  close(out[0]);
  if (timedOut) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (timedOut) {
    *error = "\"" + command + "\" did not finish within " +
             std::to_string(plugin_.timeout.count()) + " s";
    return std::nullopt;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = "\"" + command + "\" failed (exit " +
             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
    return std::nullopt;
  }
  if (output.size() > kMaxOutput) {
    *error = "\"" + command + "\" wrote more than 1 MiB";
    return std::nullopt;
  }
  return output;
}

}  // namespace budgetgate::kube
