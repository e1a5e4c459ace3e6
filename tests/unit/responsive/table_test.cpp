// The source table's ceiling: least recently seen sources make room, nothing grows past it.
#include <gmock/gmock.h>

#include "engine_fixture.h"
#include "responsive/source_table.h"
#include "responsive/text.h"

namespace pbxwall::responsive::testing {
namespace {

TEST(RandomProbe, NineOrTenDigitsWithinThirtyTwoBits) {
  EXPECT_TRUE(detail::looks_like_random_probe("3514970746"));
  EXPECT_TRUE(detail::looks_like_random_probe("4294967295"));
  EXPECT_TRUE(detail::looks_like_random_probe("183414071"));
  EXPECT_FALSE(detail::looks_like_random_probe("4294967296"));  // beyond 32 bits
  EXPECT_FALSE(detail::looks_like_random_probe("100"));
  EXPECT_FALSE(detail::looks_like_random_probe("12345678"));
  EXPECT_FALSE(detail::looks_like_random_probe("0123456789"));
  EXPECT_FALSE(detail::looks_like_random_probe("35149707a6"));
  EXPECT_FALSE(detail::looks_like_random_probe(""));
}

IpAddress nth(std::uint32_t i) { return IpAddress::v4(0xcb000000u + i); }  // 203.x.y.z

using Table = EngineFixture;

TEST_F(Table, TenThousandSourcesInATableOfAThousand) {
  Settings s;
  s.max_sources = 1000;
  reset(s);
  Request r;
  r.method = SipMethod::options;
  for (std::uint32_t i = 0; i < 10'000; ++i) {
    r.call_id = "c" + std::to_string(i);
    request(nth(i), r);
    ASSERT_LE(engine().counters().table_size, 1000u);
    advance(1ms);
  }
  const auto c = engine().counters();
  EXPECT_EQ(c.table_size, 1000u);
  EXPECT_EQ(c.table_ceiling, 1000u);
  EXPECT_EQ(c.evictions, 9000u);
  EXPECT_FALSE(engine().source(nth(0)));     // oldest gone
  EXPECT_FALSE(engine().source(nth(8999)));
  EXPECT_TRUE(engine().source(nth(9000)));   // the last thousand stay
  EXPECT_TRUE(engine().source(nth(9999)));
}

TEST_F(Table, RecentlySeenSourcesSurviveEviction) {
  Settings s;
  s.max_sources = 100;
  reset(s);
  register_cycle(nth(0), "101", 200, 3600);
  Request r;
  r.method = SipMethod::options;
  for (std::uint32_t i = 1; i < 1000; ++i) {
    r.call_id = "c" + std::to_string(i);
    request(nth(i), r);
    if (i % 50 == 0) request(nth(0), r);  // the phone keeps talking
  }
  auto v = engine().source(nth(0));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->state, SourceState::validated);
}

TEST_F(Table, EvictedValidatedSourceDoesNotLeakItsExpiryToTheNextOwner) {
  Settings s;
  s.max_sources = 1;
  reset(s);
  register_cycle(nth(0), "101", 200, 60);
  Request r;
  r.method = SipMethod::options;
  request(nth(1), r);  // reuses the only record
  EXPECT_EQ(engine().counters().evictions, 1u);
  EXPECT_TRUE(engine().expire(now() + 1h).empty());
  EXPECT_EQ(engine().source(nth(1))->state, SourceState::none);
}

TEST(SourceTable, FindsWhatItHoldsAcrossGrowth) {
  detail::SourceTable t(5000, 42);
  bool evicted = false;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    const auto idx = t.touch(nth(i), evicted);
    ASSERT_FALSE(evicted);
    ASSERT_EQ(t.at(idx).addr, nth(i));
  }
  for (std::uint32_t i = 0; i < 5000; ++i) ASSERT_NE(t.find(nth(i)), detail::kNone) << i;
  EXPECT_EQ(t.find(nth(5000)), detail::kNone);
  EXPECT_EQ(t.at(t.least_recent()).addr, nth(0));
  t.touch(nth(0), evicted);  // refresh the oldest
  EXPECT_EQ(t.at(t.least_recent()).addr, nth(1));
  t.touch(nth(5000), evicted);
  EXPECT_TRUE(evicted);
  EXPECT_EQ(t.find(nth(1)), detail::kNone);
  EXPECT_NE(t.find(nth(0)), detail::kNone);
  EXPECT_EQ(t.size(), 5000u);
}

TEST(SourceTable, IPv6AndIPv4AreDistinctKeys) {
  detail::SourceTable t(10, 7);
  bool evicted = false;
  const auto a = t.touch(*IpAddress::parse("2001:db8::1"), evicted);
  const auto b = t.touch(*IpAddress::parse("192.0.2.1"), evicted);
  EXPECT_NE(a, b);
  EXPECT_EQ(t.find(*IpAddress::parse("2001:db8::1")), a);
}

TEST(SourceTable, RecordStaysSmall) {
  // With the bucket head and an expiry-queue entry a source costs at most 336 bytes.
  EXPECT_LE(Engine::bytes_per_source(), 336u);
}

}  // namespace
}  // namespace pbxwall::responsive::testing
