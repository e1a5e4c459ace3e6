// SetUpdater over nftables netlink messages built with libnftnl and sent with libmnl: one
// tick's set changes become one netlink batch (NEWSETELEM / DELSETELEM between BATCH_BEGIN and
// BATCH_END), one kernel transaction.
//
// Why not libnftables here: before every command libnftables (1.0.6) fills its cache with the
// elements of every interval set of the table, i.e. every zone network of the policy, so one
// blocked address costs milliseconds per thousand networks (about 30 ms with 20,000). The
// kernel needs none of that to add an element. NftSetWriter remains for what this writer
// leaves to it: the interval set blocked_nets6 (an interval element is a pair of boundaries
// that nft computes), sent in one libnftables transaction when a tick has such a change.
//
// The order per key is that of NftSetWriter: added bare (a no-op when present), deleted, added
// with its timeout and comment, so a present element is renewed and an absent one removed
// without error, in one transaction. The kernel's extended ACK points at the attribute it
// refused, so an error names the set and, where the kernel points at one, the element.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "packets/nft_set_writer.h"
#include "packets/set_updater.h"

struct mnl_socket;

namespace pbxwall::packets {

struct NetlinkBatchMessage;  // what one message of a batch carried, to name what the kernel refused

class NetlinkSetWriter final : public SetUpdater {
 public:
  // Opens a netlink socket in the caller's network namespace. `applier` (for the interval
  // set) must outlive the writer.
  static Result<std::unique_ptr<NetlinkSetWriter>> open(kernel::RulesetApplier& applier,
                                                        SetWriterOptions options = {});
  ~NetlinkSetWriter() override;
  NetlinkSetWriter(const NetlinkSetWriter&) = delete;
  NetlinkSetWriter& operator=(const NetlinkSetWriter&) = delete;

  void add(const SetElement& element) override;
  void remove(const SetKey& key) override;
  Status<std::string> commit() override;
  std::size_t pending() const override { return pending_.size(); }

  const SetWriterStats& stats() const { return stats_; }
  // The netlink port of its socket: nftables notifications of its commits carry it.
  std::uint32_t portid() const;

 private:
  NetlinkSetWriter(mnl_socket* socket, kernel::RulesetApplier& applier, SetWriterOptions options);
  Status<std::string> send_batch(const void* batch, std::size_t size, const std::vector<NetlinkBatchMessage>& sent);

  mnl_socket* socket_;
  std::uint32_t seq_ = 0;
  SetWriterOptions options_;
  NftSetWriter intervals_;
  std::map<SetKey, std::optional<SetElement>> pending_;  // nullopt marks a removal
  SetWriterStats stats_;
  std::vector<std::uint8_t> receive_buffer_;
};

// The key's bytes as the kernel stores them: the address in network order; for the
// concatenation `addr . inet_proto . inet_service` each field padded to 4 bytes.
std::vector<std::uint8_t> nft_key_bytes(const SetKey& key);

}  // namespace pbxwall::packets
