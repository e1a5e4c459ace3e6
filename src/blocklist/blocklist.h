// Community blocklists ([[blocklists]] of pbxwall.toml): lists of addresses and networks that
// other people collected (VoIPBL, APIBan, a provider's own feed), each read from a file or an
// HTTP(S) URL, refreshed on its own schedule and kept in sets of its own. Pure: reading the
// settings, parsing a fetched text and the set contents; fetching lives in the daemon.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "base/address.h"
#include "base/diagnostic.h"
#include "base/result.h"
#include "base/time.h"
#include "ruleset/ruleset.h"

namespace pbxwall::blocklist {

enum class Format {
  plain,   // one address or CIDR a line, '#' or ';' comments (VoIPBL and most feeds)
  apiban,  // APIBan's JSON pages: {"ipaddress": [...], "ID": "next"}, ending at ID "none"
};

struct Source {
  std::string name;    // [a-z0-9_-], at most 16 characters: part of the set names
  std::string file;    // exactly one of file and url
  std::string url;     // http:// or https://; for apiban the API's base, ".../api"
  std::string key;     // apiban only: from key_file, never printed
  Format format = Format::plain;
  Duration refresh = std::chrono::hours(1);
  bool operator==(const Source&) const = default;

  // Where the list comes from, as status and logs print it (never the key).
  std::string where() const { return file.empty() ? url : file; }
};

// Reads every [[blocklists]] entry of `root`; none: an empty list. A relative file (the list
// or the key) is taken from the configuration file's directory (`source` is its path). Every
// problem is a Diagnostic at its key ("blocklists[1].format").
Result<std::vector<Source>, Diagnostics> sources_from_toml(const toml::table& root, const std::string& source);

// A parsed text: its entries and what could not be read. `lines_read` counts the lines that
// held an entry or an error (not blank lines or comments).
struct Parsed {
  std::vector<Cidr> entries;
  std::size_t lines_read = 0;
  std::size_t bad_lines = 0;
  std::vector<std::string> first_errors;  // "line 12: ..." for the first few bad lines
};

// One address or CIDR a line; anything after '#' or ';' is a comment, and so is whatever
// follows the first blank on a line ("192.0.2.7 # scanner", "192.0.2.0/24 2024-01-01").
Parsed parse_plain(std::string_view text);

// One APIBan page: its addresses and the ID of the next page (nullopt: this was the last,
// ID "none" or "no new bans"). An "unauthorized" ID, a "rate limit exceeded" text or
// anything that is not such a page is an error.
struct ApibanPage {
  std::vector<Cidr> entries;
  std::optional<std::string> next_id;
  std::size_t bad_entries = 0;
};
Result<ApibanPage> parse_apiban_page(std::string_view json);

// The first APIBan ID to ask for: the API serves every current ban from it on.
inline constexpr std::string_view kApibanFirstId = "100";

// Whether a fetched text is a list at all: refused when nothing could be read from it, or
// when more than half its lines are not addresses (an HTML error page served with 200 OK).
// A refused fetch keeps the last good content. The message says why, for status and logs.
std::optional<std::string> refusal(const Parsed& parsed);

// The sets of list `name`: sorted, duplicates and entries inside a listed network left out,
// hosts apart from networks.
ruleset::ListContent content_of(std::string name, std::vector<Cidr> entries);

}  // namespace pbxwall::blocklist
