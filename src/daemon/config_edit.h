// Edits of pbxwall.toml made through the API, done on the user's own text so comments and
// layout survive. Each edit is checked by parsing the result and comparing it with the document
// the edit was meant to produce; a layout the editor does not understand (inline tables, dotted
// keys) is refused with a request to edit by hand, never changed silently.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace pbxwall::daemon {

// TOML spellings of values written by the editor.
std::string toml_quote(std::string_view s);                       // "..." with escapes
std::string toml_key(std::string_view key);                       // bare when possible
std::string toml_string_array(const std::vector<std::string>& v);  // ["a", "b"]

// Sets `key` of the table at `path` (e.g. {"services", "ssh"}) to the TOML value `value`
// (already spelled as TOML). Without a value: removes the key (an error if it is absent).
Result<std::string> set_toml_value(std::string_view text, const std::vector<std::string>& path, std::string_view key,
                                   std::optional<std::string> value);
// Removes the table at `path` (its header and keys). An error if it is absent.
Result<std::string> remove_toml_table(std::string_view text, const std::vector<std::string>& path);
// Replaces (or with no `body` removes) the [[array]] entry whose `name` key is `name`; a new
// entry goes at the end of the file. `body` is the entry's lines without the header.
Result<std::string> set_named_array_entry(std::string_view text, std::string_view array, std::string_view name,
                                          std::optional<std::string> body);

}  // namespace pbxwall::daemon
