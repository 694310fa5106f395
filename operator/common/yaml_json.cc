#include "operator/common/yaml_json.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "operator/common/json.h"

namespace budgetgate {
namespace {

bool isNullScalar(const std::string& s) {
  return s == "null" || s == "Null" || s == "NULL" || s == "~";
}

std::optional<bool> boolScalar(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<std::int64_t> intScalar(const std::string& s) {
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  const char* begin = s.data();
  if (*begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> floatScalar(const std::string& s) {
  if (s.empty()) return std::nullopt;
  // Core schema floats: digits with '.', exponent; no hex, no inf/nan (they are not JSON).
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+')) {
      return std::nullopt;
    }
  }
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Aliases let a few bytes describe a tree that is cyclic ("&a [*a]") or exponentially large
// ("billion laughs"); everything that walks a loaded node must only ever see a modest, finite one.
constexpr std::size_t kMaxYamlNodes = 1'000'000;

// `depth` counts the collections around `node`, as json::nestingDepth counts brackets.
void checkExpandedSize(const YAML::Node& node, std::size_t depth, std::size_t& count) {
  if (++count > kMaxYamlNodes) {
    throw YAML::ParserException(node.Mark(),
                                fmt::format("aliases expand to more than {} nodes", kMaxYamlNodes));
  }
  if (!node.IsSequence() && !node.IsMap()) return;
  if (depth + 1 > json::kMaxNestingDepth) {
    throw YAML::ParserException(
        node.Mark(), fmt::format("nested more than {} levels deep (or an alias contains itself)",
                                 json::kMaxNestingDepth));
  }
  if (node.IsSequence()) {
    for (const auto& e : node) checkExpandedSize(e, depth + 1, count);
  } else {
    for (const auto& kv : node) {
      checkExpandedSize(kv.first, depth + 1, count);
      checkExpandedSize(kv.second, depth + 1, count);
    }
  }
}

// yaml-cpp 0.7's LoadAll never returns, allocating an empty document per turn, when a token is
// left unconsumed after a document (a stray "," or "]": "[1],"); fixed upstream after 0.8.0
// (jbeder/yaml-cpp#1319). A first pass that only notes where each document starts spots it: the
// stuck parser starts the next document where the previous one started.
class DocumentStarts : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  YAML::Mark start = YAML::Mark::null_mark();
};

void rejectStuckDocuments(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts events;
  std::optional<int> previous;
  while (parser.HandleNextDocument(events)) {
    if (previous == events.start.pos) {
      throw YAML::ParserException(events.start, "unexpected character after the document");
    }
    previous = events.start.pos;
  }
}

}  // namespace

YAML::Node jsonToYaml(const rapidjson::Value& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType:
      return YAML::Node(YAML::NodeType::Null);
    case rapidjson::kFalseType:
      return YAML::Node(false);
    case rapidjson::kTrueType:
      return YAML::Node(true);
    case rapidjson::kStringType: {
      YAML::Node n(std::string(value.GetString(), value.GetStringLength()));
      n.SetTag("!");  // a JSON string stays a string even if it looks like a number
      return n;
    }
    case rapidjson::kNumberType:
      if (value.IsInt64()) return YAML::Node(value.GetInt64());
      if (value.IsUint64()) return YAML::Node(value.GetUint64());
      return YAML::Node(value.GetDouble());
    case rapidjson::kArrayType: {
      YAML::Node seq(YAML::NodeType::Sequence);
      for (const auto& e : value.GetArray()) seq.push_back(jsonToYaml(e));
      return seq;
    }
    case rapidjson::kObjectType: {
      YAML::Node map(YAML::NodeType::Map);
      for (const auto& m : value.GetObject()) {
        map[std::string(m.name.GetString(), m.name.GetStringLength())] = jsonToYaml(m.value);
      }
      return map;
    }
  }
  return YAML::Node();
}

void yamlToJson(const YAML::Node& node, rapidjson::Value& out,
                rapidjson::Document::AllocatorType& allocator) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.SetNull();
      return;
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() != "!") {  // plain scalar: infer the type
        if (isNullScalar(s)) {
          out.SetNull();
          return;
        }
        if (auto b = boolScalar(s)) {
          out.SetBool(*b);
          return;
        }
        if (auto i = intScalar(s)) {
          out.SetInt64(*i);
          return;
        }
        if (auto d = floatScalar(s)) {
          out.SetDouble(*d);
          return;
        }
      }
      out.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), allocator);
      return;
    }
    case YAML::NodeType::Sequence: {
      out.SetArray();
      for (const auto& e : node) {
        rapidjson::Value v;
        yamlToJson(e, v, allocator);
        out.PushBack(v, allocator);
      }
      return;
    }
    case YAML::NodeType::Map: {
      out.SetObject();
      for (const auto& kv : node) {
        rapidjson::Value key;
        const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
        key.SetString(k.c_str(), static_cast<rapidjson::SizeType>(k.size()), allocator);
        rapidjson::Value v;
        yamlToJson(kv.second, v, allocator);
        out.AddMember(key, v, allocator);
      }
      return;
    }
  }
}

std::vector<YAML::Node> loadAllYaml(const std::string& text) {
  rejectStuckDocuments(text);
  auto docs = YAML::LoadAll(text);
  std::size_t count = 0;
  for (const auto& doc : docs) checkExpandedSize(doc, 0, count);
  return docs;
}

}  // namespace budgetgate
