// What the firewall takes from a PBX discovery: the ports that replace the built-in service
// defaults, the trunk names to resolve, the trunk addresses and networks written literally,
// and the paths to watch for changes.
#pragma once

#include <string>
#include <vector>

#include "base/address.h"
#include "pbx/discovery.h"
#include "daemon/pbx_settings.h"
#include "daemon/trunk_status.h"
#include "ruleset/ruleset.h"

namespace pbxwall::daemon {

struct PbxView {
  ruleset::DiscoveredPorts ports;
  std::vector<std::string> trunk_names;  // resolved through DNS
  std::vector<Cidr> trunk_networks;      // addresses and networks as written
  std::vector<TrunkHostView> trunk_hosts;  // every host, for the trunks' status
  std::vector<std::string> accounts;     // the PBX's account names, sorted (pbx::account_names)
  // Directories holding the files read and the optional includes not there yet: editors and
  // FreePBX replace files by rename, so watching directories sees every change.
  std::vector<std::string> watch_directories;
};

// Whether pbxwalld reads the PBX's files: `[pbx] enabled`, or when unset, whether asterisk_root
// is a directory here.
bool reads_pbx(const PbxSettings& pbx);

// Ports bound only to loopback addresses are left out: nothing outside reaches them.
PbxView view_of(const pbx::Discovery& discovery);

}  // namespace pbxwall::daemon
