#include "operator/statuspage/status_page.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "operator/common/json.h"
#include "operator/common/object_key.h"
#include "operator/engine/budget_burn_down.h"
#include "operator/prometheus/slo_evaluator.h"
#include "operator/statuspage/html.h"
#include "webhook/server/http_query.h"

namespace budgetgate::statuspage {
namespace {

// No script may run, nothing is loaded from elsewhere, the page cannot be framed: what a
// namespace editor writes into an SLO can at worst be text.
constexpr std::string_view kSecurityPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

server::HttpResponse htmlResponse(int status, std::string body) {
  server::HttpResponse r;
  r.status = status;
  r.contentType = "text/html; charset=utf-8";
  r.body = std::move(body);
  r.headers = {{"Content-Security-Policy", std::string(kSecurityPolicy)},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-store"}};
  return r;
}

// The path's segments, each percent-decoded; nullopt for a malformed escape.
std::optional<std::vector<std::string>> pathSegments(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    const auto next = path.find('/', i);
    const auto end = next == std::string_view::npos ? path.size() : next;
    if (end > i) {
      auto segment = server::percentDecode(path.substr(i, end - i), false);
      if (!segment) return std::nullopt;
      out.push_back(std::move(*segment));
    }
    i = end + 1;
  }
  return out;
}

}  // namespace

server::HttpResponse errorPage(int status, const std::string& message) {
  return htmlResponse(
      status, page(fmt::format("budgetgate: {}", status), "<a href=\"/\">all SLOs</a>",
                   "<h1>" + std::to_string(status) + "</h1><p>" + escape(message) + "</p>", ""));
}

StatusPage::StatusPage(StatusPageOptions options, ViewSource views, const kube::KubeConfig& config,
                       prometheus::PrometheusApi& prometheus,
                       std::unique_ptr<api::RequestAuthorizer> authorizer)
    : options_(std::move(options)),
      views_(std::move(views)),
      client_(config),
      prometheus_(prometheus),
      authorizer_(std::move(authorizer)) {}

server::HttpResponse StatusPage::handle(const server::HttpRequest& request) {
  if (request.method != "GET") {
    auto r = errorPage(405, "The status page is read-only: GET only.");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  const std::string_view target = request.target;
  const auto segmentsOrError = pathSegments(target.substr(0, target.find('?')));
  const auto params = server::queryParameters(target);
  if (!segmentsOrError || !params) return errorPage(400, "Malformed percent-encoding.");
  const auto& segments = *segmentsOrError;

  std::string ns;
  std::string slo;
  if (segments.empty()) {
  } else if (segments.size() == 2 && segments[0] == "namespaces") {
    ns = segments[1];
  } else if (segments.size() == 4 && segments[0] == "namespaces" && segments[2] == "slos") {
    ns = segments[1];
    slo = segments[3];
  } else {
    return errorPage(404, "No such page. Pages: /, /namespaces/NS/, /namespaces/NS/slos/NAME.");
  }
  if (authorizer_) {
    // Tokens only in the Authorization header: a token in a URL ends up in histories and logs.
    const auto a = authorizer_->authorize(request.authorization, "", ns);
    if (a.status != 200) {
      auto r = errorPage(a.status, a.message);
      if (a.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
      if (a.status == 429) r.headers.emplace_back("Retry-After", "1");
      return r;
    }
  }
  if (!slo.empty()) return sloPage(ns, slo);
  const auto group = params->find("group");
  const auto grouping = parseGrouping(group == params->end() ? "" : group->second);
  if (!grouping) return errorPage(400, "group= takes namespace, service or team");
  return overview(ns, *grouping);
}

PageContext StatusPage::context(const std::string& ns) const {
  PageContext c;
  c.now = nowSeconds();
  c.teamLabel = options_.teamLabel;
  c.scopeNamespace = ns;
  c.footer =
      fmt::format("rendered by {} at {}",
                  options_.identity.empty() ? "budgetgate" : options_.identity, formatTime(c.now));
  return c;
}

server::HttpResponse StatusPage::overview(const std::string& ns, Grouping grouping) {
  const auto views = views_(ns, {});
  return htmlResponse(200, renderOverview(views, events(), grouping, context(ns)));
}

server::HttpResponse StatusPage::sloPage(const std::string& ns, const std::string& name) {
  const auto views = views_(ns, name);
  const auto it = std::find_if(views.begin(), views.end(),
                               [&](const model::SloView& v) { return v.name == name; });
  if (it == views.end()) {
    return errorPage(404, fmt::format("No ServiceLevelObjective {}/{}.", ns, name));
  }
  const auto all = events();
  static const std::vector<SloEvent> kNone;
  const auto e = all.find(objectKey(ns, name));
  return htmlResponse(
      200, renderSloPage(*it, e == all.end() ? kNone : e->second, burnDown(*it), context(ns)));
}

SloEvents StatusPage::events() {
  std::lock_guard lock(eventsMutex_);
  const auto now = std::chrono::steady_clock::now();
  if (now < eventsExpire_) return events_;
  const auto r = client_.get(
      "/api/v1/events?fieldSelector=involvedObject.kind%3DServiceLevelObjective&limit=5000");
  if (r.ok()) {
    if (auto doc = json::parse(r.body, nullptr)) {
      events_ = parseSloEvents(*doc, options_.eventsPerSlo);
    }
  } else {
    // The pages still render, without history; the next view tries again soon.
    spdlog::warn("status page: listing Events: {}", r.describe());
  }
  eventsExpire_ = now + options_.eventsFor;
  return events_;
}

BurnDownData StatusPage::burnDown(const model::SloView& slo) {
  const std::string key = objectKey(slo.ns, slo.name);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(burnDownMutex_);
    if (auto it = burnDowns_.find(key); it != burnDowns_.end() && it->second.expires > now) {
      return it->second.data;
    }
  }
  BurnDownData data;
  if (!slo.spec || !slo.policy) {
    data.unavailable = "the SLO's spec is invalid";
  } else if (slo.spec->composite()) {
    data.unavailable = "a composite SLO has no single event count to draw";
  } else {
    std::lock_guard evaluating(evaluateMutex_);
    prometheus::EvaluatorOptions eo;
    eo.concurrency = 2;
    eo.ledgerEntries = static_cast<std::size_t>(-1);  // every adjusted span, for the exclusion
    prometheus::MultiSourceEvaluator evaluator(prometheus_, options_.dataSources, eo);
    std::vector<std::optional<std::vector<engine::HourCounts>>> hours;
    prometheus::EvaluationTarget target{&*slo.spec, slo.policy.get(), nullptr, {}, {}};
    for (const auto& a : slo.adjustments) target.adjustments.push_back(a.get());
    target.hours = &hours;
    const auto statuses = evaluator.evaluate({target}, nowSeconds());
    ++evaluations_;
    std::size_t index = 0;
    for (std::size_t i = 0; i < slo.spec->objectives.size(); ++i) {
      if (slo.status && slo.spec->objectives[i].displayName == slo.status->objective) index = i;
    }
    if (statuses.empty() || index >= hours.size() || !hours[index]) {
      data.unavailable =
          statuses.empty() || statuses.front().tier != engine::Tier::Unknown
              ? "the burn-down needs an Occurrences objective whose queries are counters"
              : statuses.front().message;
    } else {
      std::vector<std::pair<TimePoint, TimePoint>> excluded;
      if (const auto& l = statuses.front().ledger) {
        for (const auto& e : l->entries) {
          if (e.cause == engine::LedgerCause::Adjustment) excluded.emplace_back(e.start, e.end);
        }
      }
      data.points =
          engine::budgetBurnDown(*hours[index], slo.spec->objectives[index].target, excluded);
    }
  }
  std::lock_guard lock(burnDownMutex_);
  // Bounded: SLOs come and go; an entry of a deleted SLO expires and is dropped here.
  std::erase_if(burnDowns_, [&](const auto& e) { return e.second.expires <= now; });
  burnDowns_[key] = {now + options_.burnDownFor, data};
  return data;
}

}  // namespace budgetgate::statuspage
