#pragma once
// Small, allocation-free helpers over RapidJSON values: safe lookups that never throw and
// never assert on a value of the wrong type (input from the network is hostile).

#include <rapidjson/document.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace budgetgate::json {

using Value = rapidjson::Value;
using Document = rapidjson::Document;

// The member `key` of an object, or nullptr when `v` is not an object or lacks it.
const Value* member(const Value* v, std::string_view key);
// Walks nested objects: path({"spec", "template"}).
const Value* path(const Value* v, std::initializer_list<std::string_view> keys);

std::optional<std::string_view> asString(const Value* v);
std::optional<double> asNumber(const Value* v);  // finite numbers only
std::optional<long long> asInt(const Value* v);
std::optional<bool> asBool(const Value* v);

std::string stringOr(const Value* v, std::string_view fallback = {});

// Rounds to 12 significant digits so that printed figures read as people expect
// (1 - 0.999 prints as 0.001, not 0.0010000000000000009). Non-finite values become 0.
double tidy(double v);

// Compact serialisation.
std::string toString(const Value& v);
// Serialisation with object keys sorted at every level, so that two semantically equal
// objects give the same text (used to compare pod templates).
std::string canonical(const Value& v);

inline constexpr std::size_t kMaxNestingDepth = 200;
// Deepest {/[ nesting in JSON text, ignoring brackets inside strings.
std::size_t nestingDepth(std::string_view text);

// Deepest object/array nesting of a parsed value (1 for a flat object), computed iteratively.
std::size_t depthOf(const Value& v);

// Parses text; on failure returns nullopt and sets *error to a message with the offset.
// Documents nested deeper than kMaxNestingDepth are refused.
std::optional<Document> parse(std::string_view text, std::string* error);

// Shorthand for building values with a document's allocator.
inline rapidjson::GenericStringRef<char> ref(std::string_view s) {
  return rapidjson::GenericStringRef<char>(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
Value str(std::string_view s, Document::AllocatorType& a);

}  // namespace budgetgate::json
