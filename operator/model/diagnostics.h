#pragma once
// Precise manifest errors: where (file, line, column, field path) and what was expected.

#include <string>
#include <vector>

namespace budgetgate::model {

struct FieldError {
  std::string path;  // "spec.objectives[0].target"
  int line = 0;      // 1-based; 0 when unknown (e.g. JSON from the API server)
  int column = 0;
  std::string message;  // what was expected and what was found
};

class Diagnostics {
 public:
  explicit Diagnostics(std::string source = {}) : source_(std::move(source)) {}

  void add(FieldError e) { errors_.push_back(std::move(e)); }
  void add(std::string path, std::string message) {
    add({std::move(path), 0, 0, std::move(message)});
  }

  // A warning does not make the manifest invalid: valid OpenSLO that is probably not what was
  // meant (validate prints it, the webhook returns it to kubectl, import passes it on).
  void warn(FieldError w) { warnings_.push_back(std::move(w)); }

  bool ok() const { return errors_.empty(); }
  const std::vector<FieldError>& errors() const { return errors_; }
  const std::vector<FieldError>& warnings() const { return warnings_; }
  const std::string& source() const { return source_; }

  // "slo.yaml:12:7: spec.objectives[0].target: expected ..." one per line.
  std::string format() const;
  std::string formatOne(const FieldError& e) const;
  // "warning: slo.yaml:12:7: spec...: ..." one per line.
  std::string formatWarnings() const;

 private:
  std::string source_;
  std::vector<FieldError> errors_;
  std::vector<FieldError> warnings_;
};

}  // namespace budgetgate::model
