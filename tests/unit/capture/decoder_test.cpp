// The decoder over bytes: IP versions, fragments, extension headers, TCP reassembly, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "capture/capture.h"
#include "capture/synth.h"

namespace pbxwall::capture {
namespace {

using synth::Bytes;

const IpAddress kPhone = *IpAddress::parse("198.51.100.10");
const IpAddress kPbx = *IpAddress::parse("203.0.113.1");
const IpAddress kPhone6 = *IpAddress::parse("2001:db8:2::10");
const IpAddress kPbx6 = *IpAddress::parse("2001:db8:1::1");
const TimePoint kT0 = from_epoch_seconds(1'790'000'000);
constexpr auto kRaw = static_cast<std::uint32_t>(LinkType::raw);

std::string text(std::span<const std::uint8_t> b) { return std::string(b.begin(), b.end()); }

std::optional<Packet> must_decode(Decoder& d, const Bytes& ip, TimePoint t = kT0) {
  auto r = d.feed(kRaw, t, ip);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().str());
  return r.ok() ? *r : std::nullopt;
}

std::string long_payload(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i) + "\r\n";
  s.resize(n);
  return s;
}

TEST(Decoder, Ipv4UdpGivesAddressesPortsAndPayload) {
  Decoder d;
  const Bytes ip = synth::udp(kPhone, 5062, kPbx, 5060, "OPTIONS sip:x SIP/2.0\r\n");
  auto p = must_decode(d, ip);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->src, kPhone);
  EXPECT_EQ(p->dst, kPbx);
  EXPECT_EQ(p->sport, 5062);
  EXPECT_EQ(p->dport, 5060);
  EXPECT_EQ(p->transport, Transport::udp);
  EXPECT_EQ(p->t, kT0);
  EXPECT_EQ(text(p->payload), "OPTIONS sip:x SIP/2.0\r\n");
  EXPECT_EQ(d.stats().udp_datagrams, 1u);
}

TEST(Decoder, Ipv6Udp) {
  Decoder d;
  const Bytes ip = synth::udp(kPhone6, 5060, kPbx6, 5060, "hello");
  auto p = must_decode(d, ip);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->src, kPhone6);
  EXPECT_EQ(p->dst, kPbx6);
  EXPECT_EQ(text(p->payload), "hello");
}

TEST(Decoder, LinkPaddingAfterTheIpPacketIsIgnored) {
  Decoder d;
  Bytes ip = synth::udp(kPhone, 5060, kPbx, 5060, "ab");
  ip.resize(ip.size() + 10, 0xee);  // Ethernet pads short frames to 60 bytes
  auto p = must_decode(d, ip);
  ASSERT_TRUE(p);
  EXPECT_EQ(text(p->payload), "ab");
}

TEST(Decoder, Ipv6ExtensionHeadersAreWalked) {
  Bytes ip = synth::udp(kPhone6, 5060, kPbx6, 5060, "payload");
  // Insert hop-by-hop (8 bytes) then destination options (16 bytes) before UDP.
  Bytes hbh = {60, 0, 1, 4, 0, 0, 0, 0};
  Bytes dst = {17, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  ip[6] = 0;
  ip.insert(ip.begin() + 40, dst.begin(), dst.end());
  ip.insert(ip.begin() + 40, hbh.begin(), hbh.end());
  const auto len = static_cast<std::size_t>(ip[4] << 8 | ip[5]) + hbh.size() + dst.size();
  ip[4] = static_cast<std::uint8_t>(len >> 8);
  ip[5] = static_cast<std::uint8_t>(len);
  Decoder d;
  auto p = must_decode(d, ip);
  ASSERT_TRUE(p);
  EXPECT_EQ(text(p->payload), "payload");
}

TEST(Decoder, IcmpAndOtherProtocolsGiveNothingButAreCounted) {
  Bytes ip = synth::udp(kPhone, 1, kPbx, 2, "x");
  ip[9] = 1;  // ICMP
  Decoder d;
  EXPECT_FALSE(must_decode(d, ip));
  EXPECT_EQ(d.stats().other_transport, 1u);
}

TEST(Decoder, Ipv4FragmentsInOrder) {
  const std::string body = long_payload(3000);
  auto frags = synth::fragment(synth::udp(kPhone, 5060, kPbx, 5060, body), 1200, 77);
  ASSERT_EQ(frags.size(), 3u);
  Decoder d;
  EXPECT_FALSE(must_decode(d, frags[0]));
  EXPECT_FALSE(must_decode(d, frags[1]));
  EXPECT_EQ(d.fragments_in_flight(), 1u);
  auto p = must_decode(d, frags[2]);
  ASSERT_TRUE(p);
  EXPECT_EQ(text(p->payload), body);
  EXPECT_EQ(p->sport, 5060);
  EXPECT_EQ(d.fragments_in_flight(), 0u);
  EXPECT_EQ(d.stats().ip_fragments, 3u);
  EXPECT_EQ(d.stats().reassembled, 1u);
}

TEST(Decoder, Ipv4FragmentsOutOfOrderAndDuplicated) {
  const std::string body = long_payload(2500);
  auto frags = synth::fragment(synth::udp(kPhone, 5060, kPbx, 5060, body), 800, 78);
  ASSERT_EQ(frags.size(), 4u);
  Decoder d;
  EXPECT_FALSE(must_decode(d, frags[3]));
  EXPECT_FALSE(must_decode(d, frags[1]));
  EXPECT_FALSE(must_decode(d, frags[1]));  // exact duplicate: ignored
  EXPECT_FALSE(must_decode(d, frags[0]));
  auto p = must_decode(d, frags[2]);
  ASSERT_TRUE(p);
  EXPECT_EQ(text(p->payload), body);
}

TEST(Decoder, Ipv6FragmentsOutOfOrder) {
  const std::string body = long_payload(4000);
  auto frags = synth::fragment(synth::udp(kPhone6, 5060, kPbx6, 5060, body), 1400, 0xabcdef);
  ASSERT_EQ(frags.size(), 3u);
  Decoder d;
  EXPECT_FALSE(must_decode(d, frags[2]));
  EXPECT_FALSE(must_decode(d, frags[0]));
  auto p = must_decode(d, frags[1]);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->src, kPhone6);
  EXPECT_EQ(text(p->payload), body);
}

TEST(Decoder, DatagramsWithTheSameIdFromDifferentSourcesStayApart) {
  const std::string a = long_payload(1000), b = std::string(1000, 'b');
  auto fa = synth::fragment(synth::udp(kPhone, 5060, kPbx, 5060, a), 600, 5);
  auto fb = synth::fragment(synth::udp(*IpAddress::parse("192.0.2.66"), 5060, kPbx, 5060, b), 600, 5);
  Decoder d;
  EXPECT_FALSE(must_decode(d, fa[0]));
  EXPECT_FALSE(must_decode(d, fb[0]));
  auto pb = must_decode(d, fb[1]);
  ASSERT_TRUE(pb);
  EXPECT_EQ(text(pb->payload), b);
  auto pa = must_decode(d, fa[1]);
  ASSERT_TRUE(pa);
  EXPECT_EQ(text(pa->payload), a);
}

TEST(Decoder, OverlappingFragmentsThatDisagreeDropTheDatagram) {
  const std::string body = long_payload(1600);
  auto frags = synth::fragment(synth::udp(kPhone, 5060, kPbx, 5060, body), 800, 9);
  ASSERT_EQ(frags.size(), 3u);
  Bytes evil = frags[1];
  evil[6] = 0x20;  // MF, offset 8*8 = 64: overlaps fragment 0 with different bytes
  evil[7] = 8;
  Decoder d;
  EXPECT_FALSE(must_decode(d, frags[0]));
  EXPECT_FALSE(must_decode(d, evil));
  EXPECT_EQ(d.stats().fragment_overlaps, 1u);
  EXPECT_EQ(d.fragments_in_flight(), 0u);
  EXPECT_FALSE(must_decode(d, frags[1]));
  EXPECT_FALSE(must_decode(d, frags[2]));  // fragment 0 is gone: never completes
}

TEST(Decoder, IncompleteDatagramsTimeOutInPacketTime) {
  auto frags = synth::fragment(synth::udp(kPhone, 5060, kPbx, 5060, long_payload(2000)), 800, 10);
  DecoderLimits limits;
  limits.fragment_timeout = std::chrono::seconds(30);
  Decoder d(limits);
  EXPECT_FALSE(must_decode(d, frags[0], kT0));
  EXPECT_FALSE(must_decode(d, frags[1], kT0 + std::chrono::seconds(10)));
  // Another datagram 31 s later triggers the sweep: the first one is dropped.
  auto other = synth::fragment(synth::udp(kPhone, 5060, kPbx, 5060, long_payload(2000)), 800, 11);
  EXPECT_FALSE(must_decode(d, other[0], kT0 + std::chrono::seconds(31)));
  EXPECT_EQ(d.stats().fragment_timeouts, 1u);
  EXPECT_FALSE(must_decode(d, frags[2], kT0 + std::chrono::seconds(32)));
  EXPECT_EQ(d.fragments_in_flight(), 2u);  // "other" and the orphan last fragment of id 10
}

TEST(Decoder, DatagramsInFlightAreBounded) {
  DecoderLimits limits;
  limits.max_fragmented_datagrams = 8;
  Decoder d(limits);
  for (std::uint32_t id = 0; id < 100; ++id) {
    auto frags = synth::fragment(synth::udp(kPhone, 5060, kPbx, 5060, long_payload(1000)), 600, id);
    EXPECT_FALSE(must_decode(d, frags[0], kT0 + Duration(id)));
    EXPECT_LE(d.fragments_in_flight(), 8u);
  }
  EXPECT_EQ(d.stats().fragment_evictions, 92u);
  // The most recent datagrams survive and still complete.
  auto last = synth::fragment(synth::udp(kPhone, 5060, kPbx, 5060, long_payload(1000)), 600, 99);
  EXPECT_TRUE(must_decode(d, last[1], kT0 + Duration(100)));
}

TEST(Decoder, FragmentBytesAreBounded) {
  DecoderLimits limits;
  limits.max_fragment_bytes = 4000;
  Decoder d(limits);
  for (std::uint32_t id = 0; id < 20; ++id) {
    auto frags = synth::fragment(synth::udp(kPhone, 5060, kPbx, 5060, long_payload(3000)), 1000, id);
    (void)must_decode(d, frags[0], kT0 + Duration(id));
  }
  EXPECT_LE(d.fragments_in_flight(), 4u);
  EXPECT_GT(d.stats().fragment_evictions, 0u);
}

// Payloads may point into the bytes fed: tests keep those alive while they look at them.

// TCP: bytes of one direction come out once, in order.
struct TcpFlow {
  IpAddress src = kPhone, dst = kPbx;
  std::uint16_t sport = 40000, dport = 5060;
  std::uint32_t isn = 1000;
  Bytes syn() const { return synth::tcp(src, sport, dst, dport, isn, 0x02, ""); }
  Bytes data(std::uint32_t offset, std::string_view s, std::uint8_t flags = 0x18) const {
    return synth::tcp(src, sport, dst, dport, isn + 1 + offset, flags, s);
  }
};

std::string deliver(Decoder& d, const Bytes& ip) {
  auto p = must_decode(d, ip);
  return p ? text(p->payload) : "";
}

TEST(DecoderTcp, InOrderSegmentsAreDeliveredAsTheyCome) {
  TcpFlow f;
  Decoder d;
  EXPECT_FALSE(must_decode(d, f.syn()));
  EXPECT_EQ(deliver(d, f.data(0, "REGISTER sip:")), "REGISTER sip:");
  EXPECT_EQ(deliver(d, f.data(13, "x SIP/2.0")), "x SIP/2.0");
  EXPECT_EQ(d.stats().tcp_segments, 3u);
}

TEST(DecoderTcp, RetransmissionsAreDropped) {
  TcpFlow f;
  Decoder d;
  (void)must_decode(d, f.syn());
  EXPECT_EQ(deliver(d, f.data(0, "abcdef")), "abcdef");
  EXPECT_FALSE(must_decode(d, f.data(0, "abcdef")));
  EXPECT_EQ(d.stats().tcp_retransmissions, 1u);
  // A retransmission that overlaps and extends: only the new bytes come out.
  EXPECT_EQ(deliver(d, f.data(3, "defghi")), "ghi");
}

TEST(DecoderTcp, OutOfOrderSegmentsWaitForTheHole) {
  TcpFlow f;
  Decoder d;
  (void)must_decode(d, f.syn());
  EXPECT_FALSE(must_decode(d, f.data(6, "ghi")));
  EXPECT_FALSE(must_decode(d, f.data(9, "jkl")));
  EXPECT_EQ(d.stats().tcp_out_of_order, 2u);
  EXPECT_EQ(deliver(d, f.data(0, "abcdef")), "abcdefghijkl");
}

TEST(DecoderTcp, DirectionsAndStreamsAreSeparate) {
  TcpFlow a, b;
  b.sport = 40001;
  b.isn = 5000;
  TcpFlow back{kPbx, kPhone, 5060, 40000, 9000};
  Decoder d;
  (void)must_decode(d, a.syn());
  (void)must_decode(d, b.syn());
  (void)must_decode(d, back.syn());
  EXPECT_EQ(deliver(d, b.data(0, "B1")), "B1");
  auto p = must_decode(d, back.data(0, "SIP/2.0 200 OK"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->src, kPbx);
  EXPECT_EQ(p->sport, 5060);
  EXPECT_EQ(deliver(d, a.data(0, "A1")), "A1");
  EXPECT_EQ(d.tcp_streams(), 3u);
}

TEST(DecoderTcp, AStreamPickedUpMidwayIsMarkedAsAGap) {
  TcpFlow f;
  Decoder d;
  auto p = must_decode(d, f.data(500, "middle"));
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->stream_gap);
  EXPECT_EQ(deliver(d, f.data(506, "more")), "more");
}

TEST(DecoderTcp, AHoleTooBigToWaitForIsSkippedAndMarked) {
  TcpFlow f;
  DecoderLimits limits;
  limits.max_tcp_out_of_order_segments = 3;
  Decoder d(limits);
  (void)must_decode(d, f.syn());
  EXPECT_EQ(deliver(d, f.data(0, "aa")), "aa");
  EXPECT_FALSE(must_decode(d, f.data(10, "bb")));
  EXPECT_FALSE(must_decode(d, f.data(12, "cc")));
  EXPECT_FALSE(must_decode(d, f.data(20, "ee")));
  auto p = must_decode(d, f.data(14, "dd"));  // fourth waiting segment: give up on [2, 10)
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->stream_gap);
  EXPECT_EQ(text(p->payload), "bbccdd");
  EXPECT_EQ(d.stats().tcp_gaps, 1u);
}

TEST(DecoderTcp, FinAndRstEndTheStream) {
  TcpFlow f;
  Decoder d;
  (void)must_decode(d, f.syn());
  const Bytes fin = f.data(0, "bye", 0x19);  // FIN+PSH+ACK with data
  auto p = must_decode(d, fin);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->stream_end);
  EXPECT_EQ(text(p->payload), "bye");
  EXPECT_EQ(d.tcp_streams(), 0u);

  TcpFlow g;
  g.sport = 40002;
  (void)must_decode(d, g.syn());
  EXPECT_EQ(d.tcp_streams(), 1u);
  auto r = must_decode(d, g.data(0, "", 0x04));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->stream_end);
  EXPECT_EQ(d.tcp_streams(), 0u);
}

TEST(DecoderTcp, StreamsAreBoundedLeastRecentlyUsedFirst) {
  DecoderLimits limits;
  limits.max_tcp_streams = 4;
  Decoder d(limits);
  for (std::uint16_t port = 1; port <= 10; ++port) {
    TcpFlow f;
    f.sport = port;
    (void)must_decode(d, f.syn());
    EXPECT_LE(d.tcp_streams(), 4u);
  }
  EXPECT_EQ(d.stats().tcp_stream_evictions, 6u);
}

// Out-of-order bytes of all streams together stay under max_tcp_buffered_bytes: the least
// recently used stream goes, not the one that just sent, and a stream evicted that way picks up
// again from its next segment.
TEST(DecoderTcp, BufferedBytesHaveACeilingAcrossStreams) {
  DecoderLimits limits;
  limits.max_tcp_buffered_bytes = 100;
  Decoder d(limits);
  TcpFlow a, b, c;
  a.sport = 40001;
  b.sport = 40002;
  c.sport = 40003;
  for (const TcpFlow* f : {&a, &b, &c}) (void)must_decode(d, f->syn());
  EXPECT_FALSE(must_decode(d, a.data(10, std::string(40, 'a'))));  // a hole of 10 bytes before each
  EXPECT_FALSE(must_decode(d, b.data(10, std::string(40, 'b'))));
  EXPECT_FALSE(must_decode(d, a.data(60, std::string(5, 'a'))));  // a is used again: b is the oldest
  EXPECT_EQ(d.stats().tcp_buffered_bytes, 85u);
  EXPECT_FALSE(must_decode(d, c.data(10, std::string(40, 'c'))));
  EXPECT_EQ(d.stats().tcp_buffer_evictions, 1u);
  EXPECT_EQ(d.stats().tcp_buffered_bytes, 85u);
  EXPECT_EQ(d.tcp_streams(), 2u);
  // a's hole fills: its bytes come out in order and leave the buffer.
  EXPECT_EQ(deliver(d, a.data(0, std::string(10, 'x'))), std::string(10, 'x') + std::string(40, 'a'));
  EXPECT_EQ(d.stats().tcp_buffered_bytes, 45u);
  // b was dropped: its next segment starts a new stream picked up mid-way.
  auto p = must_decode(d, b.data(0, std::string(10, 'y')));
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->stream_gap);
}

TEST(DecoderTcp, SequenceNumbersWrapAround) {
  TcpFlow f;
  f.isn = 0xfffffffa;
  Decoder d;
  (void)must_decode(d, f.syn());
  EXPECT_EQ(deliver(d, f.data(0, "0123")), "0123");
  EXPECT_FALSE(must_decode(d, f.data(8, "89")));  // past the wrap, waiting
  EXPECT_EQ(deliver(d, f.data(4, "4567")), "456789");
}

TEST(DecoderErrors, NameTheFieldAndOffset) {
  Decoder d;
  Bytes ip = synth::udp(kPhone, 5060, kPbx, 5060, "x");
  Bytes short_ip(ip.begin(), ip.begin() + 10);
  auto r = d.feed(kRaw, kT0, short_ip);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, DecodeError::Kind::truncated);
  EXPECT_EQ(r.error().str(), "truncated: ipv4: header at byte 0");

  Bytes bad_version = ip;
  bad_version[0] = 0x55;
  r = d.feed(kRaw, kT0, bad_version);
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.error().reason, "ip: version is neither 4 nor 6");

  Bytes cut = ip;
  cut.resize(cut.size() - 1);  // snap length shorter than the packet
  r = d.feed(kRaw, kT0, cut);
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.error().reason, "ipv4: packet shorter than its total length");
  EXPECT_EQ(r.error().offset, 2u);

  Bytes bad_udp = ip;
  bad_udp[20 + 5] = 4;  // UDP length 4
  r = d.feed(kRaw, kT0, bad_udp);
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.error().reason, "udp: length < 8");
  EXPECT_EQ(r.error().offset, 24u);

  r = d.feed(9999, kT0, ip);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, DecodeError::Kind::unsupported);
  EXPECT_EQ(d.stats().errors, 5u);
}

TEST(DecoderErrors, NflogTlvsAreBoundsChecked) {
  Decoder d;
  const auto nflog = static_cast<std::uint32_t>(LinkType::nflog);
  Bytes f = synth::nflog(synth::udp(kPhone, 5060, kPbx, 5060, "x"));
  Bytes cut(f.begin(), f.begin() + 22);  // inside the payload TLV
  auto r = d.feed(nflog, kT0, cut);
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.error().reason, "nflog: TLV value");
  Bytes zero_len = f;
  zero_len[4] = zero_len[5] = 0;
  r = d.feed(nflog, kT0, zero_len);
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.error().reason, "nflog: TLV length < 4");
}

TEST(DecoderErrors, FragmentsNotMultipleOfEightAreMalformed) {
  auto frags = synth::fragment(synth::udp(kPhone, 5060, kPbx, 5060, long_payload(100)), 48, 1);
  Bytes odd = frags[0];
  odd.pop_back();
  odd[3] = static_cast<std::uint8_t>(odd[3] - 1);
  Decoder d;
  auto r = d.feed(kRaw, kT0, odd);
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.error().reason, "ipv4: fragment length is not a multiple of 8");
}

TEST(Decoder, FeedIpTakesRawPacketsWithoutLinkType) {
  Decoder d;
  auto r = d.feed_ip(kT0, synth::udp(kPhone6, 4569, kPbx6, 4569, "iax"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(*r);
  EXPECT_EQ((*r)->dport, 4569);
}

}  // namespace
}  // namespace pbxwall::capture
