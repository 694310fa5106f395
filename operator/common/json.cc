#include "operator/common/json.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace budgetgate::json {

const Value* member(const Value* v, std::string_view key) {
  if (v == nullptr || !v->IsObject()) return nullptr;
  auto it = v->FindMember(ref(key));
  return it == v->MemberEnd() ? nullptr : &it->value;
}

const Value* path(const Value* v, std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    v = member(v, k);
    if (v == nullptr) return nullptr;
  }
  return v;
}

std::optional<std::string_view> asString(const Value* v) {
  if (v == nullptr || !v->IsString()) return std::nullopt;
  return std::string_view(v->GetString(), v->GetStringLength());
}

std::optional<double> asNumber(const Value* v) {
  if (v == nullptr || !v->IsNumber()) return std::nullopt;
  const double d = v->GetDouble();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

std::optional<long long> asInt(const Value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->IsInt64()) return v->GetInt64();
  if (v->IsUint64()) {
    const auto u = v->GetUint64();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<long long>(u);
  }
  return std::nullopt;
}

std::optional<bool> asBool(const Value* v) {
  if (v == nullptr || !v->IsBool()) return std::nullopt;
  return v->GetBool();
}

std::string stringOr(const Value* v, std::string_view fallback) {
  auto s = asString(v);
  return std::string(s ? *s : fallback);
}

double tidy(double v) {
  if (!std::isfinite(v)) return 0.0;
  return std::strtod(fmt::format("{:.12g}", v).c_str(), nullptr);
}

std::string toString(const Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

namespace {

void writeCanonical(const Value& v, rapidjson::Writer<rapidjson::StringBuffer>& w) {
  if (v.IsObject()) {
    std::vector<const Value::Member*> members;
    members.reserve(v.MemberCount());
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) members.push_back(&*it);
    std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
      return std::string_view(a->name.GetString(), a->name.GetStringLength()) <
             std::string_view(b->name.GetString(), b->name.GetStringLength());
    });
    w.StartObject();
    for (const auto* m : members) {
      w.Key(m->name.GetString(), m->name.GetStringLength());
      writeCanonical(m->value, w);
    }
    w.EndObject();
  } else if (v.IsArray()) {
    w.StartArray();
    for (const auto& e : v.GetArray()) writeCanonical(e, w);
    w.EndArray();
  } else {
    v.Accept(w);
  }
}

}  // namespace

std::string canonical(const Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writeCanonical(v, writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::size_t nestingDepth(std::string_view text) {
  std::size_t depth = 0, deepest = 0;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::optional<Document> parse(std::string_view text, std::string* error) {
  // Serialisation and canonicalisation recurse; refuse absurd nesting up front so that hostile
  // input cannot exhaust the stack. Kubernetes objects are a few dozen levels deep at most.
  if (const auto depth = nestingDepth(text); depth > kMaxNestingDepth) {
    if (error != nullptr) {
      *error = fmt::format("invalid JSON: nested {} levels deep (limit {})", depth,
                           kMaxNestingDepth);
    }
    return std::nullopt;
  }
  Document doc;
  // Iterative parsing keeps the parser itself off the call stack; trailing garbage is an error.
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    if (error != nullptr) {
      *error = fmt::format("invalid JSON at offset {}: {}", doc.GetErrorOffset(),
                           rapidjson::GetParseError_En(doc.GetParseError()));
    }
    return std::nullopt;
  }
  return doc;
}

Value str(std::string_view s, Document::AllocatorType& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

}  // namespace budgetgate::json
