// The boundary for changing the responsive sets of the kernel table (`blocked`, `validated`,
// `grants`): the daemon queues the decisions of one loop tick with add()/remove() and sends
// them with one commit(). NftSetWriter talks to the kernel; RecordingSetUpdater records calls
// for daemon tests.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/address.h"
#include "base/result.h"
#include "base/time.h"

namespace pbxwall::packets {

// blocked_nets: whole networks blocked (an IPv6 /64 whose addresses rotate), an interval set
// with timeouts; keyed by `address/prefix`.
enum class SetKind : std::uint8_t { blocked, validated, grants, blocked_nets };

// One element's key. Sets exist per address family (blocked4 / blocked6, ...); the family of
// `address` picks the set. Grants are keyed by `address . l4proto . port`.
struct SetKey {
  SetKind set = SetKind::blocked;
  IpAddress address;
  std::uint8_t l4proto = 0;  // grants only: IPPROTO_UDP, IPPROTO_TCP, ...
  std::uint16_t port = 0;    // grants only
  std::uint8_t prefix = 0;   // blocked_nets only: the network's prefix length

  static SetKey blocked(IpAddress a) { return {SetKind::blocked, a, 0, 0}; }
  static SetKey blocked_net(const Cidr& net) {
    return {SetKind::blocked_nets, net.address(), 0, 0, static_cast<std::uint8_t>(net.prefix())};
  }
  static SetKey validated(IpAddress a) { return {SetKind::validated, a, 0, 0}; }
  static SetKey grant(IpAddress a, std::uint8_t l4proto, std::uint16_t port) {
    return {SetKind::grants, a, l4proto, port};
  }
  // "blocked4", "grants6", ...
  std::string set_name() const;

  auto operator<=>(const SetKey&) const = default;
  bool operator==(const SetKey&) const = default;
};

struct SetElement {
  SetKey key;
  Duration timeout{0};  // zero: no timeout of its own (the set's default, or permanent)
  std::string comment;  // why, e.g. "svwar fingerprint"; cut to nft's 128-byte limit on send
  bool operator==(const SetElement&) const = default;
};

class SetUpdater {
 public:
  virtual ~SetUpdater() = default;
  // Queues an element; if present in the kernel it is replaced, so its timeout and comment are
  // renewed. A later add() or remove() of the same key in the same tick supersedes this one.
  virtual void add(const SetElement& element) = 0;
  // Queues removal; removing an element that is not in the set is not an error.
  virtual void remove(const SetKey& key) = 0;
  // Sends everything queued as one kernel transaction. The queue is emptied whether or not
  // the transaction succeeds; on failure nothing of it took effect and the error says why.
  virtual Status<std::string> commit() = 0;
  // Number of distinct keys queued since the last commit.
  virtual std::size_t pending() const = 0;
};

}  // namespace pbxwall::packets
