#include "webhook/admission/review_json.h"

namespace budgetgate::admission::review_json {
namespace {

using simdjson::dom::element_type;

bool isNumber(element_type t) {
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

bool sameNumber(Element a, Element b) {
  const auto ta = a.type();
  const auto tb = b.type();
  // simdjson stores integers as int64 when they fit and as uint64 only above INT64_MAX, so two
  // integers of different integer types are different values.
  if (ta == element_type::INT64 && tb == element_type::INT64) {
    int64_t x = 0;
    int64_t y = 0;
    return !a.get_int64().get(x) && !b.get_int64().get(y) && x == y;
  }
  if (ta == element_type::UINT64 && tb == element_type::UINT64) {
    uint64_t x = 0;
    uint64_t y = 0;
    return !a.get_uint64().get(x) && !b.get_uint64().get(y) && x == y;
  }
  if (ta != element_type::DOUBLE && tb != element_type::DOUBLE) return false;
  double x = 0;
  double y = 0;
  if (a.get_double().get(x) || b.get_double().get(y)) return false;
  return x == y;
}

bool sameObject(simdjson::dom::object a, simdjson::dom::object b) {
  if (a.size() != b.size()) return false;
  // The API server writes both objects with the same serializer, so members are nearly always
  // in the same order: walk both in step and look a key up only when the orders differ.
  auto bi = b.begin();
  for (auto [key, value] : a) {
    if (bi != b.end() && bi.key() == key) {
      if (!sameJson(value, bi.value())) return false;
      ++bi;
      continue;
    }
    Element other;
    if (b.at_key(key).get(other) || !sameJson(value, other)) return false;
    if (bi != b.end()) ++bi;  // keep the walk in step for the members after this one
  }
  return true;
}

bool sameArray(simdjson::dom::array a, simdjson::dom::array b) {
  if (a.size() != b.size()) return false;
  auto bi = b.begin();
  for (Element value : a) {
    if (!sameJson(value, *bi)) return false;
    ++bi;
  }
  return true;
}

// A forward scan over JSON text known to be valid; bounds are still checked at every step so
// that misuse on other text ends the scan instead of reading past it.
class RawScanner {
 public:
  explicit RawScanner(std::string_view s) : s_(s) {}

  void skipSpace() {
    while (i_ < s_.size() && space(s_[i_])) ++i_;
  }
  bool at(char c) {
    skipSpace();
    return i_ < s_.size() && s_[i_] == c;
  }
  bool consume(char c) {
    if (!at(c)) return false;
    ++i_;
    return true;
  }
  std::size_t position() const { return i_; }

  // At an opening quote: the string's raw content; *escaped tells whether it held escapes.
  std::string_view string(bool* escaped) {
    const std::size_t start = ++i_;
    *escaped = false;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\') {
        *escaped = true;
        ++i_;
      }
      ++i_;
    }
    const auto content = s_.substr(start, std::min(i_, s_.size()) - start);
    ++i_;  // the closing quote
    return content;
  }

  void skipValue() {
    skipSpace();
    bool escaped = false;
    if (i_ >= s_.size()) return;
    if (s_[i_] == '"') {
      string(&escaped);
      return;
    }
    if (s_[i_] == '{' || s_[i_] == '[') {
      std::size_t depth = 0;
      while (i_ < s_.size()) {
        const char c = s_[i_];
        if (c == '"') {
          string(&escaped);
          continue;
        }
        ++i_;
        if (c == '{' || c == '[') ++depth;
        if ((c == '}' || c == ']') && --depth == 0) return;
      }
      return;
    }
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' && !space(s_[i_])) {
      ++i_;  // number, true, false, null
    }
  }

 private:
  static bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

std::optional<std::string_view> rawValueAt(std::string_view text,
                                           std::initializer_list<std::string_view> keys) {
  RawScanner scan(text);
  for (auto key : keys) {
    if (!scan.consume('{')) return std::nullopt;
    for (bool found = false; !found;) {
      if (!scan.at('"')) return std::nullopt;  // '}' (no such member) or not JSON
      bool escaped = false;
      const auto name = scan.string(&escaped);
      if (escaped || !scan.consume(':')) return std::nullopt;
      found = name == key;
      if (!found) {
        scan.skipValue();
        scan.consume(',');
      }
    }
  }
  scan.skipSpace();
  const std::size_t start = scan.position();
  scan.skipValue();
  if (scan.position() <= start || scan.position() > text.size()) return std::nullopt;
  return text.substr(start, scan.position() - start);
}

std::optional<Element> member(std::optional<Element> v, std::string_view key) {
  simdjson::dom::object object;
  Element out;
  if (!v || v->get_object().get(object) || object.at_key(key).get(out)) return std::nullopt;
  return out;
}

std::optional<Element> path(std::optional<Element> v,
                            std::initializer_list<std::string_view> keys) {
  for (auto key : keys) v = member(v, key);
  return v;
}

std::string stringOr(std::optional<Element> v, std::string_view fallback) {
  std::string_view s;
  if (!v || v->get_string().get(s)) return std::string(fallback);
  return std::string(s);
}

std::optional<bool> asBool(std::optional<Element> v) {
  bool b = false;
  if (!v || v->get_bool().get(b)) return std::nullopt;
  return b;
}

std::optional<long long> asInt(std::optional<Element> v) {
  std::int64_t i = 0;
  if (!v || v->get_int64().get(i)) return std::nullopt;
  return i;
}

std::string intOrString(std::optional<Element> v, std::string_view fallback) {
  if (auto i = asInt(v)) return std::to_string(*i);
  std::string_view s;
  if (v && !v->get_string().get(s)) return std::string(s);
  return std::string(fallback);
}

model::Labels stringMap(std::optional<Element> v) {
  model::Labels out;
  simdjson::dom::object object;
  if (!v || v->get_object().get(object)) return out;
  for (auto [key, value] : object) {
    std::string_view s;
    if (!value.get_string().get(s)) out.emplace(std::string(key), std::string(s));
  }
  return out;
}

std::optional<model::Labels> labelMap(std::optional<Element> v, std::string* error) {
  model::Labels out;
  if (!v || v->is_null()) return out;
  simdjson::dom::object object;
  if (v->get_object().get(object)) {
    *error = "is not a map of strings";
    return std::nullopt;
  }
  for (auto [key, value] : object) {
    std::string_view s;
    if (value.get_string().get(s)) {
      *error = "value of \"" + std::string(key) + "\" is not a string";
      return std::nullopt;
    }
    out.emplace(std::string(key), std::string(s));
  }
  return out;
}

namespace {

// Every member of `o` is the ignored one (or on its path and holding nothing else).
bool onlyIgnored(simdjson::dom::object o, const std::string_view* path, std::size_t n) {
  for (auto [key, value] : o) {
    if (n == 0 || key != path[0]) return false;
    if (n == 1) continue;
    simdjson::dom::object inner;
    if (value.get_object().get(inner) || !onlyIgnored(inner, path + 1, n - 1)) return false;
  }
  return true;
}

bool sameExcept(Element a, Element b, const std::string_view* path, std::size_t n) {
  simdjson::dom::object x;
  simdjson::dom::object y;
  if (n == 0 || a.get_object().get(x) || b.get_object().get(y)) return sameJson(a, b);
  for (auto [key, value] : x) {
    Element other;
    const bool inY = !y.at_key(key).get(other);
    if (key == path[0]) {
      if (n == 1) continue;
      simdjson::dom::object inner;
      if (inY ? !sameExcept(value, other, path + 1, n - 1)
              : (value.get_object().get(inner) || !onlyIgnored(inner, path + 1, n - 1))) {
        return false;
      }
      continue;
    }
    if (!inY || !sameJson(value, other)) return false;
  }
  for (auto [key, value] : y) {
    Element other;
    if (!x.at_key(key).get(other)) continue;  // compared above
    if (key != path[0]) return false;
    simdjson::dom::object inner;
    if (n > 1 && (value.get_object().get(inner) || !onlyIgnored(inner, path + 1, n - 1))) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool sameJsonExcept(Element a, Element b, std::initializer_list<std::string_view> ignored) {
  return sameExcept(a, b, ignored.begin(), ignored.size());
}

bool sameJson(Element a, Element b) {
  const auto ta = a.type();
  const auto tb = b.type();
  if (isNumber(ta) && isNumber(tb)) return sameNumber(a, b);
  if (ta != tb) return false;
  switch (ta) {
    case element_type::OBJECT: {
      simdjson::dom::object x;
      simdjson::dom::object y;
      return !a.get_object().get(x) && !b.get_object().get(y) && sameObject(x, y);
    }
    case element_type::ARRAY: {
      simdjson::dom::array x;
      simdjson::dom::array y;
      return !a.get_array().get(x) && !b.get_array().get(y) && sameArray(x, y);
    }
    case element_type::STRING: {
      std::string_view x;
      std::string_view y;
      return !a.get_string().get(x) && !b.get_string().get(y) && x == y;
    }
    case element_type::BOOL: {
      bool x = false;
      bool y = false;
      return !a.get_bool().get(x) && !b.get_bool().get(y) && x == y;
    }
    case element_type::NULL_VALUE:
      return true;
    default:
      return false;
  }
}

}  // namespace budgetgate::admission::review_json
