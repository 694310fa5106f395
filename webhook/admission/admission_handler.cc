#include "webhook/admission/admission_handler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "webhook/admission/admission_review.h"

namespace budgetgate::admission {
namespace {

server::HttpResponse jsonResponse(const ReviewResponse& r) {
  return {200, "application/json", renderResponse(r)};
}

}  // namespace

AdmissionHandler::AdmissionHandler(cache::GateCache& cache,
                                   std::set<std::string, std::less<>> exemptNamespaces,
                                   engine::ErrorBudgetPolicy notReadyPolicy,
                                   ExceptionSink exceptions)
    : cache_(cache),
      exempt_(std::move(exemptNamespaces)),
      notReadyPolicy_(std::move(notReadyPolicy)),
      exceptions_(std::move(exceptions)) {}

server::HttpResponse AdmissionHandler::handle(const server::HttpRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  if (request.method != "POST") {
    return {405, "text/plain; charset=utf-8", "POST an admission.k8s.io/v1 AdmissionReview\n"};
  }
  ReviewError error;
  auto review = parseReview(request.body, parsers_, &error);
  if (!review) {
    metrics_.record(engine::Tier::Unknown, Outcome::Error, elapsed(), false);
    if (error.uid.empty()) {
      return {error.httpStatus, "text/plain; charset=utf-8", "budgetgate: " + error.message + "\n"};
    }
    // A review we can answer, about an object we cannot read: refuse with the reason rather
    // than guess (never a silent allow).
    ReviewResponse r;
    r.uid = error.uid;
    r.allowed = false;
    r.code = 400;
    r.reason = "BadRequest";
    r.message = "budgetgate could not read the request: " + error.message;
    return jsonResponse(r);
  }
  auto& rollout = review->rollout;
  ReviewResponse response;
  response.uid = review->uid;

  if (review->group != "apps" || review->kind != "Deployment") {
    response.warnings.push_back(
        fmt::format("budgetgate gates apps/v1 Deployments only; {}/{} {} passed through",
                    review->group, review->version, review->kind));
    metrics_.record(engine::Tier::Unknown, Outcome::NotGated, elapsed(), rollout.dryRun);
    return jsonResponse(response);
  }

  const auto snapshot = cache_.snapshot();
  const bool ready = cache_.ready();
  std::vector<gate::GatedSlo> notReadySlos;
  const std::vector<gate::GatedSlo>* candidates = nullptr;
  static const std::vector<gate::GatedSlo> kNone;
  if (ready) {
    auto it = snapshot->slosByNamespace.find(rollout.ns);
    candidates = it == snapshot->slosByNamespace.end() ? &kNone : &it->second;
  } else {
    // Before the cache has loaded every Deployment might be protected: treat it as protected
    // by an SLO without status, under the configured missing-data rule.
    gate::GatedSlo unknown;
    unknown.ns = rollout.ns;
    unknown.name = "(budgetgate cache not loaded yet)";
    unknown.selector = model::LabelSelector{};
    unknown.policy = &notReadyPolicy_;
    notReadySlos.push_back(std::move(unknown));
    candidates = &notReadySlos;
  }
  // Comparing the templates and fingerprinting the new one cost something: only when an SLO
  // selects the Deployment, and a fingerprint only when there are ReplicaSets to compare with.
  const bool selected = std::any_of(candidates->begin(), candidates->end(), [&](const auto& s) {
    return s.selector && s.selector->matches(rollout.labels);
  });
  if (selected) {
    rollout.templateChanged = review->templateChanged();
    if (auto it = snapshot->templatesByDeployment.find(rollout.ns + "/" + rollout.name);
        it != snapshot->templatesByDeployment.end() && rollout.templateChanged) {
      rollout.previousTemplates = it->second;
      rollout.newTemplate = review->newTemplateFingerprint();
    }
  }
  gate::GateContext ctx;
  ctx.now = nowSeconds();
  ctx.exemptNamespaces = exempt_;
  const auto d = gate::decide(rollout, *candidates, ctx);

  response.allowed = d.allowed;
  response.warnings = d.warnings;
  if (!d.allowed) {
    response.code = 403;
    response.reason = "Forbidden";
    response.message = d.message;
  }
  if (d.gated) {
    response.auditAnnotations = d.auditAnnotations;
    if (rollout.dryRun) response.auditAnnotations.emplace_back("dry-run", "true");
  }
  Outcome outcome = !d.gated              ? Outcome::NotGated
                    : !d.allowed          ? Outcome::Denied
                    : !d.warnings.empty() ? Outcome::Warned
                                          : Outcome::Allowed;
  metrics_.record(d.gated ? d.tier : engine::Tier::Unknown, outcome, elapsed(), rollout.dryRun);
  if (d.gated) {
    // Denials and exceptions are what operators look for; routine admissions stay at debug so
    // that a busy cluster does not log every rollout twice.
    const auto level =
        !d.allowed || !d.exception.empty() ? spdlog::level::info : spdlog::level::debug;
    spdlog::log(level, "{} {} deployment {}/{} by {}: {}{}", d.allowed ? "admitted" : "denied",
                rollout.operation == gate::Operation::Create ? "CREATE" : "UPDATE", rollout.ns,
                rollout.name, rollout.user.username, d.rule, rollout.dryRun ? " (dry run)" : "");
  }
  if (!d.exception.empty() && !rollout.dryRun && exceptions_) {
    exceptions_(rollout.ns, rollout.name, "BudgetExceptionUsed",
                fmt::format("rollout admitted as a {} exception by {}: {}", d.exception,
                            rollout.user.username, d.rule));
  }
  return jsonResponse(response);
}

}  // namespace budgetgate::admission
