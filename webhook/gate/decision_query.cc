#include "webhook/gate/decision_query.h"

#include <fmt/format.h>

#include <algorithm>

#include "operator/common/object_key.h"
#include "operator/engine/burn_rate_window.h"

namespace budgetgate::gate {
namespace {

bool selectsWorkload(const GatedSlo& slo, const WorkloadLabels& w) {
  return slo.selector && (slo.selector->matches(w.labels) ||
                          (w.templateLabels && slo.selector->matches(*w.templateLabels)));
}

RolloutRequest rolloutOf(const DecisionQuery& q, const KnownWorkload& w, engine::Risk risk) {
  RolloutRequest r;
  r.operation = Operation::Update;
  r.kind = q.kind;
  r.ns = q.ns;
  r.name = q.name;
  r.identity = w.identity;
  r.oldIdentity = w.identity;
  r.change = Change::Template;  // a new pod template: what a CD tool is about to ship
  r.annotations[std::string(kRiskAnnotation)] = std::string(engine::riskName(risk));
  r.oldAnnotations = r.annotations;
  r.user = q.user;
  return r;
}

ProjectedSpend project(const GatedSlo& slo, double share, Seconds duration) {
  ProjectedSpend p;
  p.slo = objectKey(slo.ns, slo.name);
  if (!slo.status || !slo.status->errorBudget) {
    p.note = "no status yet";
    return p;
  }
  const auto& s = *slo.status;
  const auto window = parseDuration(s.window.substr(0, s.window.find(' ')));
  if (!window || window->count() <= 0) {
    p.note = fmt::format("window \"{}\" has no fixed length", s.window);
    return p;
  }
  p.burnRate1h = s.burnRates.at(engine::BurnRateWindow::H1).value_or(0);
  // At burn rate b the budget goes at b x (budget / window); the canary sees share x traffic.
  p.percentOfBudget =
      100.0 * p.burnRate1h * share *
      (static_cast<double>(duration.count()) / static_cast<double>(window->count()));
  p.remainingAfterPercent = s.errorBudget->remainingPercentRaw() - p.percentOfBudget;
  return p;
}

}  // namespace

std::string oneLineReason(const GateDecision& d) {
  if (!d.gated) return d.reason;
  if (!d.allowed) return d.rule.empty() ? d.reason : d.rule + (d.verdict ? "" : " (no data)");
  if (!d.exception.empty()) return d.rule + ", admitted as a " + d.exception + " exception";
  if (!d.warnings.empty()) return d.rule + "; " + d.warnings.front();
  return d.rule;
}

DecisionAnswer answerDecision(const DecisionQuery& q, const std::vector<KnownWorkload>& workloads,
                              const std::vector<GatedSlo>& slos, const GateContext& context) {
  DecisionAnswer a;
  const auto w = std::find_if(workloads.begin(), workloads.end(), [&](const KnownWorkload& k) {
    return k.kind == q.kind && k.name == q.name;
  });
  if (w == workloads.end()) return a;
  a.found = true;
  for (const auto& slo : slos) {
    if (slo.ns == q.ns && selectsWorkload(slo, w->identity)) a.slos.push_back(&slo);
  }
  for (const auto risk : engine::kRisks) {
    auto d = decide(rolloutOf(q, *w, risk), slos, context);
    RiskDecision r;
    r.risk = risk;
    r.allowed = d.allowed;
    r.verdict = !d.gated    ? "not-gated"
                : d.verdict ? std::string(engine::verdictName(*d.verdict))
                            : std::string("missing-data");
    r.reason = oneLineReason(d);
    a.byRisk.push_back(std::move(r));
    if (risk == q.risk) a.decision = std::move(d);
  }
  if (q.trafficShare && q.duration) {
    for (const auto* slo : a.slos)
      a.projected.push_back(project(*slo, *q.trafficShare, *q.duration));
  }
  return a;
}

}  // namespace budgetgate::gate
