#include "daemon/config_edit.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>

#include "model/text_edit.h"

namespace pbxwall::daemon {

using model::join_lines;
using model::parse_toml_text;
using model::split_lines;

namespace {

std::string header_of(const std::vector<std::string>& path) {
  std::string h;
  for (const auto& p : path) h += (h.empty() ? "" : ".") + toml_key(p);
  return h;
}

toml::table* find_table(toml::table& doc, const std::vector<std::string>& path) {
  toml::table* t = &doc;
  for (const auto& p : path) {
    t = t->get_as<toml::table>(p);
    if (t == nullptr) return nullptr;
  }
  return t;
}

toml::table& make_table(toml::table& doc, const std::vector<std::string>& path) {
  toml::table* t = &doc;
  for (const auto& p : path) {
    if (t->get_as<toml::table>(p) == nullptr) t->insert_or_assign(p, toml::table{});
    t = t->get_as<toml::table>(p);
  }
  return *t;
}

// Last line (1-based) holding a value of `t` itself (not of its sub-tables); 0 if none.
std::size_t last_value_line(const toml::table& t) {
  std::size_t last = 0;
  for (const auto& [k, v] : t) {
    if (v.is_table() || v.is_array_of_tables()) continue;
    last = std::max<std::size_t>(last, v.source().end.line);
  }
  return last;
}

Result<std::string> checked(const std::vector<std::string>& lines, const toml::table& expected) {
  auto out = join_lines(lines);
  auto after = parse_toml_text(out);
  if (!after.ok() || *after != expected)
    return fail(std::string("could not edit the configuration safely (unusual layout: inline tables or dotted keys); edit it by hand"));
  return out;
}

// Whether a line of the file is the header `header` (spaces and a comment around it allowed).
bool has_header_line(const std::vector<std::string>& lines, const std::string& header) {
  for (const auto& l : lines) {
    const auto start = l.find_first_not_of(" \t");
    if (start != std::string::npos && l.compare(start, header.size(), header) == 0) return true;
  }
  return false;
}

void append_block(std::vector<std::string>& lines, const std::string& header, const std::string& body) {
  if (!lines.empty() && !lines.back().empty()) lines.emplace_back();
  lines.push_back(header);
  for (auto& l : split_lines(body)) lines.push_back(l);
}

}  // namespace

std::string toml_quote(std::string_view s) {
  std::string q = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      q += '\\';
      q += c;
    } else if (u < 0x20 || u == 0x7f) {
      static const char* hex = "0123456789ABCDEF";
      q += "\\u00";
      q += hex[u >> 4];
      q += hex[u & 15];
    } else {
      q += c;
    }
  }
  return q + "\"";
}

std::string toml_key(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? std::string(key) : toml_quote(key);
}

std::string toml_string_array(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + toml_quote(v[i]);
  return s + "]";
}

Result<std::string> set_toml_value(std::string_view text, const std::vector<std::string>& path, std::string_view key,
                                   std::optional<std::string> value) {
  auto doc = parse_toml_text(text);
  if (!doc.ok()) return fail(doc.error());
  toml::table expected = *doc;
  std::optional<toml::table> parsed_value;
  if (value) {
    auto v = parse_toml_text("v = " + *value);
    if (!v.ok()) return fail("bad value " + *value);
    parsed_value = std::move(*v);
    make_table(expected, path).insert_or_assign(key, *parsed_value->get("v"));
  } else if (auto* t = find_table(expected, path); t == nullptr || !t->contains(key)) {
    return fail("[" + header_of(path) + "] has no key " + std::string(key));
  } else {
    t->erase(key);
  }

  auto lines = split_lines(text);
  toml::table* table = find_table(*doc, path);
  const std::string line = toml_key(key) + " = " + value.value_or("");
  if (table != nullptr && table->contains(key)) {
    const toml::node& node = *table->get(key);
    const auto& r = node.source();
    if (r.begin.line == 0 || r.end.line > lines.size()) return fail(std::string("cannot locate the key in the file; edit it by hand"));
    // The key's line(s): from the line the value starts on to the line it ends on.
    const auto first = static_cast<std::ptrdiff_t>(r.begin.line - 1);
    const auto last = static_cast<std::ptrdiff_t>(r.end.line);
    lines.erase(lines.begin() + first, lines.begin() + last);
    if (value) lines.insert(lines.begin() + first, line);
    return checked(lines, expected);
  }
  const bool has_header = table != nullptr && path.size() > 0 && table->source().begin.line > 0 &&
                          table->source().begin.line <= lines.size() &&
                          lines[table->source().begin.line - 1].find('[') != std::string::npos;
  if (has_header) {
    const std::size_t after = std::max<std::size_t>(last_value_line(*table), table->source().begin.line);
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(after), line);
  } else if (path.empty()) {
    lines.insert(lines.begin(), line);
  } else {
    append_block(lines, "[" + header_of(path) + "]", line);
  }
  return checked(lines, expected);
}

Result<std::string> remove_toml_table(std::string_view text, const std::vector<std::string>& path) {
  auto doc = parse_toml_text(text);
  if (!doc.ok()) return fail(doc.error());
  if (path.empty()) return fail(std::string("no table named"));
  toml::table expected = *doc;
  std::vector<std::string> parent(path.begin(), path.end() - 1);
  toml::table* parent_table = find_table(expected, parent);
  if (parent_table == nullptr || parent_table->get_as<toml::table>(path.back()) == nullptr)
    return fail("there is no [" + header_of(path) + "]");
  parent_table->erase(path.back());
  auto lines = split_lines(text);
  // A parent without a header of its own ([users] defined only by [users.301]) is gone from the
  // text once its last sub-table is; drop it from the expected document too.
  while (!parent.empty()) {
    toml::table* t = find_table(expected, parent);
    if (t == nullptr || !t->empty() || has_header_line(lines, "[" + header_of(parent) + "]")) break;
    const std::string name = parent.back();
    parent.pop_back();
    find_table(expected, parent)->erase(name);
  }
  const toml::table* table = find_table(*doc, path);
  const std::size_t header = table->source().begin.line;
  if (header == 0 || header > lines.size()) return fail(std::string("cannot locate the table in the file; edit it by hand"));
  const std::size_t last = std::max(header, last_value_line(*table));
  lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(header - 1), lines.begin() + static_cast<std::ptrdiff_t>(last));
  return checked(lines, expected);
}

Result<std::string> set_named_array_entry(std::string_view text, std::string_view array, std::string_view name,
                                          std::optional<std::string> body) {
  auto doc = parse_toml_text(text);
  if (!doc.ok()) return fail(doc.error());
  toml::table expected = *doc;
  auto lines = split_lines(text);
  std::optional<std::pair<std::size_t, std::size_t>> span;  // 1-based lines of the old entry
  if (toml::array* entries = expected.get_as<toml::array>(array)) {
    const toml::array* original = doc->get_as<toml::array>(array);
    for (std::size_t i = 0; i < entries->size(); ++i) {
      const toml::table* t = (*original)[i].as_table();
      if (t == nullptr || t->get("name") == nullptr || t->get("name")->value<std::string>() != std::string(name)) continue;
      const std::size_t header = t->source().begin.line;
      if (header == 0) return fail(std::string("cannot locate the entry in the file; edit it by hand"));
      span = {header, std::max(header, last_value_line(*t))};
      entries->erase(entries->begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  } else if (expected.contains(array)) {
    return fail(std::string(array) + " is not written as [[" + std::string(array) + "]] entries; edit it by hand");
  }
  if (!span && !body) return fail("there is no " + std::string(array) + " entry named " + std::string(name));
  if (span)
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(span->first - 1),
                lines.begin() + static_cast<std::ptrdiff_t>(span->second));
  if (body) {
    auto entry = parse_toml_text(*body);
    if (!entry.ok()) return fail(entry.error());
    if (!expected.contains(array)) expected.insert_or_assign(array, toml::array{});
    expected.get_as<toml::array>(array)->push_back(*entry);
    append_block(lines, "[[" + toml_key(array) + "]]", *body);
  }
  if (expected.get_as<toml::array>(array) && expected.get_as<toml::array>(array)->empty()) expected.erase(array);
  return checked(lines, expected);
}

}  // namespace pbxwall::daemon
