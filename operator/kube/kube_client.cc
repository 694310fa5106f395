#include "operator/kube/kube_client.h"

#include <fmt/format.h>
#include <strings.h>

#include "operator/common/json.h"

namespace budgetgate::kube {
namespace {

// The message of a metav1.Status body, when there is one.
std::string statusMessage(const std::string& body) {
  std::string ignored;
  auto doc = json::parse(body, &ignored);
  if (!doc) return body.substr(0, 200);
  return json::stringOr(json::member(&*doc, "message"), body.substr(0, 200));
}

ApiResult fromResponse(http::Response&& r) {
  ApiResult out;
  out.transport = r.transport;
  out.status = r.status;
  out.body = std::move(r.body);
  for (const auto& [name, value] : r.headers) {
    if (name.size() != 7 || strncasecmp(name.c_str(), "warning", 7) != 0) continue;
    // 299 - "text": the text between the first and the last quote.
    const auto open = value.find('"');
    const auto close = value.rfind('"');
    out.warnings.push_back(open != std::string::npos && close > open
                               ? value.substr(open + 1, close - open - 1)
                               : value);
  }
  if (r.transport != http::Transport::Ok) {
    out.error = r.error;
  } else if (r.status < 200 || r.status >= 300) {
    out.error = statusMessage(out.body);
  }
  return out;
}

}  // namespace

bool ApiResult::retryable() const {
  if (transport == http::Transport::Cancelled) return false;
  if (transport != http::Transport::Ok) return true;
  return status == 409 || status == 429 || status >= 500;
}

std::string ApiResult::describe() const {
  if (transport != http::Transport::Ok)
    return fmt::format("{}: {}", http::transportName(transport), error);
  if (ok()) return fmt::format("HTTP {}", status);
  return fmt::format("HTTP {}: {}", status, error);
}

std::string Resource::collectionPath(const std::string& ns) const {
  const std::string prefix =
      group.empty() ? fmt::format("/api/{}", version) : fmt::format("/apis/{}/{}", group, version);
  if (namespaced && !ns.empty()) return fmt::format("{}/namespaces/{}/{}", prefix, ns, plural);
  return fmt::format("{}/{}", prefix, plural);
}

std::string Resource::objectPath(const std::string& ns, const std::string& name) const {
  return fmt::format("{}/{}", collectionPath(ns), name);
}

KubeClient::KubeClient(const KubeConfig& config) : config_(config), client_(config.http) {}

ApiResult KubeClient::call(const http::Request& request) {
  return fromResponse(client_.send(request));
}

ApiResult KubeClient::get(const std::string& path) {
  return call({"GET", path, "", "", {{"Accept", "application/json"}}});
}

ApiResult KubeClient::create(const std::string& path, const std::string& body) {
  return call({"POST", path, body, "application/json", {{"Accept", "application/json"}}});
}

ApiResult KubeClient::replace(const std::string& path, const std::string& body) {
  return call({"PUT", path, body, "application/json", {{"Accept", "application/json"}}});
}

ApiResult KubeClient::patch(const std::string& path, const std::string& body, PatchType type) {
  const char* contentType = type == PatchType::Merge       ? "application/merge-patch+json"
                            : type == PatchType::JsonPatch ? "application/json-patch+json"
                            : type == PatchType::Apply     ? "application/apply-patch+yaml"
                                                       : "application/strategic-merge-patch+json";
  return call({"PATCH", path, body, contentType, {{"Accept", "application/json"}}});
}

ApiResult KubeClient::remove(const std::string& path) {
  return call({"DELETE", path, "", "", {{"Accept", "application/json"}}});
}

ApiResult KubeClient::watch(const std::string& path, std::chrono::milliseconds idleTimeout,
                            const std::function<bool(WatchEvent&)>& onEvent) {
  std::string buffer;
  std::string malformed;
  bool stopped = false;
  http::Request request{"GET", path, "", "", {{"Accept", "application/json"}}};
  auto response = client_.stream(request, idleTimeout, [&](std::string_view chunk) {
    buffer.append(chunk);
    std::size_t start = 0;
    for (auto nl = buffer.find('\n', start); nl != std::string::npos;
         nl = buffer.find('\n', start)) {
      std::string_view line(buffer.data() + start, nl - start);
      start = nl + 1;
      if (line.empty()) continue;
      std::string error;
      auto doc = json::parse(line, &error);
      if (!doc || !doc->IsObject()) {
        malformed = "malformed watch event: " + error;
        return false;
      }
      WatchEvent event;
      event.type = json::stringOr(json::member(&*doc, "type"));
      if (auto it = doc->FindMember("object"); it != doc->MemberEnd()) {
        event.object.CopyFrom(it->value, event.object.GetAllocator());
      }
      if (!onEvent(event)) {
        stopped = true;
        return false;
      }
    }
    buffer.erase(0, start);
    return true;
  });
  auto result = fromResponse(std::move(response));
  if (!malformed.empty() && !stopped) result.error = malformed;
  return result;
}

}  // namespace budgetgate::kube
