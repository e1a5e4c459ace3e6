// Reader for the Asterisk configuration file format (main/config.c), as FreePBX writes it and
// people edit it: [sections], (!) templates, (tmpl1,tmpl2) inheritance, (+) additions,
// #include / #tryinclude with globs, ; comments with \; escapes, nested ;-- block --;
// comments, "=" and "=>", "+=" appends. Every section and variable keeps the file and line it
// came from, so readers built on it can say where a trunk or a port was configured.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/diagnostic.h"
#include "pbx/filesystem.h"

namespace pbxwall::pbx {

struct ConfigVariable {
  std::string name;
  std::string value;  // trimmed, quotes kept (Asterisk does not remove them)
  std::string file;
  int line = 0;
  bool object = false;     // written with "=>"
  bool inherited = false;  // copied from a template
};

struct ConfigSection {
  std::string name;
  std::string file;
  int line = 0;
  bool is_template = false;            // [name](!): a pattern for others, not an object
  std::vector<std::string> templates;  // inherited from, in order

  std::vector<ConfigVariable> variables;  // inherited first, then own, in file order

  // Last variable with this name (names compare case-insensitively, as in Asterisk), so an
  // own value overrides an inherited one. Null if absent.
  const ConfigVariable* find(std::string_view variable) const;
  // Every variable with this name, in order (for repeated keys such as match= or permit=).
  std::vector<const ConfigVariable*> find_all(std::string_view variable) const;
};

struct AsteriskConfig {
  bool found = false;                   // the top-level file existed
  std::vector<ConfigSection> sections;  // in order; names may repeat (pjsip endpoint and aor)
  std::vector<std::string> files_read;  // every file read, top-level first
  std::vector<std::string> files_missing;  // includes that did not exist (watch them too)

  const ConfigSection* find_section(std::string_view name) const;  // first non-template
};

// Loads root/file_name and everything it includes. Include paths are relative to root (as
// Asterisk resolves them against its configuration directory) unless absolute. Problems are
// appended to diagnostics with file:line; loading goes on past them, so one bad line does not
// hide the rest of the PBX's configuration. A missing top-level file is not an error here
// (found = false): which files must exist is the caller's business.
AsteriskConfig load_asterisk_config(const FileSystem& fs, const std::string& root, const std::string& file_name,
                                    Diagnostics& diagnostics);

// Asterisk's ast_true(): yes, true, y, t, 1, on (any case).
bool asterisk_true(std::string_view value);

bool iequals(std::string_view a, std::string_view b);

}  // namespace pbxwall::pbx
