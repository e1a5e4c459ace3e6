// Everything pbxwalld reads from pbxwall.toml besides the firewall policy — [responsive]
// (engine settings, packet path), [pbx], [users], [vpn], [ami], [crowdsec] — checked in one place: the
// daemon loads its configuration through it, and `pbxwall check` reports what the daemon
// would refuse before a reload is tried.
#pragma once

#include "base/diagnostic.h"
#include "base/result.h"
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
};

// The engine's settings from [responsive]; defaults when there is no such section.
Result<responsive::Settings, Diagnostics> engine_settings_from(const model::LoadedConfig& config);

// Reads the daemon's sections of `config`, [web] included. Every problem of every section is
// reported, each naming file:line:column and its key. `pbxwall check`, `pbxwall start` without
// the daemon, and every reload of the daemon validate through this one function, so what one
// accepts the others accept.
Result<DaemonSections, Diagnostics> daemon_sections_from(const model::LoadedConfig& config);

}  // namespace pbxwall::daemon
