// Helpers for editing the configuration as text, line by line, so the administrator's comments
// and layout survive an edit; every edit re-parses its result and compares it with the intended
// document (see edit.cpp and the daemon's config_edit.cpp).
#pragma once

#include <toml++/toml.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace pbxwall::model {

// The lines of `text`, without their '\n'; a final newline does not add an empty line.
std::vector<std::string> split_lines(std::string_view text);

// The lines joined, each one ended by '\n'.
std::string join_lines(const std::vector<std::string>& lines);

// `text` parsed as TOML, or "the configuration does not parse (line N): why".
Result<toml::table> parse_toml_text(std::string_view text);

}  // namespace pbxwall::model
