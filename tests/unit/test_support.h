#pragma once
// Helpers shared by the unit tests: YAML from text, sample files, locating errors.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "operator/common/yaml_json.h"
#include "operator/model/diagnostics.h"

namespace budgetgate::testing {

inline YAML::Node yaml(const std::string& text) {
  const auto docs = loadAllYaml(text);
  EXPECT_EQ(docs.size(), 1u);
  return docs.empty() ? YAML::Node() : docs.front();
}

// 1-based line of the first occurrence of needle in text (0 when absent).
inline int lineOf(std::string_view text, std::string_view needle) {
  const auto pos = text.find(needle);
  if (pos == std::string_view::npos) return 0;
  int line = 1;
  for (std::size_t i = 0; i < pos; ++i) line += text[i] == '\n' ? 1 : 0;
  return line;
}

// 1-based column of the first occurrence of needle within its line.
inline int columnOf(std::string_view text, std::string_view needle) {
  const auto pos = text.find(needle);
  if (pos == std::string_view::npos) return 0;
  const auto lineStart = text.rfind('\n', pos);
  return static_cast<int>(pos - (lineStart == std::string_view::npos ? 0 : lineStart + 1)) + 1;
}

inline std::string sourceFile(std::string_view relative) {
  return std::string(BUDGETGATE_SOURCE_DIR) + "/" + std::string(relative);
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first error recorded for exactly this field path, or nullptr.
inline const model::FieldError* errorAt(const model::Diagnostics& d, std::string_view path) {
  for (const auto& e : d.errors()) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

inline std::string allErrors(const model::Diagnostics& d) {
  return d.format();
}

}  // namespace budgetgate::testing
