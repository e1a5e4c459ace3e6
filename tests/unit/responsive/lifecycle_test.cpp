// Rules 6-9 and the life of a source: validation and its end, tolerance of slow devices,
// escalation, never-block, blocked sources, answer matching, operator actions.
#include <gmock/gmock.h>

#include "engine_fixture.h"

namespace pbxwall::responsive::testing {
namespace {

using ::testing::HasSubstr;

const IpAddress kPhone = addr("198.51.100.7");
const IpAddress kScanner = addr("203.0.113.5");

// ---- rule 6 ----------------------------------------------------------------------------------

using Validation = EngineFixture;

TEST_F(Validation, RegistrationWithCredentialsAnswered200Validates) {
  auto ds = register_cycle(kPhone, "101", 200, 3600);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].action, Action::validate);
  EXPECT_EQ(ds[0].rule, Rule::registration);
  EXPECT_EQ(ds[0].user, "101");
  EXPECT_EQ(ds[0].until, now() + 3600s + 60s);
  EXPECT_EQ(ds[0].reason, "registered as 101 for 60 min (+60 s grace)");
  auto v = engine().source(kPhone);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->state, SourceState::validated);
  EXPECT_EQ(v->user, "101");
}

TEST_F(Validation, UsernamesFromTheNetworkArePrintedSafely) {
  auto ds = register_cycle(kPhone, "10\n1\x01\"x", 200, 60);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].user, "10?1?\"x");
  EXPECT_EQ(ds[0].reason, "registered as 10?1?\"x for 60 s (+60 s grace)");
}

TEST_F(Validation, RegisterAnswered200WithoutCredentialsDoesNotValidate) {
  Request r;
  r.user = "101";
  request(kPhone, r);
  EXPECT_TRUE(response(kPhone, r, 200, 3600).empty());
}

TEST_F(Validation, ExpiryGrantedByThePbxWinsOverTheRequest) {
  Request r;
  r.user = "101";
  r.credentials = true;
  r.expires = 3600;
  request(kPhone, r);
  auto ds = response(kPhone, r, 200, 120);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].until, now() + 120s + 60s);
}

TEST_F(Validation, ReRegistrationExtendsAndExpiryForgets) {
  register_cycle(kPhone, "101", 200, 300);
  advance(200s);
  auto ds = register_cycle(kPhone, "101", 200, 300);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].until, now() + 360s);
  const TimePoint until = *ds[0].until;

  EXPECT_TRUE(engine().expire(until - 1s).empty());
  EXPECT_EQ(engine().snapshot().size(), 1u);
  auto gone = engine().expire(until);
  EXPECT_TRUE(engine().snapshot().empty());
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].action, Action::forget);
  EXPECT_EQ(gone[0].rule, Rule::registration_expired);
  EXPECT_EQ(gone[0].user, "101");
  EXPECT_EQ(gone[0].reason, "registration of 101 expired");
  EXPECT_EQ(engine().source(kPhone)->state, SourceState::none);
  EXPECT_TRUE(engine().expire(until + 1h).empty()) << "forgotten once";
}

TEST_F(Validation, ExpiryAlsoNoticedWhenTheSourceIsSeenAgain) {
  register_cycle(kPhone, "101", 200, 60);
  advance(121s);
  Request r;
  r.method = SipMethod::options;
  auto ds = request(kPhone, r);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].action, Action::forget);
  EXPECT_TRUE(engine().expire(now()).empty());
}

TEST_F(Validation, UnregisterForgets) {
  register_cycle(kPhone, "101", 200, 3600);
  advance(10s);
  auto ds = register_cycle(kPhone, "101", 200, 0);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].action, Action::forget);
  EXPECT_EQ(ds[0].rule, Rule::registration);
  EXPECT_EQ(ds[0].user, "101");
  EXPECT_EQ(engine().source(kPhone)->state, SourceState::none);
  EXPECT_TRUE(engine().expire(now() + 2h).empty());
}

TEST_F(Validation, UnregisteringOneOfTwoAccountsKeepsTheSource) {
  register_cycle(kPhone, "101", 200, 3600);
  register_cycle(kPhone, "102", 200, 3600);
  EXPECT_TRUE(register_cycle(kPhone, "101", 200, 0).empty());
  EXPECT_EQ(engine().source(kPhone)->state, SourceState::validated);
  EXPECT_EQ(count(register_cycle(kPhone, "102", 200, 0), Action::forget), 1);
}

TEST_F(Validation, ValidatedSourcesAreExemptFromRulesTwoToFive) {
  register_cycle(kPhone, "101", 200, 3600);
  std::vector<Decision> ds;
  // A busy office behind one address: unknown users, wrong passwords, many requests, calls.
  for (int i = 0; i < 10; ++i) append(ds, probe(kPhone, std::to_string(500 + i), 404, "Yealink"));
  for (int i = 0; i < 10; ++i) append(ds, register_cycle(kPhone, "102", 401));
  Request o;
  o.method = SipMethod::options;
  for (int i = 0; i < 200; ++i) {
    o.call_id = "opt" + std::to_string(i);
    append(ds, request(kPhone, o));
  }
  for (int i = 0; i < 5; ++i) {
    Request inv;
    inv.method = SipMethod::invite;
    inv.user = "00441234" + std::to_string(i);
    inv.call_id = "inv" + std::to_string(i);
    append(ds, request(kPhone, inv));
  }
  EXPECT_EQ(count(ds, Action::block), 0);
  EXPECT_EQ(engine().source(kPhone)->state, SourceState::validated);
}

TEST_F(Validation, SuccessfulRegistrationClearsFailureCounters) {
  // Three fast failures, a registration and an unregister, three more fast failures: the
  // success emptied the bucket, so the six never make a burst of four.
  // (1 s apart, so that rule 3's run of sub-second failures does not end it first.)
  for (int i = 0; i < 3; ++i) {
    register_cycle(kPhone, "101", 401);
    advance(1s);
  }
  EXPECT_EQ(count(register_cycle(kPhone, "101", 200, 3600), Action::validate), 1);
  EXPECT_EQ(count(register_cycle(kPhone, "101", 200, 0), Action::forget), 1);
  std::vector<Decision> ds;
  for (int i = 0; i < 3; ++i) {
    advance(1s);
    append(ds, register_cycle(kPhone, "101", 401));
  }
  EXPECT_EQ(count(ds, Action::block), 0);
}

TEST_F(Validation, WithoutTheSuccessTheSameFailuresBlock) {
  std::vector<Decision> ds;
  for (int i = 0; i < 6; ++i) append(ds, register_cycle(kPhone, "101", 401));
  EXPECT_EQ(count(ds, Action::block), 1);
}

// ---- rule 7 ----------------------------------------------------------------------------------

using Tolerance = EngineFixture;

TEST_F(Tolerance, WrongPasswordEvery20SecondsFor24HoursIsOnlyFlagged) {
  std::vector<Decision> ds;
  const int cycles = 24 * 3600 / 20;
  for (int i = 0; i < cycles; ++i) {
    append(ds, register_cycle(kPhone, "101", 401));
    advance(20s);
  }
  EXPECT_EQ(count(ds, Action::block), 0);
  // Flagged at the third failure, then at most once an hour.
  EXPECT_GE(count(ds, Action::flag), 24);
  EXPECT_LE(count(ds, Action::flag), 25);
  const Decision* f = find(ds, Action::flag);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->rule, Rule::misconfigured_device);
  EXPECT_EQ(f->user, "101");
  EXPECT_EQ(f->addr, kPhone);
  EXPECT_THAT(f->reason, HasSubstr("user 101 failed to authenticate 3 times"));
  EXPECT_TRUE(engine().source(kPhone)->flagged);
  EXPECT_EQ(engine().snapshot().size(), 1u);
}

TEST_F(Tolerance, EveryLaterFailureOfAFlaggedPhoneCountsOnItsFlag) {
  std::vector<Decision> ds;
  for (int i = 0; i < 90; ++i) {
    append(ds, register_cycle(kPhone, "101", 401));
    advance(20s);
  }
  EXPECT_EQ(count(ds, Action::block), 0);
  ASSERT_EQ(count(ds, Action::flag), 1);  // 30 minutes: reported once
  EXPECT_EQ(find(ds, Action::flag)->failures, 3u);
  EXPECT_EQ(count(ds, Action::failed_again), 87);
  std::uint32_t failures = 0;
  for (const auto& d : ds)
    if (d.action == Action::flag || d.action == Action::failed_again) {
      EXPECT_EQ(d.user, "101");
      failures += d.failures;
    }
  EXPECT_EQ(failures, 90u);
  const Decision& last = ds.back();
  EXPECT_EQ(last.action, Action::failed_again);
  EXPECT_THAT(last.reason, HasSubstr("user 101 failed to authenticate 90 times"));
}

TEST_F(Tolerance, TheSamePhoneEvery2SecondsIsBlocked) {
  std::vector<Decision> ds;
  for (int i = 0; i < 10 && count(ds, Action::block) == 0; ++i) {
    append(ds, register_cycle(kPhone, "101", 401));
    advance(2s);
  }
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::password_guessing);
  EXPECT_EQ(count(ds, Action::flag), 0);
}

TEST_F(Tolerance, FasterThanAPhoneEndsInABlockEventually) {
  std::vector<Decision> ds;
  for (int i = 0; i < 60 && count(ds, Action::block) == 0; ++i) {
    append(ds, register_cycle(kPhone, "101", 401));
    advance(10s);
  }
  EXPECT_EQ(count(ds, Action::block), 1);
}

TEST_F(Tolerance, ValidatedPhoneWithASecondMisconfiguredAccountIsFlagged) {
  register_cycle(kPhone, "101", 200, 86400);
  std::vector<Decision> ds;
  for (int i = 0; i < 5; ++i) {
    append(ds, register_cycle(kPhone, "102", 403));
    advance(30s);
  }
  EXPECT_EQ(count(ds, Action::block), 0);
  ASSERT_EQ(count(ds, Action::flag), 1);
  EXPECT_EQ(find(ds, Action::flag)->user, "102");
}

// ---- rule 8 ----------------------------------------------------------------------------------

using Escalation = EngineFixture;

TEST_F(Escalation, LadderFifteenMinutesThenADayThenAWeek) {
  const std::vector<Duration> expected = {15min, 24h, 7 * 24h, 7 * 24h};
  for (std::size_t round = 0; round < expected.size(); ++round) {
    std::vector<Decision> ds;
    for (int i = 0; i < 4; ++i) append(ds, probe(kScanner, std::to_string(100 + i), 404));
    ASSERT_EQ(count(ds, Action::block), 1) << round;
    const Decision* d = find(ds, Action::block);
    EXPECT_EQ(d->until, now() + expected[round]) << round;
    if (round > 0) {
      EXPECT_THAT(d->reason, HasSubstr("(blocked again within 24 h)"));
    }
    advance(expected[round] + 1h);  // comes back an hour after the block ends
  }
}

TEST_F(Escalation, ADayOfQuietStartsOver) {
  for (int i = 0; i < 4; ++i) probe(kScanner, std::to_string(100 + i), 404);
  advance(15min + 24h + 1s);
  std::vector<Decision> ds;
  for (int i = 0; i < 4; ++i) append(ds, probe(kScanner, std::to_string(100 + i), 404));
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->until, now() + 15min);
}

TEST_F(Escalation, FingerprintBlocksStartAtADayAndClimb) {
  Request r;
  r.user_agent = "friendly-scanner";
  auto first = request(kScanner, r);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].until, now() + 24h);
  advance(24h + 1min);
  r.call_id = "again";
  auto second = request(kScanner, r);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].until, now() + 7 * 24h);
}

// ---- rule 9 and blocked sources ----------------------------------------------------------------

using NeverBlock = EngineFixture;

TEST_F(NeverBlock, TrustedSourcesAreObservedButNeverBlocked) {
  const IpAddress trunk = addr("198.51.100.200");
  reset({}, [&](const IpAddress& a) { return a == trunk; });
  std::vector<Decision> ds;
  Request r;
  r.user_agent = "friendly-scanner";
  append(ds, request(trunk, r));
  for (int i = 0; i < 20; ++i) append(ds, probe(trunk, std::to_string(100 + i), 404));
  for (int i = 0; i < 10; ++i) append(ds, register_cycle(trunk, "101", 401));
  EXPECT_EQ(count(ds, Action::block), 0);
  EXPECT_GT(engine().counters().never_block_spared, 0u);
  EXPECT_TRUE(engine().block(trunk, now(), std::nullopt, "").empty());
  // Observed all the same: it can still be validated.
  EXPECT_EQ(count(register_cycle(trunk, "trunk", 200), Action::validate), 1);
  // Others are not spared.
  EXPECT_EQ(count(request(kScanner, r), Action::block), 1);
}

using Blocked = EngineFixture;

TEST_F(Blocked, LaterPacketsAreCountedWithoutNewDecisions) {
  Request r;
  r.user_agent = "sipvicious";
  ASSERT_EQ(request(kScanner, r).size(), 1u);
  std::vector<Decision> ds;
  for (int i = 0; i < 100; ++i) append(ds, probe(kScanner, std::to_string(i), 404));
  EXPECT_TRUE(ds.empty());
  const auto c = engine().counters();
  EXPECT_EQ(c.while_blocked, 200u);
  EXPECT_EQ(engine().source(kScanner)->packets_while_blocked, 200u);
  EXPECT_EQ(c.decisions[static_cast<int>(Rule::fingerprint)], 1u);
}

TEST_F(Blocked, BlockEndsAndTheSourceIsJudgedAfresh) {
  for (int i = 0; i < 4; ++i) probe(kScanner, std::to_string(100 + i), 404);
  EXPECT_EQ(engine().source(kScanner)->state, SourceState::blocked);
  advance(15min);
  EXPECT_TRUE(engine().expire(now()).empty()) << "block ends silently: the kernel times it out";
  EXPECT_EQ(engine().source(kScanner)->state, SourceState::none);
  EXPECT_TRUE(probe(kScanner, "100", 404).empty());
}

// ---- request / response matching -------------------------------------------------------------

using Matching = EngineFixture;

TEST_F(Matching, InterleavedCallIdsAreAnsweredSeparately) {
  Request a, b;
  a.user = "101";
  a.call_id = "A";
  a.credentials = true;
  b.user = "102";
  b.call_id = "B";
  b.credentials = true;
  b.cseq = 7;
  request(kPhone, a);
  request(kPhone, b);
  auto ds = response(kPhone, b, 200, 600);  // answered in the other order
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].user, "102");
  ds = response(kPhone, a, 200, 600);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].user, "101");
  EXPECT_EQ(engine().counters().unmatched_responses, 0u);
}

TEST_F(Matching, SameCallIdDifferentCSeqAndUnmatchedAnswers) {
  Request r;
  r.user = "101";
  r.credentials = true;
  request(kPhone, r);
  Request other = r;
  other.cseq = 99;
  EXPECT_TRUE(response(kPhone, other, 200, 600).empty());
  EXPECT_EQ(engine().counters().unmatched_responses, 1u);
  EXPECT_EQ(count(response(kPhone, r, 200, 600), Action::validate), 1);
  EXPECT_TRUE(response(kPhone, r, 200, 600).empty()) << "a retransmitted answer matches nothing";
  EXPECT_EQ(engine().counters().unmatched_responses, 2u);
}

TEST_F(Matching, ProvisionalAnswersKeepTheRequestPending) {
  Request r;
  r.method = SipMethod::invite;
  r.user = "200";
  r.credentials = true;
  request(kScanner, r);
  response(kScanner, r, 100);
  EXPECT_EQ(engine().counters().unmatched_responses, 0u);
  response(kScanner, r, 407);
  EXPECT_EQ(engine().counters().unmatched_responses, 0u);
}

TEST_F(Matching, ResponseFromThePhoneToThePbxIsIgnored) {
  SipResponse s;
  s.status = 200;
  s.call_id = "pbx-qualify";
  s.cseq_method = SipMethod::options;
  EXPECT_TRUE(feed(Observation{to_pbx(kPhone), s}).empty());
  EXPECT_EQ(engine().counters().unmatched_responses, 0u);
}

// ---- operator actions, snapshot, counters ------------------------------------------------------

using Operator = EngineFixture;

TEST_F(Operator, ManualBlockFollowsTheLadderAndUnblockResetsIt) {
  auto ds = engine().block(kScanner, now(), std::nullopt, "seen in the log");
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].rule, Rule::manual);
  EXPECT_EQ(ds[0].until, now() + 15min);
  EXPECT_EQ(ds[0].reason, "seen in the log");
  ds = engine().block(kScanner, now(), std::nullopt, "");
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].until, now() + 24h) << "blocked again: next step";
  auto u = engine().unblock(kScanner, now());
  ASSERT_TRUE(u);
  EXPECT_EQ(u->action, Action::unblock);
  EXPECT_FALSE(engine().unblock(kScanner, now())) << "nothing left to unblock";
  ds = engine().block(kScanner, now(), 2h, "");
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].until, now() + 2h);
  EXPECT_EQ(engine().source(kScanner)->state, SourceState::blocked);
}

TEST_F(Operator, BlockingAValidatedSourceWithdrawsTheValidationFirst) {
  register_cycle(kPhone, "101", 200);
  auto ds = engine().block(kPhone, now(), 1h, "stolen phone");
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds[0].action, Action::forget);
  EXPECT_EQ(ds[1].action, Action::block);
}

TEST_F(Operator, SnapshotListsBlockedValidatedAndFlagged) {
  register_cycle(kPhone, "101", 200);
  Request r;
  r.user_agent = "sipcli/v1.8";
  request(kScanner, r);
  probe(addr("203.0.113.99"), "100", 404);  // seen, nothing to report
  auto snap = engine().snapshot();
  ASSERT_EQ(snap.size(), 2u);
  int blocked = 0, validated = 0;
  for (const auto& v : snap) {
    blocked += v.state == SourceState::blocked;
    validated += v.state == SourceState::validated;
    if (v.state == SourceState::blocked) {
      EXPECT_EQ(v.addr, kScanner);
      EXPECT_EQ(v.last_rule, Rule::fingerprint);
    }
  }
  EXPECT_EQ(blocked, 1);
  EXPECT_EQ(validated, 1);
  const auto c = engine().counters();
  EXPECT_EQ(c.table_size, 3u);
  EXPECT_EQ(c.observations[static_cast<int>(ObservationKind::sip_request)], 4u);
  EXPECT_EQ(c.observations[static_cast<int>(ObservationKind::sip_response)], 3u);
  EXPECT_EQ(c.decisions[static_cast<int>(Rule::registration)], 1u);
}

}  // namespace
}  // namespace pbxwall::responsive::testing
