// Editing [networks] in the user's own text, line by line, so comments and layout survive
// `pbxwall trust` / `untrust`. The result is re-parsed and compared with the intended document;
// any difference (an unusual layout we did not understand) is an error, never a silent change.
#include <algorithm>
#include <cctype>

#include "model/model.h"
#include "model/text_edit.h"

namespace pbxwall::model {

namespace {

// What a [networks] key denotes: a canonical CIDR, or a lower-case hostname.
struct NetworkKey {
  std::optional<Cidr> cidr;
  std::string hostname;
  bool same(const NetworkKey& o) const {
    if (cidr || o.cidr) return cidr && o.cidr && *cidr == *o.cidr;
    return hostname == o.hostname;
  }
  std::string canonical() const { return cidr ? cidr->str() : hostname; }
};

std::optional<NetworkKey> network_key(std::string_view text) {
  NetworkKey k;
  if (auto c = Cidr::parse(text)) {
    k.cidr = *c;
    return k;
  }
  if (!is_valid_hostname(text)) return std::nullopt;
  k.hostname.assign(text);
  std::transform(k.hostname.begin(), k.hostname.end(), k.hostname.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (k.hostname.back() == '.') k.hostname.pop_back();
  return k;
}

std::size_t skip_space(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i;
}

// End (one past the closing quote) of a basic or literal string starting at `i`, or npos.
std::size_t string_end(std::string_view s, std::size_t i) {
  if (i >= s.size() || (s[i] != '"' && s[i] != '\'')) return std::string_view::npos;
  const char q = s[i];
  for (std::size_t j = i + 1; j < s.size(); ++j) {
    if (q == '"' && s[j] == '\\') {
      ++j;
    } else if (s[j] == q) {
      return j + 1;
    }
  }
  return std::string_view::npos;
}

// A `key = "value"  # comment` line, split into its parts.
struct EntryLine {
  std::string key;          // unquoted key text (escapes are not expected in network keys)
  std::size_t value_begin;  // offset of the value's opening quote
  std::size_t value_end;    // one past the closing quote
};

std::optional<EntryLine> parse_entry(std::string_view line) {
  std::size_t i = skip_space(line, 0);
  if (i >= line.size() || line[i] == '#') return std::nullopt;
  EntryLine e{};
  if (line[i] == '"' || line[i] == '\'') {
    const auto end = string_end(line, i);
    if (end == std::string_view::npos) return std::nullopt;
    e.key.assign(line.substr(i + 1, end - i - 2));
    i = end;
  } else {
    const auto start = i;
    while (i < line.size() &&
           (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == '-'))
      ++i;
    if (i == start) return std::nullopt;
    e.key.assign(line.substr(start, i - start));
  }
  i = skip_space(line, i);
  if (i >= line.size() || line[i] != '=') return std::nullopt;
  i = skip_space(line, i + 1);
  e.value_begin = i;
  e.value_end = string_end(line, i);
  if (e.value_end == std::string_view::npos) return std::nullopt;
  return e;
}

bool is_header(std::string_view line) {
  const auto i = skip_space(line, 0);
  return i < line.size() && line[i] == '[';
}

bool is_networks_header(std::string_view line) {
  std::string compact;
  for (char c : line) {
    if (c == '#') break;
    if (c != ' ' && c != '\t' && c != '"' && c != '\'' && c != '\r') compact += c;
  }
  return compact == "[networks]";
}

enum class Edit { set, remove };

Result<std::string> edit_networks(std::string_view text, std::string_view key_text, Edit edit,
                                  Zone zone) {
  auto key = network_key(key_text);
  if (!key) {
    // Text made of address characters is a mistyped address or network: say what is wrong
    // with it, in the words block, the API and check use.
    const bool address_like = !key_text.empty() && key_text.find_first_not_of("0123456789abcdefABCDEF.:/") == std::string_view::npos &&
                              key_text.find_first_of(".:") != std::string_view::npos;
    if (address_like) return fail(address_error(key_text));
    return fail("'" + std::string(key_text) + "' is not an address, CIDR or valid DNS hostname");
  }
  auto before = parse_toml_text(text);
  if (!before) return fail(before.error());

  auto lines = split_lines(text);
  std::optional<std::size_t> header;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (is_networks_header(lines[i])) {
      header = i;
      break;
    }
  }
  if (!header && before->contains("networks"))
    return fail(std::string("[networks] is not written as a [networks] section; edit it by hand"));

  // Expected document after the edit, to check the line edit against.
  toml::table expected = *before;
  auto* nets = expected["networks"].as_table();
  std::optional<std::string> removed_key;
  if (nets) {
    for (const auto& [k, v] : *nets) {
      auto other = network_key(k.str());
      if (other && other->same(*key)) removed_key = std::string(k.str());
    }
  }

  std::optional<std::size_t> match;
  std::optional<std::size_t> last_entry;
  if (header) {
    for (std::size_t i = *header + 1; i < lines.size() && !is_header(lines[i]); ++i) {
      auto e = parse_entry(lines[i]);
      if (!e) continue;
      last_entry = i;
      auto other = network_key(e->key);
      if (other && other->same(*key) && !match) match = i;
    }
  }

  if (edit == Edit::remove) {
    if (!match) return fail("no [networks] entry for " + key->canonical());
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(*match));
    if (removed_key) nets->erase(*removed_key);
  } else if (match) {
    auto e = *parse_entry(lines[*match]);
    lines[*match] = lines[*match].substr(0, e.value_begin) + "\"" +
                    std::string(zone_name(zone)) + "\"" + lines[*match].substr(e.value_end);
    if (removed_key) nets->insert_or_assign(*removed_key, std::string(zone_name(zone)));
  } else {
    const std::string line =
        "\"" + key->canonical() + "\" = \"" + std::string(zone_name(zone)) + "\"";
    if (header) {
      const auto at = last_entry ? *last_entry + 1 : *header + 1;
      lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), line);
    } else {
      if (!lines.empty() && !lines.back().empty()) lines.emplace_back();
      lines.emplace_back("[networks]");
      lines.push_back(line);
    }
    if (!nets) nets = expected.insert_or_assign("networks", toml::table{}).first->second.as_table();
    nets->insert_or_assign(key->canonical(), std::string(zone_name(zone)));
  }

  auto out = join_lines(lines);
  auto after = parse_toml_text(out);
  if (!after || *after != expected)
    return fail(std::string("could not edit [networks] safely (unusual layout); edit it by hand"));
  return out;
}

}  // namespace

Result<std::string> set_network(std::string_view text, std::string_view key, Zone zone) {
  return edit_networks(text, key, Edit::set, zone);
}

Result<std::string> remove_network(std::string_view text, std::string_view key) {
  return edit_networks(text, key, Edit::remove, Zone::internet);
}

}  // namespace pbxwall::model
