// IPv4 and IPv6 fragment reassembly with bounded memory: a fixed number of datagrams in
// flight, a fixed number of bytes held, and a timeout in packet time. Overlapping fragments
// that disagree drop the whole datagram (RFC 5722 for IPv6; the same for IPv4, because a
// firewall must not guess which copy the receiver keeps).
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/address.h"
#include "base/time.h"
#include "capture/capture.h"

namespace pbxwall::capture {

struct FragmentKey {
  IpAddress src, dst;
  std::uint32_t id = 0;
  std::uint8_t protocol = 0;  // IPv4: the protocol field; IPv6: 0 (next header of offset 0)
  bool operator==(const FragmentKey&) const = default;
};

struct FragmentKeyHash {
  std::size_t operator()(const FragmentKey& k) const noexcept;
};

class FragmentTable {
 public:
  enum class Outcome { pending, complete, dropped };

  FragmentTable(const DecoderLimits& limits, DecoderStats& stats) : limits_(limits), stats_(stats) {}

  // Adds the fragment at byte `offset` of its datagram's payload. `next_header` is kept from
  // the fragment at offset 0 (IPv6). On `complete` the datagram's payload is in `out` and
  // `out_next_header` holds the kept next header; the datagram is forgotten.
  Outcome add(const FragmentKey& key, TimePoint t, std::uint32_t offset, bool more,
              std::span<const std::uint8_t> data, std::uint8_t next_header,
              std::vector<std::uint8_t>& out, std::uint8_t& out_next_header);

  std::size_t size() const { return datagrams_.size(); }
  std::size_t bytes_held() const { return bytes_held_; }

 private:
  struct Piece {
    std::uint32_t offset = 0;
    std::vector<std::uint8_t> data;
  };
  struct Datagram {
    TimePoint first_seen{};
    std::vector<Piece> pieces;  // sorted by offset, never overlapping
    std::size_t bytes = 0;
    std::uint32_t total = 0;  // payload length, known once the last fragment arrived
    bool have_last = false;
    std::uint8_t next_header = 0;
  };
  using Map = std::unordered_map<FragmentKey, Datagram, FragmentKeyHash>;

  void expire(TimePoint now);
  void erase(Map::iterator it);
  void evict_oldest();
  bool complete(const Datagram& d) const;

  const DecoderLimits& limits_;
  DecoderStats& stats_;
  Map datagrams_;
  std::size_t bytes_held_ = 0;
  TimePoint next_sweep_{};
};

}  // namespace pbxwall::capture
