// Builds packets and frames byte by byte, and writes pcap files: for unit tests, benchmarks and
// fuzz seeds, so they need no captured files to exercise every link type, fragments and TCP.
// Checksums are left zero (the decoder ignores them, as captures on veth need).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/address.h"
#include "base/result.h"
#include "base/time.h"

namespace pbxwall::capture::synth {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes_of(std::string_view text);

// A whole IPv4 or IPv6 packet (the family of `src`) carrying UDP or TCP.
Bytes udp(const IpAddress& src, std::uint16_t sport, const IpAddress& dst, std::uint16_t dport,
          std::string_view payload);
Bytes tcp(const IpAddress& src, std::uint16_t sport, const IpAddress& dst, std::uint16_t dport,
          std::uint32_t seq, std::uint8_t flags, std::string_view payload);

// Splits an IP packet (no extension headers) into fragments carrying `chunk` payload bytes each
// (rounded down to a multiple of 8); IPv6 fragments get a fragment header. `id` identifies the
// datagram.
std::vector<Bytes> fragment(const Bytes& ip_packet, std::size_t chunk, std::uint32_t id);

// Link layers around an IP packet.
Bytes ethernet(const Bytes& ip, int vlan = -1);  // vlan >= 0 adds an 802.1Q tag
Bytes linux_sll(const Bytes& ip);
Bytes linux_sll2(const Bytes& ip);
Bytes nflog(const Bytes& ip);  // a prefix TLV, then NFULA_PAYLOAD; TLV headers in host order
Bytes loopback(const Bytes& ip);

// Writes a pcap file with one link type through libpcap (pcap_open_dead + pcap_dump).
class PcapWriter {
 public:
  static Result<PcapWriter> create(const std::string& path, int linktype);
  PcapWriter(PcapWriter&&) noexcept;
  PcapWriter& operator=(PcapWriter&&) noexcept;
  ~PcapWriter();
  void write(TimePoint t, std::span<const std::uint8_t> frame);
  void close();

 private:
  PcapWriter() = default;
  void* pcap_ = nullptr;    // pcap_t*
  void* dumper_ = nullptr;  // pcap_dumper_t*
};

// A minimal pcapng file (section header, one interface, enhanced packet blocks, microsecond
// timestamps), for readers that must accept pcapng: libpcap reads it but does not write it.
Bytes pcapng(int linktype, const std::vector<std::pair<TimePoint, Bytes>>& frames);

}  // namespace pbxwall::capture::synth
