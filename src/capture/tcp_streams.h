// TCP stream reassembly per direction (src, sport -> dst, dport): delivers each byte once and
// in order; segments ahead of a hole wait in a bounded buffer; retransmitted bytes are dropped.
// Streams are kept in LRU order with a fixed ceiling and an idle timeout in packet time; the
// out-of-order bytes of all streams together have a ceiling too (LRU streams dropped beyond).
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/address.h"
#include "base/time.h"
#include "capture/capture.h"

namespace pbxwall::capture {

struct StreamKey {
  IpAddress src, dst;
  std::uint16_t sport = 0, dport = 0;
  bool operator==(const StreamKey&) const = default;
};

struct StreamKeyHash {
  std::size_t operator()(const StreamKey& k) const noexcept;
};

namespace tcp_flag {
inline constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04;
}

class TcpStreams {
 public:
  struct Delivery {
    std::span<const std::uint8_t> bytes;  // into the segment or into this object's buffer
    bool gap = false;
    bool end = false;
  };

  TcpStreams(const DecoderLimits& limits, DecoderStats& stats) : limits_(limits), stats_(stats) {}

  Delivery segment(const StreamKey& key, TimePoint t, std::uint32_t seq, std::uint8_t flags,
                   std::span<const std::uint8_t> data);
  std::size_t size() const { return index_.size(); }

 private:
  struct Segment {
    std::uint32_t seq = 0;
    std::vector<std::uint8_t> data;
    bool fin = false;
  };
  struct Stream {
    StreamKey key;
    TimePoint last_seen{};
    std::uint32_t isn = 0;
    std::uint32_t next = 0;  // sequence number of the next byte to deliver
    bool saw_syn = false;
    std::vector<Segment> waiting;  // ahead of `next`, sorted by distance from it
    std::size_t waiting_bytes = 0;
  };
  using Lru = std::list<Stream>;

  Lru::iterator find_or_add(const StreamKey& key, TimePoint t, bool& added);
  void expire(TimePoint now);
  void remove(Lru::iterator it);
  // Appends waiting segments that have become contiguous; returns true if a FIN was reached.
  bool drain(Stream& s, std::vector<std::uint8_t>& out);
  // Over max_tcp_buffered_bytes: drops the least recently used streams other than `keep`.
  void shed(Lru::iterator keep);
  void buffer(Stream& s, std::uint32_t seq, std::span<const std::uint8_t> data, bool fin);

  const DecoderLimits& limits_;
  DecoderStats& stats_;
  Lru lru_;  // most recently used first
  std::unordered_map<StreamKey, Lru::iterator, StreamKeyHash> index_;
  std::vector<std::uint8_t> out_;
  TimePoint next_sweep_{};
};

}  // namespace pbxwall::capture
