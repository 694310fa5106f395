#include "operator/status/measurement.h"

#include <cmath>

namespace budgetgate::status {

Measurement Measurement::of(double v) {
  Measurement m;
  if (std::isfinite(v)) {
    m.kind = Kind::Value;
    m.value = v;
  } else {
    m.kind = Kind::NotANumber;
  }
  return m;
}

Measurement Measurement::failed(std::string state, bool sourceUnavailable, std::string error) {
  Measurement m;
  m.kind = Kind::Failed;
  m.failure = std::move(state);
  m.sourceUnavailable = sourceUnavailable;
  m.error = std::move(error);
  return m;
}

}  // namespace budgetgate::status
