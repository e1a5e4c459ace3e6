#include "http/settings.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <set>

#include "base/address.h"
#include "base/suggest.h"
#include "model/model.h"

namespace pbxwall::http {

Result<WebSettings, Diagnostics> web_settings_from_toml(const toml::table* web, const std::string& source_name) {
  WebSettings s;
  if (web == nullptr) return s;
  Diagnostics errors;
  auto error = [&](const toml::node& n, const std::string& key, const std::string& message) {
    errors.push_back(model::diagnostic_at(n, source_name, "web." + key, message));
  };
  auto text = [&](const std::string& key, std::string& out) {
    const toml::node* n = web->get(key);
    if (n == nullptr) return;
    if (const auto v = n->value<std::string>()) {
      out = *v;
    } else {
      error(*n, key, "expected a string");
    }
  };
  for (const auto& [key, node] : *web) {
    static const std::set<std::string_view> known = {"enabled",       "listen", "port",          "tls_cert",
                                                      "tls_key",       "root",   "password_file", "session_minutes",
                                                      "login_attempts_per_minute"};
    if (!known.contains(key.str())) error(node, std::string(key.str()), unknown_name("key", key.str(), "enabled, listen, port, tls_cert, tls_key, root, password_file, session_minutes, login_attempts_per_minute"));
  }
  if (const toml::node* n = web->get("enabled")) {
    if (const auto v = n->value<bool>()) s.enabled = *v; else error(*n, "enabled", "expected true or false");
  }
  text("listen", s.listen);
  if (web->contains("listen") && !IpAddress::parse(s.listen)) error(*web->get("listen"), "listen", "expected an IPv4 or IPv6 address");
  if (const toml::node* n = web->get("port")) {
    const auto v = n->value<std::int64_t>();
    if (!v || *v < 1 || *v > 65535) error(*n, "port", "expected a port number 1..65535");
    else s.port = static_cast<std::uint16_t>(*v);
  }
  text("tls_cert", s.tls_cert);
  text("tls_key", s.tls_key);
  if (s.tls_cert.empty() != s.tls_key.empty())
    error(*web->get(s.tls_cert.empty() ? "tls_key" : "tls_cert"), s.tls_cert.empty() ? "tls_key" : "tls_cert",
          "tls_cert and tls_key go together (HTTPS needs both)");
  text("root", s.root);
  text("password_file", s.password_file);
  if (const toml::node* n = web->get("session_minutes")) {
    const auto v = n->value<std::int64_t>();
    if (!v || *v < 1 || *v > 7 * 24 * 60) error(*n, "session_minutes", "expected minutes 1..10080");
    else s.session_lifetime = std::chrono::minutes(*v);
  }
  if (const toml::node* n = web->get("login_attempts_per_minute")) {
    const auto v = n->value<std::int64_t>();
    if (!v || *v < 1 || *v > 1000) error(*n, "login_attempts_per_minute", "expected 1..1000");
    else s.login_attempts_per_minute = static_cast<int>(*v);
  }
  // The daemon opens these at start; a file it cannot read is an error here, not at start.
  for (const char* key : {"tls_cert", "tls_key"}) {
    const std::string& path = std::string_view(key) == "tls_cert" ? s.tls_cert : s.tls_key;
    if (!path.empty() && ::access(path.c_str(), R_OK) != 0)
      error(*web->get(key), key, "cannot read " + path + ": " + std::strerror(errno));
  }
  if (!errors.empty()) return fail(errors);
  return s;
}

}  // namespace pbxwall::http
