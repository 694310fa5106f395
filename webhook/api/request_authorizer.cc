#include "webhook/api/request_authorizer.h"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>

#include "operator/common/json.h"
#include "operator/common/sha256.h"

namespace budgetgate::api {
namespace {

std::string_view bearerToken(std::string_view header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size()) return {};
  // The scheme is case-insensitive (RFC 7235).
  for (std::size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(kBearer[i]))) {
      return {};
    }
  }
  auto token = header.substr(kBearer.size());
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

}  // namespace

RequestAuthorizer::RequestAuthorizer(const kube::KubeConfig& config, AuthorizerOptions options)
    : client_(config), options_(options), bucket_(options.reviewBurst), refilled_(Clock::now()) {}

bool RequestAuthorizer::takeReviewBudget() {
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  refilled_ = now;
  bucket_ = std::min(options_.reviewBurst, bucket_ + elapsed * options_.reviewsPerSecond);
  if (bucket_ < 1) return false;
  bucket_ -= 1;
  ++reviewsSent_;
  return true;
}

void RequestAuthorizer::prune(Clock::time_point now) {
  if (tokens_.size() + access_.size() < options_.maxCachedEntries) return;
  std::erase_if(tokens_, [&](const auto& e) { return e.second.expires <= now; });
  std::erase_if(access_, [&](const auto& e) { return e.second.expires <= now; });
  // Still full of live entries (a flood of distinct valid tokens): start over.
  if (tokens_.size() + access_.size() >= options_.maxCachedEntries) {
    tokens_.clear();
    access_.clear();
  }
}

Authorization RequestAuthorizer::authorize(std::string_view authorizationHeader,
                                           std::string_view queryToken, const std::string& ns) {
  std::string_view token = bearerToken(authorizationHeader);
  if (token.empty()) token = queryToken;
  if (token.empty()) {
    return {401,
            "send a Kubernetes bearer token (Authorization: Bearer TOKEN, or ?access_token=TOKEN) "
            "of an identity that may get servicelevelobjectives in the namespace",
            {}};
  }
  const std::string key = sha256Hex(token);
  const auto now = Clock::now();
  CachedToken who;
  bool known = false;
  {
    std::lock_guard lock(mutex_);
    if (auto it = tokens_.find(key); it != tokens_.end() && it->second.expires > now) {
      who = it->second;
      known = true;
    } else if (!takeReviewBudget()) {
      return {429, "too many new callers; retry in a second", {}};
    }
  }
  if (!known) {
    rapidjson::Document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    body.AddMember("apiVersion", "authentication.k8s.io/v1", a);
    body.AddMember("kind", "TokenReview", a);
    rapidjson::Value spec(rapidjson::kObjectType);
    spec.AddMember("token", json::str(std::string(token), a), a);
    body.AddMember("spec", spec, a);
    const auto r =
        client_.create("/apis/authentication.k8s.io/v1/tokenreviews", json::canonical(body));
    if (!r.ok()) return {503, "cannot review the token: " + r.describe(), {}};
    auto doc = json::parse(r.body, nullptr);
    const auto* status = doc ? json::member(&*doc, "status") : nullptr;
    who.authenticated = json::asBool(json::member(status, "authenticated")).value_or(false);
    who.caller.username = json::stringOr(json::path(status, {"user", "username"}));
    if (const auto* groups = json::path(status, {"user", "groups"}); groups && groups->IsArray()) {
      for (const auto& g : groups->GetArray()) {
        if (g.IsString()) who.caller.groups.emplace_back(g.GetString());
      }
    }
    who.message = json::stringOr(json::member(status, "error"), "the token is not valid");
    who.expires = now + (who.authenticated ? options_.validFor : options_.invalidFor);
    std::lock_guard lock(mutex_);
    prune(now);
    tokens_[key] = who;
  }
  if (!who.authenticated) return {401, "authentication failed: " + who.message, {}};

  const std::string accessKey = key + "/" + ns;
  CachedAccess access;
  bool decided = false;
  {
    std::lock_guard lock(mutex_);
    if (auto it = access_.find(accessKey); it != access_.end() && it->second.expires > now) {
      access = it->second;
      decided = true;
    } else if (!takeReviewBudget()) {
      return {429, "too many new callers; retry in a second", who.caller};
    }
  }
  if (!decided) {
    rapidjson::Document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    body.AddMember("apiVersion", "authorization.k8s.io/v1", a);
    body.AddMember("kind", "SubjectAccessReview", a);
    rapidjson::Value spec(rapidjson::kObjectType);
    spec.AddMember("user", json::str(who.caller.username, a), a);
    rapidjson::Value groups(rapidjson::kArrayType);
    for (const auto& g : who.caller.groups) groups.PushBack(json::str(g, a), a);
    spec.AddMember("groups", groups, a);
    rapidjson::Value attributes(rapidjson::kObjectType);
    attributes.AddMember("namespace", json::str(ns, a), a);
    attributes.AddMember("verb", "get", a);
    attributes.AddMember("group", "slo.budgetgate.dev", a);
    attributes.AddMember("resource", "servicelevelobjectives", a);
    spec.AddMember("resourceAttributes", attributes, a);
    body.AddMember("spec", spec, a);
    const auto r =
        client_.create("/apis/authorization.k8s.io/v1/subjectaccessreviews", json::canonical(body));
    if (!r.ok()) return {503, "cannot check access: " + r.describe(), who.caller};
    auto doc = json::parse(r.body, nullptr);
    const auto* status = doc ? json::member(&*doc, "status") : nullptr;
    access.allowed = json::asBool(json::member(status, "allowed")).value_or(false);
    access.message =
        fmt::format("{} may not get servicelevelobjectives.slo.budgetgate.dev in namespace {}{}",
                    who.caller.username, ns,
                    json::stringOr(json::member(status, "reason")).empty()
                        ? ""
                        : ": " + json::stringOr(json::member(status, "reason")));
    access.expires = now + (access.allowed ? options_.validFor : options_.invalidFor);
    std::lock_guard lock(mutex_);
    prune(now);
    access_[accessKey] = access;
  }
  if (!access.allowed) return {403, access.message, who.caller};
  return {200, {}, who.caller};
}

}  // namespace budgetgate::api
