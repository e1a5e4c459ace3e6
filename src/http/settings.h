// The [web] section of pbxwall.toml: where the web UI listens and how it keeps sessions.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <string>

#include "base/diagnostic.h"
#include "base/result.h"
#include "base/time.h"

namespace pbxwall::http {

inline constexpr std::uint16_t kDefaultPort = 8485;  // not used by Asterisk, FreePBX or Kamailio
inline constexpr const char* kDefaultPasswordFile = "/etc/pbxwall/web-password";
inline constexpr const char* kDefaultWebRoot = "/usr/share/pbxwall/web";

// What one connection may hold (not in the configuration file: the defaults suit every PBX).
struct ConnectionLimits {
  std::chrono::milliseconds request_timeout{10'000};  // request line, headers and body together
  std::size_t max_request_bytes = 96 * 1024;          // head and body of one request, as read
  std::size_t reading_per_client = 8;                 // connections of one address waiting for a request
  std::size_t workers = 32;                           // threads answering connections
  int listen_backlog = 128;
};

inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;  // of any request, however it is framed

struct WebSettings {
  bool enabled = true;
  std::string listen = "127.0.0.1";
  std::uint16_t port = kDefaultPort;  // 0: any free port (tests)
  std::string tls_cert;  // both set: HTTPS
  std::string tls_key;
  std::string password_file = kDefaultPasswordFile;
  std::string root = kDefaultWebRoot;  // the static files of the UI
  Duration session_lifetime = std::chrono::hours(8);
  int login_attempts_per_minute = 5;  // failed logins per client address before 429
  ConnectionLimits connections;

  bool tls() const { return !tls_cert.empty() && !tls_key.empty(); }
};

// Reads [web] (null: every default). Errors name file:line:column and the key.
Result<WebSettings, Diagnostics> web_settings_from_toml(const toml::table* web, const std::string& source_name);

}  // namespace pbxwall::http
