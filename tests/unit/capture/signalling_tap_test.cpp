// capture::SignallingTap: which packets become observations, in which direction, and the
// bounds on its TCP framers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "capture/signalling_tap.h"
#include "sip_traffic.h"

namespace pbxwall::capture {
namespace {

using responsive::Direction;
using responsive::ObservationKind;

const IpAddress kPbx = *IpAddress::parse("203.0.113.1");
const IpAddress kPhone = *IpAddress::parse("198.51.100.10");

struct Seen {
  ObservationKind kind;
  Direction dir;
  std::string call_id;  // SIP requests only
  std::string user_agent_last = {};
  int evasions = 0;
};

class Tap : public ::testing::Test {
 protected:
  // Keeps the payload alive while the tap reads it.
  void feed(const std::string& payload, Transport transport = Transport::udp, std::uint16_t sport = 5062,
            std::uint16_t dport = 5060, Direction dir = Direction::to_pbx, bool gap = false, bool end = false) {
    Packet p;
    p.src = dir == Direction::to_pbx ? kPhone : kPbx;
    p.dst = dir == Direction::to_pbx ? kPbx : kPhone;
    p.sport = sport;
    p.dport = dport;
    p.transport = transport;
    p.payload = std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
    p.stream_gap = gap;
    p.stream_end = end;
    tap.feed(p, dir, [&](const responsive::Observation& obs) {
      Seen s{obs.kind(), obs.meta.dir, ""};
      if (const auto* r = std::get_if<responsive::SipRequest>(&obs.body)) {
        s.call_id = std::string(r->call_id);
        s.user_agent_last = std::string(r->user_agent_last);
        s.evasions = r->evasions;
      }
      seen.push_back(s);
    });
  }
  static std::string request(const std::string& call_id) {
    traffic::Request r;
    r.call_id = call_id;
    return traffic::request_text(r);
  }

  SignallingTap tap{SignallingPorts{}, 2};
  std::vector<Seen> seen;
};

TEST_F(Tap, UdpSipRequestsAndAnswersKeepTheirDirection) {
  feed(request("c1"));
  feed("SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 198.51.100.10:5062;branch=z9hG4bK1\r\n"
       "From: <sip:100@203.0.113.1>;tag=1\r\nTo: <sip:100@203.0.113.1>;tag=2\r\nCall-ID: c1\r\n"
       "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
       Transport::udp, 5060, 5062, Direction::from_pbx);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].kind, ObservationKind::sip_request);
  EXPECT_EQ(seen[0].dir, Direction::to_pbx);
  EXPECT_EQ(seen[0].call_id, "c1");
  EXPECT_EQ(seen[1].kind, ObservationKind::sip_response);
  EXPECT_EQ(seen[1].dir, Direction::from_pbx);
  EXPECT_EQ(tap.stats().sip_messages, 2u);
}

TEST_F(Tap, DatagramsAreReadAsThePbxReadsThem) {
  const std::string ok = request("c1");
  const std::size_t end = ok.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  feed(ok.substr(0, end + 2));  // headers without the empty line
  std::string two_agents = ok;
  two_agents.insert(end + 2, "User-Agent: friendly-scanner\r\n");
  feed(two_agents);
  std::string padded = ok;
  padded.insert(end + 2, "X-Padding: " + std::string(9000, 'a') + "\r\n");
  feed(padded);
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& s : seen) EXPECT_EQ(s.kind, ObservationKind::sip_request);
  EXPECT_EQ(seen[0].call_id, "c1");
  EXPECT_EQ(seen[0].evasions, 1);
  EXPECT_EQ(seen[1].user_agent_last, "friendly-scanner");
  EXPECT_EQ(seen[1].evasions, 1);
  EXPECT_EQ(seen[2].evasions, 0) << "a long datagram is read whole; length alone is no evidence";
  EXPECT_EQ(tap.stats().malformed, 0u);
}

TEST_F(Tap, KeepalivesAreCountedNotObservedAndGarbageIsMalformed) {
  feed("\r\n\r\n");
  feed("");
  feed("HELLO");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, ObservationKind::malformed);
  EXPECT_EQ(tap.stats().keepalives, 2u);
  EXPECT_EQ(tap.stats().malformed, 1u);
}

TEST_F(Tap, OtherPortsAreNotSignalling) {
  Packet p;
  p.src = kPhone;
  p.dst = kPbx;
  p.sport = 40000;
  p.dport = 10000;
  EXPECT_FALSE(tap.is_signalling(p));
  p.dport = 4569;
  EXPECT_TRUE(tap.is_signalling(p));
  p.transport = Transport::tcp;
  EXPECT_FALSE(tap.is_signalling(p));  // IAX2 is UDP only
  feed(request("c1"), Transport::udp, 40000, 10000);
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(tap.stats().not_signalling, 1u);
}

TEST_F(Tap, IaxFramesAndMedia) {
  feed(traffic::iax_frame(1, 0, 0, 0, 13, traffic::iax_ie(6, "100")), Transport::udp, 4569, 4569);  // REGREQ
  feed(std::string("\x00\x01\x00\x10", 4) + "media", Transport::udp, 4569, 4569);                   // mini frame
  feed(std::string("\x80", 1), Transport::udp, 4569, 4569);                                          // cut short
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].kind, ObservationKind::iax_frame);
  EXPECT_EQ(seen[1].kind, ObservationKind::malformed);
  EXPECT_EQ(tap.stats().iax_frames, 1u);
  EXPECT_EQ(tap.stats().media, 1u);
}

TEST_F(Tap, TcpMessagesAreFramedAcrossSegments) {
  const std::string two = request("t1") + request("t2");
  feed(two.substr(0, 30), Transport::tcp);
  EXPECT_TRUE(seen.empty());
  feed(two.substr(30), Transport::tcp);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].call_id, "t1");
  EXPECT_EQ(seen[1].call_id, "t2");
}

TEST_F(Tap, AGapRestartsTheFramer) {
  const std::string one = request("t1");
  feed(one.substr(0, 40), Transport::tcp);
  feed(request("t2"), Transport::tcp, 5062, 5060, Direction::to_pbx, /*gap=*/true);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].call_id, "t2");
}

TEST_F(Tap, TlsStreamsAreSkipped) {
  feed(std::string("\x16\x03\x01\x00\x05hello", 10), Transport::tcp, 5062, 5061);
  feed(request("after-hello"), Transport::tcp, 5062, 5061);
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(tap.stats().tls_streams, 1u);
}

TEST_F(Tap, TheLeastRecentlyUsedStreamIsDroppedAtTheLimit) {
  // Limit 2: streams from ports 1001 and 1002 hold half a message each; 1001 is used again,
  // so a third stream evicts 1002, whose second half then no longer completes a message.
  const std::string a = request("a"), b = request("b"), c = request("c");
  feed(a.substr(0, 40), Transport::tcp, 1001);
  feed(b.substr(0, 40), Transport::tcp, 1002);
  feed(a.substr(40, 10), Transport::tcp, 1001);
  feed(c, Transport::tcp, 1003);
  EXPECT_EQ(tap.stats().stream_evictions, 1u);
  feed(a.substr(50), Transport::tcp, 1001);
  feed(b.substr(40), Transport::tcp, 1002);
  std::vector<std::string> ids;
  for (const auto& s : seen) ids.push_back(s.kind == ObservationKind::sip_request ? s.call_id : "malformed");
  EXPECT_EQ(ids, (std::vector<std::string>{"c", "a", "malformed"}));
}

// Partial messages of all streams together stay under the byte ceiling: the least recently used
// stream is dropped first, and one stream alone over the ceiling drops itself.
TEST(TapCeiling, BufferedBytesHaveACeilingWithLeastRecentlyUsedEviction) {
  SignallingTap tap{SignallingPorts{}, 100, 100};
  std::vector<std::string> ids;
  std::vector<std::string> payloads;  // alive while the tap reads them
  auto feed = [&](const std::string& payload, std::uint16_t sport) {
    Packet p;
    p.src = kPhone;
    p.dst = kPbx;
    p.sport = sport;
    p.dport = 5060;
    p.transport = Transport::tcp;
    p.payload = std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
    tap.feed(p, Direction::to_pbx, [&](const responsive::Observation& obs) {
      const auto* r = std::get_if<responsive::SipRequest>(&obs.body);
      ids.push_back(r ? std::string(r->call_id) : "malformed");
    });
  };
  traffic::Request r;
  r.call_id = "a";
  const std::string a = traffic::request_text(r);
  r.call_id = "b";
  const std::string b = traffic::request_text(r);
  r.call_id = "c";
  const std::string c = traffic::request_text(r);
  ASSERT_GT(a.size(), 100u);
  feed(a.substr(0, 40), 1001);
  feed(b.substr(0, 40), 1002);
  feed(a.substr(40, 10), 1001);
  EXPECT_EQ(tap.stats().buffered_bytes, 90u);
  feed(c.substr(0, 40), 1003);  // 130 bytes: 1002, the least recently used, goes
  EXPECT_EQ(tap.stats().buffer_evictions, 1u);
  EXPECT_EQ(tap.stats().buffered_bytes, 90u);
  feed(a.substr(50), 1001);  // a completes and leaves the buffer
  EXPECT_EQ(tap.stats().buffered_bytes, 40u);
  feed(b.substr(40), 1002);  // b's tail alone is no message
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "malformed"}));

  feed(std::string(150, 'x'), 1004);  // one stream over the ceiling by itself
  EXPECT_EQ(tap.stats().buffered_bytes, 0u);
  EXPECT_EQ(tap.stats().buffer_evictions, 3u);  // 1003 (older), then 1004 itself
}

TEST_F(Tap, AStreamEndForgetsItsFramer) {
  const std::string a = request("a");
  feed(a.substr(0, 40), Transport::tcp, 1001, 5060, Direction::to_pbx, false, /*end=*/true);
  feed(a.substr(40), Transport::tcp, 1001);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, ObservationKind::malformed);  // the tail alone is not a message
}

}  // namespace
}  // namespace pbxwall::capture
