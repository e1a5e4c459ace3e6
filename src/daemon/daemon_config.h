// Everything pbxwalld reads from pbxwall.toml besides the firewall policy — [responsive]
// (engine settings, packet path), [pbx], [users], [vpn], [ami], [crowdsec], [[blocklists]] — checked in one place: the
// daemon loads its configuration through it, and `pbxwall check` reports what the daemon
// would refuse before a reload is tried.
#pragma once

#include "base/diagnostic.h"
#include "base/result.h"
#include "blocklist/blocklist.h"
#include "crowdsec/settings.h"
#include "daemon/ami_bridge.h"
#include "daemon/pbx_settings.h"
#include "http/settings.h"
#include "model/model.h"
#include "responsive/responsive.h"
#include "ruleset/packet_path.h"

namespace pbxwall::daemon {

struct DaemonSections {
  responsive::Settings settings;
  ruleset::PacketPathSetting packet_path;
  IntegrationSettings integration;
  AmiSettings ami;
  http::WebSettings web;
  Diagnostics warnings;  // risky but valid values of these sections
  crowdsec::CrowdsecSettings crowdsec;
  std::vector<blocklist::Source> blocklists;
};

// The engine's settings from [responsive]; defaults when there is no such section.
Result<responsive::Settings, Diagnostics> engine_settings_from(const model::LoadedConfig& config);

// Reads the daemon's sections of `config`, [web] included. Every problem of every section is
// reported, each naming file:line:column and its key. `pbxwall check`, `pbxwall start` without
// the daemon, and every reload of the daemon validate through this one function, so what one
// accepts the others accept.
Result<DaemonSections, Diagnostics> daemon_sections_from(const model::LoadedConfig& config);

// Loads the configuration file at `path` and reads one section of it with `read`; every
// problem as one text, a line per diagnostic. No table: the section's defaults.
template <class T>
Result<T, std::string> load_section(const std::string& path,
                                    Result<T, Diagnostics> (*read)(const toml::table&, const std::string&)) {
  const auto text = [](const Diagnostics& ds) {
    std::string s;
    for (const auto& d : ds) s += (s.empty() ? "" : "\n") + d.str();
    return s;
  };
  auto config = model::load_file(path);
  if (!config.ok()) return fail(text(config.error()));
  if (!config->table) return T{};
  auto section = read(*config->table, config->source_name);
  if (!section.ok()) return fail(text(section.error()));
  return std::move(*section);
}

}  // namespace pbxwall::daemon
