// `list blocked` over every place a block lives: this server's own blocks (the state store),
// the bans pulled from CrowdSec, and each community blocklist (their own sets, never the
// store). A listing goes through them in sections, in that order, each in address order, a
// page at a time; the cursor a page ends with ("next") names its section:
//   "192.0.2.7"                          this server's blocks (an address, as before)
//   "crowdsec:192.0.2.7"                 the bans shared by the fleet
//   "blocklist:voipbl:198.51.100.0/24"   blocklist voipbl (lists in name order)
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/address.h"
#include "base/time.h"
#include "ruleset/ruleset.h"

namespace pbxwall::daemon {

// A block the state store does not hold.
struct ListedBlock {
  Cidr net;
  std::optional<TimePoint> until;  // nullopt: until its list drops it
  std::string origin;              // "crowdsec:<origin>/<scenario>", "blocklist:<name>"
};

using ListedBlockVisitor = std::function<bool(const ListedBlock&)>;  // false: stop

// One section of blocks from elsewhere than the store.
struct BlockSection {
  std::string name;    // "crowdsec", "blocklist:<name>": the cursor's prefix
  std::string rule;    // the "rule" of its items: "crowdsec", "blocklist"
  std::string reason;  // the "reason" of its items
  std::size_t size = 0;
  // Calls `each` for the blocks after `after` (all of them when nullopt) in network order,
  // until it returns false.
  std::function<void(TimePoint now, const std::optional<Cidr>& after, const ListedBlockVisitor& each)> walk;
};

// Where a page starts: in this server's blocks after `local_after` (section empty), or in
// section `section` after `after`.
struct ListCursor {
  std::string section;  // empty: this server's blocks
  std::string local_after;
  std::optional<Cidr> after;
};
// Reads an "after" of a list request; nullopt when it names a section but not an address.
std::optional<ListCursor> parse_list_cursor(std::string_view text);
std::string list_cursor(const std::string& section, const Cidr& net);

// The section of a blocklist's sets: its entries in network order, hosts and networks merged.
BlockSection blocklist_section(const ruleset::ListContent& content, std::string reason);

}  // namespace pbxwall::daemon
