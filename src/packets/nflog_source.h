// Packets copied to userspace by nftables `log group N` rules, read through libnetfilter_log.
//
// The socket is non-blocking: the event loop waits for fd() to be readable and calls drain(),
// which reads everything pending. The kernel is told to send each packet at once (queue
// threshold 1) rather than batching up to a second, and the receive buffer is large so bursts
// are absorbed; when it overflows anyway the kernel reports ENOBUFS, which is counted as a drop
// and reading continues.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "packets/interface_names.h"

struct nflog_data;  // libnetfilter_log

namespace pbxwall::packets {

// One logged packet. Views are valid only during the callback.
struct PacketView {
  std::uint16_t group = 0;
  std::optional<TimePoint> timestamp;       // when the kernel stamped it, if it did
  std::span<const std::uint8_t> payload;    // the IP packet, from its IPv4 or IPv6 header on
  std::string_view indev;                   // "" when the packet has no input device
  std::string_view outdev;                  // "" when the packet has no output device
  std::string_view prefix;                  // the rule's `log prefix`, "" when none
};

struct NflogOptions {
  // Whole packets (an IP datagram is at most 65,535 bytes): the PBX reads a SIP message to its
  // end, so a copy cut short would leave padding past the cut unread.
  std::uint32_t copy_range = 65535;
  int receive_buffer_bytes = 8 * 1024 * 1024;
  // drain() returns after this many messages even if more are pending, so that a flood cannot
  // keep the event loop in one call; the descriptor stays readable.
  std::size_t max_messages_per_drain = 4096;
};

struct NflogStats {
  std::uint64_t packets = 0;    // delivered to callbacks
  std::uint64_t overruns = 0;   // ENOBUFS reports: the kernel dropped messages for us
  std::uint64_t truncated = 0;  // packets longer than copy_range, delivered cut
  std::uint64_t malformed = 0;  // messages libnetfilter_log could not parse
};

class NflogSource {
 public:
  using Callback = std::function<void(const PacketView&)>;

  // Binds the given log groups (in the caller's network namespace). Needs CAP_NET_ADMIN. A
  // group already bound by another process is an error naming it.
  static Result<std::unique_ptr<NflogSource>> open(const std::vector<std::uint16_t>& groups,
                                                   NflogOptions options = {});
  ~NflogSource();
  NflogSource(const NflogSource&) = delete;
  NflogSource& operator=(const NflogSource&) = delete;

  // Readable when packets are pending; for the event loop's poll/epoll/asio descriptor.
  int fd() const;

  // Reads all pending messages without blocking and calls `on_packet` for each packet.
  // Returns how many were delivered. Only unexpected socket errors are failures. If
  // `on_packet` throws, reading stops and the exception propagates from drain().
  Result<std::size_t> drain(const Callback& on_packet);

  const NflogStats& stats() const { return stats_; }

 private:
  struct Handles;
  friend struct NflogDelivery;
  NflogSource(std::unique_ptr<Handles> handles, InterfaceNames names, NflogOptions options);
  // Called by libnetfilter_log for each packet of `group` while drain() runs.
  void deliver(std::uint16_t group, ::nflog_data* data);

  std::unique_ptr<Handles> handles_;
  InterfaceNames names_;
  NflogOptions options_;
  NflogStats stats_;
  const Callback* callback_ = nullptr;  // set during drain()
  std::exception_ptr callback_error_;    // rethrown by drain() after the C library returns
  std::vector<char> buffer_;
};

}  // namespace pbxwall::packets
