// Link layers, IPv4/IPv6 (fragments, extension headers), UDP and TCP.
#include <cstdio>

#include "capture/bytes.h"
#include "capture/capture.h"
#include "capture/fragments.h"
#include "capture/tcp_streams.h"

namespace pbxwall::capture {
namespace {

using Decoded = Result<std::optional<Packet>, DecodeError>;

Unexpected<DecodeError> truncated(const char* reason, std::size_t offset) {
  return fail(DecodeError{DecodeError::Kind::truncated, reason, offset});
}
Unexpected<DecodeError> malformed(const char* reason, std::size_t offset) {
  return fail(DecodeError{DecodeError::Kind::malformed, reason, offset});
}

constexpr std::uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86dd;
constexpr std::uint8_t kProtoTcp = 6, kProtoUdp = 17;
constexpr std::uint16_t kNflogPayload = 9;  // NFULA_PAYLOAD
constexpr std::uint16_t kNlaTypeMask = 0x3fff;
constexpr int kMaxVlanTags = 4;
constexpr int kMaxIpv6Headers = 16;

bool is_vlan(std::uint16_t ethertype) {
  return ethertype == 0x8100 || ethertype == 0x88a8 || ethertype == 0x9100;
}

}  // namespace

bool is_supported(std::uint32_t linktype) {
  switch (static_cast<LinkType>(linktype)) {
    case LinkType::null_loopback:
    case LinkType::ethernet:
    case LinkType::raw:
    case LinkType::raw_openbsd:
    case LinkType::raw_linktype:
    case LinkType::linux_sll:
    case LinkType::ipv4:
    case LinkType::ipv6:
    case LinkType::nflog:
    case LinkType::linux_sll2:
      return true;
  }
  return false;
}

const char* linktype_name(std::uint32_t linktype) {
  switch (static_cast<LinkType>(linktype)) {
    case LinkType::null_loopback: return "NULL";
    case LinkType::ethernet: return "EN10MB";
    case LinkType::raw:
    case LinkType::raw_openbsd:
    case LinkType::raw_linktype: return "RAW";
    case LinkType::linux_sll: return "LINUX_SLL";
    case LinkType::ipv4: return "IPV4";
    case LinkType::ipv6: return "IPV6";
    case LinkType::nflog: return "NFLOG";
    case LinkType::linux_sll2: return "LINUX_SLL2";
  }
  return "unknown";
}

std::string DecodeError::str() const {
  const char* k = kind == Kind::truncated ? "truncated" : kind == Kind::malformed ? "malformed" : "unsupported";
  char buf[32];
  std::snprintf(buf, sizeof buf, " at byte %zu", offset);
  return std::string(k) + ": " + reason + buf;
}

Decoder::Decoder(DecoderLimits limits)
    : limits_(limits),
      fragments_(std::make_unique<FragmentTable>(limits_, stats_)),
      tcp_(std::make_unique<TcpStreams>(limits_, stats_)) {}
Decoder::~Decoder() = default;

std::size_t Decoder::fragments_in_flight() const { return fragments_->size(); }
std::size_t Decoder::tcp_streams() const { return tcp_->size(); }

Decoded Decoder::feed(std::uint32_t linktype, TimePoint t, std::span<const std::uint8_t> f) {
  ++stats_.frames;
  Decoded r = [&]() -> Decoded {
    switch (static_cast<LinkType>(linktype)) {
      case LinkType::raw:
      case LinkType::raw_openbsd:
      case LinkType::raw_linktype:
      case LinkType::ipv4:
      case LinkType::ipv6:
        return ip(t, f, 0);
      case LinkType::null_loopback:
        if (f.size() < 4) return truncated("loopback: header", 0);
        return ip(t, f.subspan(4), 4);
      case LinkType::ethernet: {
        if (f.size() < 14) return truncated("ethernet: header", 0);
        std::size_t at = 12;
        std::uint16_t type = load_be16(f, at);
        for (int tags = 0; is_vlan(type); ++tags) {
          if (tags == kMaxVlanTags) return malformed("ethernet: too many VLAN tags", at);
          at += 4;
          if (f.size() < at + 2) return truncated("ethernet: VLAN tag", at);
          type = load_be16(f, at);
        }
        if (type != kEtherIpv4 && type != kEtherIpv6) {
          ++stats_.not_ip;
          return std::optional<Packet>{};
        }
        return ip(t, f.subspan(at + 2), at + 2);
      }
      case LinkType::linux_sll:
      case LinkType::linux_sll2: {
        const bool v2 = static_cast<LinkType>(linktype) == LinkType::linux_sll2;
        const std::size_t header = v2 ? 20 : 16;
        if (f.size() < header) return truncated(v2 ? "sll2: header" : "sll: header", 0);
        std::uint16_t type = load_be16(f, v2 ? 0 : 14);
        std::size_t at = header;
        if (is_vlan(type)) {  // a tag left in the payload: TCI then the real protocol
          if (f.size() < at + 4) return truncated("sll: VLAN tag", at);
          type = load_be16(f, at + 2);
          at += 4;
        }
        if (type != kEtherIpv4 && type != kEtherIpv6) {
          ++stats_.not_ip;
          return std::optional<Packet>{};
        }
        return ip(t, f.subspan(at), at);
      }
      case LinkType::nflog: {
        if (f.size() < 4) return truncated("nflog: header", 0);
        if (f[1] != 0) return malformed("nflog: version is not 0", 1);
        std::size_t at = 4;
        while (at < f.size()) {
          if (f.size() - at < 4) return truncated("nflog: TLV header", at);
          const std::uint16_t len = load_host16(f, at);
          const std::uint16_t type = load_host16(f, at + 2) & kNlaTypeMask;
          if (len < 4) return malformed("nflog: TLV length < 4", at);
          if (len > f.size() - at) return truncated("nflog: TLV value", at);
          if (type == kNflogPayload) return ip(t, f.subspan(at + 4, len - 4u), at + 4);
          at += (len + 3u) & ~std::size_t{3};
        }
        ++stats_.not_ip;  // a log record without the packet (e.g. copy mode "none")
        return std::optional<Packet>{};
      }
    }
    return fail(DecodeError{DecodeError::Kind::unsupported, "link type not supported", 0});
  }();
  if (!r.ok()) ++stats_.errors;
  return r;
}

Decoded Decoder::feed_ip(TimePoint t, std::span<const std::uint8_t> bytes) {
  ++stats_.frames;
  Decoded r = ip(t, bytes, 0);
  if (!r.ok()) ++stats_.errors;
  return r;
}

Decoded Decoder::ip(TimePoint t, std::span<const std::uint8_t> b, std::size_t base) {
  if (b.empty()) return truncated("ip: empty packet", base);
  switch (b[0] >> 4) {
    case 4: return ipv4(t, b, base);
    case 6: return ipv6(t, b, base);
    default: return malformed("ip: version is neither 4 nor 6", base);
  }
}

Decoded Decoder::ipv4(TimePoint t, std::span<const std::uint8_t> b, std::size_t base) {
  if (b.size() < 20) return truncated("ipv4: header", base);
  const std::size_t ihl = (b[0] & 0x0fu) * 4u;
  if (ihl < 20) return malformed("ipv4: header length < 20", base);
  if (b.size() < ihl) return truncated("ipv4: options", base);
  const std::size_t total = load_be16(b, 2);
  if (total < ihl) return malformed("ipv4: total length < header length", base + 2);
  if (total > b.size()) return truncated("ipv4: packet shorter than its total length", base + 2);
  b = b.first(total);  // drop link-layer padding
  const std::uint8_t proto = b[9];
  const IpAddress src = IpAddress::v4_bytes(b.data() + 12);
  const IpAddress dst = IpAddress::v4_bytes(b.data() + 16);
  const std::uint16_t frag = load_be16(b, 6);
  const bool more = frag & 0x2000;
  const std::uint32_t offset = (frag & 0x1fffu) * 8u;
  const auto payload = b.subspan(ihl);
  if (!more && offset == 0) return transport(t, src, dst, proto, payload, base + ihl);

  ++stats_.ip_fragments;
  if (proto != kProtoUdp && proto != kProtoTcp) {
    ++stats_.other_transport;
    return std::optional<Packet>{};
  }
  if (more && payload.size() % 8 != 0)
    return malformed("ipv4: fragment length is not a multiple of 8", base + 2);
  if (offset + payload.size() + ihl > 65535)
    return malformed("ipv4: fragments exceed 65535 bytes", base + 6);
  std::vector<std::uint8_t>& out = reassembled_;
  std::uint8_t unused = 0;
  const auto outcome = fragments_->add(FragmentKey{src, dst, load_be16(b, 4), proto}, t, offset, more,
                                       payload, proto, out, unused);
  if (outcome != FragmentTable::Outcome::complete) return std::optional<Packet>{};
  return transport(t, src, dst, proto, out, base + ihl);
}

Decoded Decoder::ipv6(TimePoint t, std::span<const std::uint8_t> b, std::size_t base) {
  if (b.size() < 40) return truncated("ipv6: header", base);
  const std::size_t length = load_be16(b, 4);
  std::uint8_t next = b[6];
  if (length == 0 && next != 59) return malformed("ipv6: payload length 0 (jumbograms are not supported)", base + 4);
  if (40 + length > b.size()) return truncated("ipv6: packet shorter than its payload length", base + 4);
  b = b.first(40 + length);
  const IpAddress src = IpAddress::v6_bytes(b.data() + 8);
  const IpAddress dst = IpAddress::v6_bytes(b.data() + 24);

  std::span<const std::uint8_t> rest = b.subspan(40);
  std::size_t at = base + 40;
  bool reassembled = false;
  for (int headers = 0;; ++headers) {
    if (headers == kMaxIpv6Headers) return malformed("ipv6: too many extension headers", at);
    switch (next) {
      case kProtoTcp:
      case kProtoUdp:
        return transport(t, src, dst, next, rest, at);
      case 0:    // hop-by-hop options
      case 43:   // routing
      case 60:   // destination options
      case 135:  // mobility
      case 139:  // HIP
      case 140: {  // shim6
        if (rest.size() < 2) return truncated("ipv6: extension header", at);
        const std::size_t len = (rest[1] + 1u) * 8u;
        if (rest.size() < len) return truncated("ipv6: extension header length", at + 1);
        next = rest[0];
        rest = rest.subspan(len);
        at += len;
        break;
      }
      case 51: {  // authentication header: length in 4-octet units, minus 2
        if (rest.size() < 2) return truncated("ipv6: AH header", at);
        const std::size_t len = (rest[1] + 2u) * 4u;
        if (rest.size() < len) return truncated("ipv6: AH header length", at + 1);
        next = rest[0];
        rest = rest.subspan(len);
        at += len;
        break;
      }
      case 44: {  // fragment
        if (rest.size() < 8) return truncated("ipv6: fragment header", at);
        if (reassembled) return malformed("ipv6: fragment header inside a reassembled datagram", at);
        const std::uint8_t inner = rest[0];
        const std::uint16_t field = load_be16(rest, 2);
        const std::uint32_t offset = field & 0xfff8u;
        const bool more = field & 1u;
        const auto data = rest.subspan(8);
        if (offset == 0 && !more) {  // an atomic fragment (RFC 6946): nothing to reassemble
          next = inner;
          rest = data;
          at += 8;
          break;
        }
        ++stats_.ip_fragments;
        if (more && data.size() % 8 != 0)
          return malformed("ipv6: fragment length is not a multiple of 8", at + 2);
        if (offset + data.size() > 65535) return malformed("ipv6: fragments exceed 65535 bytes", at + 2);
        std::uint8_t first_next = 0;
        const auto outcome = fragments_->add(FragmentKey{src, dst, load_be32(rest, 4), 0}, t, offset, more,
                                             data, inner, reassembled_, first_next);
        if (outcome != FragmentTable::Outcome::complete) return std::optional<Packet>{};
        reassembled = true;
        next = first_next;
        rest = reassembled_;
        at += 8;
        break;
      }
      default:  // ICMPv6, ESP, no next header, ...
        ++stats_.other_transport;
        return std::optional<Packet>{};
    }
  }
}

Decoded Decoder::transport(TimePoint t, const IpAddress& src, const IpAddress& dst, std::uint8_t proto,
                           std::span<const std::uint8_t> b, std::size_t base) {
  Packet p;
  p.t = t;
  p.src = src;
  p.dst = dst;
  if (proto == kProtoUdp) {
    if (b.size() < 8) return truncated("udp: header", base);
    const std::size_t len = load_be16(b, 4);
    if (len < 8) return malformed("udp: length < 8", base + 4);
    if (len > b.size()) return truncated("udp: datagram shorter than its length field", base + 4);
    p.sport = load_be16(b, 0);
    p.dport = load_be16(b, 2);
    p.transport = Transport::udp;
    p.payload = b.subspan(8, len - 8);
    ++stats_.udp_datagrams;
    return std::optional<Packet>{p};
  }
  if (proto == kProtoTcp) {
    if (b.size() < 20) return truncated("tcp: header", base);
    const std::size_t offset = (b[12] >> 4) * 4u;
    if (offset < 20) return malformed("tcp: data offset < 20", base + 12);
    if (offset > b.size()) return truncated("tcp: options", base + 12);
    ++stats_.tcp_segments;
    p.sport = load_be16(b, 0);
    p.dport = load_be16(b, 2);
    p.transport = Transport::tcp;
    const auto d = tcp_->segment(StreamKey{src, dst, p.sport, p.dport}, t, load_be32(b, 4), b[13],
                                 b.subspan(offset));
    if (d.bytes.empty() && !d.end) return std::optional<Packet>{};
    p.payload = d.bytes;
    p.stream_gap = d.gap;
    p.stream_end = d.end;
    return std::optional<Packet>{p};
  }
  ++stats_.other_transport;
  return std::optional<Packet>{};
}

}  // namespace pbxwall::capture
