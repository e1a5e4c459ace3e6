// Attacks recognised by what they do, with the attack-tool fingerprints switched off, and the
// legitimate patterns that look a little like them and must stay open.
#include <gmock/gmock.h>

#include <random>
#include <set>

#include "engine_fixture.h"

namespace pbxwall::responsive::testing {
namespace {

using ::testing::HasSubstr;

const IpAddress kScanner = addr("203.0.113.5");
const IpAddress kOffice = addr("198.51.100.7");  // several devices behind one NAT address

Settings no_fingerprints() {
  Settings s;
  s.fingerprints.clear();
  s.fingerprint_loopback_via = false;
  return s;
}

// The PBX's accounts: 300, 301 and 333.
std::optional<bool> lab_accounts(std::string_view user) { return user == "300" || user == "301" || user == "333"; }

class Behaviour : public EngineFixture {
 protected:
  Behaviour() : EngineFixture(no_fingerprints()) {}

  // A REGISTER without credentials answered with the registrar's uniform 401 (Asterisk's
  // alwaysauthreject answers every username alike); returns its decisions.
  std::vector<Decision> uniform_401(const IpAddress& from, const std::string& user, std::uint16_t port = 5060) {
    Request r;
    r.user = user;
    r.user_agent = "Zoiper rv2.10";
    r.port = port;
    r.call_id = "enum-" + user + "-" + std::to_string(++cycle_);
    std::vector<Decision> out;
    append(out, request(from, r));
    append(out, response(from, r, 401));
    return out;
  }

  // What Debian's baresip 1.0 does with a wrong password (tests/data/captures/
  // baresip-wrong-password.pcap): REGISTER, 401, then 15 REGISTERs with credentials in 70 ms on
  // one Call-ID with rising CSeq numbers, each refused; again 45-60 s later.
  std::vector<Decision> baresip_round(const IpAddress& phone, std::uint32_t& cseq, int guesses,
                                      std::uint16_t port = 5060, const std::string& call_id = "642ed3b2140993f7") {
    std::vector<Decision> out;
    Request r;
    r.user = "333";
    r.port = port;
    r.call_id = call_id;
    r.cseq = cseq++;
    append(out, request(phone, r));
    append(out, response(phone, r, 401));
    r.credentials = true;
    for (int g = 0; g < guesses; ++g) {
      r.cseq = cseq++;
      advance(4ms);
      append(out, request(phone, r));
      append(out, response(phone, r, 401));
    }
    return out;
  }
};

// ---- rule 2 with the PBX's accounts ---------------------------------------------------------

TEST_F(Behaviour, UniformChallengesNeedTenUsernamesWithoutThePbxAccountsWhenIgnoredChallengesAreOff) {
  Settings s = no_fingerprints();
  s.enumeration_ignored = 0;
  reset(s);
  int requests = 0;
  for (int ext = 100; ext < 120 && engine().source(kScanner).value_or(SourceView{}).state != SourceState::blocked; ++ext) {
    uniform_401(kScanner, std::to_string(ext));
    ++requests;
    advance(200ms);
  }
  EXPECT_EQ(requests, 10);
}

TEST_F(Behaviour, UniformChallengesForUnknownAccountsBlockAtTheFourthUsername) {
  reset(no_fingerprints(), nullptr, nullptr, lab_accounts);
  std::vector<Decision> ds;
  for (int ext = 100; ext < 103; ++ext) append(ds, uniform_401(kScanner, std::to_string(ext)));
  EXPECT_TRUE(ds.empty());
  ds = uniform_401(kScanner, "103");
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::user_enumeration);
  EXPECT_EQ(engine().source(kScanner)->requests, 4u) << "blocked at the fourth request, before the PBX's answer";
  EXPECT_EQ(engine().counters().unknown_users, 4u);
}

TEST_F(Behaviour, RequestsForExistingAccountsAreNotUnknownUsers) {
  reset(no_fingerprints(), nullptr, nullptr, lab_accounts);
  for (int i = 0; i < 30; ++i) {
    for (const char* user : {"300", "301", "333"}) EXPECT_TRUE(uniform_401(kOffice, user).empty());
    advance(30s);
  }
  EXPECT_EQ(engine().counters().unknown_users, 0u);
}

TEST_F(Behaviour, WithoutAnAccountListNothingIsUnknownAtOnce) {
  reset(no_fingerprints(), nullptr, nullptr, [](std::string_view) { return std::optional<bool>{}; });
  for (int ext = 100; ext < 104; ++ext) EXPECT_TRUE(uniform_401(kScanner, std::to_string(ext)).empty());
  EXPECT_EQ(engine().counters().unknown_users, 0u);
}

TEST_F(Behaviour, InviteSweepOfUnknownAccountsBlocksWithinFiveRequests) {
  // svwar -m INVITE against a PBX that challenges every call (407).
  reset(no_fingerprints(), nullptr, nullptr, lab_accounts);
  int requests = 0;
  for (int ext = 200; ext < 220 && engine().source(kScanner).value_or(SourceView{}).state != SourceState::blocked; ++ext) {
    Request r;
    r.method = SipMethod::invite;
    r.user = std::to_string(ext);
    r.call_id = "inv-" + r.user;
    request(kScanner, r);
    response(kScanner, r, 407);
    ++requests;
  }
  EXPECT_LE(requests, 5);
}

// ---- rule 3: the shape of the failures --------------------------------------------------------

TEST_F(Behaviour, GuessesWithAFreshCallIdEachWithinASecondBlockAtTheThird) {
  std::vector<Decision> ds;
  for (int i = 0; i < 2; ++i) {
    append(ds, register_cycle(kScanner, "301", 401));
    advance(300ms);
  }
  EXPECT_TRUE(ds.empty());
  ds = register_cycle(kScanner, "301", 401);
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::password_guessing);
  EXPECT_THAT(find(ds, Action::block)->reason, HasSubstr("3 wrong passwords for user 301 from port 5060, each within 1 s"));
  EXPECT_EQ(engine().counters().fast_failures, 2u);
}

TEST_F(Behaviour, GuessesFromRotatingPortsStillMeetTheBucket) {
  std::vector<Decision> ds;
  int guesses = 0;
  for (; guesses < 10 && count(ds, Action::block) == 0; ++guesses) {
    append(ds, register_cycle(kScanner, "301", 401, 3600, static_cast<std::uint16_t>(40000 + guesses)));
    advance(2s);
  }
  EXPECT_EQ(guesses, 4);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::password_guessing);
}

TEST_F(Behaviour, ThreeDevicesSharingAnExtensionBehindOneNatAreNeverBlocked) {
  // The extension's password changed; three devices behind the office's NAT keep the old one
  // and retry their own registration (one Call-ID, one port each) every 20, 30 and 45 s.
  const std::uint16_t ports[] = {5060, 61001, 62002};
  const int every_s[] = {20, 30, 45};
  std::int64_t next_s[] = {0, 1, 2};
  std::vector<Decision> ds;
  for (std::int64_t t = 0; t < 2 * 3600; ++t) {
    for (int d = 0; d < 3; ++d) {
      if (t != next_s[d]) continue;
      append(ds, register_cycle(kOffice, "301", 401, 3600, ports[d], "office-device-" + std::to_string(d)));
      next_s[d] += every_s[d];
    }
    advance(1s);
  }
  EXPECT_EQ(count(ds, Action::block), 0);
  EXPECT_GE(count(ds, Action::flag), 1) << "an admin should hear of the old password";
  EXPECT_GT(engine().counters().device_retries, 100u);
}

TEST_F(Behaviour, ThreeDevicesBootingTogetherAfterThePasswordChangeAreNeverBlocked) {
  // After a power cut all three fail within the same second, each on its own port.
  std::vector<Decision> ds;
  for (int round = 0; round < 60; ++round) {
    for (int d = 0; d < 3; ++d) {
      append(ds, register_cycle(kOffice, "301", 401, 3600, static_cast<std::uint16_t>(61000 + d),
                                "boot-device-" + std::to_string(d)));
      advance(100ms);
    }
    advance(std::chrono::seconds(30));
  }
  EXPECT_EQ(count(ds, Action::block), 0);
}

TEST_F(Behaviour, PhoneRetryingAWrongPasswordEvery20To60SecondsForADayIsNeverBlocked) {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> pause_ms(20'000, 60'000);
  std::vector<Decision> ds;
  std::uint32_t cseq = 1;
  for (TimePoint end = now() + 24h; now() < end;) {
    Request r;
    r.user = "333";
    r.call_id = "phone-b";
    r.cseq = cseq++;
    append(ds, request(kOffice, r));
    append(ds, response(kOffice, r, 401));
    r.cseq = cseq++;
    r.credentials = true;
    append(ds, request(kOffice, r));
    append(ds, response(kOffice, r, 401));
    advance(std::chrono::milliseconds(pause_ms(random)));
  }
  EXPECT_EQ(count(ds, Action::block), 0);
  EXPECT_GE(count(ds, Action::flag), 20);
}

TEST_F(Behaviour, BaresipLoopingThroughAWrongPasswordIsFlaggedNeverBlocked) {
  std::vector<Decision> ds;
  std::uint32_t cseq = 14338;
  for (int round = 0; round < 60; ++round) {
    append(ds, baresip_round(kOffice, cseq, 15));
    advance(std::chrono::seconds(45 + round % 16));
  }
  EXPECT_EQ(count(ds, Action::block), 0);
  EXPECT_GE(count(ds, Action::flag), 1);
}

TEST_F(Behaviour, ALoopLongerThanAnyPhonesIsGuessing) {
  std::uint32_t cseq = 1;
  auto ds = baresip_round(kScanner, cseq, 40);
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_THAT(find(ds, Action::block)->reason, HasSubstr("21 wrong passwords for user 333 in one registration"));
}

TEST_F(Behaviour, ThreeBaresipsLoopingThroughAnOldPasswordBehindOneNatAreFlaggedNeverBlocked) {
  // tests/data/captures/shared-extension.pcap: three baresip 1.0 on one NAT address, started
  // 0, 3 and 7 s in (then, after a power cut, within one second), each looping 15 times
  // through the old password and retrying its registration every 30-60 s, for an hour.
  for (const std::int64_t stagger_ms : {3000, 300}) {
    reset(no_fingerprints());
    const std::uint16_t ports[] = {5060, 5062, 5064};
    std::uint32_t cseq[] = {6207, 41959, 14117};
    std::int64_t next_ms[] = {0, stagger_ms, 7 * stagger_ms / 3};
    const std::int64_t every_ms[] = {33'000, 41'000, 57'000};
    std::vector<Decision> ds;
    for (std::int64_t t = 0; t < 3600 * 1000; t += 100) {
      for (int d = 0; d < 3; ++d) {
        if (t < next_ms[d]) continue;
        append(ds, baresip_round(kOffice, cseq[d], 15, ports[d], "shared-" + std::to_string(d)));
        next_ms[d] += every_ms[d];
      }
      advance(100ms);
    }
    EXPECT_EQ(count(ds, Action::block), 0) << "devices started " << stagger_ms << " ms apart";
    EXPECT_GE(count(ds, Action::flag), 1);
  }
}

TEST_F(Behaviour, AToolImitatingRegistrationLoopsOnNewCallIdsIsBlockedWithinThreeLoops) {
  // Loops as long as a phone's (20 failures on one Call-ID, rising CSeq), each on a fresh
  // Call-ID and port, one after the other: rule 3 takes each loop as one attempt, rule 5 the
  // requests' rate.
  std::vector<Decision> ds;
  int loops = 0;
  for (std::uint32_t cseq = 1; loops < 20 && count(ds, Action::block) == 0; ++loops) {
    append(ds, baresip_round(kScanner, cseq, 20, static_cast<std::uint16_t>(40000 + loops), "loop-" + std::to_string(loops)));
    advance(50ms);
  }
  EXPECT_LE(loops, 3);
}

TEST_F(Behaviour, AToolImitatingLoopsAndRetriesOnThreePortsIsBlockedByTheGuessingBucket) {
  // The same tool pacing three conversations like devices, below rule 5's rate (a loop of 20
  // every 15 s on each, 5 s apart): the loops' weight fills rule 3's bucket within minutes,
  // where three phones retrying every 30-60 s stay below it.
  std::vector<Decision> ds;
  std::uint32_t cseq[] = {1, 1, 1};
  int guesses = 0;
  for (int round = 0; round < 40 && count(ds, Action::block) == 0; ++round) {
    for (int d = 0; d < 3 && count(ds, Action::block) == 0; ++d) {
      append(ds, baresip_round(kScanner, cseq[d], 20, static_cast<std::uint16_t>(41000 + d), "paced-" + std::to_string(d)));
      guesses += 20;
      advance(5s);
    }
  }
  ASSERT_EQ(count(ds, Action::block), 1) << guesses << " guesses in 10 minutes were never blocked";
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::password_guessing) << find(ds, Action::block)->reason;
  EXPECT_LE(guesses, 120);
}

TEST_F(Behaviour, GuessesReusingTheCseqNumberOfTheLastBlockAtTheThird) {
  // svcrack: one Call-ID, every guess with CSeq 2.
  std::vector<Decision> ds;
  Request r;
  r.user = "301";
  r.call_id = "2106418100";
  append(ds, request(kScanner, r));
  append(ds, response(kScanner, r, 401));
  r.cseq = 2;
  r.credentials = true;
  int guesses = 0;
  for (; guesses < 10 && count(ds, Action::block) == 0; ++guesses) {
    advance(10ms);
    append(ds, request(kScanner, r));
    append(ds, response(kScanner, r, 401));
  }
  EXPECT_EQ(guesses, 3);
}

TEST_F(Behaviour, MistypeOnceThenRightIsNeitherBlockedNorFlagged) {
  auto ds = register_cycle(kOffice, "300", 401);
  advance(200ms);  // the user corrects the password at once
  append(ds, register_cycle(kOffice, "300", 200));
  EXPECT_EQ(count(ds, Action::block), 0);
  EXPECT_EQ(count(ds, Action::flag), 0);
  EXPECT_EQ(count(ds, Action::validate), 1);
}

TEST_F(Behaviour, TwentyPhonesBehindOneAddressBootingWithinTwoSecondsAreValidated) {
  reset(no_fingerprints(), nullptr, nullptr, [](std::string_view u) { return std::optional<bool>(u.size() == 3 && u[0] == '4'); });
  std::vector<Decision> ds;
  std::vector<Request> firsts;
  for (int p = 0; p < 20; ++p) {  // every phone sends its REGISTER within 2 s
    Request r;
    r.user = std::to_string(400 + p);
    r.port = static_cast<std::uint16_t>(30000 + p);
    r.call_id = "boot-" + r.user;
    append(ds, request(kOffice, r));
    firsts.push_back(r);
    advance(100ms);
  }
  for (auto& r : firsts) {  // the PBX was slow: all challenges come afterwards
    append(ds, response(kOffice, r, 401));
    r.cseq = 2;
    r.credentials = true;
    append(ds, request(kOffice, r));
    append(ds, response(kOffice, r, 200, 3600));
  }
  EXPECT_EQ(count(ds, Action::block), 0);
  EXPECT_EQ(count(ds, Action::validate), 20);
}

// ---- rule 5 per port --------------------------------------------------------------------------

TEST_F(Behaviour, NineRequestsFromOnePortPassTheTenthBlocks) {
  Request r;
  r.method = SipMethod::options;
  r.port = 41234;
  for (int i = 0; i < 9; ++i) {
    r.call_id = "flood-" + std::to_string(i);
    EXPECT_TRUE(request(kScanner, r).empty()) << i;
    advance(10ms);
  }
  r.call_id = "flood-9";
  auto ds = request(kScanner, r);
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::flood);
  EXPECT_THAT(find(ds, Action::block)->reason, HasSubstr("10 requests without credentials within 5 s from port 41234"));
}

TEST_F(Behaviour, RetransmissionsOfAnUnansweredRegisterAreNoFlood) {
  // Timer E doubling from 500 ms to 4 s, for a PBX that does not answer, for ten minutes.
  Request r;
  r.user = "300";
  r.call_id = "lost";
  Duration gap = 500ms;
  for (int i = 0; i < 200; ++i) {
    EXPECT_TRUE(request(kOffice, r).empty()) << i;
    advance(gap);
    gap = std::min<Duration>(gap * 2, 4s);
  }
}

// ---- evasion: grammar a PBX forgives --------------------------------------------------------

TEST_F(Behaviour, AToolBehindAHarmlessUserAgentIsFingerprinted) {
  reset(Settings{});  // fingerprints on
  SipRequest q;
  q.method = SipMethod::options;
  q.uri_user = q.to_user = "100";
  q.user_agent = "Yealink SIP-T46S";
  q.user_agent_last = "friendly-scanner";
  q.evasions = 1;
  q.call_id = "one";
  auto ds = feed(Observation{to_pbx(kScanner), q});
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::fingerprint);
  EXPECT_THAT(find(ds, Action::block)->reason, HasSubstr("friendly-scanner (behind another User-Agent)"));
}

TEST_F(Behaviour, RequestsWithEvasiveGrammarBlockAtTheFourth) {
  SipRequest q;
  q.method = SipMethod::options;
  q.uri_user = q.to_user = "100";
  q.user_agent = "Zoiper";
  q.evasions = 1;
  std::vector<std::string> ids = {"e0", "e1", "e2", "e3"};
  for (int i = 0; i < 3; ++i) {
    q.call_id = ids[static_cast<std::size_t>(i)];
    EXPECT_TRUE(feed(Observation{to_pbx(kScanner), q}).empty()) << i;
    advance(100ms);
  }
  q.call_id = ids[3];
  auto ds = feed(Observation{to_pbx(kScanner), q});
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::flood);
  EXPECT_EQ(engine().counters().evasive_requests, 4u);
}

// ---- rule 12: one extension from many addresses -----------------------------------------------

class Alarm : public Behaviour {
 protected:
  static IpAddress source(int i) { return IpAddress::v4(0xc0000200u + static_cast<std::uint32_t>(i)); }  // 192.0.2.i

  // Two guesses of one source for 301, 2 s apart (each alone stays below every other rule);
  // returns the requests it sent until its block (or all 4).
  int two_guesses(const IpAddress& from) {
    int sent = 0;
    for (int g = 0; g < 2; ++g) {
      Request r;
      r.user = "301";
      r.call_id = "spray-" + std::to_string(++cycle_);
      for (int step = 0; step < 2; ++step) {
        if (engine().source(from).value_or(SourceView{}).state == SourceState::blocked) return sent;
        r.cseq = static_cast<std::uint32_t>(step + 1);
        r.credentials = step == 1;
        request(from, r);
        ++sent;
        response(from, r, 401);
      }
      advance(2s);
    }
    return sent;
  }
};

TEST_F(Alarm, FiftySourcesTwoGuessesEachAfterTheAlarmEachIsBlockedAtItsSecondRequest) {
  std::vector<int> sent;
  for (int i = 1; i <= 50; ++i) sent.push_back(two_guesses(source(i)));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(sent[i], 4) << "source " << i + 1 << " before the alarm";
  EXPECT_EQ(sent[4], 2) << "the fifth source raises the alarm at its first wrong password";
  for (int i = 5; i < 50; ++i) EXPECT_LE(sent[i], 2) << "source " << i + 1;
  EXPECT_EQ(engine().counters().extension_alarms, 1u);
  EXPECT_EQ(engine().counters().decisions[static_cast<int>(Rule::extension_alarm)], 46u);
}

TEST_F(Alarm, TrustedSourcesAndSourcesThatLoggedInAsTheExtensionAreSpared) {
  const IpAddress trusted = addr("198.51.100.200");
  reset(no_fingerprints(), [&](const IpAddress& a) { return a == trusted; });
  const IpAddress home = source(99);
  register_cycle(home, "301", 200, 60);  // the extension's own phone, before the attack
  advance(10min);                        // its registration ran out
  for (int i = 1; i <= 10; ++i) two_guesses(source(i));
  ASSERT_EQ(engine().counters().extension_alarms, 1u);
  EXPECT_EQ(two_guesses(trusted), 4);
  EXPECT_EQ(engine().source(trusted)->state, SourceState::none);
  EXPECT_EQ(two_guesses(home), 4) << "a source that logged in as 301 before is no new attacker";
  EXPECT_NE(engine().source(home)->state, SourceState::blocked);
}

TEST_F(Alarm, FailuresSpreadOverMoreThanTheWindowRaiseNoAlarm) {
  for (int i = 1; i <= 20; ++i) {
    two_guesses(source(i));
    advance(3min);  // 4 sources per window at most
  }
  EXPECT_EQ(engine().counters().extension_alarms, 0u);
}

TEST_F(Alarm, TheAlarmEndsAfterItsHold) {
  for (int i = 1; i <= 5; ++i) two_guesses(source(i));
  ASSERT_EQ(engine().counters().extension_alarms, 1u);
  advance(61min);
  EXPECT_EQ(two_guesses(source(60)), 4);
}

}  // namespace
}  // namespace pbxwall::responsive::testing
