#include "operator/model/policy_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "operator/common/duration.h"
#include "operator/model/field.h"
#include "operator/model/slo.h"

namespace budgetgate::model {
namespace {

using engine::ErrorBudgetPolicy;
using engine::Tier;

void parseThreshold(const Field& f, engine::TierThreshold& t) {
  if (!f.expectMap()) return;
  f.rejectUnknownKeys({"remainingPercent", "burnRate", "exhaustionWithin"});
  if (auto v = f.child("remainingPercent").number()) {
    if (*v < 0 || *v > 100) {
      f.child("remainingPercent")
          .error(fmt::format("expected a percentage in [0, 100], got {}", *v));
    } else {
      t.remainingPercentAtMost = *v;
    }
  }
  if (auto v = f.child("burnRate").number()) {
    if (*v <= 0) {
      f.child("burnRate").error(fmt::format("expected a burn rate above 0, got {}", *v));
    } else {
      t.burnRateAtLeast = *v;
    }
  }
  if (auto v = f.child("exhaustionWithin").duration()) t.exhaustionWithin = *v;
}

// users and groups of a map whose other keys the caller has checked.
void parseSubjectLists(const Field& f, engine::Subjects& s) {
  for (auto [key, target] : {std::pair{"users", &s.users}, std::pair{"groups", &s.groups}}) {
    const Field list = f.child(key);
    if (!list.expectSequence()) continue;
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (auto v = list.item(i).string(true)) target->push_back(*v);
    }
  }
}

void parseSubjects(const Field& f, engine::Subjects& s) {
  if (!f.expectMap()) return;
  f.rejectUnknownKeys({"users", "groups"});
  parseSubjectLists(f, s);
}

// {users, groups, tiers}: tiers replace the default (warning, critical) when given.
void parseTieredException(const Field& f, engine::TieredException& e) {
  if (!f.expectMap()) return;
  f.rejectUnknownKeys({"users", "groups", "tiers"});
  parseSubjectLists(f, e.who);
  const Field tiers = f.child("tiers");
  if (!tiers.present() || !tiers.expectSequence()) return;
  e.tiers.clear();
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    const Field item = tiers.item(i);
    auto name = item.string();
    if (!name) continue;
    const auto tier = engine::tierFromName(*name);
    if (!tier || *tier == engine::Tier::Unknown) {
      item.error(fmt::format(
          "expected healthy, attention, warning, critical or exhausted, got \"{}\"", *name));
      continue;
    }
    e.tiers.push_back(*tier);
  }
}

// "0", "2", "25%": what Kubernetes accepts for maxUnavailable and maxSurge.
bool isIntOrPercent(const std::string& s) {
  if (s.empty()) return false;
  const std::size_t digits = s.back() == '%' ? s.size() - 1 : s.size();
  if (digits == 0) return false;
  return std::all_of(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(digits),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

void parseRequirements(const Field& f, engine::RolloutRequirements& r) {
  if (!f.expectMap()) return;
  f.rejectUnknownKeys({"annotations", "strategy", "progressive"});
  if (auto p = f.child("progressive").boolean()) r.progressive = *p;
  const Field annotations = f.child("annotations");
  if (annotations.present() && annotations.expectSequence()) {
    for (std::size_t i = 0; i < annotations.size(); ++i) {
      const Field item = annotations.item(i);
      if (!item.expectMap()) continue;
      item.rejectUnknownKeys({"name", "url"});
      engine::AnnotationRequirement a;
      a.name = item.child("name").string(true).value_or("");
      if (auto u = item.child("url").boolean()) a.url = *u;
      if (!a.name.empty()) r.annotations.push_back(std::move(a));
    }
  }
  const Field strategy = f.child("strategy");
  if (strategy.present() && strategy.expectMap()) {
    strategy.rejectUnknownKeys({"type", "maxUnavailable", "maxSurge"});
    if (auto t = strategy.child("type").string()) {
      if (*t != "RollingUpdate" && *t != "Recreate") {
        strategy.child("type").error(
            fmt::format("expected RollingUpdate or Recreate, got \"{}\"", *t));
      } else {
        r.strategyType = *t;
      }
    }
    for (auto [key, target] :
         {std::pair{"maxUnavailable", &r.maxUnavailable}, std::pair{"maxSurge", &r.maxSurge}}) {
      const Field v = strategy.child(key);
      if (!v.present()) continue;
      auto text = v.string();
      if (text && isIntOrPercent(*text)) {
        *target = *text;
      } else if (text) {
        v.error(fmt::format("expected an integer or a percentage such as 25%, got \"{}\"", *text));
      }
    }
  }
}

template <typename Enum, typename FromName>
void parseEnum(const Field& f, Enum& out, FromName fromName, std::string_view expected) {
  auto s = f.string();
  if (!s) return;
  if (auto v = fromName(*s)) {
    out = *v;
  } else {
    f.error(fmt::format("expected {}, got \"{}\"", expected, *s));
  }
}

}  // namespace

bool isPolicyDocument(const YAML::Node& doc) {
  return doc.IsMap() && doc["kind"] && doc["kind"].IsScalar() &&
         doc["kind"].Scalar() == "ErrorBudgetPolicy";
}

std::optional<ErrorBudgetPolicy> parsePolicy(const YAML::Node& doc, Diagnostics& diagnostics) {
  const std::size_t errorsBefore = diagnostics.errors().size();
  const Field root(doc, "", diagnostics);
  if (!root.expectMap(true)) return std::nullopt;
  ErrorBudgetPolicy policy;
  const auto api = root.child("apiVersion").string(true);
  const auto kind = root.child("kind").string(true);
  if ((api && *api != kApiVersion) || (kind && *kind != "ErrorBudgetPolicy")) {
    root.error(fmt::format("expected apiVersion {} kind ErrorBudgetPolicy", kApiVersion));
    return std::nullopt;
  }
  const Field meta = root.child("metadata");
  if (meta.expectMap(true)) {
    policy.name = meta.child("name").string(true).value_or("");
    policy.ns = meta.child("namespace").string().value_or("");
  }
  const Field spec = root.child("spec");
  if (spec.present() && spec.expectMap()) {
    spec.rejectUnknownKeys({"mode", "onMissingData", "staleAfter", "lastKnownFor",
                            "missingDataFallback", "restarts", "owners", "tiers", "hysteresis",
                            "freeze", "minEvents", "decisions", "requirements", "review",
                            "exceptions", "ledger"});
    parseEnum(spec.child("mode"), policy.mode, engine::modeFromName, "enforce, warn or audit");
    parseEnum(spec.child("onMissingData"), policy.onMissingData, engine::missingDataActionFromName,
              "last-known, allow-with-warning or deny");
    if (auto d = spec.child("staleAfter").duration()) policy.staleAfter = *d;
    if (auto d = spec.child("lastKnownFor").duration()) policy.lastKnownFor = *d;
    const Field fallback = spec.child("missingDataFallback");
    parseEnum(fallback, policy.missingDataFallback, engine::missingDataActionFromName,
              "allow-with-warning or deny");
    if (policy.missingDataFallback == engine::MissingDataAction::LastKnown) {
      fallback.error("expected allow-with-warning or deny (what applies once last-known expires)");
    }
    if (policy.lastKnownFor < policy.staleAfter) {
      if (spec.child("lastKnownFor").present()) {
        spec.child("lastKnownFor")
            .error(fmt::format("must not be shorter than staleAfter ({})",
                               formatDuration(policy.staleAfter)));
      } else {
        policy.lastKnownFor = policy.staleAfter;
      }
    }
    parseEnum(spec.child("restarts"), policy.restarts, engine::restartActionFromName,
              "allow or gate");
    parseSubjects(spec.child("owners"), policy.owners);

    const Field tiers = spec.child("tiers");
    if (tiers.expectMap()) {
      tiers.rejectUnknownKeys({"critical", "warning", "attention"});
      parseThreshold(tiers.child("critical"), policy.tiers.critical);
      parseThreshold(tiers.child("warning"), policy.tiers.warning);
      parseThreshold(tiers.child("attention"), policy.tiers.attention);
    }
    const Field hysteresis = spec.child("hysteresis");
    if (hysteresis.expectMap()) {
      hysteresis.rejectUnknownKeys({"restorePercent", "maxHold"});
      if (auto v = hysteresis.child("restorePercent").number()) {
        if (*v < 0 || *v > 100) {
          hysteresis.child("restorePercent").error("expected a percentage in [0, 100]");
        } else {
          policy.hysteresis.restorePercent = *v;
        }
      }
      if (auto d = hysteresis.child("maxHold").duration()) policy.hysteresis.maxHold = *d;
    }
    if (auto v = spec.child("minEvents").number()) {
      if (*v < 0) {
        spec.child("minEvents")
            .error(fmt::format("expected a number of events >= 0, got {:g}", *v));
      } else {
        policy.minEvents = *v;
      }
    }
    const Field ledger = spec.child("ledger");
    if (ledger.expectMap()) {
      ledger.rejectUnknownKeys({"attribution"});
      if (auto d = ledger.child("attribution").duration()) {
        if (*d <= Seconds(0) || *d > Seconds(7 * 86400)) {
          ledger.child("attribution").error("expected a duration from 1m to 7d");
        } else {
          policy.ledgerAttribution = *d;
        }
      }
    }
    const Field freeze = spec.child("freeze");
    if (freeze.expectMap()) {
      freeze.rejectUnknownKeys({"maxDuration", "restoredPercent", "relaxTo"});
      if (auto d = freeze.child("maxDuration").duration()) {
        if (d->count() <= 0) {
          freeze.child("maxDuration").error("expected a positive duration");
        } else {
          policy.freeze.maxDuration = *d;
        }
      }
      if (auto v = freeze.child("restoredPercent").number()) {
        if (*v <= 0 || *v > 100) {
          freeze.child("restoredPercent").error("expected a percentage in (0, 100]");
        } else {
          policy.freeze.restoredPercent = *v;
        }
      }
      parseEnum(freeze.child("relaxTo"), policy.freeze.relaxTo, engine::verdictFromName,
                "approve, review or defer");
      if (policy.freeze.relaxTo == engine::Verdict::Block) {
        freeze.child("relaxTo").error("block relaxes nothing: expected approve, review or defer");
      }
      if (!policy.freeze.enabled()) {
        freeze.error("set maxDuration and/or restoredPercent (or leave freeze out)");
      }
    }
    const Field requirements = spec.child("requirements");
    if (requirements.expectMap()) {
      requirements.rejectUnknownKeys({"healthy", "attention", "warning", "critical", "exhausted"});
      for (Tier tier :
           {Tier::Healthy, Tier::Attention, Tier::Warning, Tier::Critical, Tier::Exhausted}) {
        const Field row = requirements.child(engine::tierName(tier));
        if (row.present()) {
          parseRequirements(row, policy.requirements[static_cast<std::size_t>(tier)]);
        }
      }
    }
    const Field decisions = spec.child("decisions");
    if (decisions.expectMap()) {
      decisions.rejectUnknownKeys({"healthy", "attention", "warning", "critical", "exhausted"});
      for (Tier tier :
           {Tier::Healthy, Tier::Attention, Tier::Warning, Tier::Critical, Tier::Exhausted}) {
        const Field row = decisions.child(engine::tierName(tier));
        if (!row.expectMap()) continue;
        row.rejectUnknownKeys({"low", "medium", "high"});
        for (auto risk : engine::kRisks) {
          engine::Verdict v = policy.matrix.at(tier, risk);
          parseEnum(row.child(engine::riskName(risk)), v, engine::verdictFromName,
                    "approve, review, defer or block");
          policy.matrix.set(tier, risk, v);
        }
      }
    }
    const Field review = spec.child("review");
    if (review.expectMap()) {
      review.rejectUnknownKeys({"action", "approvers", "approveDefer", "maxApprovalDuration"});
      parseEnum(review.child("action"), policy.review, engine::reviewActionFromName,
                "warn or require-approval");
      parseSubjects(review.child("approvers"), policy.approvers);
      if (policy.review == engine::ReviewAction::RequireApproval && policy.approvers.empty()) {
        review.child("approvers").error("require-approval needs at least one user or group");
      }
      if (auto b = review.child("approveDefer").boolean()) policy.approvals.approveDefer = *b;
      if (policy.approvals.approveDefer && policy.approvers.empty()) {
        review.child("approvers").error("approveDefer needs at least one approver user or group");
      }
      if (auto d = review.child("maxApprovalDuration").duration()) {
        if (d->count() <= 0) {
          review.child("maxApprovalDuration").error("expected a positive duration");
        } else {
          policy.approvals.maxDuration = *d;
        }
      }
    }
    const Field exceptions = spec.child("exceptions");
    if (exceptions.expectMap()) {
      exceptions.rejectUnknownKeys({"rollback", "security", "sloImprovement", "bugfix"});
      if (auto b = exceptions.child("rollback").boolean()) policy.exceptions.rollback = *b;
      parseSubjects(exceptions.child("security"), policy.exceptions.security);
      parseSubjects(exceptions.child("sloImprovement"), policy.exceptions.sloImprovement);
      parseTieredException(exceptions.child("bugfix"), policy.exceptions.bugfix);
    }
  }
  if (diagnostics.errors().size() != errorsBefore) return std::nullopt;
  return policy;
}

}  // namespace budgetgate::model
