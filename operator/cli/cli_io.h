#pragma once
// File and terminal edges of the CLI: reading manifests, printing JSON, exit codes.

#include <rapidjson/document.h>
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

namespace budgetgate::cli {

// Exit codes shared by every command.
enum ExitCode : int {
  kExitOk = 0,
  kExitDenied = 1,       // gate: the rollout would be refused
  kExitBadInput = 2,     // unreadable or invalid input, bad flags
  kExitMissingData = 3,  // evaluate: some SLO had no data
};

// Reads a whole file ("-" is standard input). nullopt with *error on failure.
std::optional<std::string> readInput(const std::string& path, std::string* error);

struct Document {
  std::string source;  // file name, with "#N" for the N-th document of a multi-document file
  YAML::Node node;
};

// Loads every non-empty YAML (or JSON) document of a file. On a syntax error returns false
// and sets *error to "file:line:col: message".
bool loadDocuments(const std::string& path, std::vector<Document>& out, std::string* error);

// Converts a YAML node to a JSON document.
rapidjson::Document toJson(const YAML::Node& node);

void printJson(const rapidjson::Value& value);

// True when standard output is a terminal (for table-vs-JSON defaults).
bool stdoutIsTerminal();

}  // namespace budgetgate::cli
