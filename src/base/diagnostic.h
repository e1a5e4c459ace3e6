// A message about a place in an input file: "pbxwall.toml:12:5: networks.\"10.0.0.1/8\": ...".
// Every loader (configuration, PBX files) reports problems as Diagnostics so the CLI, the
// daemon's log and the API print them the same way.
#pragma once

#include <string>
#include <vector>

namespace pbxwall {

enum class Severity { error, warning };

struct Diagnostic {
  Severity severity = Severity::error;
  std::string file;   // path as given by the user
  int line = 0;       // 1-based; 0 when unknown
  int column = 0;     // 1-based; 0 when unknown
  std::string key;    // dotted key or field name, e.g. services.ssh.zones[1]; may be empty
  std::string message;

  // "file:line:column: error: key: message"
  std::string str() const {
    std::string s = file;
    if (line > 0) s += ":" + std::to_string(line);
    if (column > 0) s += ":" + std::to_string(column);
    s += severity == Severity::error ? ": error: " : ": warning: ";
    if (!key.empty()) s += key + ": ";
    s += message;
    return s;
  }
};

using Diagnostics = std::vector<Diagnostic>;

inline bool has_errors(const Diagnostics& ds) {
  for (const auto& d : ds)
    if (d.severity == Severity::error) return true;
  return false;
}

}  // namespace pbxwall
