// Rule 2, ignored challenges: an enumerator against a registrar that challenges every username
// alike (Asterisk's uniform 401) never answers a challenge, and each next username it tries, on
// a new Call-ID from the same port, ignores the previous one. Phones answer theirs within
// milliseconds; the legitimate patterns that send several challenged requests from one address
// must stay open.
#include <gmock/gmock.h>

#include <algorithm>
#include <functional>

#include "engine_fixture.h"

namespace pbxwall::responsive::testing {
namespace {

using ::testing::HasSubstr;

const IpAddress kScanner = addr("192.0.2.66");
const IpAddress kOffice = addr("198.51.100.7");  // devices behind one NAT address

Settings no_fingerprints() {
  Settings s;
  s.fingerprints.clear();
  s.fingerprint_loopback_via = false;
  return s;
}

class IgnoredChallenges : public EngineFixture {
 protected:
  IgnoredChallenges() : EngineFixture(no_fingerprints()) {}

  // The enumerator of tests/data/captures/asterisk-enumerator.pcap: one REGISTER without
  // credentials per extension from one port, each on a new Call-ID, the PBX's 401 within a
  // millisecond, the next REGISTER 50 ms later. Returns the number of the request whose
  // decisions held the block (0: never blocked) and keeps that block in `block`.
  int enumerate(int requests, Duration gap = 50ms, std::uint16_t port = 5060, bool rotate_ports = false) {
    for (int i = 1; i <= requests; ++i) {
      Request r;
      r.user = std::to_string(99 + i);
      r.call_id = "enum-" + std::to_string(i);
      r.port = rotate_ports ? static_cast<std::uint16_t>(port + i) : port;
      auto ds = request(kScanner, r);
      if (const Decision* d = find(ds, Action::block)) {
        block = *d;
        return i;
      }
      advance(1ms);
      ds = response(kScanner, r, 401);
      if (const Decision* d = find(ds, Action::block)) {
        block = *d;
        return i;
      }
      advance(gap - 1ms);
    }
    return 0;
  }

  // Timed events of several devices, played in time order.
  struct Event {
    Duration at;
    int order;  // ties: in the order they were added
    std::function<void()> run;
  };
  void play(std::vector<Event> events) {
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.at < b.at; });
    const TimePoint start = now();
    for (auto& e : events) {
      if (start + e.at > now()) advance(start + e.at - now());
      e.run();
    }
  }
  // A phone's registration with its events at `t0`: REGISTER, the PBX's 401 `pbx` later, the
  // answer `rtt` after the 401 (what the PBX sees of the round trip), the final answer.
  void registration(std::vector<Event>& ev, Duration t0, const IpAddress& from, const std::string& user,
                    std::uint16_t port, Duration rtt, int final_status = 200, const std::string& call_id = {},
                    std::uint32_t cseq = 1) {
    const Duration pbx = 1ms;
    Request r;
    r.user = user;
    r.port = port;
    r.call_id = call_id.empty() ? "reg-" + user + "-" + std::to_string(port) + "-" + std::to_string(++cycle_) : call_id;
    r.cseq = cseq;
    r.expires = 3600;
    Request c = r;
    c.cseq = cseq + 1;
    c.credentials = true;
    const int n = static_cast<int>(ev.size());
    ev.push_back({t0, n, [this, from, r] { request(from, r); }});
    ev.push_back({t0 + pbx, n + 1, [this, from, r] { response(from, r, 401); }});
    ev.push_back({t0 + pbx + rtt, n + 2, [this, from, c] { request(from, c); }});
    ev.push_back({t0 + 2 * pbx + rtt, n + 3, [this, from, c, final_status] {
                    response(from, c, final_status, final_status == 200 ? std::optional<std::uint32_t>(3600) : std::nullopt);
                  }});
  }

  Decision block;
};

// ---- the attack -------------------------------------------------------------------------------

TEST_F(IgnoredChallenges, AnEnumeratorIsBlockedAtItsFifthRequest) {
  EXPECT_EQ(enumerate(300), 5);
  EXPECT_EQ(block.rule, Rule::user_enumeration);
  EXPECT_EQ(block.addr, kScanner);
  EXPECT_THAT(block.reason, HasSubstr("4 challenges ignored in 1 s from port 5060"));
  EXPECT_THAT(block.reason, HasSubstr("usernames 100, 101, 102, …"));
  EXPECT_EQ(engine().counters().ignored_challenges, 4u);
  EXPECT_EQ(engine().source(kScanner)->requests, 5u);
}

TEST_F(IgnoredChallenges, TheDefaultsAreDocumented) {
  const Settings s;
  EXPECT_EQ(s.enumeration_ignored, 4u);
  EXPECT_EQ(s.challenge_answer_time, Duration(20ms));
}

TEST_F(IgnoredChallenges, ASlowEnumeratorIsBlockedToo) {
  // One username every 3 s: below every flood rule; the bucket drains one ignored username per
  // 15 s, so the fifth ignored one, 15 s in, overflows it.
  EXPECT_EQ(enumerate(30, 3s), 6);
  EXPECT_EQ(block.rule, Rule::user_enumeration);
}

TEST_F(IgnoredChallenges, OneUsernameEvery20SecondsNeverIs) {
  // The bucket's drain rate: one username per enumeration_window / enumeration_ignored.
  EXPECT_EQ(enumerate(60, 20s), 0);
  EXPECT_GE(engine().counters().ignored_challenges, 59u);
}

TEST_F(IgnoredChallenges, WithTheRuleOffTheFloodRuleBlocksAtTheTenth) {
  Settings s = no_fingerprints();
  s.enumeration_ignored = 0;
  reset(s);
  EXPECT_EQ(enumerate(300), 10);
  EXPECT_EQ(block.rule, Rule::flood);
}

TEST_F(IgnoredChallenges, TheThresholdIsTheKey) {
  Settings s = no_fingerprints();
  s.enumeration_ignored = 2;
  reset(s);
  EXPECT_EQ(enumerate(300), 3);
  EXPECT_EQ(block.rule, Rule::user_enumeration);
}

TEST_F(IgnoredChallenges, RequestsFasterThanAnAnswerCouldComeDoNotJudge) {
  // Ten requests 5 ms apart (under challenge_answer_time): each next one may have left before
  // the previous challenge arrived, so none is judged; the flood rule takes the tenth.
  EXPECT_EQ(enumerate(300, 5ms), 10);
  EXPECT_EQ(block.rule, Rule::flood);
  EXPECT_EQ(engine().counters().ignored_challenges, 0u);
}

TEST_F(IgnoredChallenges, TheSameUsernameCountsOnce) {
  // A device asking for one username again and again on new Call-IDs, never answering.
  for (int i = 0; i < 40; ++i) {
    Request r;
    r.user = "300";
    r.call_id = "again-" + std::to_string(i);
    EXPECT_EQ(count(request(kScanner, r), Action::block), 0) << i;
    advance(1ms);
    EXPECT_EQ(count(response(kScanner, r, 401), Action::block), 0) << i;
    advance(999ms);
  }
}

TEST_F(IgnoredChallenges, EachPortIsJudgedApart) {
  // A new port per request: no request follows a challenge from its own port (the per-address
  // rules take it: the unanswered-challenge bucket, rule 5).
  const int at = enumerate(300, 50ms, 20000, true);
  EXPECT_GT(at, 5);
  EXPECT_EQ(engine().counters().ignored_challenges, 0u);
}

// ---- what must stay open ------------------------------------------------------------------------

TEST_F(IgnoredChallenges, TwentyPhonesBehindOneAddressBootingWithinTwoSeconds) {
  // After a power cut: each phone on its own port registers its own user, 100 ms apart, and
  // answers its challenge in milliseconds.
  std::vector<Event> ev;
  for (int p = 0; p < 20; ++p)
    registration(ev, p * 100ms, kOffice, std::to_string(400 + p), static_cast<std::uint16_t>(30000 + p), 2ms);
  play(std::move(ev));
  EXPECT_EQ(count(all(), Action::block), 0);
  EXPECT_EQ(count(all(), Action::validate), 20);
  EXPECT_EQ(engine().counters().ignored_challenges, 0u);
}

TEST_F(IgnoredChallenges, TwentyPhonesOnAFarNetworkWithEveryAnswerLate) {
  // The same office 300 ms away, all booting within 2 s: every REGISTER of the next phones
  // arrives while the earlier challenges are still unanswered.
  std::vector<Event> ev;
  for (int p = 0; p < 20; ++p)
    registration(ev, p * 37ms, kOffice, std::to_string(400 + p), static_cast<std::uint16_t>(30000 + p), 300ms);
  play(std::move(ev));
  EXPECT_EQ(count(all(), Action::block), 0);
  EXPECT_EQ(count(all(), Action::validate), 20);
}

TEST_F(IgnoredChallenges, APhoneWithSeveralAccountsRegisteringThemInOneBurst) {
  // Eight accounts on one port sent within 8 ms, answered a round trip of 250 ms later.
  std::vector<Event> ev;
  for (int a = 0; a < 8; ++a) registration(ev, a * 1ms, kOffice, std::to_string(300 + a), 5060, 250ms);
  play(std::move(ev));
  EXPECT_EQ(count(all(), Action::block), 0);
  EXPECT_EQ(count(all(), Action::validate), 8);
}

TEST_F(IgnoredChallenges, APhoneRegisteringItsAccountsOneAfterTheOther) {
  // Three accounts on one port, each registered once the previous one is done.
  std::vector<Event> ev;
  for (int a = 0; a < 3; ++a) registration(ev, a * 10ms, kOffice, std::to_string(300 + a), 5060, 3ms);
  play(std::move(ev));
  EXPECT_EQ(count(all(), Action::block), 0);
  EXPECT_EQ(count(all(), Action::validate), 3);
  EXPECT_EQ(engine().counters().ignored_challenges, 0u);
}

TEST_F(IgnoredChallenges, ThreeDevicesOnOneExtensionBehindNatWithAWrongPassword) {
  // The extension's password changed: three devices, each on its own port with its own Call-ID,
  // each retrying (first without credentials, then with) every 20, 30 and 45 s for two hours.
  std::vector<Event> ev;
  const Duration pace[] = {20s, 30s, 45s};
  for (int d = 0; d < 3; ++d) {
    std::uint32_t cseq = 1;
    for (Duration t = d * 3ms; t < 2h; t += pace[d], cseq += 2)
      registration(ev, t, kOffice, "301", static_cast<std::uint16_t>(40000 + d), 4ms, 401, "device-" + std::to_string(d), cseq);
  }
  play(std::move(ev));
  EXPECT_EQ(count(all(), Action::block), 0);
  EXPECT_GE(count(all(), Action::flag), 1);
}

TEST_F(IgnoredChallenges, APhoneWhoseNoncesGoStale) {
  // Registered once; each refresh reuses the old nonce, is told stale=true, and answers anew.
  ASSERT_EQ(count(register_cycle(kOffice, "300", 200, 60), Action::validate), 1);
  engine().expire(now());
  Request r;
  r.user = "300";
  r.call_id = "stale-phone";
  r.credentials = true;
  r.expires = 60;
  for (int i = 0; i < 30; ++i) {
    advance(50s);
    r.cseq = static_cast<std::uint32_t>(10 + 2 * i);
    request(kOffice, r);
    SipResponse stale;
    stale.status = 401;
    stale.call_id = strings_.keep(r.call_id);
    stale.cseq = r.cseq;
    stale.cseq_method = SipMethod::register_;
    stale.has_challenge = true;
    stale.stale_nonce = true;
    stale.nonce = strings_.keep("nonce-" + std::to_string(i));
    PacketMeta m = from_pbx(kOffice);
    feed(Observation{m, stale});
    advance(2ms);
    r.cseq += 1;
    request(kOffice, r);
    response(kOffice, r, 200, 60);
  }
  EXPECT_EQ(count(all(), Action::block), 0);
  EXPECT_EQ(engine().counters().ignored_challenges, 0u);
}

TEST_F(IgnoredChallenges, APhoneThatMistypesOnce) {
  auto ds = register_cycle(kOffice, "300", 401);
  advance(5s);
  append(ds, register_cycle(kOffice, "300", 200));
  EXPECT_EQ(count(ds, Action::block), 0);
  EXPECT_EQ(count(ds, Action::validate), 1);
}

TEST_F(IgnoredChallenges, AnsweringOnceEndsTheRuleForTheAddress) {
  // Another device behind the address answers its challenge: the address answers challenges,
  // and the requests of a device that ignores its own are left to the other rules.
  // (With a wrong password, so that the address is not validated, which exempts it anyway.)
  ASSERT_EQ(count(register_cycle(kOffice, "300", 401, 3600, 6000), Action::block), 0);
  for (int i = 0; i < 6; ++i) {
    Request r;
    r.user = std::to_string(500 + i);
    r.call_id = "quiet-" + std::to_string(i);
    r.port = 7000;
    request(kOffice, r);
    response(kOffice, r, 401);
    advance(200ms);
  }
  EXPECT_EQ(count(all(), Action::block), 0);
}

}  // namespace
}  // namespace pbxwall::responsive::testing
