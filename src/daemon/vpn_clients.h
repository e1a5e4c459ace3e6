// Addresses of connected VPN clients, read from the VPN servers' own reports: an OpenVPN
// status file (status-version 2 or 3, CLIENT_LIST lines) and `wg show all dump` (WireGuard
// peers whose latest handshake is recent). The daemon treats them as registered extensions so
// that a phone behind a VPN user's public address can register. Both readers return each
// address once, sorted by IpAddress's order (which compares bytes first, so IPv6 addresses
// starting below 192 come before IPv4 ones); callers use them as a set.
#pragma once

#include <string_view>
#include <vector>

#include "base/address.h"
#include "base/time.h"

namespace pbxwall::daemon {

// Real (public) addresses of the CLIENT_LIST lines. Version 2 separates fields with commas,
// version 3 with tabs; the real address is the third field, "addr:port" or "[v6]:port" (or
// "udp4:addr:port" / "tcp6-server:[v6]:port" when OpenVPN prefixes the protocol).
std::vector<IpAddress> openvpn_clients(std::string_view status_text);

// Endpoints of peers whose latest handshake is within `max_age` of `now`. The dump has one
// interface line (5 fields) then one line per peer: interface, public key, preshared key,
// endpoint, allowed ips, latest handshake (seconds since the epoch, 0: never), rx, tx,
// keepalive. A peer never heard from has endpoint "(none)".
std::vector<IpAddress> wireguard_clients(std::string_view dump_text, TimePoint now, Duration max_age);

}  // namespace pbxwall::daemon
