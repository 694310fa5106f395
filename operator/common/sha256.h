#pragma once
// SHA-256 as lowercase hex: pod-template fingerprints, cache keys for bearer tokens.

#include <string>
#include <string_view>

namespace budgetgate {

std::string sha256Hex(std::string_view data);

}  // namespace budgetgate
