#include "operator/cli/cli_io.h"

#include <fmt/format.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "operator/common/yaml_json.h"

namespace budgetgate::cli {

std::optional<std::string> readInput(const std::string& path, std::string* error) {
  std::ostringstream buffer;
  if (path == "-") {
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (error) *error = fmt::format("{}: cannot open: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  buffer << in.rdbuf();
  if (in.bad()) {
    if (error) *error = fmt::format("{}: read error", path);
    return std::nullopt;
  }
  return buffer.str();
}

bool loadDocuments(const std::string& path, std::vector<Document>& out, std::string* error) {
  // A directory stands for its *.yaml, *.yml and *.json files, in name order (as kubectl -f).
  std::error_code ec;
  if (path != "-" && std::filesystem::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const auto ext = entry.path().extension().string();
      if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
        files.push_back(entry.path().string());
      }
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) {
      if (error) *error = fmt::format("{}: no .yaml, .yml or .json files in the directory", path);
      return false;
    }
    for (const auto& f : files) {
      if (!loadDocuments(f, out, error)) return false;
    }
    return true;
  }
  auto text = readInput(path, error);
  if (!text) return false;
  const std::string name = path == "-" ? "<stdin>" : path;
  try {
    auto docs = loadAllYaml(*text);
    int index = 0;
    int nonEmpty = 0;
    for (auto& d : docs) {
      ++index;
      if (!d.IsDefined() || d.IsNull()) continue;
      ++nonEmpty;
      const std::string source = docs.size() > 1 ? fmt::format("{}#{}", name, index) : name;
      // A top-level list of objects (as OpenSLO bundles are often written), or a Kubernetes
      // List: each item is a document of its own.
      const bool kubeList = d.IsMap() && d["kind"] && d["kind"].IsScalar() &&
                            d["kind"].Scalar() == "List" && d["items"] && d["items"].IsSequence();
      if (d.IsSequence() || kubeList) {
        const YAML::Node items = kubeList ? d["items"] : d;
        for (std::size_t i = 0; i < items.size(); ++i) {
          out.push_back({fmt::format("{}[{}]", source, i), items[i]});
        }
        continue;
      }
      out.push_back({source, d});
    }
    if (nonEmpty == 0) {
      if (error) *error = fmt::format("{}: no documents (the file is empty)", name);
      return false;
    }
  } catch (const YAML::Exception& e) {
    if (error) {
      *error = fmt::format("{}:{}:{}: malformed YAML: {}", name, e.mark.line + 1, e.mark.column + 1,
                           e.msg);
    }
    return false;
  }
  return true;
}

rapidjson::Document toJson(const YAML::Node& node) {
  rapidjson::Document doc;
  yamlToJson(node, doc, doc.GetAllocator());
  return doc;
}

void printJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  value.Accept(writer);
  std::cout << buffer.GetString() << '\n';
}

bool stdoutIsTerminal() {
  return ::isatty(STDOUT_FILENO) == 1;
}

}  // namespace budgetgate::cli
