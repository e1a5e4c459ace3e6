// State put back after a restart (restore_block, restore_validation, restore_network_block)
// and rule 10: addresses rotated inside one IPv6 /64.
#include <gmock/gmock.h>

#include "engine_fixture.h"

namespace pbxwall::responsive::testing {
namespace {

using ::testing::HasSubstr;

const IpAddress kPhone = addr("198.51.100.7");
const IpAddress kScanner = addr("203.0.113.5");

class RestoreFixture : public EngineFixture {
 protected:
  // Usernames answered 404 until rule 2 blocks.
  std::vector<Decision> enumerate(const IpAddress& from) {
    std::vector<Decision> out;
    for (const char* user : {"200", "201", "202", "203", "204"}) append(out, probe(from, user, 404));
    return out;
  }
  // One request from an attack tool: rule 1 blocks.
  std::vector<Decision> fingerprinted(const char* a) { return probe(addr(a), "100", 401, "friendly-scanner"); }
};

using Restore = RestoreFixture;

TEST_F(Restore, RuleNamesRoundTrip) {
  for (std::size_t i = 0; i < static_cast<std::size_t>(Rule::count_); ++i) {
    const auto rule = static_cast<Rule>(i);
    EXPECT_EQ(rule_from_name(rule_name(rule)), rule) << rule_name(rule);
  }
  EXPECT_EQ(rule_from_name("address-rotation"), Rule::address_rotation);
  EXPECT_EQ(rule_from_name("no-such-rule"), std::nullopt);
  EXPECT_EQ(rule_from_name(""), std::nullopt);
}

TEST_F(Restore, RestoredBlockKeepsItsRuleAndEndWithoutDecisions) {
  ASSERT_TRUE(engine().restore_block(kScanner, now(), now() + 40min, Rule::password_guessing, 1));
  const auto v = engine().source(kScanner);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->state, SourceState::blocked);
  EXPECT_EQ(v->last_rule, Rule::password_guessing);
  EXPECT_EQ(v->until, now() + 40min);
  EXPECT_TRUE(all().empty());
  EXPECT_EQ(engine().counters().decisions[static_cast<std::size_t>(Rule::manual)], 0u);
  // While blocked its packets decide nothing.
  EXPECT_TRUE(enumerate(kScanner).empty());
  EXPECT_GT(engine().counters().while_blocked, 0u);
}

TEST_F(Restore, EscalationContinuesFromTimesBlocked) {
  ASSERT_TRUE(engine().restore_block(kScanner, now(), now() + 10min, Rule::user_enumeration, 2));
  advance(1h);  // the block is over, within the escalation memory of its end
  auto ds = enumerate(kScanner);
  const Decision* b = find(ds, Action::block);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->rule, Rule::user_enumeration);
  EXPECT_EQ(b->until, now() + 24h * 7) << "third block: the ladder's third step";
  EXPECT_THAT(b->reason, HasSubstr("blocked again"));
}

TEST_F(Restore, FirstRestoredBlockEscalatesOneStep) {
  ASSERT_TRUE(engine().restore_block(kScanner, now(), now() + 10min, Rule::fingerprint, 1));
  advance(1h);
  const Decision* b = find(enumerate(kScanner), Action::block);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->until, now() + 24h);
}

TEST_F(Restore, OldHistoryDoesNotEscalate) {
  ASSERT_TRUE(engine().restore_block(kScanner, now(), now() + 10min, Rule::fingerprint, 3));
  advance(10min + 25h);  // past the escalation memory
  const Decision* b = find(enumerate(kScanner), Action::block);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->until, now() + 15min);
}

TEST_F(Restore, NothingRestoredWhenOverOrNeverBlock) {
  EXPECT_FALSE(engine().restore_block(kScanner, now(), now(), Rule::manual, 1));
  EXPECT_FALSE(engine().restore_validation(kPhone, now(), "100", now() - 1s));
  EXPECT_EQ(engine().source(kScanner), std::nullopt);
  EXPECT_EQ(engine().source(kPhone), std::nullopt);
  reset({}, [](const IpAddress& a) { return a == kScanner; });
  EXPECT_FALSE(engine().restore_block(kScanner, now(), now() + 1h, Rule::manual, 1));
  EXPECT_EQ(engine().source(kScanner), std::nullopt);
}

TEST_F(Restore, RestoredValidationIsExemptAndExpires) {
  ASSERT_TRUE(engine().restore_validation(kPhone, now(), "100", now() + 30min));
  EXPECT_TRUE(all().empty());
  auto v = engine().source(kPhone);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->state, SourceState::validated);
  EXPECT_EQ(v->user, "100");
  EXPECT_EQ(v->until, now() + 30min);
  EXPECT_TRUE(enumerate(kPhone).empty()) << "validated sources are exempt from rules 2-5";
  advance(31min);
  auto ds = engine().expire(now());
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].action, Action::forget);
  EXPECT_EQ(ds[0].rule, Rule::registration_expired);
  EXPECT_EQ(ds[0].user, "100");
}

TEST_F(Restore, RestoredValidationKeepsItsUserRegistered) {
  ASSERT_TRUE(engine().restore_validation(kPhone, now(), "100", now() + 30min));
  // Unregistering the restored user ends the validation.
  Request r;
  r.user = "100";
  r.credentials = true;
  r.expires = 0;
  request(kPhone, r);
  auto ds = response(kPhone, r, 200, 0);
  const Decision* f = find(ds, Action::forget);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->rule, Rule::registration);
}

// ---- rule 10 -------------------------------------------------------------------------------

using Rotation = RestoreFixture;

TEST_F(Rotation, ThirdAddressOfOneSlash64BlocksTheNetwork) {
  EXPECT_EQ(fingerprinted("2001:db8:3::1").size(), 1u);
  advance(1min);
  EXPECT_EQ(fingerprinted("2001:db8:3::2:1").size(), 1u);
  advance(1min);
  auto ds = fingerprinted("2001:db8:3:0:ffff::9");
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds[0].network, std::nullopt);
  EXPECT_EQ(ds[1].action, Action::block);
  EXPECT_EQ(ds[1].rule, Rule::address_rotation);
  EXPECT_EQ(ds[1].network, Cidr::parse("2001:db8:3::/64"));
  EXPECT_EQ(ds[1].addr, addr("2001:db8:3:0:ffff::9"));
  EXPECT_EQ(ds[1].until, now() + 15min);
  EXPECT_THAT(ds[1].reason, HasSubstr("3 addresses of 2001:db8:3::/64"));
  EXPECT_EQ(engine().counters().decisions[static_cast<std::size_t>(Rule::address_rotation)], 1u);

  // Another address of the /64 decides nothing while the network is blocked ...
  const auto before = engine().counters().while_blocked;
  EXPECT_TRUE(fingerprinted("2001:db8:3::77").empty());
  EXPECT_GT(engine().counters().while_blocked, before);
  // ... while a neighbouring /64 is not affected.
  EXPECT_EQ(fingerprinted("2001:db8:4::1").size(), 1u);
  // After the network block the next run of three blocks it for the ladder's second step.
  advance(16min);
  fingerprinted("2001:db8:3::a");
  fingerprinted("2001:db8:3::b");
  ds = fingerprinted("2001:db8:3::c");
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds[1].until, now() + 24h);
  EXPECT_THAT(ds[1].reason, HasSubstr("blocked again"));
}

TEST_F(Rotation, SameAddressTwiceCountsOnce) {
  const IpAddress a1 = addr("2001:db8:3::1");
  EXPECT_EQ(find(enumerate(a1), Action::block)->until, now() + 15min);
  advance(20min);
  EXPECT_EQ(find(enumerate(a1), Action::block)->until, now() + 24h) << "blocked again: escalated";
  advance(1min);
  auto ds = enumerate(addr("2001:db8:3::2"));
  EXPECT_EQ(count(ds, Action::block), 1) << "two distinct addresses do not reach three";
}

TEST_F(Rotation, BlocksFurtherApartThanTheMemoryDoNotAddUp) {
  fingerprinted("2001:db8:3::1");
  advance(25h);
  fingerprinted("2001:db8:3::2");
  advance(25h);
  EXPECT_EQ(fingerprinted("2001:db8:3::3").size(), 1u);
}

TEST_F(Rotation, OperatorBlocksAndIpv4DoNotCount) {
  for (const char* a : {"2001:db8:3::1", "2001:db8:3::2", "2001:db8:3::3"}) {
    auto ds = engine().block(addr(a), now(), std::nullopt, "");
    EXPECT_EQ(ds.size(), 1u);
  }
  for (const char* a : {"203.0.113.1", "203.0.113.2", "203.0.113.3"}) EXPECT_EQ(fingerprinted(a).size(), 1u);
}

TEST_F(Rotation, ZeroTurnsTheRuleOff) {
  Settings s;
  s.ipv6_rotation_sources = 0;
  reset(s);
  for (const char* a : {"2001:db8:3::1", "2001:db8:3::2", "2001:db8:3::3", "2001:db8:3::4"})
    EXPECT_EQ(fingerprinted(a).size(), 1u);
  s.ipv6_rotation_sources = 9;
  EXPECT_THAT(validate(s), HasSubstr("ipv6_rotation_sources"));
}

TEST_F(Rotation, RestoredNetworkBlockSilencesItsAddresses) {
  EXPECT_FALSE(engine().restore_network_block(*Cidr::parse("2001:db8:3::/48"), now(), now() + 1h));
  EXPECT_FALSE(engine().restore_network_block(*Cidr::parse("198.51.100.0/24"), now(), now() + 1h));
  ASSERT_TRUE(engine().restore_network_block(*Cidr::parse("2001:db8:3::/64"), now(), now() + 1h));
  EXPECT_TRUE(fingerprinted("2001:db8:3::5").empty());
  advance(61min);
  EXPECT_EQ(fingerprinted("2001:db8:3::5").size(), 1u);
}

// ---- rule 3: a cracker re-probing while its credentials are pending ---------------------------

using Reprobe = RestoreFixture;

// svcrack against a slow registrar (lab capture): REGISTER, 401, REGISTER with credentials,
// then a REGISTER without credentials on a new Call-ID before the answer, then the guesses,
// each on the first dialog's Call-ID and CSeq.
TEST_F(Reprobe, ASecondProbeWhileCredentialsArePendingCountsTowardsGuessing) {
  Settings s;
  s.fingerprints.clear();
  s.fingerprint_loopback_via = false;
  reset(s);
  int answers = 0;
  Request first;
  first.user = "301";
  first.call_id = "634090799";
  first.user_agent = "";
  request(kScanner, first);
  ++answers;
  response(kScanner, first, 401);
  Request guess = first;
  guess.cseq = 2;
  guess.credentials = true;
  request(kScanner, guess);
  Request second = first;
  second.call_id = "669242561";
  request(kScanner, second);
  ++answers;
  EXPECT_TRUE(response(kScanner, second, 401).empty());
  std::vector<Decision> ds;
  ++answers;
  append(ds, response(kScanner, guess, 401));
  while (count(ds, Action::block) == 0 && answers < 20) {
    advance(10ms);
    request(kScanner, guess);
    ++answers;
    append(ds, response(kScanner, guess, 401));
  }
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_LE(answers, 5);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::password_guessing);
  EXPECT_THAT(find(ds, Action::block)->reason, HasSubstr("user 301"));
}

TEST_F(Reprobe, AnotherAccountsRegisterWhileCredentialsArePendingDoesNotCount) {
  // A phone starting two accounts: 301 answers its challenge while 302's first REGISTER
  // is challenged. Neither is a failure of 301.
  Request a;
  a.user = "301";
  a.call_id = "a";
  a.cseq = 2;
  a.credentials = true;
  request(kPhone, a);
  for (int i = 0; i < 2; ++i) {  // the engine follows three requests per source
    Request b;
    b.user = "30" + std::to_string(2 + i);
    b.call_id = "b" + std::to_string(i);
    request(kPhone, b);
    EXPECT_TRUE(response(kPhone, b, 401).empty());
  }
  EXPECT_EQ(count(response(kPhone, a, 200, 60), Action::validate), 1);
}

}  // namespace
}  // namespace pbxwall::responsive::testing
