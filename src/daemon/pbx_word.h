// What the PBX itself reports about remotes (Asterisk's AMI security and registration events),
// in the Firewall's terms, and the little state the Firewall keeps to merge that word with what
// its own packet path sees: one validation per address whichever saw the registration first,
// and each failed authentication counted once.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "base/address.h"
#include "responsive/responsive.h"

namespace pbxwall::daemon {

// A security event of the PBX about one remote.
struct PbxSecurityEvent {
  responsive::SecurityEventKind kind = responsive::SecurityEventKind::auth_failed;
  std::string account;
  IpAddress remote;
  std::uint16_t remote_port = 0;
  responsive::Transport transport = responsive::Transport::udp;
};

struct PbxWordState {
  // Users the PBX reported registered per address (so one of several phones behind one NAT
  // address leaving does not forget the others).
  std::map<IpAddress, std::set<std::string>> registered;
  // Addresses forgotten on the PBX's word while the engine still holds their validation: the
  // engine's own forget of them, when it comes, has nothing left to do.
  std::set<IpAddress> forgotten;
  // The engine's request count per address at the last security event from it: a count that
  // moved means the packet path sees this remote's requests (and their answers) itself.
  std::unordered_map<IpAddress, std::uint32_t, IpAddressHash> requests_at_last_event;
};

}  // namespace pbxwall::daemon
