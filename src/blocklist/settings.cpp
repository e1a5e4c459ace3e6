#include <algorithm>
#include <filesystem>
#include <set>

#include "base/suggest.h"
#include "blocklist/blocklist.h"
#include "crowdsec/settings.h"
#include "model/model.h"

namespace pbxwall::blocklist {

namespace {

constexpr std::string_view kKeys[] = {"name", "file", "url", "key_file", "format", "refresh"};

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 16 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// "1h", "30m", "90s", "2h30m": at least a minute (feeds ask not to be polled faster), at most a week.
std::optional<Duration> refresh_of(std::string_view text) {
  Duration total{};
  std::size_t i = 0;
  if (text.empty()) return std::nullopt;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    if (j == i || j == text.size() || j - i > 9) return std::nullopt;
    const long n = std::stol(std::string(text.substr(i, j - i)));
    switch (text[j]) {
      case 's': total += std::chrono::seconds(n); break;
      case 'm': total += std::chrono::minutes(n); break;
      case 'h': total += std::chrono::hours(n); break;
      case 'd': total += std::chrono::hours(24 * n); break;
      default: return std::nullopt;
    }
    i = j + 1;
  }
  if (total < std::chrono::minutes(1) || total > std::chrono::hours(24 * 7)) return std::nullopt;
  return total;
}

std::string relative_to(const std::string& path, const std::string& source) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(source).parent_path() / p;
  return p.string();
}

}  // namespace

Result<std::vector<Source>, Diagnostics> sources_from_toml(const toml::table& root, const std::string& source) {
  std::vector<Source> out;
  const auto* node = root.get("blocklists");
  if (!node) return out;
  Diagnostics errors;
  const auto error = [&](const toml::node& n, const std::string& key, std::string message) {
    errors.push_back(model::diagnostic_at(n, source, key, std::move(message)));
  };
  const auto* array = node->as_array();
  if (!array) {
    error(*node, "blocklists",
          "expected a list of tables: [[blocklists]] with name, and file or url");
    return fail(std::move(errors));
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const std::string at = "blocklists[" + std::to_string(i) + "]";
    const auto* t = (*array)[i].as_table();
    if (!t) {
      error((*array)[i], at, "expected a table with name, and file or url");
      continue;
    }
    Source s;
    for (const auto& [k, v] : *t) {
      if (std::find(std::begin(kKeys), std::end(kKeys), k.str()) != std::end(kKeys)) continue;
      error(v, at + "." + std::string(k.str()), unknown_name("key", k.str(), "name, file, url, key_file, format, refresh"));
    }
    const auto text = [&](std::string_view key) -> std::optional<std::string> {
      const auto* n = t->get(key);
      if (!n) return std::nullopt;
      const auto* v = n->as_string();
      if (v && !v->get().empty() && v->get().find_first_of("\r\n\t ") == std::string::npos) return v->get();
      error(*n, at + "." + std::string(key), "expected a non-empty string without spaces");
      return std::nullopt;
    };
    if (auto name = text("name")) {
      if (!valid_name(*name))
        error(*t->get("name"), at + ".name",
              "expected up to 16 characters of a-z, 0-9, _ and -, got \"" + *name + "\"");
      else if (!names.insert(*name).second)
        error(*t->get("name"), at + ".name", "another blocklist is already called \"" + *name + "\"");
      else
        s.name = *name;
    } else if (!t->contains("name")) {
      error(*t, at + ".name", "missing: a short name for the list, e.g. \"voipbl\"");
    }
    if (auto f = text("file")) s.file = relative_to(*f, source);
    if (auto u = text("url")) {
      if (u->starts_with("http://") || u->starts_with("https://")) {
        s.url = *u;
        while (s.url.ends_with("/")) s.url.pop_back();
      } else {
        error(*t->get("url"), at + ".url", "expected http://... or https://..., got \"" + *u + "\"");
      }
    }
    if (t->contains("file") == t->contains("url"))
      error(*t, at + (t->contains("file") ? ".url" : ".file"),
            t->contains("file") ? "give either file or url, not both" : "missing: file (a local list) or url (fetched over HTTP or HTTPS)");
    if (auto f = text("format")) {
      if (*f == "plain") s.format = Format::plain;
      else if (*f == "apiban") s.format = Format::apiban;
      else error(*t->get("format"), at + ".format", "expected \"plain\" or \"apiban\", got \"" + *f + "\"");
    }
    if (const auto* n = t->get("key_file")) {
      if (auto path = text("key_file")) {
        if (s.format != Format::apiban || s.url.empty()) {
          error(*n, at + ".key_file", "only an apiban list fetched from a url has a key");
        } else {
          auto key = crowdsec::read_secret_file(*path, source);
          if (key.ok()) s.key = *key;
          else error(*n, at + ".key_file", key.error());
        }
      }
    }
    if (const auto* n = t->get("refresh")) {
      const auto* v = n->as_string();
      const auto d = v ? refresh_of(v->get()) : std::nullopt;
      if (d) s.refresh = *d;
      else error(*n, at + ".refresh", "expected a duration from \"1m\" to \"7d\", e.g. \"1h\" or \"15m\"");
    }
    out.push_back(std::move(s));
  }
  if (!errors.empty()) return fail(std::move(errors));
  return out;
}

}  // namespace pbxwall::blocklist
