#pragma once
// Column-aligned plain-text tables, kubectl style.

#include <string>
#include <vector>

namespace budgetgate::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace budgetgate::cli
