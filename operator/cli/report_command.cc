// budgetgate report: the error budget review (seed 003) — per team, service and SLO the
// remaining budget, where it went (rollouts, adjustments, unattributed), the hours the gate
// would have frozen rollouts of each risk, and (with a cluster) the denials and exceptions the
// webhook recorded. SLOs from files or from the cluster; figures from Prometheus.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "operator/cli/cli_io.h"
#include "operator/cli/cluster_lists.h"
#include "operator/cli/commands.h"
#include "operator/cli/manifests.h"
#include "operator/cli/prometheus_flags.h"
#include "operator/common/json.h"
#include "operator/common/yaml_json.h"
#include "operator/kube/event_recorder.h"
#include "operator/kube/kube_config.h"
#include "operator/kube/rollout_history.h"
#include "operator/model/budget_adjustment.h"
#include "operator/model/policy_parser.h"
#include "operator/model/policy_resolution.h"
#include "operator/prometheus/backtest.h"
#include "operator/prometheus/slo_evaluator.h"
#include "operator/prometheus/slo_signals.h"
#include "operator/report/review_report.h"

namespace budgetgate::cli {
namespace {

struct ReportOptions {
  std::vector<std::string> files = {};
  std::string policy = {};
  std::string at = {};
  std::string since = {};
  std::string teamLabel = "team";
  std::string output = "markdown";
  std::string outputFile = {};
  std::string kubeconfig = {};
  std::string context = {};
  std::string ns = {};
  bool allNamespaces = false;
  std::string gateNamespace = "budgetgate";
  PrometheusFlags prometheus = {};
};

int fail(const std::string& message) {
  std::cerr << "budgetgate report: " << message << '\n';
  return kExitBadInput;
}

// The cluster's SLOs (those that cannot be evaluated are skipped with a message).
bool clusterSlos(kube::KubeClient& client, const std::string& ns,
                 std::vector<model::ServiceLevelObjective>& out) {
  std::vector<Item> items;
  std::string error;
  if (!listItems(client, kube::kSloResource, ns, "ServiceLevelObjective", items, &error)) {
    std::cerr << "budgetgate report: " << error << '\n';
    return false;
  }
  for (const auto& item : items) {
    model::Diagnostics diag(identity(item));
    auto slo = model::parseSlo(jsonToYaml(item), diag);
    if (!slo) {
      std::cerr << "budgetgate report: skipped (invalid): " << diag.format();
      continue;
    }
    const auto problems = prometheus::evaluationProblems(*slo);
    if (!problems.empty()) {
      std::cerr << fmt::format("budgetgate report: skipped {}: {}\n", slo->key(), problems.front());
      continue;
    }
    out.push_back(std::move(*slo));
  }
  return true;
}

// The cluster's ErrorBudgetPolicies: all namespaces, or (when that is forbidden) those of the
// SLOs' namespaces and budgetgate's.
bool clusterPolicies(kube::KubeClient& client, const std::set<std::string>& namespaces,
                     model::PolicyMap& out) {
  std::vector<Item> items;
  std::string error;
  if (!listItems(client, kube::kPolicyResource, "", "ErrorBudgetPolicy", items, &error)) {
    spdlog::info("{}; reading the SLOs' namespaces one by one", error);
    items.clear();
    for (const auto& ns : namespaces) {
      if (!listItems(client, kube::kPolicyResource, ns, "ErrorBudgetPolicy", items, &error)) {
        std::cerr << "budgetgate report: " << error << '\n';
        return false;
      }
    }
  }
  for (const auto& item : items) {
    model::Diagnostics diag(identity(item));
    auto policy = model::parsePolicy(jsonToYaml(item), diag);
    if (!policy) {
      std::cerr << "budgetgate report: ErrorBudgetPolicy ignored (invalid, as the controller "
                   "ignores it): "
                << diag.format();
      continue;
    }
    policy->ns = json::stringOr(json::path(&item, {"metadata", "namespace"}));
    out[identity(item)] = std::make_shared<const engine::ErrorBudgetPolicy>(std::move(*policy));
  }
  return true;
}

bool clusterEvents(kube::KubeClient& client, const std::set<std::string>& namespaces,
                   std::vector<report::EventRecord>& out) {
  for (const auto& ns : namespaces) {
    std::vector<Item> items;
    std::string error;
    if (!listItems(client, kube::kEventResource, ns, "Event", items, &error)) {
      std::cerr << "budgetgate report: " << error << '\n';
      return false;
    }
    for (const auto& e : items) {
      const std::string reason = json::stringOr(json::member(&e, "reason"));
      if (reason != "RolloutDenied" && reason != "RolloutApprovalUsed" &&
          reason != "BudgetExceptionUsed") {
        continue;
      }
      report::EventRecord r;
      r.reason = reason;
      r.kind = json::stringOr(json::path(&e, {"involvedObject", "kind"}));
      r.ns = json::stringOr(json::path(&e, {"involvedObject", "namespace"}), ns);
      r.name = json::stringOr(json::path(&e, {"involvedObject", "name"}));
      const auto seen = kube::eventLastSeen(e);
      r.time = seen ? seen->time_since_epoch().count() : 0;
      r.count = json::asInt(json::member(&e, "count")).value_or(1);
      out.push_back(std::move(r));
    }
  }
  return true;
}

// The labels of a workload and of its pod template, as the webhook matches SLO selectors; nullopt
// when it is gone (or of a kind the gate does not know).
std::optional<std::pair<model::Labels, model::Labels>> workloadLabels(kube::KubeClient& client,
                                                                      const std::string& ns,
                                                                      const std::string& kind,
                                                                      const std::string& name) {
  const kube::Resource* resource = nullptr;
  if (kind == "Deployment") resource = &kube::kDeploymentResource;
  if (kind == "StatefulSet") resource = &kube::kStatefulSetResource;
  if (kind == "DaemonSet") resource = &kube::kDaemonSetResource;
  if (kind == "Rollout") resource = &kube::kArgoRolloutResource;
  if (resource == nullptr) return std::nullopt;
  const auto result = client.get(resource->objectPath(ns, name));
  if (!result.ok()) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse(result.body.c_str());
  if (doc.HasParseError()) return std::nullopt;
  auto labelsAt = [&doc](std::initializer_list<std::string_view> keys) {
    model::Labels out;
    const auto* v = json::path(&doc, keys);
    if (v != nullptr && v->IsObject()) {
      for (const auto& m : v->GetObject()) {
        if (m.value.IsString()) out[m.name.GetString()] = m.value.GetString();
      }
    }
    return out;
  };
  return std::make_pair(labelsAt({"metadata", "labels"}),
                        labelsAt({"spec", "template", "metadata", "labels"}));
}

struct Period {
  TimePoint start{};
  TimePoint end{};
};

int runReport(const ReportOptions& o) {
  if (o.output != "markdown" && o.output != "csv" && o.output != "json") {
    return fail(fmt::format("-o \"{}\": expected markdown, csv or json", o.output));
  }
  if (o.teamLabel.empty()) return fail("--team-label must not be empty");
  const bool cluster = !o.kubeconfig.empty() || !o.context.empty();
  if (o.files.empty() && !cluster) {
    return fail("give SLO manifests (-f FILE) or a cluster to read them from (--kubeconfig)");
  }
  if (!o.ns.empty() && o.allNamespaces) return fail("-n and -A exclude each other");
  if (!o.files.empty() && (!o.ns.empty() || o.allNamespaces)) {
    return fail("-n and -A choose the cluster's SLOs; with -f the files name the SLOs");
  }
  std::optional<Seconds> since;
  if (!o.since.empty()) {
    since = parseDuration(o.since);
    if (!since || *since < Seconds(3600)) {
      return fail(
          fmt::format("--since \"{}\": expected a duration of at least 1h, such as 7d", o.since));
    }
  }
  TimePoint at = nowSeconds();
  if (!o.at.empty()) {
    auto t = parseTime(o.at);
    if (!t) return fail(fmt::format("--at \"{}\": expected RFC 3339", o.at));
    at = *t;
  }
  auto fallback = loadPolicy(o.policy);
  if (!fallback) return kExitBadInput;
  auto fallbackPolicy = std::make_shared<const engine::ErrorBudgetPolicy>(std::move(*fallback));

  std::unique_ptr<kube::KubeClient> client;
  if (cluster) {
    std::string error;
    auto config = kube::resolveConfig(o.kubeconfig, o.context, &error);
    if (!config) return fail("--kubeconfig: " + error);
    client = std::make_unique<kube::KubeClient>(*config);
  }

  // 1. The SLOs, their policies and adjustments.
  std::vector<model::ServiceLevelObjective> slos;
  std::vector<model::BudgetAdjustment> adjustments;
  if (!o.files.empty()) {
    ManifestSet set;
    if (!loadManifests(o.files, set) || !loadSlos(o.files, slos) ||
        !cli::loadAdjustments(set, adjustments)) {
      return kExitBadInput;
    }
    if (slos.empty()) return fail("no SLO documents in the given files");
  } else {
    spdlog::info("reading ServiceLevelObjectives from {} ({})", client->config().source,
                 o.ns.empty() ? "all namespaces" : "namespace " + o.ns);
    if (!clusterSlos(*client, o.ns, slos)) return kExitBadInput;
    if (slos.empty()) {
      return fail(fmt::format("no ServiceLevelObjectives in {}",
                              o.ns.empty() ? "the cluster" : "namespace " + o.ns));
    }
  }
  std::set<std::string> namespaces;
  for (const auto& slo : slos) namespaces.insert(slo.ns);
  // Files: --policy decides every SLO (as ledger and backtest). Cluster: each SLO's policy as
  // the controller resolves it, --policy (else the built-in default) where none is found.
  std::vector<std::shared_ptr<const engine::ErrorBudgetPolicy>> policies;
  if (o.files.empty()) {
    model::PolicyMap map;
    auto lookupNamespaces = namespaces;
    lookupNamespaces.insert(o.gateNamespace);
    if (!clusterPolicies(*client, lookupNamespaces, map)) return kExitBadInput;
    model::PolicyLookup lookup;
    lookup.gateNamespace = o.gateNamespace;
    for (const auto& slo : slos) {
      policies.push_back(
          model::resolvePolicy(map, lookup, slo.ns, slo.gate.policyRef, fallbackPolicy));
    }
    spdlog::info("{} SLOs, {} ErrorBudgetPolicies", slos.size(), map.size());
  } else {
    policies.assign(slos.size(), fallbackPolicy);
  }
  std::map<std::string, std::vector<kube::WorkloadRevision>> revisions;
  std::vector<report::EventRecord> events;
  if (client) {
    if (!cli::clusterAdjustments(*client, namespaces, adjustments, "report")) return kExitBadInput;
    const auto requests = kube::listRequests(*client, o.gateNamespace);
    for (const auto& ns : namespaces) {
      std::string error;
      auto r = kube::listRevisions(*client, ns, &error);
      if (!r) return fail(error);
      kube::attachRequesters(*r, ns, requests);
      revisions[ns] = std::move(*r);
    }
    if (!clusterEvents(*client, namespaces, events)) return kExitBadInput;
    spdlog::info("{} denial and exception Events in {} namespaces", events.size(),
                 namespaces.size());
  }

  auto prom = makePrometheusClient(o.prometheus);
  if (!prom) return kExitBadInput;

  // 2. Each SLO now: budget, tier, ledger.
  prometheus::EvaluatorOptions options;
  options.concurrency = static_cast<std::size_t>(std::max(1, o.prometheus.concurrency));
  prometheus::SloEvaluator evaluator(*prom, options);
  std::vector<prometheus::EvaluationTarget> targets;
  std::vector<std::vector<const model::BudgetAdjustment*>> adjustmentsOf;
  for (std::size_t i = 0; i < slos.size(); ++i) {
    const auto& slo = slos[i];
    prometheus::EvaluationTarget t{&slo, policies[i].get(), nullptr, {}, {}};
    for (const auto& a : adjustments) {
      if (a.appliesTo(slo.ns, slo.name, slo.labels)) t.adjustments.push_back(&a);
    }
    if (slo.gate.selector && revisions.count(slo.ns) != 0) {
      t.rollouts = kube::rolloutsMatching(revisions[slo.ns], *slo.gate.selector);
    }
    adjustmentsOf.push_back(t.adjustments);
    targets.push_back(std::move(t));
  }
  spdlog::info("evaluating {} SLOs at {} from {}", slos.size(), formatTime(at), o.prometheus.url);
  const auto statuses = evaluator.evaluate(targets, at);

  // 3. Each SLO over its period: the gate's decisions hour by hour (the backtest).
  std::map<std::string, std::optional<std::pair<model::Labels, model::Labels>>> workloadCache;
  std::vector<report::SloRow> rows;
  int exit = kExitOk;
  std::set<std::string> windows;
  const TimePoint lastHour = TimePoint(Seconds(at.time_since_epoch().count() / 3600 * 3600));
  for (std::size_t i = 0; i < slos.size(); ++i) {
    const auto& slo = slos[i];
    const auto& s = statuses[i];
    windows.insert(slo.window.text);
    report::SloRow row;
    row.ns = slo.ns;
    row.name = slo.name;
    row.team = report::teamOf(slo.labels, o.teamLabel);
    row.service = slo.service;
    row.targetPercent = slo.objectives.empty() ? 0 : slo.objectives.front().target * 100;
    row.window = slo.window.text;
    row.tier = std::string(engine::tierName(s.tier));
    std::vector<std::string> notes;
    if (slo.composite()) {
      notes.push_back(
          "composite SLO: the target shown is its first objective's; the budget is the weighted "
          "composite of its objectives'");
    }
    if (s.errorBudget) {
      row.remainingPercent = s.errorBudget->remainingPercentRaw();
      row.consumedPercent = s.errorBudget->consumedPercent;
    } else {
      notes.push_back("no budget: " + s.message);
      exit = kExitMissingData;
    }
    if (s.ledger) {
      row.rolloutPercent = s.ledger->rolloutPercent;
      row.adjustmentPercent = s.ledger->adjustmentPercent;
      row.unattributedPercent = s.ledger->unattributedPercent;
    } else if (s.errorBudget) {
      notes.push_back(
          "no consumption by cause (it needs an Occurrences objective with counter queries)");
    }
    Period period{at, at};
    if (since) {
      period.start = at - *since;
    } else {
      std::string error;
      auto bounds = model::resolveWindow(slo.window, at, &error);
      period.start = bounds ? bounds->start : at;
    }
    const auto steps = (lastHour - period.start) / Seconds(3600);
    if (steps <= 0) {
      row.frozenHours = std::array<double, 3>{};
    } else {
      prometheus::BacktestOptions bo;
      bo.to = lastHour;
      bo.from = lastHour - Seconds(3600) * (steps - 1);
      bo.step = Seconds(3600);
      bo.concurrency = options.concurrency;
      bo.adjustments = adjustmentsOf[i];
      spdlog::info("{}: replaying the gate over {} hours ({} to {})", slo.key(), steps,
                   formatTime(bo.from), formatTime(bo.to));
      const auto result = prometheus::backtest(*prom, slo, *policies[i], bo);
      if (result.error.empty() && result.summary.stepsWithoutData == result.summary.steps) {
        notes.push_back("no frozen hours: no data in any hour of the period");
      } else if (result.error.empty()) {
        row.frozenHours = result.summary.frozenHours;
        if (result.summary.stepsWithoutData > 0) {
          notes.push_back(fmt::format("{} of {} hours without data (not counted as frozen)",
                                      result.summary.stepsWithoutData, result.summary.steps));
        }
      } else {
        notes.push_back("no frozen hours: " + result.error);
      }
    }
    if (client) {
      const auto counts = report::countEvents(events, period.start.time_since_epoch().count(),
                                              at.time_since_epoch().count());
      const auto d = counts.denialsBySlo.find(slo.key());
      row.denials = d == counts.denialsBySlo.end() ? 0 : d->second;
      long long used = 0;
      for (const auto& [workload, n] : counts.exceptionsByWorkload) {
        const auto first = workload.find('/');
        const auto second = workload.find('/', first + 1);
        const std::string ns = workload.substr(0, first);
        if (ns != slo.ns || !slo.gate.selector) continue;
        const std::string kind = workload.substr(first + 1, second - first - 1);
        const std::string name = workload.substr(second + 1);
        auto cached = workloadCache.find(workload);
        if (cached == workloadCache.end()) {
          cached = workloadCache.emplace(workload, workloadLabels(*client, ns, kind, name)).first;
          if (!cached->second) {
            spdlog::warn(
                "{} exception(s) used on {} {}/{}, which cannot be read (deleted?): not "
                "attributed to an SLO",
                n, kind, ns, name);
          }
        }
        // As the webhook matches: the workload's own labels or its pod template's.
        if (cached->second && (slo.gate.selector->matches(cached->second->first) ||
                               slo.gate.selector->matches(cached->second->second))) {
          used += n;
        }
      }
      row.exceptions = used;
    }
    for (const auto& n : notes) row.note += (row.note.empty() ? "" : "; ") + n;
    rows.push_back(std::move(row));
  }

  // 4. Grouped and printed.
  report::Report rep;
  rep.generatedAt = formatTime(nowSeconds());
  rep.teamLabel = o.teamLabel;
  rep.countsFromCluster = client != nullptr;
  if (since) {
    rep.period = fmt::format("{} ending {}", formatDuration(*since), formatTime(at));
  } else if (windows.size() == 1) {
    rep.period = fmt::format("{} window ending {}", *windows.begin(), formatTime(at));
  } else {
    rep.period = fmt::format("each SLO's window ending {}", formatTime(at));
  }
  rep.teams = report::group(std::move(rows));
  const std::string text = o.output == "csv"    ? report::renderCsv(rep)
                           : o.output == "json" ? report::renderJson(rep)
                                                : report::renderMarkdown(rep);
  if (o.outputFile.empty()) {
    std::cout << text;
  } else {
    std::ofstream out(o.outputFile, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return fail(fmt::format("--output-file {}: cannot write", o.outputFile));
    spdlog::info("report written to {}", o.outputFile);
  }
  return exit;
}

}  // namespace

void addReportCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand(
      "report",
      "The error budget review (seed 003): per team, service and SLO the remaining budget, "
      "consumption by cause (rollouts, adjustments, unattributed), the hours the gate would have "
      "frozen a rollout of each risk over the period, and, with a cluster, the denials and "
      "exceptions the webhook recorded; as Markdown, CSV or JSON. SLOs from -f files or from the "
      "cluster (--kubeconfig), figures from Prometheus. Exit 0, 2 on bad input, 3 when an SLO "
      "had no data (the report is printed all the same).");
  cmd->add_option("-f,--filename", o->files,
                  "SLO manifests (and BudgetAdjustments to apply); without -f the SLOs are read "
                  "from the cluster")
      ->expected(1, -1);
  cmd->add_option("--policy", o->policy,
                  "ErrorBudgetPolicy for every SLO of the files; with the cluster's SLOs, for "
                  "those whose policy the cluster does not have (default: built-in)");
  cmd->add_option("--at", o->at, "the period ending at this instant (RFC 3339; default now)");
  cmd->add_option("--since", o->since,
                  "the period: this long before --at, e.g. 7d (default: each SLO's window); "
                  "frozen hours and Event counts cover it, the budget is always the window's");
  cmd->add_option("--team-label", o->teamLabel,
                  "the SLO label that names its team (default team; SLOs without it: (none))");
  cmd->add_option("-o,--output", o->output, "markdown, csv or json (default markdown)");
  cmd->add_option("--output-file", o->outputFile, "write the report here instead of stdout");
  cmd->add_option("--kubeconfig", o->kubeconfig,
                  "read the cluster: its SLOs and their policies (without -f), BudgetAdjustments, "
                  "rollout history, and the denial and exception Events (default: none)");
  cmd->add_option("--context", o->context, "kubeconfig context (implies reading the cluster)");
  cmd->add_option("-n,--namespace", o->ns,
                  "the cluster's SLOs of this namespace only (default: all namespaces)");
  cmd->add_flag("-A,--all-namespaces", o->allNamespaces,
                "the cluster's SLOs of every namespace (the default)");
  cmd->add_option("--gate-namespace", o->gateNamespace,
                  "budgetgate's namespace: its ErrorBudgetPolicies apply where an SLO's namespace "
                  "has none, and its webhook records who rolled out there (default budgetgate)");
  addPrometheusFlags(cmd, o->prometheus);
  cmd->callback([o, &exitCode] { exitCode = runReport(*o); });
}

}  // namespace budgetgate::cli
