// Typed events from transcripts in Asterisk's wire format.
#include "ami/events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "transcript.h"

namespace pbxwall::ami {
namespace {

using test::transcript;
using ::testing::ElementsAre;

struct Interpreted {
  std::vector<Event> events;
  std::vector<std::string> problems;
};

Interpreted interpret_transcript(const std::string& name) {
  Parser p;
  std::vector<Message> ms;
  p.feed(transcript(name), ms);
  Interpreted out;
  for (const auto& m : ms) {
    auto r = interpret(m);
    if (r.event) out.events.push_back(std::move(*r.event));
    if (!r.problem.empty()) out.problems.push_back(r.problem);
  }
  return out;
}

std::string describe(const SecurityEvent& e) {
  return std::string(to_string(e.type)) + " " + e.service + " " + e.account_id + " " + to_string(e.remote.transport) +
         " " + e.remote.address.str() + " " + std::to_string(e.remote.port);
}

TEST(AmiEvents, SecurityEventsFromATranscript) {
  auto r = interpret_transcript("security_pjsip.txt");
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(r.events.size(), 10u);
  const auto& login = std::get<ActionResponse>(r.events[0]);
  EXPECT_TRUE(login.success);
  EXPECT_EQ(login.action_id, "1");
  EXPECT_EQ(login.message, "Authentication accepted");
  EXPECT_TRUE(std::holds_alternative<FullyBooted>(r.events[1]));
  std::vector<std::string> security;
  for (std::size_t i = 2; i < r.events.size(); ++i) security.push_back(describe(std::get<SecurityEvent>(r.events[i])));
  EXPECT_THAT(security, ElementsAre("InvalidAccountID PJSIP 1000 udp 203.0.113.9 5060",
                                    "ChallengeSent PJSIP 101 udp 203.0.113.9 5060",
                                    "ChallengeResponseFailed PJSIP 101 udp 203.0.113.9 5060",
                                    "InvalidPassword SIP 102 tcp 198.51.100.44 41522",
                                    "FailedACL PJSIP 103 udp 2001:db8:bad::9 5062",
                                    "SuccessfulAuth PJSIP 201 wss 198.51.100.61 52144",
                                    "RequestBadFormat IAX2  udp 203.0.113.77 4569",
                                    "InvalidAccountID AMI admin tls 203.0.113.5 50412"));
  const auto& first = std::get<SecurityEvent>(r.events[2]);
  EXPECT_EQ(first.event_tv, "2024-03-12T09:14:02.511+0000");
  EXPECT_EQ(first.severity, "Error");
  ASSERT_TRUE(first.local);
  EXPECT_EQ(first.local->address.str(), "192.0.2.10");
  EXPECT_EQ(std::get<SecurityEvent>(r.events[6]).acl_name, "endpoint_acl");
  EXPECT_TRUE(std::get<SecurityEvent>(r.events[7]).using_password);
  EXPECT_FALSE(std::get<SecurityEvent>(r.events[2]).using_password);
  EXPECT_EQ(std::get<SecurityEvent>(r.events[8]).request_type, "NEW");
}

// Recorded from Asterisk 22.10.1 (tests/lab/asterisk-ami --record): phone B's wrong password,
// phone A's registration, an unknown user, the IAX2 peer 400 registered and released, 302
// over TCP registered and gone with its connection.
TEST(AmiEvents, WhatAsterisk22Sends) {
  auto r = interpret_transcript("asterisk22-session.txt");
  EXPECT_TRUE(r.problems.empty());
  std::vector<std::string> security, contacts, peers;
  for (const auto& e : r.events) {
    if (const auto* s = std::get_if<SecurityEvent>(&e)) security.push_back(describe(*s));
    if (const auto* c = std::get_if<ContactStatusEvent>(&e))
      contacts.push_back(c->status + " " + c->aor + " " + (c->uri_address ? c->uri_address->str() : "-") + " " +
                         std::to_string(c->uri_port));
    if (const auto* p = std::get_if<PeerStatusEvent>(&e))
      peers.push_back(p->channel_type + " " + p->peer + " " + p->status + " " +
                      (p->address ? p->address->str() : "-"));
  }
  EXPECT_THAT(security, ElementsAre("SuccessfulAuth AMI pbxwall tcp 127.0.0.1 60058",
                                    "ChallengeSent PJSIP 333 udp 198.51.100.11 5060",
                                    "ChallengeResponseFailed PJSIP 333 udp 198.51.100.11 5060",
                                    "ChallengeSent PJSIP 300 udp 198.51.100.10 5060",
                                    "SuccessfulAuth PJSIP 300 udp 198.51.100.10 5060",
                                    "InvalidAccountID PJSIP 999 udp 192.0.2.66 5060",
                                    "ChallengeSent PJSIP <unknown> udp 192.0.2.66 5060",
                                    "ChallengeSent PJSIP 302 tcp 198.51.100.11 5062",
                                    "SuccessfulAuth PJSIP 302 tcp 198.51.100.11 5062"));
  // Asterisk 22: a new contact without qualify is NonQualified (no Created); it is Removed
  // when its TCP connection closes.
  EXPECT_THAT(contacts, ElementsAre("NonQualified 300 198.51.100.10 5060", "NonQualified 302 198.51.100.11 5062",
                                    "Removed 302 198.51.100.11 5062"));
  // chan_iax2's Address carries no port; PJSIP peers report Reachable without an address.
  EXPECT_THAT(peers, ElementsAre("PJSIP 300 Reachable -", "IAX2 400 Registered 198.51.100.10",
                                 "IAX2 400 Unregistered -", "PJSIP 302 Reachable -", "PJSIP 302 Unreachable -"));
}

TEST(AmiEvents, RegistrationEventsFromATranscript) {
  auto r = interpret_transcript("registrations.txt");
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(r.events.size(), 7u);
  const auto& created = std::get<ContactStatusEvent>(r.events[0]);
  EXPECT_EQ(created.state, ContactState::created);
  EXPECT_EQ(created.aor, "101");
  EXPECT_EQ(created.endpoint, "101");
  EXPECT_EQ(created.uri, "sip:101@198.51.100.23:5060;ob");
  ASSERT_TRUE(created.uri_address);
  EXPECT_EQ(created.uri_address->str(), "198.51.100.23");
  EXPECT_EQ(created.uri_port, 5060);
  ASSERT_TRUE(created.via_address);
  EXPECT_EQ(created.via_address->str(), "198.51.100.23");
  EXPECT_EQ(created.user_agent, "Yealink SIP-T46U 108.86.0.45");
  EXPECT_EQ(created.reg_expire, std::optional<std::int64_t>(1710238443));
  EXPECT_EQ(std::get<ContactStatusEvent>(r.events[1]).state, ContactState::reachable);
  EXPECT_FALSE(std::get<ContactStatusEvent>(r.events[1]).reg_expire);
  EXPECT_FALSE(std::get<ContactStatusEvent>(r.events[1]).via_address);

  const auto& pjsip_peer = std::get<PeerStatusEvent>(r.events[2]);
  EXPECT_EQ(pjsip_peer.channel_type, "PJSIP");
  EXPECT_EQ(pjsip_peer.peer, "101");
  EXPECT_EQ(pjsip_peer.state, PeerState::reachable);
  EXPECT_FALSE(pjsip_peer.address);

  const auto& sip = std::get<PeerStatusEvent>(r.events[3]);
  EXPECT_EQ(sip.state, PeerState::registered);
  EXPECT_EQ(sip.peer, "102");
  ASSERT_TRUE(sip.address);
  EXPECT_EQ(sip.address->str(), "198.51.100.24");
  EXPECT_EQ(sip.port, 5062);

  const auto& iax = std::get<PeerStatusEvent>(r.events[4]);
  EXPECT_EQ(iax.channel_type, "IAX2");
  ASSERT_TRUE(iax.address);
  EXPECT_EQ(iax.address->str(), "2001:db8:2::3");
  EXPECT_EQ(iax.port, 4569);

  const auto& gone = std::get<PeerStatusEvent>(r.events[5]);
  EXPECT_EQ(gone.state, PeerState::unregistered);
  EXPECT_EQ(gone.cause, "Expired");
  EXPECT_EQ(std::get<ContactStatusEvent>(r.events[6]).state, ContactState::removed);
}

TEST(AmiEvents, MalformedEventsAreNamedNotGuessed) {
  auto r = interpret_transcript("malformed.txt");
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(describe(std::get<SecurityEvent>(r.events[0])), "InvalidAccountID PJSIP 1000 udp 203.0.113.9 5060");
  EXPECT_EQ(describe(std::get<SecurityEvent>(r.events[1])), "SuccessfulAuth PJSIP 101 udp 203.0.113.9 5060");
  EXPECT_THAT(r.problems,
              ElementsAre("RemoteAddress 'IPV4/SCTP/203.0.113.9/5060': transport is not UDP, TCP, TLS, WS or WSS",
                          "ChallengeResponseFailed without RemoteAddress",
                          "PeerStatus Address 'not-an-address' is not address:port"));
}

TEST(AmiEvents, OtherEventsAreNotOfInterest) {
  Message m{{{"Event", "Newchannel"}, {"Channel", "PJSIP/101-00000001"}}};
  auto r = interpret(m);
  EXPECT_FALSE(r.event);
  EXPECT_TRUE(r.problem.empty());
  EXPECT_FALSE(interpret(Message{{{"Privilege", "x"}}}).event);
}

TEST(AmiEvents, FailedResponses) {
  auto r = interpret(Message{{{"Response", "Error"}, {"ActionID", "7"}, {"Message", "Authentication failed"}}});
  ASSERT_TRUE(r.event);
  const auto& resp = std::get<ActionResponse>(*r.event);
  EXPECT_FALSE(resp.success);
  EXPECT_EQ(resp.message, "Authentication failed");
}

TEST(SecurityAddress, Forms) {
  auto v4 = parse_security_address("IPV4/UDP/203.0.113.9/5060");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->transport, Transport::udp);
  EXPECT_EQ(v4->port, 5060);
  auto v6 = parse_security_address("IPV6/TCP/2001:db8::9/5061");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->address.str(), "2001:db8::9");
  EXPECT_EQ(v6->transport, Transport::tcp);
  EXPECT_EQ(parse_security_address("IPV6/WS/[2001:db8::9]/80")->transport, Transport::ws);
  EXPECT_EQ(parse_security_address("IPV6/UDP/::ffff:203.0.113.9/5060")->address.str(), "203.0.113.9");
  std::string why;
  EXPECT_FALSE(parse_security_address("203.0.113.9:5060", &why));
  EXPECT_EQ(why, "not FAMILY/TRANSPORT/ADDRESS/PORT");
  EXPECT_FALSE(parse_security_address("IPV4/UDP/203.0.113.9", &why));
  EXPECT_FALSE(parse_security_address("IPV4/UDP/example.com/5060", &why));
  EXPECT_EQ(why, "not an IP address");
  EXPECT_FALSE(parse_security_address("IPV5/UDP/203.0.113.9/5060", &why));
  EXPECT_EQ(why, "family is not IPV4 or IPV6");
  EXPECT_FALSE(parse_security_address("IPV4/UDP/2001:db8::9/5060", &why));
  EXPECT_FALSE(parse_security_address("IPV4/UDP/203.0.113.9/70000", &why));
  EXPECT_EQ(why, "port is not a number in 0..65535");
}

}  // namespace
}  // namespace pbxwall::ami
