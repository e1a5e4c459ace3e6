// [crowdsec] of pbxwall.toml: the LAPI to share block decisions with. Either half may be
// configured alone: bouncer_key_file pulls (this server applies the fleet's bans),
// machine_id + password_file push (the fleet learns this server's blocks). Secrets come only
// from files that others cannot read, and are never printed.
#pragma once

#include <optional>
#include <string>

#include <toml++/toml.h>

#include "base/diagnostic.h"
#include "base/result.h"
#include "base/time.h"
#include "crowdsec/decision.h"

namespace pbxwall::crowdsec {

struct CrowdsecSettings {
  bool enabled = false;  // the section is there
  std::string url;       // "http://127.0.0.1:8080"
  std::string bouncer_key;  // from bouncer_key_file; empty: no pulling
  std::string machine_id;   // empty: no pushing
  std::string password;     // from password_file
  Duration pull_interval = std::chrono::seconds(10);
  DecisionFilter filter;
  bool operator==(const CrowdsecSettings&) const = default;

  bool pulls() const { return enabled && !bouncer_key.empty(); }
  bool pushes() const { return enabled && !machine_id.empty(); }
};

// Reads [crowdsec] of `root` (absent: disabled). Secret files are read here; a relative path is
// taken from the configuration file's directory (`source` is that file's path). A secret file
// readable by others (mode o+r) is refused. Every problem is a Diagnostic at its key.
Result<CrowdsecSettings, Diagnostics> crowdsec_settings_from_toml(const toml::table& root, const std::string& source);

// The secret in `path` (one line; the line end dropped). Refused when others may read it.
Result<std::string> read_secret_file(const std::string& path, const std::string& source);

}  // namespace pbxwall::crowdsec
