#pragma once
// Parsing of Prometheus HTTP API bodies (/api/v1/query and /api/v1/query_range). Pure.

#include <string_view>

#include "operator/prometheus/prometheus_api.h"

namespace budgetgate::prometheus {

// httpStatus is the response's status code; the body is parsed whatever it is, because
// Prometheus explains query errors in a JSON body with status 400/422.
InstantResult parseInstantResponse(int httpStatus, std::string_view body);
RangeResult parseRangeResponse(int httpStatus, std::string_view body);

}  // namespace budgetgate::prometheus
