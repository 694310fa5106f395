#pragma once
// Reading a request target: percent-decoding and query parameters, shared by the decision API
// and the status page. Malformed escapes are errors (nullopt), never guessed at.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace budgetgate::server {

// %XX escapes decoded; in a query (form encoding) '+' is a space, in a path segment it is '+'.
std::optional<std::string> percentDecode(std::string_view s, bool formEncoded = true);

// The query's parameters (the last of a repeated one wins); empty without '?'.
std::optional<std::map<std::string, std::string>> queryParameters(std::string_view target);

}  // namespace budgetgate::server
