// Rule 13: an address validated within validated_memory is blocked only on evidence a forged
// source address cannot produce (a digest answering the nonce the PBX sent there, or a TCP
// stream); a forged packet "from" it earns no block.
#include <gmock/gmock.h>

#include <functional>

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
  // A call without credentials from `from` to `number` on Call-ID `call`.
  std::vector<Decision> invite(const IpAddress& from, const std::string& call, const char* number,
                               const char* ua = "Yealink SIP-T46S 66.86.0.15", std::uint32_t cseq = 1) {
    SipRequest q;
    q.method = SipMethod::invite;
    q.uri_user = q.to_user = strings_.keep(number);
    q.from_user = strings_.keep("100");
    q.user_agent = strings_.keep(ua);
    q.call_id = strings_.keep(call);
    q.cseq = cseq;
    q.via_host = strings_.keep(from.str());
    return feed(Observation{testing::to_pbx(from), q});
  }
  // The PBX's final answer to a request on `call` with `cseq`, its To tag `tag`.
  std::vector<Decision> answer(const IpAddress& to, const std::string& call, std::uint32_t cseq, SipMethod method,
                               int status, const std::string& tag) {
    SipResponse a;
    a.status = status;
    a.call_id = strings_.keep(call);
    a.cseq = cseq;
    a.cseq_method = method;
    a.has_challenge = status == 401 || status == 407;
    a.nonce = a.has_challenge ? strings_.keep("nonce-" + call) : std::string_view{};
    a.to_tag = strings_.keep(tag);
    return feed(Observation{testing::from_pbx(to), a});
  }
  // An ACK, BYE or other request on `call` carrying To tag `tag` (empty: none).
  std::vector<Decision> in_dialog(const IpAddress& from, SipMethod method, const std::string& call, std::uint32_t cseq,
                                  const std::string& tag) {
    SipRequest q;
    q.method = method;
    q.uri_user = q.to_user = strings_.keep("0044207946000");
    q.user_agent = strings_.keep("Yealink SIP-T46S 66.86.0.15");
    q.call_id = strings_.keep(call);
    q.cseq = cseq;
    q.to_tag = strings_.keep(tag);
    q.via_host = strings_.keep(from.str());
    return feed(Observation{testing::to_pbx(from), q});
  }
  // Toll-fraud probing from `from`: calls without credentials to international numbers, each
  // answered 407 with a To tag of the PBX, each followed by an ACK carrying `ack_tag(i, tag)`.
  // Returns the blocks and where they came from.
  struct Probed {
    int blocks = 0;
    int at_ack = -1;  // the call whose ACK held the block
    std::string reason;
    Rule rule = Rule::count_;
  };
  Probed probe_calls(const IpAddress& from, int calls, const std::function<std::string(int, const std::string&)>& ack_tag) {
    Probed out;
    for (int i = 0; i < calls; ++i) {
      const std::string call = "probe-" + from.str() + "-" + std::to_string(i);
      const std::string tag = "as-" + std::to_string(7919 * (i + 1));
      out.blocks += count(invite(from, call, "0044207946000"), Action::block);
      out.blocks += count(answer(from, call, 1, SipMethod::invite, 407, tag), Action::block);
      const auto ds = in_dialog(from, SipMethod::ack, call, 1, ack_tag(i, tag));
      if (const Decision* d = find(ds, Action::block)) {
        ++out.blocks;
        out.at_ack = i;
        out.reason = d->reason;
        out.rule = d->rule;
      }
      if (out.blocks) break;
      advance(2s);
    }
    return out;
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

// ---- traffic that continues after the PBX answered ------------------------------------------------

TEST_F(SpoofGuardTest, ForgedCallsWhoseAcksCannotKnowThePbxTagStayGuarded) {
  // Validated a week ago (from the state database: the engine holds nothing else of it; a
  // source whose credentials it saw accepted is not judged for probing at all).
  engine().remember_validation(kPhone, now() - 7 * 24h);
  // The forger never sees the 407s (they go to the phone): its ACKs carry no tag, or a guess.
  Probed none = probe_calls(kPhone, 10, [](int, const std::string&) { return std::string(); });
  EXPECT_EQ(none.blocks, 0);
  Probed guessed = probe_calls(kPhone, 10, [](int i, const std::string&) { return "as-" + std::to_string(i); });
  EXPECT_EQ(guessed.blocks, 0);
  EXPECT_GE(engine().counters().spoof_guarded, 10u);
  // From an address never validated the same calls are blocked at the second one.
  Probed stranger = probe_calls(kStranger, 10, [](int, const std::string&) { return std::string(); });
  EXPECT_EQ(stranger.blocks, 1);
  EXPECT_EQ(stranger.at_ack, -1) << "blocked at its INVITE, not held back";
}

TEST_F(SpoofGuardTest, AnAckCarryingThePbxTagTakesTheBlockTheGuardWithheld) {
  engine().remember_validation(kPhone, now() - 7 * 24h);
  // A real prober at the address receives the 407s and acknowledges them with their tag.
  Probed p = probe_calls(kPhone, 10, [](int, const std::string& tag) { return tag; });
  EXPECT_EQ(p.blocks, 1);
  EXPECT_EQ(p.at_ack, 1) << "the second international call earns the block, its ACK proves the address";
  EXPECT_EQ(p.rule, Rule::call_probing);
  EXPECT_THAT(p.reason, ::testing::HasSubstr("held back by the spoofing guard"));
  EXPECT_EQ(engine().source(kPhone)->state, SourceState::blocked);
}

TEST_F(SpoofGuardTest, AnInDialogRequestWithThePbxTagAndAHigherCseqProves) {
  phone_was_validated();
  // A scanner's INVITE the PBX answers 200 (an open context): held back, until the BYE of that
  // dialog (the PBX's tag, the next CSeq number) shows the sender got the 200.
  EXPECT_EQ(count(invite(kPhone, "open-context", "100", "friendly-scanner"), Action::block), 0);
  EXPECT_EQ(count(answer(kPhone, "open-context", 1, SipMethod::invite, 200, "pbx-tag-1"), Action::block), 0);
  EXPECT_EQ(count(in_dialog(kPhone, SipMethod::bye, "open-context", 1, "pbx-tag-1"), Action::block), 0)
      << "the CSeq of the answered INVITE: no progression";
  EXPECT_EQ(count(in_dialog(kPhone, SipMethod::bye, "other-call", 2, "pbx-tag-1"), Action::block), 0)
      << "the tag on another Call-ID";
  const auto ds = in_dialog(kPhone, SipMethod::bye, "open-context", 2, "pbx-tag-1");
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::fingerprint);
  EXPECT_GE(*find(ds, Action::block)->until, now() + 24h) << "a fingerprint block's length";
}

TEST_F(SpoofGuardTest, ATagThePbxSentToAnotherAddressProvesNothing) {
  phone_was_validated();
  // The forger calls from its own address, learns the tag of that answer, and uses it in
  // packets forged "from" the phone.
  invite(kStranger, "forger-own", "300");
  answer(kStranger, "forger-own", 1, SipMethod::invite, 407, "seen-by-forger");
  EXPECT_EQ(count(invite(kPhone, "forger-own", "100", "friendly-scanner"), Action::block), 0);
  EXPECT_EQ(count(answer(kPhone, "forger-own", 1, SipMethod::invite, 200, "sent-to-the-phone"), Action::block), 0);
  EXPECT_EQ(count(in_dialog(kPhone, SipMethod::ack, "forger-own", 1, "seen-by-forger"), Action::block), 0);
  EXPECT_EQ(engine().source(kPhone)->state, SourceState::none);
}

TEST_F(SpoofGuardTest, ThePhonesOwnCallsVouchForNoLaterPacket) {
  phone_was_validated();
  // The phone calls out and hangs up: its ACK and BYE carry the PBX's tag, proving that call.
  EXPECT_TRUE(invite(kPhone, "real-call", "0044207946000").empty());
  EXPECT_TRUE(answer(kPhone, "real-call", 1, SipMethod::invite, 200, "tag-of-the-call").empty());
  EXPECT_TRUE(in_dialog(kPhone, SipMethod::ack, "real-call", 1, "tag-of-the-call").empty());
  EXPECT_TRUE(in_dialog(kPhone, SipMethod::bye, "real-call", 2, "tag-of-the-call").empty());
  // A forged scanner packet afterwards is held back all the same.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(count(scanner_options(kPhone), Action::block), 0) << i;
}

}  // namespace
}  // namespace pbxwall::responsive
