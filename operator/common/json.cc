#include "operator/common/json.h"

#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

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

std::size_t depthOf(const Value& root) {
  // Iterative: the point is to bound recursion, so this must not recurse itself.
  std::vector<std::pair<const Value*, std::size_t>> stack{{&root, 1}};
  std::size_t deepest = 0;
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    if (v->IsObject()) {
      deepest = std::max(deepest, depth);
      for (const auto& m : v->GetObject()) {
        if (m.value.IsObject() || m.value.IsArray()) stack.emplace_back(&m.value, depth + 1);
      }
    } else if (v->IsArray()) {
      deepest = std::max(deepest, depth);
      for (const auto& e : v->GetArray()) {
        if (e.IsObject() || e.IsArray()) stack.emplace_back(&e, depth + 1);
      }
    }
  }
  return deepest;
}

namespace {

template <typename Parse>
std::optional<Document> parseWith(Parse&& parseInto, std::string* error) {
  Document doc;
  // Iterative parsing keeps the parser itself off the call stack; trailing garbage is an error.
  parseInto(doc);
  if (doc.HasParseError()) {
    if (error != nullptr) {
      *error = fmt::format("invalid JSON at offset {}: {}", doc.GetErrorOffset(),
                           rapidjson::GetParseError_En(doc.GetParseError()));
    }
    return std::nullopt;
  }
  // Serialisation, comparison and canonicalisation recurse; refuse absurd nesting so that
  // hostile input cannot exhaust the stack. Kubernetes objects are a few dozen levels deep.
  if (const auto depth = depthOf(doc); depth > kMaxNestingDepth) {
    if (error != nullptr) {
      *error =
          fmt::format("invalid JSON: nested {} levels deep (limit {})", depth, kMaxNestingDepth);
    }
    return std::nullopt;
  }
  return doc;
}

}  // namespace

std::optional<Document> parse(std::string_view text, std::string* error) {
  // RapidJSON's NUL-terminated in-situ path is several times faster than its sized, copying one
  // (which goes through an encoding adaptor and a string stack per character). The text is
  // copied once into the document's own memory pool, so the parsed strings live as long as the
  // document. A raw NUL is never valid JSON but would end that path early: refuse it first.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    if (error != nullptr) *error = fmt::format("invalid JSON at offset {}: NUL byte", nul);
    return std::nullopt;
  }
  return parseWith(
      [&](Document& doc) {
        auto* buffer = static_cast<char*>(doc.GetAllocator().Malloc(text.size() + 1));
        std::memcpy(buffer, text.data(), text.size());
        buffer[text.size()] = '\0';
        doc.ParseInsitu<rapidjson::kParseIterativeFlag>(buffer);
      },
      error);
}

Value str(std::string_view s, Document::AllocatorType& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

}  // namespace budgetgate::json
