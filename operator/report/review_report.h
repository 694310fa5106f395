#pragma once
// The error budget review report (`budgetgate report`, seed 003's review meeting): one row per
// SLO, grouped by team and service, with group totals, rendered as Markdown, CSV or JSON. Pure:
// the CLI fills the rows from Prometheus (and the cluster) and prints what these functions
// return.

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace budgetgate::report {

inline constexpr const char* kNoTeam = "(none)";

// One SLO's figures for the period. An absent optional is unknown (shown "-" / null).
struct SloRow {
  std::string ns = {};
  std::string name = {};
  std::string team = {};  // kNoTeam when the SLO has no such label
  std::string service = {};
  double targetPercent = 0;
  std::string window = {};                      // as written: "30d", "1M"
  std::string tier = {};                        // healthy ... exhausted, unknown
  std::optional<double> remainingPercent = {};  // raw: negative once overspent
  std::optional<double> consumedPercent = {};
  // The ledger: % of the window's allowed bad events, by cause.
  std::optional<double> rolloutPercent = {};
  std::optional<double> adjustmentPercent = {};
  std::optional<double> unattributedPercent = {};
  // Hours of the period in which the gate would have deferred or blocked a rollout of each
  // risk (low, medium, high).
  std::optional<std::array<double, 3>> frozenHours = {};
  std::optional<long long> denials = {};     // unknown without a cluster
  std::optional<long long> exceptions = {};  // approvals and exceptions used
  std::string note = {};                     // why something is unknown
};

struct GroupTotals {
  std::size_t slos = 0;
  std::map<std::string, std::size_t> tiers = {};             // tier -> number of SLOs
  std::optional<double> minRemainingPercent = {};            // the worst SLO's
  std::optional<std::array<double, 3>> maxFrozenHours = {};  // per risk, the max over SLOs
  std::optional<long long> denials = {};                     // sums of the known counts
  std::optional<long long> exceptions = {};
};

struct ServiceGroup {
  std::string service = {};
  GroupTotals totals = {};
  std::vector<SloRow> slos = {};  // by namespace, then name
};

struct TeamGroup {
  std::string team = {};
  GroupTotals totals = {};
  std::vector<ServiceGroup> services = {};  // by service name
};

struct Report {
  std::string title = "Error budget review";
  std::string period = {};  // "30d ending 2026-01-31T00:00:00Z" or "each SLO's window ending ..."
  std::string generatedAt = {};
  std::string teamLabel = "team";
  bool countsFromCluster = false;     // denials and exceptions counted from the API server's Events
  std::vector<TeamGroup> teams = {};  // by team name, "(none)" last
};

// The team of an SLO: the value of `label`, kNoTeam when missing or empty.
std::string teamOf(const std::map<std::string, std::string, std::less<>>& labels,
                   const std::string& label);

// Totals of a set of rows: min remaining, tier counts, max frozen hours per risk, summed counts.
GroupTotals totalsOf(const std::vector<const SloRow*>& rows);

// Groups rows by team and service (sorted), with totals per team and per service.
std::vector<TeamGroup> group(std::vector<SloRow> rows);

std::string renderMarkdown(const Report& report);
std::string renderCsv(const Report& report);  // one row per SLO, with a header
std::string renderJson(const Report& report);

// The CSV header (also the order of every row's fields).
const std::vector<std::string>& csvHeader();

// Events as the API server lists them, reduced to what the report counts.
struct EventRecord {
  std::string reason = {};
  std::string kind = {};  // involvedObject.kind
  std::string ns = {};
  std::string name = {};
  long long time = 0;  // seconds since the epoch: lastTimestamp, else eventTime / firstTimestamp
  long long count = 1;
};

// What the webhook recorded within [since, until]: RolloutDenied Events on each SLO
// ("ns/name" -> count), and approvals and exceptions used (RolloutApprovalUsed,
// BudgetExceptionUsed) on each workload ("ns/Kind/name" -> count).
struct EventCounts {
  std::map<std::string, long long> denialsBySlo = {};
  std::map<std::string, long long> exceptionsByWorkload = {};
};
EventCounts countEvents(const std::vector<EventRecord>& events, long long since, long long until);

}  // namespace budgetgate::report
