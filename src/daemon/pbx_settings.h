// The daemon's PBX integration settings: [pbx] (where the Asterisk configuration is, DNS
// refresh bounds), [users] (services a registered extension's address may reach) and [vpn]
// (VPN clients treated like registered extensions). Read from the parsed configuration with
// file:line:column diagnostics, like the model's own sections.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "base/address.h"
#include "base/diagnostic.h"
#include "base/result.h"
#include "base/time.h"
#include "model/model.h"

namespace pbxwall::daemon {

struct PbxSettings {
  std::string asterisk_root = "/etc/asterisk";
  // Empty: enabled when asterisk_root exists (decided by the daemon, which may look at files).
  std::optional<bool> enabled;
  Duration dns_min_refresh = std::chrono::seconds(30);
  Duration dns_max_refresh = std::chrono::hours(1);
  std::string dns_servers;  // "127.0.0.1:53,[2001:db8::53]:53"; empty: /etc/resolv.conf
  Duration debounce = std::chrono::milliseconds(500);
  // The PBX's accounts (extensions, auth usernames, IAX2 peers) for a PBX whose configuration
  // pbxwall does not read (Kamailio, a remote registrar), added to those it discovers. Empty
  // with nothing discovered: not known. Sorted, without duplicates.
  std::vector<std::string> accounts;
};

// Services per extension. `default_services` apply to every extension without its own entry
// (and to VPN clients). Without a [users] section every extension gets "ucp".
// Networks per extension ([users."EXT"] allow_from): where it may register from. An extension
// without its own allow_from takes [users.default]'s; no list (or an empty one): anywhere.
struct UserServices {
  std::vector<std::string> default_services = {"ucp"};
  std::map<std::string, std::vector<std::string>, std::less<>> by_user;
  const std::vector<std::string>& of(std::string_view user) const;

  std::vector<Cidr> default_allow_from;
  std::map<std::string, std::vector<Cidr>, std::less<>> allow_from_by_user;
  std::span<const Cidr> allow_from(std::string_view user) const;
};

struct VpnSettings {
  std::string openvpn_status;  // path of an OpenVPN status file (status-version 2 or 3)
  bool wireguard = false;      // read `wg show all dump`
  Duration poll = std::chrono::seconds(10);
  bool any() const { return !openvpn_status.empty() || wireguard; }
};

struct IntegrationSettings {
  PbxSettings pbx;
  UserServices users;
  VpnSettings vpn;
};

// Reads [pbx], [users] and [vpn] of `root`. Service names are checked against `policy`.
Result<IntegrationSettings, Diagnostics> integration_from_toml(const toml::table& root, const std::string& source,
                                                              const model::Policy& policy);

}  // namespace pbxwall::daemon
