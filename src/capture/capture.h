// Packet capture decoding: from link-layer frames (pcap/pcapng files, or raw IP from NFLOG) to
// transport payloads with addresses, ports and packet time.
//
// The Decoder is a pure function over bytes plus bounded state (IP fragments in flight, TCP
// streams); it never reads a clock: packet time is the caller's. PcapReader is the only part
// that does I/O (libpcap reading a file whose path the caller gives).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/address.h"
#include "base/result.h"
#include "base/time.h"

namespace pbxwall::capture {

// Link types as numbered by libpcap's pcap_datalink() (DLT_*). The file format's LINKTYPE_RAW
// (101) is returned by libpcap as DLT_RAW (12 on Linux, 14 on OpenBSD); all three are accepted.
enum class LinkType : std::uint32_t {
  null_loopback = 0,  // DLT_NULL: 4-byte address family in the capturing host's byte order
  ethernet = 1,       // DLT_EN10MB, with 802.1Q / 802.1ad VLAN tags
  raw = 12,           // DLT_RAW: an IPv4 or IPv6 packet, version from the first nibble
  raw_openbsd = 14,   // DLT_RAW as numbered on OpenBSD
  raw_linktype = 101, // LINKTYPE_RAW as stored in files
  linux_sll = 113,    // Linux cooked capture v1 ("tcpdump -i any" before libpcap 1.10)
  ipv4 = 228,         // DLT_IPV4
  ipv6 = 229,         // DLT_IPV6
  nflog = 239,        // DLT_NFLOG: nfnetlink_log TLVs, payload in NFULA_PAYLOAD
  linux_sll2 = 276,   // Linux cooked capture v2
};

bool is_supported(std::uint32_t linktype);
const char* linktype_name(std::uint32_t linktype);

enum class Transport : std::uint8_t { udp, tcp };

// One transport payload. For UDP: one (reassembled) datagram. For TCP: the next contiguous
// bytes of one direction of a stream, in order, retransmissions removed.
// `payload` points into the bytes passed to Decoder::feed or into the decoder's own buffers:
// it is valid until the next call of feed() on the same decoder and while those bytes live.
struct Packet {
  TimePoint t{};
  IpAddress src, dst;
  std::uint16_t sport = 0, dport = 0;
  Transport transport = Transport::udp;
  std::span<const std::uint8_t> payload;
  // TCP only: bytes of this direction were lost before `payload` (a gap the bounded buffer
  // could not bridge, or a stream picked up mid-way after eviction); a framer must resync.
  bool stream_gap = false;
  // TCP only: the stream ended (FIN in order, or RST); the decoder dropped its state.
  bool stream_end = false;
};

struct DecodeError {
  enum class Kind : std::uint8_t {
    truncated,    // the frame ends before a header or a length field says it should
    malformed,    // a field has a value no valid packet has
    unsupported,  // a link type the decoder does not know
  };
  Kind kind = Kind::malformed;
  const char* reason = "";  // static text naming the field, e.g. "ipv4: total length < header length"
  std::size_t offset = 0;   // byte offset in the frame where the problem was found
  std::string str() const;
};

// Every bound on the decoder's memory. Packet time drives the timeouts.
struct DecoderLimits {
  std::size_t max_fragmented_datagrams = 1024;  // IP datagrams being reassembled at once
  std::size_t max_fragment_bytes = 4u << 20;    // bytes held by all of them together
  Duration fragment_timeout = std::chrono::seconds(30);
  std::size_t max_tcp_streams = 65536;           // stream directions tracked (LRU beyond)
  std::size_t max_tcp_out_of_order_segments = 64;  // per stream direction
  std::size_t max_tcp_out_of_order_bytes = 256u << 10;  // per stream direction
  std::size_t max_tcp_buffered_bytes = 16u << 20;  // out-of-order bytes of all streams together
  Duration tcp_idle_timeout = std::chrono::minutes(10);
};

// Counters: every anomaly has a name and a count (what a replay or the daemon reports).
struct DecoderStats {
  std::uint64_t frames = 0;
  std::uint64_t not_ip = 0;             // ARP, LLDP, ... at the link layer
  std::uint64_t other_transport = 0;    // ICMP, SCTP, ESP, ...
  std::uint64_t errors = 0;             // frames that returned a DecodeError
  std::uint64_t udp_datagrams = 0;      // delivered
  std::uint64_t tcp_segments = 0;       // seen
  std::uint64_t ip_fragments = 0;       // fragments seen (v4 and v6)
  std::uint64_t reassembled = 0;        // datagrams completed from fragments
  std::uint64_t fragment_timeouts = 0;  // datagrams dropped incomplete after the timeout
  std::uint64_t fragment_evictions = 0; // datagrams dropped to stay within the limits
  std::uint64_t fragment_overlaps = 0;  // datagrams dropped for overlapping fragments
  std::uint64_t tcp_retransmissions = 0;  // segments whose bytes were all delivered already
  std::uint64_t tcp_out_of_order = 0;     // segments buffered ahead of a hole
  std::uint64_t tcp_gaps = 0;             // holes given up on (bytes lost)
  std::uint64_t tcp_stream_evictions = 0; // streams dropped (LRU or idle)
  std::uint64_t tcp_buffer_evictions = 0; // streams dropped, least recently used, over max_tcp_buffered_bytes
  std::uint64_t tcp_buffered_bytes = 0;   // out-of-order bytes held now
};

class FragmentTable;
class TcpStreams;

class Decoder {
 public:
  explicit Decoder(DecoderLimits limits = {});
  ~Decoder();
  // The reassembly tables refer to this object's limits and counters: not copied, not moved.
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one frame of the given link type captured at `t`. Returns a packet when the frame
  // completes a transport payload; nothing for frames that carry none (non-IP, ICMP, TCP
  // without new data, a fragment of an incomplete datagram); an error for a broken frame.
  // UDP and TCP checksums are not checked (veth captures carry invalid ones).
  Result<std::optional<Packet>, DecodeError> feed(std::uint32_t linktype, TimePoint t,
                                                  std::span<const std::uint8_t> frame);
  // The same for an IPv4 or IPv6 packet without a link layer (NFLOG payloads in the daemon).
  Result<std::optional<Packet>, DecodeError> feed_ip(TimePoint t, std::span<const std::uint8_t> ip);

  const DecoderStats& stats() const { return stats_; }
  std::size_t fragments_in_flight() const;
  std::size_t tcp_streams() const;

 private:
  Result<std::optional<Packet>, DecodeError> ip(TimePoint t, std::span<const std::uint8_t> bytes,
                                                std::size_t base);
  Result<std::optional<Packet>, DecodeError> ipv4(TimePoint t, std::span<const std::uint8_t> bytes,
                                                  std::size_t base);
  Result<std::optional<Packet>, DecodeError> ipv6(TimePoint t, std::span<const std::uint8_t> bytes,
                                                  std::size_t base);
  Result<std::optional<Packet>, DecodeError> transport(TimePoint t, const IpAddress& src,
                                                       const IpAddress& dst, std::uint8_t proto,
                                                       std::span<const std::uint8_t> bytes,
                                                       std::size_t base);

  DecoderLimits limits_;
  DecoderStats stats_;
  std::unique_ptr<FragmentTable> fragments_;
  std::unique_ptr<TcpStreams> tcp_;
  std::vector<std::uint8_t> reassembled_;  // the last datagram completed from fragments
};

// One frame read from a capture file.
struct Frame {
  TimePoint t{};
  std::span<const std::uint8_t> bytes;  // valid until the next call of next()
  std::uint32_t original_length = 0;   // on the wire; bytes.size() is what was captured
};

// Reads pcap and pcapng files through libpcap, timestamps in microseconds.
class PcapReader {
 public:
  static Result<PcapReader> open(const std::string& path);
  PcapReader(PcapReader&&) noexcept;
  PcapReader& operator=(PcapReader&&) noexcept;
  ~PcapReader();

  std::uint32_t linktype() const { return linktype_; }
  // The next frame, nothing at the end of the file, or an error naming the file.
  Result<std::optional<Frame>> next();

 private:
  PcapReader() = default;
  void* pcap_ = nullptr;  // pcap_t*, kept opaque so this header does not pull in <pcap.h>
  std::string path_;
  std::uint32_t linktype_ = 0;
};

}  // namespace pbxwall::capture
