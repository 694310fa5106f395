#pragma once
// Reading an AdmissionReview parsed by simdjson: safe lookups that never throw and treat a
// value of the wrong type as absent (the body is hostile until proven otherwise), and the
// order-insensitive equality the gate uses to tell whether spec.template changed.

#include <simdjson.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "operator/model/label_selector.h"

namespace budgetgate::admission::review_json {

using Element = simdjson::dom::element;

// The member `key` of an object; nullopt when `v` is absent, not an object or lacks the key.
std::optional<Element> member(std::optional<Element> v, std::string_view key);
// Walks nested objects: path(object, {"spec", "template"}).
std::optional<Element> path(std::optional<Element> v, std::initializer_list<std::string_view> keys);

std::string stringOr(std::optional<Element> v, std::string_view fallback = {});
std::optional<bool> asBool(std::optional<Element> v);
std::optional<long long> asInt(std::optional<Element> v);
// An IntOrString field (maxSurge: 1 or "25%") as text; `fallback` when absent or another type.
std::string intOrString(std::optional<Element> v, std::string_view fallback);
// String-valued members of an object (labels, annotations); other members are skipped.
model::Labels stringMap(std::optional<Element> v);
// A label or annotation map as Kubernetes defines it: absent or null is empty; anything but an
// object of strings is an error (nullopt, *error says what), never silently read as empty.
std::optional<model::Labels> labelMap(std::optional<Element> v, std::string* error);

// The raw text of the value at `keys` (nested object members, first occurrence of each) in
// `text`, which must already have parsed as JSON. nullopt when a member on the path is
// missing, a value on the way is not an object, or a key at a level of the path is written
// with escape sequences (undecoded, it cannot be matched; callers fall back to re-serialising
// the parsed value).
std::optional<std::string_view> rawValueAt(std::string_view text,
                                           std::initializer_list<std::string_view> keys);

// Structural equality with the semantics of rapidjson::Value::operator==: objects compare
// member by member in any order, numbers by value (5 == 5.0), everything else exactly.
bool sameJson(Element a, Element b);

// sameJson, except for the member at `ignored` (a path of object keys): it may differ, be
// missing on either side, and an object on the way that holds nothing else may be missing too.
// Tells a `kubectl rollout restart` (only the restartedAt annotation changed) from a rollout.
bool sameJsonExcept(Element a, Element b, std::initializer_list<std::string_view> ignored);

}  // namespace budgetgate::admission::review_json
