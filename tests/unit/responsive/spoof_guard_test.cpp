// Rule 13: an address validated within validated_memory is blocked only on evidence a forged
// source address cannot produce (a digest answering the nonce the PBX sent there, or a TCP
// stream); a forged packet "from" it earns no block.
#include <gtest/gtest.h>

#include "engine_fixture.h"

namespace pbxwall::responsive {
namespace {

using namespace std::chrono_literals;

const IpAddress kPhone = testing::addr("198.51.100.11");
const IpAddress kStranger = testing::addr("203.0.113.9");

class SpoofGuardTest : public testing::EngineFixture {
 protected:
  // The phone registers for a minute, then its validation runs out.
  void phone_was_validated() {
    ASSERT_EQ(count(register_cycle(kPhone, "333", 200, 60), Action::validate), 1);
    advance(10min);
    ASSERT_EQ(count(engine().expire(now()), Action::forget), 1);
  }
  // A desk phone's first REGISTER for `user` (no credentials yet) on Call-ID `call`.
  SipRequest desk_phone_register(const char* user, const std::string& call) {
    SipRequest q;
    q.method = SipMethod::register_;
    q.to_user = q.from_user = strings_.keep(user);
    q.user_agent = strings_.keep("Yealink SIP-T46S 66.86.0.15");
    q.call_id = strings_.keep(call);
    q.cseq = 1;
    q.via_host = strings_.keep("198.51.100.11");
    return q;
  }
  // The PBX's 401 to `q` with the nonce it sends to that address.
  SipResponse challenge_to(const SipRequest& q, const std::string& nonce) {
    SipResponse c;
    c.status = 401;
    c.call_id = q.call_id;
    c.cseq = q.cseq;
    c.cseq_method = SipMethod::register_;
    c.has_challenge = true;
    c.nonce = strings_.keep(nonce);
    c.to_user = q.to_user;
    return c;
  }
  // A scanner's OPTIONS (svmap's User-Agent: the fingerprint rule blocks at once).
  std::vector<Decision> scanner_options(const IpAddress& from, Transport transport = Transport::udp) {
    SipRequest q;
    q.method = SipMethod::options;
    q.uri_user = strings_.keep("100");
    q.user_agent = strings_.keep("friendly-scanner");
    q.call_id = strings_.keep("spoof-" + std::to_string(++cycle_));
    q.cseq = 1;
    q.via_host = strings_.keep("198.51.100.11");
    PacketMeta m = testing::to_pbx(from);
    m.transport = transport;
    return feed(Observation{m, q});
  }
};

TEST_F(SpoofGuardTest, ForgedScannerPacketFromARememberedAddressIsNotBlocked) {
  phone_was_validated();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(count(scanner_options(kPhone), Action::block), 0) << i;
  EXPECT_GE(engine().counters().spoof_guarded, 20u);
  // The same packet from an address never validated is blocked at once.
  EXPECT_EQ(count(scanner_options(kStranger), Action::block), 1);
  // The phone itself still registers.
  EXPECT_EQ(count(register_cycle(kPhone, "333", 200, 60), Action::validate), 1);
}

TEST_F(SpoofGuardTest, TheMemoryEndsAfterValidatedMemory) {
  phone_was_validated();
  advance(29 * 24h);
  EXPECT_EQ(count(scanner_options(kPhone), Action::block), 0);
  advance(2 * 24h);  // 31 days after the validation
  EXPECT_EQ(count(scanner_options(kPhone), Action::block), 1);
}

TEST_F(SpoofGuardTest, ATcpStreamIsEvidence) {
  phone_was_validated();
  EXPECT_EQ(count(scanner_options(kPhone, Transport::tcp), Action::block), 1);
}

TEST_F(SpoofGuardTest, AnsweringTheNonceSentToTheAddressIsEvidence) {
  phone_was_validated();
  // A password cracker at that address: it answers the nonces the PBX sends it, which only the
  // holder of the address sees, so its fast wrong passwords are blocked as usual.
  int blocks = 0;
  for (int i = 0; i < 20 && blocks == 0; ++i) {
    const std::string call = "crack-" + std::to_string(i);
    const std::string nonce = "nonce-" + std::to_string(i);
    SipRequest q = desk_phone_register("301", call);
    blocks += count(feed(Observation{testing::to_pbx(kPhone), q}), Action::block);
    const SipResponse c = challenge_to(q, nonce);
    blocks += count(feed(Observation{testing::from_pbx(kPhone), c}), Action::block);
    q.cseq = 2;
    q.has_credentials = q.auth_response_present = true;
    q.auth_user = q.to_user;
    q.auth_nonce = strings_.keep(nonce);
    blocks += count(feed(Observation{testing::to_pbx(kPhone), q}), Action::block);
    SipResponse f = c;
    f.cseq = 2;
    f.nonce = strings_.keep(nonce + "-again");
    blocks += count(feed(Observation{testing::from_pbx(kPhone), f}), Action::block);
    advance(100ms);
  }
  EXPECT_EQ(blocks, 1);
}

TEST_F(SpoofGuardTest, AWrongNonceProvesNothing) {
  phone_was_validated();
  // Credentials with a nonce the PBX never sent to the address (a forger guessing).
  SipRequest q;
  q.method = SipMethod::options;
  q.uri_user = strings_.keep("100");
  q.user_agent = strings_.keep("friendly-scanner");
  q.call_id = strings_.keep("forged-credentials");
  q.cseq = 1;
  q.has_credentials = q.auth_response_present = true;
  q.auth_user = strings_.keep("100");
  q.auth_nonce = strings_.keep("made-up");
  EXPECT_EQ(count(feed(Observation{testing::to_pbx(kPhone), q}), Action::block), 0);
}

TEST_F(SpoofGuardTest, RememberedFromTheStateDatabase) {
  engine().remember_validation(kPhone, now() - 10 * 24h);
  EXPECT_EQ(count(scanner_options(kPhone), Action::block), 0);
  // Longer ago than validated_memory: not remembered.
  engine().remember_validation(kStranger, now() - 40 * 24h);
  EXPECT_EQ(count(scanner_options(kStranger), Action::block), 1);
}

TEST_F(SpoofGuardTest, ThePhonesOwnDigestsVouchForNoLaterPacket) {
  // The phone registers as a phone does, answering the nonce the PBX sent it; its
  // registration runs out. A forged scanner packet afterwards proves nothing by itself.
  SipRequest q = desk_phone_register("333", "phone-registration");
  q.expires = 60;
  feed(Observation{testing::to_pbx(kPhone), q});
  const SipResponse c = challenge_to(q, "phone-nonce");
  feed(Observation{testing::from_pbx(kPhone), c});
  q.cseq = 2;
  q.has_credentials = q.auth_response_present = true;
  q.auth_user = q.to_user;
  q.auth_nonce = c.nonce;
  feed(Observation{testing::to_pbx(kPhone), q});
  SipResponse ok = c;
  ok.status = 200;
  ok.cseq = 2;
  ok.has_challenge = false;
  ok.nonce = {};
  ok.expires = 60;
  ASSERT_EQ(count(feed(Observation{testing::from_pbx(kPhone), ok}), Action::validate), 1);
  advance(10min);
  ASSERT_EQ(count(engine().expire(now()), Action::forget), 1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(count(scanner_options(kPhone), Action::block), 0) << i;
  EXPECT_GE(engine().counters().spoof_guarded, 5u);
}

TEST_F(SpoofGuardTest, ZeroTurnsTheGuardOff) {
  Settings s;
  s.validated_memory = Duration(0);
  reset(s);
  phone_was_validated();
  EXPECT_EQ(count(scanner_options(kPhone), Action::block), 1);
  EXPECT_EQ(engine().counters().spoof_guarded, 0u);
}

TEST_F(SpoofGuardTest, OperatorBlocksStillApply) {
  phone_was_validated();
  EXPECT_EQ(count(engine().block(kPhone, now(), 1h, "by hand"), Action::block), 1);
}

}  // namespace
}  // namespace pbxwall::responsive
