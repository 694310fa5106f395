#pragma once
// One number from the metrics source, or why there is none. The source's own failure states
// (operator/prometheus) are carried as a name and a flag, so that status assembly needs to
// know nothing about where the numbers came from.

#include <string>

namespace budgetgate::status {

struct Measurement {
  enum class Kind { Value, Empty, NotANumber, Failed };
  Kind kind = Kind::Empty;
  double value = 0;
  // Failed only: the source's state ("timeout", "query-error"...), whether the source itself
  // was unavailable (rather than the query refused), and its message.
  std::string failure;
  bool sourceUnavailable = false;
  std::string error;

  static Measurement of(double v);  // NaN and infinities become NotANumber
  static Measurement failed(std::string state, bool sourceUnavailable, std::string error);
  bool hasValue() const { return kind == Kind::Value; }
  bool isFailure() const { return kind == Kind::Failed; }
};

}  // namespace budgetgate::status
