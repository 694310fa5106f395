// budgetgate import: OpenSLO v1 bundles as ServiceLevelObjective manifests for kubectl apply.

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/cli/manifests.h"
#include "operator/model/openslo_import.h"

namespace budgetgate::cli {
namespace {

struct ImportOptions {
  std::vector<std::string> files;
  std::string ns;
};

int runImport(const ImportOptions& o) {
  ManifestSet set;
  bool ok = loadManifests(o.files, set);
  YAML::Emitter out;
  int written = 0;
  for (const auto& doc : set.slos) {
    model::Diagnostics diag(doc.source);
    if (model::openSloKind(doc.node) != "SLO") {
      // Already a ServiceLevelObjective: checked and passed through.
      const bool parsed = model::parseSlo(doc.node, diag, &set.catalog).has_value();
      std::cerr << diag.formatWarnings();
      if (!parsed) {
        std::cerr << diag.format();
        ok = false;
        continue;
      }
      out << YAML::BeginDoc << doc.node;
      ++written;
      continue;
    }
    auto imported = model::importOpenSloSlo(doc.node, set.catalog, o.ns, diag);
    std::cerr << diag.formatWarnings();
    if (!imported) {
      std::cerr << diag.format();
      ok = false;
      continue;
    }
    for (const auto& note : imported->notes) std::cerr << doc.source << ": " << note << '\n';
    out << YAML::BeginDoc << imported->manifest;
    ++written;
  }
  for (const auto& note : set.notes) std::cerr << note << '\n';
  for (const auto& doc : set.unknown) {
    std::cerr << fmt::format("{}: not an OpenSLO document; ignored\n", doc.source);
  }
  if (!ok) {
    std::cerr << "budgetgate import: nothing written: fix the errors above\n";
    return kExitBadInput;
  }
  if (written == 0) {
    std::cerr << "budgetgate import: no SLO documents in the input\n";
    return kExitBadInput;
  }
  std::cout << out.c_str() << '\n';
  std::cerr << fmt::format("budgetgate import: {} ServiceLevelObjective{} written\n", written,
                           written == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace

void addImportCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<ImportOptions>();
  auto* cmd = app.add_subcommand(
      "import",
      "Turn OpenSLO v1 bundles (SLO, SLI, DataSource, ... in files, directories, multi-document "
      "files or top-level lists) into ServiceLevelObjective manifests that kubectl apply "
      "accepts: references resolved, other kinds ignored (and said). Nothing is written unless "
      "every SLO is valid. Exit 0, or 2 with every error.");
  cmd->add_option("-f,--filename", o->files, "OpenSLO files or directories (- for stdin)")
      ->required()
      ->expected(1, -1);
  cmd->add_option("-n,--namespace", o->ns,
                  "namespace of the ServiceLevelObjectives (default: the document's, else "
                  "default)");
  cmd->callback([o, &exitCode] { exitCode = runImport(*o); });
}

}  // namespace budgetgate::cli
