// Inline packet path: packets handed to userspace by a queue rule (nftables `queue num N
// bypass`, or the xtables NFQUEUE target where the kernel lacks the nftables statement) wait
// for our verdict. A packet whose fate is already known, such as a scanner's fingerprint, is
// dropped before the PBX sees it.
//
// Verdicts are given synchronously, inside drain(), so no packet is ever left waiting on a
// decision the loop forgot. The queue is configured fail-open: if it fills up, the kernel
// accepts packets instead of dropping them, and with `bypass` on the rule a stopped daemon
// lets traffic through too.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "base/result.h"
#include "base/time.h"
#include "packets/interface_names.h"

struct nfq_data;  // libnetfilter_queue
struct nfq_q_handle;

namespace pbxwall::packets {

struct QueuedPacket {
  std::uint16_t queue = 0;
  std::optional<TimePoint> timestamp;
  std::span<const std::uint8_t> payload;  // the IP packet; valid only during the callback
  std::string_view indev;
  std::string_view outdev;
};

enum class Verdict : std::uint8_t { accept, drop };

struct QueueOptions {
  // Whole packets (an IP datagram is at most 65,535 bytes): the PBX reads a SIP message to its
  // end, so a copy cut short would leave padding past the cut unread.
  std::uint32_t copy_range = 65535;
  std::uint32_t max_queued = 4096;  // packets waiting in the kernel before fail-open applies
  int receive_buffer_bytes = 8 * 1024 * 1024;
  std::size_t max_messages_per_drain = 4096;
};

struct QueueStats {
  std::uint64_t packets = 0;
  std::uint64_t accepted = 0;
  std::uint64_t dropped = 0;
  std::uint64_t overruns = 0;         // ENOBUFS: messages the kernel could not deliver to us
  std::uint64_t verdict_failures = 0; // the kernel refused a verdict (packet then times out)
  std::uint64_t malformed = 0;
};

class QueueSource {
 public:
  using Decide = std::function<Verdict(const QueuedPacket&)>;

  // Binds queue `queue_num` in the caller's network namespace (CAP_NET_ADMIN).
  static Result<std::unique_ptr<QueueSource>> open(std::uint16_t queue_num, QueueOptions options = {});
  ~QueueSource();
  QueueSource(const QueueSource&) = delete;
  QueueSource& operator=(const QueueSource&) = delete;

  int fd() const;
  // Reads pending packets without blocking, asks `decide` for each and sends its verdict.
  // Returns how many packets were decided. If `decide` throws, the packet is accepted and the
  // exception is rethrown after the remaining reads are left for the next call.
  Result<std::size_t> drain(const Decide& decide);

  const QueueStats& stats() const { return stats_; }

 private:
  struct Handles;
  friend struct QueueDelivery;
  QueueSource(std::unique_ptr<Handles> handles, InterfaceNames names, std::uint16_t queue_num,
              QueueOptions options);
  void deliver(::nfq_q_handle* queue, ::nfq_data* data);

  std::unique_ptr<Handles> handles_;
  InterfaceNames names_;
  std::uint16_t queue_num_;
  QueueOptions options_;
  QueueStats stats_;
  const Decide* decide_ = nullptr;
  std::exception_ptr decide_error_;
  std::vector<char> buffer_;
};

}  // namespace pbxwall::packets
