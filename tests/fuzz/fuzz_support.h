#pragma once
// What the fuzz tests share: a seeded mutator of text documents (byte flips, truncation, token
// splicing, deep nesting, extreme numbers), "wrong type at every field" variants of a JSON
// document, and reporting helpers. Deterministic: the same inputs on every run.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "operator/common/json.h"

namespace budgetgate::fuzz {

// Fragments spliced into documents: structure, YAML features, and numbers JSON cannot hold.
inline const std::string_view kTokens[] = {
    "[",
    "]",
    "{",
    "}",
    ":",
    ": ",
    ",",
    "- ",
    "\n",
    "\n  ",
    "  ",
    "\t",
    "\"",
    "'",
    "\\",
    "#",
    "&a ",
    "*a",
    "&a [*a]",
    "!!binary ",
    "!!int ",
    "!custom ",
    "? ",
    "|\n",
    ">-\n",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "<<: *a\n",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    ".inf",
    "-.inf",
    ".nan",
    "1e999",
    "-1e999",
    "1e-999",
    "99999999999999999999999999999",
    "-9223372036854775809",
    "18446744073709551616",
    "0x7FFFFFFF",
    "0o17",
    "1_000",
    "-0",
    "null",
    "~",
    "true",
    "yes",
    "\"\"",
    "\\u0000",
    "\\ud800",
    "\xff\xfe",
    "\xc3\x28",
    "\xe2\x82",
    std::string_view("\0", 1),
    "target",
    "targetPercent",
    "timeWindow",
    "duration",
    "isRolling",
    "calendar",
    "timeZone",
    "startTime",
    "selector",
    "matchExpressions",
    "operator",
    "values",
    "lastEvaluated",
    "tier",
    "tierHold",
    "since",
    "burnRates",
    "errorBudget",
    "template",
    "metadata",
    "labels",
    "spec",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00+23:59",
    "253402300800",
    "2026-02-30T00:00:00Z",
    "9999999Y",
    "999999M",
    "999999d",
    "0d",
    "-5m",
    "1h30m",
    "Mars/Olympus",
    "Etc/GMT+14",
};

// Values of every JSON type (and awkward ones of the right type) for replacing fields.
inline const char* const kReplacements[] = {
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1.5",
    "1e308",
    "-1e308",
    "4e-320",
    "18446744073709551615",
    "-9223372036854775808",
    "\"\"",
    "\"x\"",
    "\"1e999\"",
    "\"NaN\"",
    "\"9999-12-31T23:59:59Z\"",
    "\"253402300799\"",
    "\"unknown\"",
    "\"exhausted\"",
    "[]",
    "[1, \"a\", null]",
    "{}",
    "{\"a\": {\"b\": [[[]]]}}",
};

inline bool verbose() {
  static const bool v = std::getenv("BUDGETGATE_FUZZ_VERBOSE") != nullptr;
  return v;
}

inline int scale() {
  static const int s = [] {
    const char* env = std::getenv("BUDGETGATE_FUZZ_SCALE");
    const int v = env ? std::atoi(env) : 1;
    return v > 0 ? v : 1;
  }();
  return s;
}

inline std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s.substr(0, 2000)) {
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return s.size() > 2000 ? out + "...(" + std::to_string(s.size()) + " bytes)" : out;
}

// Runs `f`; any exception is a test failure naming the input.
inline void noThrow(const char* what, const std::string& input, const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << " threw " << typeid(e).name() << ": " << e.what()
                  << "\ninput: " << printable(input);
  } catch (...) {
    ADD_FAILURE() << what << " threw a non-standard exception\ninput: " << printable(input);
  }
}

// --- mutations
// ------------------------------------------------------------------------------------

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

  std::string mutate(std::string s) {
    const int rounds = 1 + static_cast<int>(below(4));
    for (int r = 0; r < rounds; ++r) s = mutateOnce(std::move(s));
    return s;
  }

 private:
  std::string mutateOnce(std::string s) {
    const std::size_t pos = below(s.size() + 1);
    switch (below(9)) {
      case 0:  // flip bits of one byte
        if (!s.empty()) s[below(s.size())] ^= static_cast<char>(1u << below(8));
        return s;
      case 1:  // random byte
        if (!s.empty()) s[below(s.size())] = static_cast<char>(below(256));
        return s;
      case 2:  // truncate
        return s.substr(0, pos);
      case 3: {  // delete a range
        const std::size_t n =
            below(std::min<std::size_t>(s.size() - std::min(pos, s.size()), 40) + 1);
        return s.erase(std::min(pos, s.size()), n);
      }
      case 4:    // splice a token
      case 5: {  // (twice as likely)
        return s.insert(pos, std::string(kTokens[below(std::size(kTokens))]));
      }
      case 6: {  // duplicate a range
        const std::size_t start = below(s.size() + 1);
        const std::size_t n = below(std::min<std::size_t>(s.size() - start, 200) + 1);
        return s.insert(pos, s.substr(start, n));
      }
      case 7: {  // a run of brackets, occasionally absurdly deep
        const char c = "[{"[below(2)];
        const std::size_t n = below(10) == 0 ? 100000 : below(300);
        return s.insert(pos, std::string(n, c));
      }
      default: {  // swap a number for an extreme one
        static const char* kNumbers[] = {"1e999",    "-1e999", "NaN",
                                         "Infinity", "1e308",  "99999999999999999999999",
                                         "-0",       "4e-320"};
        for (std::size_t i = pos; i < s.size(); ++i) {
          if (s[i] >= '0' && s[i] <= '9') {
            std::size_t j = i;
            while (j < s.size() && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.')) ++j;
            return s.replace(i, j - i, kNumbers[below(std::size(kNumbers))]);
          }
        }
        return s;
      }
    }
  }

  std::mt19937_64 rng_;
};

// Every value in a JSON tree, by pointer, for "wrong type at every field".
inline void collectValues(rapidjson::Value& v, std::vector<rapidjson::Value*>& out) {
  out.push_back(&v);
  if (v.IsObject()) {
    for (auto& m : v.GetObject()) collectValues(m.value, out);
  } else if (v.IsArray()) {
    for (auto& e : v.GetArray()) collectValues(e, out);
  }
}

// For each field of the document (as JSON) and each replacement value: the document with that one
// field replaced, as JSON text (which is also YAML).
inline std::vector<std::string> wrongTypeVariants(const json::Document& original) {
  std::vector<std::string> out;
  json::Document probe;
  probe.CopyFrom(original, probe.GetAllocator());
  std::vector<rapidjson::Value*> values;
  collectValues(probe, values);
  for (std::size_t i = 1; i < values.size(); ++i) {  // 0 is the root
    for (const char* replacement : kReplacements) {
      json::Document doc;
      doc.CopyFrom(original, doc.GetAllocator());
      std::vector<rapidjson::Value*> targets;
      collectValues(doc, targets);
      json::Document value;
      value.Parse(replacement);
      targets[i]->CopyFrom(value, doc.GetAllocator());
      out.push_back(json::toString(doc));
    }
  }
  return out;
}

}  // namespace budgetgate::fuzz
