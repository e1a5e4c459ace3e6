// Removing the connection-tracking entries of sources that were just blocked. A UDP flow that
// conntrack already knows as established may be accepted by an earlier `ct state established`
// rule, and would keep a banned scanner talking to the PBX; deleting its entries makes its next
// packet new, and the block applies.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "base/address.h"
#include "base/result.h"

namespace pbxwall::packets {

class ConntrackFlusher {
 public:
  virtual ~ConntrackFlusher() = default;
  // Deletes every UDP entry whose original source or destination is one of `sources`.
  // Returns how many entries were deleted. Call it after the block is in the kernel set:
  // flushing first would let the source's next packet create a fresh entry before the block.
  virtual Result<std::size_t> flush_udp(std::span<const IpAddress> sources) = 0;
};

// libnetfilter_conntrack over netlink, in the caller's network namespace (CAP_NET_ADMIN).
// One table dump per address family per call, whatever the number of sources.
class NetlinkConntrackFlusher final : public ConntrackFlusher {
 public:
  static Result<std::unique_ptr<NetlinkConntrackFlusher>> open();
  ~NetlinkConntrackFlusher() override;
  NetlinkConntrackFlusher(const NetlinkConntrackFlusher&) = delete;
  NetlinkConntrackFlusher& operator=(const NetlinkConntrackFlusher&) = delete;

  Result<std::size_t> flush_udp(std::span<const IpAddress> sources) override;

 private:
  struct Handle;
  explicit NetlinkConntrackFlusher(std::unique_ptr<Handle> handle);
  std::unique_ptr<Handle> handle_;
};

// Records the addresses it is asked to flush (daemon tests).
class RecordingConntrackFlusher final : public ConntrackFlusher {
 public:
  Result<std::size_t> flush_udp(std::span<const IpAddress> sources) override {
    calls.emplace_back(sources.begin(), sources.end());
    return std::size_t{0};
  }
  std::vector<std::vector<IpAddress>> calls;
};

}  // namespace pbxwall::packets
