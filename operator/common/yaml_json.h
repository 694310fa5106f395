#pragma once
// Conversions between yaml-cpp nodes and RapidJSON values, so that one parser serves both
// manifests read from files (YAML) and objects read from the API server (JSON).

#include <rapidjson/document.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace budgetgate {

// JSON -> YAML (numbers, booleans and null become plain scalars).
YAML::Node jsonToYaml(const rapidjson::Value& value);

// YAML -> JSON. Plain scalars are typed the way YAML 1.2's core schema types them
// (true/false, null/~, integers, floats); quoted scalars stay strings.
void yamlToJson(const YAML::Node& node, rapidjson::Value& out,
                rapidjson::Document::AllocatorType& allocator);

// Loads every document of a YAML stream (a file may hold several separated by ---).
// Throws YAML::Exception with line/column on malformed input, and on documents whose aliases
// make them cyclic or huge, or that nest deeper than json::kMaxNestingDepth.
std::vector<YAML::Node> loadAllYaml(const std::string& text);

}  // namespace budgetgate
