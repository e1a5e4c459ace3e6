// Policy + live state -> one nftables script that atomically replaces `table inet pbxwall` and
// touches nothing else. Pure and deterministic: the same input gives byte-identical output.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/address.h"
#include "base/time.h"
#include "model/model.h"

namespace pbxwall::ruleset {

inline constexpr std::string_view kTableFamily = "inet";
inline constexpr std::string_view kTableName = "pbxwall";

// Named counters of the table, for `pbxwall status` (`nft list counters table inet pbxwall`):
// packets of blocked sources dropped, sources put into blocked by the kernel flood meter,
// packets that went through the responsive path, packets refused by a zone.
inline constexpr std::string_view kCounterBlocked = "blocked";
inline constexpr std::string_view kCounterFlood = "flood";
inline constexpr std::string_view kCounterResponsive = "responsive";
inline constexpr std::string_view kCounterRefused = "refused";

// Ports the PBX actually uses (read from its configuration, issue 5). A non-empty field
// replaces the built-in default of that service unless the administrator set `ports` for it.
struct DiscoveredPorts {
  std::vector<model::PortRange> sip;     // signalling: udp/tcp 5060, tls 5061, ...
  std::vector<model::PortRange> iax;     // udp/4569
  std::optional<model::PortRange> rtp;   // udp/10000-20000
  std::vector<model::PortRange> webrtc;  // tcp/8088, tcp/8089
  // Where each port was found, for listings: "udp/5160" -> "sip.conf:2" (a file below the
  // Asterisk directory, ":line", or " (default)" for a default of a file that does not set it).
  // Not part of the ruleset.
  std::map<std::string, std::string> origins;
};

// Live state carried over a reload so that replacing the table forgets nothing.
struct BlockedEntry {
  IpAddress addr;
  Duration remaining{};  // rounded up to whole seconds; <= 0 is dropped
  std::string comment;   // reason; quotes and control characters are replaced, max 100 bytes
};
// A whole network blocked (an IPv6 /64 whose addresses rotate, a network of a block list): set
// blocked_nets4 or blocked_nets6, interval sets, so entries that overlap an earlier
// (shorter-prefix or equal) one are left out.
struct BlockedNetEntry {
  Cidr net;
  Duration remaining{};
  std::string comment;
};
struct ValidatedEntry {
  IpAddress addr;
  Duration remaining{};
};
struct GrantEntry {
  IpAddress addr;
  model::Proto proto = model::Proto::udp;
  std::uint16_t port = 0;
  Duration remaining{};
};
// A blocklist's content ([[blocklists]]): single addresses in plain sets list_<name>_4/_6
// (fast to load), networks in interval sets list_<name>_nets4/_nets6, none inside another.
// Dropped after the trusted, trunk, validated and granted accepts, and never over a trunk.
struct ListContent {
  std::string name;
  std::vector<Cidr> hosts4, hosts6, nets4, nets6;
  std::size_t size() const { return hosts4.size() + hosts6.size() + nets4.size() + nets6.size(); }
  bool operator==(const ListContent&) const = default;
};
std::string list_set(std::string_view name, Family family, bool nets);

struct LiveState {
  std::vector<BlockedEntry> blocked;
  std::vector<ValidatedEntry> validated;
  std::vector<GrantEntry> grants;
  std::vector<BlockedNetEntry> blocked_nets{};
  // Bans shared by other servers (CrowdSec's LAPI): addresses in sets crowdsec4/6, networks
  // in the interval sets crowdsec_nets4/6, whose elements do not overlap (the caller keeps only
  // outermost networks; overlaps and addresses inside a banned network are left out).
  // Never applied to trusted networks (accepted first) or trunks.
  std::vector<BlockedNetEntry> shared{};
  std::vector<ListContent> lists{};
};

// How unvalidated signalling to the PBX reaches the daemon (the responsive chain's last rule).
enum class PacketPath : std::uint8_t {
  log_group,  // `log group <log_group_input>` then accept: a copy, the PBX gets the packet
  queue,      // `queue num <queue_num> bypass`: the packet waits for the daemon's verdict;
              // with no daemon bound to the queue the kernel accepts it (bypass)
  external,   // accept only: a rule outside our table (xtables NFQUEUE) hands packets over
};

struct RenderOptions {
  PacketPath packet_path = PacketPath::log_group;
  // NFLOG groups that copy unvalidated SIP/IAX traffic to the daemon; 0 disables the copy
  // (input: the responsive chain then only counts and accepts; output: no answers copied).
  std::uint16_t log_group_input = 1;
  std::uint16_t log_group_output = 2;
  std::uint16_t queue_num = 1;  // PacketPath::queue
  // Kernel safety net: a source sending signalling faster than this is blocked for
  // `flood_block` even when the daemon is down.
  std::uint32_t flood_rate_per_second = 20;
  std::uint32_t flood_burst = 40;
  Duration flood_block = std::chrono::seconds(60);
  // Echo requests accepted per second from zones that are not trusted.
  std::uint32_t echo_rate_per_second = 10;
  // `size` of blocked4, blocked6, blocked_nets4, blocked_nets6, crowdsec4/6 and crowdsec_nets4/6 ([responsive] max_blocked): without one nft
  // gives a set 65,535 elements and refuses the next (ENFILE).
  std::uint32_t max_blocked = 1'000'000;
};

struct RenderInput {
  const model::Policy& policy;
  model::ResolvedHosts resolved{};             // hostname entries of [networks]
  std::optional<DiscoveredPorts> discovered{};
  std::vector<Cidr> trunks{};                  // may reach signalling + RTP
  LiveState live{};
  RenderOptions options{};
};

// The whole script: `add table inet pbxwall` + `delete table inet pbxwall` + the table, so one
// nft_run_cmd_from_buffer call replaces our table atomically whether or not it existed.
std::string render(const RenderInput& input);

// Replaces the content of one blocklist's four sets in one transaction (the sets exist: the
// table was rendered with that list).
std::string render_list_update(const ListContent& list);

// Script that deletes our table if present (and nothing else).
std::string render_remove();

// ---- building blocks, public for tests and listings ---------------------------------------

// An inclusive address range of one family, assigned to one zone.
struct ZoneRange {
  IpAddress first;
  IpAddress last;
  model::Zone zone = model::Zone::internet;
  bool operator==(const ZoneRange&) const = default;
};

// Flattens possibly overlapping networks into non-overlapping ranges where the most specific
// network wins (ties: the more restrictive zone). Adjacent ranges of the same zone are merged.
// Output is sorted by family (v4 first) then address.
std::vector<ZoneRange> flatten_zones(std::vector<std::pair<Cidr, model::Zone>> networks);

// The effective ports of the policy's services after applying discovered ports.
std::vector<model::Service> effective_services(const model::Policy& policy,
                                               const std::optional<DiscoveredPorts>& discovered);

}  // namespace pbxwall::ruleset
