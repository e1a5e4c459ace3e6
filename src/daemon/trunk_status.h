// What each trunk host of the PBX is worth to the firewall now: a name with the addresses DNS
// gives it (and their TTL) or why it gives none, an address or network written literally. The
// daemon answers it in `status`, `overview` and `discover`; `pbxwall status`, `pbxwall discover`
// and the web UI show it. A trunk whose host does not resolve is not in trunks4/trunks6: its
// packets meet the responsive firewall like anyone's.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dns/trunk_resolver.h"
#include "pbx/discovery.h"

namespace pbxwall::daemon {

// One host as the PBX configuration names it, with the trunks (endpoint, peer) that use it.
struct TrunkHostView {
  std::string host;
  pbx::HostKind kind = pbx::HostKind::name;
  std::vector<std::string> trunks;  // sorted, each once
  std::vector<std::string> origins;  // "file:line" of each reference, first one first
};

// The hosts of a discovery, each once (a host named by a contact and an identify is one row).
std::vector<TrunkHostView> trunk_hosts_of(const pbx::Discovery& discovery);

// [{host, kind, trunks, origins, state, addresses, ttl, error, answered, trusted}], one per host.
// state: resolved, no_name, no_address, failing, pending (names), literal (addresses, networks).
// `resolver_missing`: the daemon has no resolver, so names stay unresolved (said in error).
nlohmann::json trunk_status_json(const std::vector<TrunkHostView>& hosts, const std::vector<dns::TrunkNameState>& states,
                                 const std::string& resolver_missing = "");

// Adds "trunks" to the answers of status, overview and discover, and to overview's warnings
// each trunk whose traffic is not trusted because its name does not resolve.
void add_trunk_status(const std::string& cmd, const std::vector<TrunkHostView>& hosts,
                      const std::vector<dns::TrunkNameState>& states, const std::string& resolver_missing,
                      nlohmann::json& answer);

// The sentence `status` and `discover` print for one item of trunk_status_json:
// "carrier2 gw.example: does not resolve (NXDOMAIN) — its traffic is not trusted".
std::string trunk_status_line(const nlohmann::json& item);

}  // namespace pbxwall::daemon
