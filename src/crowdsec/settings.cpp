#include "crowdsec/settings.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include "base/file_text.h"
#include "base/suggest.h"
#include "model/model.h"

namespace pbxwall::crowdsec {

namespace {

constexpr std::string_view kKeys[] = {"url",           "bouncer_key_file",     "machine_id",
                                      "password_file", "pull_interval",        "scenarios_containing",
                                      "scenarios_not_containing", "origins"};

class Reader {
 public:
  Reader(const toml::table& t, const std::string& source) : t_(t), source_(source) {}
  void error(const toml::node& n, std::string_view key, std::string message) {
    errors.push_back(model::diagnostic_at(n, source_, "crowdsec." + std::string(key), std::move(message)));
  }
  std::optional<std::string> string_at(std::string_view key) {
    const auto* n = t_.get(key);
    if (!n) return std::nullopt;
    const auto* s = n->as_string();
    if (s && !s->get().empty() && s->get().find_first_of("\r\n\t ") == std::string::npos) return s->get();
    error(*n, key, "expected a non-empty string without spaces");
    return std::nullopt;
  }
  std::vector<std::string> strings_at(std::string_view key) {
    std::vector<std::string> out;
    const auto* n = t_.get(key);
    if (!n) return out;
    const auto* a = n->as_array();
    if (!a) {
      error(*n, key, "expected an array of strings, e.g. [\"asterisk\"]");
      return out;
    }
    for (std::size_t i = 0; i < a->size(); ++i) {
      const auto* s = (*a)[i].as_string();
      if (!s || s->get().empty() || s->get().find_first_of(",\r\n") != std::string::npos) {
        error((*a)[i], std::string(key) + "[" + std::to_string(i) + "]", "expected a non-empty string without commas");
        continue;
      }
      out.push_back(s->get());
    }
    return out;
  }
  Diagnostics errors;

 private:
  const toml::table& t_;
  const std::string& source_;
};

}  // namespace

Result<std::string> read_secret_file(const std::string& path, const std::string& source) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(source).parent_path() / p;
  struct stat st{};
  if (::stat(p.c_str(), &st) != 0) return fail("cannot read " + p.string());
  if (!S_ISREG(st.st_mode)) return fail(p.string() + " is not a regular file");
  if (st.st_mode & (S_IROTH | S_IWOTH))
    return fail(p.string() + " may be read or written by any user (mode " + [&] {
             char buf[8];
             std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(st.st_mode & 07777));
             return std::string(buf);
           }() + "); make it private: chmod 600 " + p.string());
  return read_secret_line(p);
}

Result<CrowdsecSettings, Diagnostics> crowdsec_settings_from_toml(const toml::table& root, const std::string& source) {
  CrowdsecSettings out;
  const auto* node = root.get("crowdsec");
  if (!node) return out;
  const auto* t = node->as_table();
  if (!t) return fail(Diagnostics{model::diagnostic_at(*node, source, "crowdsec", "expected a table")});
  out.enabled = true;
  Reader r(*t, source);
  for (const auto& [k, v] : *t) {
    if (std::find(std::begin(kKeys), std::end(kKeys), k.str()) != std::end(kKeys)) continue;
    std::string known;
    for (auto key : kKeys) known += (known.empty() ? "" : ", ") + std::string(key);
    r.error(v, k.str(), unknown_name("key", k.str(), known));
  }
  if (auto url = r.string_at("url")) {
    if (url->starts_with("http://") || url->starts_with("https://")) {
      out.url = *url;
      while (out.url.ends_with("/")) out.url.pop_back();
    } else {
      r.error(*t->get("url"), "url", "expected http://host:port or https://host:port, got \"" + *url + "\"");
    }
  } else if (!t->contains("url")) {
    r.error(*t, "url", "missing: the Local API's address, e.g. \"http://127.0.0.1:8080\"");
  }
  const auto secret = [&](std::string_view key, std::string& into) {
    const auto* n = t->get(key);
    if (!n) return;
    auto path = r.string_at(key);
    if (!path) return;
    auto value = read_secret_file(*path, source);
    if (value.ok()) into = *value;
    else r.error(*n, key, value.error());
  };
  secret("bouncer_key_file", out.bouncer_key);
  if (auto id = r.string_at("machine_id")) out.machine_id = *id;
  secret("password_file", out.password);
  if (t->contains("machine_id") != t->contains("password_file"))
    r.error(*t->get(t->contains("machine_id") ? "machine_id" : "password_file"),
            t->contains("machine_id") ? "password_file" : "machine_id",
            "missing: pushing decisions needs both machine_id and password_file (cscli machines add)");
  if (!t->contains("bouncer_key_file") && !t->contains("machine_id") && !t->contains("password_file"))
    r.error(*t, "bouncer_key_file",
            "missing: give bouncer_key_file (pull decisions), machine_id and password_file (push them), or both");
  if (const auto* n = t->get("pull_interval")) {
    const auto* s = n->as_string();
    const auto d = s ? parse_go_duration(s->get()) : std::nullopt;
    if (d && *d >= std::chrono::milliseconds(100) && *d <= std::chrono::hours(1)) out.pull_interval = *d;
    else r.error(*n, "pull_interval", "expected a duration from \"100ms\" to \"1h\", e.g. \"1s\" or \"10s\"");
  }
  out.filter.scenarios_containing = r.strings_at("scenarios_containing");
  out.filter.scenarios_not_containing = r.strings_at("scenarios_not_containing");
  out.filter.origins = r.strings_at("origins");
  if (!r.errors.empty()) return fail(std::move(r.errors));
  return out;
}

}  // namespace pbxwall::crowdsec
