#include "webhook/api/decision_api.h"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <vector>

#include "operator/common/object_key.h"
#include "operator/common/time.h"
#include "operator/engine/burn_rate_window.h"
#include "webhook/gate/decision_query.h"
#include "webhook/server/http_query.h"

namespace budgetgate::api {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void key(Writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
void num(Writer& w, double v) {
  if (std::isfinite(v)) {
    w.Double(std::round(v * 1e4) / 1e4);
  } else {
    w.Null();
  }
}

server::HttpResponse json(int status, const rapidjson::StringBuffer& b) {
  return {status, "application/json", std::string(b.GetString(), b.GetSize()) + "\n"};
}

server::HttpResponse error(int status, std::string_view message) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  key(w, "error");
  str(w, message);
  w.EndObject();
  return json(status, b);
}

// "/api/v1/namespaces/NS/decisions" -> {"NS", "decisions", ""}; ".../slos/NAME" -> {NS, slos,
// NAME}; nullopt for any other path.
struct Route {
  std::string ns, collection, name;
};
std::optional<Route> route(std::string_view path) {
  constexpr std::string_view kPrefix = "/api/v1/namespaces/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::vector<std::string> parts;
  std::string_view rest = path.substr(kPrefix.size());
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    parts.emplace_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  if (parts.size() == 2 && parts[1] == "decisions" && !parts[0].empty()) {
    return Route{parts[0], parts[1], ""};
  }
  if (parts.size() == 3 && parts[1] == "slos" && !parts[0].empty() && !parts[2].empty()) {
    return Route{parts[0], parts[1], parts[2]};
  }
  return std::nullopt;
}

void writeSlo(Writer& w, const gate::GatedSlo& slo) {
  w.StartObject();
  key(w, "name");
  str(w, slo.name);
  key(w, "policy");
  str(w, slo.policy ? objectKey(slo.policy->ns, slo.policy->name) : "");
  if (slo.status) {
    const auto& s = *slo.status;
    key(w, "tier");
    str(w, engine::tierName(s.tier));
    if (s.errorBudget) {
      key(w, "remainingPercent");
      num(w, s.errorBudget->remainingPercentRaw());
    }
    key(w, "burnRates");
    w.StartObject();
    for (const auto win : engine::kBurnRateWindows) {
      if (auto v = s.burnRates.at(win)) {
        key(w, engine::windowName(win));
        num(w, *v);
      }
    }
    w.EndObject();
    if (s.lastEvaluated) {
      key(w, "lastEvaluated");
      str(w, formatTime(*s.lastEvaluated));
    }
    key(w, "window");
    str(w, s.window);
  } else {
    key(w, "tier");
    str(w, "unknown");
  }
  w.EndObject();
}

}  // namespace

DecisionApi::DecisionApi(cache::GateCache& cache, std::unique_ptr<RequestAuthorizer> authorizer,
                         std::set<std::string, std::less<>> exemptNamespaces)
    : cache_(cache),
      authorizer_(std::move(authorizer)),
      exemptNamespaces_(std::move(exemptNamespaces)) {}

server::HttpResponse DecisionApi::handle(const server::HttpRequest& request) {
  const auto path = std::string_view(request.target).substr(0, request.target.find('?'));
  const auto r = route(path);
  if (!r) {
    return error(404,
                 "not found: GET /api/v1/namespaces/NS/decisions?workload=KIND/NAME or "
                 "/api/v1/namespaces/NS/slos/NAME");
  }
  const bool decisionsRoute = r->collection == "decisions";
  if (request.method != "GET" && !(decisionsRoute && request.method == "POST")) {
    return error(405, "GET (or POST, for decisions)");
  }
  const auto params = server::queryParameters(request.target);
  if (!params) return error(400, "the query string has a malformed %-escape");
  const auto token = params->find("access_token");
  const auto auth = authorizer_->authorize(
      request.authorization, token == params->end() ? std::string_view() : token->second, r->ns);
  if (auth.status != 200) return error(auth.status, auth.message);
  if (!cache_.ready()) return error(503, "budgetgate's cache has not loaded yet");
  if (decisionsRoute) return decisions(request, *params, r->ns, auth.caller);
  return sloStatus(r->ns, r->name);
}

server::HttpResponse DecisionApi::decisions(const server::HttpRequest& request,
                                            const std::map<std::string, std::string>& params,
                                            const std::string& ns, const Caller& caller) {
  gate::DecisionQuery q;
  q.ns = ns;
  q.user = {caller.username, caller.groups};
  const auto workload = params.find("workload");
  const auto slash = workload == params.end() ? std::string::npos : workload->second.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == workload->second.size()) {
    return error(400,
                 "workload=KIND/NAME is required (KIND: deployment, statefulset, daemonset, "
                 "rollout)");
  }
  std::string kind = workload->second.substr(0, slash);
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::optional<gate::WorkloadKind> k;
  for (auto candidate : {gate::WorkloadKind::Deployment, gate::WorkloadKind::StatefulSet,
                         gate::WorkloadKind::DaemonSet, gate::WorkloadKind::ArgoRollout}) {
    const std::string name(gate::workloadKindName(candidate));
    if (kind == name || kind == name + "s") {
      k = candidate;
    }
  }
  if (!k) return error(400, fmt::format("workload kind \"{}\" is not one the gate judges", kind));
  q.kind = *k;
  q.name = workload->second.substr(slash + 1);
  if (auto risk = params.find("risk"); risk != params.end()) {
    auto parsed = engine::riskFromName(risk->second);
    if (!parsed) return error(400, "risk must be low, medium or high");
    q.risk = *parsed;
  }
  const auto share = params.find("trafficShare");
  const auto duration = params.find("duration");
  if ((share == params.end()) != (duration == params.end())) {
    return error(400, "projectedSpend needs both trafficShare (0-1] and duration (e.g. 30m)");
  }
  if (share != params.end()) {
    double v = 0;
    const auto& s = share->second;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !(v > 0 && v <= 1)) {
      return error(400, "trafficShare must be a number in (0, 1]");
    }
    const auto d = parseDuration(duration->second);
    if (!d || d->count() <= 0)
      return error(400, "duration must be a positive duration such as 30m");
    q.trafficShare = v;
    q.duration = *d;
  }
  const auto snapshot = cache_.snapshot();
  static const std::vector<gate::KnownWorkload> kNoWorkloads;
  static const std::vector<gate::GatedSlo> kNoSlos;
  const auto workloads = snapshot->workloadsByNamespace.find(ns);
  const auto slos = snapshot->slosByNamespace.find(ns);
  gate::GateContext ctx;
  ctx.now = nowSeconds();
  ctx.exemptNamespaces = exemptNamespaces_;
  const auto a = gate::answerDecision(
      q, workloads == snapshot->workloadsByNamespace.end() ? kNoWorkloads : workloads->second,
      slos == snapshot->slosByNamespace.end() ? kNoSlos : slos->second, ctx);
  if (!a.found) {
    return error(404, fmt::format("{} {}/{} is not known to budgetgate",
                                  gate::workloadKindName(q.kind), ns, q.name));
  }
  const auto& d = a.decision;
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  key(w, "apiVersion");
  str(w, "decisions.budgetgate.dev/v1");
  key(w, "kind");
  str(w, "Decision");
  key(w, "namespace");
  str(w, ns);
  key(w, "workload");
  w.StartObject();
  key(w, "kind");
  str(w, gate::workloadApiKind(q.kind));
  key(w, "name");
  str(w, q.name);
  w.EndObject();
  key(w, "risk");
  str(w, engine::riskName(q.risk));
  key(w, "gated");
  w.Bool(d.gated);
  key(w, "allowed");
  w.Bool(d.allowed);
  key(w, "decision");
  for (const auto& r : a.byRisk) {
    if (r.risk == q.risk) str(w, r.verdict);
  }
  key(w, "tier");
  str(w, engine::tierName(d.tier));
  key(w, "reason");
  str(w, oneLineReason(d));
  if (!d.allowed) {
    key(w, "message");
    str(w, d.message);
  }
  key(w, "decisions");
  w.StartObject();
  for (const auto& r : a.byRisk) {
    key(w, engine::riskName(r.risk));
    w.StartObject();
    key(w, "allowed");
    w.Bool(r.allowed);
    key(w, "decision");
    str(w, r.verdict);
    key(w, "reason");
    str(w, r.reason);
    w.EndObject();
  }
  w.EndObject();
  key(w, "slos");
  w.StartArray();
  for (const auto* slo : a.slos) writeSlo(w, *slo);
  w.EndArray();
  if (q.trafficShare) {
    key(w, "projectedSpend");
    w.StartArray();
    for (const auto& p : a.projected) {
      w.StartObject();
      key(w, "slo");
      str(w, p.slo);
      key(w, "trafficShare");
      num(w, *q.trafficShare);
      key(w, "duration");
      str(w, formatDuration(*q.duration));
      if (!p.note.empty()) {
        key(w, "note");
        str(w, p.note);
      } else {
        key(w, "burnRate1h");
        num(w, p.burnRate1h);
        key(w, "percentOfBudget");
        num(w, p.percentOfBudget);
        key(w, "remainingAfterPercent");
        num(w, p.remainingAfterPercent);
      }
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  // GET answers 200 with the verdict inside (an analysis reads the JSON); POST, for webhooks
  // that only look at the status (Flagger), says it with the status.
  return json(request.method == "POST" && !d.allowed ? 403 : 200, b);
}

server::HttpResponse DecisionApi::sloStatus(const std::string& ns, const std::string& name) {
  const auto snapshot = cache_.snapshot();
  const auto slos = snapshot->slosByNamespace.find(ns);
  if (slos == snapshot->slosByNamespace.end()) {
    return error(404, fmt::format("no SLO {}/{}", ns, name));
  }
  const auto it = std::find_if(slos->second.begin(), slos->second.end(),
                               [&](const gate::GatedSlo& s) { return s.name == name; });
  if (it == slos->second.end()) return error(404, fmt::format("no SLO {}/{}", ns, name));
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  key(w, "namespace");
  str(w, ns);
  key(w, "slo");
  writeSlo(w, *it);
  // The policy's matrix at the SLO's tier: what a rollout it gates would get, before
  // exceptions, approvals, requirements and freeze limits.
  if (it->status && it->policy && it->status->tier != engine::Tier::Unknown) {
    key(w, "verdictByRisk");
    w.StartObject();
    for (const auto risk : engine::kRisks) {
      key(w, engine::riskName(risk));
      str(w, engine::verdictName(it->policy->matrix.at(it->status->tier, risk)));
    }
    w.EndObject();
  }
  w.EndObject();
  return json(200, b);
}

}  // namespace budgetgate::api
