// budgetgate ledger: where each SLO's error budget went — burn episodes attributed to the
// rollouts before them, budget adjustments, the rest — recomputed from Prometheus (and, with
// --kubeconfig, the cluster's rollout history and BudgetAdjustments).

#include <fmt/format.h>
#include <spdlog/spdlog.h>

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
#include "operator/cli/table.h"
#include "operator/common/csv.h"
#include "operator/common/json.h"
#include "operator/common/yaml_json.h"
#include "operator/kube/kube_config.h"
#include "operator/kube/rollout_history.h"
#include "operator/model/budget_adjustment.h"
#include "operator/prometheus/slo_evaluator.h"

namespace budgetgate::cli {
namespace {

struct LedgerOptions {
  std::vector<std::string> files;
  std::string policy;
  std::string at;
  std::string output;
  std::string kubeconfig;
  std::string context;
  std::string gateNamespace = "budgetgate";
  std::string attribution;  // empty: the policy's ledger.attribution
  PrometheusFlags prometheus;
};

int fail(const std::string& message) {
  std::cerr << "budgetgate ledger: " << message << '\n';
  return kExitBadInput;
}

std::string detail(const engine::LedgerEntry& e) {
  if (e.rollout) {
    std::string d = fmt::format("{} revision {} at {}", e.rollout->workload,
                                e.rollout->revision.empty() ? "?" : e.rollout->revision,
                                formatTime(e.rollout->at));
    if (!e.rollout->images.empty()) d += " (" + e.rollout->images + ")";
    if (!e.rollout->releaseType.empty()) d += " " + e.rollout->releaseType;
    return d;
  }
  if (!e.adjustment.empty()) {
    return fmt::format("BudgetAdjustment {} ({}{})", e.adjustment, e.reason,
                       e.reference.empty() ? "" : ", " + e.reference);
  }
  return "-";
}

// BudgetAdjustments from the files, and with a cluster those of the SLOs' namespaces.
bool loadAdjustments(const ManifestSet& set, kube::KubeClient* client,
                     const std::set<std::string>& namespaces,
                     std::vector<model::BudgetAdjustment>& out) {
  const bool ok = cli::loadAdjustments(set, out);
  if (client == nullptr) return ok;
  const bool listed = cli::clusterAdjustments(*client, namespaces, out, "ledger");
  return ok && listed;
}

int runLedger(const LedgerOptions& o) {
  if (!o.output.empty() && o.output != "json" && o.output != "table" && o.output != "csv") {
    return fail(fmt::format("-o \"{}\": expected table, json or csv", o.output));
  }
  const auto attribution = parseDuration(o.attribution.empty() ? "1h" : o.attribution);
  if (!attribution || *attribution <= Seconds(0)) {
    return fail(fmt::format("--attribution \"{}\": expected a duration such as 1h", o.attribution));
  }
  ManifestSet set;
  if (!loadManifests(o.files, set)) return kExitBadInput;
  std::vector<model::ServiceLevelObjective> slos;
  if (!loadSlos(o.files, slos)) return kExitBadInput;
  if (slos.empty()) return fail("no SLO documents in the given files");
  auto policy = loadPolicy(o.policy);
  if (!policy) return kExitBadInput;
  if (!o.attribution.empty()) policy->ledgerAttribution = *attribution;
  TimePoint at = nowSeconds();
  if (!o.at.empty()) {
    auto t = parseTime(o.at);
    if (!t) return fail(fmt::format("--at \"{}\": expected RFC 3339", o.at));
    at = *t;
  }
  std::unique_ptr<kube::KubeClient> client;
  if (!o.kubeconfig.empty() || !o.context.empty()) {
    std::string error;
    auto config = kube::resolveConfig(o.kubeconfig, o.context, &error);
    if (!config) return fail("--kubeconfig: " + error);
    client = std::make_unique<kube::KubeClient>(*config);
  }
  std::set<std::string> namespaces;
  for (const auto& slo : slos) namespaces.insert(slo.ns);
  std::vector<model::BudgetAdjustment> adjustments;
  if (!loadAdjustments(set, client.get(), namespaces, adjustments)) return kExitBadInput;
  std::map<std::string, std::vector<kube::WorkloadRevision>> revisions;
  if (client) {
    const auto requests = kube::listRequests(*client, o.gateNamespace);
    for (const auto& ns : namespaces) {
      std::string error;
      auto r = kube::listRevisions(*client, ns, &error);
      if (!r) return fail(error);
      kube::attachRequesters(*r, ns, requests);
      revisions[ns] = std::move(*r);
    }
  }
  auto prom = makePrometheusClient(o.prometheus);
  if (!prom) return kExitBadInput;

  prometheus::EvaluatorOptions options;
  options.concurrency = static_cast<std::size_t>(std::max(1, o.prometheus.concurrency));
  options.ledgerEntries = static_cast<std::size_t>(-1);
  prometheus::SloEvaluator evaluator(*prom, options);
  std::vector<prometheus::EvaluationTarget> targets;
  for (const auto& slo : slos) {
    prometheus::EvaluationTarget t{&slo, &*policy, nullptr, {}, {}};
    for (const auto& a : adjustments) {
      if (a.appliesTo(slo.ns, slo.name, slo.labels)) t.adjustments.push_back(&a);
    }
    if (slo.gate.selector && revisions.count(slo.ns) != 0) {
      t.rollouts = kube::rolloutsMatching(revisions[slo.ns], *slo.gate.selector);
    }
    targets.push_back(std::move(t));
  }
  spdlog::info("ledger of {} SLOs from {} at {} ({} adjustments, rollout history {})", slos.size(),
               o.prometheus.url, formatTime(at), adjustments.size(),
               client ? "from the cluster" : "not read: no --kubeconfig");
  const auto statuses = evaluator.evaluate(targets, at);

  int exit = kExitOk;
  const std::string output = o.output.empty() ? (stdoutIsTerminal() ? "table" : "json") : o.output;
  rapidjson::Document json(rapidjson::kArrayType);
  auto& alloc = json.GetAllocator();
  if (output == "csv") {
    std::cout << "namespace,slo,start,end,cause,badEvents,budgetPercent,workload,revision,images,"
                 "releaseType,adjustment,reason,reference\n";
  }
  for (std::size_t i = 0; i < slos.size(); ++i) {
    const auto& slo = slos[i];
    const auto& s = statuses[i];
    if (!s.ledger) {
      std::cerr << fmt::format("{}/{}: no ledger: {}\n", slo.ns, slo.name,
                               s.tier == engine::Tier::Unknown
                                   ? s.message
                                   : "it needs an Occurrences objective whose queries "
                                     "are counters (kept in hourly buckets)");
      exit = kExitMissingData;
      continue;
    }
    const auto& l = *s.ledger;
    const double consumed = s.errorBudget ? s.errorBudget->consumedPercent : 0;
    if (output == "json") {
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("namespace", json::str(slo.ns, alloc), alloc);
      item.AddMember("name", json::str(slo.name, alloc), alloc);
      rapidjson::Value status;
      model::statusToValue(s, status, alloc);
      for (const char* key : {"ledger", "adjustments", "errorBudget", "tier", "windowStart"}) {
        if (status.HasMember(key)) {
          item.AddMember(rapidjson::StringRef(key), status[key], alloc);
        }
      }
      json.PushBack(item, alloc);
    } else if (output == "csv") {
      for (const auto& e : l.entries) {
        const auto& r = e.rollout;
        std::cout << fmt::format("{},{},{},{},{},{:.0f},{:.2f},{},{},{},{},{},{},{}\n",
                                 csvField(slo.ns), csvField(slo.name), formatTime(e.start),
                                 formatTime(e.end), engine::ledgerCauseName(e.cause), e.badEvents,
                                 e.budgetPercent, csvField(r ? r->workload : ""),
                                 csvField(r ? r->revision : ""), csvField(r ? r->images : ""),
                                 csvField(r ? r->releaseType : ""), csvField(e.adjustment),
                                 csvField(e.reason), csvField(e.reference));
      }
    } else {
      std::cout << fmt::format(
          "{}/{}: {:.2f}% of the budget consumed{} since {}: rollouts {:.2f}%, adjustments "
          "{:.2f}% (refunded), unattributed {:.2f}%\n",
          slo.ns, slo.name, consumed,
          s.adjustments ? fmt::format(" after adjustments ({:.2f}% before)",
                                      s.adjustments->consumedPercentUnadjusted)
                        : "",
          s.windowStart ? formatTime(*s.windowStart) : "-", l.rolloutPercent, l.adjustmentPercent,
          l.unattributedPercent);
      Table table({"START", "END", "CAUSE", "BAD", "BUDGET", "DETAIL"});
      for (const auto& e : l.entries) {
        table.add({formatTime(e.start), formatTime(e.end),
                   std::string(engine::ledgerCauseName(e.cause)),
                   fmt::format("{:.0f}", e.badEvents), fmt::format("{:.2f}%", e.budgetPercent),
                   detail(e)});
      }
      std::cout << table.render() << '\n';
    }
  }
  if (output == "json") printJson(json);
  return exit;
}

}  // namespace

void addLedgerCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<LedgerOptions>();
  auto* cmd = app.add_subcommand(
      "ledger",
      "Where each SLO's error budget went over its window: burn episodes (hours above the "
      "budget's even pace) attributed to the rollout of a gated Deployment shortly before "
      "them, BudgetAdjustments (refunded), and the rest (unattributed). Recomputed from "
      "Prometheus; with --kubeconfig the rollout history (ReplicaSets) and the namespace's "
      "BudgetAdjustments are read from the cluster. Exit 0, 3 when an SLO has no ledger, 2 on "
      "bad input.");
  cmd->add_option("-f,--filename", o->files,
                  "SLO manifests, and BudgetAdjustment manifests to apply besides the cluster's")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--policy", o->policy, "ErrorBudgetPolicy (default: built-in)");
  cmd->add_option("--at", o->at, "the window ending at this instant (RFC 3339) instead of now");
  cmd->add_option("--attribution", o->attribution,
                  "an episode is a rollout's when it starts at most this long after it (default: "
                  "the policy's ledger.attribution, 1h)");
  cmd->add_option("-o,--output", o->output,
                  "table, json or csv (default: table on a terminal, else json)");
  cmd->add_option("--kubeconfig", o->kubeconfig,
                  "read rollouts and BudgetAdjustments from this cluster (default: none)");
  cmd->add_option("--context", o->context, "kubeconfig context (implies reading the cluster)");
  cmd->add_option("--namespace", o->gateNamespace,
                  "budgetgate's namespace, where its webhook records who rolled out (default "
                  "budgetgate)");
  addPrometheusFlags(cmd, o->prometheus);
  cmd->callback([o, &exitCode] { exitCode = runLedger(*o); });
}

}  // namespace budgetgate::cli
